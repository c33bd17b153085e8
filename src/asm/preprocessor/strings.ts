/**
 * NASM string literals (asm/quote.c): '...' and "..." take no escapes, `...` takes C-like
 * escapes. String values are "byte strings": JS strings whose char codes are bytes 0..255,
 * the UTF-8 encoding of the source text, so that lengths and character constants count bytes
 * the way nasm does.
 */
import { isHexDigit } from './chars';

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

/** The UTF-8 bytes of a source string, as a byte string. */
export function toByteString(s: string): string {
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= 0x80) { ascii = false; break; }
  }
  if (ascii) return s;
  return bytesToByteString(utf8Encoder.encode(s));
}

function bytesToByteString(bytes: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i += 8192) {
    parts.push(String.fromCharCode(...bytes.subarray(i, i + 8192)));
  }
  return parts.join('');
}

/** Decodes a byte string as UTF-8 (for messages and file names). */
export function fromByteString(b: string): string {
  let ascii = true;
  for (let i = 0; i < b.length; i++) {
    if (b.charCodeAt(i) >= 0x80) { ascii = false; break; }
  }
  if (ascii) return b;
  const bytes = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) bytes[i] = b.charCodeAt(i) & 0xff;
  return utf8Decoder.decode(bytes);
}

/**
 * Index of the closing quote of the string starting at `start` (which holds the quote), or
 * `s.length` when the string is unterminated.
 */
export function skipString(s: string, start: number): number {
  const q = s.charCodeAt(start);
  let i = start + 1;
  if (q === 0x60) {
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c === 0x5c) i += 2;
      else if (c === 0x60) return i;
      else i++;
    }
    return s.length;
  }
  const end = s.indexOf(s[start], i);
  return end < 0 ? s.length : end;
}

function emitUtf8(out: number[], v: number): void {
  if (v <= 0x7f) { out.push(v); return; }
  const bytes = utf8Encoder.encode(String.fromCodePoint(Math.min(v, 0x10ffff)));
  for (const b of bytes) out.push(b);
}

/**
 * The value of a quoted string token (text including its quotes) as a byte string. An
 * unterminated string yields what was there up to the end.
 */
export function unquote(text: string): string {
  const s = toByteString(text);
  const q = s.charCodeAt(0);
  if (q === 0x27 || q === 0x22) {
    const end = s.indexOf(s[0], 1);
    return s.slice(1, end < 0 ? s.length : end);
  }
  if (q !== 0x60) return s;
  const out: number[] = [];
  let i = 1;
  while (i < s.length) {
    const c = s.charCodeAt(i++);
    if (c === 0x60) break;
    if (c !== 0x5c) { out.push(c); continue; }
    if (i >= s.length) { out.push(0x5c); break; }
    const e = s.charCodeAt(i++);
    switch (e) {
      case 0x61: out.push(7); break; // a
      case 0x62: out.push(8); break; // b
      case 0x65: out.push(27); break; // e
      case 0x66: out.push(12); break; // f
      case 0x6e: out.push(10); break; // n
      case 0x72: out.push(13); break; // r
      case 0x74: out.push(9); break; // t
      case 0x76: out.push(11); break; // v
      case 0x78: case 0x58: case 0x75: case 0x55: { // x X u U
        const max = e === 0x75 ? 4 : e === 0x55 ? 8 : 2;
        let v = 0;
        let n = 0;
        while (n < max && i < s.length && isHexDigit(s.charCodeAt(i))) {
          v = v * 16 + parseInt(s[i], 16);
          i++;
          n++;
        }
        if (n === 0) out.push(e); // `\x` with no digits stands for the letter itself
        else if (e === 0x75 || e === 0x55) emitUtf8(out, v);
        else out.push(v & 0xff);
        break;
      }
      default:
        if (e >= 0x30 && e <= 0x37) {
          let v = e - 0x30;
          for (let n = 0; n < 2 && i < s.length; n++) {
            const d = s.charCodeAt(i);
            if (d < 0x30 || d > 0x37) break;
            v = v * 8 + (d - 0x30);
            i++;
          }
          out.push(v & 0xff);
        } else {
          out.push(e);
        }
    }
  }
  return bytesToByteString(Uint8Array.from(out));
}

/** Quotes a byte string the way nasm_quote() does: '..' or ".." when possible, else `..`. */
export function quote(b: string): string {
  let sqOk = true;
  let dqOk = true;
  for (let i = 0; i < b.length; i++) {
    const c = b.charCodeAt(i);
    if (c === 0x27) sqOk = false;
    else if (c === 0x22) dqOk = false;
    else if (c < 0x20 || c > 0x7e) { sqOk = false; dqOk = false; }
  }
  if (sqOk) return `'${b}'`;
  if (dqOk) return `"${b}"`;
  const out: string[] = ['`'];
  for (let i = 0; i < b.length; i++) {
    const c = b.charCodeAt(i);
    switch (c) {
      case 0x60: out.push('\\`'); break;
      case 0x5c: out.push('\\\\'); break;
      case 7: out.push('\\a'); break;
      case 8: out.push('\\b'); break;
      case 9: out.push('\\t'); break;
      case 10: out.push('\\n'); break;
      case 11: out.push('\\v'); break;
      case 12: out.push('\\f'); break;
      case 13: out.push('\\r'); break;
      case 27: out.push('\\e'); break;
      default:
        if (c < 0x20 || c > 0x7e) {
          const next = i + 1 < b.length ? b.charCodeAt(i + 1) : 0;
          // A following octal digit forces the full three-digit form.
          const u = next >= 0x30 && next <= 0x37 ? 0o377 : c;
          let esc = '\\';
          if (u > 0o77) esc += String.fromCharCode((c >> 6) + 0x30);
          if (u > 0o7) esc += String.fromCharCode(((c >> 3) & 7) + 0x30);
          esc += String.fromCharCode((c & 7) + 0x30);
          out.push(esc);
        } else {
          out.push(b[i]);
        }
    }
  }
  out.push('`');
  return out.join('');
}
