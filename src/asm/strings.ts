/**
 * nasm's quoted strings: '...' and "..." are taken literally, `...` understands C-style
 * escapes (\n, \x41, \101, \u00e9 as UTF-8, ...). Source text is UTF-8, so characters beyond
 * ASCII become their UTF-8 bytes, as nasm, which reads bytes, would store them.
 */

export interface QuotedString {
  /** Index just past the closing quote (or the end of the text when it is missing). */
  end: number;
  bytes: Uint8Array;
  terminated: boolean;
}

const utf8 = new TextEncoder();

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}

function hexValue(c: number): number {
  return c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10;
}

/** Finds the end of the string opened at text[start] (a quote character). */
function closingQuote(text: string, start: number): number {
  const q = text.charCodeAt(start);
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === q) return i;
    if (c === 0x5c && q === 0x60) i++; // a backslash in `...` hides the next character
  }
  return -1;
}

export function scanQuoted(text: string, start: number): QuotedString {
  const close = closingQuote(text, start);
  const terminated = close >= 0;
  const bodyEnd = terminated ? close : text.length;
  const body = text.slice(start + 1, bodyEnd);
  const raw = asciiOnly(body) ? asciiBytes(body) : utf8.encode(body);
  const bytes = text.charCodeAt(start) === 0x60 ? unescape(raw) : raw;
  return { end: terminated ? close + 1 : text.length, bytes, terminated };
}

function asciiOnly(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

function asciiBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

const SIMPLE_ESCAPES: Record<string, number> = { a: 7, b: 8, e: 27, f: 12, n: 10, r: 13, t: 9, v: 11 };

/** Backquote escapes, following nasm_unquote_anystr's state machine. */
function unescape(raw: Uint8Array): Uint8Array {
  const out: number[] = [];
  let i = 0;
  while (i < raw.length) {
    const c = raw[i++];
    if (c !== 0x5c) {
      out.push(c);
      continue;
    }
    if (i >= raw.length) {
      out.push(0x5c);
      break;
    }
    const e = raw[i++];
    const ch = String.fromCharCode(e);
    if (ch in SIMPLE_ESCAPES) {
      out.push(SIMPLE_ESCAPES[ch]);
    } else if (e >= 0x30 && e <= 0x37) {
      let v = e - 0x30;
      for (let n = 0; n < 2 && i < raw.length && raw[i] >= 0x30 && raw[i] <= 0x37; n++) v = (v << 3) + raw[i++] - 0x30;
      out.push(v & 0xff);
    } else if (ch === 'x' || ch === 'X' || ch === 'u' || ch === 'U') {
      const digits = ch === 'u' ? 4 : ch === 'U' ? 8 : 2;
      let v = 0, n = 0;
      while (n < digits && i < raw.length && isHex(raw[i])) {
        v = v * 16 + hexValue(raw[i++]);
        n++;
      }
      if (n === 0) out.push(e); // no digits: nasm keeps the letter
      else if (digits === 2) out.push(v);
      else for (const b of utf8Sequence(v)) out.push(b);
    } else {
      out.push(e);
    }
  }
  return Uint8Array.from(out);
}

/** nasm's emit_utf8: classic UTF-8 of up to 31 bits, without rejecting surrogates. */
function utf8Sequence(v: number): number[] {
  if (v <= 0x7f) return [v];
  const tail: number[] = [];
  for (let count = 1; ; count++) {
    tail.unshift(0x80 | (v & 0x3f));
    v = Math.floor(v / 64);
    // The lead byte of a count-byte tail holds 6 - count bits; past five, nasm adds the rest as is.
    if (v <= 0x3f >> count || count === 5) return [((0xff << (7 - count)) & 0xff) + v, ...tail];
  }
}
