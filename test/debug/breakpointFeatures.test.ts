/**
 * Conditional breakpoints, hit counts, logpoints, data breakpoints and changing registers and
 * memory, on the runtime driven directly, with the loop kernel (loopKernel.ts) whose every
 * value is known by construction: pass k (1 to 9) increments ECX to k, stores it in `counter`
 * and prints the digit k.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { dataId } from '../../src/debug/dataBreakpoints';
import { Workdir } from '../loader/toolchain';
import { Driver } from './harness';
import { LOOP_EXIT, LOOP_OUTPUT, STORE_LENGTH, loopKernel } from './loopKernel';

const work = new Workdir();
afterAll(() => work.remove());
const loop = loopKernel(work);

function driver(): Driver { return new Driver({ program: loop.path }); }
const symbol = (d: Driver, name: string): number => d.rt.info.symbols.lookup(name)!.address;

/** Runs to the end of the guest; returns its exit status. */
async function runToEnd(d: Driver): Promise<number> {
  d.rt.continue();
  return (await d.ended()).exitCode;
}

describe('conditions, hit counts and logpoints', () => {
  it('stops where the condition holds, once, and runs on through false ones without stopping', async () => {
    const d = driver();
    const [bp] = d.rt.setSourceBreakpoints(loop.path, [{ id: 1, line: loop.line('@store'), condition: 'ecx == 7' }]);
    expect(bp).toMatchObject({ verified: true, address: symbol(d, 'store') });
    d.rt.continue();
    expect(await d.stopped()).toMatchObject({ reason: 'breakpoint', breakpointIds: [1] });
    expect(d.reg('ecx')).toBe(7);
    expect(d.output).toBe('123456');
    expect(await runToEnd(d)).toBe(LOOP_EXIT);   // no further stop: ECX is 8 and 9 there afterwards
    expect(d.output).toBe(LOOP_OUTPUT);
  });

  it('stops from the 5th hit on with hit condition 5, and on the 5th alone with == 5', async () => {
    const d = driver();
    d.rt.setSourceBreakpoints(loop.path, [{ id: 1, line: loop.line('@inc'), hitCondition: '5' }]);
    d.rt.continue();
    await d.stopped();
    expect(d.reg('ecx')).toBe(4);                // before the 5th INC
    expect(d.rt.conditions.hits(1)).toBe(5);
    d.rt.continue();
    await d.stopped();
    expect(d.reg('ecx')).toBe(5);

    const once = driver();
    once.rt.setSourceBreakpoints(loop.path, [{ id: 2, line: loop.line('@inc'), hitCondition: '== 5' }]);
    once.rt.continue();
    await once.stopped();
    expect(once.reg('ecx')).toBe(4);
    expect(await runToEnd(once)).toBe(LOOP_EXIT);
  });

  it('combines a condition with a hit count: the count is of the hits where the condition holds', async () => {
    const d = driver();
    // ECX is odd at @print on passes 1, 3, 5, 7, 9: the 3rd such hit is pass 5.
    d.rt.setSourceBreakpoints(loop.path, [{ id: 1, line: loop.line('@print'), condition: '(ecx & 1) == 1', hitCondition: '== 3' }]);
    d.rt.continue();
    await d.stopped();
    expect(d.reg('ecx')).toBe(5);
    expect(d.rt.evaluate('dword [counter]').result).toBe('0x00000005 (5)');
  });

  it('prints logpoint lines with the values of the moment, in order with the guest output, and never stops', async () => {
    const d = driver();
    d.rt.setSourceBreakpoints(loop.path, [{ id: 1, line: loop.line('@store'), logMessage: '{ecx} value {dword [counter]}' }]);
    expect(await runToEnd(d)).toBe(LOOP_EXIT);
    // `counter` still holds the previous pass's value before the store.
    expect(d.logs).toEqual(Array.from({ length: 9 }, (_, k) => `${k + 1} value ${k}\n`));
    expect(d.output).toBe(LOOP_OUTPUT);
  });

  it('leaves breakpoints whose options do not parse unverified, saying why, and never stops there', async () => {
    const d = driver();
    const statuses = d.rt.setSourceBreakpoints(loop.path, [
      { id: 1, line: loop.line('@store'), condition: 'ecx ==' },
      { id: 2, line: loop.line('@print'), condition: 'nosuch == 1' },
      { id: 3, line: loop.line('@out'), hitCondition: 'often' },
      { id: 4, line: loop.line('@jne'), logMessage: 'ecx is {ecx' },
    ]);
    expect(statuses.map((s) => [s.verified, s.message])).toEqual([
      [false, "condition: 'ecx ==' ends too early"],
      [false, "condition: 'nosuch' is neither a register nor a symbol of the image"],
      [false, "hit condition: 'often' is not a number of hits, alone or after one of >, >=, <, <=, ==, % (e.g. '5', '>= 5', '% 3')"],
      [false, "log message: '{' without '}' in 'ecx is {ecx' (write '{{' for a brace)"],
    ]);
    expect(await runToEnd(d)).toBe(LOOP_EXIT);
  });

  it('applies conditions to function and instruction breakpoints too', async () => {
    const d = driver();
    expect(d.rt.setFunctionBreakpoints([{ id: 1, name: 'store', condition: 'ecx == 3' }])).toMatchObject([{ verified: true }]);
    d.rt.setInstructionBreakpoints([{ id: 2, address: symbol(d, 'again'), hitCondition: '== 8' }]);
    d.rt.continue();
    expect(await d.stopped()).toMatchObject({ reason: 'function breakpoint', breakpointIds: [1] });
    expect(d.reg('ecx')).toBe(3);
    d.rt.continue();
    expect(await d.stopped()).toMatchObject({ reason: 'instruction breakpoint', breakpointIds: [2] });
    expect(d.reg('ecx')).toBe(7);   // the 8th arrival at `again` is before the 8th INC
  });
});

describe('data breakpoints', () => {
  it('stops after each write to the watched dword, with the value before and after', async () => {
    const d = driver();
    const target = d.rt.dataTarget('dword [counter]', undefined, false);
    expect(target).toEqual({ address: symbol(d, 'counter'), length: 4 });
    expect(d.rt.describeData(target)).toBe(`dword at counter (0x${symbol(d, 'counter').toString(16).padStart(8, '0')})`);
    expect(d.rt.setDataBreakpoints([{ id: 7, dataId: dataId(target), accessType: 'write' }])).toMatchObject([{ id: 7, verified: true }]);
    for (let k = 1; k <= 9; k++) {
      d.rt.continue();
      const stop = await d.stopped();
      expect(stop.reason).toBe('data breakpoint');
      expect(stop.breakpointIds).toEqual([7]);
      expect(stop.description).toContain(`by the instruction at store (loop.asm:${loop.line('@store')})`);
      const hex = (v: number): string => `0x${v.toString(16).padStart(8, '0')}`;
      expect(stop.description).toContain(`: ${hex(k - 1)} -> ${hex(k)}`);
      // After the store has completed: at the next instruction, with ECX = k in memory.
      expect(d.pc).toBe(symbol(d, 'store') + STORE_LENGTH);
      expect(d.rt.evaluate('dword [counter]').result).toBe(`${hex(k)} (${k})`);
      expect(d.output).toBe('123456789'.slice(0, k - 1));
    }
    // The read after the loop does not stop a write watch.
    expect(await runToEnd(d)).toBe(LOOP_EXIT);
  });

  it('stops on a read with a read watch, on both with readWrite, and filters with a condition', async () => {
    const d = driver();
    const id = dataId(d.rt.dataTarget('counter', 4, false));
    d.rt.setDataBreakpoints([{ id: 1, dataId: id, accessType: 'read' }]);
    d.rt.continue();
    const read = await d.stopped();
    expect(read.description).toMatch(/^Paused on data breakpoint: read of dword at counter .* by the instruction at read /);
    expect(d.pc).toBe(symbol(d, 'read') + 5);   // mov eax, [counter]: A1 and a 32-bit address
    expect(d.reg('eax')).toBe(9);

    const both = driver();
    both.rt.setDataBreakpoints([{ id: 2, dataId: id, accessType: 'readWrite', condition: 'dword [counter] >= 8' }]);
    const seen: number[] = [];
    for (let k = 0; k < 3; k++) {
      both.rt.continue();
      await both.stopped();
      seen.push(both.pc);
    }
    expect(seen).toEqual([symbol(both, 'store') + STORE_LENGTH, symbol(both, 'store') + STORE_LENGTH, symbol(both, 'read') + 5]);
    expect(await runToEnd(both)).toBe(LOOP_EXIT);
  });

  it('watches any byte of a range, unaligned accesses included, and only while set', async () => {
    const d = driver();
    // The last byte of `counter` is written by every store (as the top byte of the dword, 0).
    d.rt.setDataBreakpoints([{ id: 1, dataId: dataId({ address: symbol(d, 'counter') + 3, length: 1 }) }]);
    expect(d.rt.cpu.watchedPages).toBeDefined();
    d.rt.continue();
    expect((await d.stopped()).description).toContain('write to byte at counter+0x3');
    d.rt.setDataBreakpoints([]);
    expect(d.rt.cpu.watchedPages).toBeUndefined();
    expect(await runToEnd(d)).toBe(LOOP_EXIT);
  });

  it('says what cannot be watched', () => {
    const d = driver();
    expect(() => d.rt.dataTarget('ecx', undefined, false)).toThrow("'ecx' is a value, not a place in memory: watch a memory operand such as [ecx] or dword [symbol]");
    expect(() => d.rt.dataTarget('0x100000', 0x20000, true)).toThrow('a data breakpoint watches 1 to 65536 bytes, not 131072');
    expect(() => d.rt.dataTarget('somewhere', undefined, true)).toThrow("'somewhere' is not an address");
    expect(d.rt.dataTarget('0x100010', 2, true)).toEqual({ address: 0x100010, length: 2 });
    expect(d.rt.setDataBreakpoints([{ id: 1, dataId: 'counter' }, { id: 2, dataId: '0x100000/4', accessType: 'execute' }])).toEqual([
      { id: 1, verified: false, message: "'counter' is not a data breakpoint id of this adapter (ADDRESS/LENGTH, LENGTH 1 to 65536)" },
      { id: 2, verified: false, message: "access type 'execute' is not one of read, write, readWrite" },
    ]);
  });
});

describe('changing registers and memory', () => {
  it('sets EAX before the OUT, and the guest prints the new value', async () => {
    const d = driver();
    d.rt.setSourceBreakpoints(loop.path, [{ id: 1, line: loop.line('@out'), condition: 'ecx == 3' }]);
    d.rt.continue();
    await d.stopped();
    expect(d.rt.setRegister('eax', '0x41')).toBe('0x00000041');
    d.rt.setSourceBreakpoints(loop.path, []);
    expect(await runToEnd(d)).toBe(LOOP_EXIT);
    expect(d.output).toBe('12A456789\n');
  });

  it('sets register parts and EFLAGS fields, and refuses what does not fit', async () => {
    const d = driver();
    d.rt.setSourceBreakpoints(loop.path, [{ id: 1, line: loop.line('@jne'), condition: 'ecx == 2' }]);
    d.rt.continue();
    await d.stopped();
    expect(d.rt.setExpression('ah', '0x12')).toBe('0x00000012 (18)');
    expect(d.reg('eax')).toBe(0x1232);          // AL was '2' = 0x32
    expect(d.rt.setExpression('cl', '-1')).toBe('0x000000ff (255)');
    expect(d.rt.setRegister('eflags.ZF', '1')).toBe('1');
    expect(d.rt.setRegister('eflags.IOPL', '3')).toBe('3');
    expect(d.reg('eflags') & 0x3040).toBe(0x3040);
    expect(() => d.rt.setRegister('eflags.ZF', '2')).toThrow('eflags.ZF is one bit: give 0 or 1, not 2');
    expect(() => d.rt.setRegister('eflags.IOPL', '4')).toThrow('eflags.IOPL is 2 bits: give 0 to 3, not 4');
    expect(() => d.rt.setRegister('eflags', '0')).toThrow('eflags 0x00000000 changes reserved bit 1');
    expect(() => d.rt.setRegister('eflags.VM', '1')).toThrow('eflags.VM cannot be changed from the debugger');
    expect(() => d.rt.setExpression('al', '0x100')).toThrow('al is 8 bits: 0x00000100 does not fit');
    expect(() => d.rt.setRegister('eax', 'nosuch')).toThrow("'nosuch' is neither a register nor a symbol of the image");
    expect(() => d.rt.setExpression('cs', '0')).toThrow("cannot assign to 'cs'");
    expect(() => d.rt.setExpression('ecx + 1', '0')).toThrow("cannot assign to 'ecx + 1'");
    // ZF set makes the JNE fall through: the loop ends after pass 2, and `counter` (2) is the exit status.
    expect(await runToEnd(d)).toBe((2 << 1) | 1);
    expect(d.output).toBe('12\n');
  });

  it('writes memory through setExpression', async () => {
    const d = driver();
    d.rt.setSourceBreakpoints(loop.path, [{ id: 1, line: loop.line('@read') }]);
    d.rt.continue();
    await d.stopped();
    expect(d.rt.setExpression('dword [counter]', '0x21')).toBe('0x00000021 (33)');
    expect(() => d.rt.setExpression('byte [counter]', '256')).toThrow("0x00000100 does not fit in the 1 bytes of 'byte [counter]'");
    expect(() => d.rt.setExpression('dword [0xfffffff0]', '1')).toThrow('cannot write linear address 0xfffffff0');
    expect(await runToEnd(d)).toBe((0x21 << 1) | 1);
  });
});
