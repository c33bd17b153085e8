/*
 * user.c: the program each process runs in ring 3. It lives in the .user sections, the only
 * kernel-image pages its page tables let ring 3 reach, so it calls nothing else: what it
 * needs of the kernel goes through int 0x80. Its text is in its own stack, as it cannot read
 * the kernel's .rodata either.
 *
 * Each process computes in a loop long enough for the timer to preempt it, checks that its
 * private page at USER_DATA still holds what it put there while the others ran with their
 * own page at the same address, and reads disk block `pid`. Process 2 writes block 8;
 * process 3 then reads kernel memory, which its page tables forbid, and is killed.
 */
#include "kernel.h"

#define USER __attribute__((section(".user.text")))
#define USER_STRING(name, text) static const char name[] __attribute__((section(".user.rodata"))) = text

#define LCG_STEPS 200000
#define KERNEL_IMAGE 0x00100000u

static inline __attribute__((always_inline)) uint32_t sys(uint32_t number, uint32_t a, uint32_t b)
{
    uint32_t result;
    __asm__ volatile("int $0x80" : "=a"(result) : "a"(number), "b"(a), "c"(b) : "memory");
    return result;
}

struct line {
    char text[120];
    uint32_t length;
};

USER static void add(struct line *l, const char *text)
{
    while (*text != '\0' && l->length < sizeof l->text)
        l->text[l->length++] = *text++;
}

USER static void add_hex(struct line *l, uint32_t value)
{
    USER_STRING(digits, "0123456789abcdef");
    USER_STRING(prefix, "0x");
    add(l, prefix);
    for (int shift = 28; shift >= 0 && l->length < sizeof l->text; shift -= 4)
        l->text[l->length++] = digits[(value >> shift) & 0xF];
}

USER static void add_digit(struct line *l, uint32_t digit)
{
    if (l->length < sizeof l->text)
        l->text[l->length++] = (char)('0' + digit);
}

USER static void flush(struct line *l)
{
    USER_STRING(newline, "\n");
    add(l, newline);
    sys(SYS_WRITE, (uint32_t)l->text, l->length);
    l->length = 0;
}

USER static uint32_t block_sum(const uint8_t *block)
{
    uint32_t sum = 0;
    for (int k = 0; k < SECTOR_BYTES; k++)
        sum += block[k];
    return sum;
}

/* The block's text: its bytes up to the first that is not printable, at most 40. */
USER static void add_block_text(struct line *l, const uint8_t *block)
{
    for (int k = 0; k < 40 && block[k] >= 0x20 && block[k] < 0x7F && l->length < sizeof l->text; k++)
        l->text[l->length++] = (char)block[k];
}

USER static void write_block_8(uint32_t pid, uint32_t sum, uint8_t *block, struct line *l)
{
    USER_STRING(text, "written by process ");
    USER_STRING(text2, ", block 2 sums to ");
    USER_STRING(wrote, "  wrote block 8: ");
    USER_STRING(ok, "ok");
    USER_STRING(failed, "failed");
    struct line content = { .length = 0 };
    add(&content, text);
    add_digit(&content, pid);
    add(&content, text2);
    add_hex(&content, sum);
    for (uint32_t k = 0; k < SECTOR_BYTES; k++)
        block[k] = k < content.length ? (uint8_t)content.text[k] : (uint8_t)(k * 3);
    add(l, wrote);
    add(l, sys(SYS_WRITE_BLOCK, 8, (uint32_t)block) == 0 ? ok : failed);
    flush(l);
}

USER void user_main(void)
{
    USER_STRING(computed, "  computed: LCG from the pid after 200000 steps = ");
    USER_STRING(private_page, "  private page at 0x40000000 holds ");
    USER_STRING(block_text, "  block ");
    USER_STRING(block_failed, ": read failed");
    USER_STRING(says, " says \"");
    USER_STRING(sums, "\", sums to ");
    USER_STRING(touching, "  reading kernel memory at 0x00100000");

    struct line l = { .length = 0 };
    uint32_t pid = sys(SYS_GETPID, 0, 0);
    volatile uint32_t *mine = (volatile uint32_t *)USER_DATA;
    *mine = pid * 0x11111111u;

    uint32_t x = pid;
    for (uint32_t i = 0; i < LCG_STEPS; i++)
        x = x * 1103515245u + 12345u;
    add(&l, computed);
    add_hex(&l, x);
    flush(&l);

    add(&l, private_page);
    add_hex(&l, *mine);
    flush(&l);

    uint8_t *block = (uint8_t *)(USER_DATA + SECTOR_BYTES);
    add(&l, block_text);
    add_digit(&l, pid);
    if (sys(SYS_READ_BLOCK, pid, (uint32_t)block) != 0) {
        add(&l, block_failed);
        flush(&l);
    } else {
        uint32_t sum = block_sum(block);
        add(&l, says);
        add_block_text(&l, block);
        add(&l, sums);
        add_hex(&l, sum);
        flush(&l);
        if (pid == 2)
            write_block_8(pid, sum, block, &l);
    }

    if (pid == 3) {
        add(&l, touching);
        flush(&l);
        x += *(volatile uint32_t *)KERNEL_IMAGE;
    }
    sys(SYS_EXIT, pid, 0);
}
