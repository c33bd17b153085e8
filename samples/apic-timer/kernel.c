/*
 * kernel.c: interrupts through the APICs, as an SMP-era kernel takes them. The kernel finds
 * the MP tables the BIOS left (mptable.c), masks both 8259s, and then takes
 *  - the local APIC timer in periodic mode,
 *  - the PIT's IRQ 0 through the I/O APIC input the MP table names for it (the override to
 *    INTIN 2 on a PC), and
 *  - a fixed self-IPI sent through the interrupt command register,
 * each counted by an interrupt handler in C that stops its source after TICKS interrupts, so
 * what the kernel prints does not depend on how fast the machine runs. Every APIC register
 * is reached through a volatile uint32_t pointer: one 32-bit MOV per access, as the APIC
 * wants.
 */
#include <stdint.h>
#include "../lib/console.h"
#include "mptable.h"

#define MULTIBOOT_BOOT_EAX 0x2BADB002u
#define TICKS 10

/* Local APIC registers (SDM Vol. 3A, table 10-1), as offsets in its 4 KiB page. */
#define LAPIC_ID 0x020
#define LAPIC_VERSION 0x030
#define LAPIC_EOI 0x0B0
#define LAPIC_SVR 0x0F0
#define LAPIC_ESR 0x280
#define LAPIC_ICR_LOW 0x300
#define LAPIC_ICR_HIGH 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INITIAL 0x380
#define LAPIC_TIMER_DIVIDE 0x3E0
#define SVR_ENABLE 0x100
#define LVT_MASKED 0x10000
#define LVT_PERIODIC 0x20000
#define ICR_SELF 0x40000 /* destination shorthand 01: self */
#define DIVIDE_BY_16 0x3

/* I/O APIC: a register select and a window (82093AA datasheet, 3.0). */
#define IOREGSEL 0x00
#define IOWIN 0x10
#define IOAPIC_VERSION 0x01
#define IOAPIC_REDIRECTION(pin) (0x10 + 2 * (pin))

#define PIT_HZ 1193182
#define PIT_RATE 1000

#define VECTOR_PIT 0x30
#define VECTOR_APIC_TIMER 0x40
#define VECTOR_SELF_IPI 0x50
#define VECTOR_SPURIOUS 0xFF

static uint32_t lapic_base, ioapic_base;

static uint32_t lapic_read(uint32_t reg) { return *(volatile uint32_t *)phys(lapic_base + reg); }
static void lapic_write(uint32_t reg, uint32_t value) { *(volatile uint32_t *)phys(lapic_base + reg) = value; }

static uint32_t ioapic_read(uint8_t reg)
{
    *(volatile uint32_t *)phys(ioapic_base + IOREGSEL) = reg;
    return *(volatile uint32_t *)phys(ioapic_base + IOWIN);
}

static void ioapic_write(uint8_t reg, uint32_t value)
{
    *(volatile uint32_t *)phys(ioapic_base + IOREGSEL) = reg;
    *(volatile uint32_t *)phys(ioapic_base + IOWIN) = value;
}

/* ---- interrupt descriptor table ------------------------------------------------------ */

struct interrupt_frame;

struct __attribute__((packed)) idt_gate {
    uint16_t offset_low, selector;
    uint8_t zero, type; /* 0x8E: present, DPL 0, 32-bit interrupt gate */
    uint16_t offset_high;
};

static struct idt_gate idt[256];

static void set_gate(int vector, void (*handler)(struct interrupt_frame *))
{
    uint32_t offset = (uint32_t)handler;
    idt[vector] = (struct idt_gate){ (uint16_t)offset, 0x08, 0, 0x8E, (uint16_t)(offset >> 16) };
}

static void load_idt(void)
{
    struct __attribute__((packed)) { uint16_t limit; uint32_t base; } idtr = { sizeof idt - 1, (uint32_t)idt };
    __asm__ volatile("lidt %0" : : "m"(idtr));
}

static volatile uint32_t pit_ticks, apic_ticks, self_ipis, spurious;
static uint8_t pit_pin;

__attribute__((interrupt)) static void unexpected(struct interrupt_frame *frame)
{
    (void)frame;
    kprintf("unexpected interrupt or exception\n");
    exit_qemu(1);
}

__attribute__((interrupt)) static void pit_interrupt(struct interrupt_frame *frame)
{
    (void)frame;
    if (++pit_ticks == TICKS)
        ioapic_write(IOAPIC_REDIRECTION(pit_pin), LVT_MASKED | VECTOR_PIT);
    lapic_write(LAPIC_EOI, 0);
}

__attribute__((interrupt)) static void apic_timer_interrupt(struct interrupt_frame *frame)
{
    (void)frame;
    if (++apic_ticks == TICKS)
        lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | VECTOR_APIC_TIMER);
    lapic_write(LAPIC_EOI, 0);
}

__attribute__((interrupt)) static void self_ipi_interrupt(struct interrupt_frame *frame)
{
    (void)frame;
    self_ipis++;
    lapic_write(LAPIC_EOI, 0);
}

/* A spurious interrupt takes no EOI (SDM Vol. 3A, 10.9). */
__attribute__((interrupt)) static void spurious_interrupt(struct interrupt_frame *frame)
{
    (void)frame;
    spurious++;
}

/* ---- the kernel ----------------------------------------------------------------------- */

static void mask_8259s(void)
{
    outb(0xA1, 0xFF);
    outb(0x21, 0xFF);
}

static void start_pit(void)
{
    uint16_t divisor = (PIT_HZ + PIT_RATE / 2) / PIT_RATE;
    outb(0x43, 0x34); /* channel 0, low then high byte, mode 2 (rate generator) */
    outb(0x40, (uint8_t)divisor);
    outb(0x40, (uint8_t)(divisor >> 8));
}

/* Sleeps until `done` holds; STI's one-instruction shadow keeps a wake-up from slipping in before HLT. */
static void wait_for_all_ticks(void)
{
    for (;;) {
        __asm__ volatile("cli");
        if (pit_ticks >= TICKS && apic_ticks >= TICKS && self_ipis >= 1)
            break;
        __asm__ volatile("sti; hlt");
    }
}

static void print_mp_info(const struct mp_info *mp)
{
    kprintf("MP floating pointer at 0x%08x (%s), spec 1.%u, %s mode\n", mp->floating_pointer, mp->found_in,
            mp->spec_revision, mp->imcr_present ? "PIC" : "virtual wire");
    kprintf("MP configuration table at 0x%08x: OEM \"%s\", product \"%s\", %u entries\n", mp->config_table, mp->oem,
            mp->product, mp->entries);
    kprintf("  %u processor(s), the bootstrap processor has APIC ID %u, local APICs at 0x%08x\n", mp->processors,
            mp->bsp_apic_id, mp->local_apic);
    kprintf("  I/O APIC %u (version 0x%02x) at 0x%08x\n", mp->io_apic_id, mp->io_apic_version, mp->io_apic);
    kprintf("  ISA IRQ -> INTIN:");
    for (int irq = 0; irq < MP_MAX_ISA_IRQS; irq++)
        if (mp->isa_irq_pin[irq] != 0xFF)
            kprintf(" %d->%u", irq, mp->isa_irq_pin[irq]);
    kprintf("\n");
}

__attribute__((noreturn)) void kmain(uint32_t magic, const void *mbi)
{
    (void)mbi;
    serial_init();
    kprintf("apic-timer: Multiboot magic 0x%08x%s\n", magic, magic == MULTIBOOT_BOOT_EAX ? "" : " (wrong)");

    struct mp_info mp = { 0 };
    const char *problem = mp_discover(&mp);
    if (problem != 0) {
        kprintf("MP tables: %s\n", problem);
        exit_qemu(1);
    }
    print_mp_info(&mp);
    lapic_base = mp.local_apic;
    ioapic_base = mp.io_apic;
    pit_pin = mp.isa_irq_pin[0];
    if (pit_pin == 0xFF) {
        kprintf("the MP table routes no ISA IRQ 0 to the I/O APIC\n");
        exit_qemu(1);
    }

    for (int v = 0; v < 256; v++)
        set_gate(v, unexpected);
    set_gate(VECTOR_PIT, pit_interrupt);
    set_gate(VECTOR_APIC_TIMER, apic_timer_interrupt);
    set_gate(VECTOR_SELF_IPI, self_ipi_interrupt);
    set_gate(VECTOR_SPURIOUS, spurious_interrupt);
    load_idt();
    mask_8259s();

    uint32_t version = lapic_read(LAPIC_VERSION);
    kprintf("local APIC: ID %u, version 0x%02x, %u LVT entries\n", lapic_read(LAPIC_ID) >> 24, version & 0xFF,
            ((version >> 16) & 0xFF) + 1);
    lapic_write(LAPIC_SVR, SVR_ENABLE | VECTOR_SPURIOUS);
    uint32_t ioapic_version = ioapic_read(IOAPIC_VERSION);
    kprintf("I/O APIC: version 0x%02x, %u inputs\n", ioapic_version & 0xFF, ((ioapic_version >> 16) & 0xFF) + 1);

    /* Edge-triggered, active high, fixed delivery to the bootstrap processor's APIC ID. */
    ioapic_write(IOAPIC_REDIRECTION(pit_pin) + 1, mp.bsp_apic_id << 24);
    ioapic_write(IOAPIC_REDIRECTION(pit_pin), VECTOR_PIT);
    start_pit();
    kprintf("PIT: %u Hz on ISA IRQ 0 -> I/O APIC INTIN %u -> vector 0x%02x\n", PIT_RATE, pit_pin, VECTOR_PIT);

    lapic_write(LAPIC_TIMER_DIVIDE, DIVIDE_BY_16);
    lapic_write(LAPIC_LVT_TIMER, LVT_PERIODIC | VECTOR_APIC_TIMER);
    lapic_write(LAPIC_TIMER_INITIAL, 62500);
    kprintf("APIC timer: periodic, divide by 16, initial count 62500 -> vector 0x%02x\n", VECTOR_APIC_TIMER);

    lapic_write(LAPIC_ICR_HIGH, 0);
    lapic_write(LAPIC_ICR_LOW, ICR_SELF | VECTOR_SELF_IPI);
    wait_for_all_ticks();

    kprintf("interrupts taken: %u PIT, %u APIC timer, %u self-IPI, %u spurious\n", pit_ticks, apic_ticks, self_ipis,
            spurious);
    lapic_write(LAPIC_ESR, 0);
    kprintf("APIC error status 0x%08x\n", lapic_read(LAPIC_ESR));
    exit_qemu(magic == MULTIBOOT_BOOT_EAX ? 0 : 1);
}
