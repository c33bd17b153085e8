// Speed benchmark: guest instructions per second of vtscope on compute-bound guests, beside
// QEMU (TCG) and v86 (with its JIT and with it off) running the same images in this script.
// Startup time is measured with a one-iteration build of each guest and subtracted.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const guests = join(root, 'bench', 'guests');
const work = mkdtempSync(join(tmpdir(), 'vtscope-bench-'));
const quick = process.argv.includes('--quick');

const LOOP_ITERATIONS = quick ? 2_000_000 : 40_000_000;
const INTMARK_ITERATIONS = quick ? 20 : 300;

function have(cmd) { return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0; }

function buildLoop(iterations) {
  const out = join(work, `loop-${iterations}.bin`);
  execFileSync('nasm', ['-f', 'bin', `-DITERATIONS=${iterations}`, join(guests, 'loop.asm'), '-o', out]);
  return out;
}

function buildIntmark(iterations) {
  const out = join(work, `intmark-${iterations}.elf`);
  const boot = join(work, 'boot.o'), obj = join(work, `intmark-${iterations}.o`);
  execFileSync('nasm', ['-f', 'elf32', join(root, 'samples', 'c-kernel', 'boot.asm'), '-o', boot]);
  execFileSync('gcc', ['-m32', '-ffreestanding', '-nostdlib', '-fno-pic', '-fno-pie', '-O2', '-mgeneral-regs-only',
    '-fno-stack-protector', '-fcf-protection=none', '-fno-asynchronous-unwind-tables', `-DITERATIONS=${iterations}`,
    '-c', join(guests, 'intmark.c'), '-o', obj]);
  execFileSync('ld', ['-m', 'elf_i386', '-T', join(root, 'samples', 'c-kernel', 'link.ld'), '-o', out, boot, obj]);
  return out;
}

function timeCommand(cmd, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'latin1', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { seconds, stdout: r.stdout, status: r.status };
}

function runVtscope(image) {
  const json = join(work, 'result.json');
  const r = timeCommand(process.execPath, [join(root, 'dist', 'cli.js'), 'run', image, '--json', json]);
  const result = JSON.parse(readFileSync(json, 'utf8'));
  return { ...r, instructions: result.instructions };
}

function runQemu(image) {
  return timeCommand('qemu-system-i386', ['-kernel', image, '-m', '64', '-display', 'none', '-serial', 'stdio',
    '-monitor', 'none', '-net', 'none', '-no-reboot', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04']);
}

async function runV86(image, expectEnd, disableJit) {
  const require = createRequire(import.meta.url);
  const { V86 } = require('v86');
  const wasm = join(dirname(require.resolve('v86')), 'v86.wasm');
  const t0 = process.hrtime.bigint();
  return await new Promise((resolveRun, reject) => {
    let out = '';
    const emulator = new V86({
      wasm_path: wasm, multiboot: { buffer: readFileSync(image).buffer }, autostart: true,
      memory_size: 64 * 1024 * 1024, disable_jit: disableJit, disable_speaker: true,
    });
    const timer = setTimeout(() => { emulator.destroy(); reject(new Error('v86 timed out')); }, 600_000);
    emulator.add_listener('serial0-output-byte', (byte) => {
      out += String.fromCharCode(byte);
      if (out.endsWith(expectEnd)) {
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        clearTimeout(timer);
        emulator.destroy();
        resolveRun({ seconds, stdout: out });
      }
    });
  });
}

function mips(instructions, seconds) { return instructions / seconds / 1e6; }

async function benchGuest(name, buildFull, buildTiny, expectEnd) {
  const full = buildFull(), tiny = buildTiny();
  const ours = runVtscope(full), oursStart = runVtscope(tiny);
  const instructions = ours.instructions - oursStart.instructions;
  const rows = [];
  const add = (engine, full, start, note = '') => {
    const seconds = Math.max(1e-6, full.seconds - start.seconds);
    rows.push({ engine, seconds, mips: mips(instructions, seconds), note, out: full.stdout });
  };
  add('vtscope', ours, oursStart);
  if (have('qemu-system-i386')) add('qemu-system-i386 (TCG)', runQemu(full), runQemu(tiny));
  else rows.push({ engine: 'qemu-system-i386 (TCG)', note: 'not installed' });
  try {
    add('v86 (JIT)', await runV86(full, expectEnd, false), await runV86(tiny, expectEnd, false));
    add('v86 (JIT off)', await runV86(full, expectEnd, true), await runV86(tiny, expectEnd, true));
  } catch (e) {
    rows.push({ engine: 'v86', note: `failed: ${e.message}` });
  }
  const base = rows[0].mips;
  console.log(`\n${name}: ${instructions.toLocaleString('en-US')} guest instructions (counted by vtscope)`);
  console.log('engine'.padEnd(26) + 'seconds'.padStart(10) + 'MIPS'.padStart(10) + '  vtscope / engine');
  for (const r of rows) {
    if (r.mips === undefined) { console.log(r.engine.padEnd(26) + `  ${r.note}`); continue; }
    const same = r.out === rows[0].out ? '' : '  (output differs!)';
    console.log(r.engine.padEnd(26) + r.seconds.toFixed(3).padStart(10) + r.mips.toFixed(1).padStart(10) +
      (base / r.mips).toFixed(2).padStart(10) + same);
  }
}

try {
  if (!existsSync(join(root, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run npm run build');
  await benchGuest('loop (5-instruction integer loop)', () => buildLoop(LOOP_ITERATIONS), () => buildLoop(1), 'done\n');
  await benchGuest('intmark (list, matrix, state machine, CRC)', () => buildIntmark(INTMARK_ITERATIONS),
    () => buildIntmark(1), '\n');
} finally {
  rmSync(work, { recursive: true, force: true });
}
