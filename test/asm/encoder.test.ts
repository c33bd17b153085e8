// The encoder against nasm 2.16.01 (the reference: every expected byte, error message and
// warning below comes from running nasm on the same instruction). Requests are enumerated
// programmatically (encoderCases.ts), written out as NASM text, assembled in one nasm run per
// batch, and each line's result must be identical.
import { describe, expect, it } from 'vitest';
import { encode, isMnemonic, isRegister, PREFIX_WORDS } from '../../src/asm/encoder/index';
import { NASM_INSTRUCTIONS } from '../../src/asm/encoder/nasmNames';
import type { Bits, InstructionRequest, MemoryOperand, Operand } from '../../src/asm/operand';
import { effectiveAddresses, mem, operandMatrix, PREFIX_SETS, reg, req, SEGMENTS } from './encoderCases';
import { compareWithNasm, fixed, report, type Case } from './encoderCompare';
import { assembleWithNasm } from './encoderNasm';

const BITS: Bits[] = [32, 16];

function expectSame(cases: readonly Case[], bits: Bits): number {
  const c = compareWithNasm(cases, bits);
  expect(c.mismatches.length, `${c.mismatches.length} of ${c.cases} differ from nasm:\n${report(c)}`).toBe(0);
  return c.accepted.length;
}

describe('encoder vs nasm: every mnemonic with every operand kind', () => {
  for (const bits of BITS) {
    it(`bits ${bits}`, () => {
      const cases = operandMatrix(3000).map((r) => fixed(r));
      expect(cases.length).toBeGreaterThan(100_000);
      expect(expectSame(cases, bits)).toBeGreaterThan(30_000);
    });
  }
});

describe('encoder vs nasm: effective addresses', () => {
  for (const bits of BITS) {
    it(`every base, index, scale and displacement, bits ${bits}`, () => {
      const cases = effectiveAddresses().flatMap((m) => [
        fixed(req('mov', [reg('eax'), m])),      // also the A1 moffs form for a bare offset
        fixed(req('add', [m, reg('cl')])),
      ]);
      expect(expectSame(cases, bits)).toBeGreaterThan(25_000);
    });

    it(`segment overrides, in the operand and as prefix words, bits ${bits}`, () => {
      const sample = effectiveAddresses().filter((_, k) => k % 97 === 0);
      const cases: Case[] = [];
      for (const segment of SEGMENTS) {
        for (const m of sample) {
          cases.push(fixed(req('mov', [reg('eax'), { ...m, segment }])));   // A1 moffs for a bare offset
          cases.push(fixed(req('mov', [{ ...m, segment }, reg('al')])));
          cases.push(fixed(req('mov', [reg('ecx'), { ...m, segment }])));
          cases.push(fixed(req('lea', [reg('ecx'), { ...m, segment }])));
          cases.push(fixed(req('mov', [reg('ecx'), m], [segment])));
          cases.push(fixed(req('mov', [reg('ecx'), { ...m, segment }], [segment])));   // conflicting, even when equal
        }
        cases.push(fixed(req('movsb', [], [segment])), fixed(req('xlatb', [], [segment])), fixed(req('nop', [], [segment])));
        cases.push(fixed(req('', [], [segment])));
      }
      expectSame(cases, bits);
    });
  }
});

const REPRESENTATIVE: InstructionRequest[] = [
  req('movsb', []), req('movsd', []), req('lodsw', []), req('stosb', []), req('cmpsd', []), req('scasb', []),
  req('insb', []), req('outsd', []), req('xlatb', []), req('nop', []), req('pause', []), req('cpuid', []), req('ret', []),
  req('add', [mem({ base: 'ebx' }), reg('eax')]), req('add', [reg('eax'), reg('ebx')]), req('add', [mem({ size: 'dword', base: 'ebx' }), { kind: 'imm', value: 5 }]),
  req('xchg', [mem({ base: 'eax' }), reg('ecx')]), req('mov', [reg('eax'), mem({ base: 'esi' })]),
  req('mov', [reg('ax'), mem({ base: 'bx' })]), req('push', [reg('eax')]), req('push', [{ kind: 'imm', value: 1 }]),
  req('inc', [mem({ size: 'dword', base: 'eax' })]), req('lea', [reg('eax'), mem({ base: 'eax' })]),
  req('cmpxchg8b', [mem({ base: 'edi' })]), req('bts', [mem({ size: 'word', base: 'edi' }), { kind: 'imm', value: 3 }]),
  req('', []),
];

describe('encoder vs nasm: prefixes', () => {
  for (const bits of BITS) {
    it(`rep/lock/o16/o32/a16/a32/segment words, alone and combined, bits ${bits}`, () => {
      const cases = PREFIX_SETS.flatMap((p) => REPRESENTATIVE.map((r) => fixed({ ...r, prefixes: p })));
      expectSame(cases, bits);
    });
  }
});

/**
 * Effective addresses as nasm's own parser hands them over (asm/parser.c parse_mref, with
 * the hints of asm/eval.c): registers summed per register, ordered by register name, the
 * first with multiplier 1 is the base; the hint names the first register written and
 * whether it was multiplied (or a register was added to itself).
 */
function nasmParse(text: string): MemoryOperand {
  const nosplit = text.startsWith('nosplit ');
  const body = nosplit ? text.slice(8) : text;
  const coef = new Map<string, number>();
  let disp = 0;
  let hint: MemoryOperand['hint'] = { type: 'none' };
  for (const term of body.split('+')) {
    const factors = term.split('*');
    const r = factors.find((f) => /^[a-z]+$/.test(f));
    const k = factors.filter((f) => f !== r).reduce((a, f) => a * Number(f), 1);
    if (r === undefined) { disp += k; continue; }
    if (hint.type === 'none') hint = { type: factors.length > 1 ? 'notbase' : 'makebase', reg: r };
    if (coef.has(r)) hint = { ...hint, type: 'summed' };
    coef.set(r, (coef.get(r) ?? 0) + k);
  }
  let base: string | undefined, index: string | undefined, scale = 0;
  for (const r of [...coef.keys()].sort()) {
    if (coef.get(r) === 1 && base === undefined) base = r;
    else { index = r; scale = coef.get(r)!; }
  }
  return mem({ base, index, scale: index === undefined ? 1 : scale, disp, hasDisp: disp !== 0, nosplit: nosplit || undefined, hint });
}

describe('encoder vs nasm: base and index chosen from nasm\'s hints', () => {
  const EA32 = [
    'eax+ebx', 'ebx+eax', 'eax*1+ebx', 'ebx*1+eax', 'ebx+eax*1', 'eax*1+ebx*1', 'esp+eax', 'eax+esp', 'eax*1+esp',
    'esp*1+eax', 'eax*1', 'nosplit eax*1', 'nosplit esp*1', 'eax+eax', 'nosplit eax+eax', 'eax*2', 'nosplit eax*2',
    'eax*2+eax*2', 'eax+eax*2', 'ebp*1', 'nosplit ebp*1', 'ebx+ebp', 'ebp+ebx', 'esi+edi*1', 'edi*1+esi+8', 'ecx*3',
    'ecx*5+4', 'ecx*9', 'nosplit ecx*3', 'eax+ebx+eax', '2*eax+ebx', 'ebp+ebp', 'esp+esp', 'esp*2', 'edi+esi*4+0x80',
    '4*esi+edi', 'ebx*2+ecx*1',
  ];
  const EA16 = ['bx+si', 'si+bx', 'si*1+bx', 'di+bp', 'bp+di+4', 'bx*1', 'si', 'bp', 'bp*1+0x80', 'bx+bx', 'si+di'];
  for (const bits of BITS) {
    it(`bits ${bits}`, () => {
      const cases = [...EA32, ...EA16].map((ea): Case => {
        const op: Operand = nasmParse(ea);
        return { text: `mov ecx, [${ea}]`, build: () => req('mov', [reg('ecx'), op]) };
      });
      expectSame(cases, bits);
    });
  }
});

describe('names: isRegister, isMnemonic and PREFIX_WORDS agree with nasm', () => {
  it('a register cannot be a label: nasm rejects `name:` exactly for the names isRegister knows', () => {
    const candidates = new Set<string>(['foo', 'eaxx', 'st', 'r16', 'r8l', 'segr8', 'k8', 'xmm32', 'cr', 'ip', 'eip', 'flags']);
    for (const r of ['a', 'b', 'c', 'd']) for (const f of [`${r}l`, `${r}h`, `${r}x`, `e${r}x`, `r${r}x`]) candidates.add(f);
    for (const r of ['sp', 'bp', 'si', 'di']) for (const f of [r, `e${r}`, `r${r}`, `${r}l`]) candidates.add(f);
    for (let n = 0; n < 40; n++) {
      for (const p of ['r', 'cr', 'dr', 'tr', 'st', 'mm', 'xmm', 'ymm', 'zmm', 'tmm', 'k', 'bnd', 'segr']) candidates.add(`${p}${n}`);
      for (const s of ['b', 'w', 'd', 'l']) candidates.add(`r${n}${s}`);
    }
    for (const s of SEGMENTS) candidates.add(s);
    const names = [...candidates];
    const nasm = assembleWithNasm(names.map((n) => `${n}:`), 32);
    const wrong = names.filter((n, k) => isRegister(n) !== (nasm[k].errors.length > 0));
    expect(wrong).toEqual([]);
  });

  it('an instruction alone on a line is never a label: nasm agrees with isMnemonic', () => {
    const names = [...NASM_INSTRUCTIONS, 'movs', 'lods', 'stos', 'cmps', 'scas', 'ins', 'outs', 'foo', 'jmpf', 'int0', 'loopd'];
    const nasm = assembleWithNasm(names, 32);
    const label = (k: number) => nasm[k].warnings.some((w) => w.startsWith('label alone on a line'));
    const wrong = names.filter((n, k) => isMnemonic(n) === label(k));
    expect(wrong).toEqual([]);
    expect(isMnemonic('movs')).toBe(false);   // nasm has no operand form of the string instructions
  });

  it('every prefix word alone on a line is a prefix to nasm, not a label', () => {
    const words = [...PREFIX_WORDS];
    const nasm = assembleWithNasm(words, 32);
    words.forEach((w, k) => {
      expect(nasm[k].warnings.filter((x) => x.startsWith('label')), w).toEqual([]);
      expect(nasm[k].errors, w).toEqual([]);
      expect(isMnemonic(w), w).toBe(false);
    });
    expect(words.sort()).toEqual(['a16', 'a32', 'cs', 'ds', 'es', 'fs', 'gs', 'lock', 'o16', 'o32', 'rep', 'repe', 'repne', 'repnz', 'repz', 'ss']);
  });

  it('instructions nasm knows but this assembler does not encode fail with a clear message', () => {
    const res = encode(req('fninit', []), { bits: 32, address: 0, final: true });
    expect(res).toEqual({ ok: false, error: 'instruction `fninit\' is not supported by the built-in assembler' });
    const unknown = encode(req('foo', []), { bits: 32, address: 0, final: true });
    expect(unknown).toEqual({ ok: false, error: 'unknown instruction `foo\'' });
  });
});
