/*
 * kernel.c: a kernel in C. boot.asm sets up a stack and calls kmain with the
 * Multiboot magic and information pointer; from there it is ordinary C without
 * a C library: port I/O through inline assembly and a printf of our own (../lib/console.c,
 * shared by the C samples), and some computing whose answers are well known, so a wrong
 * instruction shows at once.
 *
 * Build: gcc -m32 -ffreestanding -nostdlib -fno-pic -fno-pie -no-pie -O2 -c kernel.c ../lib/console.c
 */
#include <stddef.h>
#include <stdint.h>
#include "../lib/console.h"

#define MULTIBOOT_BOOT_EAX 0x2BADB002u

/* Sieve of Eratosthenes: there are 1229 primes below 10000, the last is 9973. */
#define SIEVE_LIMIT 10000
static uint8_t composite[SIEVE_LIMIT]; /* in .bss: the loader zeroes it */

static void primes(void)
{
    uint32_t count = 0, sum = 0, last = 0;
    kprintf("primes below %u:", SIEVE_LIMIT);
    for (uint32_t n = 2; n < SIEVE_LIMIT; n++) {
        if (composite[n])
            continue;
        count++;
        sum += n;
        last = n;
        if (count <= 10)
            kprintf(" %u", n);
        for (uint32_t multiple = n * n; multiple < SIEVE_LIMIT; multiple += n)
            composite[multiple] = 1;
    }
    kprintf(" ... %u, %u of them, sum %u\n", last, count, sum);
}

/* CRC-32 as in Ethernet, zlib and PNG: reflected polynomial 0xEDB88320, initial
 * value and final XOR 0xFFFFFFFF. The standard check value is that of "123456789". */
static uint32_t crc32(const char *text)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (; *text != '\0'; text++) {
        crc ^= (uint8_t)*text;
        for (int bit = 0; bit < 8; bit++)
            crc = (crc >> 1) ^ (0xEDB88320u & -(crc & 1));
    }
    return ~crc;
}

static void insertion_sort(int32_t *values, size_t count)
{
    for (size_t i = 1; i < count; i++) {
        int32_t value = values[i];
        size_t j = i;
        for (; j > 0 && values[j - 1] > value; j--)
            values[j] = values[j - 1];
        values[j] = value;
    }
}

static int32_t numbers[] = { 31, -4, 1000000, 0, -2147483647 - 1, 7, 7, 2147483647, -15, 42 };
#define NUMBER_COUNT (sizeof numbers / sizeof numbers[0])

static void print_numbers(const char *label)
{
    kprintf("%s", label);
    for (size_t i = 0; i < NUMBER_COUNT; i++)
        kprintf(" %d", numbers[i]);
    kprintf("\n");
}

__attribute__((noreturn)) void kmain(uint32_t magic, const void *mbi)
{
    (void)mbi;
    serial_init();
    kprintf("c-kernel: hello from C, Multiboot magic 0x%08x%s\n", magic,
            magic == MULTIBOOT_BOOT_EAX ? "" : " (wrong)");

    primes();

    const char *texts[] = { "123456789", "The quick brown fox jumps over the lazy dog" };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        kprintf("crc32(\"%s\") = 0x%08x\n", texts[i], crc32(texts[i]));

    print_numbers("unsorted:");
    insertion_sort(numbers, NUMBER_COUNT);
    print_numbers("sorted:  ");

    exit_qemu(magic == MULTIBOOT_BOOT_EAX ? 0 : 1);
}
