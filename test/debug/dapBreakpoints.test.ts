/**
 * Conditional breakpoints, logpoints, data breakpoints, setVariable and reverse execution over
 * the adapter's real protocol: `vtscope dap` (dist/cli.js, built by `npm run build`) driven by
 * @vscode/debugadapter-testsupport on stdin/stdout, with the loop kernel (loopKernel.ts).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Workdir } from '../loader/toolchain';
import { LOOP_EXIT, LOOP_OUTPUT, loopKernel } from './loopKernel';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const work = new Workdir();
afterAll(() => work.remove());
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build (npm test does)`);
});
const loop = loopKernel(work);

let dc: DebugClient;
/** Output events by category, as they arrived. */
let output: Record<string, string>;
afterEach(async () => { await dc?.stop(); });

/** An adapter stopped at the entry of the loop kernel. */
async function launchLoop(extra: Record<string, unknown> = {}): Promise<void> {
  dc = new DebugClient(CLI, 'dap', 'vtscope');
  await dc.start();
  output = {};
  dc.on('output', (e: DebugProtocol.OutputEvent) => {
    const category = e.body.category ?? 'console';
    output[category] = (output[category] ?? '') + e.body.output;
  });
  await Promise.all([dc.configurationSequence(), dc.launch({ program: loop.path, stopOnEntry: true, ...extra } as DebugProtocol.LaunchRequestArguments),
    dc.waitForEvent('stopped')]);
}

async function resume(request: Promise<unknown>): Promise<DebugProtocol.StoppedEvent> {
  const [, stopped] = await Promise.all([request, dc.waitForEvent('stopped')]);
  return stopped as DebugProtocol.StoppedEvent;
}

async function value(expression: string): Promise<string> {
  return (await dc.evaluateRequest({ expression, context: 'watch' })).body.result;
}

async function registers(): Promise<Map<string, DebugProtocol.Variable & { ref: number }>> {
  const frame = (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames[0];
  const scopes = (await dc.scopesRequest({ frameId: frame.id })).body.scopes;
  const all = new Map<string, DebugProtocol.Variable & { ref: number }>();
  for (const scope of scopes.slice(0, 2)) {
    const vars = (await dc.variablesRequest({ variablesReference: scope.variablesReference })).body.variables;
    for (const v of vars) all.set(v.name, { ...v, ref: scope.variablesReference });
  }
  return all;
}

async function runToEnd(): Promise<number> {
  const [, exited] = await Promise.all([dc.continueRequest({ threadId: 1 }), dc.waitForEvent('exited'), dc.waitForEvent('terminated')]);
  return (exited as DebugProtocol.ExitedEvent).body.exitCode;
}

describe('vtscope dap: breakpoints with conditions, logpoints and data breakpoints', () => {
  it('declares them', async () => {
    dc = new DebugClient(CLI, 'dap', 'vtscope');
    await dc.start();
    const r = await dc.initializeRequest();
    expect(r.body).toMatchObject({
      supportsConditionalBreakpoints: true, supportsHitConditionalBreakpoints: true, supportsLogPoints: true,
      supportsDataBreakpoints: true, supportsDataBreakpointBytes: true, supportsSetVariable: true,
      supportsSetExpression: true, supportsStepBack: true,
    });
  });

  it('stops where the condition holds, prints logpoints to the console, and reports bad conditions', async () => {
    await launchLoop();
    const set = await dc.setBreakpointsRequest({
      source: { path: loop.path },
      breakpoints: [
        { line: loop.line('@store'), condition: 'ecx == 7' },
        { line: loop.line('@print'), logMessage: 'pass {ecx}, counter {dword [counter],x}' },
        { line: loop.line('@jne'), condition: 'ecx = 3' },
      ],
    });
    expect(set.body.breakpoints.map((b) => [b.verified, b.message])).toEqual([
      [true, undefined], [true, undefined], [false, "condition: '=' in 'ecx = 3' is not an operator: compare with =="],
    ]);
    const stopped = await resume(dc.continueRequest({ threadId: 1 }));
    expect(stopped.body).toMatchObject({ reason: 'breakpoint', hitBreakpointIds: [set.body.breakpoints[0].id] });
    expect(await value('ecx')).toBe('0x00000007 (7)');
    expect(output.console).toBe([1, 2, 3, 4, 5, 6].map((k) => `pass ${k}, counter 0x0000000${k}\n`).join(''));
    expect(await runToEnd()).toBe(LOOP_EXIT);
    expect(output.console).toContain('pass 9, counter 0x00000009\n');
    expect(output.stdout).toBe(LOOP_OUTPUT);
  });

  it('stops on the 5th hit with a hit condition', async () => {
    await launchLoop();
    await dc.setBreakpointsRequest({ source: { path: loop.path }, breakpoints: [{ line: loop.line('@inc'), hitCondition: '== 5' }] });
    await resume(dc.continueRequest({ threadId: 1 }));
    expect(await value('ecx')).toBe('0x00000004 (4)');
    expect(await runToEnd()).toBe(LOOP_EXIT);
  });

  it('sets a data breakpoint from an expression and stops after each write with old and new values', async () => {
    await launchLoop();
    const info = await dc.dataBreakpointInfoRequest({ name: 'dword [counter]' });
    expect(info.body).toMatchObject({ dataId: '0x00101000/4', description: 'dword at counter (0x00101000)', accessTypes: ['read', 'write', 'readWrite'] });
    // A register is not memory; what it points to is.
    const regs = await registers();
    const eax = await dc.dataBreakpointInfoRequest({ variablesReference: regs.get('eax')!.ref, name: 'eax' });
    expect(eax.body.dataId).toBeNull();
    expect(eax.body.description).toBe('eax is not an address: watch memory with an expression such as dword [symbol]');
    const esp = await dc.dataBreakpointInfoRequest({ variablesReference: regs.get('esp')!.ref, name: 'esp' });
    expect(esp.body.dataId).toBe(`${regs.get('esp')!.value}/4`);
    const byAddress = await dc.dataBreakpointInfoRequest({ name: '0x101001', asAddress: true, bytes: 2 });
    expect(byAddress.body).toMatchObject({ dataId: '0x00101001/2', description: 'word at counter+0x1 (0x00101001)' });

    const set = await dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: info.body.dataId!, accessType: 'write' }] });
    expect(set.body.breakpoints).toMatchObject([{ verified: true }]);
    for (const k of [1, 2]) {
      const stopped = await resume(dc.continueRequest({ threadId: 1 }));
      expect(stopped.body).toMatchObject({ reason: 'data breakpoint', hitBreakpointIds: [set.body.breakpoints[0].id] });
      expect(stopped.body.description).toContain(`write to dword at counter (0x00101000) by the instruction at store (loop.asm:${loop.line('@store')}): 0x0000000${k - 1} -> 0x0000000${k}`);
    }
    await dc.setDataBreakpointsRequest({ breakpoints: [] });
    expect(await runToEnd()).toBe(LOOP_EXIT);
  });
});

describe('vtscope dap: changing state and going back', () => {
  it('sets EAX in the Variables view and the guest prints it; segment registers are read-only', async () => {
    await launchLoop();
    await dc.setBreakpointsRequest({ source: { path: loop.path }, breakpoints: [{ line: loop.line('@out'), condition: 'ecx == 3' }] });
    await resume(dc.continueRequest({ threadId: 1 }));
    const regs = await registers();
    const set = await dc.setVariableRequest({ variablesReference: regs.get('eax')!.ref, name: 'eax', value: '0x41' });
    expect(set.body.value).toBe('0x00000041');
    expect(regs.get('cs')!.presentationHint).toEqual({ attributes: ['readOnly'] });
    expect(regs.get('eax')!.presentationHint).toBeUndefined();
    await expect(dc.setVariableRequest({ variablesReference: regs.get('cs')!.ref, name: 'cs', value: '0' }))
      .rejects.toThrow('setVariable: cs cannot be changed from the debugger: only the general registers, eip and eflags can');
    await expect(dc.setVariableRequest({ variablesReference: regs.get('eax')!.ref, name: 'eax', value: '0x1 +' }))
      .rejects.toThrow("'0x1 +' ends too early");
    const expr = await dc.send('setExpression', { expression: 'dword [counter]', value: '3' });
    expect(expr.body.value).toBe('0x00000003 (3)');
    await dc.setBreakpointsRequest({ source: { path: loop.path }, breakpoints: [] });
    expect(await runToEnd()).toBe(LOOP_EXIT);
    expect(output.stdout).toBe('12A456789\n');
  });

  it('steps back an instruction and a line, runs back to a breakpoint, and shows output once', async () => {
    await launchLoop();
    const bp = await dc.setBreakpointsRequest({ source: { path: loop.path }, breakpoints: [{ line: loop.line('@store') }] });
    await resume(dc.continueRequest({ threadId: 1 }));
    await resume(dc.continueRequest({ threadId: 1 }));
    expect(await value('ecx')).toBe('0x00000002 (2)');
    const back = await resume(dc.stepBackRequest({ threadId: 1, granularity: 'instruction' }));
    expect(back.body.reason).toBe('step');
    expect(await value('ecx')).toBe('0x00000001 (1)');    // before the INC of pass 2
    expect((await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames[0].line).toBe(loop.line('@inc'));
    await resume(dc.stepBackRequest({ threadId: 1 }));      // by line: the JNE of pass 1
    expect((await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames[0].line).toBe(loop.line('@jne'));
    const hit = await resume(dc.send('reverseContinue', { threadId: 1 }));
    expect(hit.body).toMatchObject({ reason: 'breakpoint', hitBreakpointIds: [bp.body.breakpoints[0].id] });
    expect(await value('ecx')).toBe('0x00000001 (1)');
    expect(await value('dword [counter]')).toBe('0x00000000 (0)');
    await dc.setBreakpointsRequest({ source: { path: loop.path }, breakpoints: [] });
    expect(await runToEnd()).toBe(LOOP_EXIT);
    expect(output.stdout).toBe(LOOP_OUTPUT);
  });

  it('answers stepBack at the launch with an error, under a VMM too', async () => {
    await launchLoop({ mode: 'trap' });
    await expect(dc.stepBackRequest({ threadId: 1 })).rejects.toThrow('stepBack: already at the start of the recorded run');
  });
});
