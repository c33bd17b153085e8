// Far JMP, CALL and RETF (SDM Vol. 2 JMP/CALL/RET pseudocode, Vol. 3A 5.8): direct
// transfers, call gates with the stack switch through the TSS, returns to outer rings, and
// real mode. Test code is assembled with nasm; descriptor tables are built here by hand and
// every expected value is worked out from the SDM rule each test names.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AR_DB, AR_G } from '../../src/cpu/cpu';
import { run, type Cpu } from '../../src/cpu/index';
import { CR0_PE, CS, DS, ES, ESP, FS, GS, SS } from '../../src/cpu/registers';
import { Machine } from '../../src/machine/machine';
import { nasm } from '../support/nasm';
import { qemuAvailable, runQemu } from '../support/qemu';
import { CODE_BASE, faultVector, GDT_BASE, makeCpu, STACK_TOP } from './harness';
import { PUTC } from '../support/guestSerial';

// ---- descriptor tables ------------------------------------------------------------------

function setDescriptor(cpu: Cpu, sel: number, [lo, hi]: [number, number]): void {
  const at = GDT_BASE + (sel & ~7);
  cpu.writePhys32(at, lo);
  cpu.writePhys32(at + 4, hi);
  cpu.gdtrLimit = Math.max(cpu.gdtrLimit, (sel & ~7) + 7);
}

interface SegOpts { present?: boolean; big?: boolean; gran?: boolean }
/** Code/data descriptor (SDM Vol. 3A, figure 3-8); `type` is the 4-bit type field. */
function segment(base: number, limit: number, type: number, dpl: number, o: SegOpts = {}): [number, number] {
  const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
  const hi = (base & 0xff00_0000) | ((base >>> 16) & 0xff) | (limit & 0xf_0000) | (type << 8) | (1 << 12) |
    (dpl << 13) | (o.present === false ? 0 : 1 << 15) | (o.big === false ? 0 : 1 << 22) | (o.gran ? 1 << 23 : 0);
  return [lo, hi];
}

/** Call gate (SDM Vol. 3A, figure 5-8): type 0xC 32-bit, 0x4 16-bit. */
function callGate(sel: number, offset: number, type: number, dpl: number, params = 0, present = true): [number, number] {
  return [(sel << 16) | (offset & 0xffff), (offset & 0xffff_0000) | (present ? 1 << 15 : 0) | (dpl << 13) | (type << 8) | params];
}

const CODE_RW = 0xa, CODE_CONF = 0xe, DATA_RW = 0x2, DATA_RO = 0x0;
const FLAT = 0xfffff;

// GDT entries beyond the harness's 0x08-0x20.
const TSS = 0x28;
const CODE0_AT_20000 = 0x30;   // DPL 0, base 0x20000, limit 0xffff, not yet accessed
const CONFORMING0 = 0x38;      // conforming, DPL 0, flat
const CODE0_ABSENT = 0x40;
const GATE32_R3 = 0x48;        // DPL 3 -> 0x08:RING0_ENTRY, 2 dword parameters
const GATE16_R3 = 0x50;        // DPL 3 -> 0x08:RING0_ENTRY16, 1 word parameter
const GATE32_R0 = 0x58;        // DPL 0 -> 0x08:RING0_ENTRY
const GATE_ABSENT = 0x60;
const TASK_GATE = 0x70;
const GATE_TO_CONFORMING = 0x78;
const GATE_TO_RING3 = 0x80;    // DPL 0 -> 0x18, a DPL-3 segment
const CODE1 = 0x88, DATA1 = 0x90;
const GATE_TO_RING1 = 0x98;
const DATA1_TINY = 0xa0;       // DPL 1, limit 0xfff
const DATA3_ABSENT = 0xa8, DATA3_RO = 0xb0;
const CONFORMING3 = 0xb8;
const GATE_NULL_CODE = 0xc0;
const DATA3_TINY = 0xc8;       // DPL 3, limit 0xfff

const TSS_BASE = 0x3000;
const RING0_ENTRY = 0x12000, RING0_ENTRY16 = 0x4000, CONFORMING_ENTRY = 0x12100;
const KERNEL_STACK = 0x8800, RING1_STACK = 0x7800, USER_STACK = 0x6ff8;

function setTss(cpu: Cpu, stacks: [number, number][], limit = 0x67): void {
  stacks.forEach(([ss, esp], ring) => {
    cpu.writePhys32(TSS_BASE + 4 + ring * 8, esp);
    cpu.writePhys32(TSS_BASE + 8 + ring * 8, ss);
  });
  setDescriptor(cpu, TSS, [(TSS_BASE << 16) | limit, 0x8b00]);
  cpu.trSel = TSS; cpu.trBase = TSS_BASE; cpu.trLimit = limit; cpu.trAR = 0x8b;
}

function setup(): Cpu {
  const cpu = makeCpu();
  setDescriptor(cpu, CODE0_AT_20000, segment(0x20000, 0xffff, CODE_RW, 0));
  setDescriptor(cpu, CONFORMING0, segment(0, FLAT, CODE_CONF, 0, { gran: true }));
  setDescriptor(cpu, CODE0_ABSENT, segment(0, FLAT, CODE_RW, 0, { gran: true, present: false }));
  setDescriptor(cpu, GATE32_R3, callGate(0x08, RING0_ENTRY, 0xc, 3, 2));
  setDescriptor(cpu, GATE16_R3, callGate(0x08, RING0_ENTRY16, 0x4, 3, 1));
  setDescriptor(cpu, GATE32_R0, callGate(0x08, RING0_ENTRY, 0xc, 0));
  setDescriptor(cpu, GATE_ABSENT, callGate(0x08, RING0_ENTRY, 0xc, 3, 0, false));
  setDescriptor(cpu, TASK_GATE, [TSS << 16, 0xe500]);
  setDescriptor(cpu, GATE_TO_CONFORMING, callGate(CONFORMING0, CONFORMING_ENTRY, 0xc, 3));
  setDescriptor(cpu, GATE_TO_RING3, callGate(0x18, RING0_ENTRY, 0xc, 0));
  setDescriptor(cpu, CODE1, segment(0, FLAT, CODE_RW, 1, { gran: true }));
  setDescriptor(cpu, DATA1, segment(0, FLAT, DATA_RW, 1, { gran: true }));
  setDescriptor(cpu, GATE_TO_RING1, callGate(CODE1, RING0_ENTRY, 0xc, 3));
  setDescriptor(cpu, DATA1_TINY, segment(0, 0xfff, DATA_RW, 1));
  setDescriptor(cpu, DATA3_ABSENT, segment(0, FLAT, DATA_RW, 3, { gran: true, present: false }));
  setDescriptor(cpu, DATA3_RO, segment(0, FLAT, DATA_RO, 3, { gran: true }));
  setDescriptor(cpu, CONFORMING3, segment(0, FLAT, CODE_CONF, 3, { gran: true }));
  setDescriptor(cpu, GATE_NULL_CODE, callGate(0, RING0_ENTRY, 0xc, 3));
  setDescriptor(cpu, DATA3_TINY, segment(0, 0xfff, DATA_RW, 3));
  setTss(cpu, [[0x10, KERNEL_STACK], [DATA1 | 1, RING1_STACK]]);
  return cpu;
}

/** Assembles `source` at `at` and points CS:EIP at it (CS base 0). */
function load(cpu: Cpu, source: string, at = CODE_BASE, bits = 32, org = at): number {
  const code = nasm(`bits ${bits}\norg ${org}\n${source}`);
  cpu.bus.ram.set(code, at);
  cpu.code.invalidateAll();
  cpu.eip = at;
  return code.length;
}

function enterRing3(cpu: Cpu, esp = USER_STACK): void {
  cpu.setSegmentCache(CS, 0x1b, 0, 0xffff_ffff, 0xfb | AR_DB | AR_G);
  for (const s of [SS, DS, ES, FS, GS]) cpu.setSegmentCache(s, 0x23, 0, 0xffff_ffff, 0xf3 | AR_DB | AR_G);
  cpu.setCpl(3);
  cpu.regs[ESP] = esp;
}

const dword = (cpu: Cpu, a: number): number => cpu.readPhys32(a) >>> 0;
const word = (cpu: Cpu, a: number): number => cpu.readPhys(a, 2);
/** The vector the CPU stopped in and the error code on top of its (flat) stack. */
function fault(cpu: Cpu): { vector: number | undefined; code: number } {
  return { vector: faultVector(cpu), code: dword(cpu, cpu.regs[ESP]) };
}
const GP = 13, NP = 11, SS_FAULT = 12, TS = 10;

// ---- JMP far ---------------------------------------------------------------------------

describe('JMP far, protected mode', () => {
  it('loads CS from the descriptor with RPL = CPL and sets its accessed bit (SDM JMP: NONCONFORMING-CODE-SEGMENT)', () => {
    const cpu = setup();
    load(cpu, 'jmp 0x30:0x100');
    run(cpu, 1);
    expect(cpu.segSel[CS]).toBe(CODE0_AT_20000);
    expect(cpu.segBase[CS]).toBe(0x20000);
    expect(cpu.segLimit[CS]).toBe(0xffff);
    expect(cpu.eip).toBe(0x100);
    expect(dword(cpu, GDT_BASE + CODE0_AT_20000 + 4) & 0x100).toBe(0x100);
  });

  it('rejects RPL > CPL for a non-conforming target with #GP(selector) (SDM JMP: RPL > CPL)', () => {
    const cpu = setup();
    load(cpu, 'jmp 0x33:0x100');
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector: GP, code: CODE0_AT_20000 });
    // Same-privilege delivery: error code, EIP of the JMP, CS, EFLAGS on the old stack.
    expect(cpu.regs[ESP]).toBe(STACK_TOP - 16);
    expect(dword(cpu, STACK_TOP - 12)).toBe(CODE_BASE);
  });

  it('rejects a non-conforming target with DPL != CPL with #GP(selector), delivered on the ring-0 stack', () => {
    const cpu = setup();
    load(cpu, 'jmp 0x08:0x100');
    enterRing3(cpu);
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector: GP, code: 0x08 });
    expect(cpu.cpl).toBe(0);
  });

  it('keeps CPL 3 when jumping to a DPL-0 conforming segment; CS.RPL = CPL (SDM Vol. 3A 5.8.1.2)', () => {
    const cpu = setup();
    load(cpu, 'jmp 0x38:0x10100');
    enterRing3(cpu);
    run(cpu, 1);
    expect(cpu.segSel[CS]).toBe(CONFORMING0 | 3);
    expect(cpu.cpl).toBe(3);
    expect(cpu.eip).toBe(0x10100);
  });

  it('rejects a conforming target with DPL > CPL with #GP(selector) (SDM JMP: CONFORMING-CODE-SEGMENT)', () => {
    const cpu = setup();
    load(cpu, 'jmp 0xb8:0x100');
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector: GP, code: CONFORMING3 });
  });

  it.each([0, 3])('raises #GP(0) for the null selector %i (SDM JMP: selector NULL)', (sel) => {
    const cpu = setup();
    load(cpu, `jmp ${sel}:0x100`);
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector: GP, code: 0 });
  });

  it('raises #GP(selector) for a selector beyond the GDT limit', () => {
    const cpu = setup();
    load(cpu, 'jmp 0x1000:0x100');
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector: GP, code: 0x1000 });
  });

  it('raises #GP(selector) for a data segment target', () => {
    const cpu = setup();
    load(cpu, 'jmp 0x10:0x100');
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector: GP, code: 0x10 });
  });

  it('raises #NP(selector) for a segment that is not present', () => {
    const cpu = setup();
    load(cpu, 'jmp 0x40:0x100');
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector: NP, code: CODE0_ABSENT });
  });

  it('raises #GP(0) for an offset beyond the target segment limit (SDM JMP: tempEIP not in limit)', () => {
    const cpu = setup();
    load(cpu, 'jmp 0x30:0x10000');
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector: GP, code: 0 });
    expect(cpu.segSel[CS]).toBe(0x08);
  });

  // Hardware task switches are out of scope: task gates and TSS targets raise #GP(selector).
  it.each([TASK_GATE, TSS])('rejects the task-switch target %#x with #GP(selector)', (sel) => {
    const cpu = setup();
    load(cpu, `jmp ${sel}:0`);
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector: GP, code: sel });
  });

  it('jumps through a call gate to the gate offset, ignoring the instruction offset (SDM JMP: CALL-GATE)', () => {
    const cpu = setup();
    load(cpu, 'jmp 0x58:0x9999');
    run(cpu, 1);
    expect(cpu.segSel[CS]).toBe(0x08);
    expect(cpu.eip).toBe(RING0_ENTRY);
    expect(cpu.regs[ESP]).toBe(STACK_TOP);
  });

  it('cannot raise privilege through a call gate: #GP(code selector) (SDM JMP: non-conforming DPL != CPL)', () => {
    const cpu = setup();
    load(cpu, 'jmp 0x4b:0');
    enterRing3(cpu);
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector: GP, code: 0x08 });
  });

  it('reads m16:32 and m16:16 far pointers (FF /5)', () => {
    const cpu = setup();
    load(cpu, 'jmp far [farptr]\nfarptr: dd 0x200\ndw 0x30');
    run(cpu, 1);
    expect([cpu.segSel[CS], cpu.eip]).toEqual([CODE0_AT_20000, 0x200]);
    const cpu16 = setup();
    load(cpu16, 'o16 jmp far [farptr]\nfarptr: dw 0x300, 0x30');
    run(cpu16, 1);
    expect([cpu16.segSel[CS], cpu16.eip]).toEqual([CODE0_AT_20000, 0x300]);
  });
});

// ---- CALL far and RETF at the same privilege -------------------------------------------

describe('CALL far and RETF, same privilege', () => {
  it('pushes CS (zero-extended) and EIP with a 32-bit operand, and RETF returns (SDM CALL, RET)', () => {
    const cpu = setup();
    const len = load(cpu, 'call 0x30:0x100');
    load(cpu, 'retf', 0x20100);
    cpu.eip = CODE_BASE;
    run(cpu, 1);
    expect([cpu.segSel[CS], cpu.eip, cpu.regs[ESP]]).toEqual([CODE0_AT_20000, 0x100, STACK_TOP - 8]);
    expect(dword(cpu, STACK_TOP - 8)).toBe(CODE_BASE + len);
    expect(dword(cpu, STACK_TOP - 4)).toBe(0x08);
    run(cpu, 1);
    expect([cpu.segSel[CS], cpu.segBase[CS], cpu.eip, cpu.regs[ESP]]).toEqual([0x08, 0, CODE_BASE + len, STACK_TOP]);
  });

  it('pushes CS and IP as words with a 16-bit operand; o16 RETF imm16 releases the parameters', () => {
    const cpu = setup();
    const len = load(cpu, 'call word 0x30:0x100');
    load(cpu, 'o16 retf 6', 0x20100);
    cpu.eip = CODE_BASE;
    run(cpu, 1);
    expect(cpu.regs[ESP]).toBe(STACK_TOP - 4);
    expect(word(cpu, STACK_TOP - 4)).toBe((CODE_BASE + len) & 0xffff);
    expect(word(cpu, STACK_TOP - 2)).toBe(0x08);
    // The popped IP is 16 bits: return to 0x08:0x0006, six parameter bytes released.
    run(cpu, 1);
    expect([cpu.segSel[CS], cpu.eip, cpu.regs[ESP]]).toEqual([0x08, (CODE_BASE + len) & 0xffff, STACK_TOP + 6]);
  });

  it('calls through an m16:32 pointer (FF /3)', () => {
    const cpu = setup();
    load(cpu, 'call far [farptr]\nfarptr: dd 0x100\ndw 0x30');
    run(cpu, 1);
    expect([cpu.segSel[CS], cpu.eip]).toEqual([CODE0_AT_20000, 0x100]);
    expect(dword(cpu, STACK_TOP - 8)).toBe(CODE_BASE + 6);
  });

  it('calls a conforming segment from ring 3 without changing CPL (SDM CALL: CONFORMING-CODE-SEGMENT)', () => {
    const cpu = setup();
    load(cpu, 'call 0x38:0x10100');
    enterRing3(cpu);
    run(cpu, 1);
    expect([cpu.segSel[CS], cpu.cpl, cpu.regs[ESP]]).toEqual([CONFORMING0 | 3, 3, USER_STACK - 8]);
    expect(dword(cpu, USER_STACK - 4)).toBe(0x1b);
  });

  it('raises #SS(0) when the stack has no room for the return address (SDM CALL: stack not large enough)', () => {
    const cpu = setup();
    load(cpu, 'call 0x1b:0x10100');
    enterRing3(cpu, 4);
    cpu.setSegmentCache(SS, DATA3_TINY | 3, 0, 0xfff, 0xf3 | AR_DB);
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector: SS_FAULT, code: 0 });
    // Nothing changed before the fault: the frame holds the ring-3 SS:ESP of the CALL.
    expect(dword(cpu, KERNEL_STACK - 4)).toBe(DATA3_TINY | 3);
    expect(dword(cpu, KERNEL_STACK - 8)).toBe(4);
  });

  it('raises #GP(selector) for RETF to a selector with RPL < CPL (SDM RET: RPL < CPL)', () => {
    const cpu = setup();
    load(cpu, 'retf');
    enterRing3(cpu);
    cpu.writePhys32(USER_STACK, 0x10100);
    cpu.writePhys32(USER_STACK + 4, 0x08);
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector: GP, code: 0x08 });
  });

  it.each([
    ['a non-conforming segment with DPL != RPL', 0x18, 0x100, GP, 0x18],
    ['a segment that is not present', CODE0_ABSENT, 0x100, NP, CODE0_ABSENT],
    ['an offset beyond the limit', CODE0_AT_20000, 0x10000, GP, 0],
    ['a data segment', 0x10, 0x100, GP, 0x10],
  ])('RETF to %s faults (SDM RET: PROTECTED-MODE checks)', (_what, sel, eip, vector, code) => {
    const cpu = setup();
    load(cpu, 'retf');
    cpu.regs[ESP] = STACK_TOP - 16;
    cpu.writePhys32(STACK_TOP - 16, eip);
    cpu.writePhys32(STACK_TOP - 12, sel);
    cpu.writePhys32(STACK_TOP - 8, USER_STACK);
    cpu.writePhys32(STACK_TOP - 4, 0x23);
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector, code });
  });
});

// ---- call gates to an inner ring and RETF to an outer ring ------------------------------

describe('call gates and returns between rings', () => {
  it('switches to the TSS stack, copies the parameters, and RETF imm16 returns to ring 3 (SDM CALL: MORE-PRIVILEGE)', () => {
    const cpu = setup();
    const len = load(cpu, 'call 0x4b:0');
    load(cpu, 'retf 8', RING0_ENTRY);
    cpu.eip = CODE_BASE;
    enterRing3(cpu);
    cpu.writePhys32(USER_STACK, 0xaaaa_0000);      // parameter 2 (top of the caller's stack)
    cpu.writePhys32(USER_STACK + 4, 0xbbbb_1111);  // parameter 1
    run(cpu, 1);
    expect([cpu.cpl, cpu.segSel[CS], cpu.eip]).toEqual([0, 0x08, RING0_ENTRY]);
    expect([cpu.segSel[SS], cpu.regs[ESP]]).toEqual([0x10, KERNEL_STACK - 24]);
    // Figure 5-13: calling SS, ESP, the parameters in the same order, CS, EIP.
    const frame = [0, 4, 8, 12, 16, 20].map((k) => dword(cpu, KERNEL_STACK - 24 + k));
    expect(frame).toEqual([CODE_BASE + len, 0x1b, 0xaaaa_0000, 0xbbbb_1111, USER_STACK, 0x23]);

    // Ring 0 loads ES with a DPL-0 segment; RETF to ring 3 must make it null (SDM RET:
    // segment registers with DPL < CPL become null), DS (DPL 3) stays.
    cpu.setSegmentCache(ES, 0x10, 0, 0xffff_ffff, 0x93 | AR_DB | AR_G);
    run(cpu, 1);
    expect([cpu.cpl, cpu.segSel[CS], cpu.eip]).toEqual([3, 0x1b, CODE_BASE + len]);
    expect([cpu.segSel[SS], cpu.regs[ESP]]).toEqual([0x23, USER_STACK + 8]);
    expect(cpu.segSel[ES]).toBe(0);
    expect(cpu.segSel[DS]).toBe(0x23);
  });

  it('a 16-bit gate pushes words and truncates the return EIP to IP (SDM CALL: CallGateSize = 16)', () => {
    const cpu = setup();
    const len = load(cpu, 'call 0x53:0');
    load(cpu, 'o16 retf 2', RING0_ENTRY16);
    cpu.eip = CODE_BASE;
    enterRing3(cpu);
    cpu.writePhys32(USER_STACK, 0xaaaa_1234);
    run(cpu, 1);
    expect([cpu.cpl, cpu.eip, cpu.regs[ESP]]).toEqual([0, RING0_ENTRY16, KERNEL_STACK - 10]);
    const frame = [0, 2, 4, 6, 8].map((k) => word(cpu, KERNEL_STACK - 10 + k));
    expect(frame).toEqual([(CODE_BASE + len) & 0xffff, 0x1b, 0x1234, USER_STACK, 0x23]);
    run(cpu, 1);
    expect([cpu.cpl, cpu.segSel[CS], cpu.eip, cpu.regs[ESP]]).toEqual([3, 0x1b, (CODE_BASE + len) & 0xffff, USER_STACK + 2]);
  });

  it('enters ring 1 with SS1:ESP1 from the TSS', () => {
    const cpu = setup();
    load(cpu, 'call 0x9b:0');
    enterRing3(cpu);
    run(cpu, 1);
    expect([cpu.cpl, cpu.segSel[CS], cpu.segSel[SS], cpu.regs[ESP]]).toEqual([1, CODE1 | 1, DATA1 | 1, RING1_STACK - 16]);
  });

  it('calls a conforming segment through a gate without a stack switch', () => {
    const cpu = setup();
    load(cpu, 'call 0x7b:0');
    enterRing3(cpu);
    run(cpu, 1);
    expect([cpu.cpl, cpu.segSel[CS], cpu.eip, cpu.regs[ESP]]).toEqual([3, CONFORMING0 | 3, CONFORMING_ENTRY, USER_STACK - 8]);
  });

  it.each([
    ['gate DPL < CPL', 3, 'call 0x5b:0', GP, GATE32_R0],
    ['gate RPL > gate DPL', 0, 'call 0x5b:0', GP, GATE32_R0],
    ['gate not present', 0, 'call 0x63:0', NP, GATE_ABSENT],
    ['gate code segment DPL > CPL', 0, 'call 0x80:0', GP, 0x18],
    ['null code selector in the gate', 3, 'call 0xc3:0', GP, 0],
  ])('%s faults (SDM CALL: CALL-GATE)', (_rule, ring, source, vector, code) => {
    const cpu = setup();
    load(cpu, source);
    if (ring === 3) enterRing3(cpu);
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector, code });
  });

  // The #TS handler runs in ring 0 on SS0:ESP0, which stays valid; only the ring-1 entry is bad.
  it.each([
    ['a null SS1', [[0x10, KERNEL_STACK], [0, RING1_STACK]], 0x67, TS, 0],
    ['SS1 with RPL != DPL of the code segment', [[0x10, KERNEL_STACK], [0x10, RING1_STACK]], 0x67, TS, 0x10],
    ['SS1 naming a code segment', [[0x10, KERNEL_STACK], [CODE1 | 1, RING1_STACK]], 0x67, TS, CODE1],
    ['a TSS too short for the ring-1 stack', [[0x10, KERNEL_STACK], [DATA1 | 1, RING1_STACK]], 0x0b, TS, TSS],
    ['no room on the new stack', [[0x10, KERNEL_STACK], [DATA1_TINY | 1, 8]], 0x67, SS_FAULT, DATA1_TINY],
  ] as [string, [number, number][], number, number, number][])('%s faults (SDM CALL: MORE-PRIVILEGE)', (_rule, stacks, limit, vector, code) => {
    const cpu = setup();
    setTss(cpu, stacks, limit);
    load(cpu, 'call 0x9b:0');
    enterRing3(cpu);
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector, code });
    // The fault left ring 3's state intact: the ring-0 frame holds its SS:ESP and EIP.
    expect(dword(cpu, KERNEL_STACK - 4)).toBe(0x23);
    expect(dword(cpu, KERNEL_STACK - 8)).toBe(USER_STACK);
    expect(dword(cpu, KERNEL_STACK - 20)).toBe(CODE_BASE);
  });

  it.each([
    ['a null SS', 0, GP, 0],
    ['SS with RPL != return CS RPL', 0x20, GP, 0x20],
    ['a read-only SS', DATA3_RO | 3, GP, DATA3_RO],
    ['SS DPL != return CS RPL', 0x13, GP, 0x10],
    ['an SS that is not present', DATA3_ABSENT | 3, SS_FAULT, DATA3_ABSENT],
  ])('RETF to ring 3 with %s faults (SDM RET: RETURN-TO-OUTER-PRIVILEGE-LEVEL)', (_rule, ss, vector, code) => {
    const cpu = setup();
    load(cpu, 'retf');
    cpu.regs[ESP] = STACK_TOP - 16;
    cpu.writePhys32(STACK_TOP - 16, CODE_BASE);
    cpu.writePhys32(STACK_TOP - 12, 0x1b);
    cpu.writePhys32(STACK_TOP - 8, USER_STACK);
    cpu.writePhys32(STACK_TOP - 4, ss);
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector, code });
    expect(cpu.cpl).toBe(0);
  });
});

// ---- real-address mode -----------------------------------------------------------------

describe('far transfers in real-address mode', () => {
  function realMode(): Cpu {
    const cpu = makeCpu();
    cpu.cr0 &= ~CR0_PE;
    cpu.setSegmentCache(CS, 0x1000, 0x10000, 0xffff, 0x9b);
    cpu.setSegmentCache(SS, 0, 0, 0xffff, 0x93);
    cpu.regs[ESP] = 0x9000;
    return cpu;
  }

  it('CALL ptr16:16 pushes CS:IP and loads CS base = selector * 16; RETF imm16 returns (SDM CALL/RET real mode)', () => {
    const cpu = realMode();
    load(cpu, 'call 0x2000:0x0010', 0x10000, 16, 0);
    load(cpu, 'retf 4', 0x20010, 16, 0x10);
    cpu.eip = 0;
    run(cpu, 1);
    expect([cpu.segSel[CS], cpu.segBase[CS], cpu.eip, cpu.regs[ESP]]).toEqual([0x2000, 0x20000, 0x10, 0x8ffc]);
    expect([word(cpu, 0x8ffc), word(cpu, 0x8ffe)]).toEqual([5, 0x1000]);
    run(cpu, 1);
    expect([cpu.segSel[CS], cpu.segBase[CS], cpu.eip, cpu.regs[ESP]]).toEqual([0x1000, 0x10000, 5, 0x9004]);
  });

  it('a 32-bit CALL pushes CS and EIP as dwords; JMP m16:16 loads CS:IP', () => {
    const cpu = realMode();
    load(cpu, 'call dword 0x2000:0x0010', 0x10000, 16, 0);
    load(cpu, 'jmp far [cs:farptr]\nfarptr: dw 0x0030, 0x3000', 0x20010, 16, 0x10);
    cpu.eip = 0;
    run(cpu, 1);
    expect([dword(cpu, 0x8ff8), dword(cpu, 0x8ffc), cpu.regs[ESP]]).toEqual([8, 0x1000, 0x8ff8]);
    run(cpu, 1);
    expect([cpu.segSel[CS], cpu.segBase[CS], cpu.eip]).toEqual([0x3000, 0x30000, 0x30]);
  });
});

// ---- the same ring transitions on QEMU -------------------------------------------------

/**
 * A Multiboot kernel that goes to ring 3 with IRETD, does a same-privilege IRETD there, calls
 * ring 0 through a call gate with two parameters (RETF 8 back), takes a #GP from ring 3 and
 * ends with INT 0x80 through a trap gate. It records the ring-0 frames, the flags and segment
 * registers it sees, and prints them in hex on COM1.
 */
const RINGS_KERNEL = `bits 32
BASE equ 0x100000
org BASE
header:
  dd 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000)
  dd header, header, end_of_image, end_of_image, start

KSTACK equ 0x90000
USTACK equ 0x80000
OUTBUF equ 0x200000
%define abs(l) (l - $$ + BASE)

start:
  cli
  mov al, 0xff                  ; mask both PICs: ring 3 runs with IF = 1
  out 0x21, al
  out 0xa1, al
  lgdt [gdtr]
  lidt [idtr]
  jmp 0x08:.flat
.flat:
  mov ax, 0x10
  mov ds, ax
  mov ss, ax
  mov esp, KSTACK
  mov fs, ax                    ; DPL 0: null after the return to ring 3
  mov ax, 0x23
  mov es, ax                    ; DPL 3: kept
  mov gs, ax
  mov ax, 0x28
  ltr ax
  mov dword [outptr], OUTBUF
  ; IRETD to ring 3 at CPL 0: every flag of the image (IOPL 1, IF, CF) is loaded
  push 0x23
  push USTACK
  push 0x1203
  push 0x1b
  push user
  iretd

user:
  pushfd
  mov eax, ds
  push eax
  mov eax, es
  push eax
  mov eax, fs
  push eax
  ; IRETD at CPL 3 > IOPL 1: IF and IOPL keep their values, CF is loaded
  pushfd
  xor dword [esp], 0x3201
  push cs
  push .same
  iretd
.same:
  pushfd
  ; a call gate into ring 0 with two dword parameters; RETF 8 comes back
  push 0x11111111
  push 0x22222222
  call 0x33:0
  mov eax, es
  push eax
  push esp
  ; #GP(0x08) from ring 3; the handler resumes at .resume
  jmp 0x08:0
.resume:
  int 0x80

record:                         ; stores EAX at the next output slot (through SS: always flat here)
  push ebx
  mov ebx, [ss:outptr]
  mov [ss:ebx], eax
  add dword [ss:outptr], 4
  pop ebx
  ret

record_stack:                   ; records ECX dwords from SS:ESI
  mov eax, [ss:esi]
  call record
  add esi, 4
  loop record_stack
  ret

gate_entry:
  lea esi, [esp]
  mov ecx, 6                    ; EIP, CS, 2 parameters, ESP, SS
  call record_stack
  mov eax, esp
  call record
  mov eax, ss
  call record
  mov ax, 0x10
  mov es, ax                    ; null again after RETF to ring 3
  retf 8

gp_handler:
  lea esi, [esp]
  mov ecx, 6                    ; error code, EIP, CS, EFLAGS, ESP, SS
  call record_stack
  add esp, 4
  mov dword [ss:esp], abs(user.resume)
  iretd

int80_handler:
  pushfd
  pop eax
  call record                   ; a trap gate leaves IF as it was
  lea esi, [esp]
  mov ecx, 5                    ; EIP, CS, EFLAGS, ESP, SS
  call record_stack
  mov esi, [ss:esp + 12]        ; ring 3's stack: everything it pushed
  mov ecx, USTACK
  sub ecx, esi
  shr ecx, 2
  call record_stack
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  mov dx, 0x3fb
  mov al, 0x03
  out dx, al
  mov esi, OUTBUF
.next:
  cmp esi, [outptr]
  je .done
  lodsd
  mov ecx, 8
.digit:
  rol eax, 4
  push eax
  and al, 15
  add al, '0'
  cmp al, '9'
  jbe .put
  add al, 'a' - '9' - 1
.put:
  call putc
  pop eax
  loop .digit
  mov al, 10
  call putc
  jmp .next
.done:
  mov dx, 0xf4
  xor eax, eax
  out dx, al
.hang:
  hlt
  jmp .hang
${PUTC}
align 8
gdt:
  dq 0
  dq 0x00cf9a000000ffff         ; 0x08 ring-0 code
  dq 0x00cf92000000ffff         ; 0x10 ring-0 data
  dq 0x00cffa000000ffff         ; 0x18 ring-3 code
  dq 0x00cff2000000ffff         ; 0x20 ring-3 data
  dw 0x67, abs(tss) & 0xffff    ; 0x28 32-bit TSS
  db (abs(tss) >> 16) & 0xff, 0x89, 0, abs(tss) >> 24
  dw abs(gate_entry) & 0xffff, 0x08   ; 0x30 32-bit call gate, DPL 3, 2 parameters
  db 2, 0xec
  dw abs(gate_entry) >> 16
gdt_end:
gdtr:
  dw gdt_end - gdt - 1
  dd abs(gdt)

%macro idt_gate 2
  dw abs(%1) & 0xffff, 0x08
  db 0, %2
  dw abs(%1) >> 16
%endmacro
align 8
idt:
  times 13 dq 0
  idt_gate gp_handler, 0x8e
  times 0x80 - 14 dq 0
  idt_gate int80_handler, 0xef  ; trap gate, DPL 3
idt_end:
idtr:
  dw idt_end - idt - 1
  dd abs(idt)

tss:
  dd 0, KSTACK, 0x10
  times 104 - 12 db 0
outptr: dd 0
end_of_image:
`;

describe.skipIf(!qemuAvailable())('ring transitions against qemu-system-i386 7.2', () => {
  it('records the same frames, flags and selectors as QEMU', async () => {
    const image = nasm(RINGS_KERNEL);
    const dir = mkdtempSync(join(tmpdir(), 'vtscope-rings-'));
    try {
      const path = join(dir, 'rings.bin');
      writeFileSync(path, image);
      const qemu = await runQemu(path, { memoryMiB: 64 });
      expect(qemu.status, qemu.stderr).toBe(1);
      const machine = new Machine({ memoryMiB: 64 });
      let ours = '';
      machine.onSerialOutput = (byte) => { ours += String.fromCharCode(byte); };
      machine.load(image);
      const result = machine.run({ maxInstructions: 1_000_000 });
      expect(result.haltReason, result.message).toBe('exit');
      expect(ours.split('\n')).toEqual(qemu.stdout.toString('latin1').split('\n'));
      // A few of the values, by hand: the gate copied the parameters in order above the return
      // address, and the first IRETD (at CPL 0) loaded IOPL 1, IF and CF from its image.
      const lines = ours.trim().split('\n');
      expect(lines.slice(1, 4)).toEqual(['0000001b', '22222222', '11111111']);
      expect(lines[lines.length - 1]).toBe('00001203');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
