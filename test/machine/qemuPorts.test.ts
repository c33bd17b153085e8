/**
 * The devices against QEMU 7.2 itself: one script of port accesses runs as a probe kernel in
 * qemu-system-i386 (which prints every value it read on COM1) and directly on our devices;
 * the values must be the same. The script avoids what QEMU's firmware or host timing make
 * unpredictable (PIT counts, the clock, the port 0x61 refresh bit, IRR bits of the timer).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AccessSize } from '../../src/cpu/bus';
import { Cmos } from '../../src/machine/cmos';
import { DebugExit } from '../../src/machine/debugExit';
import { IoBus } from '../../src/machine/ioBus';
import { Pic8259 } from '../../src/machine/pic8259';
import { Pit8254 } from '../../src/machine/pit8254';
import { SystemPorts } from '../../src/machine/systemPorts';
import { Uart16550 } from '../../src/machine/uart16550';
import { nasm } from '../support/nasm';
import { qemuAvailable, runQemu } from '../support/qemu';
import { PUTC } from '../support/guestSerial';

type Op =
  | { out: number; size: AccessSize; value: number }
  | { in: number; size: AccessSize; mask?: number };

const o = (port: number, value: number, size: AccessSize = 1): Op => ({ out: port, size, value });
const i = (port: number, size: AccessSize = 1, mask?: number): Op => ({ in: port, size, mask });

const SCRIPT: Op[] = [
  // COM1 as the guest finds it, then the divisor latch.
  i(0x3f9), i(0x3fa), i(0x3fb), i(0x3fc), i(0x3fd), i(0x3fe), i(0x3ff),
  o(0x3fb, 0x80), i(0x3f8), i(0x3f9), o(0x3f8, 0x03), i(0x3f8), o(0x3fb, 0x03), i(0x3fb),
  // THRE interrupt: raised by IER, cleared by reading IIR, re-armed by IER and by THR.
  o(0x3f9, 0x02), i(0x3fa), i(0x3fa), o(0x3f9, 0x00), o(0x3f9, 0x02), i(0x3fa), i(0x3fa),
  o(0x3f9, 0x00),
  // Loopback: MSR mirror, data path, overrun, LSR clearing OE.
  o(0x3fc, 0x1f), i(0x3fe), i(0x3fd), o(0x3f8, 0x41), i(0x3fd), i(0x3f8), i(0x3fd),
  o(0x3f8, 0x42), o(0x3f8, 0x43), i(0x3fd), i(0x3fd), i(0x3f8),
  o(0x3fc, 0x13), i(0x3fe), o(0x3fc, 0x15), i(0x3fe),
  // Interrupt priorities in loopback: line status > data > THRE.
  o(0x3f8, 0x01), o(0x3f8, 0x02), o(0x3f9, 0x07), i(0x3fa), i(0x3fd), i(0x3fa), i(0x3f8),
  i(0x3fa), i(0x3fa), o(0x3f9, 0x00),
  // FIFOs: enable, trigger level 4, fill below and up to it, overflow 16 bytes.
  o(0x3fa, 0x47), i(0x3fa), o(0x3f9, 0x01), o(0x3f8, 0x61), o(0x3f8, 0x62), o(0x3f8, 0x63),
  i(0x3fa), o(0x3f8, 0x64), i(0x3fa), i(0x3f8), i(0x3fa),
  ...Array.from({ length: 15 }, (_, k) => o(0x3f8, 0x70 + k)), i(0x3fd),
  ...Array.from({ length: 17 }, () => i(0x3f8)), i(0x3fd), i(0x3fd),
  o(0x3f9, 0x00), o(0x3fa, 0x00), i(0x3fa), o(0x3fc, 0x08),
  // PIC: initialize both like Linux, then IMR, ISR and ELCR; COM1's edge stays latched in IRR.
  o(0x20, 0x11), o(0xa0, 0x11), o(0x21, 0x20), o(0xa1, 0x28), o(0x21, 0x04), o(0xa1, 0x02),
  o(0x21, 0x01), o(0xa1, 0x01), i(0x21), i(0xa1), o(0x21, 0xfb), o(0xa1, 0xff), i(0x21),
  i(0x21, 2), i(0xa0, 2), o(0x20, 0x0b), i(0x20), o(0xa0, 0x0b), i(0xa0), o(0x20, 0x0a),
  o(0x3f9, 0x02), i(0x20, 1, 0x10), i(0x3fa), i(0x20, 1, 0x10), o(0x3f9, 0x00),
  o(0x4d0, 0xff), i(0x4d0), o(0x4d1, 0xff), i(0x4d1), o(0x4d0, 0x00), o(0x4d1, 0x00), i(0x4d1),
  // PIT control port, port 0x61 gate and speaker bits.
  i(0x43), o(0x61, 0x03), i(0x61, 1, 0x03), o(0x61, 0x00), i(0x61, 1, 0x03),
  // CMOS: index port, status registers, century, memory size for 64 MiB, plain RAM.
  i(0x70), o(0x70, 0x0a), i(0x71, 1, 0x7f), o(0x70, 0x0b), i(0x71), o(0x70, 0x0d), i(0x71),
  o(0x70, 0x32), i(0x71), o(0x70, 0x37), i(0x71),
  ...[0x15, 0x16, 0x17, 0x18, 0x30, 0x31, 0x34, 0x35, 0x5b, 0x5c, 0x5d].flatMap((k) => [o(0x70, k), i(0x71)]),
  o(0x70, 0x8e), o(0x71, 0xa5), o(0x70, 0x0e), i(0x71),
  // Unassigned ports, POST port, system control port A, isa-debug-exit reads.
  i(0x300), i(0x300, 2), i(0x300, 4), i(0x2000, 4), i(0x301, 2), i(0x302, 4), i(0xfffe, 4),
  o(0x80, 0x5a), i(0x80), i(0x80, 4), i(0x92), i(0x92, 2), i(0xf4), i(0xf4, 2), i(0xf4, 4), i(0xf5, 2),
  // Wide and unaligned accesses: whole to the device at the first port, refused if unaligned
  // (except by the UART), in bytes at consecutive ports otherwise.
  i(0x21, 2), i(0x20, 4), i(0xa1, 2), o(0x21, 0x1234, 2), i(0x21),
  o(0x4d1, 0x08), i(0x4d0, 2), i(0x4d1, 2), i(0x70, 2, 0xff), i(0x71, 2), i(0x61, 2, 0x0303),
  i(0x3f8, 4), i(0x3fa, 4), i(0x3fb, 2), i(0x3fc, 4), i(0x3fe, 2), i(0x43, 2, 0xff),
];

/** The probe kernel: performs SCRIPT, keeps each value read, then prints them in hex on COM1. */
function probeSource(ops: Op[]): string {
  const reg = (size: AccessSize) => (size === 1 ? 'al' : size === 2 ? 'ax' : 'eax');
  const body = ops.map((op) => {
    if ('out' in op) {
      return `  mov dx, ${op.out}\n  mov eax, ${op.value}\n  out dx, ${reg(op.size)}\n`;
    }
    const widen = op.size === 4 ? '' : `  movzx eax, ${reg(op.size)}\n`;
    const mask = op.mask === undefined ? '' : `  and eax, ${op.mask}\n`;
    return `  mov dx, ${op.in}\n  in ${reg(op.size)}, dx\n${widen}${mask}  stosd\n`;
  }).join('');
  return `bits 32
org 0x100000
header:
  dd 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000)
  dd header, header, end_of_image, end_of_image, start
start:
  mov esp, 0x90000
  cld
  mov edi, 0x200000
${body}
  ; COM1 back to a plain 8N1 transmitter for the report
  mov dx, 0x3fb
  mov al, 0x03
  out dx, al
  mov dx, 0x3f9
  xor al, al
  out dx, al
  mov dx, 0x3fa
  out dx, al
  mov dx, 0x3fc
  mov al, 0x08
  out dx, al
  mov esi, 0x200000
.next:
  cmp esi, edi
  je .done
  lodsd
  mov ecx, 8
.digit:
  rol eax, 4
  push eax
  and al, 15
  add al, '0'
  cmp al, '9'
  jbe .put
  add al, 'a' - '9' - 1
.put:
  call putc
  pop eax
  loop .digit
  mov al, 10
  call putc
  jmp .next
.done:
  mov dx, 0xf4
  xor eax, eax
  out dx, al
.hang:
  hlt
  jmp .hang
${PUTC}
end_of_image:
`;
}

/** The same script on our devices, wired as the machine wires them. */
function runOnDevices(ops: Op[]): number[] {
  const bus = new IoBus();
  const pic = new Pic8259();
  const pit = new Pit8254((level) => pic.setIrq(0, level));
  const uart = new Uart16550((level) => pic.setIrq(4, level));
  const cmos = new Cmos(64 * 1024 * 1024, (level) => pic.setIrq(8, level));
  bus.registerRanges(pic.ports);
  bus.registerRanges(pit.ports);
  bus.register(0x3f8, 8, uart);
  bus.registerRanges(cmos.ports);
  bus.registerRanges(new DebugExit(() => {}).ports);
  bus.registerRanges(new SystemPorts(() => {}).ports);
  const values: number[] = [];
  for (const op of ops) {
    if ('out' in op) bus.write(op.out, op.size, op.value);
    else values.push((bus.read(op.in, op.size) & (op.mask ?? 0xffffffff)) >>> 0);
  }
  return values;
}

describe.skipIf(!qemuAvailable())('devices against qemu-system-i386 7.2', () => {
  it('read the same values as QEMU for the same port script', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vtscope-ports-'));
    try {
      const image = join(dir, 'probe.bin');
      writeFileSync(image, nasm(probeSource(SCRIPT)));
      const result = await runQemu(image, { memoryMiB: 64 });
      expect(result.status, result.stderr).toBe(1);
      const fromQemu = result.stdout.toString('latin1').trim().split('\n').map((line) => parseInt(line, 16));
      const ours = runOnDevices(SCRIPT);
      const hex = (v: number[]) => v.map((x) => x.toString(16));
      expect(hex(ours)).toEqual(hex(fromQemu));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
