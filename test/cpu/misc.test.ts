// NOPs and UD2 (misc.ts), WAIT and the x87 escapes (x87.ts): SDM Vol. 2 NOP/PAUSE/UD2/WAIT,
// and the CR0.EM/MP/TS rules of Vol. 3A 2.5 and table 2-2.

import { describe, expect, it } from 'vitest';
import { NM, UD } from '../../src/cpu/exceptions';
import { CR0_EM, CR0_MP, CR0_TS, DS } from '../../src/cpu/registers';
import { CODE_BASE, execSnippet, makeCpu } from './harness';
import { asm, returnEip } from './opsHarness';

const REGS = { eax: 0x11111111, ecx: 0x22222222, edx: 0x33333333, ebx: 0x44444444, esi: 0x55555555, edi: 0x66666666 };

describe('NOP forms (SDM Vol. 2, NOP, PAUSE)', () => {
  it('90, F3 90 (PAUSE), 66 90 and the ModR/M NOPs change nothing and touch no memory', () => {
    const cpu = makeCpu();
    cpu.setSegmentCache(DS, 0, 0, 0, 1 << 16);   // any data access would #GP
    const r = execSnippet(asm(`
      nop
      pause
      xchg ax, ax
      nop dword [eax+eax*1+0x12345678]
      nop word [esi]
      prefetchnta [eax]
      hint_nop8 eax
      hint_nop16 dword [ebx]
      hint_nop48 dword [ecx+edx*8]
    `), { ...REGS, eflags: 0x8d5 }, cpu);
    expect(r.fault).toBeUndefined();
    expect(r).toMatchObject({ ...REGS, eflags: 0x8d7, esp: 0x9000 });
  });
});

describe('UD2 (SDM Vol. 2, UD)', () => {
  it('raises #UD at itself', () => {
    const cpu = makeCpu();
    expect(execSnippet(asm('ud2'), {}, cpu).fault).toBe(UD);
    expect(returnEip(cpu)).toBe(CODE_BASE);
  });
});

describe('WAIT and x87 escapes (SDM Vol. 3A, table 2-2)', () => {
  const withCr0 = (bits: number) => { const cpu = makeCpu(); cpu.cr0 |= bits; return cpu; };

  it('WAIT raises #NM only when CR0.MP and CR0.TS are both set', () => {
    expect(execSnippet(asm('wait'), {}, withCr0(CR0_MP | CR0_TS)).fault).toBe(NM);
    expect(execSnippet(asm('wait'), {}, withCr0(CR0_TS)).fault).toBeUndefined();
    expect(execSnippet(asm('wait'), {}, withCr0(CR0_MP)).fault).toBeUndefined();
    expect(execSnippet(asm('wait'), {}, withCr0(CR0_EM)).fault).toBeUndefined();
  });

  it('D8-DF raise #NM with CR0.EM or CR0.TS set, and execute with both clear', () => {
    for (const insn of ['fninit', 'fld dword [eax]', 'fadd st0, st1', 'fnstsw ax', 'fistp dword [ebp-4]']) {
      const em = withCr0(CR0_EM);
      expect(execSnippet(asm(insn), {}, em).fault, insn).toBe(NM);
      expect(returnEip(em), insn).toBe(CODE_BASE);
      expect(execSnippet(asm(insn), {}, withCr0(CR0_TS | CR0_MP)).fault, insn).toBe(NM);
      expect(execSnippet(asm(insn), {}, withCr0(0)).fault, insn).toBeUndefined();
    }
  });
});
