/**
 * Numeric constants as nasm reads them (nasmlib/readnum.c): 0x10 0h10 $10 10h, 0q17 0o17 17q
 * 17o, 0b101 0y101 101b 101y, 0d99 0t99 99d 99t, underscores anywhere, and floating-point
 * constants (1.5, 1e3, 0x1.8p3) for dw/dd/dq.
 */
import { type I64, norm } from './int64';

function radixLetter(c: string): number {
  switch (c) {
    case 'b': case 'B': case 'y': case 'Y': return 2;
    case 'o': case 'O': case 'q': case 'Q': return 8;
    case 'h': case 'H': case 'x': case 'X': return 16;
    case 'd': case 'D': case 't': case 'T': return 10;
    default: return 0;
  }
}

function digitValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x7a) return l - 0x61 + 10;
  return 99;
}

export interface ParsedInteger {
  value: I64;
  /** The constant does not fit in 64 bits (nasm warns and keeps the low bits). */
  overflow: boolean;
}

/** Parses an integer token; undefined when it is malformed (a digit beyond the radix, no digits). */
export function readInteger(text: string): ParsedInteger | undefined {
  let start = 0, end = text.length;
  if (end === 0) return undefined;
  let prefixRadix = 0, suffixRadix = 0, prefixLength = 0;
  if (end > 2 && text[0] === '0' && (prefixRadix = radixLetter(text[1])) !== 0) prefixLength = 2;
  else if (end > 1 && text[0] === '$') { prefixRadix = 16; prefixLength = 1; }
  if (end > 1) suffixRadix = radixLetter(text[end - 1]);
  let radix = 10;
  if (prefixRadix > suffixRadix) { radix = prefixRadix; start += prefixLength; }
  else if (suffixRadix > prefixRadix) { radix = suffixRadix; end -= 1; }

  // Fast path: a short decimal or hex number fits a double exactly.
  let small = 0, digits = 0, i = start;
  for (; i < end && digits < 13; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5f) continue;
    const d = digitValue(c);
    if (d >= radix) return undefined;
    small = small * radix + d;
    digits++;
  }
  if (i === end) return digits === 0 ? undefined : { value: small, overflow: false };

  let value = BigInt(small);
  const r = BigInt(radix);
  let overflow = false;
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5f) continue;
    const d = digitValue(c);
    if (d >= radix) return undefined;
    value = value * r + BigInt(d);
    if (value >> 64n) overflow = true;
  }
  return { value: norm(value), overflow };
}

/** IEEE formats nasm can store for a data element of this many bytes. */
export function floatBytes(text: string, sign: 1 | -1, size: number): Uint8Array | string {
  const value = parseFloatConstant(text);
  if (value === undefined) return `invalid floating-point constant \`${text}'`;
  const v = sign * value;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  switch (size) {
    case 2: view.setUint16(0, toHalf(v), true); break;
    case 4: view.setFloat32(0, v, true); break;
    case 8: view.setFloat64(0, v, true); break;
    default: return `no ${size * 8}-bit floating-point format supported`;
  }
  return out;
}

function parseFloatConstant(text: string): number | undefined {
  const t = text.replace(/_/g, '');
  const hex = /^(?:0[xh]|\$)([0-9a-f]*)(?:\.([0-9a-f]*))?(?:p([+-]?\d+))?$/i.exec(t);
  if (hex) {
    const int = hex[1] ?? '', frac = hex[2] ?? '';
    if (int === '' && frac === '') return undefined;
    let m = 0;
    for (const c of int + frac) m = m * 16 + parseInt(c, 16);
    return m * 2 ** (Number(hex[3] ?? 0) - 4 * frac.length);
  }
  if (!/^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) return undefined;
  return Number(t);
}

/** Round-to-nearest-even conversion to IEEE binary16. */
function toHalf(v: number): number {
  const f32 = new DataView(new ArrayBuffer(4));
  f32.setFloat32(0, v);
  const x = f32.getUint32(0);
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = mant >> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rest > mid || (rest === mid && (half & 1)) ? 1 : 0));
  }
  const half = mant >> 13;
  const rest = mant & 0x1fff;
  let h = (e << 10) | half;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1))) h++;
  return sign | h;
}
