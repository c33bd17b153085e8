/* console.h: COM1 output, a small printf, port I/O and the isa-debug-exit port. */
#ifndef CONSOLE_H
#define CONSOLE_H
#include <stdint.h>

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

/*
 * A pointer to physical address `address` (paging is off). The empty asm hides the constant
 * from GCC, which otherwise takes a low address such as the BIOS data area's for a bad pointer.
 */
static inline volatile void *phys(uintptr_t address)
{
    __asm__("" : "+r"(address));
    return (volatile void *)address;
}

void serial_init(void);
/* %c %s %d %u %x %%, with a width like "%8u" or "%08x". */
void kprintf(const char *format, ...) __attribute__((format(printf, 1, 2)));
/* Waits for the UART to send its last byte, then ends the run with status (code << 1) | 1. */
__attribute__((noreturn)) void exit_qemu(uint8_t code);

#endif
