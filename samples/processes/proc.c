/*
 * proc.c: processes in ring 3, each with its own page directory, kernel stack and console
 * buffer; a round-robin scheduler driven by the PIT; the system calls behind int 0x80; and
 * trap(), where every interrupt and exception from boot.asm's stubs arrives.
 *
 * Memory: every page directory maps the first 4 MiB one to one for the kernel (supervisor
 * only, but for the pages of the .user section that holds the user program), and the two
 * pages at USER_BASE to frames of the process's own. A process switch is a change of CR3 and
 * of the TSS's ESP0, then a return through the other process's trap frame.
 *
 * What the processes print is kept per process and printed by the kernel once all of them
 * have ended, so the output does not depend on where the timer happened to preempt them.
 */
#include "../lib/console.h"
#include "kernel.h"

#define NPROC 3
#define PIT_HZ 1193182
#define PIT_DIVISOR 60 /* about 20 kHz: several preemptions in each process's computing */
#define CONSOLE_BYTES 512
#define PAGE 4096
#define PTE_PRESENT 0x1
#define PTE_WRITE 0x2
#define PTE_USER 0x4

enum state { UNUSED, RUNNABLE, EXITED };

struct process {
    enum state state;
    int exit_code;
    uint32_t preemptions;
    struct trapframe *frame;              /* saved where the process left the CPU */
    uint32_t console_length;
    char console[CONSOLE_BYTES];
};

/* Page-aligned memory for each process: page directory, its user page table and two pages. */
struct process_memory {
    uint32_t page_directory[1024];
    uint32_t user_page_table[1024];
    uint8_t data[PAGE];
    uint8_t stack[PAGE];
    uint8_t kernel_stack[PAGE];
};

static struct process procs[NPROC];
static struct process_memory memory[NPROC] __attribute__((aligned(PAGE)));
static uint32_t kernel_page_table[1024] __attribute__((aligned(PAGE)));
static int current = -1;
static int disk_present;

extern char __user_start[], __user_end[];
extern char trap_return[];

static void console_append(struct process *p, const char *text, uint32_t length)
{
    for (uint32_t k = 0; k < length && p->console_length < CONSOLE_BYTES - 1; k++)
        p->console[p->console_length++] = text[k];
}

static void console_note(struct process *p, const char *text)
{
    uint32_t length = 0;
    while (text[length] != '\0')
        length++;
    console_append(p, text, length);
}

static void set_page_directory(int pid)
{
    __asm__ volatile("mov %0, %%cr3" : : "r"(memory[pid].page_directory) : "memory");
}

static void build_address_space(int pid)
{
    struct process_memory *m = &memory[pid];
    m->page_directory[0] = (uint32_t)kernel_page_table | PTE_PRESENT | PTE_WRITE | PTE_USER;
    m->page_directory[USER_BASE >> 22] = (uint32_t)m->user_page_table | PTE_PRESENT | PTE_WRITE | PTE_USER;
    m->user_page_table[0] = (uint32_t)m->data | PTE_PRESENT | PTE_WRITE | PTE_USER;
    m->user_page_table[1] = (uint32_t)m->stack | PTE_PRESENT | PTE_WRITE | PTE_USER;
}

/* The frame the process starts from: IRET to user_main in ring 3 with interrupts on. */
static void build_first_frame(int pid)
{
    struct trapframe *f = (struct trapframe *)(memory[pid].kernel_stack + PAGE) - 1;
    *f = (struct trapframe){ 0 };
    f->es = f->ds = USER_DS;
    f->eip = (uint32_t)user_main;
    f->cs = USER_CS;
    f->eflags = 0x202; /* IF */
    f->user_esp = USER_STACK_TOP;
    f->user_ss = USER_DS;
    procs[pid].frame = f;
    procs[pid].state = RUNNABLE;
}

void processes_init(void)
{
    uint32_t user_first = (uint32_t)__user_start / PAGE, user_end = ((uint32_t)__user_end + PAGE - 1) / PAGE;
    for (uint32_t page = 0; page < 1024; page++) {
        uint32_t user = page >= user_first && page < user_end ? PTE_USER : 0;
        /* Page 0 stays unmapped: a null pointer faults. */
        kernel_page_table[page] = page == 0 ? 0 : page * PAGE | PTE_PRESENT | PTE_WRITE | user;
    }
    for (int pid = 0; pid < NPROC; pid++) {
        build_address_space(pid);
        build_first_frame(pid);
    }
    uint32_t sectors;
    char model[41];
    disk_present = ata_identify(&sectors, model) == 0;
    if (disk_present)
        kprintf("disk: \"%s\", %u sectors\n", model, sectors);
    else
        kprintf("disk: none on the primary IDE channel\n");
}

/* Switches to process `pid`: its address space, its kernel stack for the next trap. */
static struct trapframe *resume(int pid)
{
    current = pid;
    set_page_directory(pid);
    set_kernel_stack((uint32_t)(memory[pid].kernel_stack + PAGE));
    return procs[pid].frame;
}

static void print_report(void);

/* The next runnable process after the current one, round robin. */
static struct trapframe *schedule(void)
{
    for (int k = 1; k <= NPROC; k++) {
        int pid = (current + k) % NPROC;
        if (procs[pid].state == RUNNABLE)
            return resume(pid);
    }
    print_report();
    exit_qemu(0);
}

/* A pointer from user code must lie within the process's own two pages. */
static int user_range_ok(uint32_t address, uint32_t length)
{
    return address >= USER_BASE && length <= USER_STACK_TOP - USER_BASE && address <= USER_STACK_TOP - length;
}

static struct trapframe *syscall(struct trapframe *f)
{
    struct process *p = &procs[current];
    switch (f->eax) {
    case SYS_EXIT:
        p->state = EXITED;
        p->exit_code = (int)f->ebx;
        return schedule();
    case SYS_GETPID:
        f->eax = (uint32_t)current + 1;
        break;
    case SYS_WRITE:
        if (!user_range_ok(f->ebx, f->ecx)) {
            f->eax = (uint32_t)-1;
            break;
        }
        console_append(p, (const char *)f->ebx, f->ecx);
        f->eax = f->ecx;
        break;
    case SYS_YIELD:
        return schedule();
    case SYS_READ_BLOCK:
    case SYS_WRITE_BLOCK:
        if (!disk_present || !user_range_ok(f->ecx, SECTOR_BYTES)) {
            f->eax = (uint32_t)-1;
            break;
        }
        f->eax = (uint32_t)(f->eax == SYS_READ_BLOCK ? ata_read(f->ebx, (void *)f->ecx)
                                                      : ata_write(f->ebx, (const void *)f->ecx));
        break;
    default:
        f->eax = (uint32_t)-1;
    }
    return f;
}

static const char hex_digits[] = "0123456789abcdef";

static void note_hex(struct process *p, uint32_t value)
{
    char text[11] = "0x";
    for (int k = 0; k < 8; k++)
        text[2 + k] = hex_digits[(value >> (28 - 4 * k)) & 0xF];
    console_append(p, text, 10);
}

/* A fault in ring 3 ends the process; anywhere else it ends the kernel. */
static struct trapframe *fault(struct trapframe *f)
{
    uint32_t cr2;
    __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    if ((f->cs & 3) != 3) {
        kprintf("kernel: exception %u (error 0x%x) at EIP 0x%08x, CR2 0x%08x\n", f->vector, f->error, f->eip, cr2);
        exit_qemu(1);
    }
    struct process *p = &procs[current];
    console_note(p, "  killed: exception ");
    note_hex(p, f->vector);
    console_note(p, " at EIP ");
    note_hex(p, f->eip);
    if (f->vector == 14) {
        console_note(p, ", page fault at ");
        note_hex(p, cr2);
        console_note(p, " error code ");
        note_hex(p, f->error);
    }
    console_note(p, "\n");
    p->state = EXITED;
    p->exit_code = -1;
    return schedule();
}

struct trapframe *trap(struct trapframe *f)
{
    if (current >= 0)
        procs[current].frame = f;
    if (f->vector == VECTOR_PIT) {
        outb(0x20, 0x20); /* non-specific EOI to the master 8259 */
        if ((f->cs & 3) != 3)
            return f;
        procs[current].preemptions++;
        return schedule();
    }
    if (f->vector == VECTOR_SYSCALL)
        return syscall(f);
    return fault(f);
}

/* The 8259s moved to vectors 0x20-0x2F (ICW1-ICW4), everything masked but IRQ 0. */
static void start_timer(void)
{
    outb(0x20, 0x11);
    outb(0x21, 0x20);
    outb(0x21, 0x04);
    outb(0x21, 0x01);
    outb(0xA0, 0x11);
    outb(0xA1, 0x28);
    outb(0xA1, 0x02);
    outb(0xA1, 0x01);
    outb(0xA1, 0xFF);
    outb(0x21, 0xFE);
    outb(0x43, 0x34); /* channel 0, mode 2 */
    outb(0x40, PIT_DIVISOR & 0xFF);
    outb(0x40, PIT_DIVISOR >> 8);
}

void processes_run(void)
{
    kprintf("scheduler: %d processes, round robin on PIT IRQ 0 every %u PIT cycles\n", NPROC, PIT_DIVISOR);
    struct trapframe *first = resume(0); /* CR3 first, then paging on */
    __asm__ volatile("mov %0, %%cr0" : : "r"(0x80000011u)); /* PG | ET | PE */
    start_timer();
    __asm__ volatile("mov %0, %%esp\n\tjmp trap_return" : : "r"(first) : "memory");
    __builtin_unreachable();
}

static void print_report(void)
{
    for (int pid = 0; pid < NPROC; pid++) {
        struct process *p = &procs[pid];
        p->console[p->console_length] = '\0';
        kprintf("process %d: exit code %d, %s\n%s", pid + 1, p->exit_code,
                p->preemptions > 0 ? "preempted by the timer" : "never preempted", p->console);
    }
    if (!disk_present)
        return;
    static uint8_t block[SECTOR_BYTES];
    if (ata_read(8, block) != 0) {
        kprintf("kernel: cannot read block 8 back\n");
        return;
    }
    int end = 0;
    while (end < 63 && block[end] >= 0x20 && block[end] < 0x7F)
        end++;
    block[end] = '\0';
    kprintf("kernel: block 8 now begins \"%s\"\n", (const char *)block);
}
