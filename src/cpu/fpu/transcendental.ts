/**
 * FSIN, FCOS, FPTAN, FPATAN, F2XM1, FYL2X and FYL2XP1 (SDM Vol. 2) through JavaScript's Math
 * on doubles: the special cases (NaNs, infinities, zeros, the out-of-range operand of the
 * trigonometric instructions) are the processor's, but finite results carry 53 bits, not 64,
 * so their last bits differ from the hardware's (whose own results differ between Intel and
 * AMD). Freestanding GCC code calls these only through libm, which kernels seldom have.
 */
import { Class, classify, DE, F80, fromNumber, IE, PE, setIndefinite, toNumber, ZE } from './float80';

/** |x| >= 2^63: the trigonometric instructions leave the operand and set C2 (SDM Vol. 2, FSIN). */
export function outOfRange(a: F80): boolean {
  const c = classify(a);
  return (c === Class.Normal || c === Class.Denormal) && (a.se & 0x7fff) >= 0x3fff + 63;
}

/** A NaN operand quieted into `out` (IE for an SNaN); -1 when `v` is no NaN. */
function nan(v: F80, c: Class, out: F80): number {
  if (c !== Class.QNaN && c !== Class.SNaN) return -1;
  out.set(v.se, v.hi | 0x40000000, v.lo);
  return c === Class.SNaN ? IE : 0;
}

/** NaN, unsupported and infinite operands of a one-operand function: the flags, or -1 for a finite operand. */
function special(a: F80, ca: Class, out: F80): number {
  if (ca === Class.Unsupported || ca === Class.Infinity) { setIndefinite(out); return IE; }
  return nan(a, ca, out);
}

/** A finite result: exact zeros stay exact, everything else is inexact. */
function result(x: number, out: F80, denormal: boolean): number {
  fromNumber(x, out);
  return (x === 0 ? 0 : PE) | (denormal ? DE : 0);
}

export const enum Fn { Sin, Cos, Tan, TwoXM1 }

/** sin, cos, tan of a finite operand below 2^63, or 2^x - 1. */
export function unary(fn: Fn, a: F80, out: F80): number {
  const ca = classify(a);
  const s = special(a, ca, out);
  if (s >= 0) return s;
  if (ca === Class.Zero) {
    // sin, tan and 2^x - 1 of +-0 are that zero, cos is 1: all exact.
    if (fn === Fn.Cos) fromNumber(1, out); else out.copy(a);
    return 0;
  }
  const x = toNumber(a);
  let y: number;
  switch (fn) {
    case Fn.Sin: y = Math.sin(x); break;
    case Fn.Cos: y = Math.cos(x); break;
    case Fn.Tan: y = Math.tan(x); break;
    default: y = Math.expm1(x * Math.LN2);
  }
  return result(y, out, ca === Class.Denormal);
}

/** FPATAN: arctan(y / x) in the quadrant of (x, y), x = ST(0), y = ST(1). */
export function atan2(y: F80, x: F80, out: F80): number {
  const cy = classify(y), cx = classify(x);
  if (cy === Class.Unsupported || cx === Class.Unsupported) { setIndefinite(out); return IE; }
  let n = nan(x, cx, out);
  if (n < 0) n = nan(y, cy, out);
  if (n >= 0) return n;
  return result(Math.atan2(toNumber(y), toNumber(x)), out, cy === Class.Denormal || cx === Class.Denormal);
}

/** FYL2X (y × log2 x) and, with `plusOne`, FYL2XP1 (y × log2(x + 1)); x = ST(0), y = ST(1). */
export function ylog2x(y: F80, x: F80, plusOne: boolean, out: F80): number {
  const cy = classify(y), cx = classify(x);
  if (cy === Class.Unsupported || cx === Class.Unsupported) { setIndefinite(out); return IE; }
  let n = nan(x, cx, out);
  if (n < 0) n = nan(y, cy, out);
  if (n >= 0) return n;
  const xv = toNumber(x), yv = toNumber(y);
  const arg = plusOne ? xv + 1 : xv;
  if (arg < 0 || Number.isNaN(arg)) { setIndefinite(out); return IE; }
  const l = plusOne ? Math.log1p(xv) / Math.LN2 : Math.log2(xv);
  // log of 0 times a finite non-zero y: a division by zero (SDM Vol. 2, FYL2X, table 3-49).
  if (l === -Infinity && yv !== 0 && Number.isFinite(yv)) { fromNumber(yv > 0 ? -Infinity : Infinity, out); return ZE; }
  const p = yv * l;
  if (Number.isNaN(p)) { setIndefinite(out); return IE; }
  return result(p, out, cy === Class.Denormal || cx === Class.Denormal);
}
