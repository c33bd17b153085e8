/**
 * Instruction requests for the encoder tests, enumerated programmatically: for every
 * mnemonic, the cross product of sample operands of every kind its forms take in each
 * position (so that valid and invalid combinations are both tried), immediates at the
 * boundary values, memory operands over base/index/scale/displacement combinations, prefixes
 * and segment overrides.
 */
import type { InstructionRequest, MemoryOperand, Operand, SegmentRegister, SizeKeyword } from '../../src/asm/operand';
import * as F from '../../src/asm/encoder/opflags';
import { TEMPLATES } from '../../src/asm/encoder/templates';

export const BOUNDARY_VALUES: readonly number[] = [
  0, 1, 2, 0x7f, 0x80, -1, -128, -129, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000,
  0x7fffffff, 0x80000000, 0xffffffff,
];

export const reg = (name: string): Operand => ({ kind: 'reg', name });
export const imm = (value: number, more: Partial<Extract<Operand, { kind: 'imm' }>> = {}): Operand => ({ kind: 'imm', value, ...more });
export function mem(o: Partial<MemoryOperand>): MemoryOperand {
  return { kind: 'mem', scale: 1, disp: 0, hasDisp: false, ...o };
}
export const req = (mnemonic: string, operands: Operand[], prefixes: string[] = []): InstructionRequest => ({ mnemonic, prefixes, operands });

type Kind = 'r8' | 'r16' | 'r32' | 'sreg' | 'creg' | 'dreg' | 'mem' | 'imm' | 'far' | 'near';

const POOLS: Record<Kind, () => Operand[]> = {
  r8: () => ['al', 'cl', 'dl', 'ah', 'bh'].map(reg),
  r16: () => ['ax', 'cx', 'dx', 'sp', 'di'].map(reg),
  r32: () => ['eax', 'ecx', 'edx', 'esp', 'ebp', 'edi'].map(reg),
  sreg: () => ['es', 'cs', 'ss', 'ds', 'fs', 'gs'].map(reg),
  creg: () => ['cr0', 'cr2', 'cr3', 'cr4'].map(reg),
  dreg: () => ['dr0', 'dr3', 'dr6', 'dr7'].map(reg),
  mem: () => {
    const sizes: (SizeKeyword | undefined)[] = [undefined, 'byte', 'word', 'dword', 'qword', 'tword', 'far', 'near'];
    const list: Operand[] = sizes.map((size) => mem({ size, base: 'ebx', disp: 4 }));
    list.push(
      mem({ base: 'bp', index: 'si' }), mem({ size: 'word', base: 'bx', disp: -2 }),
      mem({ disp: 0x1234 }), mem({ size: 'byte', disp: 0x1234 }), mem({ size: 'dword', disp: 0x1234 }),
      mem({ size: 'word', disp: 0x12, dispSize: 'word' }),
      mem({ segment: 'fs', base: 'edi', disp: -0x80 }), mem({ base: 'esp' }),
      mem({ size: 'dword', segment: 'es', base: 'eax', index: 'ecx', scale: 4, disp: 0x100 }),
      mem({ size: 'far', distance: 'far', base: 'esi' }), mem({ size: 'dword', distance: 'far', base: 'esi' }),
      mem({ size: 'word', distance: 'far', base: 'si' }), mem({ size: 'dword', distance: 'near', base: 'esi' }),
    );
    return list;
  },
  imm: () => immediates(BOUNDARY_VALUES, [[], ['byte'], ['word'], ['dword'], ['qword'], ['tword'], ['short'], ['near'], ['strict'], ['strict', 'byte'], ['strict', 'word'], ['strict', 'dword']]),
  far: () => [
    { kind: 'farptr', segment: 8, offset: 0x1234 },
    { kind: 'farptr', segment: 0xffff, offset: 0xffffffff },
    { kind: 'farptr', segment: 0x10, offset: 0x12345, size: 'dword' },
    { kind: 'farptr', segment: 0x10, offset: 0x1234, size: 'word' },
    { kind: 'farptr', segment: 0x10, offset: 0x1234, offsetSize: 'dword' },
    { kind: 'farptr', segment: 0x10, offset: 0x1234, offsetSize: 'word' },
    { kind: 'farptr', segment: 0x10, offset: 0x1234, size: 'byte' },
  ],
  near: () => [imm(0x1234, { size: 'far' })],
};

/** Immediates with size keywords: each entry of `words` is [strict?, size?]. */
export function immediates(values: readonly number[], words: readonly string[][]): Operand[] {
  const out: Operand[] = [];
  for (const v of values) {
    for (const w of words) {
      const strict = w.includes('strict');
      const size = w.find((x) => x !== 'strict') as SizeKeyword | undefined;
      out.push(imm(v, { strict: strict || undefined, size }));
    }
  }
  return out;
}

/** The operand kinds an operand class accepts. */
function kindsOf(cls: number): Kind[] {
  if (cls & F.COLON) return ['far'];
  if (cls & F.IMMEDIATE) return cls & F.FAR ? ['near'] : ['imm'];
  if (cls & F.CLASS_SREG) return ['sreg'];
  if (cls & F.CLASS_CDT) return [(cls & F.REG_CREG) === F.REG_CREG ? 'creg' : 'dreg'];
  const regs: Kind[] = [];
  if (cls & F.CLASS_GPR) {
    const size = cls & F.SIZE_MASK;
    if (size === 0 || size & F.BITS8) regs.push('r8');
    if (size === 0 || size & F.BITS16) regs.push('r16');
    if (size === 0 || size & F.BITS32) regs.push('r32');
  }
  if ((cls & F.REGISTER) !== 0) return regs;
  if (F.isClass(F.MEMORY, cls)) return ['mem'];
  return [...regs, 'mem'];   // r/m
}

/** A deterministic sample of at most `cap` elements, spread over the list. */
function spread<T>(list: T[], cap: number): T[] {
  if (list.length <= cap) return list;
  const out: T[] = [];
  const step = list.length / cap;
  for (let k = 0; k < cap; k++) out.push(list[Math.floor(k * step + (k * 7919) % step)]);
  return out;
}

function product(pools: Operand[][]): Operand[][] {
  let acc: Operand[][] = [[]];
  for (const pool of pools) acc = acc.flatMap((a) => pool.map((o) => [...a, o]));
  return acc;
}

/** Mnemonics whose operands are branch targets: tested with known addresses elsewhere. */
export const BRANCHES = new Set([...TEMPLATES.keys()].filter((m) => TEMPLATES.get(m)!.some((t) => / rel8?\]/.test(t.line))));

/** Every mnemonic with every combination of sample operands its forms suggest, at most `cap` per operand count. */
export function operandMatrix(cap: number): InstructionRequest[] {
  const out: InstructionRequest[] = [];
  for (const [mnemonic, templates] of TEMPLATES) {
    if (BRANCHES.has(mnemonic)) continue;
    const byCount = new Map<number, Set<Kind>[]>();
    for (const t of templates) {
      const colon = t.ops.some((c) => c & F.COLON);
      const n = colon ? t.ops.length - 1 : t.ops.length;
      let kinds = byCount.get(n);
      if (kinds === undefined) byCount.set(n, kinds = Array.from({ length: n }, () => new Set<Kind>()));
      t.ops.forEach((cls, i) => {
        if (colon && i > 0) return;
        for (const k of kindsOf(cls)) kinds![i].add(k);
      });
    }
    // Also a wrong operand count: nasm must reject it the same way. (WAIT is a prefix to
    // nasm, so `wait eax` is a syntax error there rather than an operand mismatch.)
    if (!byCount.has(0)) byCount.set(0, []);
    if (!byCount.has(1) && mnemonic !== 'wait') byCount.set(1, [new Set<Kind>(['r32', 'imm'])]);
    for (const kinds of byCount.values()) {
      const pools = kinds.map((set) => [...set].flatMap((k) => POOLS[k]()));
      const combos = pools.length === 0 ? [[]] : product(pools.map((p) => spread(p, 400)));
      for (const ops of spread(combos, cap)) out.push(req(mnemonic, ops));
    }
  }
  return out;
}

const EA32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const EA16 = ['bx', 'bp', 'si', 'di'];
const DISPS: readonly (number | 'absent')[] = ['absent', 0, 1, 0x7f, 0x80, -0x80, -0x81, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0xffffffff];

/** Memory operands over every base/index/scale/displacement/displacement-size combination. */
export function effectiveAddresses(): MemoryOperand[] {
  const out: MemoryOperand[] = [];
  const dispVariants = (o: Partial<MemoryOperand>, sizes: readonly (MemoryOperand['dispSize'])[]): void => {
    for (const d of DISPS) {
      for (const dispSize of sizes) {
        if (d === 'absent') out.push(mem({ ...o, dispSize }));
        else out.push(mem({ ...o, disp: d, hasDisp: true, dispSize }));
      }
    }
  };
  for (const base of [undefined, ...EA32]) {
    for (const index of [undefined, ...EA32]) {
      const scales = index === undefined ? [1] : base === undefined ? [1, 2, 3, 4, 5, 8, 9] : [1, 2, 4, 8];
      for (const scale of scales) {
        dispVariants({ base, index, scale }, [undefined, 'byte', 'dword']);
        if (index !== undefined) dispVariants({ base, index, scale, nosplit: true }, [undefined]);
      }
    }
  }
  for (const base of [undefined, ...EA16]) {
    for (const index of [undefined, ...EA16]) {
      dispVariants({ base, index }, [undefined, 'byte', 'word']);
    }
  }
  // Mixed and invalid registers.
  out.push(mem({ base: 'eax', index: 'bx' }), mem({ base: 'ax' }), mem({ base: 'bx', index: 'si', scale: 2 }),
    mem({ base: 'bx', dispSize: 'dword' }), mem({ base: 'eax', dispSize: 'word' }), mem({ base: 'es' }));
  return out;
}

export const SEGMENTS: readonly SegmentRegister[] = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];

/** Prefix words, alone and combined, including conflicting and redundant ones. */
export const PREFIX_SETS: readonly string[][] = [
  ['rep'], ['repe'], ['repz'], ['repne'], ['repnz'], ['lock'], ['o16'], ['o32'], ['a16'], ['a32'],
  ...SEGMENTS.map((s) => [s]), ['lock', 'fs'], ['rep', 'es', 'o16', 'a32'], ['rep', 'repne'],
  ['o16', 'o32'], ['lock', 'lock'],
];
