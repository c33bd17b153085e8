/**
 * `vtscope asm` and `vtscope run FILE.asm` as a user runs them: `node dist/cli.js` (built by
 * `npm run build`, which `npm test` runs first) in a child process, with nasm 2.16.01's output
 * for the same sources as the reference.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workdir } from '../loader/toolchain';
import { listingColumns } from '../asm/assemblerOracle';
import { cliIn, requireBuiltCli, type CliResult } from '../support/cli';

const HELLO = fileURLToPath(new URL('../../samples/hello.asm', import.meta.url));
const LOOP = fileURLToPath(new URL('../../bench/guests/loop.asm', import.meta.url));
const work = new Workdir();
afterAll(() => work.remove());

beforeAll(() => {
  requireBuiltCli();
});

function vtscope(...args: string[]): CliResult { return cliIn(work.path)(...args); }

function nasm(args: string[]): void {
  const r = spawnSync('nasm', args, { cwd: work.path, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
}

/** Prints "hi" on COM1 and leaves through isa-debug-exit with value 0 (exit status 1). */
const HI = `bits 32
org 0x100000
header:
  dd 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000)
  dd header, header, image_end, image_end, start
start:
  mov dx, 0x3f8
%ifdef SHOUT
  mov al, 'H'
%else
  mov al, 'h'
%endif
  out dx, al
  mov al, 'i'
  out dx, al
  mov al, 10
  out dx, al
  mov al, 0
  out 0xf4, al
  hlt
image_end:
`;

describe('vtscope asm', () => {
  it('writes the same binary and listing columns as nasm, and a JSON map', () => {
    nasm(['-f', 'bin', HELLO, '-o', 'nasm.bin', '-l', 'nasm.lst']);
    const r = vtscope('asm', HELLO, '-o', 'hello.bin', '--listing', 'hello.lst', '--map', 'hello.json');
    expect(r).toEqual({ status: 0, stdout: '', stderr: '' });
    expect(Buffer.from(work.read('hello.bin')).equals(Buffer.from(work.read('nasm.bin')))).toBe(true);
    const listing = readFileSync(work.file('hello.lst'), 'utf8');
    expect(listingColumns(listing)).toEqual(listingColumns(readFileSync(work.file('nasm.lst'), 'utf8')));

    const map = JSON.parse(readFileSync(work.file('hello.json'), 'utf8'));
    // hello.asm: org 1 MiB; `start` follows the 32-byte Multiboot header.
    expect(map.symbols).toContainEqual({ name: 'start', value: 0x100020, kind: 'label', section: '.text', location: { file: HELLO, line: 45, column: 1 } });
    expect(map.symbols).toContainEqual(expect.objectContaining({ name: 'COM1', value: 0x3f8, kind: 'equ' }));
    const first = map.map.find((e: { location: { line: number } }) => e.location.line === 46);
    expect(first).toEqual({ address: 0x100020, length: 5, location: { file: HELLO, line: 46, column: 1 } }); // mov esp, stack_top
  });

  it('defines -D names and searches -I directories', () => {
    mkdirSync(join(work.path, 'inc'), { recursive: true });
    work.write('inc/values.inc', 'VALUE equ 0x1234\n');
    work.write('defs.asm', '%include "values.inc"\ndw VALUE, COUNT\n%ifdef FLAG\ndb 1\n%endif\n');
    const r = vtscope('asm', 'defs.asm', '-o', 'defs.bin', '-DCOUNT=7', '-D', 'FLAG', '-I', join(work.path, 'inc'));
    expect(r.status).toBe(0);
    expect(Array.from(work.read('defs.bin'))).toEqual([0x34, 0x12, 7, 0, 1]);
  });

  it('reports every error as file:line:column and exits 65 without writing the output', () => {
    work.write('bad.asm', 'bits 32\nmov eax, ebx, ecx\n  foo bar\ndd nowhere\n');
    const r = vtscope('asm', 'bad.asm', '-o', 'bad.bin');
    expect(r.status).toBe(65);
    expect(r.stderr).toBe([
      'bad.asm:2:1: error: invalid combination of opcode and operands',
      'bad.asm:3:7: error: parser: instruction expected',
      "bad.asm:4:4: error: symbol `nowhere' not defined",
      '',
    ].join('\n'));
    expect(existsSync(work.file('bad.bin'))).toBe(false);
  });

  it('prints warnings and still assembles', () => {
    work.write('warn.asm', 'db 300\n');
    const r = vtscope('asm', 'warn.asm', '-o', 'warn.bin');
    expect(r).toEqual({ status: 0, stdout: '', stderr: 'warn.asm:1:4: warning: byte data exceeds bounds\n' });
    expect(Array.from(work.read('warn.bin'))).toEqual([0x2c]);
  });

  it('rejects a wrong command line with status 64', () => {
    expect(vtscope('asm', HELLO).status).toBe(64);
    expect(vtscope('asm', '-o', 'x.bin').stderr).toMatch(/^vtscope: asm: missing IN.asm\n/);
    expect(vtscope('asm', 'missing.asm', '-o', 'x.bin')).toMatchObject({ status: 64, stderr: expect.stringMatching(/^vtscope: asm: cannot read missing.asm\n/) });
    expect(vtscope('asm', HELLO, '-o', 'x.bin', '--frobnicate').status).toBe(64);
  });
});

describe('vtscope run FILE.asm', () => {
  it('assembles in memory and runs the kernel', () => {
    work.write('hi.asm', HI);
    expect(vtscope('run', 'hi.asm')).toEqual({ status: 1, stdout: 'hi\n', stderr: '' });
    expect(vtscope('run', 'hi.asm', '-DSHOUT')).toEqual({ status: 1, stdout: 'Hi\n', stderr: '' });
  });

  it('runs the benchmark loop with a -D iteration count', () => {
    expect(vtscope('run', LOOP, '-DITERATIONS=1000', '--json', 'loop.json').stdout).toMatch(/done\n$/);
    // 5 setup instructions, 5 per iteration, then the print loop: the count follows ITERATIONS.
    const few = JSON.parse(readFileSync(work.file('loop.json'), 'utf8')).instructions;
    vtscope('run', LOOP, '-DITERATIONS=2000', '--json', 'loop.json');
    expect(JSON.parse(readFileSync(work.file('loop.json'), 'utf8')).instructions - few).toBe(5 * 1000);
  });

  it('exits 65 with the diagnostics when the source has errors', () => {
    work.write('broken.asm', 'bits 32\nstart: jmp nowhere\n');
    expect(vtscope('run', 'broken.asm')).toEqual({ status: 65, stdout: '', stderr: "broken.asm:2:12: error: symbol `nowhere' not defined\n" });
  });
});
