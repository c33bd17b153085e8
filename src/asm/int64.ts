/**
 * Two's-complement 64-bit integers, the arithmetic of nasm's expression evaluator. A value is
 * a JS number while it is a safe integer (nearly always) and a bigint otherwise, so the common
 * path costs no bigint operations; every result is wrapped to 64 bits and normalized back.
 */
export type I64 = number | bigint;

const SAFE = Number.MAX_SAFE_INTEGER;

function big(a: I64): bigint {
  return typeof a === 'bigint' ? a : BigInt(a);
}

/** Wraps a bigint to signed 64 bits and returns a number when it is one exactly. */
export function norm(b: bigint): I64 {
  const w = BigInt.asIntN(64, b);
  return w >= -9007199254740991n && w <= 9007199254740991n ? Number(w) : w;
}

function isSmall(a: I64): a is number {
  return typeof a === 'number';
}

export function add(a: I64, b: I64): I64 {
  if (isSmall(a) && isSmall(b)) {
    const r = a + b;
    if (r >= -SAFE && r <= SAFE) return r;
  }
  return norm(big(a) + big(b));
}

export function sub(a: I64, b: I64): I64 {
  if (isSmall(a) && isSmall(b)) {
    const r = a - b;
    if (r >= -SAFE && r <= SAFE) return r;
  }
  return norm(big(a) - big(b));
}

export function mul(a: I64, b: I64): I64 {
  if (isSmall(a) && isSmall(b)) {
    const r = a * b;
    if (r >= -SAFE && r <= SAFE) return r === 0 ? 0 : r;
  }
  return norm(big(a) * big(b));
}

export function neg(a: I64): I64 {
  return isSmall(a) ? (a === 0 ? 0 : -a) : norm(-a);
}

export function not(a: I64): I64 {
  return isSmall(a) ? -a - 1 : norm(~a);
}

const INT32_MIN = -0x80000000, INT32_MAX = 0x7fffffff;
const fitsInt32 = (a: I64): a is number => isSmall(a) && a >= INT32_MIN && a <= INT32_MAX;

export function and(a: I64, b: I64): I64 {
  return fitsInt32(a) && fitsInt32(b) ? a & b : norm(big(a) & big(b));
}

export function or(a: I64, b: I64): I64 {
  return fitsInt32(a) && fitsInt32(b) ? a | b : norm(big(a) | big(b));
}

export function xor(a: I64, b: I64): I64 {
  return fitsInt32(a) && fitsInt32(b) ? a ^ b : norm(big(a) ^ big(b));
}

/** The unsigned 64-bit view of a, as a bigint. */
function unsigned(a: I64): bigint {
  return BigInt.asUintN(64, big(a));
}

/** Shift counts are taken as unsigned 64-bit numbers; x86 C compilers mask them to 6 bits, as nasm's host does. */
function shiftCount(b: I64): number {
  return Number(unsigned(b) & 63n);
}

export function shl(a: I64, b: I64): I64 {
  const n = shiftCount(b);
  if (isSmall(a) && n < 31) {
    const r = a * 2 ** n;
    if (r >= -SAFE && r <= SAFE) return r;
  }
  return norm(big(a) << BigInt(n));
}

/** Logical right shift of the 64-bit pattern (`>>`). */
export function shr(a: I64, b: I64): I64 {
  const n = shiftCount(b);
  if (isSmall(a) && a >= 0) return Math.floor(a / 2 ** n);
  return norm(unsigned(a) >> BigInt(n));
}

/** Arithmetic right shift (`>>>`). */
export function sar(a: I64, b: I64): I64 {
  const n = shiftCount(b);
  if (isSmall(a)) return Math.floor(a / 2 ** n);
  return norm(a >> BigInt(n));
}

/** Unsigned division (`/`); the divisor is not zero. */
export function udiv(a: I64, b: I64): I64 {
  if (isSmall(a) && isSmall(b) && a >= 0 && b > 0) return Math.floor(a / b);
  return norm(unsigned(a) / unsigned(b));
}

/** Unsigned remainder (`%`). */
export function umod(a: I64, b: I64): I64 {
  if (isSmall(a) && isSmall(b) && a >= 0 && b > 0) return a % b;
  return norm(unsigned(a) % unsigned(b));
}

/** Signed division truncating toward zero (`//`). */
export function sdiv(a: I64, b: I64): I64 {
  if (isSmall(a) && isSmall(b)) return Math.trunc(a / b) || 0;
  return norm(big(a) / big(b));
}

/** Signed remainder with the sign of the dividend (`%%`). */
export function smod(a: I64, b: I64): I64 {
  if (isSmall(a) && isSmall(b)) return a % b || 0;
  return norm(big(a) % big(b));
}

export function compare(a: I64, b: I64): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function isZero(a: I64): boolean {
  return a === 0 || a === 0n;
}

/** The low 32 bits as a signed number: what an operand of a 32-bit instruction sees. */
export function toInt32(a: I64): number {
  return isSmall(a) ? a | 0 : Number(BigInt.asIntN(32, a));
}

/** A number for sizes and counts; values beyond 2^53 are clamped (they are errors anyway). */
export function toNumber(a: I64): number {
  return isSmall(a) ? a : a > 0n ? Number.MAX_SAFE_INTEGER : -Number.MAX_SAFE_INTEGER;
}

/** The low `size` bytes, little-endian, into out at offset. */
export function writeLE(out: Uint8Array, offset: number, a: I64, size: number): void {
  if (isSmall(a) && size <= 4) {
    for (let i = 0; i < size; i++) out[offset + i] = (a >>> (8 * i)) & 0xff;
    return;
  }
  let v = BigInt.asUintN(64, big(a));
  for (let i = 0; i < size; i++) {
    out[offset + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

/** nasm's overflow_general: fits in `bytes` bytes as either a signed or an unsigned number. */
export function overflowsGeneral(a: I64, bytes: number): boolean {
  if (bytes >= 8) return false;
  const bits = bytes * 8;
  if (isSmall(a)) return a < -(2 ** bits) || a > 2 ** bits - 1;
  return a < -(1n << BigInt(bits)) || a > (1n << BigInt(bits)) - 1n;
}
