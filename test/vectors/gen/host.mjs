// The two outside tools the vectors come from: nasm, for the bytes of each
// instruction text, and the host processor, which runs those bytes.

import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Assembles each text with `nasm -f bin` in 32-bit mode, all in one run: every
 * instruction gets a label and a table of the label offsets follows the code.
 * Returns text -> machine code as a lowercase hex string.
 */
export function assemble(texts, workDir) {
  const source = join(workDir, 'instructions.asm');
  const binary = join(workDir, 'instructions.bin');
  const lines = ['bits 32', ...texts.map((t, i) => `i${i}: ${t}`), 'offsets:',
    ...texts.map((_, i) => `dd i${i}`), 'dd offsets'];
  writeFileSync(source, lines.join('\n') + '\n');
  const run = spawnSync('nasm', ['-f', 'bin', '-Werror', source, '-o', binary], { encoding: 'utf8' });
  if (run.error) throw new Error(`cannot run nasm: ${run.error.message}`);
  if (run.status !== 0) {
    const named = run.stderr.replace(/^.*?:(\d+): /gm, (_, line) => `"${lines[Number(line) - 1]}": `);
    throw new Error(`nasm rejected instruction texts:\n${named}`);
  }
  const bytes = readFileSync(binary);
  const table = bytes.length - 4 * (texts.length + 1);
  const offsetAt = (i) => bytes.readUInt32LE(table + 4 * i);
  if (offsetAt(texts.length) !== table) throw new Error(`${binary}: offset table is not where expected`);
  const codes = new Map();
  texts.forEach((t, i) => codes.set(t, bytes.subarray(offsetAt(i), offsetAt(i + 1)).toString('hex')));
  return codes;
}

const REGISTER_ORDER = ['eax', 'ecx', 'edx', 'ebx', 'esi', 'edi'];

/** Compiles run-on-host.c with gcc -m32 into workDir and returns the executable's path. */
export function buildRunner(workDir) {
  const exe = join(workDir, 'run-on-host');
  const source = new URL('./run-on-host.c', import.meta.url).pathname;
  execFileSync('gcc', ['-m32', '-O2', '-Wall', '-Wextra', '-Werror', '-fno-pie', '-no-pie', '-o', exe, source],
    { stdio: 'inherit' });
  return exe;
}

/**
 * Runs each job { code, input: {reg: value}, eflags } on the host processor.
 * Registers not in `input` start as 0.  Returns per job { fault?: 0, regs, eflags }.
 */
export function runOnHost(exe, jobs) {
  const line = ({ code, input, eflags }) =>
    [code, ...[...REGISTER_ORDER.map((r) => input[r] ?? 0), eflags].map((v) => v.toString(16))].join(' ');
  const stdin = jobs.map(line).join('\n') + '\n';
  const run = spawnSync(exe, [], { input: stdin, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (run.status !== 0) {
    throw new Error(`${exe} failed (status ${run.status}, signal ${run.signal}): ${run.stderr}`);
  }
  const lines = run.stdout.trimEnd().split('\n');
  if (lines.length !== jobs.length) throw new Error(`${exe}: ${lines.length} results for ${jobs.length} snippets`);
  return lines.map((line, i) => {
    const words = line.split(' ');
    const fault = words[0] === 'fault' ? Number(words[1]) : undefined;
    const values = words.slice(fault === undefined ? 1 : 2).map((w) => parseInt(w, 16) >>> 0);
    if (values.length !== 7) throw new Error(`${exe}: bad result line ${i + 1}: ${line}`);
    const regs = Object.fromEntries(REGISTER_ORDER.map((r, k) => [r, values[k]]));
    return { fault, regs, eflags: values[6] };
  });
}
