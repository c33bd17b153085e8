/**
 * `vtscope run --screen` and `--keys` as a user runs them (node dist/cli.js in a child
 * process): the text screen printed after COM1's output, and text typed on the keyboard
 * arriving as the set 1 scan codes of the IBM table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workdir } from '../loader/toolchain';
import { PUTC } from '../support/guestSerial';
import { cliIn, requireBuiltCli, type CliResult } from '../support/cli';

const work = new Workdir();
afterAll(() => work.remove());

beforeAll(() => {
  requireBuiltCli();
});

function vtscope(...args: string[]): CliResult { return cliIn(work.path, 'utf8')(...args); }

function flatKernel(name: string, code: string): string {
  return work.nasm(name, `
bits 32
org 0x100000
header:
  dd 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000)
  dd header, header, image_end, image_end, start
start:
  mov esp, 0x90000
${code}
  mov al, 0
  out 0xf4, al
${PUTC}hex8:
  push eax
  shr al, 4
  call .digit
  pop eax
  push eax
  and al, 15
  call .digit
  mov al, ' '
  call putc
  pop eax
  ret
.digit:
  add al, '0'
  cmp al, '9'
  jbe .out
  add al, 7
.out:
  jmp putc
image_end:
`, 'bin');
}

/** Clears the screen, writes `text` at row 1 column 3, then prints `serial` on COM1. */
function screenKernel(name: string, serial: string): string {
  const chars = [...'Hello, screen '].map((c) => c.charCodeAt(0)).concat(0xc9, 0xcd, 0xbb);
  return flatKernel(name, `
  mov edi, 0xb8000
  mov ax, 0x0720
  mov ecx, 80 * 25
  rep stosw
  mov edi, 0xb8000 + (80 + 3) * 2
  mov ah, 0x1e
${chars.map((c) => `  mov al, ${c}\n  stosw`).join('\n')}
${[...serial].map((c) => `  mov al, ${c.charCodeAt(0)}\n  call putc`).join('\n')}
`);
}

const SCREEN = ['', '   Hello, screen ╔═╗', ...Array<string>(23).fill('')];

describe('vtscope run --screen', () => {
  it('prints the screen after the serial output and a separator line', () => {
    const r = vtscope('run', screenKernel('screen', 'serial\n'), '--screen');
    expect(r).toEqual({ status: 1, stdout: `serial\n--- screen ---\n${SCREEN.join('\n')}\n`, stderr: '' });
  });

  it('puts the separator on a line of its own when the serial output does not end one', () => {
    expect(vtscope('run', screenKernel('noeol', 'abc'), '--screen').stdout).toBe(`abc\n--- screen ---\n${SCREEN.join('\n')}\n`);
  });

  it('prints nothing of the screen without --screen', () => {
    expect(vtscope('run', screenKernel('plain', 'abc')).stdout).toBe('abc');
  });

  it('shows the SeaBIOS banner a kernel that never writes the screen leaves there, as under QEMU', () => {
    const r = vtscope('run', flatKernel('quiet', ''), '--screen');
    expect(r.stdout.split('\n').slice(0, 3)).toEqual(['--- screen ---', 'SeaBIOS (version 1.16.2-debian-1.16.2-1)', 'Booting from ROM...']);
  });
});

/** Prints each byte from port 0x60 (polling the status register) until the release of Enter. */
const KEYS_KERNEL = `
.poll:
  in al, 0x64
  test al, 1
  jz .poll
  in al, 0x60
  call hex8
  cmp al, 0x9c
  jne .poll
`;

describe('vtscope run --keys', () => {
  it('types the text as set 1 make and break codes (IBM table: O 18, K 25, Shift 2A, 1 02, Enter 1C)', () => {
    const r = vtscope('run', flatKernel('keys', KEYS_KERNEL), '--keys', 'ok!\n');
    expect(r).toEqual({ status: 1, stdout: '18 98 25 A5 2A 02 82 AA 1C 9C ', stderr: '' });
  });

  it('exits 64 naming a character no key types', () => {
    const r = vtscope('run', flatKernel('keys2', KEYS_KERNEL), '--keys', 'naïve');
    expect(r.status).toBe(64);
    expect(r.stderr).toContain('--keys: no key of a US PC keyboard types "ï" (U+00EF)');
  });
});
