/**
 * What a breakpoint does when the CPU reaches it, beyond stopping: a condition (an expression of
 * expression.ts that must be non-zero), a hit condition as VS Code users write it, and a log
 * message that makes it a logpoint, which prints and never stops.
 *
 * Hit conditions count the times the breakpoint is reached with its condition true: `5` stops
 * from the 5th hit on (gdb's ignore count of 4, js-debug's reading), `> 5`, `>= 5`, `< 5`,
 * `<= 5`, `== 5` (also `=`, `===`) compare the count, and `% 3` stops on every 3rd hit.
 *
 * Log messages interpolate expressions in braces: `{eax} value {dword [counter]}` prints the
 * values in unsigned decimal, `{eax,x}` in hexadecimal; `{{` and `}}` are literal braces.
 */
import { Expression, type ExpressionContext } from './expression';
import { DebugRequestError, hex8 } from './guestMemory';

export interface BreakpointOptions {
  condition?: string;
  hitCondition?: string;
  logMessage?: string;
}

type LogPart = string | { expression: Expression; hex: boolean };

interface Behaviour {
  condition?: Expression;
  hitCondition?: (hits: number) => boolean;
  log?: LogPart[];
  /** Why the options do not parse: the breakpoint never stops. */
  error?: string;
  hits: number;
}

export interface Reached {
  /** The breakpoints to stop for. */
  stop: number[];
  /** Conditions that could not be evaluated (they stop, so the user sees why). */
  errors: string[];
}

const HIT_CONDITION = /^(>=|<=|={1,3}|>|<|%)?\s*([0-9]+)$/;

export function parseHitCondition(text: string): (hits: number) => boolean {
  const m = HIT_CONDITION.exec(text.trim());
  const n = m === null ? NaN : Number(m[2]);
  if (m === null || !Number.isSafeInteger(n)) {
    throw new DebugRequestError(`'${text}' is not a number of hits, alone or after one of >, >=, <, <=, ==, % (e.g. '5', '>= 5', '% 3')`);
  }
  switch (m[1]) {
    case undefined:
    case '>=': return (hits) => hits >= n;
    case '>': return (hits) => hits > n;
    case '<': return (hits) => hits < n;
    case '<=': return (hits) => hits <= n;
    case '%':
      if (n === 0) throw new DebugRequestError(`'${text}': the modulus must be 1 or more`);
      return (hits) => hits % n === 0;
    default: return (hits) => hits === n;
  }
}

export function parseLogMessage(text: string): LogPart[] {
  const parts: LogPart[] = [];
  let literal = '';
  for (let k = 0; k < text.length; k++) {
    const c = text[k];
    if ((c === '{' || c === '}') && text[k + 1] === c) { literal += c; k++; continue; }
    if (c === '}') throw new DebugRequestError(`'}' without '{' in '${text}' (write '}}' for a brace)`);
    if (c !== '{') { literal += c; continue; }
    const end = text.indexOf('}', k);
    if (end < 0) throw new DebugRequestError(`'{' without '}' in '${text}' (write '{{' for a brace)`);
    const inner = text.slice(k + 1, end);
    const format = /,\s*([xd])\s*$/i.exec(inner);
    const source = format === null ? inner : inner.slice(0, format.index);
    if (literal !== '') parts.push(literal);
    literal = '';
    parts.push({ expression: Expression.parse(source), hex: format?.[1].toLowerCase() === 'x' });
    k = end;
  }
  if (literal !== '') parts.push(literal);
  return parts;
}

export class BreakpointConditions {
  /** Behaviours by breakpoint id, grouped as the client sets them (one source file, the function breakpoints, ...). */
  private readonly groups = new Map<string, Map<number, Behaviour>>();
  private readonly byId = new Map<number, Behaviour>();
  /** The last answer, so asking again at the same place does not count a hit twice. */
  private last: { icount: number; pc: number; ids: string; answer: Reached } | undefined;

  constructor(private readonly ctx: ExpressionContext, private readonly print: (line: string) => void) {}

  /**
   * Replaces the options of the breakpoints of `group`. The statuses of breakpoints whose
   * options do not parse (or name what is neither a register nor a symbol) become unverified
   * with the reason; such a breakpoint never stops.
   */
  define<S extends { id: number; verified: boolean; message?: string }>(
    group: string, specs: readonly ({ id: number } & BreakpointOptions)[], statuses: S[],
  ): S[] {
    for (const id of this.groups.get(group)?.keys() ?? []) this.byId.delete(id);
    const behaviours = new Map<number, Behaviour>();
    for (const spec of specs) {
      const b = this.behaviour(spec);
      if (b === undefined) continue;
      behaviours.set(spec.id, b);
      this.byId.set(spec.id, b);
    }
    this.groups.set(group, behaviours);
    this.last = undefined;
    return statuses.map((s) => {
      const error = behaviours.get(s.id)?.error;
      return error === undefined ? s : { ...s, verified: false, message: error };
    });
  }

  private behaviour(spec: BreakpointOptions): Behaviour | undefined {
    const { condition, hitCondition, logMessage } = spec;
    const given = (v: string | undefined): v is string => v !== undefined && v.trim() !== '';
    if (!given(condition) && !given(hitCondition) && logMessage === undefined) return undefined;
    const b: Behaviour = { hits: 0 };
    /** Runs one parse; the first failure becomes the breakpoint's error. */
    const parse = <T>(what: string, f: () => T): T | undefined => {
      if (b.error !== undefined) return undefined;
      try {
        return f();
      } catch (e) {
        if (!(e instanceof DebugRequestError)) throw e;
        b.error = `${what}: ${e.message}`;
        return undefined;
      }
    };
    if (given(condition)) {
      b.condition = parse('condition', () => {
        const x = Expression.parse(condition);
        x.checkNames(this.ctx);
        return x;
      });
    }
    if (given(hitCondition)) b.hitCondition = parse('hit condition', () => parseHitCondition(hitCondition));
    if (logMessage !== undefined) {
      b.log = parse('log message', () => {
        const parts = parseLogMessage(logMessage);
        for (const part of parts) if (typeof part !== 'string') part.expression.checkNames(this.ctx);
        return parts;
      });
    }
    return b;
  }

  /** The times breakpoint `id` was hit (reached with its condition true); counted for breakpoints with options only. */
  hits(id: number): number { return this.byId.get(id)?.hits ?? 0; }

  /**
   * The CPU is at breakpoints `ids` (one address) after `icount` instructions: counts their
   * hits, prints the logpoints among them and says which to stop for. Asking again at the same
   * place gives the same answer without counting again.
   */
  reached(ids: readonly number[], icount: number, pc: number): Reached {
    const key = ids.join(',');
    const last = this.last;
    if (last !== undefined && last.icount === icount && last.pc === pc && last.ids === key) return last.answer;
    const answer: Reached = { stop: [], errors: [] };
    for (const id of ids) {
      const b = this.byId.get(id);
      if (b === undefined) { answer.stop.push(id); continue; }
      if (b.error !== undefined) continue;
      const holds = this.holds(id, b, answer.errors);
      if (holds === 'error') { answer.stop.push(id); continue; }
      if (!holds) continue;
      b.hits++;
      if (b.hitCondition !== undefined && !b.hitCondition(b.hits)) continue;
      if (b.log !== undefined) this.print(this.message(b.log));
      else answer.stop.push(id);
    }
    this.last = { icount, pc, ids: key, answer };
    return answer;
  }

  /** Which of `ids` would stop now by their conditions alone, without counting or printing (for reverse execution). */
  wouldStop(ids: readonly number[]): number[] {
    return ids.filter((id) => {
      const b = this.byId.get(id);
      if (b === undefined) return true;
      return b.error === undefined && b.log === undefined && this.holds(id, b, []) !== false;
    });
  }

  private holds(id: number, b: Behaviour, errors: string[]): boolean | 'error' {
    if (b.condition === undefined) return true;
    try {
      return b.condition.evaluate(this.ctx).value !== 0;
    } catch (e) {
      if (!(e instanceof DebugRequestError)) throw e;
      errors.push(`the condition '${b.condition.text}' of breakpoint ${id} cannot be evaluated: ${e.message}`);
      return 'error';
    }
  }

  private message(parts: readonly LogPart[]): string {
    return parts.map((p) => {
      if (typeof p === 'string') return p;
      try {
        const v = p.expression.evaluate(this.ctx).value;
        return p.hex ? hex8(v) : String(v);
      } catch (e) {
        if (!(e instanceof DebugRequestError)) throw e;
        return `<${e.message}>`;
      }
    }).join('') + '\n';
  }
}
