/*
 * kernel.c: a kernel with processes. Three processes run the same program (user.c) in ring 3,
 * each in an address space of its own, switched round robin by the PIT; they reach the kernel
 * through int 0x80 only, and through it the disk on the primary IDE channel (ata.c). The
 * kernel prints what each process wrote once all have ended, then exits through isa-debug-exit.
 */
#include "../lib/console.h"
#include "kernel.h"

#define MULTIBOOT_BOOT_EAX 0x2BADB002u

__attribute__((noreturn)) void kmain(uint32_t magic, const void *mbi)
{
    (void)mbi;
    serial_init();
    kprintf("processes: Multiboot magic 0x%08x%s\n", magic, magic == MULTIBOOT_BOOT_EAX ? "" : " (wrong)");
    if (magic != MULTIBOOT_BOOT_EAX)
        exit_qemu(1);
    load_descriptor_tables();
    processes_init();
    processes_run();
}
