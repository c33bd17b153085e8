// IRET/IRETD (SDM Vol. 2, IRET pseudocode): real mode, protected-mode returns to the same
// ring and to an outer ring with their checks, and the EFLAGS update rules by CPL and IOPL.
// Stack frames are written by hand; expected values follow from the pseudocode lines named.

import { describe, expect, it } from 'vitest';
import { AR_DB, AR_G } from '../../src/cpu/cpu';
import { getEflags, run, type Cpu } from '../../src/cpu/index';
import {
  CR0_PE, CS, DS, ES, ESP, FLAG_AC, FLAG_CF, FLAG_ID, FLAG_IF, FLAG_IOPL, FLAG_NT, FLAG_RF, FLAG_VIF, FLAG_VIP,
  FLAG_VM, FS, GS, SS,
} from '../../src/cpu/registers';
import { nasm } from '../support/nasm';
import { CODE_BASE, faultVector, FAULT_BASE, GDT_BASE, IDT_BASE, makeCpu, RamBus, STACK_TOP } from './harness';

function setDescriptor(cpu: Cpu, sel: number, [lo, hi]: [number, number]): void {
  const at = GDT_BASE + (sel & ~7);
  cpu.writePhys32(at, lo);
  cpu.writePhys32(at + 4, hi);
  cpu.gdtrLimit = Math.max(cpu.gdtrLimit, (sel & ~7) + 7);
}

/** Code/data descriptor (SDM Vol. 3A, figure 3-8), 32-bit; `type` is the 4-bit type field. */
function segment(base: number, limit: number, type: number, dpl: number, present = true, gran = true): [number, number] {
  const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
  const hi = (base & 0xff00_0000) | ((base >>> 16) & 0xff) | (limit & 0xf_0000) | (type << 8) | (1 << 12) |
    (dpl << 13) | (present ? 1 << 15 : 0) | (1 << 22) | (gran ? 1 << 23 : 0);
  return [lo, hi];
}

const TSS = 0x28, CODE0_ABSENT = 0x30, CONFORMING0 = 0x38, DATA3_RO = 0x40, DATA3_ABSENT = 0x48;
const CODE0_64K = 0x50, CONFORMING3 = 0x58, DATA3_4K = 0x60;
const TSS_BASE = 0x3000, KERNEL_STACK = 0x8800, USER_STACK = 0x6000;
const TARGET = CODE_BASE + 0x100;
const GP = 13, NP = 11, SS_FAULT = 12;

function setup(bus = new RamBus()): Cpu {
  const cpu = makeCpu(bus);
  setDescriptor(cpu, CODE0_ABSENT, segment(0, 0xfffff, 0xa, 0, false));
  setDescriptor(cpu, CONFORMING0, segment(0, 0xfffff, 0xe, 0));
  setDescriptor(cpu, DATA3_RO, segment(0, 0xfffff, 0x0, 3));
  setDescriptor(cpu, DATA3_ABSENT, segment(0, 0xfffff, 0x2, 3, false));
  setDescriptor(cpu, CODE0_64K, segment(0, 0xffff, 0xa, 0, true, false));
  setDescriptor(cpu, CONFORMING3, segment(0, 0xfffff, 0xe, 3));
  setDescriptor(cpu, DATA3_4K, segment(0, 0xfff, 0x2, 3, true, false));
  cpu.writePhys32(TSS_BASE + 4, KERNEL_STACK);
  cpu.writePhys32(TSS_BASE + 8, 0x10);
  setDescriptor(cpu, TSS, [(TSS_BASE << 16) | 0x67, 0x8b00]);
  cpu.trSel = TSS; cpu.trBase = TSS_BASE; cpu.trLimit = 0x67; cpu.trAR = 0x8b;
  return cpu;
}

function load(cpu: Cpu, source: string, at = CODE_BASE, bits = 32, org = at): void {
  cpu.bus.ram.set(nasm(`bits ${bits}\norg ${org}\n${source}`), at);
  cpu.code.invalidateAll();
  cpu.eip = at;
}

function enterRing3(cpu: Cpu, esp: number): void {
  cpu.setSegmentCache(CS, 0x1b, 0, 0xffff_ffff, 0xfb | AR_DB | AR_G);
  for (const s of [SS, DS, ES, FS, GS]) cpu.setSegmentCache(s, 0x23, 0, 0xffff_ffff, 0xf3 | AR_DB | AR_G);
  cpu.setCpl(3);
  cpu.regs[ESP] = esp;
}

/** Puts an IRET frame (dwords, or words with `size` 2) at `at` and points ESP at it. */
function frame(cpu: Cpu, at: number, values: number[], size: 2 | 4 = 4): void {
  values.forEach((v, k) => cpu.writePhys(at + k * size, size, v));
  cpu.regs[ESP] = at;
}

function setEflags(cpu: Cpu, v: number): void {
  cpu.flags = v | 2;
  cpu.lzMask = 0;
}

const dword = (cpu: Cpu, a: number): number => cpu.readPhys32(a) >>> 0;
function fault(cpu: Cpu): { vector: number | undefined; code: number } {
  return { vector: faultVector(cpu), code: dword(cpu, cpu.regs[ESP]) };
}

describe('IRET in protected mode', () => {
  it('returns at the same privilege: pops EIP, CS, EFLAGS; at CPL 0 every flag in the image is loaded', () => {
    const cpu = setup();
    load(cpu, 'iretd');
    frame(cpu, STACK_TOP - 12, [TARGET, 0x08, 0x36d7]);
    run(cpu, 1);
    expect([cpu.segSel[CS], cpu.eip, cpu.regs[ESP], cpu.cpl]).toEqual([0x08, TARGET, STACK_TOP, 0]);
    expect(getEflags(cpu)).toBe(0x36d7);
  });

  it('returns to ring 3: pops SS:ESP, sets CPL 3, and nulls DS/ES/FS/GS holding DPL < 3 data (SDM IRET: RETURN-TO-OUTER-PRIVILEGE-LEVEL)', () => {
    const cpu = setup();
    load(cpu, 'iretd');
    frame(cpu, STACK_TOP - 20, [TARGET, 0x1b, 0x3202, USER_STACK, 0x23]);
    cpu.setSegmentCache(DS, 0x10, 0, 0xffff_ffff, 0x93 | AR_DB | AR_G);
    cpu.setSegmentCache(ES, 0x23, 0, 0xffff_ffff, 0xf3 | AR_DB | AR_G);
    cpu.setSegmentCache(FS, CONFORMING0, 0, 0xffff_ffff, 0x9f | AR_DB | AR_G);
    cpu.setSegmentCache(GS, 0x10, 0, 0xffff_ffff, 0x93 | AR_DB | AR_G);
    run(cpu, 1);
    expect([cpu.cpl, cpu.segSel[CS], cpu.eip]).toEqual([3, 0x1b, TARGET]);
    expect([cpu.segSel[SS], cpu.regs[ESP]]).toEqual([0x23, USER_STACK]);
    // DS and GS (DPL-0 data) become null; ES (DPL 3) and FS (conforming code) stay.
    expect([cpu.segSel[DS], cpu.segSel[ES], cpu.segSel[FS], cpu.segSel[GS]]).toEqual([0, 0x23, CONFORMING0, 0]);
    // At CPL 0 IOPL and IF come from the image.
    expect(getEflags(cpu)).toBe(0x3202);
  });

  it('lets ring 3 use what it got: a load through the nulled DS raises #GP(0)', () => {
    const cpu = setup();
    load(cpu, 'iretd');
    load(cpu, 'mov eax, [0x100]', TARGET);
    cpu.eip = CODE_BASE;
    frame(cpu, STACK_TOP - 20, [TARGET, 0x1b, 0x0202, USER_STACK, 0x23]);
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector: GP, code: 0 });
    expect(dword(cpu, KERNEL_STACK - 20)).toBe(TARGET);
  });

  describe('EFLAGS rules (SDM IRET: IF only when CPL <= IOPL, IOPL only at CPL 0)', () => {
    it.each([
      ['CPL 3, IOPL 0: IF and IOPL keep their values, CF is loaded', 3, 0, FLAG_IF | FLAG_IOPL | FLAG_CF, FLAG_CF],
      ['CPL 3, IOPL 3: IF is loaded, IOPL kept', 3, FLAG_IOPL, FLAG_IF, FLAG_IOPL | FLAG_IF],
      ['CPL 3: VM in the image is ignored', 3, 0, FLAG_VM | FLAG_CF, FLAG_CF],
      ['CPL 3: RF, AC and ID are loaded by IRETD', 3, 0, FLAG_RF | FLAG_AC | FLAG_ID, FLAG_RF | FLAG_AC | FLAG_ID],
      ['CPL 3: VIF and VIP are not loaded', 3, 0, FLAG_VIF | FLAG_VIP, 0],
      ['CPL 0: VIF, VIP and IOPL are loaded', 0, 0, FLAG_VIF | FLAG_VIP | FLAG_IOPL, FLAG_VIF | FLAG_VIP | FLAG_IOPL],
      ['CPL 0: a zero image clears IOPL and IF', 0, FLAG_IOPL | FLAG_IF, 0, 0],
    ])('%s', (_rule, cpl, before, image, after) => {
      const cpu = setup();
      load(cpu, 'iretd');
      if (cpl === 3) {
        enterRing3(cpu, USER_STACK);
        frame(cpu, USER_STACK, [TARGET, 0x1b, image | 2]);
      } else {
        frame(cpu, STACK_TOP - 12, [TARGET, 0x08, image | 2]);
      }
      setEflags(cpu, before);
      run(cpu, 1);
      expect(cpu.eip).toBe(TARGET);
      expect(getEflags(cpu)).toBe(after | 2);
    });

    it('IRET with a 16-bit operand leaves EFLAGS[31:16] alone', () => {
      const cpu = setup();
      load(cpu, 'o16 iret');
      frame(cpu, STACK_TOP - 6, [TARGET & 0xffff, 0x08, 0x0203], 2);
      setEflags(cpu, FLAG_AC | FLAG_ID);
      run(cpu, 1);
      expect(getEflags(cpu)).toBe(FLAG_AC | FLAG_ID | 0x0203);
      expect([cpu.eip, cpu.regs[ESP]]).toEqual([TARGET & 0xffff, STACK_TOP]);
    });
  });

  // Neither is supported: a return to virtual-8086 mode or a nested-task return raise #GP(0).
  it('raises #GP(0) for VM = 1 in the image at CPL 0 (return to virtual-8086 mode)', () => {
    const cpu = setup();
    load(cpu, 'iretd');
    frame(cpu, STACK_TOP - 12, [TARGET, 0x08, FLAG_VM | 2]);
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector: GP, code: 0 });
  });

  it('raises #GP(0) for EFLAGS.NT = 1 (task return)', () => {
    const cpu = setup();
    load(cpu, 'iretd');
    frame(cpu, STACK_TOP - 12, [TARGET, 0x08, 2]);
    setEflags(cpu, FLAG_NT);
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector: GP, code: 0 });
  });

  it.each([
    ['a null CS', 0, TARGET, GP, 0],
    ['a non-conforming CS with DPL != RPL', 0x18, TARGET, GP, 0x18],
    ['a conforming CS with DPL > RPL', CONFORMING3, TARGET, GP, CONFORMING3],
    ['a data segment in CS', 0x10, TARGET, GP, 0x10],
    ['a CS that is not present', CODE0_ABSENT, TARGET, NP, CODE0_ABSENT],
    ['EIP beyond the CS limit', CODE0_64K, 0x10000, GP, 0],
  ])('%s faults (SDM IRET: PROTECTED-MODE-RETURN)', (_rule, cs, eip, vector, code) => {
    const cpu = setup();
    load(cpu, 'iretd');
    frame(cpu, STACK_TOP - 12, [eip, cs, 2]);
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector, code });
    expect(dword(cpu, cpu.regs[ESP] + 4)).toBe(CODE_BASE);
  });

  it('raises #GP(selector) for a return CS with RPL < CPL', () => {
    const cpu = setup();
    load(cpu, 'iretd');
    enterRing3(cpu, USER_STACK);
    frame(cpu, USER_STACK, [TARGET, 0x08, 2]);
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector: GP, code: 0x08 });
    expect(dword(cpu, KERNEL_STACK - 20)).toBe(CODE_BASE);
  });

  it.each([
    ['a null SS', 0, GP, 0],
    ['SS RPL != CS RPL', 0x20, GP, 0x20],
    ['SS DPL != CS RPL', 0x13, GP, 0x10],
    ['a read-only SS', DATA3_RO | 3, GP, DATA3_RO],
    ['a code segment in SS', 0x1b, GP, 0x18],
    ['an SS that is not present', DATA3_ABSENT | 3, SS_FAULT, DATA3_ABSENT],
  ])('return to ring 3 with %s faults (SDM IRET: RETURN-TO-OUTER-PRIVILEGE-LEVEL)', (_rule, ss, vector, code) => {
    const cpu = setup();
    load(cpu, 'iretd');
    frame(cpu, STACK_TOP - 20, [TARGET, 0x1b, 2, USER_STACK, ss]);
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector, code });
    expect(cpu.cpl).toBe(0);
  });

  it('raises #SS(0) when the frame lies beyond the stack limit', () => {
    const cpu = setup();
    load(cpu, 'iretd');
    enterRing3(cpu, 0xff8);
    cpu.setSegmentCache(SS, DATA3_4K | 3, 0, 0xfff, 0xf3 | AR_DB);
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector: SS_FAULT, code: 0 });
  });

  it('has no interrupt shadow: a pending interrupt is taken before the instruction IRET returns to', () => {
    class PendingBus extends RamBus {
      pending = true;
      override intrPending(): boolean { return this.pending; }
      override intrAcknowledge(): number { this.pending = false; return 0x20; }
    }
    const cpu = setup(new PendingBus());
    const handler = FAULT_BASE + 0x200;
    cpu.writePhys32(IDT_BASE + 0x20 * 8, (0x08 << 16) | (handler & 0xffff));
    cpu.writePhys32(IDT_BASE + 0x20 * 8 + 4, (handler & 0xffff_0000) | 0x8e00);
    cpu.bus.ram[handler] = 0xf4;
    cpu.idtrLimit = 0x21 * 8 - 1;
    load(cpu, 'iretd');
    frame(cpu, STACK_TOP - 12, [TARGET, 0x08, FLAG_IF | 2]);
    run(cpu, 10);
    expect(cpu.eip).toBe(handler + 1);
    // The interrupt frame's return address is IRET's target: nothing ran in between.
    expect(dword(cpu, cpu.regs[ESP])).toBe(TARGET);
    expect(cpu.regs[ESP]).toBe(STACK_TOP - 12);
  });
});

describe('IRET in real-address mode', () => {
  function realMode(): Cpu {
    const cpu = makeCpu();
    cpu.cr0 &= ~CR0_PE;
    cpu.setSegmentCache(CS, 0x1000, 0x10000, 0xffff, 0x9b);
    cpu.setSegmentCache(SS, 0, 0, 0xffff, 0x93);
    return cpu;
  }

  it('IRETD: EFLAGS <- (image AND 257FD5H) OR (EFLAGS AND 1A0000H) (SDM IRET: REAL-ADDRESS-MODE)', () => {
    const cpu = realMode();
    load(cpu, 'iretd', 0x10000, 16, 0);
    cpu.eip = 0;
    frame(cpu, 0x8000, [0x20, 0x3000, 0xffff_ffff]);
    setEflags(cpu, FLAG_VIF);
    run(cpu, 1);
    expect([cpu.segSel[CS], cpu.segBase[CS], cpu.eip, cpu.regs[ESP]]).toEqual([0x3000, 0x30000, 0x20, 0x800c]);
    expect(getEflags(cpu)).toBe(0x2d7fd7);
  });

  it('IRET: FLAGS <- the 16-bit image, EFLAGS[31:16] unchanged', () => {
    const cpu = realMode();
    load(cpu, 'iret', 0x10000, 16, 0);
    cpu.eip = 0;
    frame(cpu, 0x8000, [0x20, 0x3000, 0xffff], 2);
    setEflags(cpu, FLAG_AC);
    run(cpu, 1);
    expect([cpu.segSel[CS], cpu.eip, cpu.regs[ESP]]).toEqual([0x3000, 0x20, 0x8006]);
    expect(getEflags(cpu)).toBe(FLAG_AC | 0x7fd7);
  });
});
