/**
 * The VMM's GDT, IDT and TSS: the ones the processor holds while a guest runs deprivileged.
 * They live in VMM memory, at the top of the linear address space (vmmMemory.ts). The GDT is
 * 64 KiB: the guest's descriptors (or, under pv, the flat ring-1 and ring-3 segments) at the
 * low indices and the VMM's own at the top four. Every event reaches the VMM through the
 * CPU's monitor hook before the processor would look at the IDT, so the IDT's gates, all into
 * the VMM's code segment, document where a hardware VMM would be entered rather than being used.
 */
import type { Cpu } from '../cpu/cpu';
import { GDT_PAGE, GDT_PAGES, IDT_PAGE, STUB_PAGE, TSS_PAGE, VMM_LINEAR_BASE, type VmmMemory } from './vmmMemory';

export const GDT_ENTRIES = GDT_PAGES * 512;
/** The VMM's selectors: the last four GDT entries (the LDT's is the shadow of the guest's). */
export const VMM_LDT = (GDT_ENTRIES - 4) << 3;
export const VMM_CS = (GDT_ENTRIES - 3) << 3;
export const VMM_DS = (GDT_ENTRIES - 2) << 3;
export const VMM_TSS = (GDT_ENTRIES - 1) << 3;
export const FIRST_VMM_ENTRY = GDT_ENTRIES - 4;

/** Access bytes: present, DPL, S, type. */
const ACCESS_CODE = 0x9a, ACCESS_DATA = 0x92, ACCESS_TSS32 = 0x89;
/** Flags nibble: G and D/B. */
const FLAGS_4K_32 = 0xc;

const TSS_LIMIT = 0x67;
const TSS_IO_MAP_BASE = 0x66;
const INTERRUPT_GATE = 0x8e;
const HLT = 0xf4;

/** The two dwords of a segment descriptor (SDM Vol. 3A, figure 3-8). */
export function descriptor(base: number, limit: number, access: number, flags: number): [lo: number, hi: number] {
  const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
  const hi = (base & 0xff00_0000) | ((flags & 0xf) << 20) | (limit & 0xf_0000) | ((access & 0xff) << 8) | ((base >>> 16) & 0xff);
  return [lo | 0, hi | 0];
}

export function writeGdtEntry(mem: VmmMemory, index: number, lo: number, hi: number): void {
  const at = mem.page(GDT_PAGE) + index * 8;
  mem.write32(at, lo);
  mem.write32(at + 4, hi);
}

/** Builds the tables and loads GDTR, IDTR and TR with them. */
export function installSystemTables(cpu: Cpu, mem: VmmMemory): void {
  const ram = cpu.ram;
  const gdt = mem.page(GDT_PAGE);
  ram.fill(0, gdt, gdt + GDT_PAGES * 4096);
  writeGdtEntry(mem, VMM_CS >> 3, ...descriptor(VMM_LINEAR_BASE, 0x3ff, ACCESS_CODE, FLAGS_4K_32));
  writeGdtEntry(mem, VMM_DS >> 3, ...descriptor(VMM_LINEAR_BASE, 0x3ff, ACCESS_DATA, FLAGS_4K_32));
  const tss = mem.page(TSS_PAGE);
  ram.fill(0, tss, tss + 4096);
  // No I/O bitmap: the map base lies beyond the limit, so IN and OUT above IOPL always fault.
  ram[tss + TSS_IO_MAP_BASE] = (TSS_LIMIT + 1) & 0xff;
  const tssLinear = mem.linear(tss);
  writeGdtEntry(mem, VMM_TSS >> 3, ...descriptor(tssLinear, TSS_LIMIT, ACCESS_TSS32 | 0x2, 0));

  const stub = mem.page(STUB_PAGE);
  ram.fill(HLT, stub, stub + 4096);
  const idt = mem.page(IDT_PAGE);
  for (let v = 0; v < 256; v++) {
    const offset = mem.linear(stub) - VMM_LINEAR_BASE + v;
    mem.write32(idt + v * 8, (VMM_CS << 16) | (offset & 0xffff));
    mem.write32(idt + v * 8 + 4, (offset & 0xffff_0000) | (INTERRUPT_GATE << 8));
  }

  cpu.gdtrBase = mem.linear(gdt); cpu.gdtrLimit = GDT_ENTRIES * 8 - 1;
  cpu.idtrBase = mem.linear(idt); cpu.idtrLimit = 256 * 8 - 1;
  cpu.trSel = VMM_TSS; cpu.trBase = tssLinear; cpu.trLimit = TSS_LIMIT; cpu.trAR = 0x8b;
  cpu.ldtrSel = 0;
}
