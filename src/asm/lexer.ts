/**
 * Tokens of one source line, as nasm's stdscan splits them: identifiers (`$name` forces one),
 * numbers in every radix form, floating-point constants, quoted strings, `$` and `$$`, and the
 * operators. A `;` ends the line. Words are classified (register, instruction, keyword) later,
 * by the statement parser, which knows the instruction set.
 */
import { readInteger } from './numbers';
import type { I64 } from './int64';
import { scanQuoted } from './strings';

export type TokenKind =
  | 'id'      // identifier or keyword
  | 'num'     // integer constant
  | 'float'   // floating-point constant (text kept)
  | 'str'     // quoted string (bytes kept)
  | 'here'    // $
  | 'base'    // $$
  | 'op'      // operator or punctuation, `text` is the operator
  | 'bad'     // malformed number or unterminated string
  | 'eos';

export interface Token {
  kind: TokenKind;
  text: string;
  /** Index of the first character in the line. */
  start: number;
  end: number;
  /** `num`: the value. */
  value?: I64;
  /** `num`: the constant did not fit in 64 bits. */
  overflow?: boolean;
  /** `str`: the bytes between the quotes, escapes applied. */
  bytes?: Uint8Array;
  /** `id`: written with a leading `$`, so never a keyword. */
  forcedId?: boolean;
  /** `bad`: what is wrong. */
  problem?: string;
}

function isIdStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x2e || c === 0x3f || c === 0x40 || c > 0x7f;
}

function isIdChar(c: number): boolean {
  return isIdStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x24 || c === 0x23 || c === 0x7e;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** nasm_isnumchar: letters, digits and underscore. */
function isNumChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || isDigit(c) || c === 0x5f;
}

const THREE_CHAR_OPS = ['<=>', '>>>', '<<<'];
const TWO_CHAR_OPS = ['>>', '<<', '//', '%%', '==', '<>', '!=', '<=', '>=', '&&', '^^', '||'];

/** Every token has every field, so code reading tokens sees one object shape. */
function token(kind: TokenKind, text: string, start: number, end: number): Token {
  return { kind, text, start, end, value: undefined, overflow: undefined, bytes: undefined, forcedId: undefined, problem: undefined };
}

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const n = text.length;
  let i = 0;
  for (;;) {
    while (i < n && (text.charCodeAt(i) <= 0x20)) i++;
    if (i >= n) break;
    const c = text.charCodeAt(i);
    const start = i;
    if (c === 0x3b) break; // ; comment
    if (isIdStart(c) || (c === 0x24 && i + 1 < n && isIdStart(text.charCodeAt(i + 1)))) {
      const forced = c === 0x24;
      if (forced) i++;
      const nameStart = i;
      i++;
      while (i < n && isIdChar(text.charCodeAt(i))) i++;
      const word = text.slice(nameStart, i);
      // A lone `?` is an operator (`a ? b : c`, `db ?`), not a name.
      const t = token(word === '?' && !forced ? 'op' : 'id', word, start, i);
      if (forced) t.forcedId = true;
      tokens.push(t);
    } else if (c === 0x24 && !(i + 1 < n && isNumChar(text.charCodeAt(i + 1)))) {
      if (i + 1 < n && text.charCodeAt(i + 1) === 0x24) {
        i += 2;
        tokens.push(token('base', '$$', start, i));
      } else {
        i++;
        tokens.push(token('here', '$', start, i));
      }
    } else if (isDigit(c) || c === 0x24) {
      i = scanNumber(text, i, tokens);
    } else if (c === 0x27 || c === 0x22 || c === 0x60) {
      const q = scanQuoted(text, i);
      i = q.end;
      const t = token(q.terminated ? 'str' : 'bad', text.slice(start, i), start, i);
      if (q.terminated) t.bytes = q.bytes;
      else t.problem = `unterminated string (missing \`${text[start]}')`;
      tokens.push(t);
    } else {
      const three = text.substr(i, 3), two = text.substr(i, 2);
      const op = THREE_CHAR_OPS.includes(three) ? three : TWO_CHAR_OPS.includes(two) ? two : text[i];
      i += op.length;
      tokens.push(token('op', op === '<<<' ? '<<' : op, start, i));
    }
  }
  tokens.push(token('eos', '', i, i));
  return tokens;
}

/** A number: scanned the way stdscan does, then an integer or a floating-point constant. */
function scanNumber(text: string, i: number, tokens: Token[]): number {
  const start = i;
  const n = text.length;
  let isHex = false, isFloat = false, hasE = false;
  if (text.charCodeAt(i) === 0x24) { i++; isHex = true; }
  for (;;) {
    const c = i < n ? text[i] : '';
    i++;
    if (!isHex && (c === 'e' || c === 'E')) {
      hasE = true;
      if (text[i] === '+' || text[i] === '-') { isFloat = true; i++; }
    } else if (c === 'H' || c === 'h' || c === 'X' || c === 'x') {
      isHex = true;
    } else if (c === 'P' || c === 'p') {
      isFloat = true;
      if (text[i] === '+' || text[i] === '-') i++;
    } else if (c !== '' && isNumChar(c.charCodeAt(0))) {
      // digit, letter or underscore
    } else if (c === '.') {
      isFloat = true;
    } else {
      break;
    }
  }
  i--;
  if (hasE && !isHex) isFloat = true;
  const body = text.slice(start, i);
  if (isFloat) {
    tokens.push(token('float', body, start, i));
    return i;
  }
  const parsed = readInteger(body);
  const t = token(parsed ? 'num' : 'bad', body, start, i);
  if (parsed) {
    t.value = parsed.value;
    if (parsed.overflow) t.overflow = true;
  } else {
    t.problem = `invalid number \`${body}'`;
  }
  tokens.push(t);
  return i;
}
