/**
 * Preprocessor expressions (%assign, %if, %rep, %rotate, ...), with nasm's operators,
 * precedence and 64-bit arithmetic (asm/eval.c). Only constants are allowed: the preprocessor
 * runs before labels have values.
 *
 * Precedence, loosest first: ?:  ||  ^^  &&  = == != <> < <= > >= <=>  |  ^  &  << >> >>>
 * + -  * / // % %%  unary - + ~ !
 */
import { T, type Token } from './tokens';
import { readNumber, charConstant } from './numbers';
import { unquote } from './strings';

export type EvalResult =
  | { ok: true; value: bigint; next: number }
  | { ok: false; message: string; col: number };

export interface EvalWarning { message: string; col: number }

/** nasm's limit on the number of operands in one expression. */
const MAX_OPERANDS = 8192;
/** Parenthesis nesting limit, so deep input cannot exhaust the stack. */
const MAX_DEPTH = 200;

const COMPARISONS = new Set(['=', '==', '!=', '<>', '<', '<=', '>', '>=', '<=>']);

class EvalError {
  constructor(readonly message: string, readonly col: number) {}
}

const asI64 = (v: bigint) => BigInt.asIntN(64, v);
const asU64 = (v: bigint) => BigInt.asUintN(64, v);

/**
 * Evaluates the expression starting at `tokens[start]`. On success `next` is the index of the
 * first token not used (the caller warns about trailing garbage). `charWidth` is how many
 * bytes of a character constant count (4, or 8 in 64-bit mode).
 */
export function evaluate(tokens: readonly Token[], start: number, warnings: EvalWarning[], fallbackCol = 1, charWidth = 4): EvalResult {
  const p = new Parser(tokens, start, warnings, fallbackCol, charWidth);
  try {
    const value = p.conditional();
    return { ok: true, value, next: p.pos };
  } catch (e) {
    if (e instanceof EvalError) return { ok: false, message: e.message, col: e.col };
    throw e;
  }
}

class Parser {
  pos: number;
  private operands = 0;
  private depth = 0;

  constructor(
    private readonly tokens: readonly Token[],
    start: number,
    private readonly warnings: EvalWarning[],
    private readonly fallbackCol: number,
    private readonly charWidth: number,
  ) {
    this.pos = start;
    this.skip();
  }

  private skip(): void {
    while (this.pos < this.tokens.length && this.tokens[this.pos].type === T.Whitespace) this.pos++;
  }

  private get cur(): Token | undefined { return this.tokens[this.pos]; }

  /** The operator spelled by the current token, or '' if it is not one. */
  private op(): string {
    const t = this.cur;
    if (!t) return '';
    if (t.type === T.Op) return t.text;
    if (t.type === T.QMark) return '?';
    return '';
  }

  private advance(): void {
    this.pos++;
    this.skip();
  }

  private col(): number {
    return this.cur?.col ?? (this.tokens.length ? this.tokens[this.tokens.length - 1].col : this.fallbackCol);
  }

  private fail(message: string): never {
    throw new EvalError(message, this.col());
  }

  conditional(): bigint {
    if (++this.depth > MAX_DEPTH) this.fail('expression nested too deeply');
    const c = this.logicalOr();
    let result = c;
    if (this.op() === '?') {
      this.advance();
      const a = this.conditional();
      if (this.op() !== ':') this.fail("`?' without matching `:'");
      this.advance();
      const b = this.conditional();
      result = c !== 0n ? a : b;
    }
    this.depth--;
    return result;
  }

  private logicalOr(): bigint {
    let e = this.logicalXor();
    while (this.op() === '||') {
      this.advance();
      const f = this.logicalXor();
      e = e !== 0n || f !== 0n ? 1n : 0n;
    }
    return e;
  }

  private logicalXor(): bigint {
    let e = this.logicalAnd();
    while (this.op() === '^^') {
      this.advance();
      const f = this.logicalAnd();
      e = (e !== 0n) !== (f !== 0n) ? 1n : 0n;
    }
    return e;
  }

  private logicalAnd(): bigint {
    let e = this.comparison();
    while (this.op() === '&&') {
      this.advance();
      const f = this.comparison();
      e = e !== 0n && f !== 0n ? 1n : 0n;
    }
    return e;
  }

  private comparison(): bigint {
    let e = this.bitOr();
    for (;;) {
      const o = this.op();
      if (!COMPARISONS.has(o)) return e;
      this.advance();
      const f = this.bitOr();
      const d = asI64(e - f);
      switch (o) {
        case '=': case '==': e = d === 0n ? 1n : 0n; break;
        case '!=': case '<>': e = d !== 0n ? 1n : 0n; break;
        case '<': e = d < 0n ? 1n : 0n; break;
        case '<=': e = d <= 0n ? 1n : 0n; break;
        case '>': e = d > 0n ? 1n : 0n; break;
        case '>=': e = d >= 0n ? 1n : 0n; break;
        default:
          // nasm takes a comparison result of -1 to mean "unknown", so `a <=> b` with a < b
          // is not a constant there.
          if (d < 0n) this.fail("`<=>' gives -1 here, which nasm treats as a non-constant value");
          e = d > 0n ? 1n : 0n;
          break;
      }
    }
  }

  private bitOr(): bigint {
    let e = this.bitXor();
    while (this.op() === '|') { this.advance(); e = e | this.bitXor(); }
    return e;
  }

  private bitXor(): bigint {
    let e = this.bitAnd();
    while (this.op() === '^') { this.advance(); e = e ^ this.bitAnd(); }
    return e;
  }

  private bitAnd(): bigint {
    let e = this.shift();
    while (this.op() === '&') { this.advance(); e = e & this.shift(); }
    return e;
  }

  private shift(): bigint {
    let e = this.additive();
    for (;;) {
      const o = this.op();
      if (o !== '<<' && o !== '<<<' && o !== '>>' && o !== '>>>') return e;
      this.advance();
      const f = this.additive();
      // x86 semantics of the C shift nasm uses: the count is taken modulo 64.
      const n = asU64(f) & 63n;
      if (o === '<<' || o === '<<<') e = asI64(e << n);
      else if (o === '>>') e = asI64(asU64(e) >> n);
      else e = e >> n;
    }
  }

  private additive(): bigint {
    let e = this.multiplicative();
    for (;;) {
      const o = this.op();
      if (o !== '+' && o !== '-') return e;
      this.advance();
      const f = this.multiplicative();
      e = asI64(o === '+' ? e + f : e - f);
    }
  }

  private multiplicative(): bigint {
    let e = this.unary();
    for (;;) {
      const o = this.op();
      if (o !== '*' && o !== '/' && o !== '//' && o !== '%' && o !== '%%') return e;
      const col = this.col();
      this.advance();
      const f = this.unary();
      if (o === '*') { e = asI64(e * f); continue; }
      if (f === 0n) throw new EvalError('division by zero', col);
      switch (o) {
        case '/': e = asI64(asU64(e) / asU64(f)); break;
        case '%': e = asI64(asU64(e) % asU64(f)); break;
        case '//': e = asI64(e / f); break;
        default: e = asI64(e % f); break;
      }
    }
  }

  private unary(): bigint {
    if (++this.operands > MAX_OPERANDS) this.fail('expression too long');
    const t = this.cur;
    const o = this.op();
    switch (o) {
      case '-': this.advance(); return asI64(-this.unary());
      case '+': this.advance(); return this.unary();
      case '~': this.advance(); return asI64(~this.unary());
      case '!': this.advance(); return this.unary() === 0n ? 1n : 0n;
      case '(': {
        this.advance();
        const e = this.conditional();
        if (this.op() !== ')') this.fail("expecting `)'");
        this.advance();
        return e;
      }
      default: break;
    }
    if (!t) this.fail('expression syntax error: expected a number, a string or `(\' but the expression ended');
    switch (t.type) {
      case T.Num: {
        const n = readNumber(t.text);
        if (!n) this.fail(`invalid number \`${t.text}'`);
        if (n.overflow) this.warnings.push({ message: `numeric constant ${t.text} does not fit in 64 bits`, col: t.col });
        this.advance();
        return n.value;
      }
      case T.Str: {
        const c = charConstant(unquote(t.text), this.charWidth);
        if (c.tooLong) this.warnings.push({ message: 'character constant too long', col: t.col });
        this.advance();
        return c.value;
      }
      case T.Id:
        return this.fail(`symbol \`${t.text}' in a preprocessor expression: only numbers, strings and macros that expand to them can be used here`);
      case T.Here: case T.Base:
        return this.fail(`\`${t.text}' cannot be used in a preprocessor expression`);
      default:
        return this.fail(`expression syntax error at \`${t.text}'`);
    }
  }
}
