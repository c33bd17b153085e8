// MUL, IMUL, DIV, IDIV: the divide-error cases of the SDM and the exactness of the 64-bit
// products and 64/32-bit quotients, checked against BigInt arithmetic.
import { describe, expect, it } from 'vitest';
import { DE } from '../../src/cpu/exceptions';
import { FLAGS_ARITH } from '../../src/cpu/registers';
import { nasm } from '../support/nasm';
import { CODE_BASE, STACK_TOP, execSnippet, makeCpu, type SnippetState } from './harness';
import { DATA, poke32, runAsm } from './snippet';

const CF = 0x1, OF = 0x800;

interface DeCase { title: string; asm: string; state: SnippetState; mem?: number }

// SDM Vol. 2, DIV and IDIV, Protected Mode Exceptions: "#DE If the source operand (divisor)
// is 0. If the quotient is too large for the designated register." AAM: "#DE If an immediate
// value of 0 is used."
const DIVIDE_ERRORS: DeCase[] = [
  { title: 'DIV r/m8 by 0', asm: 'div bl', state: { eax: 0x1234, ebx: 0 } },
  { title: 'DIV r/m8: 1000H / 10H = 100H does not fit AL', asm: 'div bl', state: { eax: 0x1000, ebx: 0x10 } },
  { title: 'DIV r/m16: 10000H / 1 does not fit AX', asm: 'div bx', state: { eax: 0, edx: 1, ebx: 1 } },
  { title: 'DIV r/m32: EDX = divisor means a quotient of at least 2^32', asm: 'div ebx', state: { eax: 0, edx: 5, ebx: 5 } },
  { title: 'DIV m32 by a zero in memory', asm: `div dword [${DATA}]`, state: { eax: 7, edx: 0 }, mem: 0 },
  { title: 'IDIV r/m8: -32768 / -1 = 32768', asm: 'idiv bl', state: { eax: 0x8000, ebx: 0xff } },
  { title: 'IDIV r/m8: -128 / -1 = 128 exceeds +127', asm: 'idiv bl', state: { eax: 0xff80, ebx: 0xff } },
  { title: 'IDIV r/m16: -2^31 / -1', asm: 'idiv bx', state: { eax: 0, edx: 0x8000, ebx: 0xffff } },
  { title: 'IDIV r/m32: the most negative dividend -2^63 / -1', asm: 'idiv ebx', state: { eax: 0, edx: 0x80000000, ebx: 0xffffffff } },
  { title: 'IDIV r/m32: -2^31 / -1 = 2^31 exceeds 2^31 - 1', asm: 'idiv ebx', state: { eax: 0x80000000, edx: 0xffffffff, ebx: 0xffffffff } },
  { title: 'IDIV r/m32: 2^32 / 2 = 2^31 exceeds 2^31 - 1', asm: 'idiv ebx', state: { eax: 0, edx: 1, ebx: 2 } },
  { title: 'IDIV r/m32 by 0', asm: 'idiv ebx', state: { eax: 1, edx: 0, ebx: 0 } },
  { title: 'AAM with base 0', asm: 'aam 0', state: { eax: 0x1234 } },
];

describe('#DE: a fault with no register, memory or flag changed (SDM DIV, IDIV, AAM)', () => {
  for (const c of DIVIDE_ERRORS) {
    it(c.title, () => {
      const cpu = makeCpu();
      if (c.mem !== undefined) poke32(cpu, DATA, c.mem);
      const state = { ecx: 0x5a5a5a5a, esi: 0x600d, edi: 0xbeef, ...c.state, eflags: 0x8d5 };
      const r = runAsm(cpu, c.asm, state);
      expect(r.fault).toBe(DE);
      expect(r.faultEip).toBe(CODE_BASE);
      for (const reg of ['eax', 'ecx', 'edx', 'ebx', 'esi', 'edi'] as const) expect(r[reg], reg).toBe((state[reg] ?? 0) >>> 0);
      expect(r.eflags & FLAGS_ARITH).toBe(0x8d5);
    });
  }

  it('the largest quotients that fit do not fault: IDIV r/m8 -128 / 1, IDIV r/m32 -2^31 / 1, DIV r/m32 to FFFFFFFF', () => {
    let r = runAsm(makeCpu(), 'idiv bl', { eax: 0xff80, ebx: 1 });
    expect([r.fault, r.eax & 0xffff]).toEqual([undefined, 0x0080]);
    r = runAsm(makeCpu(), 'idiv ebx', { eax: 0x80000000, edx: 0xffffffff, ebx: 1 });
    expect([r.fault, r.eax, r.edx]).toEqual([undefined, 0x80000000, 0]);
    r = runAsm(makeCpu(), 'div ebx', { eax: 0xffffffff, edx: 0xfffffffe, ebx: 0xffffffff });
    expect([r.fault, r.eax, r.edx]).toEqual([undefined, 0xffffffff, 0xfffffffe]);
  });
});

// ---------------------------------------------------------------------------------------------

/** xorshift32: a fixed pseudo-random sequence, so a failure can be reproduced. */
function* randoms(seed: number): Generator<number> {
  let x = seed;
  for (;;) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    yield x >>> 0;
  }
}

/** Operands that stress the double arithmetic: near powers of two, 2^53, all ones. */
const EDGES = [0, 1, 2, 3, 0x7fff, 0x8000, 0xffff, 0x10000, 0x1fffff, 0x200000, 0x200001, 0x7fffffff, 0x80000000,
  0x80000001, 0xfffffffe, 0xffffffff, 0x12345678, 0xdeadbeef];

function operandPairs(count: number): [number, number, number][] {
  const rnd = randoms(0x1234567);
  const out: [number, number, number][] = [];
  for (const a of EDGES) for (const b of EDGES) out.push([a, b, rnd.next().value as number]);
  for (let k = 0; k < count; k++) out.push([rnd.next().value as number, rnd.next().value as number, rnd.next().value as number]);
  return out;
}

const U64 = (1n << 64n) - 1n;
const s32 = (v: number): bigint => BigInt(v | 0);
const u32 = (v: number): bigint => BigInt(v >>> 0);

/** Runs one instruction many times on one CPU (faults reset the halt and the stack). */
function runner(asm: string): (state: SnippetState) => ReturnType<typeof execSnippet> {
  const code = nasm(`bits 32\n${asm}\n`);
  const cpu = makeCpu();
  return (state) => {
    cpu.halted = false;
    return execSnippet(code, { esp: STACK_TOP, ...state }, cpu);
  };
}

describe('exact 32 x 32 -> 64-bit products (SDM MUL, IMUL), against BigInt', () => {
  it('MUL r/m32: EDX:EAX = EAX * SRC; CF = OF = (EDX != 0)', () => {
    const run = runner('mul ebx');
    for (const [a, b] of operandPairs(500)) {
      const p = u32(a) * u32(b);
      const r = run({ eax: a, ebx: b });
      expect([r.edx, r.eax], `${a.toString(16)} * ${b.toString(16)}`).toEqual([Number(p >> 32n), Number(p & 0xffffffffn)]);
      expect(r.eflags & (CF | OF)).toBe(p >> 32n !== 0n ? CF | OF : 0);
    }
  });

  it('IMUL r/m32: signed EDX:EAX; CF = OF = (EDX:EAX != sign extension of EAX)', () => {
    const run = runner('imul ebx');
    for (const [a, b] of operandPairs(500)) {
      const p = (s32(a) * s32(b)) & U64;
      const r = run({ eax: a, ebx: b });
      expect([r.edx, r.eax], `${a | 0} * ${b | 0}`).toEqual([Number(p >> 32n), Number(p & 0xffffffffn)]);
      const fits = s32(a) * s32(b) === s32(Number(p & 0xffffffffn));
      expect(r.eflags & (CF | OF)).toBe(fits ? 0 : CF | OF);
    }
  });

  it('IMUL r32, r/m32 (0F AF): truncated product; CF = OF = (it was truncated)', () => {
    const run = runner('imul ecx, ebx');
    for (const [a, b] of operandPairs(500)) {
      const full = s32(a) * s32(b);
      const r = run({ ecx: a, ebx: b });
      expect(r.ecx).toBe(Number(full & 0xffffffffn));
      expect(r.eflags & (CF | OF)).toBe(full === s32(Number(full & 0xffffffffn)) ? 0 : CF | OF);
    }
  });
});

describe('exact 64 / 32-bit division (SDM DIV, IDIV), against BigInt', () => {
  it('DIV r/m32: EAX = EDX:EAX / SRC, EDX = remainder, #DE when the quotient exceeds 32 bits', () => {
    const run = runner('div ebx');
    for (const [hi, lo, d] of operandPairs(1000)) {
      // Half of the cases get a high half below the divisor, so most of them do not overflow.
      const edx = (lo & 1) !== 0 && d !== 0 ? hi % d : hi;
      const n = (u32(edx) << 32n) | u32(lo);
      const r = run({ edx, eax: lo, ebx: d });
      if (d === 0 || n / u32(d) > 0xffffffffn) { expect(r.fault).toBe(DE); continue; }
      expect(r.fault).toBeUndefined();
      expect([r.eax, r.edx], `${n} / ${d}`).toEqual([Number(n / u32(d)), Number(n % u32(d))]);
    }
  });

  it('IDIV r/m32: quotient rounded toward zero, remainder with the dividend\'s sign', () => {
    const run = runner('idiv ebx');
    for (const [hi, lo, d] of operandPairs(1000)) {
      // Sign-extend EAX into EDX for half of the cases so their quotients fit.
      const edx = (lo & 1) !== 0 ? (lo | 0) >> 31 : hi;
      const n = (s32(edx) << 32n) | u32(lo);
      const r = run({ edx, eax: lo, ebx: d });
      const q = d === 0 ? 0n : n / s32(d); // BigInt division truncates toward zero, as IDIV does
      if (d === 0 || q > 0x7fffffffn || q < -0x80000000n) { expect(r.fault, `${n} / ${d | 0}`).toBe(DE); continue; }
      expect(r.fault).toBeUndefined();
      expect([r.eax, r.edx], `${n} / ${d | 0}`).toEqual([Number(q & 0xffffffffn), Number((n % s32(d)) & 0xffffffffn)]);
    }
  });
});
