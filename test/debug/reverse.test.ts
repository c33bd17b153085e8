/**
 * Reverse execution on the runtime driven directly: stepping back gives exactly the state the
 * forward run had there (recorded while stepping forward, the independent truth), running back
 * stops at the breakpoint hits the forward run passed, guest output is not shown twice, and
 * changes from outside (serial input, registers) happen again at the same place when the run
 * is re-executed. Checkpoints are taken every few instructions here so that going back crosses
 * several of them.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dataId } from '../../src/debug/dataBreakpoints';
import type { RuntimeOptions } from '../../src/debug/runtime';
import { Workdir } from '../loader/toolchain';
import { Driver } from './harness';
import { cKernel } from './kernels';
import { LOOP_EXIT, LOOP_OUTPUT, STORE_LENGTH, loopKernel } from './loopKernel';

const work = new Workdir();
afterAll(() => work.remove());
const loop = loopKernel(work);

/** Checkpoints every 5 instructions, whatever they cost. */
const OFTEN = { interval: 5, overhead: 0 };

/** Slices of 4 instructions, so that checkpoints (taken between slices) are frequent. */
function driver(opts: Partial<RuntimeOptions> = {}): Driver {
  return new Driver({ program: loop.path, history: OFTEN, sliceInstructions: 4, ...opts });
}
const symbol = (d: Driver, name: string): number => d.rt.info.symbols.lookup(name)!.address;

/** Everything an instruction can change in the loop kernel, as the debugger shows it. */
function state(d: Driver): Record<string, string> {
  const regs = Object.fromEntries(d.rt.registerGroups()[0].registers.map((r) => [r.name, r.value]));
  return { ...regs, counter: d.rt.evaluate('dword [counter]').result, icount: String(d.rt.cpu.icount) };
}

describe('stepping back', () => {
  it('gives the registers and memory of each earlier instruction, back to the start', async () => {
    const d = driver();
    const seen = [state(d)];
    for (let k = 0; k < 40; k++) {
      d.rt.stepInstruction(false);
      expect((await d.stopped()).reason).toBe('step');
      seen.push(state(d));
    }
    const printed = d.output;
    expect(printed.length).toBeGreaterThan(2);
    for (let k = 39; k >= 0; k--) {
      d.rt.stepBack(false);
      expect(await d.stopped()).toMatchObject({ reason: 'step' });
      expect(state(d)).toEqual(seen[k]);
    }
    expect(d.pc).toBe(symbol(d, 'start'));
    expect(() => d.rt.stepBack(false)).toThrow('stepBack: already at the start of the recorded run, start (loop.asm:');
    // Forward again: the output already shown is not shown again.
    d.rt.continue();
    expect((await d.ended()).exitCode).toBe(LOOP_EXIT);
    expect(d.output).toBe(LOOP_OUTPUT);
    expect(printed).toBe(LOOP_OUTPUT.slice(0, printed.length));
  });

  it('goes back over a source line to the start of the line before, as the forward step came', async () => {
    const source = `
int total;

int add(int a, int b)
{
    return a + b;               /* @add */
}

void kmain(void)
{
    int x = 1;                  /* @first */
    x = add(x, 2);              /* @call */
    x = x * 5;                  /* @times */
    total = x;                  /* @store */
    __asm__ volatile("outb %0, $0xf4" :: "a"((char)total));
}
`;
    const path = cKernel(work, 'lines', source);
    const file = join(work.path, 'lines.c');
    const line = (marker: string): number => source.split('\n').findIndex((l) => l.includes(marker)) + 1;
    const d = new Driver({ program: path, history: OFTEN });
    d.rt.setSourceBreakpoints(file, [{ id: 1, line: line('@first') }]);
    d.rt.continue();
    await d.stopped();
    d.rt.setSourceBreakpoints(file, []);
    const at = (): { line: number | undefined; state: Record<string, string> } => {
      const regs = Object.fromEntries(d.rt.registerGroups()[0].registers.map((r) => [r.name, r.value]));
      return { line: d.rt.stackTrace()[0].source?.line, state: regs };
    };
    // Forward: over the call, then into it from its line on a second pass below.
    const forward = [at()];
    for (let k = 0; k < 3; k++) {
      d.rt.stepLine(true);
      await d.stopped();
      forward.push(at());
    }
    expect(forward.map((f) => f.line)).toEqual([line('@first'), line('@call'), line('@times'), line('@store')]);
    for (let k = 2; k >= 0; k--) {
      d.rt.stepBack(true);
      await d.stopped();
      expect(at()).toEqual(forward[k]);
    }
    // From the first line of a function stepped into, back to the line that called it.
    d.rt.stepLine(true);
    await d.stopped();
    expect(at()).toEqual(forward[1]);
    d.rt.stepLine(false);
    await d.stopped();
    expect(d.rt.stackTrace()[0].name).toMatch(/^add/);
    d.rt.stepBack(true);
    await d.stopped();
    expect(at()).toEqual(forward[1]);
  });
});

describe('running back', () => {
  it('stops at the previous breakpoint hit where its condition holds, then at the start', async () => {
    const d = driver();
    d.rt.setSourceBreakpoints(loop.path, [{ id: 1, line: loop.line('@store'), condition: '(ecx & 1) == 1' }]);
    const forward: Record<string, string>[] = [];
    for (const pass of [1, 3, 5]) {
      d.rt.continue();
      await d.stopped();
      expect(d.reg('ecx')).toBe(pass);
      forward.push(state(d));
    }
    for (const k of [1, 0]) {
      d.rt.reverseContinue();
      expect(await d.stopped()).toMatchObject({ reason: 'breakpoint', breakpointIds: [1], description: expect.stringContaining('(going backwards)') });
      expect(state(d)).toEqual(forward[k]);
    }
    d.rt.reverseContinue();
    expect(await d.stopped()).toMatchObject({ reason: 'entry', description: `Back at the start of the recorded run, start (loop.asm:${loop.line('@entry')})` });
    expect(d.pc).toBe(symbol(d, 'start'));
    // And forward again from there, through the same hits.
    d.rt.continue();
    await d.stopped();
    expect(state(d)).toEqual(forward[0]);
    d.rt.setSourceBreakpoints(loop.path, []);
    d.rt.continue();
    expect((await d.ended()).exitCode).toBe(LOOP_EXIT);
    expect(d.output).toBe(LOOP_OUTPUT);
  });

  it('stops after the previous write a data breakpoint watches', async () => {
    const d = driver();
    d.rt.setDataBreakpoints([{ id: 3, dataId: dataId({ address: symbol(d, 'counter'), length: 4 }) }]);
    for (let k = 0; k < 4; k++) {
      d.rt.continue();
      await d.stopped();
    }
    expect(d.rt.evaluate('dword [counter]').result).toBe('0x00000004 (4)');
    d.rt.reverseContinue();
    const stop = await d.stopped();
    expect(stop).toMatchObject({ reason: 'data breakpoint', breakpointIds: [3] });
    expect(stop.description).toContain(': 0x00000002 -> 0x00000003 (going backwards)');
    expect(d.pc).toBe(symbol(d, 'store') + STORE_LENGTH);
    expect(d.rt.evaluate('dword [counter]').result).toBe('0x00000003 (3)');
  });

  it('keeps working when old checkpoints are thinned out', async () => {
    const d = driver({ history: { interval: 3, maxCheckpoints: 4, overhead: 0 } });
    d.rt.setSourceBreakpoints(loop.path, [{ id: 1, line: loop.line('@store'), condition: 'ecx == 2' }, { id: 2, line: loop.line('@read') }]);
    d.rt.continue();
    await d.stopped();
    const pass2 = state(d);
    d.rt.continue();
    await d.stopped();
    const history = d.rt.history!;
    expect(history.checkpointCount).toBeLessThanOrEqual(4);
    expect(history.interval).toBeGreaterThan(3);
    d.rt.reverseContinue();
    await d.stopped();
    expect(state(d)).toEqual(pass2);
  });

  it('says so at the start of the recorded run, under a VMM as in native mode', () => {
    const d = driver({ mode: 'trap' });
    expect(() => d.rt.stepBack(false)).toThrow('stepBack: already at the start of the recorded run');
    expect(() => d.rt.reverseContinue()).toThrow('reverseContinue: already at the start of the recorded run');
  });
});

describe('changes from outside the guest', () => {
  /** Echoes each byte received on COM1 plus one until a newline, then exits with the count of bytes. */
  const echo = work.write('echo.asm', `bits 32
org 0x100000
header:
    dd 0x1BADB002, 1 << 16, -(0x1BADB002 + (1 << 16))
    dd header, header, image_end, image_end, start
start:
    xor ebx, ebx
poll:
    mov dx, 0x3fd
    in al, dx
    test al, 1
    jz poll
    mov dx, 0x3f8
    in al, dx
    inc ebx
    cmp al, 10
    je done
    inc al
    out dx, al
    jmp poll
done:
    mov eax, ebx
    out 0xf4, al
image_end:
`);

  it('replays typed serial input at the place it was typed', async () => {
    const d = new Driver({ program: echo, history: OFTEN, sliceInstructions: 4 });
    const poll = d.rt.info.symbols.lookup('poll')!.address;
    d.rt.setInstructionBreakpoints([{ id: 1, address: poll, hitCondition: '== 20' }]);
    d.rt.continue();
    await d.stopped();
    const typedAt = d.rt.cpu.icount;
    d.rt.serialInput(new TextEncoder().encode('hal\n'));
    d.rt.setInstructionBreakpoints([{ id: 2, address: d.rt.info.symbols.lookup('done')!.address }]);
    d.rt.continue();
    await d.stopped();
    const end = state0(d);
    expect(d.output).toBe('ibm');
    d.rt.reverseContinue();   // no breakpoint hit before: back to the start
    await d.stopped();
    expect(d.rt.cpu.icount).toBeLessThan(typedAt);
    d.rt.continue();
    await d.stopped();
    expect(state0(d)).toEqual(end);
    expect(d.output).toBe('ibm');
    d.rt.continue();
    expect((await d.ended()).exitCode).toBe((4 << 1) | 1);
  });

  /** Registers and instruction count. */
  function state0(d: Driver): Record<string, string> {
    return { ...Object.fromEntries(d.rt.registerGroups()[0].registers.map((r) => [r.name, r.value])), icount: String(d.rt.cpu.icount) };
  }

  it('makes a register change again on re-execution', async () => {
    const d = driver();
    d.rt.setSourceBreakpoints(loop.path, [{ id: 1, line: loop.line('@out'), condition: 'ecx == 3' }]);
    d.rt.continue();
    await d.stopped();
    d.rt.setRegister('eax', '0x41');
    d.rt.setSourceBreakpoints(loop.path, [{ id: 2, line: loop.line('@read') }]);
    d.rt.continue();
    await d.stopped();
    expect(d.output).toBe('12A456789\n');
    d.rt.reverseContinue();
    expect((await d.stopped()).reason).toBe('entry');
    d.rt.setSourceBreakpoints(loop.path, [{ id: 3, line: loop.line('@jne'), condition: 'ecx == 3' }]);
    d.rt.continue();
    await d.stopped();
    expect(d.reg('eax')).toBe(0x41);
    d.rt.setSourceBreakpoints(loop.path, []);
    d.rt.continue();
    expect((await d.ended()).exitCode).toBe(LOOP_EXIT);
    expect(d.output).toBe('12A456789\n');
  });

  it('gives a different future to a change made after going back, and shows its output', async () => {
    const d = driver();
    d.rt.setSourceBreakpoints(loop.path, [{ id: 1, line: loop.line('@out'), condition: 'ecx == 3 || ecx == 5' }]);
    d.rt.continue();
    await d.stopped();
    d.rt.continue();
    await d.stopped();
    expect(d.output).toBe('1234');
    d.rt.reverseContinue();
    await d.stopped();
    expect(d.reg('ecx')).toBe(3);
    d.rt.setRegister('eax', '0x41');
    d.rt.setSourceBreakpoints(loop.path, []);
    d.rt.continue();
    expect((await d.ended()).exitCode).toBe(LOOP_EXIT);
    expect(d.output).toBe('1234A456789\n');
  });
});
