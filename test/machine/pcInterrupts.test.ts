/**
 * How the 8259s and the local APIC reach the processor's INTR: through LINT0 in ExtINT mode as
 * SeaBIOS leaves it (a kernel that masks LINT0 stops the 8259's interrupts, under QEMU too),
 * through the IMCR, and with the 8259's ExtINT taken before the APIC's own interrupts.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine';
import { qemuAvailable } from '../support/qemu';
import { probeImage, runOnMachine, runOnQemu } from './probeKernel';

const PROBE = probeImage(`
%define APIC 0xfee00000
main:
  set_gate 0x08, pit_isr           ; SeaBIOS's 8259 vectors: IRQ 0 is vector 8
  set_gate 0x50, apic_timer_isr
  mov al, 0x34                     ; PIT channel 0 at 100 Hz
  out 0x43, al
  mov ax, 11932
  out 0x40, al
  mov al, ah
  out 0x40, al
  mov dword [APIC + 0x350], 0x18700  ; LINT0 masked
  mov dword [APIC + 0x3e0], 3
  mov dword [APIC + 0x320], 0x50
  mov dword [APIC + 0x380], 3125000  ; wake after 50 ms
  sti
.masked:
  hlt
  cmp dword [timer_fired], 0
  je .masked
  mov eax, [pit_count]
  call hex32
  call space
  mov dword [APIC + 0x350], 0x8700   ; unmasked again: the PIT is back
.unmasked:
  hlt
  cmp dword [pit_count], 3
  jb .unmasked
  cli
  mov eax, [pit_count]
  call hex32
  call nl
  jmp exit
pit_isr:
  inc dword [pit_count]
  push eax
  mov al, 0x20
  out 0x20, al
  pop eax
  iret
apic_timer_isr:
  inc dword [timer_fired]
  mov dword [APIC + 0xb0], 0
  iret
pit_count: dd 0
timer_fired: dd 0
`);

describe('the 8259 through LINT0', () => {
  it('is held back while LINT0 is masked', () => {
    expect(runOnMachine(PROBE)).toBe('00000000 00000003\n');
  });

  it.skipIf(!qemuAvailable())('as in QEMU', async () => {
    expect(await runOnQemu(PROBE, { icount: true })).toBe(runOnMachine(PROBE));
  });
});

describe('INTR arbitration and the IMCR', () => {
  /** A machine with ISA IRQ 0 raised (unmasked in SeaBIOS's 8259 setup). */
  function raised() {
    const m = new Machine();
    m.interrupts.isaIrq(0, true);
    const apic = (offset: number, v: number): void => m.mmio.write(0xfee00000 + offset, 4, v);
    return { m, apic };
  }

  it('lets the 8259 past a masked LINT0 in PIC mode (IMCR bit 0 = 0)', () => {
    const { m, apic } = raised();
    expect(m.intrPending()).toBe(true);
    apic(0x350, 0x18700);
    expect(m.intrPending()).toBe(false);
    m.io.write(0x22, 1, 0x70);
    expect(m.io.read(0x23, 1)).toBe(1);   // QEMU has no IMCR: routed to the APIC, like QEMU
    m.io.write(0x23, 1, 0);
    expect(m.intrPending()).toBe(true);
    expect(m.intrAcknowledge()).toBe(0x08);
  });

  it('reads 0xFF at port 0x22, and at 0x23 unless the IMCR is selected', () => {
    const m = new Machine();
    expect([m.io.read(0x22, 1), m.io.read(0x23, 1)]).toEqual([0xff, 0xff]);
    m.io.write(0x22, 1, 0x71);
    expect(m.io.read(0x23, 1)).toBe(0xff);
  });

  it('takes the 8259 ExtINT first, then the APIC interrupt by priority', () => {
    const { m, apic } = raised();
    apic(0x300, 0x00044061);
    apic(0x300, 0x00044090);
    expect([m.intrAcknowledge(), m.intrAcknowledge()]).toEqual([0x08, 0x90]);
    expect(m.intrPending()).toBe(false);   // 0x61 is below the in-service 0x90's class
    apic(0xb0, 0);
    expect(m.intrPending()).toBe(true);
    expect(m.intrAcknowledge()).toBe(0x61);
  });

  it('passes the 8259 straight through when IA32_APIC_BASE disables the APIC', () => {
    const { m, apic } = raised();
    apic(0x350, 0x18700);
    m.cpu.apicBase = 0xfee00100;
    expect(m.intrPending()).toBe(true);
  });
});
