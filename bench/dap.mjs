// Debug adapter speed over its real protocol: `vtscope dap` (dist/cli.js) on stdin/stdout,
// spoken to in raw DAP frames, as an editor speaks to it.
//  - next: from a `next` request to its `stopped` event, stepping samples/hello.asm line by
//    line from its entry; beside it, as the peer, `evaluate` of a constant at the same stops
//    (a pure protocol round trip, nothing run), and the ratio of the two;
//  - pause: from a `pause` request to the `stopped` event, on a guest spinning in a busy loop,
//    bare (native) and under the emulated VT-x (hw);
//  - reverse execution: a `stepBack` request to its `stopped` event after the guest has run
//    1M and 10M instructions (the first step back there, then one more), and what the
//    recording costs in memory: the adapter's resident
//    set (VmRSS in /proc/PID/status) read at both places, and the checkpoints themselves,
//    counted and measured in this process on the same run (the adapter has no request that
//    reports them).
// Run after `npm run build`: node bench/dap.mjs [--quick]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli.js');
const quick = process.argv.includes('--quick');
const runs = quick ? 5 : 21;
const reverseRuns = quick ? 3 : 7;
const work = mkdtempSync(join(tmpdir(), 'vtscope-dap-bench-'));

function median(values) {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)];
}

const fmt = (ms) => `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(2)} MiB`;
const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
const row = (label, value) => console.log(`  ${label.padEnd(54)}${value}`);

/** A raw DAP client of an adapter process on its stdin/stdout. */
class Adapter {
  constructor() {
    this.child = spawn(process.execPath, [cli, 'dap'], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.seq = 1;
    this.pending = Buffer.alloc(0);
    this.responses = new Map();
    this.events = [];
    this.waiters = [];
    this.child.stdout.on('data', (chunk) => this.read(chunk));
  }

  read(chunk) {
    this.pending = Buffer.concat([this.pending, chunk]);
    for (;;) {
      const end = this.pending.indexOf('\r\n\r\n');
      if (end < 0) break;
      const length = Number(/Content-Length: *(\d+)/i.exec(this.pending.subarray(0, end).toString('ascii'))[1]);
      if (this.pending.length < end + 4 + length) break;
      const msg = JSON.parse(this.pending.subarray(end + 4, end + 4 + length).toString('utf8'));
      this.pending = this.pending.subarray(end + 4 + length);
      if (msg.type === 'response') this.responses.set(msg.request_seq, msg);
      else if (msg.type === 'event') this.events.push(msg);
    }
    for (const w of this.waiters.splice(0)) w();
  }

  until(what, found) {
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} from the adapter`)), 120_000);
      const look = () => {
        const v = found();
        if (v !== undefined) { clearTimeout(timer); resolvePromise(v); } else this.waiters.push(look);
      };
      look();
    });
  }

  send(command, args) {
    const seq = this.seq++;
    const body = JSON.stringify({ seq, type: 'request', command, arguments: args });
    this.child.stdin.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    return seq;
  }

  /** The response, which must be a success. */
  async request(command, args) {
    const seq = this.send(command, args);
    const r = await this.until(`response to ${command}`, () => this.responses.get(seq));
    this.responses.delete(seq);
    if (!r.success) throw new Error(`${command}: ${r.message}`);
    return r;
  }

  /** The oldest event among `names` not taken before. */
  event(...names) {
    return this.until(names.join(' or '), () => {
      const k = this.events.findIndex((e) => names.includes(e.event));
      return k < 0 ? undefined : this.events.splice(k, 1)[0];
    });
  }

  /** Milliseconds from sending `command` to the `stopped` event that ends it. */
  async timeToStop(command, args) {
    const t0 = performance.now();
    const [stopped] = await Promise.all([this.event('stopped', 'terminated'), this.request(command, args)]);
    const ms = performance.now() - t0;
    if (stopped.event !== 'stopped') throw new Error(`${command}: the guest ended`);
    return { ms, stop: stopped.body };
  }

  /** initialize, launch, the breakpoints, configurationDone; resolves at the first stop if `stopOnEntry`. */
  async launch(args, breakpoints) {
    await this.request('initialize', { adapterID: 'vtscope', pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true });
    await this.request('launch', args);
    await this.event('initialized');
    if (breakpoints !== undefined) await this.request('setBreakpoints', breakpoints);
    await this.request('configurationDone');
    if (args.stopOnEntry) await this.event('stopped');
  }

  /** The adapter's resident set in bytes (VmRSS). */
  rss() {
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${this.child.pid}/status`, 'utf8'));
    return Number(kb[1]) * 1024;
  }

  async close() {
    const exited = new Promise((r) => this.child.once('exit', r));
    await this.request('disconnect', { terminateDebuggee: true });
    this.child.stdin.end();
    await exited;
  }
}

const MULTIBOOT = `bits 32
org 0x100000
MB_FLAGS equ 1 << 16
header:
    dd 0x1BADB002, MB_FLAGS, -(0x1BADB002 + MB_FLAGS)
    dd header, header, image_end, bss_end, start
`;

/** A busy loop doing integer work and a store each pass, forever. */
const SPIN = `${MULTIBOOT}
start:
    mov esp, stack_top
    xor eax, eax
spin:
    imul eax, eax, 1103515245       ; a linear congruential generator
    add eax, 12345
    mov [value], eax
    jmp spin
image_end:
align 4096                          ; data on a page of its own, away from the code
value:
    resd 1
    resb 4096
stack_top:
bss_end:
`;

// 5 instructions a pass, each pass storing to the next of 256 pages (1 MiB): the first loop
// ends after 1M instructions, the second after 9M more. Every checkpoint owns the 256 pages.
const REVERSE_FIRST = 200_000, REVERSE_SECOND = 1_800_000;
const REVERSE = `${MULTIBOOT}
BUFFER_MASK equ (256 * 4096) - 1
start:
    mov esp, stack_top
    xor edi, edi
    mov ecx, ${REVERSE_FIRST}
first:
    mov [buffer + edi], ecx
    add edi, 4096
    and edi, BUFFER_MASK
    dec ecx
    jnz first
    nop                             ; @1M
    mov ecx, ${REVERSE_SECOND}
second:
    mov [buffer + edi], ecx
    add edi, 4096
    and edi, BUFFER_MASK
    dec ecx
    jnz second
    nop                             ; @10M
    mov al, 0
    out 0xf4, al
image_end:
align 4096
buffer:
    resb 256 * 4096
    resb 4096
stack_top:
bss_end:
`;
const lineOf = (source, marker) => source.split('\n').findIndex((l) => l.includes(marker)) + 1;

async function nextAndPeer() {
  const program = join(root, 'samples', 'hello.asm');
  const dap = new Adapter();
  try {
    await dap.launch({ program, stopOnEntry: true });
    const next = [], evaluate = [];
    for (let k = 0; k < runs; k++) {
      const t0 = performance.now();
      await dap.request('evaluate', { expression: '0x1234', context: 'watch' });
      evaluate.push(performance.now() - t0);
      next.push((await dap.timeToStop('next', { threadId: 1 })).ms);
    }
    await dap.close();
    console.log(`Stepping samples/hello.asm from its entry, one source line at a time (median of ${runs}):`);
    row('next: request to stopped event', fmt(median(next)));
    row('peer: evaluate of a constant, request to response', fmt(median(evaluate)));
    row('next / evaluate', `${(median(next) / median(evaluate)).toFixed(2)}x`);
  } finally {
    dap.child.kill();
  }
}

async function pauseSpinning(mode) {
  const program = join(work, 'spin.asm');
  writeFileSync(program, SPIN);
  const dap = new Adapter();
  try {
    await dap.launch({ program, mode });
    const times = [];
    for (let k = 0; k < runs; k++) {
      await new Promise((r) => setTimeout(r, 20 + (k % 5) * 7));   // the guest runs a while, not in step with the slices
      const { ms, stop } = await dap.timeToStop('pause', { threadId: 1 });
      if (stop.reason !== 'pause') throw new Error(`pause: stopped for ${stop.reason}`);
      times.push(ms);
      await dap.request('continue', { threadId: 1 });
    }
    await dap.close();
    row(`pause, ${mode} mode: request to stopped event`, `${fmt(median(times))} (max ${fmt(Math.max(...times))})`);
  } finally {
    dap.child.kill();
  }
}

/** Milliseconds of `count` instruction steps back, one after the other. */
async function stepsBack(dap, count) {
  const times = [];
  for (let k = 0; k < count; k++) times.push((await dap.timeToStop('stepBack', { threadId: 1, granularity: 'instruction' })).ms);
  return times;
}

/** One session: run to 1M and to 10M instructions, stepping back twice at each; times and the adapter's RSS. */
async function reverseOnce(program) {
  const dap = new Adapter();
  try {
    await dap.launch({ program }, {
      source: { path: program }, breakpoints: [{ line: lineOf(REVERSE, '@1M') }, { line: lineOf(REVERSE, '@10M') }],
    });
    await dap.event('stopped');
    const rss1 = dap.rss();
    const back1 = await stepsBack(dap, 2);
    await dap.timeToStop('continue', { threadId: 1 });   // to @1M again
    await dap.timeToStop('continue', { threadId: 1 });   // to @10M
    const rss10 = dap.rss();
    const back10 = await stepsBack(dap, 2);
    await dap.close();
    return { back1, back10, rss1, rss10 };
  } finally {
    dap.child.kill();
  }
}

/** The same run in this process: how many checkpoints the history keeps at 10M, and the bytes each owns. */
async function checkpointsInProcess(program) {
  const outfile = join(work, 'runtime.mjs');
  await build({ entryPoints: [join(root, 'src', 'debug', 'runtime.ts')], bundle: true, platform: 'node',
    format: 'esm', target: 'node20', outfile, logLevel: 'warning' });
  const { DebugRuntime } = await import(pathToFileURL(outfile).href);
  const rt = await new Promise((resolveRun, reject) => {
    const runtime = new DebugRuntime({ program }, {
      stopped: () => resolveRun(runtime), output: () => {}, failed: reject,
      ended: (r) => reject(new Error(`the guest ended before the breakpoint: ${r.message}`)),
    });
    runtime.setSourceBreakpoints(program, [{ id: 1, line: lineOf(REVERSE, '@10M') }]);
    runtime.continue();
  });
  const checkpoints = rt.history.checkpointsBefore(Infinity);
  const typedBytes = (v, seen = new Set()) => {
    if (ArrayBuffer.isView(v)) return v.byteLength;
    if (typeof v !== 'object' || v === null || seen.has(v)) return 0;
    seen.add(v);
    return Object.values(v).reduce((n, x) => n + typedBytes(x, seen), 0);
  };
  return checkpoints.slice(1).map((c) => ({ icount: c.snapshot.icount, pages: c.snapshot.ownBytes, cpu: typedBytes(c.snapshot.cpu) }));
}

async function reverse() {
  const program = join(work, 'reverse.asm');
  writeFileSync(program, REVERSE);
  const results = [];
  for (let k = 0; k < reverseRuns; k++) results.push(await reverseOnce(program));
  const taken = await checkpointsInProcess(program);
  const ms = (pick) => fmt(median(results.map(pick)));
  console.log(`Reverse execution, native mode, a guest writing 1 MiB over and over (median of ${reverseRuns} sessions):`);
  row('stepBack after 1M instructions: first / second', `${ms((r) => r.back1[0])} / ${ms((r) => r.back1[1])}`);
  row('stepBack after 10M instructions: first / second', `${ms((r) => r.back10[0])} / ${ms((r) => r.back10[1])}`);
  row('adapter VmRSS at 1M / at 10M instructions', `${mib(median(results.map((r) => r.rss1)))} / ${mib(median(results.map((r) => r.rss10)))}`);
  row('VmRSS growth from 1M to 10M instructions', mib(median(results.map((r) => r.rss10 - r.rss1))));
  if (taken.length === 0) {
    row('checkpoints after the launch, in process, at 10M', 'none');
    return;
  }
  const own = taken.map((c) => c.pages + c.cpu);
  row('checkpoints after the launch, in process, at 10M', `${taken.length}, at ${taken.map((c) => `${(c.icount / 1e6).toFixed(2)}M`).join(', ')}`);
  row('memory a checkpoint owns: RAM pages + CPU arrays', `${mib(median(own))} (${mib(median(taken.map((c) => c.pages)))} + ${kib(median(taken.map((c) => c.cpu)))})`);
}

try {
  await nextAndPeer();
  console.log(`Pausing a guest in a busy loop (median of ${runs}):`);
  await pauseSpinning('native');
  await pauseSpinning('hw');
  await reverse();
} finally {
  rmSync(work, { recursive: true, force: true });
}
