// CPUID against QEMU 7.2's qemu32 CPU. A tiny Multiboot kernel prints CPUID for a list of
// leaves and subleaves on COM1 under `qemu-system-i386 -cpu qemu32`; its printout is recorded
// below, every leaf of vtscope's model must equal it bit for bit except the documented leaf-1
// feature bits, and a live QEMU boot (when QEMU is installed) must still print the recording.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Cpu } from '../../src/cpu/cpu';
import { CS, DS, ES, FS, GS, SS } from '../../src/cpu/registers';
import { nasm } from '../support/nasm';
import { qemuAvailable, runQemu } from '../support/qemu';
import { execSnippet, makeCpu } from './harness';
import { PUTC } from '../support/guestSerial';

/** (EAX, ECX) inputs: every leaf qemu32 has, subleaves of leaf 4, and leaves beyond each range's end. */
const QUERIES: [number, number][] = [
  [0, 0], [1, 0], [2, 0], [3, 0], [4, 0], [4, 1], [4, 2], [4, 3], [4, 4], [5, 0], [0x3fffffff, 0],
  [0x40000000, 0], [0x40000001, 0], [0x40000002, 0], [0x80000000, 0], [0x80000001, 0], [0x80000002, 0],
  [0x80000003, 0], [0x80000004, 0], [0x80000005, 0], [0x80000008, 2], [0xc0000000, 0], [0xfffffffe, 1],
  [0x12345678, 3],
];

/** What `qemu-system-i386 -cpu qemu32` (QEMU 7.2, TCG, one CPU) printed for QUERIES. */
const QEMU_72 = `
00000000 00000000: 00000004 756e6547 6c65746e 49656e69
00000001 00000000: 00000663 00000800 80000001 0781abfd
00000002 00000000: 00000001 00000000 0000004d 002c307d
00000003 00000000: 00000000 00000000 00000000 00000000
00000004 00000000: 00000121 01c0003f 0000003f 00000001
00000004 00000001: 00000122 01c0003f 0000003f 00000001
00000004 00000002: 00000143 03c0003f 00000fff 00000001
00000004 00000003: 00000163 03c0003f 00003fff 00000006
00000004 00000004: 00000000 00000000 00000000 00000000
00000005 00000000: 00000121 01c0003f 0000003f 00000001
3fffffff 00000000: 00000121 01c0003f 0000003f 00000001
40000000 00000000: 40000001 54474354 43544743 47435447
40000001 00000000: 00000000 00000000 00000000 00000000
40000002 00000000: 00000121 01c0003f 0000003f 00000001
80000000 00000000: 80000004 756e6547 6c65746e 49656e69
80000001 00000000: 00000663 00000000 00000000 00000000
80000002 00000000: 554d4551 72695620 6c617574 55504320
80000003 00000000: 72657620 6e6f6973 352e3220 0000002b
80000004 00000000: 00000000 00000000 00000000 00000000
80000005 00000000: 00000121 01c0003f 0000003f 00000001
80000008 00000002: 00000143 03c0003f 00000fff 00000001
c0000000 00000000: 00000121 01c0003f 0000003f 00000001
fffffffe 00000001: 00000122 01c0003f 0000003f 00000001
12345678 00000003: 00000163 03c0003f 00003fff 00000006
`.trim();

/**
 * Leaf-1 bits QEMU reports and vtscope does not (documented on QEMU32 in src/cpu/cpuid.ts):
 * EDX PAE (6), MMX (23), SSE (25), SSE2 (26); ECX SSE3 (0).
 */
const LEAF1_EDX_LEFT_OUT = (1 << 6) | (1 << 23) | (1 << 25) | (1 << 26);
const LEAF1_ECX_LEFT_OUT = 1 << 0;

const hex = (v: number) => (v >>> 0).toString(16).padStart(8, '0');
const line = (leaf: number, sub: number, r: number[]) => `${hex(leaf)} ${hex(sub)}: ${r.map(hex).join(' ')}`;

/** CPUID executed by vtscope's CPU. */
const cpuidCode = nasm('bits 32\ncpuid');
function vtscopeCpuid(cpu: Cpu, leaf: number, sub: number): number[] {
  const r = execSnippet(cpuidCode, { eax: leaf, ecx: sub, ebx: 0xdead, edx: 0xbeef }, cpu);
  expect(r.fault).toBeUndefined();
  return [r.eax, r.ebx, r.ecx, r.edx];
}

/** The Multiboot kernel that prints QUERIES under QEMU, one line each in the format of QEMU_72. */
function probeKernel(): Uint8Array {
  const table = QUERIES.map(([l, s]) => `dd 0x${hex(l)}, 0x${hex(s)}`).join('\n');
  return nasm(`bits 32
org 0x100000
header: dd 0x1badb002, 1 << 16, -(0x1badb002 + (1 << 16)), header, 0x100000, image_end, image_end, start
start:
    mov esp, 0x90000
    mov esi, queries
.next:
    cmp esi, queries_end
    je .done
    mov eax, [esi]
    call put_hex
    mov al, ' '
    call putc
    mov eax, [esi + 4]
    call put_hex
    mov al, ':'
    call putc
    mov eax, [esi]
    mov ecx, [esi + 4]
    cpuid
    push edx
    push ecx
    push ebx
    push eax
    mov edi, 4
.reg:
    mov al, ' '
    call putc
    pop eax
    call put_hex
    dec edi
    jnz .reg
    mov al, 10
    call putc
    add esi, 8
    jmp .next
.done:
    mov al, 0
    out 0xf4, al                ; isa-debug-exit: QEMU ends with status 1
    hlt
put_hex:                        ; EAX as 8 hex digits
    mov ecx, 8
    mov edx, eax
.digit:
    rol edx, 4
    mov eax, edx
    and eax, 15
    mov al, [digits + eax]
    call putc
    loop .digit
    ret
${PUTC}
digits: db '0123456789abcdef'
align 4
queries:
${table}
queries_end:
image_end:
`);
}

describe('CPUID of the qemu32 model', () => {
  const recorded = new Map(QEMU_72.split('\n').map((l) => [l.slice(0, 17), l.slice(19).split(' ').map((h) => Number.parseInt(h, 16))]));

  it('the recording covers every query', () => {
    expect(QUERIES.map(([l, s]) => `${hex(l)} ${hex(s)}`)).toEqual([...recorded.keys()]);
  });

  const cases = QUERIES.map(([leaf, sub]) => ({ leaf, sub, name: `${hex(leaf)}H subleaf ${sub}` }));
  it.each(cases)('leaf $name equals QEMU\'s, bit for bit except the documented leaf-1 features', ({ leaf, sub }) => {
    const cpu = makeCpu();
    const ours = vtscopeCpuid(cpu, leaf, sub);
    const qemu = recorded.get(`${hex(leaf)} ${hex(sub)}`)!;
    const expected = leaf === 1
      ? [qemu[0], qemu[1], qemu[2] & ~LEAF1_ECX_LEFT_OUT, qemu[3] & ~LEAF1_EDX_LEFT_OUT]
      : qemu;
    expect(line(leaf, sub, ours)).toBe(line(leaf, sub, expected));
  });

  it('leaf 1 leaves out exactly the documented bits, which QEMU does report', () => {
    const q = recorded.get('00000001 00000000')!;
    expect([q[2] & LEAF1_ECX_LEFT_OUT, q[3] & LEAF1_EDX_LEFT_OUT]).toEqual([LEAF1_ECX_LEFT_OUT, LEAF1_EDX_LEFT_OUT]);
  });

  it('vendor and brand strings read as text: "GenuineIntel", "QEMU Virtual CPU version 2.5+"', () => {
    const cpu = makeCpu();
    const text = (regs: number[]) => Buffer.from(Int32Array.from(regs).buffer).toString('latin1');
    const [, b, c, d] = vtscopeCpuid(cpu, 0, 0);
    expect(text([b, d, c])).toBe('GenuineIntel');
    const brand = [0x80000002, 0x80000003, 0x80000004].map((l) => text(vtscopeCpuid(cpu, l, 0))).join('');
    expect(brand.replace(/\0+$/, '')).toBe('QEMU Virtual CPU version 2.5+');
  });

  it('CPUID is not privileged: it runs at CPL 3 and gives the same leaf 1', () => {
    const cpu = makeCpu();
    const ring0 = vtscopeCpuid(cpu, 1, 0);
    cpu.setSegmentCache(CS, 0x1b, 0, 0xffff_ffff, 0xc0fb);
    for (const s of [ES, SS, DS, FS, GS]) cpu.setSegmentCache(s, 0x23, 0, 0xffff_ffff, 0xc0f3);
    cpu.setCpl(3);
    expect(vtscopeCpuid(cpu, 1, 0)).toEqual(ring0);
    expect(cpu.cpl).toBe(3);
  });

  it('the same kernel on vtscope\'s machine prints the recording, but for the documented leaf-1 bits', async () => {
    // Imported here so that the rest of this file does not depend on the machine.
    const { Machine } = await import('../../src/machine/machine');
    const machine = new Machine({ memoryMiB: 64 });
    const serial: number[] = [];
    machine.onSerialOutput = (byte) => serial.push(byte);
    machine.load(probeKernel(), { fileName: 'cpuid-probe.bin' });
    const result = machine.run({ maxInstructions: 10_000_000 });
    expect(result.exitCode, result.message).toBe(1);
    const leaf1 = recorded.get('00000001 00000000')!;
    const expected = QEMU_72.replace(line(1, 0, leaf1),
      line(1, 0, [leaf1[0], leaf1[1], leaf1[2] & ~LEAF1_ECX_LEFT_OUT, leaf1[3] & ~LEAF1_EDX_LEFT_OUT]));
    expect(Buffer.from(serial).toString('latin1').trim()).toBe(expected);
  });

  const hasQemu = qemuAvailable();
  it.skipIf(!hasQemu)(`qemu-system-i386 -cpu qemu32 still prints the recording${hasQemu ? '' : ' [skipped: no qemu-system-i386]'}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vtscope-cpuid-'));
    try {
      const image = join(dir, 'cpuid.bin');
      writeFileSync(image, probeKernel());
      const result = await runQemu(image);
      expect(result.status, result.stderr).toBe(1);
      expect(result.stdout.toString('latin1').trim()).toBe(QEMU_72);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
