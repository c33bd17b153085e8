// The x87 FPU as the operating system sees it: #NM from CR0.EM/MP/TS (SDM Vol. 3A, table
// 2-2) and lazy state switching with CLTS, #MF for unmasked exceptions (Vol. 1, 8.7), the
// instruction and data pointers and the memory layouts of FNSTENV, FNSAVE and FXSAVE (Vol. 1,
// figures 8-9 to 8-12; Vol. 2 FXSAVE), their fault checks, and the transcendental
// instructions against values measured on the host. Arithmetic itself is x87Vectors.test.ts.

import { describe, expect, it } from 'vitest';
import type { Cpu } from '../../src/cpu/cpu';
import { GP, MF, NM, PF, UD } from '../../src/cpu/exceptions';
import { CR0_EM, CR0_MP, CR0_NE, CR0_TS } from '../../src/cpu/registers';
import { CODE_BASE, IDT_BASE, makeCpu } from './harness';
import { DATA, enablePaging, peek32, runAsm, type RunResult } from './snippet';

const peek16 = (cpu: Cpu, a: number) => cpu.readPhys(a, 2);
const peekBytes = (cpu: Cpu, a: number, n: number) => Buffer.from(cpu.ram.subarray(a, a + n)).toString('hex');

/** Points vector `v` of the harness IDT at `handler` (a ring-0 interrupt gate). */
function setGate(cpu: Cpu, v: number, handler: number): void {
  cpu.writePhys32(IDT_BASE + v * 8, (0x08 << 16) | (handler & 0xffff));
  cpu.writePhys32(IDT_BASE + v * 8 + 4, (handler & 0xffff0000) | 0x8e00);
}

function withCr0(bits: number): Cpu {
  const cpu = makeCpu();
  cpu.cr0 |= bits;
  return cpu;
}

describe('#NM: CR0.EM, MP and TS (SDM Vol. 3A, table 2-2)', () => {
  // [EM, MP, TS] -> x87 instruction, WAIT, FXSAVE: true = #NM.
  const table: [number, number, number, boolean, boolean, boolean][] = [
    [0, 0, 0, false, false, false], [0, 0, 1, true, false, true], [0, 1, 0, false, false, false], [0, 1, 1, true, true, true],
    [1, 0, 0, true, false, true], [1, 0, 1, true, false, true], [1, 1, 0, true, false, true], [1, 1, 1, true, true, true],
  ];
  it.each(table)('EM=%i MP=%i TS=%i: x87 #NM %s, WAIT #NM %s, FXSAVE #NM %s', (em, mp, ts, x87, wait, fx) => {
    const bits = (em ? CR0_EM : 0) | (mp ? CR0_MP : 0) | (ts ? CR0_TS : 0);
    const expect7 = (nm: boolean) => (nm ? NM : undefined);
    for (const [insn, nm] of [['fld1', x87], ['fnstsw ax', x87], ['fninit', x87], ['wait', wait], ['fxsave [0x20000]', fx]] as const) {
      const cpu = withCr0(bits);
      const r = runAsm(cpu, insn);
      expect(r.fault, insn).toBe(expect7(nm));
      if (nm) expect(r.faultEip, insn).toBe(CODE_BASE);
    }
  });

  it('lazy switching: the #NM handler clears TS with CLTS, restores the task\'s FPU state, and the instruction runs again', () => {
    const cpu = makeCpu();
    setGate(cpu, NM, CODE_BASE + 2);
    const r = runAsm(cpu, `
      jmp short main
    nm_handler:                     ; CODE_BASE + 2
      clts
      frstor [0x21000]
      inc dword [0x20004]
      iretd
    main:
      fninit
      fld qword [two]
      fnsave [0x21000]              ; this task's state: ST(0) = 2.0
      fld1                          ; another task's state in the FPU
      mov eax, cr0
      or eax, 8                     ; TS, as a task switch leaves it
      mov cr0, eax
      fadd st0, st0                 ; #NM, then 2.0 + 2.0
      fistp dword [0x20000]
      jmp done
    two: dq 2.0
    done:`);
    expect(r.fault).toBeUndefined();
    expect([peek32(cpu, DATA), peek32(cpu, DATA + 4), cpu.cr0 & CR0_TS]).toEqual([4, 1, 0]);
  });
});

describe('#MF: unmasked exceptions (SDM Vol. 1, 8.7)', () => {
  const pending = `
      fninit
      fldcw [cw]
      fld1
      fldz
      fdivp st1, st0              ; 1/0 with ZE unmasked: flagged, ES set, no exception yet
      fnstsw ax                   ; a no-wait instruction does not look
      jmp next
    cw: dw 0x037b
    next:`;

  it('the next waiting instruction raises #MF when CR0.NE is set, EIP on it; the flags stay', () => {
    const cpu = withCr0(CR0_NE);
    const r = runAsm(cpu, `${pending}\n      fld1`);
    expect(r.fault).toBe(MF);
    // EIP on the FLD1 (D9 E8), the last instruction of the snippet.
    expect([cpu.ram[r.faultEip!], cpu.ram[r.faultEip! + 1], cpu.ram[r.faultEip! + 2]]).toEqual([0xd9, 0xe8, 0]);
    // ZE, ES and B; TOP = 6: unmasked, the divide neither stored its result nor popped.
    expect((r.eax & 0xffff).toString(16)).toBe('b084');
    expect([cpu.fpu.top, cpu.fpu.hi[7]]).toEqual([6, 0x80000000]);
  });

  it('WAIT raises #MF too; FNCLEX before it clears the way', () => {
    expect(runAsm(withCr0(CR0_NE), `${pending}\n      wait`).fault).toBe(MF);
    expect(runAsm(withCr0(CR0_NE), `${pending}\n      fnclex\n      wait\n      fld1`).fault).toBeUndefined();
  });

  it('#NM comes before #MF (CR0.TS with an exception pending)', () => {
    const cpu = withCr0(CR0_NE);
    const r = runAsm(cpu, `${pending}\n      mov ebx, cr0\n      or ebx, 8\n      mov cr0, ebx\n      fld1`);
    expect(r.fault).toBe(NM);
  });

  it('with CR0.NE clear (Multiboot entry) nothing is raised: FERR#/IRQ 13 are not modelled, the flags stay', () => {
    const cpu = makeCpu();
    const r = runAsm(cpu, `${pending}\n      fld1\n      fnstsw ax`);
    expect(r.fault).toBeUndefined();
    expect((r.eax & 0x80ff).toString(16)).toBe('8084');
    expect(cpu.fpu.top).toBe(5);   // the second FLD1 ran
  });
});

/** A snippet whose last non-control instruction is FLD m32 at CODE_BASE + 7, then a control instruction (ending at + 13). */
const POINTERS = `
      fninit                        ; DB E3
      mov ebx, 0x20100              ; BB imm32
      fld dword [ebx+8]             ; CODE_BASE + 7: D9 43 08
      fldcw [ebx+0x40]              ; control instructions leave the pointers alone
`;

describe('instruction and data pointers, environment and save area layouts', () => {
  it('FNSTENV, 32-bit protected mode: FIP, FCS and FOP of the last non-control instruction, FDP/FDS of its operand', () => {
    const cpu = makeCpu();
    cpu.writePhys32(0x20108, 0x3f800000);
    cpu.writePhys32(0x20140, 0x027f);
    const r = runAsm(cpu, `${POINTERS}\n      fnstenv [0x20200]\n      fnstcw [0x20300]`);
    expect(r.fault).toBeUndefined();
    const env = 0x20200;
    expect([peek32(cpu, env), peek32(cpu, env + 4), peek32(cpu, env + 8)]).toEqual([0xffff027f, 0xffff3800, 0xffff3fff]);
    expect(peek32(cpu, env + 12)).toBe(CODE_BASE + 7);                 // FIP
    expect(peek32(cpu, env + 16)).toBe((0x143 << 16) | 0x08);         // FOP (D9 /0, ModR/M 43H) : FCS
    expect([peek32(cpu, env + 20), peek32(cpu, env + 24)]).toEqual([0x20108, 0xffff0010]);   // FDP, FDS
    // FNSTENV then masks every exception.
    expect(peek16(cpu, 0x20300)).toBe(0x027f | 0x3f);
  });

  it('FNSTENV with a 16-bit operand size: the 14-byte layout', () => {
    const cpu = makeCpu();
    cpu.writePhys32(0x20108, 0x3f800000);
    cpu.writePhys32(0x20140, 0x037f);
    runAsm(cpu, `${POINTERS}\n      o16 fnstenv [0x20200]`);
    const words = Array.from({ length: 7 }, (_, k) => peek16(cpu, 0x20200 + 2 * k));
    expect(words).toEqual([0x037f, 0x3800, 0x3fff, (CODE_BASE + 7) & 0xffff, 0x08, 0x0108, 0x10]);
    expect(peek16(cpu, 0x2020e)).toBe(0);   // nothing beyond 14 bytes
  });

  it('FNSAVE stores the environment and ST(0)-ST(7), then initializes; FRSTOR brings it all back', () => {
    const cpu = makeCpu();
    const r = runAsm(cpu, `
      fninit
      fld1
      fldpi
      fnsave [0x20200]
      fnstcw [0x20300]
      fnstsw [0x20302]
      fld1
      frstor [0x20200]
      fnstsw [0x20304]
      fstp tword [0x20310]`);
    expect(r.fault).toBeUndefined();
    expect([peek32(cpu, 0x20200), peek32(cpu, 0x20204), peek32(cpu, 0x20208)]).toEqual([0xffff037f, 0xffff3000, 0xffff0fff]);
    expect(peekBytes(cpu, 0x20200 + 28, 20)).toBe('35c26821a2da0fc90040' + '0000000000000080ff3f');   // pi, 1.0
    expect([peek16(cpu, 0x20300), peek16(cpu, 0x20302)]).toEqual([0x037f, 0]);
    expect(peek16(cpu, 0x20304)).toBe(0x3000);
    expect(peekBytes(cpu, 0x20310, 10)).toBe('35c26821a2da0fc90040');
  });

  it('FNSAVE with a 16-bit operand size: registers follow a 14-byte environment (94 bytes)', () => {
    const cpu = makeCpu();
    runAsm(cpu, 'fninit\nfld1\no16 fnsave [0x20200]');
    expect([peek16(cpu, 0x20200), peek16(cpu, 0x20202), peek16(cpu, 0x20204)]).toEqual([0x037f, 0x3800, 0x3fff]);
    expect(peekBytes(cpu, 0x20200 + 14, 10)).toBe('0000000000000080ff3f');
  });

  it('FXSAVE: the x87 part of the area in the SDM layout (abridged tag byte, registers every 16 bytes)', () => {
    const cpu = makeCpu();
    cpu.ram.fill(0xee, 0x20200, 0x20400);
    cpu.writePhys32(0x20108, 0x3f800000);
    cpu.writePhys32(0x20140, 0x037f);
    const r = runAsm(cpu, `${POINTERS}\n      fldpi\n      fxsave [0x20200]`);
    expect(r.fault).toBeUndefined();
    const a = 0x20200;
    expect([peek16(cpu, a), peek16(cpu, a + 2), cpu.ram[a + 4], cpu.ram[a + 5]]).toEqual([0x037f, 0x3000, 0xc0, 0]);
    expect(peek16(cpu, a + 6)).toBe(0x1eb);                           // FOP of FLDPI (D9 EB)
    expect([peek32(cpu, a + 8), peek32(cpu, a + 12)]).toEqual([CODE_BASE + 13, 0x08]);   // FIP of FLDPI, FCS
    expect([peek32(cpu, a + 16), peek32(cpu, a + 20)]).toEqual([0x20108, 0x10]);         // FDP, FDS
    expect(peekBytes(cpu, a + 32, 16)).toBe('35c26821a2da0fc90040000000000000');         // ST(0) = pi
    expect(peekBytes(cpu, a + 24, 8)).toBe('ee'.repeat(8));            // MXCSR: no SSE here, left alone
    expect(peekBytes(cpu, a + 160, 16)).toBe('ee'.repeat(16));         // XMM0
  });

  it('FXRSTOR restores what FXSAVE stored', () => {
    const cpu = makeCpu();
    const r = runAsm(cpu, `
      fninit
      fld1
      fldl2e
      fxsave [0x20200]
      fninit
      fxrstor [0x20200]
      fstp tword [0x20400]
      fstp tword [0x20410]
      fnstsw [0x20420]`);
    expect(r.fault).toBeUndefined();
    expect(peekBytes(cpu, 0x20400, 10)).toBe('bcf0175c293baab8ff3f');
    expect(peekBytes(cpu, 0x20410, 10)).toBe('0000000000000080ff3f');
    expect(peek16(cpu, 0x20420)).toBe(0);
  });
});

describe('faults of the x87 memory instructions', () => {
  it('FXSAVE and FXRSTOR need a 16-byte aligned area: #GP(0) otherwise', () => {
    for (const insn of ['fxsave [0x20208]', 'fxrstor [0x20201]']) {
      const r: RunResult = runAsm(makeCpu(), insn);
      expect([r.fault, r.errorCode], insn).toEqual([GP, 0]);
    }
  });

  it('LOCK is #UD on every x87 instruction; FISTTP (SSE3) is #UD; the register forms of 0F AE /0 /1 are #UD', () => {
    for (const source of ['lock fadd dword [eax]', 'db 0xf0, 0xd9, 0xe8', 'fisttp dword [0x20000]', 'fisttp qword [0x20000]', 'db 0x0f, 0xae, 0xc0']) {
      expect(runAsm(makeCpu(), source).fault, source).toBe(UD);
    }
  });

  it('a store that faults on its second page changes neither memory nor the stack (FSTP m64, FNSAVE)', () => {
    for (const insn of ['fstp qword [0x1fffc]', 'fnsave [0x1ffc0]']) {
      const cpu = makeCpu();
      enablePaging(cpu, { notPresent: [0x20000] });
      cpu.ram.fill(0xaa, 0x1ff00, 0x20000);
      const r = runAsm(cpu, `fninit\nfld1\nfldpi\n${insn}`);
      expect(r.fault, insn).toBe(PF);
      expect(cpu.cr2, insn).toBe(0x20000);
      expect(peekBytes(cpu, 0x1ffc0, 64), insn).toBe('aa'.repeat(64));
      expect([cpu.fpu.top, cpu.fpu.empty], insn).toEqual([6, 0x3f]);
    }
  });
});

/**
 * FSIN and friends compute through doubles (src/cpu/fpu/transcendental.ts): the host's 64-bit
 * results, recorded here, agree to 53 bits; the special cases agree exactly.
 */
describe('transcendental instructions against the host', () => {
  const f80 = (cpu: Cpu, i: number): bigint => {
    const f = cpu.fpu, r = f.phys(i);
    return (BigInt(f.se[r]) << 64n) | (BigInt(f.hi[r]) << 32n) | BigInt(f.lo[r]);
  };
  const value = (text: string): bigint => BigInt(`0x${text.replace(':', '')}`);
  /** Runs `insn` with the stack loaded (ST(0) first) and returns the CPU. */
  const exec = (insn: string, stack: string[]): { cpu: Cpu; r: RunResult } => {
    const cpu = makeCpu();
    stack.forEach((s, k) => {
      const v = value(s);
      cpu.writePhys32(0x20000 + 16 * k, Number(v & 0xffffffffn));
      cpu.writePhys32(0x20004 + 16 * k, Number((v >> 32n) & 0xffffffffn));
      cpu.writePhys(0x20008 + 16 * k, 2, Number(v >> 64n));
    });
    const loads = stack.map((_, k) => `fld tword [0x${(0x20000 + 16 * (stack.length - 1 - k)).toString(16)}]`).join('\n');
    return { cpu, r: runAsm(cpu, `fninit\n${loads}\n${insn}`) };
  };
  /** Same exponent and significands within 2^11 units in the last place (53 of 64 bits). */
  const close = (a: bigint, b: bigint) => (a >> 64n) === (b >> 64n) && (a - b < 0n ? b - a : a - b) < 1n << 11n;

  it.each([
    ['fsin', ['3ffe:8000000000000000'], ['3ffd:f57743a2582f7f44']],
    ['fcos', ['3ffe:8000000000000000'], ['3ffe:e0a94032dbea7cee']],
    ['fptan', ['3ffe:8000000000000000'], ['3fff:8000000000000000', '3ffe:8bda7adf9a3a5219']],
    ['fsincos', ['3fff:8000000000000000'], ['3ffe:8a51407da8345c92', '3ffe:d76aa47848677021']],
    ['fpatan', ['3fff:8000000000000000', '3fff:8000000000000000'], ['3ffe:c90fdaa22168c235']],
    ['f2xm1', ['3ffe:8000000000000000'], ['3ffd:d413cccfe7799211']],
    ['fyl2x', ['4000:c000000000000000', '3fff:8000000000000000'], ['3fff:cae00d1cfdeb43d0']],
    ['fyl2xp1', ['3ffd:8000000000000000', '4000:8000000000000000'], ['3ffe:a4d3c25e68dc57f2']],
  ])('%s of %j is the host\'s %j to 53 bits, PE set', (insn, stack, host) => {
    const { cpu, r } = exec(insn, stack);
    expect(r.fault).toBeUndefined();
    host.forEach((h, i) => expect(close(f80(cpu, i), value(h)), `ST(${i})`).toBe(true));
    expect(cpu.fpu.sw & 0x3f).toBe(0x20);
  });

  it.each([
    // |x| >= 2^63: C2 set, the operand stays (host: sw 3C00).
    ['fsin', ['403e:8000000000000000'], '403e:8000000000000000', 0x0400, 0],
    ['fptan', ['403e:8000000000000000'], '403e:8000000000000000', 0x0400, 0],
    ['fsin', ['0000:0000000000000000'], '0000:0000000000000000', 0, 0],
    ['fcos', ['0000:0000000000000000'], '3fff:8000000000000000', 0, 0],
    // log2(0) times 1: a division by zero giving -infinity; sin(infinity): invalid, the indefinite.
    ['fyl2x', ['0000:0000000000000000', '3fff:8000000000000000'], 'ffff:8000000000000000', 0, 0x04],
    ['fsin', ['7fff:8000000000000000'], 'ffff:c000000000000000', 0, 0x01],
  ])('%s of %j gives %s exactly, C2 %i, flags %i', (insn, stack, result, c2, flags) => {
    const { cpu } = exec(insn, stack);
    expect(f80(cpu, 0)).toBe(value(result));
    expect([cpu.fpu.sw & 0x400, cpu.fpu.sw & 0x3f]).toEqual([c2, flags]);
  });
});

describe('the FPU state in snapshots', () => {
  it('saveState/loadState carry registers, words and pointers', () => {
    const cpu = makeCpu();
    runAsm(cpu, 'fninit\nfld1\nfldpi\nfdiv st0, st1\nfld dword [0x20000]');
    const saved = cpu.fpu.saveState();
    const before = JSON.stringify(saved);
    runAsm(cpu, 'fninit\nfldz');
    expect(JSON.stringify(cpu.fpu.saveState())).not.toBe(before);
    cpu.fpu.loadState(saved);
    expect(JSON.stringify(cpu.fpu.saveState())).toBe(before);
  });
});
