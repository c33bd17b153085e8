/**
 * nasm expressions: parsed once per line into a tree, evaluated in every pass. The grammar
 * and the rules for what may be combined with what are those of nasm's eval.c:
 *
 *   cond  : or0 [ ? cond : cond ]
 *   or0   : xor0 { || xor0 }          logical
 *   xor0  : and0 { ^^ and0 }
 *   and0  : cmp { && cmp }
 *   cmp   : bor { = == <> != < > <= >= <=> bor }
 *   bor   : bxor { | bxor }           bitwise
 *   bxor  : band { ^ band }
 *   band  : shift { & shift }
 *   shift : sum { << >> >>> sum }     (<<< is <<)
 *   sum   : prod { + - prod }
 *   prod  : unary { * / // % %% unary }
 *   unary : - + ~ ! unary | ( cond ) | number | string | symbol | register | $ | $$
 */
import * as i64 from './int64';
import type { I64 } from './int64';
import type { Token } from './lexer';
import {
  addValues, baseValue, isJustUnknown, isSimple, regValue, scalar, scaleValue, UNKNOWN,
  type EaHint, type Value,
} from './value';

export type BinaryOp =
  | '+' | '-' | '*' | '/' | '//' | '%' | '%%' | '<<' | '>>' | '>>>' | '&' | '|' | '^'
  | '==' | '!=' | '<' | '>' | '<=' | '>=' | '<=>' | '&&' | '||' | '^^';

export type Expr =
  /**
   * A number, or operators on numbers folded at parse time: `scalar` false when nasm's vector
   * would have no scalar term (`4 - 4`), `summed` when evaluating it sets the EA hint to summed.
   */
  | { op: 'num'; value: I64; scalar?: false; summed?: true }
  | { op: 'sym'; name: string; pos: number }
  | { op: 'here'; pos: number }
  | { op: 'base'; pos: number }
  | { op: 'reg'; name: string; pos: number }
  | { op: 'neg' | 'plus' | 'not' | 'lnot'; arg: Expr; pos: number }
  | { op: BinaryOp; a: Expr; b: Expr; pos: number }
  | { op: '?'; cond: Expr; a: Expr; b: Expr; pos: number };

/** What the expression parser needs to know about words and names. */
export interface ExprSyntax {
  /** Lower-case register name, or undefined when the word is not a register. */
  register(token: Token): string | undefined;
  /** A keyword that cannot start an operand (size, prefix, `seg`, ...): a syntax error here. */
  reserved(token: Token): boolean;
  /** The full name of a symbol as written (local `.x` labels get their scope). */
  symbolName(text: string): string;
  error(message: string, pos: number): void;
  warn(message: string, pos: number): void;
}

/** A position in a token list, shared by the statement parser and the expression parser. */
export class TokenStream {
  i = 0;
  constructor(readonly tokens: Token[]) {}
  get peek(): Token { return this.tokens[this.i]; }
  next(): Token { const t = this.tokens[this.i]; if (t.kind !== 'eos') this.i++; return t; }
  isOp(text: string): boolean { const t = this.tokens[this.i]; return t.kind === 'op' && t.text === text; }
  get atEnd(): boolean { return this.tokens[this.i].kind === 'eos'; }
}

const CMP_OPS = new Set(['=', '==', '<>', '!=', '<', '>', '<=', '>=', '<=>']);
const SHIFT_OPS = new Set(['<<', '>>', '>>>']);
const PROD_OPS = new Set(['*', '/', '//', '%', '%%']);

class Failed extends Error {}

/** Parses one expression; returns undefined after reporting an error. */
export function parseExpression(ts: TokenStream, syntax: ExprSyntax): Expr | undefined {
  const p = new ExprParser(ts, syntax);
  try {
    const e = p.cond();
    const t = ts.peek;
    if (t.kind === 'id' && !t.forcedId && t.text.toLowerCase() === 'wrt') {
      syntax.error('WRT not supported by binary output format', t.start);
      return undefined;
    }
    return e;
  } catch (e) {
    if (e instanceof Failed) return undefined;
    throw e;
  }
}

/** nasm's limit on the terms of one expression ("expression too long"). */
const MAX_TERMS = 8192;
/** Nesting of parentheses and unary operators, which the parser and evaluator follow by recursion. */
const MAX_NESTING = 500;

class ExprParser {
  private depth = 0;
  private terms = 0;
  constructor(private readonly ts: TokenStream, private readonly syntax: ExprSyntax) {}

  private fail(message: string, pos: number): never {
    this.syntax.error(message, pos);
    throw new Failed();
  }

  cond(): Expr {
    const c = this.logical(0);
    if (!this.ts.isOp('?')) return c;
    const pos = this.ts.next().start;
    const a = this.cond();
    if (!this.ts.isOp(':')) this.fail("`?' without matching `:'", this.ts.peek.start);
    this.ts.next();
    const b = this.cond();
    return { op: '?', cond: c, a, b, pos };
  }

  private static readonly LOGICAL: BinaryOp[] = ['||', '^^', '&&'];

  private logical(level: number): Expr {
    if (level === 3) return this.compare();
    const op = ExprParser.LOGICAL[level];
    let e = this.logical(level + 1);
    while (this.ts.isOp(op)) {
      const pos = this.ts.next().start;
      e = { op, a: e, b: this.logical(level + 1), pos };
    }
    return e;
  }

  private compare(): Expr {
    let e = this.bitwise(0);
    while (this.ts.peek.kind === 'op' && CMP_OPS.has(this.ts.peek.text)) {
      const t = this.ts.next();
      const op = (t.text === '=' ? '==' : t.text === '<>' ? '!=' : t.text) as BinaryOp;
      e = { op, a: e, b: this.bitwise(0), pos: t.start };
    }
    return e;
  }

  private static readonly BITWISE: BinaryOp[] = ['|', '^', '&'];

  private bitwise(level: number): Expr {
    if (level === 3) return this.shift();
    const op = ExprParser.BITWISE[level];
    let e = this.bitwise(level + 1);
    while (this.ts.isOp(op)) {
      const pos = this.ts.next().start;
      e = fold({ op, a: e, b: this.bitwise(level + 1), pos });
    }
    return e;
  }

  private shift(): Expr {
    let e = this.sum();
    while (this.ts.peek.kind === 'op' && SHIFT_OPS.has(this.ts.peek.text)) {
      const t = this.ts.next();
      e = fold({ op: t.text as BinaryOp, a: e, b: this.sum(), pos: t.start });
    }
    return e;
  }

  private sum(): Expr {
    let e = this.product();
    while (this.ts.isOp('+') || this.ts.isOp('-')) {
      const t = this.ts.next();
      e = fold({ op: t.text as BinaryOp, a: e, b: this.product(), pos: t.start });
    }
    return e;
  }

  private product(): Expr {
    let e = this.unary();
    while (this.ts.peek.kind === 'op' && PROD_OPS.has(this.ts.peek.text)) {
      const t = this.ts.next();
      e = fold({ op: t.text as BinaryOp, a: e, b: this.unary(), pos: t.start });
    }
    return e;
  }

  private unary(): Expr {
    if (++this.depth > MAX_NESTING || ++this.terms > MAX_TERMS) this.fail('expression too long', this.ts.peek.start);
    try {
      return this.primary();
    } finally {
      this.depth--;
    }
  }

  private primary(): Expr {
    const t = this.ts.peek;
    switch (t.kind) {
      case 'op': {
        if (t.text === '(') {
          this.ts.next();
          const e = this.cond();
          if (!this.ts.isOp(')')) this.fail("expecting `)'", this.ts.peek.start);
          this.ts.next();
          return e;
        }
        const unaryOp = t.text === '-' ? 'neg' : t.text === '+' ? 'plus' : t.text === '~' ? 'not' : t.text === '!' ? 'lnot' : undefined;
        if (unaryOp === undefined) break;
        this.ts.next();
        const arg = this.unary();
        if (unaryOp === 'plus') return arg;
        return fold({ op: unaryOp, arg, pos: t.start });
      }
      case 'num':
        this.ts.next();
        if (t.overflow) this.syntax.warn(`numeric constant ${t.text} does not fit in 64 bits`, t.start);
        return { op: 'num', value: t.value! };
      case 'str': {
        this.ts.next();
        const bytes = t.bytes!;
        if (bytes.length > 4) this.syntax.warn('character constant too long', t.start);
        return { op: 'num', value: characterConstant(bytes) };
      }
      case 'here':
        this.ts.next();
        return { op: 'here', pos: t.start };
      case 'base':
        this.ts.next();
        return { op: 'base', pos: t.start };
      case 'id': {
        const reg = this.syntax.register(t);
        if (reg !== undefined) {
          this.ts.next();
          return { op: 'reg', name: reg, pos: t.start };
        }
        if (this.syntax.reserved(t)) {
          if (!t.forcedId && t.text.toLowerCase() === 'seg') this.fail('binary output format does not support segment base references', t.start);
          break;
        }
        this.ts.next();
        return { op: 'sym', name: this.syntax.symbolName(t.text), pos: t.start };
      }
      case 'bad':
        this.fail(t.problem!, t.start);
      default:
        break;
    }
    this.fail('expression syntax error', t.start);
  }
}

/** nasm's readstrnum outside 64-bit mode: little-endian, only the last four characters count. */
function characterConstant(bytes: Uint8Array): number {
  let v = 0;
  for (let i = bytes.length - 1; i >= 0; i--) v = ((v & 0xffffff) * 256 + bytes[i]) >>> 0;
  return v;
}

type NumNode = Extract<Expr, { op: 'num' }>;

function num(value: I64, scalar: boolean, summed: boolean): NumNode {
  const n: NumNode = { op: 'num', value };
  if (!scalar) n.scalar = false;
  if (summed) n.summed = true;
  return n;
}

/**
 * Folds operators on two constants that cannot fail, so most expressions evaluate in one
 * step, keeping what the folded part does to an effective-address hint.
 */
function fold(e: Expr): Expr {
  if ('arg' in e) {
    if (e.arg.op !== 'num') return e;
    const v = e.arg.value, summed = e.arg.summed === true;
    if (e.op === 'neg') return num(i64.neg(v), e.arg.scalar !== false, summed);
    return num(e.op === 'not' ? i64.not(v) : i64.isZero(v) ? 1 : 0, true, summed);
  }
  if (!('a' in e) || e.op === '?' || e.a.op !== 'num' || e.b.op !== 'num') return e;
  const x = e.a, y = e.b, a = x.value, b = y.value;
  const summed = x.summed === true || y.summed === true;
  switch (e.op) {
    case '+': case '-': {
      const value = e.op === '+' ? i64.add(a, b) : i64.sub(a, b);
      const both = x.scalar !== false && y.scalar !== false;
      if (!both) return num(value, x.scalar !== false || y.scalar !== false, summed);
      return num(value, !i64.isZero(value), summed || !i64.isZero(value));
    }
    case '*': return num(i64.mul(a, b), y.scalar !== false, summed);
    case '<<': return num(i64.shl(a, b), true, summed);
    case '>>': return num(i64.shr(a, b), true, summed);
    case '>>>': return num(i64.sar(a, b), true, summed);
    case '&': return num(i64.and(a, b), true, summed);
    case '|': return num(i64.or(a, b), true, summed);
    case '^': return num(i64.xor(a, b), true, summed);
    default: return e;
  }
}

/** A symbol's definition as the evaluator sees it: a base (-1 for none) and an offset. */
export interface SymbolValue { base: number; offset: I64 }

export interface EvalEnv {
  /** The value from this pass or an earlier one; undefined when the symbol was never defined. */
  symbol(name: string, pos: number): SymbolValue | undefined;
  /** `$`: the current base and offset. */
  here(): SymbolValue;
  /** Undefined symbols are errors (nasm's "critical" expressions and the final pass). */
  critical: boolean;
  firstPass: boolean;
  error(message: string, pos: number): void;
  /** Called for each reference to a symbol not defined yet. */
  forwardReference(name: string): void;
}

class EvalFailed extends Error {}

/** Evaluates a tree; returns undefined after reporting an error through env.error. */
export function evaluate(e: Expr, env: EvalEnv, hint?: EaHint): Value | undefined {
  if (e.op === 'num' && hint === undefined) return scalar(e.value, e.scalar !== false);
  try {
    return new Evaluator(env, hint).eval(e);
  } catch (err) {
    if (err instanceof EvalFailed) return undefined;
    throw err;
  }
}

class Evaluator {
  constructor(private readonly env: EvalEnv, private readonly hint: EaHint | undefined) {}

  private fail(message: string, pos: number): never {
    this.env.error(message, pos);
    throw new EvalFailed();
  }

  private scalarOnly(a: Value, b: Value, what: string, pos: number): void {
    if (!(isSimple(a) || isJustUnknown(a)) || !(isSimple(b) || isJustUnknown(b))) {
      this.fail(`${what} may only be applied to scalar values`, pos);
    }
  }

  eval(e: Expr): Value {
    switch (e.op) {
      case 'num':
        if (e.summed && this.hint) this.hint.type = 'summed';
        return scalar(e.value, e.scalar !== false);
      case 'sym': {
        const s = this.env.symbol(e.name, e.pos);
        if (s === undefined) {
          if (this.env.critical) this.fail(`symbol \`${e.name}' not defined${this.env.firstPass ? ' before use' : ''}`, e.pos);
          this.env.forwardReference(e.name);
          return UNKNOWN;
        }
        return baseValue(s.base, s.offset);
      }
      case 'here': {
        const h = this.env.here();
        return baseValue(h.base, h.offset);
      }
      case 'base': return baseValue(this.env.here().base, 0);
      case 'reg':
        if (this.hint && this.hint.type === 'none') { this.hint.type = 'makebase'; this.hint.reg = e.name; }
        return regValue(e.name);
      case 'neg': return scaleValue(this.eval(e.arg), -1);
      case 'plus': return this.eval(e.arg);
      case 'not':
      case 'lnot': {
        const v = this.eval(e.arg);
        if (isJustUnknown(v)) return UNKNOWN;
        if (!isSimple(v)) this.fail(`\`${e.op === 'not' ? '~' : '!'}' operator may only be applied to scalar values`, e.pos);
        return scalar(e.op === 'not' ? i64.not(v.c) : i64.isZero(v.c) ? 1 : 0);
      }
      case '?': {
        const c = this.eval(e.cond);
        const a = this.eval(e.a);
        const b = this.eval(e.b);
        if (isSimple(c)) return i64.isZero(c.c) ? b : a;
        if (isJustUnknown(c)) return UNKNOWN;
        this.fail("the left-hand side of `?' must be a scalar value", e.pos);
      }
      default:
        return this.chain(e);
    }
  }

  /**
   * A binary operator. Chains like `a+b+c+...` are trees as deep as they are long, so their
   * left spine is walked with a loop, not recursion; the left operand is still evaluated first.
   */
  private chain(e: Extract<Expr, { a: Expr; b: Expr; op: BinaryOp }>): Value {
    const spine: (typeof e)[] = [e];
    let left: Expr = e.a;
    while ('b' in left && left.op !== '?') {
      spine.push(left);
      left = left.a;
    }
    let v = this.eval(left);
    for (let i = spine.length - 1; i >= 0; i--) v = this.binary(spine[i].op, v, this.eval(spine[i].b), spine[i].pos);
    return v;
  }

  private binary(op: BinaryOp, a: Value, b: Value, pos: number): Value {
    switch (op) {
      case '+': return addValues(a, b, this.hint);
      case '-': return addValues(a, scaleValue(b, -1), this.hint);
      case '*':
        if (isSimple(a)) return scaleValue(b, a.c, this.hint);
        if (isSimple(b)) return scaleValue(a, b.c, this.hint);
        if (isJustUnknown(a) && isJustUnknown(b)) return UNKNOWN;
        this.fail('unable to multiply two non-scalar objects', pos);
      case '/': case '//': case '%': case '%%': {
        this.scalarOnly(a, b, 'division operator', pos);
        if (!isJustUnknown(b) && i64.isZero(b.c)) this.fail('division by zero', pos);
        if (a.unknown !== 0 || b.unknown !== 0) return UNKNOWN;
        const f = op === '/' ? i64.udiv : op === '//' ? i64.sdiv : op === '%' ? i64.umod : i64.smod;
        return scalar(f(a.c, b.c));
      }
      case '<<': case '>>': case '>>>': {
        this.scalarOnly(a, b, 'shift operator', pos);
        if (a.unknown !== 0 || b.unknown !== 0) return UNKNOWN;
        return scalar((op === '<<' ? i64.shl : op === '>>' ? i64.shr : i64.sar)(a.c, b.c));
      }
      case '&': case '|': case '^': {
        this.scalarOnly(a, b, `\`${op}' operator`, pos);
        if (a.unknown !== 0 || b.unknown !== 0) return UNKNOWN;
        return scalar((op === '&' ? i64.and : op === '|' ? i64.or : i64.xor)(a.c, b.c));
      }
      case '&&': case '||': case '^^': {
        this.scalarOnly(a, b, `\`${op[0]}' operator`, pos);
        if (a.unknown !== 0 || b.unknown !== 0) return UNKNOWN;
        const x = !i64.isZero(a.c), y = !i64.isZero(b.c);
        return scalar((op === '&&' ? x && y : op === '||' ? x || y : x !== y) ? 1 : 0);
      }
      default:
        return this.comparison(op, addValues(a, scaleValue(b, -1)), pos);
    }
  }

  /** Comparisons look at the difference of the operands, as nasm does. */
  private comparison(op: BinaryOp, d: Value, pos: number): Value {
    if (d.unknown !== 0) return UNKNOWN;
    const reallySimple = d.bases === undefined && d.regs === undefined;
    if (op === '==' || op === '!=') {
      const equal = reallySimple && i64.isZero(d.c);
      return scalar((op === '==') === equal ? 1 : 0);
    }
    if (!reallySimple) this.fail(`\`${op}': operands differ by a non-scalar`, pos);
    const s = i64.compare(d.c, 0);
    // nasm's evaluator uses -1 as its "unknown" marker here, so `a <=> b` with a < b is unknown.
    if (op === '<=>') return s < 0 ? UNKNOWN : scalar(s);
    const r = s === 0 ? op === '<=' || op === '>=' : s > 0 ? op === '>=' || op === '>' : op === '<=' || op === '<';
    return scalar(r ? 1 : 0);
  }
}
