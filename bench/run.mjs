// Speed benchmark: guest instructions per second of vtscope on compute-bound guests, beside
// QEMU (TCG) and v86 (with its JIT and with it off) running the same images in this script.
// Each guest prints a start marker ('>') and ends its output with a newline: every engine is
// timed from the marker to the end of the output, so start-up costs are left out. vtscope
// counts the guest instructions between the two; the others run the same instructions.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const guests = join(root, 'bench', 'guests');
const work = mkdtempSync(join(tmpdir(), 'vtscope-bench-'));
const quick = process.argv.includes('--quick');
const quiet = { stdio: ['ignore', 'pipe', 'pipe'] };
const MARKER = 0x3e; // '>'

const LOOP_ITERATIONS = quick ? 4_000_000 : 200_000_000;
const INTMARK_ITERATIONS = quick ? 40 : 1500;

function have(cmd) { return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0; }

function buildLoop(iterations) {
  const out = join(work, `loop.bin`);
  execFileSync('nasm', ['-f', 'bin', `-DITERATIONS=${iterations}`, join(guests, 'loop.asm'), '-o', out], quiet);
  return out;
}

function buildIntmark(iterations) {
  const out = join(work, `intmark.elf`);
  const boot = join(work, 'boot.o'), obj = join(work, `intmark.o`);
  execFileSync('nasm', ['-f', 'elf32', join(root, 'samples', 'c-kernel', 'boot.asm'), '-o', boot], quiet);
  execFileSync('gcc', ['-m32', '-ffreestanding', '-nostdlib', '-fno-pic', '-fno-pie', '-O2', '-mgeneral-regs-only',
    '-fno-stack-protector', '-fcf-protection=none', '-fno-asynchronous-unwind-tables', `-DITERATIONS=${iterations}`,
    '-c', join(guests, 'intmark.c'), '-o', obj], quiet);
  execFileSync('ld', ['-m', 'elf_i386', '-T', join(root, 'samples', 'c-kernel', 'link.ld'), '-o', out, boot, obj], quiet);
  return out;
}

/** Collects serial bytes and the times of the marker and of the final newline. */
class Timer {
  out = '';
  start = 0n;
  end = 0n;
  byte(b) {
    if (this.start === 0n && b === MARKER) this.start = process.hrtime.bigint();
    else if (this.start !== 0n) {
      this.out += String.fromCharCode(b);
      if (b === 0x0a) this.end = process.hrtime.bigint();
    }
  }
  get seconds() { return Number(this.end - this.start) / 1e9; }
  get done() { return this.end !== 0n; }
}

async function loadMachine() {
  const outfile = join(work, 'machine.mjs');
  await build({ entryPoints: [join(root, 'src', 'machine', 'machine.ts')], bundle: true, platform: 'node',
    format: 'esm', target: 'node20', outfile, logLevel: 'warning' });
  return (await import(pathToFileURL(outfile).href)).Machine;
}

function runVtscope(Machine, image) {
  const m = new Machine({ memoryMiB: 64 });
  const t = new Timer();
  let startCount = 0;
  m.onSerialOutput = (b) => { if (b === MARKER && t.start === 0n) startCount = m.cpu.icount; t.byte(b); };
  m.load(new Uint8Array(readFileSync(image)));
  const r = m.run({});
  if (!t.done) throw new Error(`vtscope: ${r.message}`);
  return { seconds: t.seconds, out: t.out, instructions: r.instructions - startCount };
}

function runQemu(image) {
  return new Promise((resolveRun, reject) => {
    const t = new Timer();
    const q = spawn('qemu-system-i386', ['-kernel', image, '-m', '64', '-display', 'none', '-serial', 'stdio',
      '-monitor', 'none', '-net', 'none', '-no-reboot', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04'],
    { stdio: ['ignore', 'pipe', 'ignore'] });
    q.stdout.on('data', (chunk) => { for (const b of chunk) t.byte(b); });
    q.on('error', reject);
    q.on('close', () => (t.done ? resolveRun({ seconds: t.seconds, out: t.out }) : reject(new Error('no output'))));
  });
}

// v86 answers a write to port 0xF4 by throwing the string "HALT" out of its run loop: that is
// how the guest's exit reaches us, after its output is complete.
process.on('uncaughtException', (e) => { if (e !== 'HALT') throw e; });
// ... and it logs that exit on the console: keep the table readable.
const consoleLog = console.log;
console.log = (...args) => { if (!String(args[0]).startsWith('Test exited with code')) consoleLog(...args); };

function runV86(image, disableJit) {
  const require = createRequire(import.meta.url);
  const { V86 } = require('v86');
  const wasm = join(dirname(require.resolve('v86')), 'v86.wasm');
  return new Promise((resolveRun, reject) => {
    const t = new Timer();
    const emulator = new V86({
      wasm_path: wasm, multiboot: { buffer: readFileSync(image).buffer }, autostart: true,
      memory_size: 64 * 1024 * 1024, disable_jit: disableJit, disable_speaker: true,
    });
    const timeout = setTimeout(() => { emulator.destroy(); reject(new Error('timed out')); }, 900_000);
    emulator.add_listener('serial0-output-byte', (b) => {
      t.byte(b);
      if (t.done) { clearTimeout(timeout); emulator.destroy(); resolveRun({ seconds: t.seconds, out: t.out }); }
    });
  });
}

async function best(n, f) {
  let r;
  for (let k = 0; k < n; k++) { const x = await f(); if (r === undefined || x.seconds < r.seconds) r = x; }
  return r;
}

async function benchGuest(Machine, name, image) {
  const ours = await best(2, () => runVtscope(Machine, image));
  const rows = [{ engine: 'vtscope', ...ours }];
  const peer = async (engine, f) => {
    try { rows.push({ engine, ...(await best(2, f)) }); } catch (e) { rows.push({ engine, note: `failed: ${e.message}` }); }
  };
  if (have('qemu-system-i386')) await peer('qemu-system-i386 (TCG)', () => runQemu(image));
  else rows.push({ engine: 'qemu-system-i386 (TCG)', note: 'not installed' });
  await peer('v86 (JIT)', () => runV86(image, false));
  await peer('v86 (JIT off)', () => runV86(image, true));
  console.log(`\n${name}: ${ours.instructions.toLocaleString('en-US')} guest instructions timed (counted by vtscope)`);
  console.log('engine'.padEnd(26) + 'seconds'.padStart(10) + 'MIPS'.padStart(10) + '   vtscope/engine');
  const base = ours.instructions / ours.seconds;
  for (const r of rows) {
    if (r.seconds === undefined) { console.log(r.engine.padEnd(26) + `  ${r.note}`); continue; }
    const rate = ours.instructions / r.seconds;
    const same = r.out === ours.out ? '' : '   (different output!)';
    console.log(r.engine.padEnd(26) + r.seconds.toFixed(3).padStart(10) + (rate / 1e6).toFixed(1).padStart(10) +
      (base / rate).toFixed(2).padStart(12) + same);
  }
}

try {
  const Machine = await loadMachine();
  await benchGuest(Machine, `loop (5-instruction integer loop, ${LOOP_ITERATIONS.toLocaleString('en-US')} iterations)`,
    buildLoop(LOOP_ITERATIONS));
  await benchGuest(Machine, `intmark (list, matrix, state machine, CRC-16; ${INTMARK_ITERATIONS} iterations)`,
    buildIntmark(INTMARK_ITERATIONS));
} finally {
  rmSync(work, { recursive: true, force: true });
}
