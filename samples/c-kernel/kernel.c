/*
 * kernel.c: a kernel in C. boot.asm sets up a stack and calls kmain with the
 * Multiboot magic and information pointer; from there it is ordinary C without
 * a C library: port I/O through inline assembly, a printf of our own, and some
 * computing whose answers are well known, so a wrong instruction shows at once.
 *
 * Build: gcc -m32 -ffreestanding -nostdlib -fno-pic -fno-pie -no-pie -O2 -c kernel.c
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define COM1 0x3F8
#define LSR_THRE 0x20 /* line status: transmitter can take a byte */
#define LSR_TEMT 0x40 /* line status: transmitter empty, the last byte has been sent */
#define EXIT_PORT 0xF4 /* isa-debug-exit: status (v << 1) | 1 */
#define MULTIBOOT_BOOT_EAX 0x2BADB002u

static inline void outb(uint16_t port, uint8_t value)
{
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

static void serial_init(void)
{
    outb(COM1 + 1, 0x00); /* no UART interrupts */
    outb(COM1 + 3, 0x80); /* DLAB = 1: the next two ports are the divisor */
    outb(COM1 + 0, 0x01); /* divisor 1: 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03); /* 8 data bits, no parity, 1 stop bit, DLAB = 0 */
    outb(COM1 + 2, 0x07); /* enable and clear the FIFOs */
    outb(COM1 + 4, 0x03); /* DTR, RTS */
}

static void serial_putc(char c)
{
    while (!(inb(COM1 + 5) & LSR_THRE))
        ;
    outb(COM1, (uint8_t)c);
}

static void put_unsigned(uint32_t value, unsigned base, int width, char pad)
{
    char digits[32];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[value % base];
        value /= base;
    } while (value != 0);
    while (width-- > n)
        serial_putc(pad);
    while (n > 0)
        serial_putc(digits[--n]);
}

/* A printf with %c %s %d %u %x %%, and a width like "%8u" or "%08x". */
static void kprintf(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    for (const char *p = format; *p != '\0'; p++) {
        if (*p != '%') {
            serial_putc(*p);
            continue;
        }
        char pad = ' ';
        int width = 0;
        if (*++p == '0')
            pad = '0';
        while (*p >= '0' && *p <= '9')
            width = width * 10 + (*p++ - '0');
        switch (*p) {
        case 'c':
            serial_putc((char)va_arg(args, int));
            break;
        case 's':
            for (const char *s = va_arg(args, const char *); *s != '\0'; s++)
                serial_putc(*s);
            break;
        case 'd': {
            int32_t value = va_arg(args, int32_t);
            if (value < 0) {
                serial_putc('-');
                width--;
            }
            /* Negate in unsigned arithmetic: -INT32_MIN does not fit an int32_t. */
            put_unsigned(value < 0 ? 0u - (uint32_t)value : (uint32_t)value, 10, width, pad);
            break;
        }
        case 'u':
            put_unsigned(va_arg(args, uint32_t), 10, width, pad);
            break;
        case 'x':
            put_unsigned(va_arg(args, uint32_t), 16, width, pad);
            break;
        case '%':
            serial_putc('%');
            break;
        default: /* unknown conversion, or a '%' ending the string */
            serial_putc('?');
            if (*p == '\0')
                p--;
        }
    }
    va_end(args);
}

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

    /* A UART that sends on a timer (QEMU's) may still hold the last bytes: let it drain. */
    while (!(inb(COM1 + 5) & LSR_TEMT))
        ;
    outb(EXIT_PORT, magic == MULTIBOOT_BOOT_EAX ? 0 : 1);
    for (;;)
        __asm__ volatile("cli; hlt");
}
