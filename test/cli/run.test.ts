/**
 * `vtscope run` as a user runs it: `node dist/cli.js` (built by `npm run build`, which `npm test`
 * runs first) in a child process, checking stdout bytes, stderr and the exit status.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workdir, runQemu } from '../loader/toolchain';
import { qemuAvailable } from '../support/qemu';
import { CLI, cliIn, requireBuiltCli, type CliResult } from '../support/cli';

const work = new Workdir();
afterAll(() => work.remove());

beforeAll(() => {
  requireBuiltCli();
});

function vtscope(...args: string[]): CliResult { return cliIn(work.path)(...args); }

/** A flat Multiboot kernel at 1 MiB whose body is `code`. */
function flatKernel(name: string, code: string): string {
  return work.nasm(name, `
bits 32
org 0x100000
header:
  dd 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000)
  dd header, header, image_end, image_end, start
start:
${code}
image_end:
`, 'bin');
}

const HI = `
  mov dx, 0x3f8
  mov al, 'h'
  out dx, al
  mov al, 'i'
  out dx, al
  mov al, 10
  out dx, al
  mov al, 0
  out 0xf4, al
  hlt
`;

describe('vtscope without a kernel', () => {
  it('--version prints the package version', () => {
    const version = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;
    expect(vtscope('--version')).toEqual({ status: 0, stdout: `vtscope ${version}\n`, stderr: '' });
  });

  it('--help prints the usage on stdout', () => {
    const r = vtscope('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: vtscope run IMAGE \[--mem MIB\] \[--cpus N\] \[--max-instructions N\] \[--json FILE\] \[--cmdline STR\]\n/);
    expect(r.stdout).toContain('(v << 1) | 1');
    expect(vtscope('run', '--help').stdout).toBe(r.stdout);
  });

  const usageErrors: [string, string[], string][] = [
    ['no command', [], 'vtscope: missing command'],
    ['an unknown command', ['frobnicate'], "vtscope: unknown command 'frobnicate'"],
    ['no image', ['run'], 'vtscope: run: missing IMAGE'],
    ['two images', ['run', 'a.bin', 'b.bin'], 'vtscope: run: one IMAGE expected, got 2: a.bin b.bin'],
    ['an unknown option', ['run', '--bogus', 'k.bin'], "vtscope: run: Unknown option '--bogus'\n"],
    ['an option without its value', ['run', 'k.bin', '--mem'], "vtscope: run: Option '--mem <value>' argument missing"],
    ['a --mem that is not a number', ['run', '--mem', '64M', 'k.bin'], "vtscope: run: --mem needs a whole number, not '64M'"],
    ['a --mem out of range', ['run', '--mem', '1', 'k.bin'], 'vtscope: run: --mem 1 is out of range (2 to 3583)'],
    ['a fractional --max-instructions', ['run', '--max-instructions=1.5', 'k.bin'], "vtscope: run: --max-instructions needs a whole number, not '1.5'"],
    ['an image that does not exist', ['run', 'missing.bin'], 'vtscope: run: cannot read missing.bin: no such file or directory'],
    ['a directory as the image', ['run', '.'], 'vtscope: run: cannot read .: it is a directory'],
  ];
  for (const [what, args, message] of usageErrors) {
    it(`exits 64 on ${what}`, () => {
      const r = vtscope(...args);
      expect(r.status).toBe(64);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(message);
    });
  }

  it('exits 64 when the --json file cannot be written, before running', () => {
    const kernel = flatKernel('json-dir', HI);
    const r = vtscope('run', '--json', 'no/such/dir/out.json', kernel);
    expect(r).toEqual({ status: 64, stdout: '', stderr: "vtscope: run: cannot write --json no/such/dir/out.json: no such file or directory\nTry 'vtscope --help'.\n" });
  });

  it('assembles an .asm source in memory; without a Multiboot header it gets the loader message (65)', () => {
    work.write('prog.asm', HI);
    const r = vtscope('run', 'prog.asm');
    expect(r.status).toBe(65);
    expect(r.stderr).toMatch(/^vtscope: prog\.asm: .*Multiboot/);
  });

  it('exits 65 with the loader message on a bad checksum', () => {
    const path = work.nasm('badsum', 'dd 0x1BADB002, 0x00010000, 0\n', 'bin');
    const r = vtscope('run', path);
    expect(r.status).toBe(65);
    expect(r.stderr).toBe(`vtscope: ${path}: Multiboot header at file offset 0x00000000 has a bad checksum: magic + flags + checksum = 0x1BAEB002, must be 0\n`);
  });

  it('exits 65 on a file that is not Multiboot', () => {
    work.write('notes.txt', 'not a kernel\n');
    const r = vtscope('run', 'notes.txt');
    expect(r.status).toBe(65);
    expect(r.stderr).toBe('vtscope: notes.txt: not a Multiboot image: no Multiboot header (magic 0x1BADB002, 4-byte aligned) in the first 8192 bytes\n');
  });
});

describe('vtscope run on a kernel', () => {
  it('copies COM1 to stdout and exits with (v << 1) | 1 like QEMU', () => {
    const kernel = flatKernel('hi', HI);
    if (qemuAvailable()) expect(runQemu(kernel, [], work.path)).toEqual({ output: 'hi\n', status: 1 });
    const json = work.file('hi.json');
    expect(vtscope('run', kernel, '--json', json)).toEqual({ status: 1, stdout: 'hi\n', stderr: '' });
    const report = JSON.parse(readFileSync(json, 'utf8'));
    // Issue 4 adds the VMM's fields after the run's own.
    expect(Object.keys(report)).toEqual(['exitCode', 'haltReason', 'instructions', 'eip', 'mode', 'costModel', 'cycles', 'exits', 'hypercalls', 'holes']);
    expect(report).toMatchObject({ exitCode: 1, haltReason: 'exit' });
    // mov dx, then three mov al + out pairs, then mov al + out 0xf4: the ninth instruction ends the run.
    expect(report.instructions).toBe(9);
  });

  it('reports a halt with interrupts off on stderr and exits 2', () => {
    const r = vtscope('run', flatKernel('halt', '  cli\n  hlt\n'));
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^vtscope: .+\n$/);
  });

  it('stops at the instruction budget and exits 6', () => {
    const json = work.file('spin.json');
    const r = vtscope('run', '--max-instructions', '1000', '--json', json, flatKernel('spin', '  jmp start\n'));
    expect(r.status).toBe(6);
    expect(r.stderr).toMatch(/^vtscope: .+\n$/);
    expect(JSON.parse(readFileSync(json, 'utf8'))).toMatchObject({ exitCode: 6, haltReason: 'max-instructions', instructions: 1000 });
  });

  it('passes every byte through a pipe that is read slowly', async () => {
    // 300000 bytes: 'a'..'z' repeated, waiting for the transmitter like a real driver does.
    const kernel = flatKernel('flood', `
  mov ecx, 300000
  mov bl, 'a'
.next:
  mov dx, 0x3fd
.wait:
  in al, dx
  test al, 0x20
  jz .wait
  mov dx, 0x3f8
  mov al, bl
  out dx, al
  inc bl
  cmp bl, 'z' + 1
  jne .same
  mov bl, 'a'
.same:
  loop .next
  mov al, 0
  out 0xf4, al
  hlt
`);
    const child = spawn(process.execPath, [CLI, 'run', kernel], { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), 2);
    });
    const status = await new Promise<number | null>((done) => child.on('close', done));
    const out = Buffer.concat(chunks);
    expect(status).toBe(1);
    expect(out.length).toBe(300000);
    const expected = Buffer.alloc(300000);
    for (let i = 0; i < expected.length; i++) expected[i] = 0x61 + (i % 26);
    expect(out.equals(expected)).toBe(true);
  });
});
