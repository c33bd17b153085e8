/**
 * The preprocessor's tokens (asm/preproc.c tokenize()). Unlike nasm, whitespace tokens keep
 * their original text, so a line nothing expanded comes out exactly as written.
 */
import { isDigit, isIdChar, isIdStart, isNumChar, isQuote, isSpace, isHexDigit } from './chars';
import { skipString } from './strings';

/** Token kinds. */
export const T = {
  Whitespace: 0,
  Id: 1,
  /** `%name`, `%?...`, `%{name}`: a directive or preprocessor function name. */
  PreprocId: 2,
  /** `%$name`, `%$$name`: context-local. */
  LocalMacro: 3,
  /** `%%name`: macro-local label. */
  LocalSymbol: 4,
  /** `%1`, `%-1`, `%+1`, `%0`, `%00`, `%{1:3}`. */
  MacroParam: 5,
  Num: 6,
  Float: 7,
  Str: 8,
  /** An unterminated string. */
  ErrStr: 9,
  /** `$` */
  Here: 10,
  /** `$$` */
  Base: 11,
  /** Operators and any other punctuation; the text says which. */
  Op: 12,
  /** `%+` */
  Paste: 13,
  /** `%[...]`, text without the brackets. */
  Indirect: 14,
  /** `%!name` */
  Environ: 15,
  /** `%,` */
  CondComma: 16,
  /** `%?` */
  Q: 17,
  /** `%??` */
  QQ: 18,
  /** `%*?` */
  SQ: 19,
  /** `%*??` */
  SQQ: 20,
  /** `?` alone (the conditional operator). */
  QMark: 21,
  /** A parameter of a single-line macro inside its stored expansion; `n` is its index. */
  SmacParam: 22,
  /** A parameter of the single-line macro being defined by %xdefine, protected from expansion. */
  XdefParam: 23,
} as const;
export type TokenType = (typeof T)[keyof typeof T];

export interface Token {
  readonly type: TokenType;
  readonly text: string;
  /** 1-based column in the line the token was read from (for diagnostics). */
  readonly col: number;
  /** For SmacParam: the parameter index. */
  readonly n: number;
}

export function tok(type: TokenType, text: string, col: number, n = 0): Token {
  return { type, text, col, n };
}

export interface TokenizedLine {
  tokens: Token[];
  /** Index where the comment or trailing whitespace begins (the end of meaningful text). */
  end: number;
}

export interface TokenizeWarning { col: number; message: string }

/**
 * Splits one logical line into tokens. `col0` is the column of `line[0]`. Comments and the
 * whitespace before them are dropped. Warnings (unterminated strings and constructs) are
 * pushed to `warnings` when given.
 */
export function tokenize(line: string, col0 = 1, warnings?: TokenizeWarning[]): TokenizedLine {
  const tokens: Token[] = [];
  const len = line.length;
  let i = 0;
  while (i < len) {
    const start = i;
    const c = line.charCodeAt(i);
    let type: TokenType;
    let text: string | undefined;

    if (c === 0x25 /* % */) {
      const r = scanPercent(line, i, warnings, col0);
      type = r.type;
      text = r.text;
      i = r.next;
    } else if (c === 0x3f /* ? */ && !(i + 1 < len && isIdChar(line.charCodeAt(i + 1)))) {
      type = T.QMark;
      i++;
    } else if (isIdStart(c) || (c === 0x24 && i + 1 < len && isIdStart(line.charCodeAt(i + 1)))) {
      i++;
      while (i < len && isIdChar(line.charCodeAt(i))) i++;
      type = T.Id;
    } else if (isQuote(c)) {
      const close = skipString(line, i);
      if (close < len) {
        i = close + 1;
        type = T.Str;
      } else {
        i = len;
        type = T.ErrStr;
        warnings?.push({ col: col0 + start, message: `unterminated string (missing \`${line[start]}')` });
      }
    } else if (c === 0x24 && i + 1 < len && line.charCodeAt(i + 1) === 0x24) {
      type = T.Base;
      i += 2;
    } else if (isDigit(c) || c === 0x24) {
      const r = scanNumber(line, i);
      type = r.type;
      i = r.next;
    } else if (isSpace(c)) {
      i++;
      while (i < len && isSpace(line.charCodeAt(i))) i++;
      if (i >= len || line.charCodeAt(i) === 0x3b) return { tokens, end: start };
      type = T.Whitespace;
    } else if (c === 0x3b /* ; */) {
      return { tokens, end: start };
    } else {
      type = T.Op;
      i = scanOperator(line, i);
    }
    tokens.push(tok(type, text ?? line.slice(start, i), col0 + start));
  }
  return { tokens, end: len };
}

/** Tokenizes text produced by the preprocessor itself (pasting, %tok, %[...]). */
export function retokenize(text: string, col: number): Token[] {
  const { tokens } = tokenize(text);
  return tokens.map((t) => tok(t.type, t.text, col, t.n));
}

interface Scanned { type: TokenType; text?: string; next: number }

function scanPercent(line: string, start: number, warnings: TokenizeWarning[] | undefined, col0: number): Scanned {
  const len = line.length;
  let p = start + 1;
  let textStart = start;
  let textEnd = -1;
  let braces = false;
  const c1 = p < len ? line.charCodeAt(p) : 0;
  const c2 = p + 1 < len ? line.charCodeAt(p + 1) : 0;
  if (c1 === 0x2b /* + */ && !isDigit(c2)) {
    p++;
  } else if (isDigit(c1) || ((c1 === 0x2d || c1 === 0x2b) && isDigit(c2))) {
    do p++; while (p < len && isDigit(line.charCodeAt(p)));
  } else if (c1 === 0x7b /* { */ || c1 === 0x5b /* [ */) {
    const open = c1;
    const close = c1 + 2;
    let level = 1;
    if (open === 0x7b) { braces = true; p++; } else p++;
    let terminated = false;
    while (p < len) {
      const c = line.charCodeAt(p);
      if (c === open) level++;
      else if (c === close) {
        if (--level === 0) { terminated = true; break; }
      } else if (isQuote(c)) {
        p = skipString(line, p);
        if (p >= len) break;
      }
      p++;
    }
    if (!terminated) {
      p = len;
      warnings?.push({
        col: col0 + start,
        message: `unterminated %${String.fromCharCode(open)}...${String.fromCharCode(close)} construct (missing \`${String.fromCharCode(close)}')`,
      });
      textEnd = len;
    } else {
      textEnd = p;
      p++;
    }
    if (open === 0x5b) {
      return { type: T.Indirect, text: line.slice(start + 2, textEnd), next: p };
    }
    textStart = start + 1; // %{foo} reads as %foo
  } else if (c1 === 0x3f /* ? */) {
    p++;
    if (p < len && line.charCodeAt(p) === 0x3f) p++;
  } else if (c1 === 0x2a /* * */ && c2 === 0x3f) {
    p += 2;
    if (p < len && line.charCodeAt(p) === 0x3f) p++;
  } else if (c1 === 0x21 /* ! */) {
    p++;
    if (p < len && isIdChar(line.charCodeAt(p))) {
      do p++; while (p < len && isIdChar(line.charCodeAt(p)));
    } else if (p < len && isQuote(line.charCodeAt(p))) {
      p = Math.min(skipString(line, p) + 1, len);
    }
  } else if (c1 === 0x2c /* , */) {
    p++;
  } else if (p < len && (isIdChar(c1) || ((c1 === 0x25 || c1 === 0x24) && p + 1 < len && isIdChar(c2)))) {
    do p++; while (p < len && isIdChar(line.charCodeAt(p)));
  } else if (c1 === 0x25) {
    p++;
  }
  if (textEnd < 0) textEnd = p;

  // The token text: `%` followed by what was inside braces, or the token as written.
  const text = braces ? '%' + line.slice(textStart + 1, textEnd) : line.slice(start, textEnd);
  return { type: classifyPercent(text), text, next: p };
}

function classifyPercent(text: string): TokenType {
  if (text.length < 2) return T.Op; // `%` operator (also `%{}`)
  const c = text.charCodeAt(1);
  switch (c) {
    case 0x2b: return text.length === 2 ? T.Paste : T.MacroParam; // +
    case 0x2d: return T.MacroParam; // -
    case 0x3f: // ?
      if (text.length === 2) return T.Q;
      if (text.length === 3 && text.charCodeAt(2) === 0x3f) return T.QQ;
      return T.PreprocId;
    case 0x2a: // *
      if (text.charCodeAt(2) === 0x3f) {
        if (text.length === 3) return T.SQ;
        if (text.length === 4 && text.charCodeAt(3) === 0x3f) return T.SQQ;
      }
      return T.Op;
    case 0x21: return text.length === 2 ? T.Op : T.Environ; // !
    case 0x25: return text.length === 2 ? T.Op : T.LocalSymbol; // %% alone is the signed modulo
    case 0x24: return text.length === 2 ? T.Op : T.LocalMacro; // $
    case 0x2c: return text.length === 2 ? T.CondComma : T.PreprocId; // ,
    case 0x27: case 0x22: case 0x60: return T.PreprocId;
    case 0x3a: return T.MacroParam; // %{:..}
    default:
      if (isDigit(c)) return T.MacroParam;
      if (isIdChar(c) || text.length > 2) return T.PreprocId;
      return T.Op;
  }
}

function scanNumber(line: string, start: number): Scanned {
  const len = line.length;
  let p = start;
  let isHex = false;
  let isFloat = false;
  let hasE = false;
  if (line.charCodeAt(p) === 0x24) { p++; isHex = true; }
  for (;;) {
    if (p >= len) break;
    const c = line.charCodeAt(p);
    if (!isHex && (c === 0x65 || c === 0x45)) { // e E
      p++;
      hasE = true;
      const n = line.charCodeAt(p);
      if (n === 0x2b || n === 0x2d) { p++; isFloat = true; }
    } else if (c === 0x48 || c === 0x68 || c === 0x58 || c === 0x78) { // H h X x
      p++;
      isHex = true;
    } else if (c === 0x50 || c === 0x70) { // P p
      p++;
      isFloat = true;
      const n = line.charCodeAt(p);
      if (n === 0x2b || n === 0x2d) p++;
    } else if (isNumChar(c)) {
      p++;
    } else if (c === 0x2e) { // .
      let r = p + 1;
      while (r < len && line.charCodeAt(r) === 0x5f) r++;
      const n = r < len ? line.charCodeAt(r) : 0;
      if (isDigit(n) || (isHex && isHexDigit(n)) || (!isHex && (n === 0x65 || n === 0x45)) || n === 0x50 || n === 0x70) {
        p = r;
        isFloat = true;
      } else {
        break;
      }
    } else {
      break;
    }
  }
  if (p === start + 1 && line.charCodeAt(start) === 0x24) return { type: T.Here, next: p };
  if (hasE && !isHex) isFloat = true;
  return { type: isFloat ? T.Float : T.Num, next: p };
}

function scanOperator(line: string, i: number): number {
  const c = line.charCodeAt(i++);
  const n = i < line.length ? line.charCodeAt(i) : 0;
  switch (c) {
    case 0x3e: // >
      if (n === 0x3e) return line.charCodeAt(i + 1) === 0x3e ? i + 2 : i + 1;
      return n === 0x3d ? i + 1 : i;
    case 0x3c: // <
      if (n === 0x3c) return line.charCodeAt(i + 1) === 0x3c ? i + 2 : i + 1;
      if (n === 0x3d) return line.charCodeAt(i + 1) === 0x3e ? i + 2 : i + 1;
      return n === 0x3e ? i + 1 : i;
    case 0x21: return n === 0x3d ? i + 1 : i; // !=
    case 0x2f: return n === 0x2f ? i + 1 : i; // //
    case 0x3d: return n === 0x3d ? i + 1 : i; // ==
    case 0x26: return n === 0x26 ? i + 1 : i; // &&
    case 0x7c: return n === 0x7c ? i + 1 : i; // ||
    case 0x5e: return n === 0x5e ? i + 1 : i; // ^^
    default: return i;
  }
}

export function isOp(t: Token | undefined, text: string): boolean {
  return t !== undefined && t.type === T.Op && t.text === text;
}

/** Index of the first non-whitespace token at or after `i`. */
export function skipWhite(tokens: readonly Token[], i: number): number {
  while (i < tokens.length && tokens[i].type === T.Whitespace) i++;
  return i;
}

/** The tokens as text (`%[x]` written back with its brackets). */
export function detoken(tokens: readonly Token[]): string {
  let s = '';
  for (const t of tokens) s += t.type === T.Indirect ? `%[${t.text}]` : t.text;
  return s;
}

/** The tokens as text with every whitespace run written as one space (nasm's own spacing). */
export function detokenNormalized(tokens: readonly Token[]): string {
  let s = '';
  for (const t of tokens) s += t.type === T.Whitespace ? ' ' : t.type === T.Indirect ? `%[${t.text}]` : t.text;
  return s;
}
