/**
 * Values of operand expressions the language server can know from the source: numbers,
 * character constants, `equ` constants and `%define`s, and labels kept by name (so that an
 * argument reads `str=msg`, not an address), with nasm's operators on 32-bit values.
 */
import type { Token } from '../asm/lexer';

/** A 32-bit constant (0 .. 2^32-1), or a label plus an offset. */
export type Value = { kind: 'num'; n: number } | { kind: 'sym'; name: string; offset: number };

/** Looks up a name as written; undefined when its value cannot be known. */
export type Resolver = (name: string) => Value | undefined;

export const num = (n: number): Value => ({ kind: 'num', n: n >>> 0 });

const BINARY: Record<string, number> = {
  '|': 1, '^': 2, '&': 3, '<<': 4, '>>': 4, '+': 5, '-': 5, '*': 6, '/': 6, '//': 6, '%': 6, '%%': 6,
};

/** Words that may precede an immediate without changing its value. */
const IGNORED = new Set(['byte', 'word', 'dword', 'strict']);

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[], private readonly resolve: Resolver) {}

  parse(): Value | undefined {
    while (this.i < this.tokens.length && this.tokens[this.i].kind === 'id' && IGNORED.has(this.tokens[this.i].text.toLowerCase())) this.i++;
    const v = this.binary(0);
    return this.i === this.tokens.length ? v : undefined;
  }

  private binary(minPrec: number): Value | undefined {
    let left = this.unary();
    for (;;) {
      const t = this.tokens[this.i];
      const prec = t?.kind === 'op' ? BINARY[t.text] : undefined;
      if (prec === undefined || prec <= minPrec) return left;
      this.i++;
      const right = this.binary(prec);
      left = left && right ? apply(t.text, left, right) : undefined;
    }
  }

  private unary(): Value | undefined {
    const t = this.tokens[this.i++];
    if (t === undefined) return undefined;
    if (t.kind === 'op') {
      switch (t.text) {
        case '-': { const v = this.unary(); return v?.kind === 'num' ? num(-v.n) : undefined; }
        case '+': return this.unary();
        case '~': { const v = this.unary(); return v?.kind === 'num' ? num(~v.n) : undefined; }
        case '!': { const v = this.unary(); return v?.kind === 'num' ? num(v.n === 0 ? 1 : 0) : undefined; }
        case '(': {
          const v = this.binary(0);
          if (this.tokens[this.i]?.kind !== 'op' || this.tokens[this.i].text !== ')') return undefined;
          this.i++;
          return v;
        }
        default: return undefined;
      }
    }
    if (t.kind === 'num') return t.value === undefined ? undefined : num(Number(BigInt.asUintN(32, BigInt(t.value))));
    if (t.kind === 'str') {
      // A character constant: its bytes little-endian.
      const bytes = t.bytes ?? new Uint8Array(0);
      if (bytes.length > 4) return undefined;
      let n = 0;
      for (let k = bytes.length - 1; k >= 0; k--) n = n * 256 + bytes[k];
      return num(n);
    }
    if (t.kind === 'id') return this.resolve(t.text);
    return undefined;
  }
}

function apply(op: string, a: Value, b: Value): Value | undefined {
  if (a.kind === 'sym' || b.kind === 'sym') {
    if (op === '+' && a.kind === 'sym' && b.kind === 'num') return { kind: 'sym', name: a.name, offset: (a.offset + b.n) | 0 };
    if (op === '+' && a.kind === 'num' && b.kind === 'sym') return { kind: 'sym', name: b.name, offset: (b.offset + a.n) | 0 };
    if (op === '-' && a.kind === 'sym' && b.kind === 'num') return { kind: 'sym', name: a.name, offset: (a.offset - b.n) | 0 };
    if (op === '-' && a.kind === 'sym' && b.kind === 'sym' && a.name === b.name) return num(a.offset - b.offset);
    return undefined;
  }
  const x = a.n, y = b.n;
  switch (op) {
    case '|': return num(x | y);
    case '^': return num(x ^ y);
    case '&': return num(x & y);
    case '<<': return num(y >= 32 ? 0 : x << y);
    case '>>': return num(y >= 32 ? 0 : x >>> y);
    case '+': return num(x + y);
    case '-': return num(x - y);
    case '*': return num(Math.imul(x, y));
    case '/': return y === 0 ? undefined : num(Math.floor(x / y));
    case '%': return y === 0 ? undefined : num(x % y);
    case '//': return y === 0 ? undefined : num(Math.trunc((x | 0) / (y | 0)));
    case '%%': return y === 0 ? undefined : num((x | 0) % (y | 0));
    default: return undefined;
  }
}

/** The value of an expression, or undefined if any part of it cannot be known. */
export function evaluate(tokens: Token[], resolve: Resolver): Value | undefined {
  if (tokens.length === 0) return undefined;
  return new Parser(tokens, resolve).parse();
}
