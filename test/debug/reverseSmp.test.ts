/**
 * Reverse execution with several processors. A place of the recorded run is a point of the
 * machine's round-robin schedule (all processors' instructions together), so stepping one
 * processor back brings the others back to where they were at that moment, and running back
 * stops at the latest breakpoint hit on any processor, on that processor's thread.
 *
 * Kernels: samples/smp (the bootstrap processor starts the others with INIT-SIPI-SIPI, then
 * every processor counts the primes of its own slice) and a small .asm kernel whose two
 * processors sum squares through a call, for line steps.
 *
 * Independent truth: the states the forward run stopped at (instruction and line steps,
 * breakpoint hits) are the ones going back finds again; a Machine of its own that runs the same
 * image from the launch, without debugger, breakpoints or snapshots, to the same instruction
 * count of all processors has the same registers on every processor; a STARTUP IPI with vector
 * 0x08 leaves a processor at 0800:0000 in real mode (SDM Vol. 3A, 8.4.4.1); and the kernel's
 * output, prime counts and sums from the sieve of Eratosthenes, is printed once.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildSamples } from '../../scripts/samples.mjs';
import type { Cpu } from '../../src/cpu/cpu';
import { getEflags } from '../../src/cpu/flags';
import { dataId } from '../../src/debug/dataBreakpoints';
import type { HistoryOptions } from '../../src/debug/executionHistory';
import { Machine, QUANTUM } from '../../src/machine/machine';
import { restoreSnapshot, takeSnapshot } from '../../src/machine/snapshot';
import { Driver } from './harness';
import { inProcessClient } from './inProcessAdapter';
import { AP_TRAMPOLINE } from '../machine/probeKernel';

const dir = mkdtempSync(join(tmpdir(), 'vtscope-reverse-smp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let smp = '';
let smpImage: Uint8Array;
beforeAll(() => {
  smp = buildSamples({ outDir: dir, names: ['smp'] })[0].image;
  smpImage = new Uint8Array(readFileSync(smp));
});

/** Checkpoints every 100 000 instructions whatever they cost, so that going back crosses several. */
const OFTEN: HistoryOptions = { interval: 100_000, overhead: 0 };

/** What an instruction can change of a processor's registers, and how many instructions it retired. */
function cpuState(cpu: Cpu) {
  return { icount: cpu.icount, eip: cpu.eip >>> 0, eflags: getEflags(cpu) >>> 0, regs: [...cpu.regs].map((r) => r >>> 0), segs: [...cpu.segSel] };
}
const machineState = (m: Machine) => m.cpus.map(cpuState);

function runTo(m: Machine, icount: number): void {
  while (m.instructions() < icount) {
    const r = m.runSlice(icount - m.instructions());
    if (r !== undefined) throw new Error(`the guest ended before instruction ${icount}: ${r.message}`);
  }
}

/** The image run from its launch by a Machine of its own: no debugger, no breakpoints, no snapshots. */
class Undisturbed {
  private m: Machine;

  constructor(private readonly image: Uint8Array, private readonly cpus: number, private readonly fileName: string) {
    this.m = this.launch();
  }

  private launch(): Machine {
    const m = new Machine({ cpus: this.cpus });
    m.load(this.image, { fileName: this.fileName });
    return m;
  }

  /** Every processor's state once all of them together have retired `icount` instructions. */
  at(icount: number): ReturnType<typeof machineState> {
    if (this.m.instructions() > icount) this.m = this.launch();
    runTo(this.m, icount);
    return machineState(this.m);
  }
}

/** What samples/smp prints with `cpus` processors: each APIC ID's slice of [0, 50400), by the sieve. */
function smpOutput(cpus: number): string {
  const limit = 50400, width = limit / cpus;
  const composite = new Uint8Array(limit);
  const primes: number[] = [];
  for (let n = 2; n < limit; n++) {
    if (composite[n]) continue;
    primes.push(n);
    for (let m = n * n; m < limit; m += n) composite[m] = 1;
  }
  const sum = (ps: number[]): number => ps.reduce((a, b) => a + b, 0);
  const slices = Array.from({ length: cpus }, (_, id) => {
    const inSlice = primes.filter((p) => p >= id * width && p < (id + 1) * width);
    return `  APIC ID ${id}: [${id * width}, ${(id + 1) * width}) has ${inSlice.length} primes, sum ${sum(inSlice)}`;
  });
  return ['smp: Multiboot magic 0x2badb002', `fw_cfg: ${cpus} processor(s)`, 'bootstrap processor: APIC ID 0',
    ...Array.from({ length: cpus - 1 }, (_, k) => `APIC ID ${k + 1} started`),
    `counting the primes below ${limit} in ${cpus} slice(s) of ${width}`, ...slices,
    `total: ${primes.length} primes, sum ${sum(primes)}`, ''].join('\n');
}

describe('snapshots of several processors', () => {
  it('hold every processor and the schedule, so a restored machine runs on as the first did', () => {
    const m = new Machine({ cpus: 4 });
    m.load(smpImage, { fileName: smp });
    // Processors 1 and 2 count their primes, processor 3 is being started; each some way into a turn.
    runTo(m, 2_000_321);
    const snapshot = takeSnapshot(m);
    expect(snapshot.icount).toBe(2_000_321);
    runTo(m, 2_004_567);   // four turns and more later
    const later = machineState(m);
    restoreSnapshot(m, snapshot);
    expect(m.instructions()).toBe(2_000_321);
    runTo(m, 2_004_567);
    expect(machineState(m)).toEqual(later);
    expect(later).toEqual(new Undisturbed(smpImage, 4, smp).at(2_004_567));
  });
});

describe('stepping back one processor of several', () => {
  it('goes back across the other processors\' turns, each to its state of an undisturbed run', async () => {
    const d = new Driver({ program: smp, cpus: 4, history: OFTEN });
    const m = d.rt.machine;
    d.rt.setFunctionBreakpoints([{ id: 1, name: 'cpu_main', condition: 'dword [esp+4] == 2' }]);
    d.rt.continue();
    expect(await d.stopped()).toMatchObject({ reason: 'function breakpoint', thread: 2 });
    d.rt.setFunctionBreakpoints([]);
    // Forward one instruction of processor 2 at a time, until a step lets the others run their
    // turns before it (its turn ended), and three more.
    const seen = [machineState(m)];
    let crossed = -1;
    while (crossed < 0 || seen.length - 1 < crossed + 3) {
      d.rt.stepInstruction(false);
      expect(await d.stopped()).toMatchObject({ reason: 'step', thread: 2 });
      const now = machineState(m), before = seen[seen.length - 1];
      if (crossed < 0 && [0, 1, 3].some((k) => now[k].icount !== before[k].icount)) crossed = seen.length;
      seen.push(now);
      expect(seen.length).toBeLessThan(QUANTUM + 8);
    }
    // The step that crossed let processors 0 and 1 run one whole turn each; processor 3 has not
    // been started yet (the bootstrap processor starts it once processor 2 has answered).
    expect([0, 1, 3].map((k) => seen[crossed][k].icount - seen[crossed - 1][k].icount)).toEqual([QUANTUM, QUANTUM, 0]);
    const undisturbed = new Undisturbed(smpImage, 4, smp);
    const total = (): number => m.instructions();
    for (let j = seen.length - 2; j >= crossed - 3; j--) {
      d.rt.stepBack(false);
      expect(await d.stopped()).toMatchObject({ reason: 'step', thread: 2 });
      expect(machineState(m)).toEqual(seen[j]);
      expect(machineState(m)).toEqual(undisturbed.at(total()));
    }
    // And on from there: the rest of the run as without going back, its output shown once.
    d.rt.continue();
    expect((await d.ended()).exitCode).toBe(1);
    expect(d.output).toBe(smpOutput(4));
  });
});

describe('reverse execution over the protocol', () => {
  let client: Awaited<ReturnType<typeof inProcessClient>> | undefined;
  afterEach(async () => { await client?.close(); client = undefined; });

  async function launch(program: string, cpus: number, configure: (dc: DebugClient) => Promise<unknown>): Promise<DebugClient> {
    client = await inProcessClient();
    const dc = client.dc;
    await dc.initializeRequest();
    await dc.launch({ program, cpus } as DebugProtocol.LaunchRequestArguments);
    await configure(dc);
    await dc.configurationDoneRequest();
    return dc;
  }

  async function resume(dc: DebugClient, request: Promise<unknown>): Promise<DebugProtocol.StoppedEvent> {
    const [, stop] = await Promise.all([request, dc.waitForEvent('stopped')]);
    return stop as DebugProtocol.StoppedEvent;
  }

  /** The general and segment registers of every thread, as the Variables view shows them. */
  async function registers(dc: DebugClient, threads: number): Promise<Record<string, string>[]> {
    const all: Record<string, string>[] = [];
    for (let threadId = 1; threadId <= threads; threadId++) {
      const frame = (await dc.stackTraceRequest({ threadId })).body.stackFrames[0];
      const scopes = (await dc.scopesRequest({ frameId: frame.id })).body.scopes;
      const values: Record<string, string> = {};
      for (const scope of scopes.slice(0, 2)) {
        for (const v of (await dc.variablesRequest({ variablesReference: scope.variablesReference })).body.variables) values[v.name] = v.value;
      }
      all.push(values);
    }
    return all;
  }

  async function evaluate(dc: DebugClient, threadId: number, expression: string): Promise<string> {
    const frame = (await dc.stackTraceRequest({ threadId })).body.stackFrames[0];
    return (await dc.evaluateRequest({ expression, frameId: frame.id, context: 'watch' })).body.result;
  }

  it('steps the bootstrap processor back to before the turn in which the other started', async () => {
    const dc = await launch(smp, 2, (c) => c.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'ap_main' }] }));
    expect((await dc.waitForEvent('stopped')).body).toMatchObject({ reason: 'function breakpoint', threadId: 2 });
    await dc.setFunctionBreakpointsRequest({ breakpoints: [] });
    const atHit = await registers(dc, 2);
    // An instruction of thread 1: thread 2 first runs the rest of its turn.
    expect((await resume(dc, dc.stepInRequest({ threadId: 1, granularity: 'instruction' }))).body).toMatchObject({ reason: 'step', threadId: 1 });
    const stepped = await registers(dc, 2);
    expect(stepped[0].eip).not.toBe(atHit[0].eip);
    expect(stepped[1].eip).not.toBe(atHit[1].eip);
    // Back to where thread 1 arrived at that instruction, at the end of its turn before: thread 2
    // then had not run at all since its STARTUP IPI (vector 0x08: CS 0x0800, IP 0).
    expect((await resume(dc, dc.stepBackRequest({ threadId: 1, granularity: 'instruction' }))).body).toMatchObject({ reason: 'step', threadId: 1 });
    const back = await registers(dc, 2);
    expect(back[0]).toEqual(atHit[0]);
    expect(back[1].eip).toBe('0x00000000');
    expect(await evaluate(dc, 2, 'cs')).toBe('0x00000800 (2048)');
    expect((await dc.stackTraceRequest({ threadId: 2 })).body.stackFrames[0].instructionPointerReference).toBe('0x00008000');
    // Forward again: the same turn of thread 2, the same instruction of thread 1.
    await resume(dc, dc.stepInRequest({ threadId: 1, granularity: 'instruction' }));
    expect(await registers(dc, 2)).toEqual(stepped);
  });

  it('runs back to the breakpoint hits of every processor, on their threads, then to the launch', async () => {
    const dc = await launch(smp, 4, (c) => c.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'cpu_main' }] }));
    const hits: { threadId: number; registers: Record<string, string>[] }[] = [];
    for (let k = 0; k < 4; k++) {
      const stop = k === 0 ? await dc.waitForEvent('stopped') : await resume(dc, dc.continueRequest({ threadId: 1 }));
      expect(stop.body.reason).toBe('function breakpoint');
      hits.push({ threadId: stop.body.threadId!, registers: await registers(dc, 4) });
    }
    // Each application processor as it is started, then the bootstrap processor itself.
    expect(hits.map((h) => h.threadId)).toEqual([2, 3, 4, 1]);
    for (const k of [2, 1, 0]) {
      const stop = await resume(dc, dc.send('reverseContinue', { threadId: 1 }));
      expect(stop.body).toMatchObject({ reason: 'function breakpoint', threadId: hits[k].threadId });
      expect(stop.body.description).toMatch(new RegExp(`^Paused on function breakpoint at cpu_main .* on vCPU ${hits[k].threadId - 1} \\(going backwards\\)$`));
      expect(await registers(dc, 4)).toEqual(hits[k].registers);
    }
    const start = await resume(dc, dc.send('reverseContinue', { threadId: 3 }));
    expect(start.body).toMatchObject({ reason: 'entry', threadId: 1 });
    expect(start.body.description).toMatch(/^Back at the start of the recorded run, _start \(boot\.asm:\d+\)$/);
    const again = await resume(dc, dc.continueRequest({ threadId: 1 }));
    expect(again.body.threadId).toBe(2);
    expect(await registers(dc, 4)).toEqual(hits[0].registers);
  });
});

describe('running back to data breakpoints', () => {
  it('stops after each earlier write, on the processor that made it', async () => {
    const d = new Driver({ program: smp, cpus: 4, history: OFTEN });
    const answered = d.rt.info.symbols.lookup('answered')!.address;
    d.rt.setDataBreakpoints([{ id: 3, dataId: dataId({ address: answered, length: 4 }) }]);
    // processors.c: the bootstrap processor sets `answered` to -1 before it starts each other
    // processor, which writes its APIC ID there when it runs.
    const writes: { thread: number | undefined; description: string; state: ReturnType<typeof machineState> }[] = [];
    for (let k = 0; k < 6; k++) {
      d.rt.continue();
      const stop = await d.stopped();
      expect(stop.reason).toBe('data breakpoint');
      writes.push({ thread: stop.thread, description: stop.description, state: machineState(d.rt.machine) });
    }
    expect(writes.map((w) => w.thread)).toEqual([0, 1, 0, 2, 0, 3]);
    expect(writes.map((w) => / (0x[0-9a-f]{8} -> 0x[0-9a-f]{8})$/.exec(w.description)?.[1])).toEqual([
      '0x00000000 -> 0xffffffff', '0xffffffff -> 0x00000001', '0x00000001 -> 0xffffffff',
      '0xffffffff -> 0x00000002', '0x00000002 -> 0xffffffff', '0xffffffff -> 0x00000003',
    ]);
    for (let k = 4; k >= 0; k--) {
      d.rt.reverseContinue();
      const stop = await d.stopped();
      expect(stop).toMatchObject({ reason: 'data breakpoint', thread: writes[k].thread, description: `${writes[k].description} (going backwards)` });
      expect(machineState(d.rt.machine)).toEqual(writes[k].state);
    }
    d.rt.reverseContinue();
    expect(await d.stopped()).toMatchObject({ reason: 'entry', thread: 0 });
    d.rt.setDataBreakpoints([]);
    d.rt.continue();
    expect((await d.ended()).exitCode).toBe(1);
    expect(d.output).toBe(smpOutput(4));
  });
});

/** Two processors adding up squares through a call, each into its own sum; every line one instruction. */
const SQUARES = `bits 32
org 0x100000
APIC equ 0xFEE00000
header:
  dd 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000)
  dd header, header, image_end, bss_end, start
start:
  mov esp, bsp_stack_top
  mov esi, trampoline
  mov edi, 0x8000
  mov ecx, trampoline_end - trampoline
  rep movsb
  mov dword [APIC + 0x300], 0x000c4500      ; INIT, all excluding self
  mov dword [APIC + 0x300], 0x000c4608      ; STARTUP at 0x8000, all excluding self
  mov edi, bsp_sum
  jmp sum_squares

ap_main:
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov esp, ap_stack_top
  mov edi, ap_sum
sum_squares:
  xor ecx, ecx
again:
  mov eax, ecx
  call square
  add [edi], eax
  inc ecx
  jmp again

square:
  imul eax, eax
  ret

${AP_TRAMPOLINE}image_end:

section .bss
bsp_sum: resd 1
ap_sum: resd 1
  resb 1024
bsp_stack_top:
  resb 1024
ap_stack_top:
bss_end:
`;

describe('stepping back by line on one processor of two', () => {
  const squares = join(dir, 'squares.asm');
  writeFileSync(squares, SQUARES);
  // The undisturbed run's image from nasm; the debugger assembles the source itself.
  execFileSync('nasm', ['-f', 'bin', squares, '-o', join(dir, 'squares.bin')]);
  const lineOf = (text: string): number => SQUARES.split('\n').findIndex((l) => l.trim().startsWith(text)) + 1;

  it('comes back through the lines a forward step went, over calls, and through the other\'s turn', async () => {
    const d = new Driver({ program: squares, cpus: 2, history: OFTEN });
    const m = d.rt.machine;
    const line = (): number | undefined => d.rt.stackTrace()[0].source?.line;
    d.rt.setSourceBreakpoints(squares, [{ id: 1, line: lineOf('mov edi, ap_sum') }]);
    d.rt.continue();
    expect(await d.stopped()).toMatchObject({ reason: 'breakpoint', thread: 1 });
    d.rt.setSourceBreakpoints(squares, []);
    // Processor 1 forward line by line, over the calls.
    const ap = [{ line: line(), state: machineState(m) }];
    for (let k = 0; k < 8; k++) {
      d.rt.select(1);
      d.rt.stepLine(true);
      expect(await d.stopped()).toMatchObject({ reason: 'step', thread: 1 });
      ap.push({ line: line(), state: machineState(m) });
    }
    expect(ap.map((a) => a.line)).toEqual(['mov edi, ap_sum', 'xor ecx, ecx', 'mov eax, ecx', 'call square', 'add [edi], eax',
      'inc ecx', 'jmp again', 'mov eax, ecx', 'call square'].map(lineOf));
    for (let k = 7; k >= 0; k--) {
      d.rt.select(1);
      d.rt.stepBack(true);
      expect(await d.stopped()).toMatchObject({ reason: 'step', thread: 1 });
      expect({ line: line(), state: machineState(m) }).toEqual(ap[k]);
    }
    // Processor 0 forward two lines: processor 1 runs the rest of its turn first.
    const bsp = [machineState(m)];
    for (let k = 0; k < 2; k++) {
      d.rt.select(0);
      d.rt.stepLine(true);
      expect(await d.stopped()).toMatchObject({ reason: 'step', thread: 0 });
      bsp.push(machineState(m));
    }
    expect(bsp[1][1].icount).toBeGreaterThan(bsp[0][1].icount);
    d.rt.select(0);
    d.rt.stepBack(true);
    expect(await d.stopped()).toMatchObject({ reason: 'step', thread: 0 });
    expect(machineState(m)).toEqual(bsp[1]);
    // Then to the line processor 0 was on before that turn of processor 1, which goes back too.
    d.rt.select(0);
    d.rt.stepBack(true);
    expect(await d.stopped()).toMatchObject({ reason: 'step', thread: 0 });
    const before = machineState(m);
    expect(before[1].icount).toBeLessThan(bsp[0][1].icount);
    expect(before).toEqual(new Undisturbed(new Uint8Array(readFileSync(join(dir, 'squares.bin'))), 2, squares).at(m.instructions()));
  });
});
