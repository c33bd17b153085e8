/**
 * Packed BCD integers of FBLD and FBSTP (SDM Vol. 1, 4.7): 18 decimal digits, two per byte
 * from the least significant, and the sign in bit 7 of the tenth byte. Rare instructions, so
 * BigInt does the decimal work.
 */
import { Class, classify, F80, fromInteger, IE, intHi, intLo, toInteger } from './float80';

/** The ten bytes as an extended value (exact: 18 digits fit in 64 bits). Digits above 9 give undefined results. */
export function fromBcd(bytes: Uint8Array, out: F80): void {
  let v = 0n;
  for (let k = 8; k >= 0; k--) v = v * 100n + BigInt((bytes[k] >> 4) * 10 + (bytes[k] & 0xf));
  const negative = (bytes[9] & 0x80) !== 0;
  const u = BigInt.asUintN(64, negative ? -v : v);
  fromInteger(Number(u >> 32n), Number(u & 0xffffffffn), out);
  out.se |= negative ? 0x8000 : 0;   // -0 stays negative
}

const LIMIT = 10n ** 18n;

/**
 * `a` rounded to an integer by the control word into ten BCD bytes; IE when it has more than
 * 18 digits or is not a number, with the packed BCD indefinite (FFFF C000 0000 0000 0000H) as
 * the masked result. Returns float80's flags.
 */
export function toBcd(a: F80, cw: number, out: Uint8Array): number {
  const c = classify(a);
  const flags = c === Class.Zero ? 0 : toInteger(a, 64, cw);
  let v = c === Class.Zero ? 0n : BigInt.asIntN(64, (BigInt(intHi >>> 0) << 32n) | BigInt(intLo >>> 0));
  if (v < 0n) v = -v;
  if ((flags & IE) !== 0 || v >= LIMIT) {
    out.fill(0);
    out[7] = 0xc0; out[8] = 0xff; out[9] = 0xff;
    return IE;
  }
  for (let k = 0; k < 9; k++) {
    const pair = Number(v % 100n);
    v /= 100n;
    out[k] = ((Math.floor(pair / 10)) << 4) | (pair % 10);
  }
  // The sign is the source's, also when it rounds to zero.
  out[9] = (a.se & 0x8000) !== 0 ? 0x80 : 0;
  return flags;
}
