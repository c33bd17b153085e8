/**
 * The VMM's own memory: RAM above what the guest is told it has (Machine.hostReservedMiB),
 * holding the tables the processor uses while the guest runs deprivileged (GDT, IDT, TSS,
 * shadow page tables). The first 4 MiB of it are also mapped at the top 4 MiB of every
 * linear address space the VMM builds, where the processor reads its system tables; the
 * guest's segments are cut short below that region, as VMware's VMM did.
 */
import type { Machine } from '../machine/machine';
import { MAX_CPUS } from '../machine/smp';

export const VMM_RESERVED_MIB = 8;
/** The top 4 MiB of linear addresses: page-directory entry 1023. */
export const VMM_LINEAR_BASE = 0xffc0_0000;
export const VMM_PDE_INDEX = 1023;
/** Highest linear address a guest segment may reach. */
export const GUEST_LINEAR_LIMIT = VMM_LINEAR_BASE - 1;

const PAGE = 4096;
const PTE_P = 1, PTE_RW = 2, PTE_A = 0x20, PTE_D = 0x40;

/** Fixed pages at the start of VMM memory: the region's page table, shared by every processor. */
export const REGION_PT_PAGE = 0;
/** Each processor's system tables, in a block of its own after it (VmmMemory.forProcessor). */
export const GDT_PAGE = 1;
export const GDT_PAGES = 16;
export const IDT_PAGE = GDT_PAGE + GDT_PAGES;
export const TSS_PAGE = IDT_PAGE + 1;
export const STUB_PAGE = TSS_PAGE + 1;
/** The shadow of the guest's LDT: up to 8192 descriptors. */
export const LDT_PAGE = STUB_PAGE + 1;
export const LDT_PAGES = 16;
/** Pages of one processor's tables. */
const PROCESSOR_PAGES = LDT_PAGE + LDT_PAGES - GDT_PAGE;
const FIRST_POOL_PAGE = GDT_PAGE + MAX_CPUS * PROCESSOR_PAGES;

/**
 * VMM memory as one processor's monitor sees it: the shared region page table and page pool,
 * and that processor's own GDT, IDT, TSS and LDT pages (each processor has its own, as each
 * of VMware's per-vCPU monitors had).
 */
export class VmmMemory {
  /** Physical address of the first VMM byte (the end of guest RAM). */
  readonly base: number;
  readonly end: number;
  /** Where this processor's table block starts, in pages from `base`. */
  private readonly tablePages: number;

  private constructor(private readonly machine: Machine, private readonly free: number[], processor: number) {
    this.base = machine.guestRamBytes;
    this.end = machine.ram.length;
    this.tablePages = processor * PROCESSOR_PAGES;
  }

  /** The VMM memory of `machine`, as processor 0's monitor sees it. */
  static create(machine: Machine): VmmMemory {
    const mem = new VmmMemory(machine, [], 0);
    if (mem.end - mem.base < VMM_RESERVED_MIB * 1024 * 1024) {
      throw new Error(`the VMM needs ${VMM_RESERVED_MIB} MiB of host-reserved RAM above the guest's; the machine has ${(mem.end - mem.base) >> 20} MiB`);
    }
    mem.reset();
    // The region's page table maps the first 1024 VMM pages, for the processor only (U/S = 0).
    const pt = mem.page(REGION_PT_PAGE);
    for (let k = 0; k < 1024; k++) mem.write32(pt + k * 4, (mem.base + k * PAGE) | PTE_P | PTE_RW | PTE_A | PTE_D);
    return mem;
  }

  /** The same memory as processor `k`'s monitor sees it (its own tables, the shared pool). */
  forProcessor(k: number): VmmMemory { return new VmmMemory(this.machine, this.free, k); }

  /** Gives every pool page back (a new guest is loaded). */
  reset(): void {
    this.free.length = 0;
    for (let p = this.end - PAGE; p >= this.base + FIRST_POOL_PAGE * PAGE; p -= PAGE) this.free.push(p);
  }

  /** Physical address of fixed page `n` (this processor's, for its tables). */
  page(n: number): number { return this.base + (n === REGION_PT_PAGE ? 0 : n + this.tablePages) * PAGE; }

  /** Where the processor sees VMM physical address `phys` (first 4 MiB only). */
  linear(phys: number): number { return (VMM_LINEAR_BASE + (phys - this.base)) | 0; }

  /** The page-directory entry that maps the VMM region. */
  get regionPde(): number { return this.page(REGION_PT_PAGE) | PTE_P | PTE_RW | PTE_A; }

  /** Is guest-physical `phys` VMM memory (the guest must never reach it)? */
  owns(phys: number): boolean { return phys >= this.base && phys < this.end; }

  /** A zeroed page from the pool, or undefined when it is empty. */
  allocate(): number | undefined {
    const p = this.free.pop();
    if (p !== undefined) this.machine.ram.fill(0, p, p + PAGE);
    return p;
  }

  release(phys: number): void { this.free.push(phys); }

  read32(phys: number): number { return this.machine.cpu.ram32[phys >>> 2]; }
  write32(phys: number, v: number): void { this.machine.cpu.ram32[phys >>> 2] = v; }
}
