/**
 * The pieces of conditional breakpoints on their own: the expression operators conditions use
 * (values worked out by hand, unsigned 32-bit as the evaluator's contract says), hit conditions
 * as VS Code users write them, log message interpolation, and which breakpoints stop.
 */
import { describe, expect, it } from 'vitest';
import { BreakpointConditions, parseHitCondition, parseLogMessage } from '../../src/debug/breakpointConditions';
import { evaluate, Expression, type ExpressionContext } from '../../src/debug/expression';
import { DebugRequestError } from '../../src/debug/guestMemory';

/** ECX 7, EAX 0xFFFFFFFF, a symbol `counter` at 0x1000 holding 5; any other read fails. */
function context(reads: number[] = []): ExpressionContext {
  const regs: Record<string, number> = { ecx: 7, eax: 0xffff_ffff };
  return {
    register: (name) => regs[name],
    symbol: (name) => (name === 'counter' ? 0x1000 : undefined),
    read: (lin, size) => {
      reads.push(lin);
      if (lin === 0x1000 && size === 4) return 5;
      throw new DebugRequestError(`cannot read linear address ${lin}`);
    },
  };
}
const value = (text: string): number => evaluate(text, context()).value;

describe('expression operators', () => {
  it('compares unsigned and gives 1 or 0', () => {
    expect(value('ecx == 7')).toBe(1);
    expect(value('ecx != 7')).toBe(0);
    expect(value('ecx < 8')).toBe(1);
    expect(value('ecx <= 6')).toBe(0);
    expect(value('ecx >= 7')).toBe(1);
    // 0xFFFFFFFF is the largest unsigned value, not -1.
    expect(value('eax > ecx')).toBe(1);
    expect(value('eax == -1')).toBe(1);
  });

  it('has C precedence: arithmetic, then shifts, comparisons, equality, bitwise, && and ||', () => {
    expect(value('1 + 2 * 3 == 7')).toBe(1);            // (1 + 6) == 7
    expect(value('1 << 2 < 5')).toBe(1);                // (1 << 2) < 5
    expect(value('ecx & 3 == 3')).toBe(1);              // ecx & (3 == 3) = 7 & 1
    expect(value('ecx == 7 && dword [counter] == 5')).toBe(1);
    expect(value('ecx == 1 || ecx == 7 && 0')).toBe(0); // || binds looser than &&
    expect(value('!ecx')).toBe(0);
    expect(value('!!ecx + 1')).toBe(2);
    expect(value('17 % 5')).toBe(2);
  });

  it('does not evaluate the right side of && and || when the left decides', () => {
    const reads: number[] = [];
    expect(evaluate('ecx == 0 && dword [0x2000] == 1', context(reads)).value).toBe(0);
    expect(evaluate('ecx == 7 || dword [0x2000] == 1', context(reads)).value).toBe(1);
    expect(reads).toEqual([]);
    expect(() => evaluate('ecx == 7 && dword [0x2000] == 1', context(reads))).toThrow('cannot read linear address 8192');
  });

  it('reports syntax errors at parse time and unknown names when asked', () => {
    expect(() => Expression.parse('ecx ==')).toThrow("'ecx ==' ends too early");
    expect(() => Expression.parse('ecx == == 1')).toThrow("unexpected '==' in 'ecx == == 1'");
    expect(() => Expression.parse('(ecx')).toThrow("expected ')' at the end in '(ecx'");
    const e = Expression.parse('nosuch == 1');
    expect(() => e.checkNames(context())).toThrow("'nosuch' is neither a register nor a symbol of the image");
    expect(Expression.parse('dword [counter]').memoryOperand()?.size).toBe(4);
    expect(Expression.parse('byte ptr [counter+1]').memoryOperand()?.address.evaluate(context()).value).toBe(0x1001);
    expect(Expression.parse('$eax').name()).toBe('eax');
  });
});

describe('hit conditions', () => {
  /** The hit counts from 1 to 12 at which `text` stops. */
  const stopsAt = (text: string): number[] => {
    const f = parseHitCondition(text);
    return Array.from({ length: 12 }, (_, k) => k + 1).filter((n) => f(n));
  };

  it('reads a bare number as "from that hit on", and the operators as written', () => {
    expect(stopsAt('5')).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
    expect(stopsAt('>= 5')).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
    expect(stopsAt('> 10')).toEqual([11, 12]);
    expect(stopsAt('== 5')).toEqual([5]);
    expect(stopsAt('=5')).toEqual([5]);
    expect(stopsAt('=== 5')).toEqual([5]);
    expect(stopsAt('< 3')).toEqual([1, 2]);
    expect(stopsAt('<= 2')).toEqual([1, 2]);
    expect(stopsAt('% 3')).toEqual([3, 6, 9, 12]);
  });

  it('rejects what is not a count', () => {
    for (const bad of ['', 'five', '>> 5', '5 times', '-1', '% 0']) expect(() => parseHitCondition(bad)).toThrow(DebugRequestError);
  });
});

describe('log messages', () => {
  it('splits text and expressions, with {{ }} for braces and ,x for hex', () => {
    const parts = parseLogMessage('{{ecx}} = {ecx}, counter {dword [counter],x}!');
    expect(parts.map((p) => (typeof p === 'string' ? p : `<${p.expression.text}${p.hex ? ' hex' : ''}>`)))
      .toEqual(['{ecx} = ', '<ecx>', ', counter ', '<dword [counter] hex>', '!']);
  });

  it('rejects unbalanced braces', () => {
    expect(() => parseLogMessage('value {ecx')).toThrow("'{' without '}' in 'value {ecx'");
    expect(() => parseLogMessage('value }')).toThrow("'}' without '{' in 'value }'");
  });
});

describe('which breakpoints stop', () => {
  it('counts hits only where the condition holds, prints logpoints and answers once per arrival', () => {
    const lines: string[] = [];
    const c = new BreakpointConditions(context(), (line) => lines.push(line));
    const statuses = c.define('test', [
      { id: 1 },
      { id: 2, condition: 'ecx == 7', hitCondition: '2' },
      { id: 3, logMessage: 'ecx={ecx} counter={dword [counter],x} bad={dword [0x2000]}' },
      { id: 4, condition: 'ecx == 8' },
      { id: 5, condition: 'ecx = 7' },
      { id: 6, condition: 'dword [0x2000] == 1' },
    ], [1, 2, 3, 4, 5, 6].map((id) => ({ id, verified: true })));
    expect(statuses[4]).toEqual({ id: 5, verified: false, message: "condition: '=' in 'ecx = 7' is not an operator: compare with ==" });
    expect(statuses.filter((s) => !s.verified).map((s) => s.id)).toEqual([5]);

    const first = c.reached([1, 2, 3, 4, 5], 100, 0x5000);
    expect(first.stop).toEqual([1]);          // 2 needs its second hit; 3 logs; 4 is false; 5 never stops
    expect(c.reached([1, 2, 3, 4, 5], 100, 0x5000)).toBe(first);   // the same arrival, asked again
    expect(c.reached([1, 2, 3, 4, 5], 130, 0x5000).stop).toEqual([1, 2]);
    expect([c.hits(2), c.hits(3), c.hits(4)]).toEqual([2, 2, 0]);
    expect(lines).toEqual([
      'ecx=7 counter=0x00000005 bad=<cannot read linear address 8192>\n',
      'ecx=7 counter=0x00000005 bad=<cannot read linear address 8192>\n',
    ]);
    // A condition that cannot be evaluated stops, and says why.
    expect(c.reached([6], 150, 0x6000)).toEqual({
      stop: [6], errors: ["the condition 'dword [0x2000] == 1' of breakpoint 6 cannot be evaluated: cannot read linear address 8192"],
    });
    // Going backwards: the condition alone, no hit counted.
    expect(c.wouldStop([1, 2, 3, 4])).toEqual([1, 2]);
    expect(c.hits(2)).toBe(2);
  });
});
