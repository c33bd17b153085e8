/**
 * Extended-precision (80-bit) arithmetic as the x87 does it (SDM Vol. 1, chapters 4 and 8),
 * on 32-bit integer words rather than JavaScript doubles, so that results are bit for bit the
 * processor's in all three precisions: a double would round every intermediate result to 53
 * bits, and the default precision after FNINIT is 64.
 *
 * A value is kept as its memory image: `se` (sign in bit 15, biased exponent in 14:0) and the
 * 64-bit significand in two unsigned halves, `hi` (bit 31 is the explicit integer bit) and
 * `lo`. Operations take their operands and the control word (precision and rounding control,
 * exception masks) and return the exceptions they detected, as status-word bits, plus C1 when
 * the result was rounded up in magnitude. The rounding follows the SDM and what processors do
 * (checked against the host, test/cpu/x87Vectors.test.ts): tininess is detected after
 * rounding; a masked underflow is flagged only when the tiny result is also inexact; an
 * unmasked overflow or underflow delivers the result with its exponent adjusted by 0x6000 to
 * a register, and nothing to memory.
 *
 * Nothing here allocates: working significands live in module variables.
 */

/** Exception flags at their places in the status word, and C1 as the round-up indicator. */
export const IE = 0x01, DE = 0x02, ZE = 0x04, OE = 0x08, UE = 0x10, PE = 0x20, SF = 0x40, C1 = 0x200;

/** Exponent bias of the extended format. */
export const BIAS = 0x3fff;
const SIGN = 0x8000;
const MAX_EXP = 0x7fff;
/** Exponent adjustment of an unmasked overflow or underflow delivered to a register (SDM Vol. 1, 4.9.1.4-5). */
const WRAP = 0x6000;
const TWO32 = 0x1_0000_0000;

export class F80 {
  se = 0;
  hi = 0;
  lo = 0;

  set(se: number, hi: number, lo: number): this {
    this.se = se; this.hi = hi >>> 0; this.lo = lo >>> 0;
    return this;
  }

  copy(v: F80): this { return this.set(v.se, v.hi, v.lo); }
}

/** What an extended value is (SDM Vol. 1, 8.2.2 and table 8-3). */
export const enum Class {
  Zero, Denormal, Normal, Infinity, QNaN, SNaN,
  /** Pseudo-NaN, pseudo-infinity and unnormal encodings: every arithmetic use is invalid. */
  Unsupported,
}

export function classify(v: F80): Class {
  const exp = v.se & MAX_EXP;
  const j = v.hi >>> 31;
  if (exp === 0) return (v.hi | v.lo) === 0 ? Class.Zero : Class.Denormal;   // pseudo-denormals (J = 1) too
  if (exp === MAX_EXP) {
    if (j === 0) return Class.Unsupported;
    if ((v.hi & 0x7fffffff) === 0 && v.lo === 0) return Class.Infinity;
    return (v.hi & 0x40000000) !== 0 ? Class.QNaN : Class.SNaN;
  }
  return j === 0 ? Class.Unsupported : Class.Normal;
}

/** A temporary value inside one operation. */
const scratch = new F80();

const isNaN = (c: Class): boolean => c === Class.QNaN || c === Class.SNaN;

/** The QNaN floating-point indefinite, the masked response to an invalid operation. */
export function setIndefinite(out: F80): void { out.set(0xffff, 0xc0000000, 0); }
function setInfinity(out: F80, sign: number): void { out.set(sign | MAX_EXP, 0x80000000, 0); }
function setZero(out: F80, sign: number): void { out.set(sign, 0, 0); }


// ---- the working significand -------------------------------------------------------------

/** 96 bits: s0 (bits 63:32 of the significand), s1 (31:0), s2 (the 32 bits below, sticky in bit 0). */
let s0 = 0, s1 = 0, s2 = 0;
/** The last `roundSig` carried out of bit 63. */
let carried = false;

/** Shifts the working significand right by n, ORing what falls off into the sticky bit. */
function shiftRightJam(n: number): void {
  if (n <= 0) return;
  let sticky = 0;
  if (n >= 96) {
    sticky = s0 | s1 | s2;
    s0 = 0; s1 = 0; s2 = 0;
  } else {
    while (n >= 32) { sticky |= s2; s2 = s1; s1 = s0; s0 = 0; n -= 32; }
    if (n > 0) {
      sticky |= s2 << (32 - n);
      s2 = ((s2 >>> n) | (s1 << (32 - n))) >>> 0;
      s1 = ((s1 >>> n) | (s0 << (32 - n))) >>> 0;
      s0 = s0 >>> n;
    }
  }
  if (sticky !== 0) s2 = (s2 | 1) >>> 0;
}

/** Shifts left until bit 63 is set; returns the shift (the working significand must not be 0). */
function normalizeWorking(): number {
  let n = 0;
  while (s0 === 0) { s0 = s1; s1 = s2; s2 = 0; n += 32; }
  const k = Math.clz32(s0);
  if (k !== 0) {
    s0 = ((s0 << k) | (s1 >>> (32 - k))) >>> 0;
    s1 = ((s1 << k) | (s2 >>> (32 - k))) >>> 0;
    s2 = (s2 << k) >>> 0;
  }
  return n + k;
}

/**
 * Rounds the working significand to `prec` bits (24, 53 or 64, counted from bit 63) by
 * rounding control `rc`. Returns PE when bits were lost and C1 as well when it rounded up;
 * `carried` tells that the significand overflowed (it is then 1.0, the caller adds 1 to the
 * exponent).
 */
function roundSig(prec: number, rc: number, negative: boolean): number {
  let nonzero: boolean, half: boolean, above: boolean, lsb: number;
  if (prec === 64) {
    nonzero = s2 !== 0; half = s2 === 0x80000000; above = s2 > 0x80000000; lsb = s1 & 1;
  } else if (prec === 53) {
    const d = s1 & 0x7ff;
    nonzero = d !== 0 || s2 !== 0;
    half = d === 0x400 && s2 === 0;
    above = d > 0x400 || (d === 0x400 && s2 !== 0);
    lsb = (s1 >>> 11) & 1;
    s1 = (s1 & ~0x7ff) >>> 0;
  } else {
    const d = s0 & 0xff;
    nonzero = d !== 0 || s1 !== 0 || s2 !== 0;
    half = d === 0x80 && s1 === 0 && s2 === 0;
    above = d > 0x80 || (d === 0x80 && (s1 !== 0 || s2 !== 0));
    lsb = (s0 >>> 8) & 1;
    s0 = (s0 & ~0xff) >>> 0;
    s1 = 0;
  }
  s2 = 0;
  carried = false;
  if (!nonzero) return 0;
  let up: boolean;
  switch (rc) {
    case 0: up = above || (half && lsb === 1); break;   // to nearest, ties to even
    case 1: up = negative; break;                        // down, toward -infinity
    case 2: up = !negative; break;                       // up, toward +infinity
    default: up = false;                                 // toward zero
  }
  if (!up) return PE;
  let c: number;
  if (prec === 64) {
    const t = s1 + 1; s1 = t >>> 0; c = t >= TWO32 ? 1 : 0;
  } else if (prec === 53) {
    const t = s1 + 0x800; s1 = t >>> 0; c = t >= TWO32 ? 1 : 0;
  } else {
    c = 0;
    const t = s0 + 0x100;
    if (t >= TWO32) { s0 = 0x80000000; carried = true; } else s0 = t;
  }
  if (c !== 0) {
    const t = s0 + 1;
    if (t >= TWO32) { s0 = 0x80000000; s1 = 0; carried = true; } else s0 = t;
  }
  return PE | C1;
}

/** Would rounding the working significand carry out of bit 63? (It is left unchanged.) */
function roundingCarries(prec: number, rc: number, negative: boolean): boolean {
  const a = s0, b = s1, c = s2;
  roundSig(prec, rc, negative);
  s0 = a; s1 = b; s2 = c;
  return carried;
}

/** A destination: significand bits and the biased exponents (extended bias) of its normal range. */
export interface Format { readonly prec: number; readonly emin: number; readonly emax: number }
export const SINGLE: Format = { prec: 24, emin: BIAS - 126, emax: BIAS + 127 };
export const DOUBLE: Format = { prec: 53, emin: BIAS - 1022, emax: BIAS + 1023 };
/** Register results by precision control: 24, (reserved, acts as 64 on the host), 53, 64 bits. */
const EXTENDED: Format[] = [
  { prec: 24, emin: 1, emax: 0x7ffe }, { prec: 64, emin: 1, emax: 0x7ffe },
  { prec: 53, emin: 1, emax: 0x7ffe }, { prec: 64, emin: 1, emax: 0x7ffe },
];
/** A register destination under the control word's precision control. */
export function registerFormat(cw: number): Format { return EXTENDED[(cw >> 8) & 3]; }
/** Register results that ignore precision control (FRNDINT, FSCALE, FPREM, FLD). */
export const FULL: Format = EXTENDED[3];

/**
 * Rounds sign × working significand (normalized) × 2^(exp - BIAS - 63) into `fmt` and writes
 * it to `out` in extended layout: a result that is denormal in `fmt` gets the exponent
 * fmt.emin - 1 and a significand without its integer bit, as an extended denormal does.
 * `toRegister` selects the unmasked overflow and underflow response: the wrapped exponent for
 * a register, no result at all (only the flag) for memory.
 */
function roundPack(sign: number, exp: number, fmt: Format, cw: number, toRegister: boolean, out: F80): number {
  const rc = (cw >> 10) & 3;
  const negative = sign !== 0;
  const { prec, emin, emax } = fmt;
  if (exp < emin && (exp < emin - 1 || !roundingCarries(prec, rc, negative))) {
    // Tiny after rounding.
    if ((cw & UE) === 0) {
      if (!toRegister) return UE;
      const flags = roundSig(prec, rc, negative);
      if (carried) exp++;
      out.set(sign | ((exp + WRAP) & MAX_EXP), s0, s1);
      return UE | flags;
    }
    shiftRightJam(emin - exp);
    const flags = roundSig(prec, rc, negative);
    const e = (s0 & 0x80000000) !== 0 ? emin : (s0 | s1) === 0 ? 0 : emin - 1;
    out.set(sign | e, s0, s1);
    return (flags & PE) !== 0 ? flags | UE : flags;
  }
  let flags = roundSig(prec, rc, negative);
  if (carried) exp++;
  if (exp > emax) {
    if ((cw & OE) === 0) {
      if (!toRegister) return OE;
      out.set(sign | ((exp - WRAP) & MAX_EXP), s0, s1);
      return OE | flags;
    }
    // Masked: infinity, or the largest finite value when rounding goes toward zero (SDM Vol. 1, table 4-10).
    if (rc === 3 || (rc === 1 && !negative) || (rc === 2 && negative)) {
      const keep = prec === 64 ? 0 : 64 - prec;
      out.set(sign | emax, 0xffffffff << (keep > 32 ? keep - 32 : 0), keep >= 32 ? 0 : 0xffffffff << keep);
      flags = OE | PE;
    } else {
      setInfinity(out, sign);
      flags = OE | PE | C1;
    }
    return flags;
  }
  out.set(sign | exp, s0, s1);
  return flags;
}

// ---- operands ----------------------------------------------------------------------------

/** An unpacked finite non-zero operand: significand normalized, exponent below 1 for a denormal. */
let aSign = 0, aExp = 0, aHi = 0, aLo = 0;
let bSign = 0, bExp = 0, bHi = 0, bLo = 0;

function unpackA(v: F80): void {
  aSign = v.se & SIGN;
  let e = v.se & MAX_EXP, hi = v.hi, lo = v.lo;
  if (e === 0) e = 1;
  if (hi === 0) { hi = lo; lo = 0; e -= 32; }
  const k = Math.clz32(hi);
  if (k !== 0) { hi = ((hi << k) | (lo >>> (32 - k))) >>> 0; lo = (lo << k) >>> 0; e -= k; }
  aExp = e; aHi = hi; aLo = lo;
}

function unpackB(v: F80): void {
  const sign = aSign, exp = aExp, hi = aHi, lo = aLo;
  unpackA(v);
  bSign = aSign; bExp = aExp; bHi = aHi; bLo = aLo;
  aSign = sign; aExp = exp; aHi = hi; aLo = lo;
}

/** Writes the working significand, normalized first, rounded to `fmt`. */
function finish(sign: number, exp: number, fmt: Format, cw: number, out: F80): number {
  if ((s0 | s1 | s2) === 0) { setZero(out, sign); return 0; }
  exp -= normalizeWorking();
  return roundPack(sign, exp, fmt, cw, true, out);
}

/** `v` rounded to `fmt` (its value unchanged when it fits): a finite non-zero operand. */
function roundValue(v: F80, fmt: Format, cw: number, out: F80): number {
  unpackA(v);
  s0 = aHi; s1 = aLo; s2 = 0;
  return roundPack(aSign, aExp, fmt, cw, true, out);
}

/**
 * The x87 rules for NaN operands (SDM Vol. 1, table 4-7): an SNaN is quieted and signals IE;
 * of two NaNs the QNaN wins over an SNaN, otherwise the larger significand (and then the
 * positive one). Unsupported encodings give the indefinite. Returns the flags, or -1 when
 * neither operand is a NaN or unsupported.
 */
function nanOperands(a: F80, ca: Class, b: F80, cb: Class, out: F80): number {
  if (ca === Class.Unsupported || cb === Class.Unsupported) { setIndefinite(out); return IE; }
  const an = isNaN(ca), bn = isNaN(cb);
  if (!an && !bn) return -1;
  const flags = ca === Class.SNaN || cb === Class.SNaN ? IE : 0;
  let pick: F80;
  if (an && bn) {
    if (ca !== cb) pick = ca === Class.QNaN ? a : b;
    else {
      const ah = a.hi & 0x3fffffff, bh = b.hi & 0x3fffffff;
      if (ah !== bh) pick = ah > bh ? a : b;
      else if (a.lo !== b.lo) pick = a.lo > b.lo ? a : b;
      else pick = (a.se & SIGN) === 0 ? a : b;
    }
  } else pick = an ? a : b;
  out.set(pick.se, pick.hi | 0x40000000, pick.lo);
  return flags;
}

/** One-operand version: the operand quieted (IE for an SNaN), or the indefinite; -1 for other values. */
function nanOperand(a: F80, ca: Class, out: F80): number {
  if (ca === Class.Unsupported) { setIndefinite(out); return IE; }
  if (!isNaN(ca)) return -1;
  out.set(a.se, a.hi | 0x40000000, a.lo);
  return ca === Class.SNaN ? IE : 0;
}

// ---- arithmetic --------------------------------------------------------------------------

/** a + b, or a - b with `subtract`, rounded by the control word. */
export function add(a: F80, b: F80, subtract: boolean, cw: number, out: F80): number {
  const ca = classify(a), cb = classify(b);
  const nan = nanOperands(a, ca, b, cb, out);
  if (nan >= 0) return nan;
  const sa = a.se & SIGN, sb = (b.se & SIGN) ^ (subtract ? SIGN : 0);
  if (ca === Class.Infinity || cb === Class.Infinity) {
    if (ca === Class.Infinity && cb === Class.Infinity && sa !== sb) { setIndefinite(out); return IE; }
    setInfinity(out, ca === Class.Infinity ? sa : sb);
    return ca === Class.Denormal || cb === Class.Denormal ? DE : 0;
  }
  let flags = 0;
  if (ca === Class.Denormal || cb === Class.Denormal) {
    if ((cw & DE) === 0) return DE;
    flags = DE;
  }
  const fmt = registerFormat(cw);
  if (ca === Class.Zero || cb === Class.Zero) {
    if (ca === Class.Zero && cb === Class.Zero) {
      // x + (-x) is +0, or -0 when rounding down (SDM Vol. 1, 4.8.3.3).
      setZero(out, sa === sb ? sa : ((cw >> 10) & 3) === 1 ? SIGN : 0);
      return flags;
    }
    // 0 + x is x, rounded to the precision in force.
    if (ca === Class.Zero) return flags | roundValue(scratch.set(b.se ^ (subtract ? SIGN : 0), b.hi, b.lo), fmt, cw, out);
    return flags | roundValue(a, fmt, cw, out);
  }
  unpackA(a); unpackB(b);
  aSign = sa; bSign = sb;
  // Make a the larger magnitude.
  if (bExp > aExp || (bExp === aExp && (bHi > aHi || (bHi === aHi && bLo > aLo)))) {
    let t = aSign; aSign = bSign; bSign = t;
    t = aExp; aExp = bExp; bExp = t;
    t = aHi; aHi = bHi; bHi = t;
    t = aLo; aLo = bLo; bLo = t;
  }
  s0 = bHi; s1 = bLo; s2 = 0;
  shiftRightJam(aExp - bExp);
  let exp = aExp;
  if (aSign === bSign) {
    const t1 = s1 + aLo;
    s1 = t1 >>> 0;
    const t0 = s0 + aHi + (t1 >= TWO32 ? 1 : 0);
    s0 = t0 >>> 0;
    if (t0 >= TWO32) {
      const sticky = s2 & 1;
      s2 = ((s2 >>> 1) | (s1 << 31) | sticky) >>> 0;
      s1 = ((s1 >>> 1) | (s0 << 31)) >>> 0;
      s0 = ((s0 >>> 1) | 0x80000000) >>> 0;
      exp++;
    }
    return flags | roundPack(aSign, exp, fmt, cw, true, out);
  }
  // a - b with a >= b in magnitude.
  const t2 = 0 - s2;
  s2 = t2 >>> 0;
  const t1 = aLo - s1 - (t2 < 0 ? 1 : 0);
  s1 = t1 >>> 0;
  s0 = (aHi - s0 - (t1 < 0 ? 1 : 0)) >>> 0;
  if ((s0 | s1 | s2) === 0) {
    setZero(out, ((cw >> 10) & 3) === 1 ? SIGN : 0);
    return flags;
  }
  return flags | finish(aSign, exp, fmt, cw, out);
}

let mHi = 0, mLo = 0;
/** The 64-bit product of two unsigned 32-bit words, into mHi:mLo (16-bit pieces keep every sum exact). */
function mul32(x: number, y: number): void {
  const xl = x & 0xffff, xh = x >>> 16, yl = y & 0xffff, yh = y >>> 16;
  const mid = xl * yh + xh * yl;
  const low = xl * yl + (mid % 0x10000) * 0x10000;
  mLo = low >>> 0;
  mHi = xh * yh + Math.floor(mid / 0x10000) + Math.floor(low / TWO32);
}

/** a × b. */
export function mul(a: F80, b: F80, cw: number, out: F80): number {
  const ca = classify(a), cb = classify(b);
  const nan = nanOperands(a, ca, b, cb, out);
  if (nan >= 0) return nan;
  const sign = (a.se ^ b.se) & SIGN;
  if (ca === Class.Infinity || cb === Class.Infinity) {
    if (ca === Class.Zero || cb === Class.Zero) { setIndefinite(out); return IE; }
    setInfinity(out, sign);
    return ca === Class.Denormal || cb === Class.Denormal ? DE : 0;
  }
  let flags = 0;
  if (ca === Class.Denormal || cb === Class.Denormal) {
    if ((cw & DE) === 0) return DE;
    flags = DE;
  }
  if (ca === Class.Zero || cb === Class.Zero) { setZero(out, sign); return flags; }
  unpackA(a); unpackB(b);
  mul32(aLo, bLo); const w3 = mLo; let c = mHi;
  mul32(aHi, bLo); const h10 = mHi, l10 = mLo;
  mul32(aLo, bHi); const h01 = mHi, l01 = mLo;
  mul32(aHi, bHi); const h11 = mHi, l11 = mLo;
  let t = c + l10 + l01;
  const w2 = t >>> 0; c = Math.floor(t / TWO32);
  t = h10 + h01 + l11 + c;
  const w1 = t >>> 0; c = Math.floor(t / TWO32);
  const w0 = h11 + c;
  let exp = aExp + bExp - BIAS + 1;
  s0 = w0; s1 = w1; s2 = w2;
  let low = w3;
  if ((s0 & 0x80000000) === 0) {
    s0 = ((s0 << 1) | (s1 >>> 31)) >>> 0;
    s1 = ((s1 << 1) | (s2 >>> 31)) >>> 0;
    s2 = ((s2 << 1) | (low >>> 31)) >>> 0;
    low = (low << 1) >>> 0;
    exp--;
  }
  if (low !== 0) s2 = (s2 | 1) >>> 0;
  return flags | roundPack(sign, exp, registerFormat(cw), cw, true, out);
}

/** Remainder of the long divisions: r2 (bits 64 and up), r1, r0. */
let r2 = 0, r1 = 0, r0 = 0;

/** r >= b (the unpacked b significand)? */
function remAtLeastB(): boolean {
  return r2 !== 0 || r1 > bHi || (r1 === bHi && r0 >= bLo);
}
function remSubB(): void {
  const t0 = r0 - bLo;
  r0 = t0 >>> 0;
  const t1 = r1 - bHi - (t0 < 0 ? 1 : 0);
  r1 = t1 >>> 0;
  r2 -= t1 < 0 ? 1 : 0;
}
function remShiftLeft(): void {
  r2 = (r2 << 1) | (r1 >>> 31);
  r1 = ((r1 << 1) | (r0 >>> 31)) >>> 0;
  r0 = (r0 << 1) >>> 0;
}

/** a / b. */
export function div(a: F80, b: F80, cw: number, out: F80): number {
  const ca = classify(a), cb = classify(b);
  const nan = nanOperands(a, ca, b, cb, out);
  if (nan >= 0) return nan;
  const sign = (a.se ^ b.se) & SIGN;
  if (ca === Class.Infinity) {
    if (cb === Class.Infinity) { setIndefinite(out); return IE; }
    setInfinity(out, sign);
    return cb === Class.Denormal ? DE : 0;
  }
  if (cb === Class.Zero) {
    if (ca === Class.Zero) { setIndefinite(out); return IE; }
    if ((cw & ZE) === 0) return ZE;
    setInfinity(out, sign);
    return ZE;
  }
  let flags = 0;
  if (ca === Class.Denormal || cb === Class.Denormal) {
    if ((cw & DE) === 0) return DE;
    flags = DE;
  }
  if (cb === Class.Infinity || ca === Class.Zero) { setZero(out, sign); return flags; }
  unpackA(a); unpackB(b);
  let exp = aExp - bExp + BIAS;
  r2 = 0; r1 = aHi; r0 = aLo;
  if (!remAtLeastB()) { remShiftLeft(); exp--; }
  // 64 quotient bits, then the rounding bit; the remainder is the sticky bit.
  let qHi = 0, qLo = 0;
  for (let k = 0; k < 64; k++) {
    let bit = 0;
    if (remAtLeastB()) { remSubB(); bit = 1; }
    qHi = ((qHi << 1) | (qLo >>> 31)) >>> 0;
    qLo = ((qLo << 1) | bit) >>> 0;
    remShiftLeft();
  }
  let ext = 0;
  if (remAtLeastB()) { remSubB(); ext = 0x80000000; }
  if ((r2 | r1 | r0) !== 0) ext |= 1;
  s0 = qHi; s1 = qLo; s2 = ext >>> 0;
  return flags | roundPack(sign, exp, registerFormat(cw), cw, true, out);
}

/** Bit j (0-63) of the unpacked a significand. */
function aBit(j: number): number {
  if (j < 0 || j > 63) return 0;
  return j >= 32 ? (aHi >>> (j - 32)) & 1 : (aLo >>> j) & 1;
}

/** Square root. */
export function sqrt(a: F80, cw: number, out: F80): number {
  const ca = classify(a);
  const nan = nanOperand(a, ca, out);
  if (nan >= 0) return nan;
  const negative = (a.se & SIGN) !== 0;
  if (ca === Class.Zero) { out.copy(a); return 0; }
  if (negative) { setIndefinite(out); return IE; }
  if (ca === Class.Infinity) { out.copy(a); return 0; }
  let flags = 0;
  if (ca === Class.Denormal) {
    if ((cw & DE) === 0) return DE;
    flags = DE;
  }
  unpackA(a);
  const e = aExp - BIAS;
  // Digit by digit over the radicand significand × 2^65 (even exponent) or × 2^66 (odd), two
  // bits at a time: 65 root bits, the last one the rounding bit (SDM-exact, no estimate).
  const offset = (e & 1) !== 0 ? 66 : 65;
  let rem2 = 0, rem1 = 0, rem0 = 0;
  let q2 = 0, q1 = 0, q0 = 0;
  for (let k = 0; k < 65; k++) {
    const top = 129 - 2 * k;
    const pair = (aBit(top - offset) << 1) | aBit(top - 1 - offset);
    // rem = rem << 2 | pair
    rem2 = ((rem2 << 2) | (rem1 >>> 30)) >>> 0;
    rem1 = ((rem1 << 2) | (rem0 >>> 30)) >>> 0;
    rem0 = ((rem0 << 2) | pair) >>> 0;
    // trial = root << 2 | 1
    const t2 = ((q2 << 2) | (q1 >>> 30)) >>> 0;
    const t1 = ((q1 << 2) | (q0 >>> 30)) >>> 0;
    const t0 = ((q0 << 2) | 1) >>> 0;
    // root <<= 1
    q2 = ((q2 << 1) | (q1 >>> 31)) >>> 0;
    q1 = ((q1 << 1) | (q0 >>> 31)) >>> 0;
    q0 = (q0 << 1) >>> 0;
    if (rem2 > t2 || (rem2 === t2 && (rem1 > t1 || (rem1 === t1 && rem0 >= t0)))) {
      const d0 = rem0 - t0;
      rem0 = d0 >>> 0;
      const d1 = rem1 - t1 - (d0 < 0 ? 1 : 0);
      rem1 = d1 >>> 0;
      rem2 = (rem2 - t2 - (d1 < 0 ? 1 : 0)) >>> 0;
      q0 = (q0 | 1) >>> 0;
    }
  }
  // The root has 65 bits (q2 bit 0 down to q0 bit 0): the significand, then the rounding bit.
  s0 = ((q2 << 31) | (q1 >>> 1)) >>> 0;
  s1 = ((q1 << 31) | (q0 >>> 1)) >>> 0;
  s2 = (((q0 & 1) << 31) | ((rem2 | rem1 | rem0) !== 0 ? 1 : 0)) >>> 0;
  const exp = BIAS + ((e - (e & 1)) / 2);
  return flags | roundPack(0, exp, registerFormat(cw), cw, true, out);
}

// ---- comparisons and classification ------------------------------------------------------

/** Comparison outcomes as FCOM reports them in C3 C2 C0 (SDM Vol. 2, FCOM). */
export const GREATER = 0, LESS = 0x100, EQUAL = 0x4000, UNORDERED = 0x4500;

/** Compares a with b: one of the outcomes above in `compared`; returns the flags. */
export let compared = GREATER;

/**
 * `quiet` is FUCOM's rule (only an SNaN or an unsupported encoding signals IE), otherwise
 * every NaN does (FCOM, FTST, FICOM).
 */
export function compare(a: F80, b: F80, quiet: boolean): number {
  const ca = classify(a), cb = classify(b);
  if (ca === Class.Unsupported || cb === Class.Unsupported || isNaN(ca) || isNaN(cb)) {
    compared = UNORDERED;
    if (!quiet || ca === Class.SNaN || cb === Class.SNaN || ca === Class.Unsupported || cb === Class.Unsupported) return IE;
    return 0;
  }
  // A denormal signals DE, but the outcome is still set, unmasked or not (the host does so).
  compared = order(a, ca, b, cb);
  return ca === Class.Denormal || cb === Class.Denormal ? DE : 0;
}

/** The order of two ordered values. */
function order(a: F80, ca: Class, b: F80, cb: Class): number {
  if (ca === Class.Zero && cb === Class.Zero) return EQUAL;
  const sa = ca === Class.Zero ? (b.se & SIGN) ^ SIGN : a.se & SIGN;
  const sb = cb === Class.Zero ? (a.se & SIGN) ^ SIGN : b.se & SIGN;
  if (sa !== sb) return sa === 0 ? GREATER : LESS;
  if (ca === Class.Zero) return sb === 0 ? LESS : GREATER;
  if (cb === Class.Zero) return sa === 0 ? GREATER : LESS;
  let mag: number;   // sign of |a| - |b|
  if (ca === Class.Infinity || cb === Class.Infinity) {
    mag = ca === cb ? 0 : ca === Class.Infinity ? 1 : -1;
  } else {
    unpackA(a); unpackB(b);
    mag = aExp !== bExp ? (aExp > bExp ? 1 : -1)
      : aHi !== bHi ? (aHi > bHi ? 1 : -1)
        : aLo !== bLo ? (aLo > bLo ? 1 : -1) : 0;
  }
  if (mag === 0) return EQUAL;
  return (mag > 0) === (sa === 0) ? GREATER : LESS;
}

/** FXAM's class codes in C3 C2 C0 (SDM Vol. 2, FXAM); C1 is the sign. */
export function examine(v: F80): number {
  switch (classify(v)) {
    case Class.Unsupported: return 0;
    case Class.QNaN: case Class.SNaN: return 0x100;
    case Class.Normal: return 0x400;
    case Class.Infinity: return 0x500;
    case Class.Zero: return 0x4000;
    default: return 0x4400;   // denormal
  }
}

// ---- rounding to an integer --------------------------------------------------------------

/**
 * Rounds finite non-zero `v` to an integer by rounding control `rc`: the magnitude is left
 * in s0:s1 when it is below 2^64 (`intTooLarge` false). Returns PE | C1 as rounding did.
 */
let intTooLarge = false;
function roundToIntegerWorking(v: F80, rc: number): number {
  unpackA(v);
  const e = aExp - BIAS;
  s0 = aHi; s1 = aLo; s2 = 0;
  intTooLarge = e > 63;
  if (e >= 63) return 0;
  shiftRightJam(63 - e);
  return roundSig(64, rc, (v.se & SIGN) !== 0);
}

/** FRNDINT: `a` rounded to an integral value by the control word's rounding control. */
export function roundToInteger(a: F80, cw: number, out: F80): number {
  const ca = classify(a);
  const nan = nanOperand(a, ca, out);
  if (nan >= 0) return nan;
  if (ca === Class.Zero || ca === Class.Infinity) { out.copy(a); return 0; }
  let flags = 0;
  if (ca === Class.Denormal) {
    if ((cw & DE) === 0) return DE;
    flags = DE;
  }
  const sign = a.se & SIGN;
  const r = roundToIntegerWorking(a, (cw >> 10) & 3);
  if (intTooLarge || (aExp - BIAS) >= 63) { out.copy(a); return flags; }
  if ((s0 | s1) === 0) { setZero(out, sign); return flags | r; }
  s2 = 0;
  const exp = BIAS + 63 - normalizeWorking();
  out.set(sign | exp, s0, s1);
  return flags | r;
}

/**
 * FIST: `a` as a two's-complement integer of `bits` (16, 32 or 64) into intHi:intLo, rounded
 * by the control word. Out of range, a NaN, an infinity or an unsupported encoding is IE; the
 * integer indefinite (only the sign bit set) is then the masked result.
 */
export let intHi = 0, intLo = 0;
export function toInteger(a: F80, bits: number, cw: number): number {
  const ca = classify(a);
  if (ca === Class.Zero) { intHi = 0; intLo = 0; return 0; }
  if (ca !== Class.Normal && ca !== Class.Denormal) return integerIndefinite(bits);
  const negative = (a.se & SIGN) !== 0;
  const r = roundToIntegerWorking(a, (cw >> 10) & 3);
  if (intTooLarge) return integerIndefinite(bits);
  // Magnitude limit: 2^(bits-1) - 1, or 2^(bits-1) for a negative value.
  let hi = s0, lo = s1;
  const limitHi = bits === 64 ? 0x80000000 : 0, limitLo = bits === 64 ? 0 : bits === 32 ? 0x80000000 : 0x8000;
  const overLimit = hi > limitHi || (hi === limitHi && lo > limitLo);
  const atLimit = hi === limitHi && lo === limitLo;
  if (overLimit || (atLimit && !negative)) return integerIndefinite(bits);
  if (negative) {
    lo = (0 - lo) >>> 0;
    hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
  }
  intHi = hi; intLo = lo;
  return r;
}

function integerIndefinite(bits: number): number {
  intHi = bits === 64 ? 0x80000000 : 0;
  intLo = bits === 64 ? 0 : bits === 32 ? 0x80000000 : 0x8000;
  return IE;
}

/** An integer (intHi:intLo, two's complement, 64 bits) as an extended value: always exact. */
export function fromInteger(hi: number, lo: number, out: F80): void {
  let sign = 0;
  hi >>>= 0; lo >>>= 0;
  if ((hi & 0x80000000) !== 0) {
    sign = SIGN;
    lo = (0 - lo) >>> 0;
    hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
  }
  if ((hi | lo) === 0) { setZero(out, sign); return; }
  s0 = hi; s1 = lo; s2 = 0;
  const exp = BIAS + 63 - normalizeWorking();
  out.set(sign | exp, s0, s1);
}

// ---- scaling, remainders, exponents ------------------------------------------------------

/** FSCALE: a × 2^n, n = b truncated toward zero (SDM Vol. 2, FSCALE, table 3-46). */
export function scale(a: F80, b: F80, cw: number, out: F80): number {
  const ca = classify(a), cb = classify(b);
  const nan = nanOperands(a, ca, b, cb, out);
  if (nan >= 0) return nan;
  const sa = a.se & SIGN, sb = b.se & SIGN;
  if (cb === Class.Infinity) {
    if (sb === 0) {
      if (ca === Class.Zero) { setIndefinite(out); return IE; }
      setInfinity(out, sa);
    } else {
      if (ca === Class.Infinity) { setIndefinite(out); return IE; }
      setZero(out, sa);
    }
    return ca === Class.Denormal ? DE : 0;
  }
  let flags = 0;
  if (ca === Class.Denormal || cb === Class.Denormal) {
    if ((cw & DE) === 0) return DE;
    flags = DE;
  }
  if (ca === Class.Zero || ca === Class.Infinity) { out.copy(a); return flags; }
  // The scale factor, truncated; beyond +-2^16 every result overflows or underflows alike.
  let n = 0;
  if (cb !== Class.Zero) {
    unpackB(b);
    const e = bExp - BIAS;
    if (e >= 16) n = 0x10000;
    else if (e >= 0) n = bHi >>> (31 - e);
    if (sb !== 0) n = -n;
  }
  unpackA(a);
  s0 = aHi; s1 = aLo; s2 = 0;
  return flags | roundPack(sa, aExp + n, FULL, cw, true, out);
}

/** The low three bits of the quotient FPREM reports, and whether the reduction was partial. */
export let quotientLow = 0;
export let partial = false;

/**
 * FPREM (`nearest` false: the quotient truncated) and FPREM1 (`nearest`: the IEEE remainder).
 * The result is exact. When the exponents differ by 64 or more the reduction is partial: by
 * 32 + (difference mod 32) bits, the rule of AMD's manuals that Intel processors follow too.
 */
export function remainder(a: F80, b: F80, nearest: boolean, cw: number, out: F80): number {
  quotientLow = 0; partial = false;
  const ca = classify(a), cb = classify(b);
  const nan = nanOperands(a, ca, b, cb, out);
  if (nan >= 0) return nan;
  if (ca === Class.Infinity || cb === Class.Zero) { setIndefinite(out); return IE; }
  let flags = 0;
  if (ca === Class.Denormal || cb === Class.Denormal) {
    if ((cw & DE) === 0) return DE;
    flags = DE;
  }
  if (ca === Class.Zero) { out.copy(a); return flags; }
  unpackA(a); unpackB(b);
  const d = aExp - bExp;
  if (d < 0 || cb === Class.Infinity) {
    // |a| < |b|: the quotient is 0, or for FPREM1 1 when |a| > |b| / 2 (a - b is then exact).
    if (nearest && d === -1 && cb !== Class.Infinity && (aHi > bHi || (aHi === bHi && aLo > bLo))) {
      quotientLow = 1;
      return flags | add(a, b, (a.se & SIGN) === (b.se & SIGN), cw | 0x300, out);
    }
    // The result is a, written anew: a pseudo-denormal comes out normalized, a tiny value may underflow.
    s0 = aHi; s1 = aLo; s2 = 0;
    return flags | roundPack(aSign, aExp, FULL, cw, true, out);
  }
  // Long division of the significands, one quotient bit per step: r ends below b's
  // significand, in units of b's significand at exponent bExp + d - steps.
  const steps = d >= 64 ? 32 + (d & 31) : d;
  partial = d >= 64;
  r2 = 0; r1 = aHi; r0 = aLo;
  let q = 0;
  for (let k = 0; k <= steps; k++) {
    q = (q << 1) & 7;
    if (remAtLeastB()) { remSubB(); q |= 1; }
    if (k < steps) remShiftLeft();
  }
  let sign = a.se & SIGN;
  if (nearest && !partial) {
    // Round the quotient to nearest even: r > b/2, or r = b/2 with q odd, takes b - r instead.
    const twoHi = ((r1 << 1) | (r0 >>> 31)) >>> 0, twoLo = (r0 << 1) >>> 0;
    const cmp = (r1 >>> 31) !== 0 || twoHi > bHi ? 1 : twoHi < bHi ? -1 : twoLo > bLo ? 1 : twoLo < bLo ? -1 : 0;
    if (cmp > 0 || (cmp === 0 && (q & 1) === 1)) {
      const t0 = bLo - r0;
      r0 = t0 >>> 0;
      r1 = (bHi - r1 - (t0 < 0 ? 1 : 0)) >>> 0;
      sign ^= SIGN;
      q = (q + 1) & 7;
    }
  }
  if (!partial) quotientLow = q;
  s0 = r1; s1 = r0; s2 = 0;
  if ((s0 | s1) === 0) { setZero(out, a.se & SIGN); return flags; }
  return flags | finish(sign, bExp + d - steps, FULL, cw, out);
}

/** FXTRACT: the exponent of `a` (to `exponent`) and its significand with exponent 0 (to `out`). */
export function extract(a: F80, cw: number, exponent: F80, out: F80): number {
  const ca = classify(a);
  const nan = nanOperand(a, ca, out);
  if (nan >= 0) { exponent.copy(out); return nan; }
  const sign = a.se & SIGN;
  if (ca === Class.Zero) {
    if ((cw & ZE) === 0) return ZE;
    setInfinity(exponent, SIGN);
    setZero(out, sign);
    return ZE;
  }
  if (ca === Class.Infinity) { setInfinity(exponent, 0); out.copy(a); return 0; }
  let flags = 0;
  if (ca === Class.Denormal) {
    if ((cw & DE) === 0) return DE;
    flags = DE;
  }
  unpackA(a);
  const e = aExp - BIAS;
  fromInteger(e < 0 ? -1 : 0, e, exponent);
  out.set(sign | BIAS, aHi, aLo);
  return flags;
}

// ---- conversions -------------------------------------------------------------------------

/**
 * Single (m32fp) to extended, exact. A NaN stays what it is (an SNaN signals IE only when an
 * instruction uses it); a denormal becomes a normal extended value and returns DE, which the
 * instruction reports unless a higher-priority exception (IE, ZE) occurs.
 */
export function fromSingle(bits: number, out: F80): number {
  const sign = (bits >>> 16) & SIGN;
  const e = (bits >>> 23) & 0xff;
  const f = bits & 0x7fffff;
  if (e === 0xff) {
    if (f === 0) setInfinity(out, sign); else out.set(sign | MAX_EXP, 0x80000000 | (f << 8), 0);
    return 0;
  }
  if (e === 0) {
    if (f === 0) { setZero(out, sign); return 0; }
    s0 = f << 8; s1 = 0; s2 = 0;
    const exp = BIAS - 126 - normalizeWorking();
    out.set(sign | exp, s0, 0);
    return DE;
  }
  out.set(sign | (e - 127 + BIAS), 0x80000000 | (f << 8), 0);
  return 0;
}

/** Double (m64fp, hi:lo words) to extended, exact: as fromSingle. */
export function fromDouble(hi: number, lo: number, out: F80): number {
  const sign = (hi >>> 16) & SIGN;
  const e = (hi >>> 20) & 0x7ff;
  const fHi = hi & 0xfffff;
  // The 52 fraction bits moved up 11 places, under the integer bit.
  const sigHi = ((fHi << 11) | (lo >>> 21)) >>> 0, sigLo = (lo << 11) >>> 0;
  if (e === 0x7ff) {
    if ((fHi | lo) === 0) setInfinity(out, sign); else out.set(sign | MAX_EXP, 0x80000000 | sigHi, sigLo);
    return 0;
  }
  if (e === 0) {
    if ((fHi | lo) === 0) { setZero(out, sign); return 0; }
    s0 = sigHi; s1 = sigLo; s2 = 0;
    const exp = BIAS - 1022 - normalizeWorking();
    out.set(sign | exp, s0, s1);
    return DE;
  }
  out.set(sign | (e - 1023 + BIAS), 0x80000000 | sigHi, sigLo);
  return 0;
}

/** The bits of the last `toSingle` / `toDouble` (toSingle uses packedHi only). */
export let packedHi = 0, packedLo = 0;

/**
 * Extended to single (`fmt` SINGLE) or double (DOUBLE), rounded by the control word's
 * rounding control (precision control does not apply to stores). When an unmasked exception
 * leaves nothing to store the flags say so and packedHi:packedLo are not meaningful.
 */
export function toFloat(a: F80, fmt: Format, cw: number): number {
  const ca = classify(a);
  const double = fmt === DOUBLE;
  // The word holding sign and exponent: for a double also fraction bits 51:32, for a single 22:0.
  const fracBits = double ? 20 : 23;
  const expMax = double ? 0x7ff : 0xff;
  const top = ((a.se & SIGN) << 16) >>> 0;
  switch (ca) {
    case Class.Zero: packedHi = top; packedLo = 0; return 0;
    case Class.Infinity: packedHi = (top | (expMax << fracBits)) >>> 0; packedLo = 0; return 0;
    case Class.Unsupported:
      packedHi = double ? 0xfff80000 : 0xffc00000; packedLo = 0; return IE;
    case Class.QNaN: case Class.SNaN:
      // Quieted, the fraction truncated.
      packFraction(top | (expMax << fracBits), a.hi | 0x40000000, a.lo, double);
      return ca === Class.SNaN ? IE : 0;
  }
  // A denormal source signals no DE here (the host agrees): it only underflows.
  unpackA(a);
  s0 = aHi; s1 = aLo; s2 = 0;
  const flags = roundPack(a.se & SIGN, aExp, fmt, cw, false, scratch);
  if ((flags & ~cw & (OE | UE)) !== 0) return flags;
  const e = scratch.se & MAX_EXP;
  let biased: number;
  if (e === MAX_EXP) biased = expMax;                                  // infinity
  else if ((scratch.hi & 0x80000000) === 0) biased = 0;                // denormal or zero
  else biased = e - BIAS + (double ? 1023 : 127);
  packFraction(top | (biased << fracBits), scratch.hi, scratch.lo, double);
  return flags;
}

/** packedHi:packedLo from the sign and exponent bits and the significand below its integer bit. */
function packFraction(signExp: number, hi: number, lo: number, double: boolean): void {
  if (double) {
    packedHi = (signExp | ((hi >>> 11) & 0xfffff)) >>> 0;
    packedLo = ((hi << 21) | (lo >>> 11)) >>> 0;
  } else {
    packedHi = (signExp | ((hi >>> 8) & 0x7fffff)) >>> 0;
    packedLo = 0;
  }
}
/** `a` rounded into a JavaScript number (for display and the transcendental instructions). */
export function toNumber(a: F80): number {
  toFloat(a, DOUBLE, 0x037f);
  numberView.setUint32(0, packedHi);
  numberView.setUint32(4, packedLo);
  return numberView.getFloat64(0);
}

/** A JavaScript number as an extended value (exact). */
export function fromNumber(x: number, out: F80): void {
  numberView.setFloat64(0, x);
  fromDouble(numberView.getUint32(0), numberView.getUint32(4), out);
}
const numberView = new DataView(new ArrayBuffer(8));

/**
 * Rounds an exact value to a register under the control word: the constants of FLDPI and
 * friends, whose 66-bit values round by rounding control only (SDM Vol. 1, 8.3.8), are
 * given as their 64 truncated bits plus the next bits (`below`, 32 bits, non-zero).
 */
export function roundConstant(se: number, hi: number, lo: number, below: number, cw: number, out: F80): number {
  s0 = hi; s1 = lo; s2 = below;
  const flags = roundSig(64, (cw >> 10) & 3, (se & SIGN) !== 0);
  out.set(se, s0, s1);
  return flags;
}
