// Interrupt and exception delivery in protected mode (SDM Vol. 3A, 6.10-6.15 and the INT n
// pseudocode in Vol. 2): interrupt and trap gates, the stack switch from ring 3, the gate and
// IDT checks with their error codes, and the double- and triple-fault rules of table 6-5.
// Frames and error codes are worked out by hand from the rule each test names.

import { describe, expect, it } from 'vitest';
import { AR_DB, AR_G } from '../../src/cpu/cpu';
import { getEflags, run, StopReason, type Cpu } from '../../src/cpu/index';
import { CS, DS, ES, ESP, FLAG_IF, FLAG_NT, FLAG_RF, FLAG_TF, FS, GS, SS } from '../../src/cpu/registers';
import { nasm } from '../support/nasm';
import { CODE_BASE, faultVector, GDT_BASE, IDT_BASE, makeCpu, STACK_TOP } from './harness';

function setDescriptor(cpu: Cpu, sel: number, [lo, hi]: [number, number]): void {
  const at = GDT_BASE + (sel & ~7);
  cpu.writePhys32(at, lo);
  cpu.writePhys32(at + 4, hi);
  cpu.gdtrLimit = Math.max(cpu.gdtrLimit, (sel & ~7) + 7);
}

/** Flat 32-bit code/data descriptor (SDM Vol. 3A, figure 3-8); `type` is the 4-bit type field. */
function flatSegment(type: number, dpl: number, present = true): [number, number] {
  return [0x0000_ffff, 0x00cf_1000 | (type << 8) | (dpl << 13) | (present ? 1 << 15 : 0)];
}

/** IDT gate (SDM Vol. 3A, figure 6-2): type 0xE/0x6 interrupt gate, 0xF/0x7 trap gate. */
function setGate(cpu: Cpu, vector: number, sel: number, offset: number, type: number, dpl: number, present = true): void {
  cpu.writePhys32(IDT_BASE + vector * 8, (sel << 16) | (offset & 0xffff));
  cpu.writePhys32(IDT_BASE + vector * 8 + 4, (offset & 0xffff_0000) | (present ? 1 << 15 : 0) | (dpl << 13) | (type << 8));
}

const TSS = 0x28, CONFORMING0 = 0x30, CODE0_ABSENT = 0x38;
const DATA0_4K = 0x40;     // DPL 0, limit 0xfff
const CODE0_64K = 0x48;    // DPL 0, limit 0xffff
const TSS_BASE = 0x3000, KERNEL_STACK = 0x8800, USER_STACK = 0x6000;
/** A HLT for the test's own vectors (the harness's handlers are at FAULT_BASE + 16 v). */
const HANDLER = 0x2800;
/** A `jmp $` reached through a conforming segment: a handler that can run at CPL 3. */
const SPIN = 0x2900;
const UD = 6, DF = 8, TS = 10, NP = 11, SS_FAULT = 12, GP = 13;
const INT_GATE = 0xe, TRAP_GATE = 0xf, INT_GATE16 = 0x6;

function setTss(cpu: Cpu, ss0: number, esp0: number): void {
  cpu.writePhys32(TSS_BASE + 4, esp0);
  cpu.writePhys32(TSS_BASE + 8, ss0);
  setDescriptor(cpu, TSS, [(TSS_BASE << 16) | 0x67, 0x8b00]);
  cpu.trSel = TSS; cpu.trBase = TSS_BASE; cpu.trLimit = 0x67; cpu.trAR = 0x8b;
}

function setup(): Cpu {
  const cpu = makeCpu();
  setDescriptor(cpu, CONFORMING0, flatSegment(0xe, 0));
  setDescriptor(cpu, CODE0_ABSENT, flatSegment(0xa, 0, false));
  setDescriptor(cpu, DATA0_4K, [0x0000_0fff, 0x0040_9200]);
  setDescriptor(cpu, CODE0_64K, [0x0000_ffff, 0x0040_9a00]);
  setTss(cpu, 0x10, KERNEL_STACK);
  cpu.idtrLimit = 0x50 * 8 - 1;
  cpu.bus.ram[HANDLER] = 0xf4;
  cpu.bus.ram.set(nasm('bits 32\njmp $'), SPIN);
  return cpu;
}

function load(cpu: Cpu, source: string): number {
  const code = nasm(`bits 32\norg ${CODE_BASE}\n${source}`);
  cpu.bus.ram.set(code, CODE_BASE);
  cpu.code.invalidateAll();
  cpu.eip = CODE_BASE;
  return code.length;
}

function enterRing3(cpu: Cpu): void {
  cpu.setSegmentCache(CS, 0x1b, 0, 0xffff_ffff, 0xfb | AR_DB | AR_G);
  for (const s of [SS, DS, ES, FS, GS]) cpu.setSegmentCache(s, 0x23, 0, 0xffff_ffff, 0xf3 | AR_DB | AR_G);
  cpu.setCpl(3);
  cpu.regs[ESP] = USER_STACK;
}

const dword = (cpu: Cpu, a: number): number => cpu.readPhys32(a) >>> 0;
const stack = (cpu: Cpu, n: number): number[] => Array.from({ length: n }, (_, k) => dword(cpu, cpu.regs[ESP] + 4 * k));
function fault(cpu: Cpu): { vector: number | undefined; code: number } {
  return { vector: faultVector(cpu), code: dword(cpu, cpu.regs[ESP]) };
}
const haltedIn = (cpu: Cpu): number => cpu.halted ? cpu.eip - 1 : -1;

describe('interrupt and trap gates (SDM Vol. 3A 6.12.1)', () => {
  it('an interrupt gate clears IF; the pushed EFLAGS still has it; TF, NT and RF are cleared', () => {
    const cpu = setup();
    setGate(cpu, 0x40, 0x08, HANDLER, INT_GATE, 3);
    const len = load(cpu, 'int 0x40');
    cpu.flags |= FLAG_IF | FLAG_NT | FLAG_RF;
    run(cpu, 10);
    expect(haltedIn(cpu)).toBe(HANDLER);
    expect(stack(cpu, 3)).toEqual([CODE_BASE + len, 0x08, FLAG_IF | FLAG_NT | FLAG_RF | 2]);
    expect(cpu.regs[ESP]).toBe(STACK_TOP - 12);
    expect(getEflags(cpu) & (FLAG_IF | FLAG_NT | FLAG_RF | FLAG_TF)).toBe(0);
  });

  it('a trap gate leaves IF set', () => {
    const cpu = setup();
    setGate(cpu, 0x41, 0x08, HANDLER, TRAP_GATE, 3);
    load(cpu, 'int 0x41');
    cpu.flags |= FLAG_IF;
    run(cpu, 10);
    expect(haltedIn(cpu)).toBe(HANDLER);
    expect(getEflags(cpu) & FLAG_IF).toBe(FLAG_IF);
  });

  it('a 16-bit interrupt gate pushes FLAGS, CS and IP as words', () => {
    const cpu = setup();
    setGate(cpu, 0x44, 0x08, HANDLER, INT_GATE16, 3);
    const len = load(cpu, 'int 0x44');
    run(cpu, 10);
    expect(haltedIn(cpu)).toBe(HANDLER);
    expect(cpu.regs[ESP]).toBe(STACK_TOP - 6);
    const words = [0, 2, 4].map((k) => cpu.readPhys(STACK_TOP - 6 + k, 2));
    expect(words).toEqual([(CODE_BASE + len) & 0xffff, 0x08, 2]);
  });
});

describe('interrupts from ring 3 (SDM Vol. 3A 6.12.1, figure 6-4)', () => {
  it('INT n switches to SS0:ESP0 from the TSS and pushes SS, ESP, EFLAGS, CS, EIP', () => {
    const cpu = setup();
    setGate(cpu, 0x40, 0x08, HANDLER, INT_GATE, 3);
    const len = load(cpu, 'int 0x40');
    enterRing3(cpu);
    cpu.flags |= FLAG_IF;
    run(cpu, 10);
    expect(haltedIn(cpu)).toBe(HANDLER);
    expect([cpu.cpl, cpu.segSel[CS], cpu.segSel[SS], cpu.regs[ESP]]).toEqual([0, 0x08, 0x10, KERNEL_STACK - 20]);
    expect(stack(cpu, 5)).toEqual([CODE_BASE + len, 0x1b, FLAG_IF | 2, USER_STACK, 0x23]);
  });

  it('a fault pushes its error code below the frame, with the faulting EIP', () => {
    const cpu = setup();
    load(cpu, 'jmp 0x08:0x100');
    enterRing3(cpu);
    cpu.flags |= FLAG_IF;
    run(cpu, 10);
    expect(faultVector(cpu)).toBe(GP);
    expect(cpu.regs[ESP]).toBe(KERNEL_STACK - 24);
    expect(stack(cpu, 6)).toEqual([0x08, CODE_BASE, 0x1b, FLAG_IF | 2, USER_STACK, 0x23]);
    expect(getEflags(cpu) & FLAG_IF).toBe(0);
  });

  it('the gate DPL is not checked for exceptions, only for INT n (SDM 6.12.1.1)', () => {
    const cpu = setup();
    setGate(cpu, GP, 0x08, HANDLER, INT_GATE, 0);
    load(cpu, 'jmp 0x08:0x100');
    enterRing3(cpu);
    run(cpu, 10);
    expect(haltedIn(cpu)).toBe(HANDLER);
    expect(stack(cpu, 1)).toEqual([0x08]);
  });

  it('INT n through a gate with DPL < CPL raises #GP(n * 8 + 2)', () => {
    const cpu = setup();
    setGate(cpu, 0x42, 0x08, HANDLER, INT_GATE, 0);
    load(cpu, 'int 0x42');
    enterRing3(cpu);
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector: GP, code: 0x42 * 8 + 2 });
    expect(stack(cpu, 2)[1]).toBe(CODE_BASE);
  });

  // #TS through a conforming handler (no stack switch), so the bad SS0 is not needed again.
  it.each([
    ['a null SS0', 0, 0],
    ['SS0 with RPL != 0', 0x23, 0x20],
    ['SS0 naming a code segment', 0x08, 0x08],
  ])('%s raises #TS (SDM INT n: INTER-PRIVILEGE-LEVEL-INTERRUPT)', (_rule, ss0, code) => {
    const cpu = setup();
    setTss(cpu, ss0, KERNEL_STACK);
    setGate(cpu, 0x40, 0x08, HANDLER, INT_GATE, 3);
    setGate(cpu, TS, CONFORMING0, SPIN, INT_GATE, 0);
    load(cpu, 'int 0x40');
    enterRing3(cpu);
    run(cpu, 10);
    expect([cpu.eip, cpu.cpl, cpu.segSel[CS], cpu.segSel[SS]]).toEqual([SPIN, 3, CONFORMING0 | 3, 0x23]);
    expect(cpu.regs[ESP]).toBe(USER_STACK - 16);
    expect(stack(cpu, 3)).toEqual([code, CODE_BASE, 0x1b]);
  });
});

describe('stack room and handler limit (SDM INT n: #SS(NewSS + EXT), #SS(EXT), #GP(EXT))', () => {
  it('no room for the frame on the TSS stack raises #SS(SS0 selector)', () => {
    const cpu = setup();
    setTss(cpu, DATA0_4K, 0x10);   // 16 bytes below ESP0, the frame needs 20
    setGate(cpu, 0x40, 0x08, HANDLER, INT_GATE, 3);
    setGate(cpu, SS_FAULT, CONFORMING0, SPIN, INT_GATE, 0);
    load(cpu, 'int 0x40');
    enterRing3(cpu);
    run(cpu, 10);
    expect([cpu.eip, cpu.cpl]).toEqual([SPIN, 3]);
    expect(stack(cpu, 2)).toEqual([DATA0_4K, CODE_BASE]);
  });

  it('no room on the current stack raises #SS(EXT): 0 for INT n, 1 when delivering the #SS itself', () => {
    const cpu = setup();
    setGate(cpu, 0x40, 0x08, HANDLER, INT_GATE, 3);
    load(cpu, 'int 0x40');
    cpu.setSegmentCache(SS, DATA0_4K, 0, 0xfff, 0x93 | AR_DB);
    cpu.regs[ESP] = 8;
    run(cpu, 10);
    expect(cpu.stopReason).toBe(StopReason.TripleFault);
    expect(cpu.stopMessage).toBe('triple fault at EIP 0x00010000: #SS(0x0) then #SS(0x1) then #DF then #SS(0x1)');
    expect(cpu.regs[ESP]).toBe(8);
  });

  it('a gate offset beyond the handler segment limit raises #GP(0) for INT n', () => {
    const cpu = setup();
    setGate(cpu, 0x40, CODE0_64K, 0x10000, INT_GATE, 3);
    load(cpu, 'int 0x40');
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector: GP, code: 0 });
  });

  it('... and #GP(1) (EXT) for an exception', () => {
    const cpu = setup();
    setGate(cpu, UD, CODE0_64K, 0x10000, INT_GATE, 0);
    load(cpu, 'ud2');
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector: GP, code: 1 });
  });
});

describe('IDT and gate checks (SDM INT n pseudocode, 6.13)', () => {
  it('INT n beyond the IDT limit raises #GP(n * 8 + 2)', () => {
    const cpu = setup();
    setGate(cpu, 0x40, 0x08, HANDLER, INT_GATE, 3);
    cpu.idtrLimit = 0x40 * 8 + 6;
    load(cpu, 'int 0x40');
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector: GP, code: 0x40 * 8 + 2 });
  });

  it('INT n through a gate that is not present raises #NP(n * 8 + 2) with the INT as return address', () => {
    const cpu = setup();
    setGate(cpu, 0x43, 0x08, HANDLER, INT_GATE, 3, false);
    load(cpu, 'int 0x43');
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector: NP, code: 0x43 * 8 + 2 });
    expect(stack(cpu, 2)[1]).toBe(CODE_BASE);
  });

  it('a descriptor that is no interrupt or trap gate raises #GP(n * 8 + 2)', () => {
    const cpu = setup();
    setGate(cpu, 0x40, 0x08, HANDLER, 0xc, 3);   // a call gate
    load(cpu, 'int 0x40');
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector: GP, code: 0x40 * 8 + 2 });
  });

  it.each([
    ['a null code selector', 0, GP, 0],
    ['a data segment', 0x10, GP, 0x10],
    ['a segment that is not present', CODE0_ABSENT, NP, CODE0_ABSENT],
  ])('a gate naming %s faults with its selector (EXT = 0 for INT n)', (_what, sel, vector, code) => {
    const cpu = setup();
    setGate(cpu, 0x40, sel, HANDLER, INT_GATE, 3);
    load(cpu, 'int 0x40');
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector, code });
  });

  it('an exception whose gate is not present raises #NP(v * 8 + 2 + EXT), not #DF: #UD is benign (table 6-5)', () => {
    const cpu = setup();
    setGate(cpu, UD, 0x08, HANDLER, INT_GATE, 0, false);
    load(cpu, 'ud2');
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector: NP, code: UD * 8 + 3 });
  });

  it('an exception whose handler segment is not present raises #NP(selector + EXT)', () => {
    const cpu = setup();
    setGate(cpu, UD, CODE0_ABSENT, HANDLER, INT_GATE, 0);
    load(cpu, 'ud2');
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector: NP, code: CODE0_ABSENT | 1 });
  });
});

describe('double and triple faults (SDM Vol. 3A 6.15, table 6-5)', () => {
  it('#NP while delivering #GP (contributory, contributory) becomes #DF with error code 0', () => {
    const cpu = setup();
    setGate(cpu, GP, 0x08, HANDLER, INT_GATE, 0, false);
    load(cpu, 'jmp 0:0');
    run(cpu, 10);
    expect(fault(cpu)).toEqual({ vector: DF, code: 0 });
  });

  it('a fault while delivering #DF is a triple fault: the run stops and the message names the chain', () => {
    const cpu = setup();
    setGate(cpu, GP, 0x08, HANDLER, INT_GATE, 0, false);
    setGate(cpu, DF, 0x08, HANDLER, INT_GATE, 0, false);
    load(cpu, 'jmp 0:0');
    run(cpu, 10);
    expect(cpu.stopReason).toBe(StopReason.TripleFault);
    expect(cpu.stopMessage).toBe('triple fault at EIP 0x00010000: #GP(0x0) then #NP(0x6b) then #DF then #NP(0x43)');
  });
});
