/**
 * The APIC timer measured against the PIT by a kernel. The PIT interrupts at 1,193,182 / 11932
 * Hz (10.0001 ms); the APIC timer runs from the 1 GHz bus clock divided by 16:
 *  - periodic with initial count 62000: a period of 62000 * 16 ns = 0.992 ms (QEMU: one tick
 *    more, 0.992016 ms). Started on a PIT tick and read 10 PIT ticks (100.0015 ms) later it has
 *    interrupted floor(100.0015 / 0.992) = 100 times, with 0.8 ms to spare either way;
 *  - one-shot with initial count 2,812,500: 45 ms, during which 4 PIT ticks arrive (at 10, 20,
 *    30 and 40 ms); after it the current count reads 0.
 * vtscope's virtual time gives exactly these counts, and so does QEMU run with -icount (1 ns
 * of virtual time per instruction, as vtscope). On the host's clock QEMU loses APIC ticks
 * whenever the host is slow to run it: 92 to 100 were seen for the first count.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine';
import { restoreSnapshot, takeSnapshot } from '../../src/machine/snapshot';
import { qemuAvailable } from '../support/qemu';
import { probeImage, runOnMachine, runOnQemu } from './probeKernel';

const PROBE = probeImage(`
%define APIC 0xfee00000

main:
  set_gate 0x20, pit_irq
  set_gate 0x40, apic_timer
  remap_pics 0xfe                ; only IRQ 0 unmasked
  ; PIT channel 0: rate generator, 11932
  mov al, 0x34
  out 0x43, al
  mov ax, 11932
  out 0x40, al
  mov al, ah
  out 0x40, al
  mov dword [APIC + 0x3e0], 0x3          ; divide by 16
  mov dword [APIC + 0x320], 0x00020040   ; periodic, vector 0x40
  sti
  mov ebx, 1
  call wait_pit
  mov dword [APIC + 0x380], 62000
  mov ebx, 11
  call wait_pit
  mov dword [APIC + 0x380], 0            ; stops the timer
  mov eax, [apic_ticks]
  call hex32
  call space
  ; one-shot: count the PIT ticks until it fires
  mov dword [apic_ticks], 0
  mov ebx, 12
  call wait_pit
  mov dword [APIC + 0x320], 0x00000040   ; one-shot, vector 0x40
  mov dword [APIC + 0x380], 2812500
.oneshot:
  hlt
  cmp dword [apic_ticks], 0
  je .oneshot
  mov eax, [pit_ticks]
  sub eax, 12
  call hex32
  call space
  mov eax, [APIC + 0x390]
  call hex32
  call nl
  jmp exit

; waits until pit_ticks reaches EBX
wait_pit:
  hlt
  cmp [pit_ticks], ebx
  jb wait_pit
  ret

pit_irq:
  inc dword [pit_ticks]
  push eax
  mov al, 0x20
  out 0x20, al
  pop eax
  iret
apic_timer:
  inc dword [apic_ticks]
  mov dword [APIC + 0xb0], 0
  iret

pit_ticks: dd 0
apic_ticks: dd 0
`);

function counts(output: string): number[] {
  return output.trim().split(' ').map((h) => parseInt(h, 16));
}

describe('APIC timer against the PIT', () => {
  it('fires 100 times in 10 PIT periods at 0.992 ms, and once after 4 PIT ticks in one-shot mode', () => {
    expect(counts(runOnMachine(PROBE))).toEqual([100, 4, 0]);
  });

  it.skipIf(!qemuAvailable())('QEMU counts the same on an instruction-count clock', async () => {
    expect(counts(await runOnQemu(PROBE, { icount: true }))).toEqual([100, 4, 0]);
  });

  it('runs the same from a snapshot taken with the timer counting and an interrupt in service', () => {
    const m = new Machine();
    let out = '';
    m.onSerialOutput = (b) => { out += String.fromCharCode(b); };
    m.load(PROBE);
    // Into the periodic count, with an APIC timer interrupt in service.
    while (m.lapic.registers().isr[2] === 0) m.runSlice(1);
    const snapshot = takeSnapshot(m);
    const end = m.run();
    const first = out;
    out = '';
    restoreSnapshot(m, snapshot);
    expect(m.run()).toEqual(end);
    expect(out).toBe(first);
    expect(first).toBe('00000064 00000004 00000000\n');
  });
});
