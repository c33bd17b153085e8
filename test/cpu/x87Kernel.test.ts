// A C kernel built with gcc -m32 -mfpmath=387 -mno-sse (x87Kernel.c) prints float, double and
// long double results bit for bit; vtscope's machine must print exactly what QEMU 7.2 prints
// (QEMU's x87 is softfloat's exact extended arithmetic), and with CR0.TS set the same kernel
// must take #NM at its first x87 instruction.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine';
import { Workdir, run } from '../loader/toolchain';
import { qemuAvailable, runQemu } from '../support/qemu';
import { LINK_SCRIPT } from '../debug/kernels';

const BOOT = `
section .multiboot
align 4
    dd 0x1BADB002, 0, -0x1BADB002
section .text
bits 32
global start
extern kmain
start:
    mov esp, stack_top
    call kmain
.hang:
    hlt
    jmp .hang
section .bss
align 16
    resb 16384
stack_top:
`;

/** Freestanding, x87 floating point (no -mgeneral-regs-only, no SSE), libm calls inlined. */
const CFLAGS = ['-m32', '-ffreestanding', '-nostdlib', '-fno-pic', '-fno-pie', '-O2', '-mfpmath=387', '-mno-sse',
  '-fno-math-errno', '-fno-stack-protector', '-fcf-protection=none', '-fno-asynchronous-unwind-tables', '-Wall', '-Wextra', '-Werror'];

let work: Workdir;
let kernel = '';

beforeAll(() => {
  work = new Workdir();
  const boot = work.nasm('boot', BOOT, 'elf32');
  const obj = work.file('kernel.o');
  run('gcc', [...CFLAGS, '-c', new URL('./x87Kernel.c', import.meta.url).pathname, '-o', obj]);
  kernel = work.ld('x87-kernel.elf', [boot, obj], LINK_SCRIPT);
});

afterAll(() => work?.remove());

function runVtscope(): { output: string; exitCode: number } {
  const machine = new Machine({ memoryMiB: 64 });
  const serial: number[] = [];
  machine.onSerialOutput = (byte) => serial.push(byte);
  machine.load(new Uint8Array(readFileSync(kernel)), { fileName: kernel });
  const result = machine.run({ maxInstructions: 50_000_000 });
  return { output: Buffer.from(serial).toString('latin1'), exitCode: result.exitCode };
}

describe('a C kernel doing floating point (gcc -mfpmath=387)', () => {
  it('prints its results and exits through isa-debug-exit', () => {
    const { output, exitCode } = runVtscope();
    expect(exitCode).toBe(1);
    // Hand-checked lines: the FNINIT state QEMU leaves (0x037F, nothing flagged), IEEE results.
    expect(output).toContain('cw at entry 037f, sw 0000\n');
    expect(output).toContain('1/3 = 3fd5555555555555 0.333333333333\n');
    expect(output).toContain('sqrt(2.5) = 3ff94c583ada5b53 1.581138830084\n');
    expect(output).toContain('1e300*1e300 = 7ff0000000000000 big\n');
    expect(output).toContain('1/3 extended = 3ffd:aaaaaaaaaaaaaaab\n');
    expect(output).toContain('16777217f+1 = 4b800000 16777216.000000\n');   // 16777217 is no float
    expect(output).toContain('(long long)123456789.875 = 123456789\n');
    expect(output).toContain('sw after 1/0 04\n');
  });

  const hasQemu = qemuAvailable();
  it.skipIf(!hasQemu)(`prints exactly what qemu-system-i386 prints${hasQemu ? '' : ' [skipped: no qemu-system-i386]'}`, async () => {
    const qemu = await runQemu(kernel);
    expect(qemu.status, qemu.stderr).toBe(1);
    expect(runVtscope().output).toBe(qemu.stdout.toString('latin1'));
  });

  it('with CR0.TS set, its first x87 instruction raises #NM (vector 7) at itself', () => {
    // The kernel has no IDT, so the #NM escalates to a triple fault that names it first.
    const machine = new Machine({ memoryMiB: 64 });
    machine.load(new Uint8Array(readFileSync(kernel)), { fileName: kernel });
    machine.cpu.cr0 |= 1 << 3;   // TS
    const result = machine.run({ maxInstructions: 1_000_000 });
    expect(result.haltReason).toBe('triple-fault');
    expect(machine.cpu.faultChain[0]).toBe('#NM');
    // Faults restart their instruction: EIP is on the x87 escape (D8-DF) that raised #NM.
    expect(machine.ram[machine.cpu.eip] & 0xf8).toBe(0xd8);
  });
});
