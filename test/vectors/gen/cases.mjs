// The instructions, register forms and input values the vectors cover.
// Every vector uses only fixed registers, so the instruction text alone
// (assembled by nasm) plus the input registers and EFLAGS define it.
// Registers hold random bits outside the operand, so a narrow operation that
// touches bits it should not shows up; input flags are random except where
// the instruction reads them, where the combinations are enumerated.

import { CF, AF, OF, DF, STATUS_FLAGS, sizeMask } from './sdm-undefined.mjs';

const SEED = 0x1a2b3c4d;

const EDGES = {
  8: [0, 1, 0x0f, 0x10, 0x7f, 0x80, 0x81, 0xfe, 0xff, 0x55],
  16: [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0x8001, 0xfffe, 0xffff],
  32: [0, 1, 0x7f, 0x80, 0xffff, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff],
};

const SHIFT_COUNTS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 15, 16, 17, 18, 19, 24,
  31, 32, 33, 34, 40, 48, 63, 64, 65, 127, 128, 200, 255];

const REGISTER_NAMES = {
  eax: { 8: 'al', high: 'ah', 16: 'ax', 32: 'eax' },
  ecx: { 8: 'cl', high: 'ch', 16: 'cx', 32: 'ecx' },
  edx: { 8: 'dl', high: 'dh', 16: 'dx', 32: 'edx' },
  ebx: { 8: 'bl', high: 'bh', 16: 'bx', 32: 'ebx' },
  esi: { 16: 'si', 32: 'esi' },
  edi: { 16: 'di', 32: 'edi' },
};

/** An operand held in part of a 32-bit register (AH is bits 8-15 of EAX). */
function operand(reg, size, high = false) {
  return { reg, size, shift: high ? 8 : 0, name: REGISTER_NAMES[reg][high ? 'high' : size] };
}

const hex = (v) => '0x' + (v >>> 0).toString(16);

/** xorshift32: a fixed sequence, so every run writes the same vectors. */
function makeRandom(seed) {
  let s = seed >>> 0;
  const next = () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
  const below = (n) => next() % n;
  return {
    u32: next,
    below,
    pick: (list) => list[below(list.length)],
    /** Uniform most of the time, otherwise an edge value give or take 2. */
    value(size) {
      const v = below(4) === 0 ? this.pick(EDGES[size]) + below(5) - 2 : next();
      return (v & sizeMask(size)) >>> 0;
    },
    /** Reserved bit 1 set, status flags and DF at random. */
    flags: () => 0x2 | (next() & (STATUS_FLAGS | DF)),
  };
}

/** Builds one vector: registers start as random bits, operands are placed into them. */
function vector(random, text, regs, placements, eflags, info = {}) {
  const input = {};
  for (const reg of regs) input[reg] = random.u32();
  for (const [op, value] of placements) {
    const field = (sizeMask(op.size) << op.shift) >>> 0;
    input[op.reg] = ((input[op.reg] & ~field) | ((value << op.shift) & field)) >>> 0;
  }
  return { text, regs, input, eflags: eflags >>> 0, info };
}

const setFlag = (flags, bit, on) => (on ? flags | bit : flags & ~bit) >>> 0;

// ---------------------------------------------------------------- ALU

function binaryAlu(random, mnemonic, size) {
  const forms = {
    8: [[operand('eax', 8), operand('ebx', 8)], [operand('ecx', 8, true), operand('edx', 8, true)]],
    16: [[operand('eax', 16), operand('ebx', 16)], [operand('esi', 16), operand('edi', 16)]],
    32: [[operand('eax', 32), operand('ebx', 32)], [operand('esi', 32), operand('edi', 32)]],
  }[size];
  const self = operand('edx', size);
  const readsCarry = mnemonic === 'adc' || mnemonic === 'sbb';
  const make = ([dst, src], a, b, flags) =>
    vector(random, `${mnemonic} ${dst.name}, ${src.name}`, [dst.reg, src.reg], [[dst, a], [src, b]], flags);
  const vectors = [];
  for (const a of EDGES[size]) {
    for (const b of EDGES[size]) {
      for (const carry of readsCarry ? [false, true] : [random.below(2) === 1]) {
        vectors.push(make(forms[0], a, b, setFlag(random.flags(), CF, carry)));
      }
    }
  }
  for (let i = 0; i < 100; i++) {
    if (i % 4 === 3) {
      const v = random.value(size);
      vectors.push(vector(random, `${mnemonic} ${self.name}, ${self.name}`, [self.reg], [[self, v]], random.flags()));
    } else {
      vectors.push(make(forms[i % 2], random.value(size), random.value(size), random.flags()));
    }
  }
  return vectors;
}

function unaryAlu(random, mnemonic, size) {
  const forms = size === 8 ? [operand('ebx', 8), operand('ebx', 8, true)] : [operand('ebx', size)];
  const make = (op, v, flags) => vector(random, `${mnemonic} ${op.name}`, [op.reg], [[op, v]], flags);
  const vectors = [];
  for (const v of EDGES[size]) {
    for (const carry of [false, true]) vectors.push(make(forms[0], v, setFlag(random.flags(), CF, carry)));
  }
  for (let i = 0; i < 100; i++) vectors.push(make(forms[i % forms.length], random.value(size), random.flags()));
  return vectors;
}

// ---------------------------------------------------------------- shifts and rotates

/** Flags in turn through all four CF/OF combinations (RCL/RCR read CF; count 0 keeps OF). */
function cycledFlags(random, i) {
  return setFlag(setFlag(random.flags(), CF, i & 1), OF, i & 2);
}

function shift(random, mnemonic, size) {
  const dst = operand('edx', size);
  const cl = operand('ecx', 8);
  const value = (i) => (i % 2 === 0 ? EDGES[size][(i >> 1) % EDGES[size].length] : random.value(size));
  const vectors = [];
  let i = 0;
  for (const count of SHIFT_COUNTS) {
    for (let k = 0; k < 5; k++, i++) {
      vectors.push(vector(random, `${mnemonic} ${dst.name}, cl`, ['edx', 'ecx'],
        [[dst, value(i)], [cl, count]], cycledFlags(random, i), { count }));
    }
  }
  for (let k = 0; k < 20; k++, i++) {
    vectors.push(vector(random, `${mnemonic} ${dst.name}, 1`, ['edx'], [[dst, value(i)]],
      cycledFlags(random, i), { count: 1 }));
  }
  for (const count of [0, 3, 8, 9, 16, 17, 31, 32, 255]) {
    for (let k = 0; k < 3; k++, i++) {
      vectors.push(vector(random, `${mnemonic} ${dst.name}, ${count}`, ['edx'], [[dst, value(i)]],
        cycledFlags(random, i), { count }));
    }
  }
  return vectors;
}

function doubleShift(random, mnemonic, size) {
  const dst = operand('eax', size);
  const src = operand('edx', size);
  const cl = operand('ecx', 8);
  const value = (i) => (i % 3 === 0 ? EDGES[size][i % EDGES[size].length] : random.value(size));
  const counts = [...Array(32).keys(), 32, 33, 47, 48, 63, 255];
  const vectors = [];
  let i = 0;
  for (const count of counts) {
    for (let k = 0; k < 4; k++, i++) {
      vectors.push(vector(random, `${mnemonic} ${dst.name}, ${src.name}, cl`, ['eax', 'edx', 'ecx'],
        [[dst, value(i)], [src, random.value(size)], [cl, count]], cycledFlags(random, i), { count, dest: dst }));
    }
  }
  for (const count of [0, 1, 2, 8, 15, 16, 17, 24, 31]) {
    for (let k = 0; k < 3; k++, i++) {
      vectors.push(vector(random, `${mnemonic} ${dst.name}, ${src.name}, ${count}`, ['eax', 'edx'],
        [[dst, value(i)], [src, random.value(size)]], cycledFlags(random, i), { count, dest: dst }));
    }
  }
  return vectors;
}

// ---------------------------------------------------------------- multiply and divide

/** MUL r/m and IMUL r/m: AL/AX/EAX times the operand into AX, DX:AX or EDX:EAX. */
function multiplyAccumulator(random, mnemonic, size) {
  const acc = operand('eax', size);
  const src = operand('ebx', size);
  const regs = size === 8 ? ['eax', 'ebx'] : ['eax', 'edx', 'ebx'];
  const make = (a, b) => vector(random, `${mnemonic} ${src.name}`, regs, [[acc, a], [src, b]], random.flags());
  const vectors = [];
  for (const a of EDGES[size]) for (const b of EDGES[size]) vectors.push(make(a, b));
  for (let i = 0; i < 100; i++) vectors.push(make(random.value(size), random.value(size)));
  return vectors;
}

function multiplyTwoOperand(random, size) {
  const dst = operand('ecx', size);
  const src = operand('edx', size);
  const make = (a, b) => vector(random, `imul ${dst.name}, ${src.name}`, ['ecx', 'edx'],
    [[dst, a], [src, b]], random.flags());
  const vectors = [];
  for (const a of EDGES[size]) for (const b of EDGES[size]) vectors.push(make(a, b));
  for (let i = 0; i < 100; i++) vectors.push(make(random.value(size), random.value(size)));
  return vectors;
}

function multiplyThreeOperand(random, size) {
  const dst = operand('ecx', size);
  const src = operand('edx', size);
  // Immediates that fit a sign-extended byte make nasm choose opcode 6B, the rest 69.
  const smallImmediate = () => (random.below(256) - 128) & sizeMask(size);
  const make = (b, imm) => vector(random, `imul ${dst.name}, ${src.name}, ${hex(imm)}`, ['ecx', 'edx'],
    [[dst, random.value(size)], [src, b]], random.flags());
  const vectors = [];
  for (const b of EDGES[size]) for (const imm of EDGES[size]) vectors.push(make(b, imm));
  for (let i = 0; i < 100; i++) {
    vectors.push(make(random.value(size), i % 3 === 0 ? smallImmediate() : random.value(size)));
  }
  return vectors;
}

/**
 * DIV/IDIV: dividends built as quotient * divisor + remainder with the quotient in
 * range, so none of these fault; `dividesWithoutFault` checks every vector anyway.
 */
function divide(random, mnemonic, size) {
  const signed = mnemonic === 'idiv';
  const toSigned = (v) => (signed ? BigInt.asIntN(size, v) : v);
  const draw = () => toSigned(BigInt(random.value(size)));
  const edges = EDGES[size].map((v) => toSigned(BigInt(v)));
  const divisors = edges.filter((d) => d !== 0n);
  const vectors = [];
  const add = (dividend, divisor) => vectors.push(divideVector(random, mnemonic, size, dividend, divisor));
  const withRemainder = (q, d) => {
    const magnitude = BigInt(random.u32()) % (d < 0n ? -d : d);
    const r = q * d < 0n ? -magnitude : magnitude;
    return q * d + (random.below(4) === 0 ? 0n : r);
  };
  for (const d of divisors) for (const q of edges) add(withRemainder(q, d), d);
  for (let i = 0; i < 100; i++) {
    let d = draw();
    if (d === 0n) d = 1n;
    const q = i % 5 === 0 ? random.pick(edges) : draw();
    add(withRemainder(q, d), d);
  }
  for (const v of vectors) {
    if (!dividesWithoutFault(signed, size, v.info.dividend, v.info.divisor)) {
      throw new Error(`${v.text}: built dividend ${v.info.dividend} / ${v.info.divisor} would fault`);
    }
  }
  return vectors;
}

/** Inputs that must raise #DE: divisor 0 and quotients that do not fit. */
function divideErrors(random, mnemonic, size) {
  const signed = mnemonic === 'idiv';
  const W = BigInt(size);
  const half = 1n << (W - 1n);
  const full = 1n << W;
  const cases = signed
    ? [[0n, 0n], [12345n, 0n], [-half, -1n], [half, 1n], [-(half * half), -1n], [full * 3n, 5n], [-half - 1n, 1n]]
    : [[0n, 0n], [12345n, 0n], [full, 1n], [full * full - 1n, full - 1n], [(full - 1n) * 7n + 7n, 7n]];
  return cases.map(([dividend, divisor]) => {
    if (dividesWithoutFault(signed, size, dividend, divisor)) {
      throw new Error(`${mnemonic} ${size}-bit: ${dividend} / ${divisor} does not fault`);
    }
    return divideVector(random, mnemonic, size, dividend, divisor);
  });
}

function divideVector(random, mnemonic, size, dividend, divisor) {
  const W = BigInt(size);
  const src = operand('ebx', size);
  const mask = (1n << W) - 1n;
  const low = Number(BigInt.asUintN(size, dividend));
  const high = Number(BigInt.asUintN(2 * size, dividend) >> W & mask);
  const placements = size === 8
    ? [[operand('eax', 16), Number(BigInt.asUintN(16, dividend))], [src, Number(BigInt.asUintN(8, divisor))]]
    : [[operand('eax', size), low], [operand('edx', size), high], [src, Number(BigInt.asUintN(size, divisor))]];
  const regs = size === 8 ? ['eax', 'ebx'] : ['eax', 'edx', 'ebx'];
  return vector(random, `${mnemonic} ${src.name}`, regs, placements, random.flags(), { dividend, divisor });
}

/** The SDM's #DE condition for DIV/IDIV: divisor 0 or a quotient too wide for the destination. */
function dividesWithoutFault(signed, size, dividend, divisor) {
  if (divisor === 0n) return false;
  const q = dividend / divisor; // BigInt division truncates toward zero, as IDIV does
  const W = BigInt(size);
  return signed ? q >= -(1n << (W - 1n)) && q < 1n << (W - 1n) : q >= 0n && q < 1n << W;
}

// ---------------------------------------------------------------- BCD

/** DAA/DAS/AAA/AAS: every AL with every CF/AF combination; AH and the rest random. */
function decimalAdjust(random, mnemonic) {
  const al = operand('eax', 8);
  const vectors = [];
  for (let v = 0; v < 256; v++) {
    for (let carries = 0; carries < 4; carries++) {
      const flags = setFlag(setFlag(random.flags(), CF, carries & 1), AF, carries & 2);
      vectors.push(vector(random, mnemonic, ['eax'], [[al, v]], flags));
    }
  }
  return vectors;
}

function asciiAdjustMultiply(random) {
  const al = operand('eax', 8);
  const vectors = [];
  for (let v = 0; v < 256; v++) vectors.push(vector(random, 'aam', ['eax'], [[al, v]], random.flags()));
  for (const base of [1, 2, 3, 7, 9, 11, 16, 0x7f, 0x80, 0xff]) {
    for (let i = 0; i < 12; i++) {
      vectors.push(vector(random, `aam ${hex(base)}`, ['eax'], [[al, random.value(8)]], random.flags()));
    }
  }
  return vectors;
}

function asciiAdjustDivide(random) {
  const ax = operand('eax', 16);
  const digits = () => (random.below(10) << 8) | random.below(10);
  const vectors = [];
  for (let i = 0; i < 150; i++) {
    vectors.push(vector(random, 'aad', ['eax'], [[ax, i % 2 === 0 ? digits() : random.value(16)]], random.flags()));
  }
  for (const base of [0, 1, 2, 7, 9, 11, 16, 0xff]) {
    for (let i = 0; i < 12; i++) {
      vectors.push(vector(random, `aad ${hex(base)}`, ['eax'], [[ax, random.value(16)]], random.flags()));
    }
  }
  return vectors;
}

// ---------------------------------------------------------------- bits and bytes

function bitTest(random, mnemonic, size) {
  const base = operand('eax', size);
  const offset = operand('edx', size);
  const offsets = [...Array(size).keys(), size, size + 1, 100, 0x7fff, 0x8000, 0xffff,
    ...(size === 32 ? [0x7fffffff, 0x80000000, 0xffffffff] : [])];
  const vectors = [];
  for (const bit of offsets) {
    for (let k = 0; k < (size === 16 ? 4 : 3); k++) {
      vectors.push(vector(random, `${mnemonic} ${base.name}, ${offset.name}`, ['eax', 'edx'],
        [[base, random.value(size)], [offset, bit]], random.flags()));
    }
  }
  for (const bit of [0, 1, 7, 15, 16, 17, 31, 32, 255]) {
    for (let k = 0; k < 3; k++) {
      vectors.push(vector(random, `${mnemonic} ${base.name}, ${bit}`, ['eax'],
        [[base, random.value(size)]], random.flags()));
    }
  }
  return vectors;
}

function bitScan(random, mnemonic, size) {
  const dst = operand('ecx', size);
  const src = operand('edx', size);
  const make = (source) => vector(random, `${mnemonic} ${dst.name}, ${src.name}`, ['ecx', 'edx'],
    [[src, source]], random.flags(), { source, dest: dst });
  const vectors = [];
  for (let k = 0; k < 8; k++) vectors.push(make(0));
  for (let bit = 0; bit < size; bit++) {
    const below = (1 << bit) - 1;
    const only = 1 << bit;
    vectors.push(make(only >>> 0));
    vectors.push(make(((random.u32() & ~below & sizeMask(size)) | only) >>> 0)); // lowest set bit
    vectors.push(make(((random.u32() & below) | only) >>> 0)); // highest set bit
  }
  for (const v of EDGES[size]) vectors.push(make(v));
  for (let i = 0; i < 40; i++) vectors.push(make(random.value(size)));
  return vectors;
}

function byteSwap(random) {
  const regs = ['eax', 'ecx', 'edx', 'ebx', 'esi', 'edi'];
  const make = (i, v) => {
    const op = operand(regs[i % regs.length], 32);
    return vector(random, `bswap ${op.name}`, [op.reg], [[op, v]], random.flags());
  };
  const vectors = EDGES[32].map((v, i) => make(i, v));
  for (let i = 0; i < 90; i++) vectors.push(make(i, random.u32()));
  return vectors;
}

function exchangeAdd(random, size) {
  const dst = operand('ebx', size);
  const src = operand('ecx', size);
  const make = (a, b) => vector(random, `xadd ${dst.name}, ${src.name}`, ['ebx', 'ecx'],
    [[dst, a], [src, b]], random.flags());
  const vectors = [];
  for (const a of EDGES[size]) for (const b of EDGES[size]) vectors.push(make(a, b));
  for (let i = 0; i < 50; i++) vectors.push(make(random.value(size), random.value(size)));
  return vectors;
}

function compareExchange(random, size) {
  const acc = operand('eax', size);
  const dst = operand('ebx', size);
  const src = operand('ecx', size);
  const make = (a, d) => vector(random, `cmpxchg ${dst.name}, ${src.name}`, ['eax', 'ebx', 'ecx'],
    [[acc, a], [dst, d], [src, random.value(size)]], random.flags());
  const vectors = [];
  for (const a of EDGES[size]) {
    vectors.push(make(a, a));
    for (const d of EDGES[size]) vectors.push(make(a, d));
  }
  for (let i = 0; i < 40; i++) {
    const a = random.value(size);
    vectors.push(make(a, i % 2 === 0 ? a : random.value(size)));
  }
  return vectors;
}

/** CBW, CWDE (EAX only) and CWD, CDQ (EAX into EDX). */
function signExtend(random, mnemonic) {
  const size = { cbw: 8, cwde: 16, cwd: 16, cdq: 32 }[mnemonic];
  const regs = mnemonic === 'cwd' || mnemonic === 'cdq' ? ['eax', 'edx'] : ['eax'];
  const src = operand('eax', size);
  const make = (v) => vector(random, mnemonic, regs, [[src, v]], random.flags());
  const vectors = EDGES[size].map(make);
  for (let i = 0; i < 90; i++) vectors.push(make(random.value(size)));
  return vectors;
}

// ---------------------------------------------------------------- the groups

/**
 * All groups in file order.  A group is one instruction at one operand size
 * (or one form of it); `file` names the JSON it goes to.
 */
export function buildCases() {
  const random = makeRandom(SEED);
  const groups = [];
  const add = (file, mnemonic, size, name, vectors, expectFault = false) =>
    groups.push({ file, mnemonic, size, name, vectors, expectFault });
  const sizes = [8, 16, 32];

  for (const m of ['add', 'adc', 'sub', 'sbb', 'cmp', 'and', 'or', 'xor', 'test']) {
    for (const s of sizes) add('alu', m, s, `${m} ${s}-bit`, binaryAlu(random, m, s));
  }
  for (const m of ['neg', 'not', 'inc', 'dec']) {
    for (const s of sizes) add('alu', m, s, `${m} ${s}-bit`, unaryAlu(random, m, s));
  }

  for (const m of ['shl', 'shr', 'sar', 'rol', 'ror', 'rcl', 'rcr']) {
    for (const s of sizes) add('shift', m, s, `${m} ${s}-bit`, shift(random, m, s));
  }
  for (const m of ['shld', 'shrd']) {
    for (const s of [16, 32]) add('shift', m, s, `${m} ${s}-bit`, doubleShift(random, m, s));
  }

  for (const m of ['mul', 'imul']) {
    for (const s of sizes) {
      const name = m === 'imul' ? `imul one-operand ${s}-bit` : `mul ${s}-bit`;
      add('muldiv', m, s, name, multiplyAccumulator(random, m, s));
    }
  }
  for (const s of [16, 32]) add('muldiv', 'imul', s, `imul two-operand ${s}-bit`, multiplyTwoOperand(random, s));
  for (const s of [16, 32]) add('muldiv', 'imul', s, `imul three-operand ${s}-bit`, multiplyThreeOperand(random, s));
  for (const m of ['div', 'idiv']) {
    for (const s of sizes) add('muldiv', m, s, `${m} ${s}-bit`, divide(random, m, s));
  }

  for (const m of ['daa', 'das', 'aaa', 'aas']) add('bcd', m, 8, m, decimalAdjust(random, m));
  add('bcd', 'aam', 8, 'aam', asciiAdjustMultiply(random));
  add('bcd', 'aad', 8, 'aad', asciiAdjustDivide(random));

  for (const m of ['bt', 'bts', 'btr', 'btc']) {
    for (const s of [16, 32]) add('bit', m, s, `${m} ${s}-bit`, bitTest(random, m, s));
  }
  for (const m of ['bsf', 'bsr']) {
    for (const s of [16, 32]) add('bit', m, s, `${m} ${s}-bit`, bitScan(random, m, s));
  }
  add('bit', 'bswap', 32, 'bswap 32-bit', byteSwap(random));

  for (const s of sizes) add('misc', 'xadd', s, `xadd ${s}-bit`, exchangeAdd(random, s));
  for (const s of sizes) add('misc', 'cmpxchg', s, `cmpxchg ${s}-bit`, compareExchange(random, s));
  for (const m of ['cbw', 'cwde', 'cwd', 'cdq']) add('misc', m, 0, m, signExtend(random, m));

  for (const m of ['div', 'idiv']) {
    for (const s of sizes) add('divide-error', m, s, `${m} ${s}-bit #DE`, divideErrors(random, m, s), true);
  }
  const al = operand('eax', 8);
  add('divide-error', 'aam', 8, 'aam 0 #DE',
    [0, 0x42, 0xff].map((v) => vector(random, 'aam 0x0', ['eax'], [[al, v]], random.flags())), true);
  return groups;
}
