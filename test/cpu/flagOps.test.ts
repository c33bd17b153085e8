// Flag instructions (flagOps.ts): SDM Vol. 2 CLC/STC/CMC/CLD/STD/CLI/STI. CLI and STI are
// IOPL-sensitive: #GP(0) in protected mode when CPL > IOPL, the trap a ring-1 guest kernel
// relies on in trap-and-emulate virtualization.

import { describe, expect, it } from 'vitest';
import { GP } from '../../src/cpu/exceptions';
import { CODE_BASE, execSnippet, FAULT_BASE, makeCpu } from './harness';
import { asm, enterCpl, errorFrame, PendingAfter } from './opsHarness';

const CF = 1, IF = 0x200, DF = 0x400;

describe('CLC, STC, CMC, CLD, STD', () => {
  it('set, clear and complement CF and DF, leaving the other flags', () => {
    expect(execSnippet(asm('clc'), { eflags: 0x8d5 }).eflags).toBe(0x8d4 | 2);
    expect(execSnippet(asm('stc'), { eflags: 0x8d4 }).eflags).toBe(0x8d5 | 2);
    expect(execSnippet(asm('cmc'), { eflags: 0x8d5 }).eflags).toBe(0x8d4 | 2);
    expect(execSnippet(asm('cmc\ncmc\ncmc'), { eflags: 0 }).eflags).toBe(CF | 2);
    expect(execSnippet(asm('std'), { eflags: CF }).eflags).toBe(DF | CF | 2);
    expect(execSnippet(asm('cld'), { eflags: DF | CF }).eflags).toBe(CF | 2);
  });
});

describe('CLI and STI (SDM Vol. 2, CLI/STI)', () => {
  it('change IF at CPL 0', () => {
    expect(execSnippet(asm('cli'), { eflags: IF }).eflags).toBe(2);
    expect(execSnippet(asm('sti'), { eflags: 0 }).eflags).toBe(IF | 2);
  });

  for (const [cpl, iopl, faults] of [[3, 0, true], [3, 2, true], [3, 3, false], [1, 0, true], [1, 1, false], [1, 3, false]] as const) {
    it(`at CPL ${cpl} with IOPL ${iopl}: ${faults ? '#GP(0) and IF unchanged' : 'allowed'}`, () => {
      for (const [insn, start, after] of [['cli', IF, 0], ['sti', 0, IF]] as const) {
        const cpu = makeCpu();
        enterCpl(cpu, cpl, iopl);
        const r = execSnippet(asm(insn), { eflags: (iopl << 12) | start }, cpu);
        if (faults) {
          expect(r.fault, insn).toBe(GP);
          expect(errorFrame(cpu), insn).toEqual({ code: 0, eip: CODE_BASE });
          // The frame's EFLAGS image still has the IF the instruction found.
          expect(cpu.readPhys32(cpu.regs[4] + 12) & IF, insn).toBe(start);
        } else {
          expect(r.fault, insn).toBeUndefined();
          expect(r.eflags & IF, insn).toBe(after);
        }
      }
    });
  }

  it('STI that sets IF delays interrupts until after the next instruction (SDM Vol. 3A, 6.8.3)', () => {
    const bus = new PendingAfter(0);
    const cpu = makeCpu(bus);
    bus.cpu = cpu;
    const r = execSnippet(asm('sti\nmov ebx, 1\nmov ecx, 2'), { ebx: 0, ecx: 0, eflags: 0 }, cpu);
    expect(cpu.eip).toBe(FAULT_BASE + 31 * 16 + 1);
    expect([r.ebx, r.ecx]).toEqual([1, 0]);
  });

  it('STI with IF already set opens no shadow', () => {
    const bus = new PendingAfter(1);
    const cpu = makeCpu(bus);
    bus.cpu = cpu;
    const r = execSnippet(asm('sti\nmov ebx, 1\nmov ecx, 2'), { ebx: 0, ecx: 0, eflags: IF }, cpu);
    expect(cpu.eip).toBe(FAULT_BASE + 31 * 16 + 1);
    expect([r.ebx, r.ecx]).toEqual([0, 0]);
  });
});
