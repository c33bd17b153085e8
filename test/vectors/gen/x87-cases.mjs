// The x87 instructions, operand values and control words the x87 vectors cover. A vector
// is a snippet run with ESI pointing at a data block (layout below): FNINIT, FLDCW, EFLAGS
// and the input stack are loaded from the block, the instruction runs, and FNSAVE stores
// the whole FPU state back into the block, with EFLAGS and EAX after it.

/** Offsets in the data block. */
export const LAYOUT = {
  cw: 0x00, eflags: 0x04, stack: 0x10, save: 0x80, eflagsOut: 0xf0, eaxOut: 0xf4, mem: 0x100,
};

const SEED = 0x87f00d;

/** Extended values as "sign+exponent:significand" (the memory image, hex). */
export const V = {
  pz: '0000:0000000000000000', nz: '8000:0000000000000000',
  one: '3fff:8000000000000000', mone: 'bfff:8000000000000000',
  onePlus: '3fff:8000000000000001', oneMinus: '3ffe:ffffffffffffffff',
  two: '4000:8000000000000000', three: '4000:c000000000000000', ten: '4002:a000000000000000',
  tenth: '3ffb:cccccccccccccccd', pi: '4000:c90fdaa22168c235', half: '3ffe:8000000000000000',
  mhalf: 'bffe:8000000000000000', onePointFive: '3fff:c000000000000000', twoAndHalf: '4000:a000000000000000',
  big: '43e7:8000000000000000', huge: '7ffe:ffffffffffffffff', mhuge: 'fffe:ffffffffffffffff',
  tiny: '0001:8000000000000000', small: '3c00:ffffffffffffffff',
  den: '0000:0000000000000001', denBig: '0000:7fffffffffffffff', mden: '8000:4000000000000000',
  pseudoDen: '0000:8000000000000001',
  pinf: '7fff:8000000000000000', ninf: 'ffff:8000000000000000',
  qnan: '7fff:c000000000000123', qnanBig: 'ffff:c000000000abcdef', indefinite: 'ffff:c000000000000000',
  snan: '7fff:8000000000000456', snanBig: 'ffff:a000000000000000',
  unnormal: '4000:4000000000000000', pseudoNan: '7fff:4000000000000001', pseudoInf: '7fff:0000000000000000',
  round24: '3fff:8000018000000000', round53: '3fff:8000000000000c00', odd: '3fff:aaaaaaaaaaaaaaab',
  int31: '401d:ffffffff00000000', int63: '403e:8000000000000000', m63: 'c03e:8000000000000000',
  bcdMax: '403a:de0b6b3a763fffe0', m17: 'c003:8800000000000000',
};

const FINITE = ['pz', 'nz', 'one', 'mone', 'onePlus', 'oneMinus', 'two', 'three', 'ten', 'tenth', 'pi', 'half',
  'mhalf', 'onePointFive', 'twoAndHalf', 'big', 'huge', 'mhuge', 'tiny', 'small', 'den', 'denBig', 'mden',
  'pseudoDen', 'round24', 'round53', 'odd'];
const SPECIAL = ['pinf', 'ninf', 'qnan', 'qnanBig', 'indefinite', 'snan', 'snanBig', 'unnormal', 'pseudoNan', 'pseudoInf'];
const ALL = [...FINITE, ...SPECIAL];

/** Control words: masked in every precision and rounding mode, and with exceptions unmasked. */
const CW = {
  default: 0x037f, pc53: 0x027f, pc24: 0x007f, down: 0x077f, up: 0x0b7f, zero: 0x0f7f,
  unmaskAll: 0x0340, unmaskInvalid: 0x037e, unmaskOverflow: 0x0377, unmaskUnderflow: 0x036f,
  unmaskZero: 0x037b, unmaskDenormal: 0x037d, unmaskPrecision: 0x035f, pc53up: 0x0a7f, pc24down: 0x047f,
};
const ROUNDING = [CW.default, CW.down, CW.up, CW.zero];
const PRECISIONS = [CW.default, CW.pc53, CW.pc24, CW.pc53up, CW.pc24down];
const UNMASKED = [CW.unmaskAll, CW.unmaskInvalid, CW.unmaskOverflow, CW.unmaskUnderflow, CW.unmaskZero, CW.unmaskDenormal, CW.unmaskPrecision];

/** xorshift32: the same sequence every run. */
function makeRandom(seed) {
  let s = seed >>> 0;
  const next = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
  return {
    next,
    below: (n) => next() % n,
    pick(list) { return list[this.below(list.length)]; },
    /** A normal value with an exponent near 1.0's, near the ends of the range or anywhere. */
    normal() {
      const r = this.below(8);
      const e = r < 5 ? 0x3fff - 40 + this.below(80) : r === 5 ? 1 + this.below(70) : r === 6 ? 0x7ffe - this.below(70) : 1 + this.below(0x7ffd);
      const sign = this.below(2) ? 0x8000 : 0;
      const hi = (next() | 0x80000000) >>> 0;
      return `${(sign | e).toString(16).padStart(4, '0')}:${hi.toString(16).padStart(8, '0')}${next().toString(16).padStart(8, '0')}`;
    },
    /** A value with an exponent from `lo` to `hi` (unbiased): integers and halves for the rounding instructions. */
    near(lo, hi) {
      const e = 0x3fff + lo + this.below(hi - lo + 1);
      const sign = this.below(2) ? 0x8000 : 0;
      return `${(sign | e).toString(16).padStart(4, '0')}:${((next() | 0x80000000) >>> 0).toString(16).padStart(8, '0')}${next().toString(16).padStart(8, '0')}`;
    },
    flags: () => 0x2 | (next() & 0x8d5),
  };
}

const hex = (v, n) => v.toString(16).padStart(n, '0');

/** Operand pairs: every special value against every value 1 time in `share`, and finite pairs half as often. */
function pairs(random, share) {
  const out = [];
  for (const a of ALL) {
    for (const b of ALL) {
      const special = SPECIAL.includes(a) || SPECIAL.includes(b);
      if (random.below(special ? share : 2 * share) === 0) out.push([a, b]);
    }
  }
  return out;
}
const value = (name) => V[name] ?? name;

/**
 * A group: one instruction form (or a few sharing undefined bits). Each vector gives the form,
 * the control word, EFLAGS, the stack (ST(0) first, values or names of V) and memory bytes.
 * `undefinedSw`: status-word bits the SDM leaves undefined after the instruction.
 */
function group(name, forms, undefinedSw, vectors, extra = {}) {
  return { name, forms, undefinedSw, vectors, ...extra };
}

/** C0, C2 and C3: undefined after arithmetic, loads and stores (SDM Vol. 2, "FPU Flags Affected"). */
const C023 = 0x4500;
const CC_ALL = 0x4700;

/** Single and double encodings for memory operands. */
const F32 = ['00000000', '80000000', '3f800000', 'bf800000', '3fc00000', '40490fdb', '7f7fffff', '00800000', '00000001',
  '807fffff', '7f800000', 'ff800000', '7fc00000', '7fa00001', 'ffc12345', '3dcccccd', '4b800001'];
const F64 = ['0000000000000000', '8000000000000000', '3ff0000000000000', 'c000000000000000', '400921fb54442d18',
  '7fefffffffffffff', '0010000000000000', '0000000000000001', '800fffffffffffff', '7ff0000000000000',
  'fff0000000000000', '7ff8000000000000', '7ff4000000000001', '3fb999999999999a', '4340000000000001'];
const leBytes = (h) => h.match(/../g).reverse().join('');
const I16 = [0, 1, -1, 0x7fff, -0x8000, 1234, -10];
const I32 = [0, 1, -1, 0x7fffffff, -0x80000000, 123456789, -7];
const int16Bytes = (v) => leBytes(hex(v & 0xffff, 4));
const int32Bytes = (v) => leBytes(hex(v >>> 0, 8));

export function buildGroups() {
  const random = makeRandom(SEED);
  const groups = [];
  const vec = (form, cw, stack, mem = '', eflags = 0x2) => ({ form, cw, eflags, stack: stack.map(value), mem });

  // ---- two-operand arithmetic on registers
  for (const m of ['fadd', 'fsub', 'fsubr', 'fmul', 'fdiv', 'fdivr']) {
    const vectors = [];
    // Pairs of special and edge values: more of them for FADD, FMUL and FDIV.
    const share = m === 'fadd' ? 2 : m === 'fmul' || m === 'fdiv' ? 3 : 6;
    for (const [a, b] of pairs(random, share)) vectors.push(vec(0, CW.default, [a, b]));
    for (const cw of [...PRECISIONS, ...ROUNDING.slice(1)]) {
      for (let k = 0; k < 15; k++) vectors.push(vec(0, cw, [random.normal(), random.normal()]));
      for (const [a, b] of [['one', 'round24'], ['round53', 'two'], ['odd', 'three'], ['tiny', 'half'], ['huge', 'two'], ['mhuge', 'huge'], ['one', 'mone'], ['tenth', 'pi']]) {
        vectors.push(vec(0, cw, [a, b]));
      }
    }
    for (const cw of UNMASKED) {
      for (const [a, b] of [['huge', 'huge'], ['tiny', 'small'], ['den', 'one'], ['one', 'pz'], ['snan', 'one'], ['pinf', 'ninf'], ['one', 'three'], ['tiny', 'mden'], ['pz', 'pz']]) {
        vectors.push(vec(0, cw, [a, b]));
      }
    }
    vectors.push(vec(0, CW.default, []), vec(0, CW.default, ['one']), vec(0, CW.unmaskInvalid, ['one']));
    vectors.push(vec(1, CW.default, ['one', 'three', 'ten']), vec(1, CW.pc24, ['pi', 'tenth', 'ten']));
    vectors.push(vec(2, CW.default, ['three', 'ten']), vec(2, CW.default, ['one', 'pz']), vec(2, CW.unmaskZero, ['pz', 'one']), vec(2, CW.default, ['one']));
    vectors.push(vec(3, CW.default, ['three', 'ten']), vec(3, CW.unmaskInvalid, ['snan', 'ten']), vec(3, CW.down, ['tenth', 'pi']));
    const reversed = { fsub: 'fsubr', fsubr: 'fsub', fdiv: 'fdivr', fdivr: 'fdiv' }[m] ?? m;
    groups.push(group(`${m} (registers)`, [
      { text: `${m} st0, st1`, depth: 2 }, { text: `${m} st0, st2`, depth: 3 },
      { text: `${m} st1, st0`, depth: 2 }, { text: `${m}p st1, st0`, depth: 2 },
    ], C023, vectors));
    // The DC and DE encodings of fsub/fsubr and fdiv/fdivr swap their meaning; nasm picks the encoding from the name.
    if (reversed !== m) groups.at(-1).note = `DC/DE register forms encode ${m} with the reg field of ${reversed}`;
  }

  // ---- arithmetic with memory operands
  for (const m of ['fadd', 'fsub', 'fsubr', 'fmul', 'fdiv', 'fdivr']) {
    const vectors = [];
    const stacks = ['one', 'pi', 'mhuge', 'tiny', 'pz', 'qnan', 'snan', 'pinf', 'den'];
    F32.forEach((f) => { for (const s of stacks) if (random.below(2) === 0) vectors.push(vec(0, CW.default, [s], leBytes(f))); });
    F64.forEach((f) => { for (const s of stacks.slice(0, 5)) vectors.push(vec(1, random.pick(ROUNDING), [s], leBytes(f))); });
    I16.forEach((v) => { for (const s of ['one', 'pi', 'pz', 'huge']) vectors.push(vec(2, CW.default, [s], int16Bytes(v))); });
    I32.forEach((v) => { for (const s of ['one', 'pi', 'pz', 'huge']) vectors.push(vec(3, CW.pc24, [s], int32Bytes(v))); });
    for (const cw of [CW.unmaskDenormal, CW.unmaskInvalid]) {
      vectors.push(vec(0, cw, ['one'], leBytes('00000001')), vec(0, cw, ['qnan'], leBytes('00000001')), vec(1, cw, ['one'], leBytes('7ff4000000000001')));
    }
    vectors.push(vec(0, CW.default, [], leBytes('3f800000')));
    groups.push(group(`${m} (memory)`, [
      { text: `${m} dword [esi+0x100]`, depth: 1, mem: 4 }, { text: `${m} qword [esi+0x100]`, depth: 1, mem: 8 },
      { text: `fi${m.slice(1)} word [esi+0x100]`, depth: 1, mem: 2 }, { text: `fi${m.slice(1)} dword [esi+0x100]`, depth: 1, mem: 4 },
    ], C023, vectors));
  }

  // ---- one-operand functions
  const oneOperand = (name, text, undefinedSw, extraCws = []) => {
    const vectors = [];
    for (const a of ALL) for (const cw of [CW.default, ...extraCws]) vectors.push(vec(0, cw, [a]));
    for (const cw of [...PRECISIONS, ...ROUNDING]) for (let k = 0; k < 10; k++) vectors.push(vec(0, cw, [random.normal()]));
    for (const cw of UNMASKED) for (const a of ['den', 'snan', 'mone', 'pz', 'tenth', 'huge']) vectors.push(vec(0, cw, [a]));
    vectors.push(vec(0, CW.default, []));
    groups.push(group(name, [{ text, depth: 1 }], undefinedSw, vectors));
  };
  oneOperand('fsqrt', 'fsqrt', C023, [CW.pc24, CW.up]);
  oneOperand('frndint', 'frndint', C023, ROUNDING.slice(1));
  oneOperand('fchs', 'fchs', C023);
  oneOperand('fabs', 'fabs', C023);

  // FXTRACT pushes: the second form has a full stack.
  {
    const vectors = [];
    for (const a of ALL) vectors.push(vec(0, CW.default, [a]));
    for (const a of ['pz', 'nz', 'den']) vectors.push(vec(0, CW.unmaskZero, [a]), vec(0, CW.unmaskDenormal, [a]));
    for (let k = 0; k < 30; k++) vectors.push(vec(0, CW.default, [random.normal()]));
    vectors.push(vec(0, CW.default, []), vec(1, CW.default, Array(8).fill('one')));
    groups.push(group('fxtract', [{ text: 'fxtract', depth: 1 }, { text: 'fxtract', depth: 8 }], C023, vectors));
  }

  // ---- two-operand functions on ST(0), ST(1)
  const twoOperand = (name, text, undefinedSw, count) => {
    const vectors = [];
    for (const [a, b] of pairs(random, 4)) vectors.push(vec(0, CW.default, [a, b]));
    for (let k = 0; k < count; k++) vectors.push(vec(0, random.pick([...ROUNDING, CW.pc24, CW.pc53]), [random.normal(), random.normal()]));
    for (const cw of UNMASKED) for (const [a, b] of [['den', 'one'], ['one', 'pz'], ['huge', 'ten'], ['tiny', 'mone']]) vectors.push(vec(0, cw, [a, b]));
    vectors.push(vec(0, CW.default, ['one']));
    groups.push(group(name, [{ text, depth: 2 }], undefinedSw, vectors));
  };
  twoOperand('fscale', 'fscale', C023, 40);
  twoOperand('fprem', 'fprem', 0, 100);
  twoOperand('fprem1', 'fprem1', 0, 100);
  {
    const vectors = [];
    for (const [a, b] of [['big', 'pi'], ['huge', 'tenth'], ['huge', 'tiny'], ['ten', 'three'], ['twoAndHalf', 'one'], ['onePointFive', 'one'], ['half', 'one'], ['mhalf', 'one']]) {
      vectors.push(vec(0, CW.default, [a, b]), vec(1, CW.default, [a, b]), vec(2, CW.default, [a, b]), vec(3, CW.default, [a, b]));
    }
    groups.push(group('fprem/fprem1 repeated', [
      { text: 'fprem\nfprem\nfprem', depth: 2 }, { text: 'fprem1\nfprem1\nfprem1', depth: 2 },
      { text: `${'fprem\n'.repeat(400)}`, depth: 2 }, { text: `${'fprem1\n'.repeat(400)}`, depth: 2 },
    ], 0, vectors));
  }

  // ---- comparisons
  {
    const vectors = [];
    const forms = ['fcom st0, st1', 'fcomp st0, st1', 'fcompp', 'fucom st0, st1', 'fucomp st0, st1', 'fucompp'];
    forms.forEach((_, f) => {
      for (const [a, b] of pairs(random, f === 0 || f === 3 ? 3 : 12)) vectors.push(vec(f, CW.default, [a, b]));
      for (const cw of [CW.unmaskInvalid, CW.unmaskDenormal]) for (const [a, b] of [['qnan', 'one'], ['snan', 'one'], ['den', 'one']]) vectors.push(vec(f, cw, [a, b]));
      vectors.push(vec(f, CW.default, ['one']), vec(f, CW.unmaskInvalid, ['one']));
    });
    groups.push(group('fcom/fucom (registers)', forms.map((text) => ({ text, depth: 2 })), 0, vectors));
  }
  {
    const vectors = [];
    const forms = ['fcomi st0, st1', 'fcomip st0, st1', 'fucomi st0, st1', 'fucomip st0, st1'];
    forms.forEach((_, f) => {
      for (const [a, b] of pairs(random, 6)) vectors.push(vec(f, CW.default, [a, b], '', random.flags()));
      for (const [a, b] of [['qnan', 'one'], ['snan', 'one'], ['den', 'one']]) vectors.push(vec(f, CW.unmaskInvalid, [a, b], '', random.flags()), vec(f, CW.unmaskDenormal, [a, b], '', random.flags()));
      vectors.push(vec(f, CW.default, ['one'], '', 0x8d7));
    });
    groups.push(group('fcomi/fucomi', forms.map((text) => ({ text, depth: 2 })), 0, vectors));
  }
  {
    const vectors = [];
    for (const s of ALL) {
      F32.forEach((f) => { if (random.below(6) === 0) vectors.push(vec(0, CW.default, [s], leBytes(f))); });
      F64.forEach((f) => { if (random.below(6) === 0) vectors.push(vec(1, CW.default, [s], leBytes(f))); });
      I16.forEach((v) => { if (random.below(4) === 0) vectors.push(vec(2, CW.default, [s], int16Bytes(v))); });
      I32.forEach((v) => { if (random.below(4) === 0) vectors.push(vec(3, CW.default, [s], int32Bytes(v))); });
      vectors.push(vec(4, CW.default, [s, 'one'], leBytes('3f800000')), vec(5, CW.default, [s]));
    }
    vectors.push(vec(0, CW.unmaskDenormal, ['one'], leBytes('00000001')), vec(0, CW.default, [], leBytes('00000001')));
    groups.push(group('fcom/ficom (memory), ftst', [
      { text: 'fcom dword [esi+0x100]', depth: 1, mem: 4 }, { text: 'fcomp qword [esi+0x100]', depth: 1, mem: 8 },
      { text: 'ficom word [esi+0x100]', depth: 1, mem: 2 }, { text: 'ficomp dword [esi+0x100]', depth: 1, mem: 4 },
      { text: 'fcomp dword [esi+0x100]', depth: 2, mem: 4 }, { text: 'ftst', depth: 1 },
    ], 0, vectors));
  }
  {
    const vectors = ALL.map((a) => vec(0, CW.default, [a]));
    vectors.push(vec(0, CW.default, []), vec(1, CW.default, ['nz']), vec(1, CW.default, ['mone']));
    groups.push(group('fxam', [{ text: 'fxam', depth: 1 }, { text: 'ffree st0\nfxam', depth: 1 }], 0, vectors));
  }

  // ---- loads
  {
    const vectors = [];
    F32.forEach((f) => { vectors.push(vec(0, CW.default, ['one'], leBytes(f)), vec(0, CW.unmaskDenormal, [], leBytes(f)), vec(0, CW.unmaskInvalid, [], leBytes(f))); });
    F64.forEach((f) => { vectors.push(vec(1, CW.default, [], leBytes(f)), vec(1, CW.unmaskDenormal, [], leBytes(f))); });
    for (const a of ALL) vectors.push(vec(2, CW.default, ['one'], V[a].replace(':', '').match(/../g).reverse().join('')));
    I16.forEach((v) => vectors.push(vec(3, CW.default, [], int16Bytes(v))));
    I32.forEach((v) => vectors.push(vec(4, CW.pc24, [], int32Bytes(v))));
    for (const v of ['0000000000000000', 'ffffffffffffffff', '7fffffffffffffff', '8000000000000000', '0000000080000001', 'fedcba9876543210']) vectors.push(vec(5, CW.default, [], leBytes(v)));
    for (const b of ['00000000000000000000', '01000000000000000000', '99999999999999999999'.slice(0, 18) + '80', '21436587092143658709', '00000000000000000080']) vectors.push(vec(6, CW.default, [], b));
    vectors.push(vec(0, CW.default, Array(8).fill('two'), leBytes('3f800000')), vec(0, CW.unmaskInvalid, Array(8).fill('two'), leBytes('3f800000')));
    for (const a of ['one', 'snan', 'pseudoNan']) vectors.push(vec(7, CW.default, [a, 'pi']), vec(8, CW.default, [a, 'pi', 'ten']));
    vectors.push(vec(7, CW.default, ['one']), vec(7, CW.default, Array(8).fill('one')), vec(8, CW.unmaskInvalid, ['one']));
    groups.push(group('fld, fild, fbld', [
      { text: 'fld dword [esi+0x100]', depth: 1, mem: 4 }, { text: 'fld qword [esi+0x100]', depth: 0, mem: 8 },
      { text: 'fld tword [esi+0x100]', depth: 1, mem: 10 }, { text: 'fild word [esi+0x100]', depth: 0, mem: 2 },
      { text: 'fild dword [esi+0x100]', depth: 0, mem: 4 }, { text: 'fild qword [esi+0x100]', depth: 0, mem: 8 },
      { text: 'fbld [esi+0x100]', depth: 0, mem: 10 }, { text: 'fld st1', depth: 2 }, { text: 'fld st2', depth: 3 },
    ], C023, vectors));
  }
  {
    const names = ['fld1', 'fldl2t', 'fldl2e', 'fldpi', 'fldlg2', 'fldln2', 'fldz'];
    const vectors = [];
    names.forEach((_, f) => { for (const cw of [...ROUNDING, CW.pc24, CW.unmaskPrecision]) vectors.push(vec(f, cw, [])); vectors.push(vec(f, CW.default, Array(8).fill('one'))); });
    groups.push(group('constants', names.map((text) => ({ text, depth: 0 })), C023, vectors));
  }

  // ---- stores
  {
    const vectors = [];
    for (const a of ALL) {
      for (let f = 0; f < 5; f++) vectors.push(vec(f, CW.default, [a]));
    }
    for (const cw of [...ROUNDING, CW.pc24]) {
      for (let k = 0; k < 30; k++) vectors.push(vec(k % 5, cw, [random.normal()]));
      for (const a of ['odd', 'round24', 'round53', 'tenth', 'small', 'tiny', 'huge', 'big']) { vectors.push(vec(1, cw, [a]), vec(3, cw, [a])); }
    }
    for (const cw of UNMASKED) for (const a of ['huge', 'tiny', 'den', 'snan', 'tenth', 'small']) { vectors.push(vec(1, cw, [a]), vec(3, cw, [a])); }
    for (let f = 0; f < 5; f++) { vectors.push(vec(f, CW.default, []), vec(f, CW.unmaskInvalid, [])); }
    groups.push(group('fst, fstp (memory)', [
      { text: 'fst dword [esi+0x100]', depth: 1, mem: 4 }, { text: 'fstp dword [esi+0x100]', depth: 1, mem: 4 },
      { text: 'fst qword [esi+0x100]', depth: 1, mem: 8 }, { text: 'fstp qword [esi+0x100]', depth: 1, mem: 8 },
      { text: 'fstp tword [esi+0x100]', depth: 1, mem: 10 },
    ], C023, vectors));
  }
  {
    const ints = ['pz', 'nz', 'one', 'mone', 'half', 'mhalf', 'onePointFive', 'twoAndHalf', 'tenth', 'pi', 'ten', 'big', 'huge',
      'den', 'int31', 'int63', 'm63', 'bcdMax', 'm17', 'pinf', 'qnan', 'snan', 'unnormal', '400e:fffe000000000000',
      '400e:ffff000000000000', 'c00e:8000000000000000', 'c00e:8000800000000000', '401e:8000000000000000', 'c01e:8000000000000000',
      '403d:ffffffffffffffff', '403e:8000000000000001', 'c03e:8000000000000001', '403c:ffffffffffffffff'];
    const vectors = [];
    for (const a of ints) for (const cw of ROUNDING) for (let f = 0; f < 7; f++) if (cw === CW.default || f % 2 === 1) vectors.push(vec(f, cw, [a]));
    for (let k = 0; k < 40; k++) vectors.push(vec(k % 7, random.pick(ROUNDING), [random.near(-2, 66)]));
    for (let f = 0; f < 7; f++) vectors.push(vec(f, CW.default, []), vec(f, CW.unmaskInvalid, ['big']), vec(f, CW.unmaskPrecision, ['tenth']));
    groups.push(group('fist, fistp, fbstp', [
      { text: 'fist word [esi+0x100]', depth: 1, mem: 2 }, { text: 'fistp word [esi+0x100]', depth: 1, mem: 2 },
      { text: 'fist dword [esi+0x100]', depth: 1, mem: 4 }, { text: 'fistp dword [esi+0x100]', depth: 1, mem: 4 },
      { text: 'fistp qword [esi+0x100]', depth: 1, mem: 8 }, { text: 'fbstp [esi+0x100]', depth: 1, mem: 10 },
      { text: 'fistp qword [esi+0x100]', depth: 2, mem: 8 },
    ], C023, vectors));
  }

  // ---- register moves
  {
    const vectors = [];
    for (const a of ['one', 'snan', 'pseudoNan', 'den']) for (let f = 0; f < 5; f++) vectors.push(vec(f, CW.default, [a, 'pi', 'ten']));
    for (let f = 0; f < 5; f++) vectors.push(vec(f, CW.default, ['one']), vec(f, CW.default, []), vec(f, CW.unmaskInvalid, ['one']));
    groups.push(group('fst, fstp, fxch (registers)', [
      { text: 'fst st2', depth: 3 }, { text: 'fstp st2', depth: 3 }, { text: 'fstp st0', depth: 3 },
      { text: 'fxch st1', depth: 3 }, { text: 'fxch st2', depth: 3 },
    ], C023, vectors));
  }
  {
    const conds = ['b', 'e', 'be', 'u', 'nb', 'ne', 'nbe', 'nu'];
    const vectors = [];
    conds.forEach((_, f) => {
      for (const flags of [0x2, 0x3, 0x42, 0x43, 0x6, 0x47, 0x8d7, 0x882]) vectors.push(vec(f, CW.default, ['one', 'pi'], '', flags));
      vectors.push(vec(f, CW.default, ['one'], '', 0x47));
    });
    groups.push(group('fcmovcc', conds.map((c) => ({ text: `fcmov${c} st0, st1`, depth: 2 })), C023, vectors));
  }

  // ---- control
  {
    const vectors = [];
    for (const cw of [0x0000, 0xffff, 0x1f7f, 0x0c40, 0x0240]) vectors.push(vec(0, CW.default, ['one'], int16Bytes(cw)));
    vectors.push(vec(1, CW.default, ['one', 'three'], int16Bytes(0x035f)), vec(1, CW.default, ['one', 'three'], int16Bytes(0x037f)));
    for (const cw of [CW.default, CW.unmaskAll]) vectors.push(vec(2, cw, ['one', 'pz']), vec(3, cw, ['one', 'three']), vec(4, cw, ['one', 'pz']), vec(5, cw, ['one', 'two']), vec(6, cw, ['one', 'two']));
    vectors.push(vec(7, CW.default, ['one', 'two', 'pi']), vec(8, CW.default, ['one', 'two']), vec(9, CW.default, ['one']), vec(9, CW.default, Array(8).fill('one')));
    vectors.push(vec(10, CW.default, ['one', 'two', 'three']), vec(10, CW.unmaskInvalid, ['one']), vec(11, CW.default, ['pz', 'two']));
    groups.push(group('control', [
      { text: 'fldcw [esi+0x100]\nfnstcw [esi+0x100]', depth: 1, mem: 2 },
      { text: 'fdiv st0, st1\nfldcw [esi+0x100]\nfnstsw ax', depth: 2, mem: 2 },
      { text: 'fdiv st0, st1\nfnclex', depth: 2 },
      { text: 'fdiv st0, st1\nfnstsw word [esi+0x100]', depth: 2, mem: 2 },
      { text: 'fdiv st0, st1\nfninit', depth: 2 },
      { text: 'fincstp', depth: 2 }, { text: 'fdecstp', depth: 2 },
      { text: 'ffree st1', depth: 3 }, { text: 'ffreep st0', depth: 2 }, { text: 'fnop', depth: 1 },
      { text: 'fdecstp\nfdecstp\nfld1', depth: 3 }, { text: 'fdiv st0, st0\nfnstsw ax', depth: 2 },
    ], CC_ALL, vectors));
  }
  {
    // The environment and FXSAVE area; pointer fields hold host addresses and are not compared,
    // nor the saved contents of empty registers (what earlier snippets left there).
    const vectors = [];
    for (const cw of [CW.default, CW.unmaskAll, CW.pc24]) {
      vectors.push(vec(0, cw, ['one', 'pz', 'den', 'pinf']), vec(1, cw, ['one', 'pz']));
      // (With an exception left pending, FLD1 would raise #MF.)
      if (cw !== CW.unmaskAll) vectors.push(vec(2, cw, ['pi', 'nz', 'qnan']));
    }
    vectors.push(vec(3, CW.default, ['one', 'two']), vec(4, CW.default, ['one', 'two']));
    groups.push(group('fnstenv, fxsave', [
      { text: 'fdiv st0, st1\nfnstenv [esi+0x100]', depth: 2, mem: 28, ignore: [[12, 18], [20, 26]] },
      { text: 'fdiv st0, st1\nfxsave [esi+0x100]', depth: 2, mem: 512, ignore: [[6, 24], [24, 32], [160, 512]] },
      // FXRSTOR's FOP comes from FXSAVE, where AMD stores 0 without a pending exception: FLD1 sets it anew.
      { text: 'fdiv st0, st1\nfxsave [esi+0x100]\nfninit\nfxrstor [esi+0x100]\nfld1', depth: 3, mem: 512, ignore: [[6, 24], [24, 32], [160, 512]] },
      { text: 'fldpi\nfnstenv [esi+0x100]\nfmul st0, st0\nfldenv [esi+0x100]', depth: 2, mem: 28, ignore: [[12, 18], [20, 26]] },
      { text: 'fldpi\nfnsave [esi+0x100]\nfld1\nfrstor [esi+0x100]\nfsqrt', depth: 2, mem: 108, ignore: [[12, 18], [20, 26]] },
    ], 0, vectors));
  }
  return groups;
}
