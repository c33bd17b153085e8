/*
 * kernel.c: several processors count the primes below a bound together.
 *
 * The bootstrap processor learns the processor count from fw_cfg and starts the application
 * processors (processors.c). The range [0, LIMIT) is cut into one slice per processor, by
 * APIC ID, so what each processor finds does not depend on when it runs: each counts and sums
 * the primes in its slice, adds them to the shared totals under a spinlock (LOCK XCHG), and
 * says it has finished (LOCK ADD). The bootstrap processor, once all have finished, prints
 * every slice in APIC ID order and the totals, the same on one processor or eight.
 */
#include <stdint.h>
#include "../lib/console.h"
#include "processors.h"

#define MULTIBOOT_BOOT_EAX 0x2BADB002u
/* A multiple of 840, the least common multiple of 1 to 8: the slices are equal for any count. */
#define LIMIT 50400u
#define AP_STACK_SIZE 4096

struct slice {
    uint32_t low, high; /* [low, high) */
    uint32_t primes, sum;
};

static unsigned cpus;
static struct slice slices[MAX_CPUS];
static uint8_t ap_stacks[MAX_CPUS][AP_STACK_SIZE] __attribute__((aligned(16)));

static uint32_t totals_lock;
static uint32_t total_primes, total_sum;
static uint32_t finished;

static void spin_lock(uint32_t *lock)
{
    while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE) != 0)
        while (__atomic_load_n(lock, __ATOMIC_RELAXED) != 0)
            __asm__ volatile("pause");
}

static void spin_unlock(uint32_t *lock) { __atomic_store_n(lock, 0, __ATOMIC_RELEASE); }

static int is_prime(uint32_t n)
{
    if (n < 4)
        return n >= 2;
    if (n % 2 == 0)
        return 0;
    for (uint32_t d = 3; d * d <= n; d += 2)
        if (n % d == 0)
            return 0;
    return 1;
}

void cpu_main(uint32_t apic_id)
{
    struct slice *s = &slices[apic_id];
    s->low = LIMIT / cpus * apic_id;
    s->high = s->low + LIMIT / cpus;
    for (uint32_t n = s->low; n < s->high; n++) {
        if (is_prime(n)) {
            s->primes++;
            s->sum += n;
        }
    }
    spin_lock(&totals_lock);
    total_primes += s->primes;
    total_sum += s->sum;
    spin_unlock(&totals_lock);
    __atomic_fetch_add(&finished, 1, __ATOMIC_RELEASE);
}

static unsigned count_processors(void)
{
    unsigned count = fw_cfg_processor_count();
    if (count == 0) {
        kprintf("no fw_cfg device: the bootstrap processor works alone\n");
        return 1;
    }
    kprintf("fw_cfg: %u processor(s)\n", count);
    if (count > MAX_CPUS) {
        kprintf("using the first %u\n", MAX_CPUS);
        return MAX_CPUS;
    }
    return count;
}

void kmain(uint32_t magic, uint32_t mbi)
{
    (void)mbi;
    serial_init();
    kprintf("smp: Multiboot magic 0x%x\n", magic);
    if (magic != MULTIBOOT_BOOT_EAX) {
        kprintf("not started by a Multiboot loader\n");
        exit_qemu(1);
    }
    cpus = count_processors();
    uint32_t bsp = lapic_id();
    kprintf("bootstrap processor: APIC ID %u\n", bsp);
    if (bsp != 0) {
        kprintf("expected APIC ID 0: the processors are numbered 0 to %u\n", cpus - 1);
        exit_qemu(1);
    }
    for (uint32_t id = 1; id < cpus; id++) {
        if (start_application_processor(id, ap_stacks[id] + AP_STACK_SIZE) != 0) {
            kprintf("APIC ID %u did not answer INIT, STARTUP, STARTUP\n", id);
            exit_qemu(1);
        }
        kprintf("APIC ID %u started\n", id);
    }
    kprintf("counting the primes below %u in %u slice(s) of %u\n", LIMIT, cpus, LIMIT / cpus);
    cpu_main(bsp);
    while (__atomic_load_n(&finished, __ATOMIC_ACQUIRE) != cpus)
        __asm__ volatile("pause");
    for (unsigned id = 0; id < cpus; id++) {
        const struct slice *s = &slices[id];
        kprintf("  APIC ID %u: [%u, %u) has %u primes, sum %u\n", id, s->low, s->high, s->primes, s->sum);
    }
    kprintf("total: %u primes, sum %u\n", total_primes, total_sum);
    exit_qemu(0);
}
