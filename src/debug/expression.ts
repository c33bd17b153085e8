/**
 * Expressions of the Debug Console and hovers, in NASM's notation: numbers (decimal, 0x..,
 * ..h), registers (`eax`, `$eip`, `ax`, `al`, `cr3`, `cs`, `eflags`), symbols, `+ - * / & | ^ ~`,
 * parentheses, and memory operands `[expr]` (a dword) or `byte|word|dword [expr]`, with
 * `ptr` allowed. Values are unsigned 32-bit.
 */
import { DebugRequestError } from './guestMemory';

export interface ExpressionContext {
  register(name: string): number | undefined;
  symbol(name: string): number | undefined;
  /** Reads `size` bytes at linear address `lin`; throws a DebugRequestError when it cannot. */
  read(lin: number, size: 1 | 2 | 4): number;
}

export interface EvaluationResult {
  value: number;
  /** The value is computed from a symbol's address (and not read from memory). */
  isSymbolic: boolean;
}

const SIZES: Record<string, 1 | 2 | 4> = { byte: 1, word: 2, dword: 4 };
const TOKEN = /\s*(0x[0-9a-f]+|[0-9][0-9a-f]*h\b|[0-9]+|\$?[A-Za-z_.?@][A-Za-z0-9_.?@$#~]*|<<|>>|[-+*/&|^~()[\]])/iy;

export function evaluate(text: string, ctx: ExpressionContext): EvaluationResult {
  const tokens: string[] = [];
  let pos = 0;
  while (pos < text.length) {
    if (/^\s*$/.test(text.slice(pos))) break;
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(text);
    if (m === null) throw new DebugRequestError(`cannot read '${text.slice(pos).trim()}' in '${text}'`);
    tokens.push(m[1]);
    pos = TOKEN.lastIndex;
  }
  if (tokens.length === 0) throw new DebugRequestError('empty expression');
  const p = new Parser(tokens, ctx, text);
  const value = p.binary(0);
  if (p.peek() !== undefined) throw new DebugRequestError(`unexpected '${p.peek()}' in '${text}'`);
  return { value: value >>> 0, isSymbolic: p.usesSymbol && !p.readsMemory };
}

/** Binary operators by precedence, loosest first (C's order). */
const LEVELS: readonly string[][] = [['|'], ['^'], ['&'], ['<<', '>>'], ['+', '-'], ['*', '/']];

class Parser {
  private k = 0;
  usesSymbol = false;
  readsMemory = false;

  constructor(private readonly tokens: string[], private readonly ctx: ExpressionContext, private readonly text: string) {}

  peek(): string | undefined { return this.tokens[this.k]; }
  private next(): string | undefined { return this.tokens[this.k++]; }

  private expect(t: string): void {
    const got = this.next();
    if (got !== t) throw new DebugRequestError(`expected '${t}' ${got === undefined ? 'at the end' : `before '${got}'`} in '${this.text}'`);
  }

  binary(level: number): number {
    if (level === LEVELS.length) return this.unary();
    let v = this.binary(level + 1);
    for (;;) {
      const op = this.peek();
      if (op === undefined || !LEVELS[level].includes(op)) return v;
      this.k++;
      const r = this.binary(level + 1);
      v = apply(op, v >>> 0, r >>> 0, this.text);
    }
  }

  private unary(): number {
    const t = this.peek();
    if (t === '-') { this.k++; return -this.unary() >>> 0; }
    if (t === '+') { this.k++; return this.unary(); }
    if (t === '~') { this.k++; return ~this.unary() >>> 0; }
    return this.primary();
  }

  private primary(): number {
    const t = this.next();
    if (t === undefined) throw new DebugRequestError(`'${this.text}' ends too early`);
    if (t === '(') { const v = this.binary(0); this.expect(')'); return v; }
    const size = SIZES[t.toLowerCase()];
    if (size !== undefined || t === '[') {
      if (size !== undefined) {
        if (this.peek()?.toLowerCase() === 'ptr') this.k++;
        this.expect('[');
      }
      const address = this.binary(0);
      this.expect(']');
      this.readsMemory = true;
      return this.ctx.read(address >>> 0, size ?? 4);
    }
    if (/^[0-9]/.test(t)) return parseNumber(t, this.text);
    const name = t.startsWith('$') ? t.slice(1) : t;
    const reg = this.ctx.register(name.toLowerCase());
    if (reg !== undefined) return reg >>> 0;
    const sym = this.ctx.symbol(name);
    if (sym !== undefined) { this.usesSymbol = true; return sym >>> 0; }
    throw new DebugRequestError(`'${name}' is neither a register nor a symbol of the image`);
  }
}

function parseNumber(t: string, text: string): number {
  let v: number;
  if (/^0x/i.test(t)) v = parseInt(t.slice(2), 16);
  else if (/h$/i.test(t)) v = parseInt(t.slice(0, -1), 16);
  else if (/^[0-9]+$/.test(t)) v = parseInt(t, 10);
  else throw new DebugRequestError(`'${t}' is not a number in '${text}'`);
  if (!Number.isFinite(v) || v > 0xffff_ffff) throw new DebugRequestError(`${t} does not fit in 32 bits`);
  return v;
}

function apply(op: string, a: number, b: number, text: string): number {
  switch (op) {
    case '+': return (a + b) >>> 0;
    case '-': return (a - b) >>> 0;
    case '*': return Math.imul(a, b) >>> 0;
    case '/':
      if (b === 0) throw new DebugRequestError(`division by zero in '${text}'`);
      return Math.floor(a / b);
    case '&': return (a & b) >>> 0;
    case '|': return (a | b) >>> 0;
    case '^': return (a ^ b) >>> 0;
    case '<<': return b >= 32 ? 0 : (a << b) >>> 0;
    default: return b >= 32 ? 0 : a >>> b;
  }
}
