/* console.c: COM1 at 115200 baud, polled, and a printf over it (shared by the C samples). */
#include <stdarg.h>
#include "console.h"

#define COM1 0x3F8
#define LSR_THRE 0x20 /* line status: transmitter can take a byte */
#define LSR_TEMT 0x40 /* line status: transmitter empty, the last byte has been sent */
#define EXIT_PORT 0xF4

void serial_init(void)
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

void kprintf(const char *format, ...)
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
            int value = va_arg(args, int);
            if (value < 0) {
                serial_putc('-');
                width--;
            }
            put_unsigned(value < 0 ? 0u - (uint32_t)value : (uint32_t)value, 10, width, pad);
            break;
        }
        case 'u':
            put_unsigned(va_arg(args, unsigned), 10, width, pad);
            break;
        case 'x':
            put_unsigned(va_arg(args, unsigned), 16, width, pad);
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

void exit_qemu(uint8_t code)
{
    /* A UART that sends on a timer (QEMU's) may still hold the last bytes: let it drain. */
    while (!(inb(COM1 + 5) & LSR_TEMT))
        ;
    outb(EXIT_PORT, code);
    for (;;)
        __asm__ volatile("cli; hlt");
}
