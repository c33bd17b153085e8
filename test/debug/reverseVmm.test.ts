/**
 * Reverse execution under the VMM modes (trap, bt, pv, hw with EPT and with shadow paging),
 * where the launch is the only checkpoint and going back runs the guest again from there.
 *
 * Independent truth: what the forward run showed at each place it stopped (every register
 * group, the VMCS under hw, the VMM's scope, the devices, all of RAM, the exit log's records
 * and counters, the holes, the cycles), recorded while going forward; and a second session
 * that runs the same image forward to the same place without ever going back, which must
 * show the same. Guests: the samples (hello, holes, pv-hello, syscall, smp with two vCPUs) and the
 * loop kernel of the breakpoint tests.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildSamples } from '../../scripts/samples.mjs';
import { dataId } from '../../src/debug/dataBreakpoints';
import { EXITS_EVENT, HOLES_EVENT, parseExitLogResponse, parseExitsEvent, parseHolesEvent } from '../../src/debug/protocol';
import type { RuntimeOptions } from '../../src/debug/runtime';
import { VmmReports } from '../../src/debug/vmmReports';
import { ExitStore } from '../../src/extension/exitStore';
import { Workdir } from '../loader/toolchain';
import { Driver } from './harness';
import { inProcessClient } from './inProcessAdapter';
import { LOOP_EXIT, LOOP_OUTPUT, loopKernel } from './loopKernel';

const sample = (name: string): string => fileURLToPath(new URL(`../../samples/${name}`, import.meta.url));
const work = new Workdir();
const dir = mkdtempSync(join(tmpdir(), 'vtscope-reverse-vmm-'));
afterAll(() => {
  work.remove();
  rmSync(dir, { recursive: true, force: true });
});
const loop = loopKernel(work);
let smp = '';
beforeAll(() => {
  smp = buildSamples({ outDir: dir, names: ['smp'] })[0].image;
});

/** Small guest RAM, so that comparing all of it at every stop stays cheap. */
const MEMORY_MIB = 16;

interface Mode { name: string; options: Partial<RuntimeOptions>; program: string }
const MODES: Mode[] = [
  { name: 'trap (samples/holes)', options: { mode: 'trap' }, program: sample('holes.asm') },
  { name: 'bt (samples/hello)', options: { mode: 'bt' }, program: sample('hello.asm') },
  { name: 'pv (samples/pv-hello)', options: { mode: 'pv' }, program: sample('pv-hello.asm') },
  { name: 'hw with EPT (samples/hello)', options: { mode: 'hw', memVirt: 'ept' }, program: sample('hello.asm') },
  { name: 'hw with shadow paging (samples/hello)', options: { mode: 'hw', memVirt: 'shadow' }, program: sample('hello.asm') },
];

function driver(program: string, options: Partial<RuntimeOptions>): Driver {
  return new Driver({ program, memoryMiB: MEMORY_MIB, ...options });
}

/**
 * Everything the debugger shows of the guest: each thread's register groups (registers,
 * segments, control and descriptor-table registers, the VMCS or the VMM's view, the devices),
 * RAM (the VMM's own above the guest's included), and the VMM's records as the custom requests
 * give them (exit log records, counters, holes, cycles).
 */
function view(d: Driver) {
  const rt = d.rt, selected = rt.lastStop?.thread ?? 0;
  const threads = rt.cpus.map((_, k) => {
    rt.select(k);
    return Object.fromEntries(rt.registerGroups().map((g) => [g.name, g.registers.map((r) => [r.name, r.value, r.children?.map((c) => c.value)])]));
  });
  rt.select(selected);
  const reports = new VmmReports(rt.vmm, rt.info.sourceMap);
  return {
    threads,
    ram: createHash('sha1').update(rt.machine.ram).digest('hex'),
    log: reports.exitLog({ start: 0, count: 4096 }),
    stats: reports.stats(),
  };
}

/** Stops on the function breakpoint `name` `hits` times from where the guest is; the view at each. */
async function hits(d: Driver, name: string, count: number): Promise<ReturnType<typeof view>[]> {
  d.rt.setFunctionBreakpoints([{ id: 1, name }]);
  const seen: ReturnType<typeof view>[] = [];
  for (let k = 0; k < count; k++) {
    d.rt.continue();
    expect(await d.stopped()).toMatchObject({ reason: 'function breakpoint', breakpointIds: [1] });
    seen.push(view(d));
  }
  return seen;
}

describe.each(MODES)('under $name', ({ options, program }) => {
  it('steps back to what each forward step showed, and runs back to the breakpoint hits a forward run shows', async () => {
    const d = driver(program, options);
    const entry = view(d);
    const [, second, third] = await hits(d, 'puts', 3);
    expect(third.log.total).toBeGreaterThan(second.log.total);
    d.rt.setFunctionBreakpoints([]);

    // Forward instruction by instruction through puts and the VMM events on the way, then back.
    const steps = [third];
    for (let k = 0; k < 30; k++) {
      d.rt.stepInstruction(false);
      expect((await d.stopped()).reason).toBe('step');
      steps.push(view(d));
    }
    expect(steps[30].log.total).toBeGreaterThan(third.log.total);
    for (let k = 29; k >= 0; k--) {
      d.rt.stepBack(false);
      expect((await d.stopped()).reason).toBe('step');
      expect(view(d)).toEqual(steps[k]);
    }

    // Back to the hit before, as a session that never went back shows it.
    d.rt.setFunctionBreakpoints([{ id: 1, name: 'puts' }]);
    d.rt.reverseContinue();
    expect(await d.stopped()).toMatchObject({ reason: 'function breakpoint', breakpointIds: [1], description: expect.stringContaining('(going backwards)') });
    const back = view(d);
    expect(back).toEqual(second);
    const fresh = driver(program, options);
    expect((await hits(fresh, 'puts', 2))[1]).toEqual(back);

    // Forward again: the same third hit; then back past the first to the launch.
    d.rt.continue();
    await d.stopped();
    expect(view(d)).toEqual(third);
    for (let k = 0; k < 3; k++) {
      d.rt.reverseContinue();
      await d.stopped();
    }
    expect(d.rt.lastStop?.reason).toBe('entry');
    expect(view(d)).toEqual(entry);

    // And on to the end: the guest's output is shown once, as the session that never went back shows it.
    d.rt.setFunctionBreakpoints([]);
    d.rt.continue();
    fresh.rt.setFunctionBreakpoints([]);
    fresh.rt.continue();
    const [end, freshEnd] = [await d.ended(), await fresh.ended()];
    expect(end.exitCode).toBe(freshEnd.exitCode);
    expect(d.output).toBe(fresh.output);
    expect(d.output).not.toBe('');
  });
});

describe('the records going back', () => {
  it('are the holes as of the place gone back to under trap', async () => {
    const d = driver(sample('holes.asm'), { mode: 'trap' });
    const seen = await hits(d, 'puts', 3);
    // The second call of puts follows the POPF hole, the third the SGDT one (samples/holes.asm).
    expect(seen.map((v) => v.stats.holes.map((h) => h.instruction.split(' ')[0]))).toEqual([[], ['popf'], ['popf', 'sgdt']]);
    d.rt.reverseContinue();
    await d.stopped();
    expect(view(d).stats.holes).toEqual(seen[1].stats.holes);
  });

  it('follow the cuts of the run the user saw under bt, whose translations depend on them', async () => {
    // A step ends a machine slice inside a block: the rest of the block is translated again.
    const stepped = driver(sample('hello.asm'), { mode: 'bt' });
    let before = view(stepped);
    for (let k = 0; k < 40; k++) {
      before = view(stepped);
      stepped.rt.stepInstruction(false);
      await stepped.stopped();
    }
    const ran = driver(sample('hello.asm'), { mode: 'bt' });
    ran.rt.setInstructionBreakpoints([{ id: 1, address: stepped.pc }]);
    ran.rt.continue();
    await ran.stopped();
    expect(ran.rt.machine.instructions()).toBe(stepped.rt.machine.instructions());
    const translations = (d: Driver): number => d.rt.vmm.log.counters().find((r) => r.name === 'bt translate')!.count;
    expect(translations(stepped)).toBeGreaterThan(translations(ran));
    // Going back one instruction from each shows each run's own translations there.
    for (const d of [stepped, ran]) {
      d.rt.stepBack(false);
      await d.stopped();
    }
    expect(view(stepped)).toEqual(before);
    const guest = (v: ReturnType<typeof view>) => ({ registers: v.threads[0].Registers, segments: v.threads[0].Segments, ram: v.ram });
    expect(guest(view(ran))).toEqual(guest(before));
    expect(translations(stepped)).toBeGreaterThan(translations(ran));
  });
});

describe('the VMM after going back to the launch', () => {
  it('has forgotten what its monitors learned of the guest: bt translates the writers of the GDT again', async () => {
    // samples/syscall writes its GDT while it runs: under bt each writing instruction takes a
    // protected-page write once, then is translated again as a callout.
    const d = driver(sample('syscall.asm'), { mode: 'bt' });
    const entry = view(d);
    const [end] = await hits(d, 'exit', 1);
    const gdtWrites = end.stats.totals.find((t) => t.reason === 'GDT write');
    expect(gdtWrites?.count).toBeGreaterThan(0);
    d.rt.reverseContinue();
    expect(await d.stopped()).toMatchObject({ reason: 'entry' });
    expect(view(d)).toEqual(entry);
    d.rt.continue();
    await d.stopped();
    expect(view(d)).toEqual(end);
  });
});

describe('breakpoints going back under a VMM', () => {
  it('run back to the previous write a data breakpoint watches, where its condition holds (bt, hw)', async () => {
    for (const options of [{ mode: 'bt' }, { mode: 'hw' }] as const) {
      const d = driver(loop.path, options);
      const counter = d.rt.info.symbols.lookup('counter')!.address;
      d.rt.setDataBreakpoints([{ id: 3, dataId: dataId({ address: counter, length: 4 }), condition: 'ecx != 3' }]);
      const writes: ReturnType<typeof view>[] = [];
      for (const value of [1, 2, 4, 5]) {
        d.rt.continue();
        expect(await d.stopped()).toMatchObject({ reason: 'data breakpoint', breakpointIds: [3] });
        expect(d.rt.evaluate('dword [counter]').result).toMatch(new RegExp(`^0x0000000${value} `));
        writes.push(view(d));
      }
      for (const k of [2, 1, 0]) {
        d.rt.reverseContinue();
        expect(await d.stopped()).toMatchObject({ reason: 'data breakpoint', breakpointIds: [3] });
        expect(view(d)).toEqual(writes[k]);
      }
      d.rt.setDataBreakpoints([]);
      d.rt.continue();
      expect((await d.ended()).exitCode).toBe(LOOP_EXIT);
      expect(d.output).toBe(LOOP_OUTPUT);
    }
  });

  it('steps back each vCPU of samples/smp under bt and hw, and runs back to the hit on the other', async () => {
    for (const options of [{ mode: 'bt' }, { mode: 'hw', memVirt: 'ept' }] as const) {
      const d = driver(smp, { ...options, cpus: 2 });
      d.rt.setFunctionBreakpoints([{ id: 1, name: 'cpu_main' }]);
      // The application processor gets there first: the bootstrap processor prints a line after starting it.
      const threads = [1, 0], seen: ReturnType<typeof view>[] = [];
      for (const thread of threads) {
        d.rt.continue();
        expect(await d.stopped()).toMatchObject({ reason: 'function breakpoint', thread });
        seen.push(view(d));
      }
      d.rt.setFunctionBreakpoints([]);
      const steps = [seen[1]];
      for (let k = 0; k < 6; k++) {
        d.rt.stepInstruction(false);
        expect(await d.stopped()).toMatchObject({ reason: 'step', thread: threads[1] });
        steps.push(view(d));
      }
      for (let k = 5; k >= 0; k--) {
        d.rt.stepBack(false);
        expect(await d.stopped()).toMatchObject({ reason: 'step', thread: threads[1] });
        expect(view(d)).toEqual(steps[k]);
      }
      d.rt.setFunctionBreakpoints([{ id: 1, name: 'cpu_main' }]);
      d.rt.reverseContinue();
      expect(await d.stopped()).toMatchObject({ reason: 'function breakpoint', thread: threads[0] });
      expect(view(d)).toEqual(seen[0]);
    }
  });
});

describe('VMM-event breakpoints going back', () => {
  it('end the machine slices of the run gone back through as they did (bt callouts, hw I/O exits)', async () => {
    for (const [options, filter] of [[{ mode: 'bt' }, 'vmm-privileged'], [{ mode: 'hw' }, 'vmexit-30']] as const) {
      const d = driver(sample('hello.asm'), options);
      d.rt.setExceptionFilters([filter]);
      for (let k = 0; k < 3; k++) {
        d.rt.continue();
        expect(await d.stopped()).toMatchObject({ reason: 'exception', exception: { id: filter } });
      }
      d.rt.setExceptionFilters([]);
      const steps = [view(d)];
      for (let k = 0; k < 5; k++) {
        d.rt.stepInstruction(false);
        await d.stopped();
        steps.push(view(d));
      }
      for (let k = 4; k >= 0; k--) {
        d.rt.stepBack(false);
        await d.stopped();
        expect(view(d)).toEqual(steps[k]);
      }
      const fresh = driver(sample('hello.asm'), options);
      fresh.rt.setExceptionFilters([filter]);
      for (let k = 0; k < 3; k++) {
        fresh.rt.continue();
        await fresh.stopped();
      }
      expect(view(fresh)).toEqual(steps[0]);
    }
  });
});

describe('the VM Exits view going back', () => {
  let client: Awaited<ReturnType<typeof inProcessClient>> | undefined;
  afterEach(async () => { await client?.close(); client = undefined; });

  it('shows the exit log as of the place gone back to: the adapter says the log went back', async () => {
    client = await inProcessClient();
    const dc: DebugClient = client.dc;
    const store = new ExitStore(4096);
    const rewound: boolean[] = [];
    dc.on(EXITS_EVENT, (e: DebugProtocol.Event) => {
      const body = parseExitsEvent(e.body);
      rewound.push(body.rewound === true);
      store.addExits(body);
    });
    const holes: string[][] = [], holesRewound: boolean[] = [];
    dc.on(HOLES_EVENT, (e: DebugProtocol.Event) => {
      const body = parseHolesEvent(e.body);
      holes.push(body.holes.map((h) => h.instruction.split(' ')[0]));
      holesRewound.push(body.rewound === true);
    });
    await dc.initializeRequest();
    await dc.launch({ program: sample('holes.asm'), mode: 'trap', memoryMiB: MEMORY_MIB } as DebugProtocol.LaunchRequestArguments);
    await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'puts' }] });
    await Promise.all([dc.configurationDoneRequest(), dc.waitForEvent('stopped')]);
    const exitLog = async () => parseExitLogResponse((await dc.customRequest('vtscope.exitLog', { start: 0, count: 4096 })).body);
    // The events of a stop go out just before the stopped event.
    const resume = async (request: Promise<unknown>): Promise<void> => { await Promise.all([request, dc.waitForEvent('stopped')]); };
    await resume(dc.continueRequest({ threadId: 1 }));
    const atSecond = await exitLog();
    expect(holes).toEqual([['popf']]);
    await resume(dc.continueRequest({ threadId: 1 }));
    await resume(dc.continueRequest({ threadId: 1 }));
    const atFourth = await exitLog();
    expect(store.total).toBe(atFourth.total);
    expect(rewound).not.toContain(true);
    await resume(dc.send('reverseContinue', { threadId: 1 }));
    await resume(dc.send('reverseContinue', { threadId: 1 }));
    expect(await exitLog()).toEqual(atSecond);
    expect(rewound).toContain(true);
    expect(store.total).toBe(atSecond.total);
    expect(store.total).toBeLessThan(atFourth.total);
    expect(store.newestFirst()).toEqual([...atSecond.records].reverse());
    expect(store.complete).toBe(true);
    // The holes as of the second hit (the POPF one), after the SGDT one the fourth had too.
    expect(holes[holes.length - 2]).toEqual(['popf', 'sgdt']);
    expect(holes[holes.length - 1]).toEqual(['popf']);
    expect(holesRewound[holesRewound.length - 1]).toBe(true);
    expect(holesRewound.slice(0, 2)).toEqual([false, false]);
  });
});
