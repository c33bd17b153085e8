/*
 * descriptors.c: the GDT (ring 0 and ring 3 flat segments and a TSS), the TSS that gives the
 * processor the kernel stack for interrupts from ring 3, and the IDT with boot.asm's stubs.
 */
#include "kernel.h"

struct __attribute__((packed)) tss {
    uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint32_t es, cs, ss, ds, fs, gs, ldt;
    uint16_t trap, iomap_base;
};

static struct tss tss;
static uint64_t gdt[6];

struct __attribute__((packed)) gate {
    uint16_t offset_low, selector;
    uint8_t zero, type;
    uint16_t offset_high;
};

static struct gate idt[256];
extern const uint32_t trap_vectors[34];

/* A segment descriptor (SDM Vol. 3A, figure 3-8): base, limit, access byte, flags nibble. */
static uint64_t descriptor(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
    return (uint64_t)(limit & 0xFFFF) | (uint64_t)(base & 0xFFFFFF) << 16 | (uint64_t)access << 40 |
           (uint64_t)((limit >> 16) & 0xF) << 48 | (uint64_t)(flags & 0xF) << 52 | (uint64_t)(base >> 24) << 56;
}

/* type: 0x8E interrupt gate at DPL 0, 0xEE at DPL 3 (int 0x80 from user code). */
static void set_gate(int vector, uint32_t handler, uint8_t type)
{
    idt[vector] = (struct gate){ (uint16_t)handler, KERNEL_CS, 0, type, (uint16_t)(handler >> 16) };
}

void set_kernel_stack(uint32_t esp0) { tss.esp0 = esp0; }

void load_descriptor_tables(void)
{
    gdt[1] = descriptor(0, 0xFFFFF, 0x9A, 0xC); /* kernel code */
    gdt[2] = descriptor(0, 0xFFFFF, 0x92, 0xC); /* kernel data */
    gdt[3] = descriptor(0, 0xFFFFF, 0xFA, 0xC); /* user code, DPL 3 */
    gdt[4] = descriptor(0, 0xFFFFF, 0xF2, 0xC); /* user data, DPL 3 */
    gdt[5] = descriptor((uint32_t)&tss, sizeof tss - 1, 0x89, 0x0); /* available 32-bit TSS */
    tss.ss0 = KERNEL_DS;
    tss.iomap_base = sizeof tss; /* no I/O permission bitmap: ring 3 may not touch ports */

    for (int v = 0; v < 32; v++)
        set_gate(v, trap_vectors[v], 0x8E);
    set_gate(VECTOR_PIT, trap_vectors[32], 0x8E);
    set_gate(VECTOR_SYSCALL, trap_vectors[33], 0xEE);

    struct __attribute__((packed)) { uint16_t limit; uint32_t base; } gdtr = { sizeof gdt - 1, (uint32_t)gdt },
                                                                    idtr = { sizeof idt - 1, (uint32_t)idt };
    __asm__ volatile("lgdt %0\n\t"
                     "ljmp %1, $1f\n"
                     "1:\n\t"
                     "mov %2, %%ds\n\tmov %2, %%es\n\tmov %2, %%fs\n\tmov %2, %%gs\n\tmov %2, %%ss\n\t"
                     "lidt %3\n\t"
                     "ltr %w4"
                     :
                     : "m"(gdtr), "i"(KERNEL_CS), "r"(KERNEL_DS), "m"(idtr), "r"(TSS_SELECTOR)
                     : "memory");
}
