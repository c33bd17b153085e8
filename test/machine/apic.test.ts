/**
 * The local APIC and I/O APIC registers. Against qemu-system-i386 7.2: IA32_APIC_BASE and every
 * register as a Multiboot kernel finds them (SeaBIOS's settings), QEMU's access rules, register
 * writes, and fixed self-IPIs by priority. Then, on the device alone, what the SDM specifies and
 * QEMU does differently (each test says where), with values worked out from the SDM.
 */
import { describe, expect, it } from 'vitest';
import { DeliveryMode, LocalApic } from '../../src/machine/localApic';
import { qemuAvailable } from '../support/qemu';
import { probeImage, runOnMachine, runOnQemu } from './probeKernel';

const APIC = 0xfee00000;
/** Every implemented register, in address order (ISR, TMR and IRR are 0x100-0x270). */
const REGISTERS = [0x20, 0x30, 0x80, 0x90, 0xa0, 0xd0, 0xe0, 0xf0,
  ...Array.from({ length: 24 }, (_, k) => 0x100 + 0x10 * k), 0x280, 0x300, 0x310,
  0x320, 0x330, 0x340, 0x350, 0x360, 0x370, 0x380, 0x390, 0x3e0];

const PROBE = probeImage(`
%define APIC 0xfee00000
%define IOREGSEL 0xfec00000
%define IOWIN 0xfec00010

%macro apic_write 2
  mov dword [APIC + %1], %2
%endmacro
%macro apic_print 1
  mov eax, [APIC + %1]
  call hex32
  call space
%endmacro
%macro ioapic_print 1
  mov dword [IOREGSEL], %1
  mov eax, [IOWIN]
  call hex32
  call space
%endmacro

main:
  set_gate 0x40, isr40
  set_gate 0x41, isr41
  set_gate 0x45, isr45
  set_gate 0x46, isr46
  set_gate 0x80, isr80
  title 'IA32_APIC_BASE'
  mov ecx, 0x1b
  rdmsr
  call hex32
  call space
  mov eax, edx
  call hex32
  call nl
  title 'local APIC'
${REGISTERS.map((r) => `  apic_print 0x${r.toString(16)}\n`).join('')}
  call nl
  title 'access widths and offsets'
  xor eax, eax
  mov al, [APIC + 0x30]       ; narrower than 32 bits: 0
  call hex32
  mov ax, [APIC + 0x30]
  call hex32
  mov eax, [APIC + 0x34]      ; offset bits 3:0 are ignored
  call hex32
  mov dword [APIC + 0x80], 0x20
  mov word [APIC + 0x80], 0x30 ; dropped
  mov eax, [APIC + 0x80]
  call hex32
  call nl
  title 'I/O APIC'
%assign r 0
%rep 0x41
  ioapic_print r
%assign r r + 1
%endrep
  mov byte [IOREGSEL], 1
  mov eax, [IOREGSEL]
  call hex32
  mov eax, [IOREGSEL + 0x110]  ; the window repeats every 256 bytes
  call hex32
  xor eax, eax
  mov ax, [IOWIN]              ; IOWIN takes 32-bit accesses only
  call hex32
  call nl
  title 'writes'
  apic_write 0x20, 0x05000000
  apic_print 0x20
  apic_write 0x20, 0
  apic_write 0xd0, 0x81000000
  apic_print 0xd0
  apic_write 0xe0, 0x0fffffff
  apic_print 0xe0
  apic_write 0xe0, 0xffffffff
  apic_write 0x80, 0x1ff
  apic_print 0x80
  apic_write 0x80, 0x35
  apic_print 0xa0
  apic_write 0x80, 0
  apic_write 0x320, 0x000200f0
  apic_print 0x320
  apic_write 0x320, 0x00010000
  apic_write 0x310, 0xff000000
  apic_print 0x310
  apic_write 0x310, 0
  apic_write 0x3e0, 0x0b
  apic_print 0x3e0
  apic_write 0x3e0, 0
  mov dword [IOREGSEL], 0
  mov dword [IOWIN], 0xff000000
  ioapic_print 0
  ioapic_print 2
  mov dword [IOREGSEL], 0
  mov dword [IOWIN], 0
  mov dword [IOREGSEL], 0x1a
  mov dword [IOWIN], 0xffffffff
  mov dword [IOREGSEL], 0x1b
  mov dword [IOWIN], 0xffffffff
  ioapic_print 0x1a
  ioapic_print 0x1b
  mov dword [IOREGSEL], 0x1a
  mov dword [IOWIN], 0x00010000
  mov dword [IOREGSEL], 0x1b
  mov dword [IOWIN], 0
  call nl
  title 'self IPIs'
  sti
  apic_write 0x300, 0x00044040    ; self, fixed, vector 0x40
  jmp .taken
.taken:
  apic_write 0x80, 0x50           ; TPR class 5 holds back vector 0x45
  apic_write 0x300, 0x00044045
  jmp .held
.held:
  apic_print 0x220
  apic_write 0x80, 0
  jmp .lowered
.lowered:
  apic_write 0x300, 0x0004c046    ; level-triggered: its TMR bit is set
  jmp .level
.level:
  cli
  apic_print 0x1a0
  apic_print 0x100
  apic_print 0x120
  apic_print 0x280
  call nl
  jmp exit

; 0x40: PPR and ISR in service; a vector of the same class waits, a higher one nests.
isr40:
  mov al, 'A'
  call putc
  call space
  apic_print 0xa0
  apic_print 0x120
  apic_write 0x300, 0x00044041
  apic_write 0x300, 0x00044080
  sti
  jmp .nest
.nest:
  cli
  apic_print 0x220
  apic_write 0xb0, 0
  iret
isr41:
  mov al, 'B'
  call putc
  call space
  apic_write 0xb0, 0
  iret
isr45:
  mov al, 'D'
  call putc
  call space
  apic_write 0xb0, 0
  iret
isr46:
  mov al, 'E'
  call putc
  call space
  apic_print 0x1a0
  apic_write 0xb0, 0
  iret
isr80:
  mov al, 'C'
  call putc
  call space
  apic_print 0xa0
  apic_write 0xb0, 0
  iret
`);

describe.skipIf(!qemuAvailable())('APIC registers against qemu-system-i386 7.2', () => {
  it('reads, writes and self-IPIs give what QEMU gives', async () => {
    const ours = runOnMachine(PROBE);
    const qemu = await runOnQemu(PROBE);
    expect(ours).toBe(qemu);
    // SeaBIOS left the APIC enabled with LINT0 ExtINT and LINT1 NMI; the IPIs ran by priority.
    expect(ours).toContain('== IA32_APIC_BASE\nFEE00900 00000000');
    expect(ours).toContain('000001FF');
    expect(ours).toContain('A 00000040 00000001 C 00000080 00000002 B 00000020 D E 00000040');
  });
});

/** An APIC alone, IA32_APIC_BASE enabled unless `msr` says otherwise; `eois` collects EOI broadcasts. */
function apic(msr = 0xfee00900) {
  const eois: number[] = [];
  const a = new LocalApic(() => msr, (v) => eois.push(v));
  const w = (offset: number, v: number): void => a.write(APIC + offset, 4, v);
  const r = (offset: number): number => a.read(APIC + offset, 4);
  w(0xf0, 0x1ff);
  return { a, w, r, eois };
}

describe('local APIC, as the SDM has it', () => {
  it('latches errors into the ESR on a write, not as they happen (SDM 10.5.3; QEMU reads them live)', () => {
    const { w, r } = apic();
    r(0x40);                    // reserved: illegal register address
    expect(r(0x280)).toBe(0);
    w(0x280, 0);
    expect(r(0x280)).toBe(0x80);
    w(0x300, 0x00040005);       // self IPI with vector 5: send illegal vector
    expect(r(0x280)).toBe(0x80);
    w(0x280, 0);
    expect(r(0x280)).toBe(0x20);
    w(0x280, 0);
    expect(r(0x280)).toBe(0);
  });

  it('raises the LVT error interrupt for an error', () => {
    const { a, w, r } = apic();
    w(0x370, 0x33);
    r(0x3f0);
    expect(a.hasInterrupt()).toBe(true);
    expect(a.acknowledge()).toBe(0x33);
  });

  it('masks every LVT entry when software-disabled, and keeps them masked (SDM 10.4.7.2; QEMU does not)', () => {
    const { a, w, r } = apic();
    w(0x350, 0x700);
    expect(a.passesExtInt()).toBe(true);
    w(0xf0, 0xff);
    expect(r(0x350)).toBe(0x10700);
    w(0x350, 0x700);
    expect(r(0x350)).toBe(0x10700);
    expect(a.passesExtInt()).toBe(false);
  });

  it('delivers nothing when IA32_APIC_BASE disables it, and lets the 8259 through', () => {
    const { a, w, r } = apic(0xfee00100);
    w(0x300, 0x00044040);
    w(0x350, 0x10700);
    expect(a.hasInterrupt()).toBe(false);
    expect(a.passesExtInt()).toBe(true);
    expect(r(0xf0)).toBe(0xff);   // software enable reads clear, as QEMU clears it
  });

  it('keeps only the SDM-defined bits of LVT and ICR writes, and reads delivery status 0', () => {
    const { w, r } = apic();
    w(0x320, 0xffffffff);
    expect(r(0x320)).toBe(0x000300ff);   // vector, mask, periodic (no TSC-deadline on this CPU)
    w(0x350, 0xffffffff);
    expect(r(0x350)).toBe(0x0001a7ff);   // vector, mode, polarity, trigger, mask
    w(0x370, 0xffffffff);
    expect(r(0x370)).toBe(0x000100ff);
    w(0x310, 0xffffffff);
    expect(r(0x310)).toBe(0xff000000);
    w(0x300, 0x000c4500 | (1 << 12));    // INIT to all others; bit 12 is read-only
    expect(r(0x300)).toBe(0x000c4500);
  });

  it('accepts a message for its physical ID, a flat logical mask, or its cluster', () => {
    const { a, w } = apic();
    const message = (destination: number, logical: boolean, vector: number) =>
      a.receive({ vector, mode: DeliveryMode.Fixed, logical, destination, levelTriggered: false });
    w(0x20, 0x03000000);
    message(2, false, 0x50);
    message(3, false, 0x51);
    w(0xd0, 0x04000000);                 // flat: logical ID bit 2
    message(0x03, true, 0x52);
    message(0x0c, true, 0x53);
    w(0xe0, 0x0fffffff);                 // cluster model: cluster 0, member bit 2
    w(0xd0, 0x14000000);                 // cluster 1, member bit 2
    message(0x04, true, 0x54);
    message(0x16, true, 0x55);
    const irr = a.registers().irr[2];
    expect(irr.toString(2)).toBe((1 << (0x51 - 0x40) | 1 << (0x53 - 0x40) | 1 << (0x55 - 0x40)).toString(2));
  });

  it('records INIT and SIPI for the other processors and delivers them to nobody', () => {
    const { a, w } = apic();
    const seen: number[] = [];
    a.onIpi = (ipi) => seen.push(ipi.mode);
    w(0x310, 0x01000000);
    w(0x300, 0x0000c500);                // INIT assert to APIC ID 1
    w(0x300, 0x00008500);                // INIT de-assert
    w(0x300, 0x00004608);                // SIPI, vector 8: start at 0x8000
    expect(seen).toEqual([DeliveryMode.Init, DeliveryMode.Init, DeliveryMode.Startup]);
    expect(a.recentIpis.map((i) => [i.deassert, i.vector, i.destination])).toEqual([[false, 0, 1], [true, 0, 1], [false, 8, 1]]);
    expect(a.hasInterrupt()).toBe(false);
  });

  it('broadcasts the EOI of a level-triggered vector only', () => {
    const { a, w, eois } = apic();
    w(0x300, 0x0004c060);                // level
    w(0x300, 0x00044061);                // edge
    expect(a.acknowledge()).toBe(0x61);
    w(0xb0, 0);
    expect(a.acknowledge()).toBe(0x60);
    w(0xb0, 0);
    expect(eois).toEqual([0x60]);
  });
});

describe('APIC timer', () => {
  it('counts down one tick per divide bus cycles and interrupts once in one-shot mode', () => {
    const { a, w, r } = apic();
    w(0x3e0, 0x3);                       // divide by 16: one tick per 16 ns
    w(0x320, 0x30);                      // one-shot, vector 0x30
    a.advanceTo(1000);
    w(0x380, 100);                       // 100 ticks: 0 at 1000 + 1600 ns
    a.advanceTo(1000 + 16 * 40 + 15);
    expect(r(0x390)).toBe(60);
    expect(a.nextEventNs()).toBe(2600);
    a.advanceTo(2599);
    expect(a.hasInterrupt()).toBe(false);
    a.advanceTo(2600);
    expect(r(0x390)).toBe(0);
    expect(a.acknowledge()).toBe(0x30);
    w(0xb0, 0);
    a.advanceTo(100_000);
    expect(a.hasInterrupt()).toBe(false);
    expect(a.nextEventNs()).toBe(Infinity);
  });

  it('reloads in periodic mode every initial-count ticks (SDM 10.5.4; QEMU takes one tick more)', () => {
    const { a, w, r } = apic();
    w(0x3e0, 0xb);                       // divide by 1
    w(0x320, 0x20031);                   // periodic, vector 0x31
    w(0x380, 10);
    a.advanceTo(9);
    expect(r(0x390)).toBe(1);
    a.advanceTo(10);
    expect(r(0x390)).toBe(10);
    expect(a.acknowledge()).toBe(0x31);
    w(0xb0, 0);
    expect(a.nextEventNs()).toBe(20);
    a.advanceTo(25);
    expect(r(0x390)).toBe(5);
    expect(a.acknowledge()).toBe(0x31);
  });

  it('goes on from the current count when the divider changes, and counts masked without interrupting', () => {
    const { a, w, r } = apic();
    w(0x3e0, 0xb);
    w(0x320, 0x10032);                   // one-shot, masked
    w(0x380, 100);
    a.advanceTo(40);
    w(0x3e0, 0x0);                       // divide by 2 from here: 60 ticks of 2 ns
    expect(r(0x390)).toBe(60);
    a.advanceTo(40 + 2 * 59);
    expect(r(0x390)).toBe(1);
    expect(a.nextEventNs()).toBe(Infinity);
    a.advanceTo(40 + 2 * 60);
    expect(r(0x390)).toBe(0);
    expect(a.hasInterrupt()).toBe(false);
  });
});
