/**
 * NASM integer constants (nasmlib/readnum.c): 0x1f 0h1f $1f 1fh, 0b101 0y101 101b 101y,
 * 0o17 0q17 17o 17q, 0d99 0t99 99d 99t, `_` separators. Values wrap to 64 bits.
 */

function radixLetter(c: number): number {
  switch (c | 0x20) {
    case 0x62: case 0x79: return 2; // b y
    case 0x6f: case 0x71: return 8; // o q
    case 0x68: case 0x78: return 16; // h x
    case 0x64: case 0x74: return 10; // d t
    default: return 0;
  }
}

function digitValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x7a) return l - 0x61 + 10;
  return 99;
}

export interface ReadNumber {
  /** The value as a signed 64-bit integer. */
  value: bigint;
  /** The constant did not fit in 64 bits. */
  overflow: boolean;
}

const U64 = (1n << 64n) - 1n;

/** Parses a number token; undefined when it is not a valid integer constant. */
export function readNumber(text: string): ReadNumber | undefined {
  let r = 0;
  let negative = false;
  if (text.charCodeAt(0) === 0x2d) { negative = true; r = 1; }
  let q = r;
  while (q < text.length) {
    const c = text.charCodeAt(q);
    const isNumChar = (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) || c === 0x24 || c === 0x5f;
    if (!isNumChar) break;
    q++;
  }
  const len = q - r;
  if (len === 0) return undefined;

  let pradix = 0;
  let plen = 0;
  if (len > 2 && text.charCodeAt(r) === 0x30 && (pradix = radixLetter(text.charCodeAt(r + 1))) !== 0) plen = 2;
  else if (len > 1 && text.charCodeAt(r) === 0x24) { pradix = 16; plen = 1; }
  const sradix = len > 1 ? radixLetter(text.charCodeAt(q - 1)) : 0;
  let radix = 10;
  if (pradix > sradix) { radix = pradix; r += plen; } else if (sradix > pradix) { radix = sradix; q -= 1; }

  const big = BigInt(radix);
  let result = 0n;
  let small = 0;
  let useSmall = true;
  for (let i = r; i < q; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5f) continue;
    const d = c < 0x30 || (c > 0x39 && c < 0x41) ? 99 : digitValue(c);
    if (d >= radix) return undefined;
    if (useSmall) {
      small = small * radix + d;
      if (small > Number.MAX_SAFE_INTEGER / 64) { useSmall = false; result = BigInt(small); }
    } else {
      result = result * big + BigInt(d);
    }
  }
  if (useSmall) result = BigInt(small);
  const overflow = result > U64;
  result &= U64;
  if (negative) result = (-result) & U64;
  return { value: BigInt.asIntN(64, result), overflow };
}

/**
 * The value of a character constant: the bytes of the string, little-endian, keeping the
 * first `width` bytes (nasm keeps 4, or 8 in 64-bit mode). `tooLong` reports dropped bytes.
 */
export function charConstant(bytes: string, width = 8): { value: bigint; tooLong: boolean } {
  let v = 0n;
  const n = Math.min(bytes.length, width);
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes.charCodeAt(i) & 0xff);
  return { value: BigInt.asIntN(64, v), tooLong: bytes.length > width };
}
