/* kernel.h: what the parts of the processes kernel share. */
#ifndef KERNEL_H
#define KERNEL_H
#include <stdint.h>

#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define USER_CS (0x18 | 3)
#define USER_DS (0x20 | 3)
#define TSS_SELECTOR 0x28

#define VECTOR_PIT 0x20
#define VECTOR_SYSCALL 0x80

/* Every process sees its own two pages here: data, then the stack below USER_STACK_TOP. */
#define USER_BASE 0x40000000u
#define USER_DATA USER_BASE
#define USER_STACK_TOP (USER_BASE + 0x2000u)

#define SECTOR_BYTES 512

/* The registers as boot.asm's trap_entry leaves them on the kernel stack. */
struct trapframe {
    uint32_t es, ds;
    uint32_t edi, esi, ebp, esp_at_pushad, ebx, edx, ecx, eax;
    uint32_t vector, error;
    uint32_t eip, cs, eflags;
    uint32_t user_esp, user_ss; /* only when the interrupt came from ring 3 */
};

/* System call numbers: EAX, arguments in EBX and ECX, the result in EAX. */
enum { SYS_EXIT, SYS_GETPID, SYS_WRITE, SYS_YIELD, SYS_READ_BLOCK, SYS_WRITE_BLOCK };

/* descriptors.c */
void load_descriptor_tables(void);
void set_kernel_stack(uint32_t esp0);

/* ata.c: the primary master through PIO; 0 on success. */
int ata_identify(uint32_t *sectors, char model[41]);
int ata_read(uint32_t lba, void *buffer);
int ata_write(uint32_t lba, const void *buffer);

/* proc.c */
void processes_init(void);
__attribute__((noreturn)) void processes_run(void);
struct trapframe *trap(struct trapframe *frame);

/* user.c: the program every process runs, in ring 3. */
void user_main(void);

#endif
