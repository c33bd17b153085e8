/*
 * processors.c: how many processors there are, and how the bootstrap processor starts the others.
 *
 * The count comes from QEMU's fw_cfg device (docs/specs/fw_cfg.txt, key 5 FW_CFG_NB_CPUS), not
 * from the MP table: SeaBIOS lists one processor entry per package there, and QEMU's -smp N
 * is one package of N cores. Those cores have APIC IDs 0 to N-1, the bootstrap processor 0.
 *
 * Each application processor is started on its own with INIT, STARTUP, STARTUP through the
 * interrupt command register (SDM Vol. 3A, 8.4.4.1), and the bootstrap processor waits for it
 * to answer before it starts the next: the one variable ap_stack then hands each its stack.
 */
#include <stdint.h>
#include "../lib/console.h"
#include "processors.h"

#define FW_CFG_SELECTOR 0x510
#define FW_CFG_DATA 0x511
#define FW_CFG_SIGNATURE 0x00
#define FW_CFG_NB_CPUS 0x05

#define LAPIC_BASE 0xFEE00000u /* where every processor's local APIC is after reset (SDM 10.4.1) */
#define LAPIC_ID 0x020
#define LAPIC_ICR_LOW 0x300
#define LAPIC_ICR_HIGH 0x310
#define ICR_SEND_PENDING 0x1000
#define ICR_INIT 0x4500    /* delivery mode INIT, level assert */
#define ICR_STARTUP 0x4600 /* delivery mode STARTUP, level assert; the low byte is the vector */

/* The page the trampoline is copied to: STARTUP vector 0x08 starts a processor at 0x0800:0000. */
#define TRAMPOLINE 0x8000u

/*
 * Busy waits where the SDM asks for 10 ms after INIT and 200 us after each STARTUP: no timer is
 * set up, and QEMU and vtscope start a processor at once. ANSWER_TIMEOUT bounds the wait for
 * one that never answers.
 */
#define INIT_DELAY 100000
#define STARTUP_DELAY 20000
#define ANSWER_TIMEOUT 50000000

extern const uint8_t ap_trampoline[], ap_trampoline_end[];

/* Read by boot.asm's ap_entry: the stack of the processor being started. */
void *volatile ap_stack;
/* The APIC ID of the last processor that reached ap_main. */
static volatile uint32_t answered;

static inline void outw(uint16_t port, uint16_t value)
{
    __asm__ volatile("outw %0, %1" : : "a"(value), "Nd"(port));
}

static inline void pause(void) { __asm__ volatile("pause"); }

static uint32_t lapic_read(uint32_t reg) { return *(volatile uint32_t *)phys(LAPIC_BASE + reg); }
static void lapic_write(uint32_t reg, uint32_t value) { *(volatile uint32_t *)phys(LAPIC_BASE + reg) = value; }

static void fw_cfg_read(uint16_t key, uint8_t *buffer, unsigned length)
{
    outw(FW_CFG_SELECTOR, key);
    for (unsigned k = 0; k < length; k++)
        buffer[k] = inb(FW_CFG_DATA);
}

unsigned fw_cfg_processor_count(void)
{
    uint8_t signature[4], count[2];
    fw_cfg_read(FW_CFG_SIGNATURE, signature, sizeof signature);
    if (signature[0] != 'Q' || signature[1] != 'E' || signature[2] != 'M' || signature[3] != 'U')
        return 0;
    fw_cfg_read(FW_CFG_NB_CPUS, count, sizeof count);
    return count[0] | (unsigned)count[1] << 8;
}

uint32_t lapic_id(void) { return lapic_read(LAPIC_ID) >> 24; }

static void delay(unsigned spins)
{
    while (spins-- > 0)
        pause();
}

static void send_ipi(uint32_t apic_id, uint32_t command)
{
    lapic_write(LAPIC_ICR_HIGH, apic_id << 24);
    lapic_write(LAPIC_ICR_LOW, command);
    while (lapic_read(LAPIC_ICR_LOW) & ICR_SEND_PENDING)
        pause();
}

/* Where an application processor's C code begins (boot.asm jumps here on its new stack). */
void ap_main(void)
{
    uint32_t id = lapic_id();
    __atomic_store_n(&answered, id, __ATOMIC_RELEASE);
    cpu_main(id);
    for (;;)
        __asm__ volatile("cli; hlt");
}

static void install_trampoline(void)
{
    volatile uint8_t *page = phys(TRAMPOLINE);
    for (const uint8_t *p = ap_trampoline; p < ap_trampoline_end; p++)
        *page++ = *p;
}

int start_application_processor(uint32_t apic_id, void *stack_top)
{
    install_trampoline();
    ap_stack = stack_top;
    answered = (uint32_t)-1;
    send_ipi(apic_id, ICR_INIT);
    delay(INIT_DELAY);
    for (int k = 0; k < 2; k++) {
        send_ipi(apic_id, ICR_STARTUP | TRAMPOLINE >> 12);
        delay(STARTUP_DELAY);
    }
    for (unsigned spins = 0; spins < ANSWER_TIMEOUT; spins++) {
        if (__atomic_load_n(&answered, __ATOMIC_ACQUIRE) == apic_id)
            return 0;
        pause();
    }
    return -1;
}
