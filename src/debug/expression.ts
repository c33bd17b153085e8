/**
 * Expressions of the Debug Console, hovers and breakpoint conditions, in NASM's notation:
 * numbers (decimal, 0x.., ..h), registers (`eax`, `$eip`, `ax`, `al`, `cr3`, `cs`, `eflags`),
 * symbols, `+ - * / % & | ^ ~ << >>`, comparisons `== != < <= > >=` and `&& || !` (1 or 0,
 * unsigned, with C's precedence; `&&` and `||` do not evaluate their right side when the left
 * decides), parentheses, and memory operands `[expr]` (a dword) or `byte|word|dword [expr]`,
 * with `ptr` allowed. Values are unsigned 32-bit.
 *
 * An expression is parsed once (`Expression.parse`, which is where syntax errors show) and can
 * be evaluated many times, as a breakpoint condition is.
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

export type MemorySize = 1 | 2 | 4;

type Node =
  | { kind: 'number'; value: number }
  | { kind: 'name'; name: string }
  | { kind: 'memory'; size: MemorySize; address: Node }
  | { kind: 'unary'; op: string; operand: Node }
  | { kind: 'binary'; op: string; left: Node; right: Node };

const SIZES: Record<string, MemorySize> = { byte: 1, word: 2, dword: 4 };
const TOKEN = /\s*(0x[0-9a-f]+|[0-9][0-9a-f]*h\b|[0-9]+|\$?[A-Za-z_.?@][A-Za-z0-9_.?@$#~]*|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^~!<>()[\]])/iy;

/** Binary operators by precedence, loosest first (C's order). */
const LEVELS: readonly string[][] = [
  ['||'], ['&&'], ['|'], ['^'], ['&'], ['==', '!='], ['<', '<=', '>', '>='], ['<<', '>>'], ['+', '-'], ['*', '/', '%'],
];

export class Expression {
  private constructor(readonly text: string, private readonly root: Node) {}

  /** Parses `text`; a DebugRequestError says what is wrong with it. */
  static parse(text: string): Expression {
    const tokens: string[] = [];
    let pos = 0;
    while (pos < text.length) {
      if (/^\s*$/.test(text.slice(pos))) break;
      TOKEN.lastIndex = pos;
      const m = TOKEN.exec(text);
      if (m === null) {
        const rest = text.slice(pos).trim();
        if (rest.startsWith('=')) throw new DebugRequestError(`'=' in '${text}' is not an operator: compare with ==`);
        throw new DebugRequestError(`cannot read '${rest}' in '${text}'`);
      }
      tokens.push(m[1]);
      pos = TOKEN.lastIndex;
    }
    if (tokens.length === 0) throw new DebugRequestError('empty expression');
    const p = new Parser(tokens, text);
    const root = p.binary(0);
    if (p.peek() !== undefined) throw new DebugRequestError(`unexpected '${p.peek()}' in '${text}'`);
    return new Expression(text, root);
  }

  evaluate(ctx: ExpressionContext): EvaluationResult {
    const e = new Evaluator(ctx, this.text);
    const value = e.value(this.root);
    return { value: value >>> 0, isSymbolic: e.usesSymbol && !e.readsMemory };
  }

  /** Throws a DebugRequestError naming the first name that is neither a register nor a symbol. */
  checkNames(ctx: ExpressionContext): void {
    const visit = (n: Node): void => {
      switch (n.kind) {
        case 'name': resolveName(n.name, ctx); return;
        case 'memory': visit(n.address); return;
        case 'unary': visit(n.operand); return;
        case 'binary': visit(n.left); visit(n.right); return;
        default:
      }
    };
    visit(this.root);
  }

  /** For `byte|word|dword [address]` and `[address]`: the size and the address expression. */
  memoryOperand(): { size: MemorySize; address: Expression } | undefined {
    const r = this.root;
    return r.kind === 'memory' ? { size: r.size, address: new Expression(this.text, r.address) } : undefined;
  }

  /** The register or symbol name the whole expression is, if it is one. */
  name(): string | undefined {
    const r = this.root;
    return r.kind === 'name' ? bareName(r.name) : undefined;
  }
}

/** Parses and evaluates `text` once. */
export function evaluate(text: string, ctx: ExpressionContext): EvaluationResult {
  return Expression.parse(text).evaluate(ctx);
}

function bareName(name: string): string { return name.startsWith('$') ? name.slice(1) : name; }

function resolveName(written: string, ctx: ExpressionContext): { value: number; isSymbol: boolean } {
  const name = bareName(written);
  const reg = ctx.register(name.toLowerCase());
  if (reg !== undefined) return { value: reg >>> 0, isSymbol: false };
  const sym = ctx.symbol(name);
  if (sym !== undefined) return { value: sym >>> 0, isSymbol: true };
  throw new DebugRequestError(`'${name}' is neither a register nor a symbol of the image`);
}

class Parser {
  private k = 0;

  constructor(private readonly tokens: string[], private readonly text: string) {}

  peek(): string | undefined { return this.tokens[this.k]; }
  private next(): string | undefined { return this.tokens[this.k++]; }

  private expect(t: string): void {
    const got = this.next();
    if (got !== t) throw new DebugRequestError(`expected '${t}' ${got === undefined ? 'at the end' : `before '${got}'`} in '${this.text}'`);
  }

  binary(level: number): Node {
    if (level === LEVELS.length) return this.unary();
    let left = this.binary(level + 1);
    for (;;) {
      const op = this.peek();
      if (op === undefined || !LEVELS[level].includes(op)) return left;
      this.k++;
      left = { kind: 'binary', op, left, right: this.binary(level + 1) };
    }
  }

  private unary(): Node {
    const t = this.peek();
    if (t === '-' || t === '+' || t === '~' || t === '!') {
      this.k++;
      return { kind: 'unary', op: t, operand: this.unary() };
    }
    return this.primary();
  }

  private primary(): Node {
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
      return { kind: 'memory', size: size ?? 4, address };
    }
    if (/^[0-9]/.test(t)) return { kind: 'number', value: parseNumber(t, this.text) };
    if (/^[-+*/%&|^~!<>=()[\]]/.test(t)) throw new DebugRequestError(`unexpected '${t}' in '${this.text}'`);
    return { kind: 'name', name: t };
  }
}

class Evaluator {
  usesSymbol = false;
  readsMemory = false;

  constructor(private readonly ctx: ExpressionContext, private readonly text: string) {}

  value(n: Node): number {
    switch (n.kind) {
      case 'number': return n.value;
      case 'name': {
        const r = resolveName(n.name, this.ctx);
        if (r.isSymbol) this.usesSymbol = true;
        return r.value;
      }
      case 'memory': {
        const address = this.value(n.address) >>> 0;
        this.readsMemory = true;
        return this.ctx.read(address, n.size);
      }
      case 'unary': {
        const v = this.value(n.operand) >>> 0;
        if (n.op === '-') return -v >>> 0;
        if (n.op === '~') return ~v >>> 0;
        if (n.op === '!') return v === 0 ? 1 : 0;
        return v;
      }
      default: {
        const a = this.value(n.left) >>> 0;
        // The right side of && and || is only looked at when it decides, as in C.
        if (n.op === '&&') return a === 0 ? 0 : this.value(n.right) >>> 0 !== 0 ? 1 : 0;
        if (n.op === '||') return a !== 0 ? 1 : this.value(n.right) >>> 0 !== 0 ? 1 : 0;
        return apply(n.op, a, this.value(n.right) >>> 0, this.text);
      }
    }
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
    case '%':
      if (b === 0) throw new DebugRequestError(`division by zero in '${text}'`);
      return op === '/' ? Math.floor(a / b) : a % b;
    case '&': return (a & b) >>> 0;
    case '|': return (a | b) >>> 0;
    case '^': return (a ^ b) >>> 0;
    case '<<': return b >= 32 ? 0 : (a << b) >>> 0;
    case '>>': return b >= 32 ? 0 : a >>> b;
    case '==': return a === b ? 1 : 0;
    case '!=': return a !== b ? 1 : 0;
    case '<': return a < b ? 1 : 0;
    case '<=': return a <= b ? 1 : 0;
    case '>': return a > b ? 1 : 0;
    default: return a >= b ? 1 : 0;
  }
}
