/**
 * Built-in single-line macros: __?FILE?__, __?LINE?__, __?BITS?__, __?PTR?__ and the
 * preprocessor functions %eval() %str() %strcat() %strlen() %substr() %tok() %num() %abs()
 * %count() %sel() %cond() and %isXXX() (nasm's pp_add_magic_stdmac).
 */
import { T, tok, retokenize, type Token } from './tokens';
import { P, makeSMacro, type SMacro, type SMacroParam } from './smacros';
import { numberTokens } from './expand';
import { quote, unquote, fromByteString, toByteString } from './strings';
import { readNumber } from './numbers';

export interface BuiltinHost {
  /** File and line of the line being expanded (the macro definition line inside a macro). */
  currentFile(): string;
  currentLine(): number;
  /** The last `[bits N]` seen in the output (16 before any). */
  bits(): number;
  /** Evaluates a %if condition (`kind` as in `%if<kind>`) on the tokens. */
  condition(kind: string, tokens: Token[]): boolean;
  warning(message: string, col: number): void;
  error(message: string, col: number): void;
}

/** The %if condition kinds, which also give the %isXXX() functions. */
export const CONDITION_KINDS = ['', 'ctx', 'def', 'defalias', 'difi', 'empty', 'env', 'id', 'idn', 'idni', 'macro', 'num', 'str', 'token', 'usable', 'using'];

/** Parameter specs: the flags given apply to the last parameter; the others get them without
 * the greedy, varadic and optional ones (as nasm sets them up). */
function params(n: number, flags: number): SMacroParam[] {
  const ps: SMacroParam[] = [];
  for (let i = n - 1; i >= 0; i--) {
    ps[i] = { name: '', flags };
    flags &= ~(P.Greedy | P.Varadic | P.Optional);
  }
  return ps;
}

/** The value of a number argument (as produced by numberTokens). */
function num(arg: readonly Token[] | undefined): bigint {
  if (!arg || arg.length === 0) return 0n;
  const neg = arg[0].type === T.Op && arg[0].text === '-';
  const t = arg[neg ? 1 : 0];
  const v = t && t.type === T.Num ? readNumber(t.text)?.value ?? 0n : 0n;
  return neg ? -v : v;
}

function str(arg: readonly Token[] | undefined): string {
  const t = arg?.[0];
  return t && (t.type === T.Str || t.type === T.ErrStr) ? unquote(t.text) : '';
}

/** nasm's substring rules: 1-based start, negative count counts from the end. */
export function substr(s: string, start: bigint, count: bigint): string {
  const len = BigInt(s.length);
  let st = start - 1n;
  let ct = count;
  if (st < 0n) st = 0n;
  if (ct < 0n) ct = len + ct + 1n - st;
  if (st + ct > len) ct = len - st;
  if (len === 0n || ct < 0n || st >= len) return '';
  return s.slice(Number(st), Number(st + ct));
}

const NUM_DIGITS = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ@_';

/** Creates the built-in macros. */
export function builtinMacros(host: BuiltinHost): SMacro[] {
  const list: SMacro[] = [];
  const fn = (name: string, ps: SMacroParam[], magic: SMacro['magic']) =>
    list.push(makeSMacro(name, false, ps, [], { magic, recursive: true }));
  const value = (name: string, magic: NonNullable<SMacro['magic']>) =>
    list.push(makeSMacro(name, true, [], [], { magic }));

  value('__?FILE?__', (_a, c) => [tok(T.Str, quote(toByteString(host.currentFile())), c.col)]);
  value('__?LINE?__', (_a, c) => [tok(T.Num, String(host.currentLine()), c.col)]);
  value('__?BITS?__', (_a, c) => [tok(T.Num, String(host.bits()), c.col)]);
  value('__?PTR?__', (_a, c) => [tok(T.Id, host.bits() === 16 ? 'word' : host.bits() === 32 ? 'dword' : 'qword', c.col)]);

  fn('%abs', params(1, P.Eval), (a, c) => {
    const v = num(a[0]);
    return [tok(T.Num, BigInt.asUintN(64, v < 0n ? -v : v).toString(), c.col)];
  });
  fn('%count', params(1, P.Varadic), (a, c) => [tok(T.Num, String(a.length), c.col)]);
  const join = (a: Token[][], c: Token) => {
    const out: Token[] = [];
    a.forEach((p, i) => {
      if (i) out.push(tok(T.Op, ',', c.col));
      out.push(...p);
    });
    return out;
  };
  fn('%eval', params(1, P.Eval | P.Varadic), join);
  fn('%str', params(1, P.Greedy | P.Str), join);
  fn('%strcat', params(1, P.Str | P.CondQuote | P.Varadic), (a, c) => [tok(T.Str, quote(a.map(str).join('')), c.col)]);
  fn('%strlen', params(1, P.Str | P.CondQuote), (a, c) => [tok(T.Num, String(str(a[0]).length), c.col)]);
  fn('%tok', params(1, P.Str | P.CondQuote), (a, c) => retokenize(fromByteString(str(a[0])), c.col));

  const sel = params(2, 0);
  sel[0].flags = P.Eval;
  sel[1].flags = P.Varadic;
  fn('%sel', sel, (a, c) => {
    const which = num(a[0]);
    if (which < 1n) {
      host.warning(`%sel(${which}) is not a valid selector`, c.col);
      return [];
    }
    if (which >= BigInt(a.length)) {
      host.warning(`%sel(${which}) exceeds the number of arguments`, c.col);
      return [];
    }
    return [tok(T.SmacParam, '', c.col, Number(which))];
  });
  const cond = params(3, 0);
  cond[0].flags = P.Eval;
  cond[2].flags = P.Optional;
  fn('%cond', cond, (a, c) => {
    const which = num(a[0]) !== 0n ? 1 : 2;
    return which >= a.length ? [] : [tok(T.SmacParam, '', c.col, which)];
  });

  const numParams = params(3, 0);
  numParams[0].flags = P.Eval;
  numParams[1] = { name: '', flags: P.Eval | P.Optional, def: numberTokens(-1n, 0) };
  numParams[2] = { name: '', flags: P.Eval | P.Optional, def: numberTokens(10n, 0) };
  fn('%num', numParams, (a, c) => {
    let n = BigInt.asUintN(64, num(a[0]));
    const digits = num(a[1]);
    const base = num(a[2]);
    if (base < 2n || base > BigInt(NUM_DIGITS.length)) {
      host.error(`invalid base ${base} given to %num(): expected 2 to ${NUM_DIGITS.length}`, c.col);
      return [];
    }
    const maxlen = 253n;
    let nd: bigint;
    let more: boolean;
    if (digits < -maxlen || digits > maxlen) {
      host.error(`digit count ${digits} given to %num() is too large`, c.col);
      more = true;
      nd = 1n;
    } else if (digits <= 0n) {
      more = true;
      nd = -digits;
    } else {
      more = false;
      nd = digits;
    }
    const b = base;
    let s = '';
    while (nd-- > 0n || (more && n)) {
      s = NUM_DIGITS[Number(n % b)] + s;
      n /= b;
    }
    return [tok(T.Str, `'${s}'`, c.col)];
  });

  const sub = params(3, 0);
  sub[0].flags = P.Str | P.CondQuote;
  sub[1].flags = P.Eval;
  sub[2] = { name: '', flags: P.Eval | P.Optional, def: numberTokens(-1n, 0) };
  fn('%substr', sub, (a, c) => [tok(T.Str, quote(substr(str(a[0]), num(a[1]), num(a[2]))), c.col)]);

  for (const kind of CONDITION_KINDS) {
    for (const negate of [false, true]) {
      fn(`%is${negate ? 'n' : ''}${kind}`, params(1, P.Greedy), (a, c) =>
        [tok(T.Num, host.condition(kind, a[0] ?? []) !== negate ? '1' : '0', c.col)]);
    }
  }
  return list;
}

