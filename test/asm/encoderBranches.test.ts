// Relative branches, label-valued (relocatable) operands and forward references, against
// nasm 2.16.01 at a known `org`: every expected byte comes from nasm's output for the same
// source (read from the binary, since the listing shows relocated fields before fix-up).
import { describe, expect, it } from 'vitest';
import { encode } from '../../src/asm/encoder/index';
import type { Bits, ImmediateOperand, InstructionRequest, Operand, SizeKeyword } from '../../src/asm/operand';
import { CONDITIONS } from '../../src/asm/encoder/table';
import { imm, mem, reg, req } from './encoderCases';
import { compareWithNasm, fixed, report, type Case } from './encoderCompare';
import { ANCHOR, assembleWithNasm, formatRequest, hex } from './encoderNasm';

const ORG: Record<Bits, number> = { 16: 0x7c00, 32: 0x100000 };
/** A label in a section of its own: never a short jump target. */
const OTHER = 0x300000;
const OTHER_SECTION = ['section other vstart=0x300000', 'other: nop'];

/** Distances from the instruction's first byte, around every short/near boundary. */
const DISTANCES = [
  -0x9000, -300, -131, -130, -129, -128, -127, -126, -125, -124, -3, -2, 0, 2, 3, 4, 5, 6,
  125, 126, 127, 128, 129, 130, 131, 132, 133, 134, 135, 200, 0x7ff0, 0x8010, 0x12345,
];

type Keyword = { strict?: boolean; size?: SizeKeyword; distance?: ImmediateOperand['distance'] };
const KEYWORDS: Keyword[] = [
  {}, { size: 'short' }, { size: 'near' }, { size: 'word' }, { size: 'dword' }, { strict: true },
  { strict: true, size: 'short' }, { size: 'dword', distance: 'near' }, { size: 'far' },
];

function words(k: Keyword): string {
  return [k.strict ? 'strict ' : '', k.size ? k.size + ' ' : '', k.distance ? k.distance + ' ' : ''].join('');
}

/** `mnemonic [keywords] $+n[, extra]`: a branch to its own address plus n. */
function toHere(mnemonic: string, n: number, k: Keyword, extra: Operand[] = [], prefixes: string[] = []): Case {
  const tail = extra.map((o) => `, ${(o as { name: string }).name}`).join('');
  const text = `${prefixes.join(' ')} ${mnemonic} ${words(k)}$${n < 0 ? '-' : '+'}${Math.abs(n)}${tail}`.trim();
  return {
    text,
    build: (address) => req(mnemonic, [imm(address + n, { ...k, relocatable: true }), ...extra], prefixes),
  };
}

function expectSame(cases: readonly Case[], bits: Bits, trailer: readonly string[] = []): void {
  const c = compareWithNasm(cases, bits, { org: ORG[bits], trailer });
  expect(c.mismatches.length, `${c.mismatches.length} of ${c.cases} differ from nasm:\n${report(c)}`).toBe(0);
}

const JCC = CONDITIONS.map(([cc]) => `j${cc}`);

describe('relative branches at known addresses', () => {
  for (const bits of [32, 16] as Bits[]) {
    it(`jmp, call and every jcc alias at every distance and keyword, bits ${bits}`, () => {
      const cases: Case[] = [];
      for (const m of ['jmp', 'call', ...JCC]) {
        for (const n of DISTANCES) for (const k of KEYWORDS) cases.push(toHere(m, n, k));
      }
      expect(cases.length).toBeGreaterThan(9_000);
      expectSame(cases, bits);
    });

    it(`jcxz, jecxz and the loops (short only: out of range is an error), bits ${bits}`, () => {
      const cases: Case[] = [];
      for (const m of ['jcxz', 'jecxz', 'loop', 'loope', 'loopz', 'loopne', 'loopnz']) {
        for (const n of DISTANCES) {
          cases.push(toHere(m, n, {}), toHere(m, n, { size: 'short' }));
          if (m.startsWith('loop')) cases.push(toHere(m, n, {}, [reg('cx')]), toHere(m, n, {}, [reg('ecx')]));
        }
      }
      expectSame(cases, bits);
    });

    it(`absolute targets, targets in another section, and prefixes on branches, bits ${bits}`, () => {
      const org = ORG[bits];
      const cases: Case[] = [];
      for (const m of ['jmp', 'call', 'je', 'jcxz', 'loop']) {
        for (const target of [0, 0x1234, org + 4, org + 0x200, 0xfffffff0]) {
          for (const k of [{}, { size: 'short' }, { size: 'near' }] as Keyword[]) cases.push(fixed(req(m, [imm(target, k)]), org));
        }
        for (const k of [{}, { size: 'short' }, { size: 'near' }] as Keyword[]) {
          cases.push({ text: `${m} ${words(k)}other`, build: () => req(m, [imm(OTHER, { ...k, relocatable: true, foreignSection: true })]) });
        }
      }
      for (const p of [['repne'], ['repnz'], ['rep'], ['o16'], ['o32'], ['a16'], ['a32'], ['cs'], ['lock']]) {
        for (const m of ['jmp', 'call', 'jnz', 'loop', 'jcxz']) {
          for (const n of [2, 200]) cases.push(toHere(m, n, {}, [], p));
        }
      }
      expectSame(cases, bits, OTHER_SECTION);
    });
  }
});

describe('label-valued operands', () => {
  for (const bits of [32, 16] as Bits[]) {
    it(`immediates and displacements that are label addresses use the full-size forms, bits ${bits}`, () => {
      const org = ORG[bits];
      const L = (off: number, more: Partial<ImmediateOperand> = {}): Operand => imm(org + off, { relocatable: true, ...more });
      const M = (o: Parameters<typeof mem>[0], off: number) => mem({ ...o, disp: org + off, hasDisp: true, relocatable: true });
      const reqs: InstructionRequest[] = [];
      for (const off of [0, 1, 0x10, 0x7f, 0x80, 0x1000]) {
        reqs.push(
          req('push', [L(off)]), req('push', [L(off, { size: 'dword' })]), req('push', [L(off, { size: 'word' })]),
          req('push', [L(off, { size: 'byte' })]), req('add', [reg('eax'), L(off)]), req('add', [reg('ebx'), L(off)]),
          req('add', [reg('ax'), L(off)]), req('add', [reg('eax'), L(off, { size: 'byte' })]), req('cmp', [reg('al'), L(off)]),
          req('mov', [reg('eax'), L(off)]), req('mov', [mem({ size: 'dword', base: 'ebx' }), L(off)]),
          req('and', [mem({ size: 'word', base: 'bx' }), L(off)]), req('imul', [reg('eax'), reg('ebx'), L(off)]),
          req('shl', [reg('eax'), L(off)]), req('enter', [L(off), imm(0)]), req('int', [L(off)]),
          req('mov', [reg('eax'), M({}, off)]), req('mov', [reg('ecx'), M({}, off)]), req('mov', [reg('al'), M({}, off)]),
          req('mov', [M({}, off), reg('ax')]), req('mov', [reg('ecx'), M({ base: 'ebx' }, off)]),
          req('lea', [reg('esi'), M({}, off)]),
          req('lea', [reg('esi'), M({ base: 'esi', index: 'ecx', scale: 4 }, off)]), req('mov', [reg('cx'), M({ base: 'bp' }, off)]),
          req('mov', [reg('cx'), M({ base: 'bx', index: 'di' }, off)]), req('inc', [{ ...M({ base: 'ebp' }, off), size: 'byte' }]),
          req('jmp', [{ kind: 'farptr', segment: 8, offset: org + off }]), req('jmp', [L(off, { size: 'far' })]),
          req('call', [L(off, { size: 'far' })]),
        );
      }
      // [byte reg+label]: an 8-bit field for a label. nasm warns when the label's offset in its
      // section does not fit a byte; the encoder sees only the address, so only offsets that fit.
      for (const off of [0, 1, 0x10, 0x7f]) reqs.push(req('mov', [reg('ecx'), M({ base: 'ebx', dispSize: 'byte' }, off)]));
      const cases = reqs.map((r) => fixed(r, org));
      expectSame(cases, bits);
    });
  }
});

/**
 * A program for the multi-pass test: labels, `equ` constants, padding, and instructions whose
 * operands name symbols. `Sym` gives a symbol's value in the current pass, or undefined when
 * it is not defined yet (a forward reference in the first pass).
 */
type Sym = (name: string) => number | undefined;
type Item =
  | { label: string }
  | { equ: string; value: number }
  | { pad: number }
  | { text: string; build(sym: Sym): InstructionRequest };

const op = (text: string, build: (sym: Sym) => InstructionRequest): Item => ({ text, build });
/** A branch to a label. */
const to = (m: string, name: string, k: Keyword = {}): Item =>
  op(`${m} ${words(k)}${name}`, (s) => req(m, [{ kind: 'imm', value: s(name), relocatable: true, ...k }]));
/** An `equ` constant as an immediate (a plain number, not relocatable). */
const constant = (s: Sym, name: string): Operand => ({ kind: 'imm', value: s(name) });

/**
 * Assembles `items` the way a multi-pass front end does: symbols start unknown, each pass
 * uses the previous pass's values for symbols defined further down, and passes repeat until
 * no symbol moves; then a final pass in which every value is known. Returns the bytes.
 */
function assembleInPasses(items: readonly Item[], bits: Bits, org: number): Uint8Array {
  const run = (sym: Sym, final: boolean, define: (name: string, v: number) => void): number[] => {
    const out: number[] = [];
    for (const item of items) {
      const address = org + out.length;
      if ('label' in item) define(item.label, address);
      else if ('equ' in item) define(item.equ, item.value);
      else if ('pad' in item) out.push(...new Array<number>(item.pad).fill(0x90));
      else {
        const res = encode(item.build(sym), { bits, address, final });
        if (!res.ok) throw new Error(`${item.text}: ${res.error}`);
        out.push(...res.bytes);
      }
    }
    return out;
  };
  let previous = new Map<string, number>();
  for (let pass = 1; pass <= 20; pass++) {
    const current = new Map<string, number>();
    run((n) => current.get(n) ?? previous.get(n), false, (n, v) => current.set(n, v));
    const settled = pass > 1 && [...current].every(([k, v]) => previous.get(k) === v);
    previous = current;
    if (settled) return Uint8Array.from(run((n) => current.get(n), true, () => undefined));
  }
  throw new Error('passes did not settle');
}

function nasmProgram(items: readonly Item[], bits: Bits, org: number): Uint8Array {
  const lines = items.flatMap((i) => ('label' in i ? [`${i.label}:`] : 'equ' in i ? [`${i.equ} equ ${i.value}`]
    : 'pad' in i ? new Array<string>(i.pad).fill('nop') : [i.text]));
  const bytes: number[] = [];
  assembleWithNasm(lines, bits, org).forEach((r, k) => {
    if (r.errors.length > 0) throw new Error(`nasm: ${lines[k]}: ${r.errors[0]}`);
    bytes.push(...(r.bytes ?? []));
  });
  return Uint8Array.from(bytes);
}

describe('forward references converge on nasm\'s choice over passes', () => {
  const programs: Record<string, Item[]> = {
    'forward jumps just inside and just outside short range': [
      to('jmp', 'a'), { pad: 127 }, { label: 'a' },
      to('jmp', 'b'), { pad: 128 }, { label: 'b' },
      to('jz', 'c'), { pad: 127 }, { label: 'c' },
      to('jnz', 'd'), { pad: 128 }, { label: 'd' },
      to('call', 'a'), to('jmp', 'a'), to('jmp', 'e', { size: 'short' }), { label: 'e' },
    ],
    'a jump whose range depends on a forward constant in between': [
      to('jmp', 'far1'), op('add eax, BIG', (s) => req('add', [reg('eax'), constant(s, 'BIG')])), { pad: 124 }, { label: 'far1' },
      to('jmp', 'far2'), op('add eax, SMALL', (s) => req('add', [reg('eax'), constant(s, 'SMALL')])), { pad: 122 }, { label: 'far2' },
      { equ: 'BIG', value: 1000 }, { equ: 'SMALL', value: 5 },
    ],
    'immediates and displacements that are forward constants or labels': [
      op('add eax, N1', (s) => req('add', [reg('eax'), constant(s, 'N1')])),
      op('push N1', (s) => req('push', [constant(s, 'N1')])),
      op('push N2', (s) => req('push', [constant(s, 'N2')])),
      op('shl ebx, ONE', (s) => req('shl', [reg('ebx'), constant(s, 'ONE')])),
      op('shl ebx, N1', (s) => req('shl', [reg('ebx'), constant(s, 'N1')])),
      op('imul ecx, N2', (s) => req('imul', [reg('ecx'), constant(s, 'N2')])),
      op('mov eax, [ebx+N1]', (s) => req('mov', [reg('eax'), mem({ base: 'ebx', disp: s('N1') })])),
      op('mov eax, [ebx+N2]', (s) => req('mov', [reg('eax'), mem({ base: 'ebx', disp: s('N2') })])),
      op('mov eax, [N2]', (s) => req('mov', [reg('eax'), mem({ disp: s('N2') })])),
      op('push here', (s) => req('push', [{ kind: 'imm', value: s('here'), relocatable: true }])),
      op('mov eax, [esi+here]', (s) => req('mov', [reg('eax'), mem({ base: 'esi', disp: s('here'), relocatable: true })])),
      { label: 'here' },
      { equ: 'N1', value: 3 }, { equ: 'N2', value: 300 }, { equ: 'ONE', value: 1 },
    ],
    'backward and forward jumps that depend on each other': [
      { label: 'top' }, { pad: 60 },
      to('jmp', 'down'), { pad: 60 },
      to('jmp', 'top'), { pad: 61 },
      { label: 'down' }, to('loop', 'next'), { label: 'next' }, to('jcxz', 'down'),
    ],
  };
  for (const bits of [32, 16] as Bits[]) {
    for (const [name, items] of Object.entries(programs)) {
      it(`${name}, bits ${bits}`, () => {
        const org = ORG[bits];
        expect(hex(assembleInPasses(items, bits, org))).toBe(hex(nasmProgram(items, bits, org)));
      });
    }
  }

  it('first-pass guesses: unknown targets are short, unknown immediates fit a byte, unknown displacements are full size', () => {
    const first = (r: InstructionRequest, bits: Bits = 32): string => {
      const res = encode(r, { bits, address: 0x1000, final: false });
      return res.ok ? hex(res.bytes) : res.error;
    };
    const unknown: Operand = { kind: 'imm', value: undefined };
    expect(first(req('jmp', [unknown]))).toBe('eb00');
    expect(first(req('je', [unknown]))).toBe('7400');
    expect(first(req('call', [unknown]))).toBe('e800000000');
    expect(first(req('add', [reg('eax'), unknown]))).toBe('83c000');
    expect(first(req('add', [reg('eax'), { ...unknown, strict: true }]))).toBe('0500000000');
    expect(first(req('push', [unknown]))).toBe('6a00');
    expect(first(req('shl', [reg('eax'), unknown]))).toBe('d1e0');
    expect(first(req('mov', [reg('ecx'), mem({ base: 'ebx', disp: undefined })]))).toBe('8b8b00000000');
    expect(first(req('mov', [reg('cx'), mem({ base: 'bx', disp: undefined })]), 16)).toBe('8b8f0000');
    // In the final pass an unknown value is an error, not a guess.
    expect(encode(req('jmp', [unknown]), { bits: 32, address: 0, final: true }).ok).toBe(false);
  });
});

it('formats requests the way the tests feed them to nasm', () => {
  // The formatter is part of the oracle: check it on a few shapes by hand.
  expect(formatRequest(req('mov', [reg('eax'), mem({ size: 'dword', segment: 'fs', base: 'ebx', index: 'esi', scale: 4, disp: -8, hasDisp: true })]))).toBe('mov eax, dword [fs:ebx+esi*4+-0x8]');
  expect(formatRequest(req('push', [imm(0x10, { relocatable: true, strict: true, size: 'dword' })]), 0)).toBe(`push strict dword (${ANCHOR}+0x10)`);
  expect(formatRequest(req('movsb', [], ['rep']))).toBe('rep movsb');
});
