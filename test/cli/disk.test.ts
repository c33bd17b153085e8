/**
 * `vtscope run --disk FILE [--disk-write]` as a user runs it (node dist/cli.js): the guest
 * reads the image, its writes stay in memory unless --disk-write is given, and with it the
 * file afterwards is the one QEMU leaves after running the same kernel on a copy.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workdir } from '../loader/toolchain';
import { QEMU, qemuArgs, qemuAvailable } from '../support/qemu';
import { PUTC } from '../support/guestSerial';
import { cliIn, requireBuiltCli, type CliResult } from '../support/cli';

const work = new Workdir();
afterAll(() => work.remove());

beforeAll(() => {
  requireBuiltCli();
});

function vtscope(...args: string[]): CliResult { return cliIn(work.path)(...args); }

/**
 * Prints the first 8 bytes of sector 0, writes sector 1 with "written!" repeated, flushes,
 * prints the status register and exits. Polling PIO with LBA28.
 */
const KERNEL = work.nasm('disk', `
bits 32
org 0x100000
header:
  dd 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000)
  dd header, header, image_end, image_end, start
%macro task 3                 ; LBA, count, command
  mov dx, 0x1f6
  mov al, 0xe0
  out dx, al
  mov dx, 0x1f2
  mov al, %2
  out dx, al
  mov dx, 0x1f3
  mov al, %1
  out dx, al
  mov dx, 0x1f4
  xor al, al
  out dx, al
  mov dx, 0x1f5
  out dx, al
  mov dx, 0x1f7
  mov al, %3
  out dx, al
%endmacro
start:
  mov esp, 0x90000
  task 0, 1, 0x20
  call ready
  mov dx, 0x1f0
  mov edi, 0x80000
  mov ecx, 256
  rep insw
  mov esi, 0x80000
  mov ecx, 8
.print:
  lodsb
  call putc
  loop .print
  task 1, 1, 0x30
  call ready
  mov dx, 0x1f0
  mov ecx, 64
.fill:
  mov esi, text
  push ecx
  mov ecx, 4
  rep outsw
  pop ecx
  loop .fill
  call ready
  mov dx, 0x1f7
  mov al, 0xe7
  out dx, al
  call ready
  in al, dx
  add al, 0x20                ; 0x50 -> 'p'
  call putc
  mov al, 0
  out 0xf4, al
ready:                        ; waits for BSY to clear
  mov dx, 0x3f6
.wait:
  in al, dx
  test al, 0x80
  jnz .wait
  mov dx, 0x1f7
  ret
${PUTC}text: db 'written!'
image_end:
`, 'bin');

/** 64 KiB: sector 0 starts "ORIGINAL", the rest is a byte pattern. */
function image(): Uint8Array {
  const bytes = Uint8Array.from({ length: 128 * 512 }, (_, k) => (k * 31) & 0xff);
  bytes.set(Buffer.from('ORIGINAL'), 0);
  return bytes;
}

describe('vtscope run --disk', () => {
  it('reads the image and leaves the file as it was (copy-on-write)', () => {
    const path = work.write('cow.img', image());
    const r = vtscope('run', KERNEL, '--disk', path);
    expect(r).toEqual({ status: 1, stdout: 'ORIGINALp', stderr: '' });
    expect(Buffer.compare(readFileSync(path), image())).toBe(0);
  });

  it('--disk-write writes the guest\'s sectors back, and only those', () => {
    const path = work.write('rw.img', image());
    expect(vtscope('run', KERNEL, '--disk', path, '--disk-write').stdout).toBe('ORIGINALp');
    const expected = image();
    expected.set(Buffer.from('written!'.repeat(64)), 512);
    expect(Buffer.compare(readFileSync(path), expected)).toBe(0);
  });

  it.skipIf(!qemuAvailable())('--disk-write leaves the file QEMU leaves with -hda', () => {
    const ours = work.write('ours.img', image());
    const theirs = work.write('qemu.img', image());
    expect(vtscope('run', KERNEL, '--disk', ours, '--disk-write').status).toBe(1);
    const q = spawnSync(QEMU, [...qemuArgs(KERNEL, 64), '-drive', `file=${theirs},format=raw,if=ide,index=0`],
      { encoding: 'latin1', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
    expect(q.stdout).toBe('ORIGINALp');
    expect(Buffer.compare(readFileSync(ours), readFileSync(theirs))).toBe(0);
  });

  it('exits 64 naming the file when it cannot be opened or is not whole sectors', () => {
    const missing = vtscope('run', KERNEL, '--disk', 'missing.img');
    expect(missing.status).toBe(64);
    expect(missing.stderr).toMatch(/^vtscope: run: cannot open --disk missing\.img: ENOENT/);
    const odd = work.write('odd.img', new Uint8Array(1000));
    const r = vtscope('run', KERNEL, '--disk', odd);
    expect(r.status).toBe(64);
    expect(r.stderr).toContain(`--disk ${odd}: 1000 bytes, not a whole non-zero number of 512-byte sectors`);
  });

  it('exits 64 on --disk-write without --disk', () => {
    const r = vtscope('run', KERNEL, '--disk-write');
    expect(r.status).toBe(64);
    expect(r.stderr).toContain('--disk-write needs --disk FILE');
  });
});
