// Segmentation (SDM Vol. 3A, chapter 3 and 5.3-5.6; MOV Sreg pseudocode in Vol. 2): base and
// limit of data and stack segments, expand-down segments, read-only and execute-only
// segments, the checks of loading DS and SS, and the use of a null selector. Each test says
// which rule gives its expected fault and error code.

import { describe, expect, it } from 'vitest';
import { AR_DB, AR_G } from '../../src/cpu/cpu';
import { run, type Cpu } from '../../src/cpu/index';
import { CS, DS, EAX, ES, ESP, FS, GS, SS } from '../../src/cpu/registers';
import { nasm } from '../support/nasm';
import { CODE_BASE, faultVector, GDT_BASE, makeCpu } from './harness';

function setDescriptor(cpu: Cpu, sel: number, [lo, hi]: [number, number]): void {
  const at = GDT_BASE + (sel & ~7);
  cpu.writePhys32(at, lo);
  cpu.writePhys32(at + 4, hi);
  cpu.gdtrLimit = Math.max(cpu.gdtrLimit, (sel & ~7) + 7);
}

interface SegOpts { present?: boolean; big?: boolean; gran?: boolean }
/** Code/data descriptor (SDM Vol. 3A, figure 3-8); `type` is the 4-bit type field (table 3-1). */
function segment(base: number, limit: number, type: number, dpl: number, o: SegOpts = {}): [number, number] {
  const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
  const hi = (base & 0xff00_0000) | ((base >>> 16) & 0xff) | (limit & 0xf_0000) | (type << 8) | (1 << 12) |
    (dpl << 13) | (o.present === false ? 0 : 1 << 15) | (o.big === false ? 0 : 1 << 22) | (o.gran ? 1 << 23 : 0);
  return [lo, hi];
}

const DATA_RO = 0x0, DATA_RW = 0x2, DATA_RW_DOWN = 0x6, CODE_XO = 0x8, CODE_RX = 0xa, CODE_RX_CONF = 0xe;
const FLAT = 0xfffff;
const TSS = 0x28;
const DATA0_4K = 0x30;            // limit 0xfff
const DATA0_RO = 0x38;
const DOWN_BIG = 0x40;            // expand-down, limit 0xfff, B = 1: offsets 0x1000-0xffffffff
const DOWN_SMALL = 0x48;          // expand-down, limit 0xfff, B = 0: offsets 0x1000-0xffff
const CODE0_XO = 0x50;            // execute-only
const DATA0_ABSENT = 0x58;
const CODE0_RX = 0x60;
const DATA3_4K = 0x68;
const DATA0_AT_20000 = 0x70;
const CONFORMING0 = 0x78;
const DOWN3 = 0x80;               // expand-down DPL 3, limit 0xfff, B = 1

const TSS_BASE = 0x3000, KERNEL_STACK = 0x8800, USER_STACK = 0x6000;
const GP = 13, NP = 11, SS_FAULT = 12;

function setup(): Cpu {
  const cpu = makeCpu();
  setDescriptor(cpu, DATA0_4K, segment(0, 0xfff, DATA_RW, 0));
  setDescriptor(cpu, DATA0_RO, segment(0, FLAT, DATA_RO, 0, { gran: true }));
  setDescriptor(cpu, DOWN_BIG, segment(0, 0xfff, DATA_RW_DOWN, 0));
  setDescriptor(cpu, DOWN_SMALL, segment(0, 0xfff, DATA_RW_DOWN, 0, { big: false }));
  setDescriptor(cpu, CODE0_XO, segment(0, FLAT, CODE_XO, 0, { gran: true }));
  setDescriptor(cpu, DATA0_ABSENT, segment(0, FLAT, DATA_RW, 0, { gran: true, present: false }));
  setDescriptor(cpu, CODE0_RX, segment(0, FLAT, CODE_RX, 0, { gran: true }));
  setDescriptor(cpu, DATA3_4K, segment(0, 0xfff, DATA_RW, 3));
  setDescriptor(cpu, DATA0_AT_20000, segment(0x20000, 0xffff, DATA_RW, 0));
  setDescriptor(cpu, CONFORMING0, segment(0, FLAT, CODE_RX_CONF, 0, { gran: true }));
  setDescriptor(cpu, DOWN3, segment(0, 0xfff, DATA_RW_DOWN, 3));
  cpu.writePhys32(TSS_BASE + 4, KERNEL_STACK);
  cpu.writePhys32(TSS_BASE + 8, 0x10);
  setDescriptor(cpu, TSS, [(TSS_BASE << 16) | 0x67, 0x8b00]);
  cpu.trSel = TSS; cpu.trBase = TSS_BASE; cpu.trLimit = 0x67; cpu.trAR = 0x8b;
  return cpu;
}

/** Assembles and runs `source` at CODE_BASE in ring 0 or 3 until it halts or faults. */
function runCode(source: string, ring: 0 | 3 = 0, cpu = setup()): Cpu {
  cpu.bus.ram.set(nasm(`bits 32\norg ${CODE_BASE}\n${source}`), CODE_BASE);
  cpu.code.invalidateAll();
  cpu.eip = CODE_BASE;
  if (ring === 3) {
    cpu.setSegmentCache(CS, 0x1b, 0, 0xffff_ffff, 0xfb | AR_DB | AR_G);
    for (const s of [SS, DS, ES, FS, GS]) cpu.setSegmentCache(s, 0x23, 0, 0xffff_ffff, 0xf3 | AR_DB | AR_G);
    cpu.setCpl(3);
    cpu.regs[ESP] = USER_STACK;
  }
  run(cpu, 100);
  return cpu;
}

/** Where the code stopped: the exception vector and its error code, or 'hlt' at the end. */
function outcome(cpu: Cpu): { vector: number; code: number } | 'hlt' {
  const v = faultVector(cpu);
  if (v === undefined) return cpu.halted && cpu.cpl === 0 ? 'hlt' : { vector: -1, code: -1 };
  return { vector: v, code: cpu.readPhys32(cpu.regs[ESP]) >>> 0 };
}

describe('base and limit (SDM Vol. 3A 3.4.5, 5.3)', () => {
  it('adds the segment base to the offset', () => {
    const cpu = setup();
    cpu.writePhys32(0x20010, 0x1357_9bdf);
    runCode('mov ax, 0x70\nmov ds, ax\nmov eax, [0x10]\nhlt', 0, cpu);
    expect(outcome(cpu)).toBe('hlt');
    expect(cpu.regs[EAX]).toBe(0x1357_9bdf);
  });

  it.each([
    ['the last dword within the limit', 'mov eax, [0xffc]', 'hlt'],
    ['the last byte within the limit', 'mov al, [0xfff]', 'hlt'],
    ['a dword that ends past the limit', 'mov eax, [0xffd]', { vector: GP, code: 0 }],
    ['a byte past the limit', 'mov [0x1000], al', { vector: GP, code: 0 }],
  ])('a data segment with limit 0xfff: %s', (_what, access, expected) => {
    const cpu = runCode(`mov ax, 0x30\nmov ds, ax\n${access}\nhlt`);
    expect(outcome(cpu)).toEqual(expected);
  });

  it.each([
    ['an SS-relative load past the limit', 'xor ebp, ebp\nmov eax, [ebp + 0x1000]'],
    ['a push below offset 0', 'mov esp, 2\npush eax'],
  ])('the stack segment raises #SS(0), not #GP, for %s', (_what, access) => {
    const cpu = runCode(`mov ax, 0x6b\nmov ss, ax\n${access}`, 3);
    expect(outcome(cpu)).toEqual({ vector: SS_FAULT, code: 0 });
    // Delivered on the ring-0 stack: the saved SS is the limited one.
    expect(cpu.readPhys32(KERNEL_STACK - 4)).toBe(DATA3_4K | 3);
  });
});

describe('expand-down segments (SDM Vol. 3A 3.4.5.1: valid offsets are limit+1 to 0xffff or 0xffffffff)', () => {
  it.each([
    ['B = 1: the first valid dword above the limit', 0x40, 'mov eax, [0x1000]', 'hlt'],
    ['B = 1: a high offset', 0x40, 'mov eax, [0x800000]', 'hlt'],
    ['B = 1: a dword starting at or below the limit', 0x40, 'mov eax, [0xffe]', { vector: GP, code: 0 }],
    ['B = 0: the last dword below 64 KiB', 0x48, 'mov eax, [0xfffc]', 'hlt'],
    ['B = 0: a dword ending above 0xffff', 0x48, 'mov eax, [0xfffe]', { vector: GP, code: 0 }],
    ['B = 0: an offset above 0xffff', 0x48, 'mov eax, [0x10000]', { vector: GP, code: 0 }],
    ['B = 0: offset 0', 0x48, 'mov al, [0]', { vector: GP, code: 0 }],
  ])('%s', (_what, sel, access, expected) => {
    const cpu = runCode(`mov ax, ${sel}\nmov ds, ax\n${access}\nhlt`);
    expect(outcome(cpu)).toEqual(expected);
  });

  it('an expand-down stack grows down to limit + 1, then raises #SS(0)', () => {
    const cpu = runCode('mov ax, 0x83\nmov ss, ax\nmov esp, 0x1008\npush eax\npush eax\npush eax', 3);
    expect(outcome(cpu)).toEqual({ vector: SS_FAULT, code: 0 });
    expect(cpu.readPhys32(KERNEL_STACK - 8)).toBe(0x1000);   // the ESP saved: two pushes done
  });
});

describe('segment types (SDM Vol. 3A 5.5, table 3-1)', () => {
  // QEMU TCG does not check this (a write through a read-only data segment succeeds there);
  // the SDM says #GP(0), and so does Bochs.
  it('a write through a read-only data segment raises #GP(0); reading it works', () => {
    const cpu = runCode('mov ax, 0x38\nmov ds, ax\nmov eax, [0x100]\nmov [0x100], eax\nhlt');
    expect(outcome(cpu)).toEqual({ vector: GP, code: 0 });
    expect(cpu.readPhys32(cpu.regs[ESP] + 4)).toBe(CODE_BASE + 11);   // the store, after 4 + 2 + 5 bytes
  });

  it('a write through CS raises #GP(0): code segments are never writable', () => {
    const cpu = runCode('mov [cs:0x100], eax\nhlt');
    expect(outcome(cpu)).toEqual({ vector: GP, code: 0 });
  });

  it('a read through an execute-only CS raises #GP(0)', () => {
    const cpu = runCode('jmp 0x50:next\nnext: mov eax, [cs:0x100]\nhlt');
    expect(outcome(cpu)).toEqual({ vector: GP, code: 0 });
    expect(cpu.readPhys32(cpu.regs[ESP] + 8)).toBe(CODE0_XO);   // the CS saved in the frame
  });
});

describe('loading SS (SDM MOV: SS must be a present writable data segment with RPL = DPL = CPL)', () => {
  it.each([
    ['the null selector', 0, GP, 0],
    ['RPL != CPL', 0x13, GP, 0x10],
    ['DPL != CPL', 0x20, GP, 0x20],
    ['a read-only data segment', DATA0_RO, GP, DATA0_RO],
    ['a code segment', CODE0_RX, GP, CODE0_RX],
    ['a selector beyond the GDT limit', 0x1000, GP, 0x1000],
    ['an LDT selector with no LDT', 0x0c, GP, 0x0c],
    ['a segment that is not present', DATA0_ABSENT, SS_FAULT, DATA0_ABSENT],
  ])('%s faults', (_what, sel, vector, code) => {
    const cpu = runCode(`mov ax, ${sel}\nmov ss, ax\nhlt`);
    expect(outcome(cpu)).toEqual({ vector, code });
    expect(cpu.segSel[SS]).toBe(0x10);
  });
});

describe('loading DS (SDM MOV: data or readable code, DPL >= max(CPL, RPL) unless conforming)', () => {
  it.each([
    ['a DPL-0 data segment at CPL 3', 3, 0x10, { vector: GP, code: 0x10 }],
    ['RPL > DPL', 0, 0x13, { vector: GP, code: 0x10 }],
    ['an execute-only code segment', 0, CODE0_XO, { vector: GP, code: CODE0_XO }],
    ['a segment that is not present', 0, DATA0_ABSENT, { vector: NP, code: DATA0_ABSENT }],
  ])('%s faults', (_what, ring, sel, expected) => {
    const cpu = runCode(`mov ax, ${sel}\nmov ds, ax\nhlt`, ring as 0 | 3);
    expect(outcome(cpu)).toEqual(expected);
  });

  it('a readable conforming code segment loads at CPL 3 (no DPL check)', () => {
    const cpu = runCode(`mov ax, ${CONFORMING0 | 3}\nmov ds, ax\nmov eax, [${CODE_BASE}]\nint3`, 3);
    expect(faultVector(cpu)).toBe(3);
    expect(cpu.segSel[DS]).toBe(CONFORMING0 | 3);
    expect(cpu.regs[EAX] & 0xffff).toBe(0xb866);   // the first bytes of `mov ax, imm16`
  });

  it('a readable code segment loads at CPL 0 and can be read', () => {
    const cpu = runCode(`mov ax, ${CODE0_RX}\nmov ds, ax\nmov eax, [${CODE_BASE}]\nhlt`);
    expect(outcome(cpu)).toBe('hlt');
    expect(cpu.regs[EAX] & 0xffff).toBe(0xb866);   // the first bytes of `mov ax, imm16`
  });
});

describe('null selectors (SDM Vol. 3A 5.4.1)', () => {
  it.each([0, 3])('loading %i into DS works, using DS then raises #GP(0)', (sel) => {
    const cpu = runCode(`mov ax, ${sel}\nmov ds, ax\nmov eax, [0x100]\nhlt`);
    expect(cpu.segSel[DS]).toBe(sel);
    expect(outcome(cpu)).toEqual({ vector: GP, code: 0 });
    expect(cpu.readPhys32(cpu.regs[ESP] + 4)).toBe(CODE_BASE + 6);
  });
});
