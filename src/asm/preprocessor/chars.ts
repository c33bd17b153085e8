/**
 * NASM's character classes (nasmlib/nctype.c, C locale). Characters outside ASCII count as
 * identifier characters, as they do in nasm.
 */

export const SPACE = 1;
export const ID_START = 2;
export const ID_CHAR = 4;
export const DIGIT = 8;
export const NUM_CHAR = 16;
export const QUOTE = 32;
export const HEX = 64;

/** Class bits of the ASCII characters (above 127: ID_START | ID_CHAR). */
export const CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  let k = 0;
  const isAlpha = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  const isDigit = c >= 48 && c <= 57;
  if (c === 32 || c === 9 || c === 11 || c === 12 || c === 13) k |= SPACE;
  if (isAlpha) k |= ID_START | ID_CHAR | NUM_CHAR;
  if (isDigit) k |= DIGIT | ID_CHAR | NUM_CHAR;
  if (isDigit || (c >= 65 && c <= 70) || (c >= 97 && c <= 102)) k |= HEX;
  CLASS[c] = k;
}
CLASS[0x24] |= ID_CHAR; // $
CLASS[0x5f] |= ID_START | ID_CHAR | NUM_CHAR; // _
for (const ch of '.@?') CLASS[ch.charCodeAt(0)] |= ID_START | ID_CHAR;
for (const ch of '#~') CLASS[ch.charCodeAt(0)] |= ID_CHAR;
for (const ch of '\'"`') CLASS[ch.charCodeAt(0)] |= QUOTE;

export function isSpace(c: number): boolean { return c < 128 && (CLASS[c] & SPACE) !== 0; }
export function isIdStart(c: number): boolean { return c >= 128 || (CLASS[c] & ID_START) !== 0; }
export function isIdChar(c: number): boolean { return c >= 128 || (CLASS[c] & ID_CHAR) !== 0; }
export function isDigit(c: number): boolean { return c >= 48 && c <= 57; }
export function isQuote(c: number): boolean { return c === 0x27 || c === 0x22 || c === 0x60; }
export function isHexDigit(c: number): boolean { return c < 128 && (CLASS[c] & HEX) !== 0; }
/** A character that may continue a number: letters, digits and `_`. */
export function isNumChar(c: number): boolean { return c < 128 && (CLASS[c] & NUM_CHAR) !== 0; }
