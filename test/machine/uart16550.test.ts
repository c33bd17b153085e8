import { describe, expect, it } from 'vitest';
import { IoBus } from '../../src/machine/ioBus';
import { Uart16550 } from '../../src/machine/uart16550';

const COM1 = 0x3f8;
const RBR = COM1, THR = COM1, IER = COM1 + 1, IIR = COM1 + 2, FCR = COM1 + 2, LCR = COM1 + 3;
const MCR = COM1 + 4, LSR = COM1 + 5, MSR = COM1 + 6, SCR = COM1 + 7;

function rig() {
  const irq: boolean[] = [];
  const sent: number[] = [];
  const uart = new Uart16550((level) => irq.push(level));
  uart.onTransmit = (byte) => sent.push(byte);
  const bus = new IoBus();
  bus.register(COM1, 8, uart);
  const line = () => irq.at(-1) ?? false;
  return {
    uart, irq, sent, line,
    out: (port: number, value: number) => bus.write(port, 1, value),
    in: (port: number) => bus.read(port, 1),
  };
}

describe('16550A reset state', () => {
  it('matches what a guest reads under QEMU 7.2 (probe kernel): 00 01 00 08 60 B0 00, divisor 12', () => {
    const u = rig();
    expect([IER, IIR, LCR, MCR, LSR, MSR, SCR].map(u.in)).toEqual([0x00, 0x01, 0x00, 0x08, 0x60, 0xb0, 0x00]);
    u.out(LCR, 0x80); // DLAB
    expect([u.in(COM1), u.in(COM1 + 1)]).toEqual([0x0c, 0x00]); // 115200 / 12 = 9600 baud
    expect(u.irq).toEqual([]);
  });
});

describe('16550A transmitter', () => {
  it('hands each THR byte to onTransmit at once; LSR keeps THRE and TEMT set', () => {
    const u = rig();
    u.out(THR, 0x48);
    u.out(THR, 0x69);
    expect(u.sent).toEqual([0x48, 0x69]);
    expect(u.in(LSR)).toBe(0x60);
  });

  it('DLAB = 1 maps offsets 0 and 1 to the divisor latch, not THR and IER', () => {
    const u = rig();
    u.out(LCR, 0x83);
    u.out(COM1, 0x01);
    u.out(COM1 + 1, 0x00);
    expect(u.sent).toEqual([]);
    expect(u.in(COM1)).toBe(0x01);
    u.out(LCR, 0x03);
    expect(u.in(IER)).toBe(0x00);
    u.out(SCR, 0x5a); // scratch register holds a byte
    expect(u.in(SCR)).toBe(0x5a);
  });
});

describe('16550A THR empty interrupt', () => {
  it('reading IIR when it reports THRE clears that interrupt (datasheet "Interrupt Reset Control")', () => {
    const u = rig();
    u.out(IER, 0x02);
    expect(u.line()).toBe(true);
    expect(u.in(IIR)).toBe(0x02);
    expect(u.line()).toBe(false);
    expect(u.in(IIR)).toBe(0x01);
  });

  it('writing THR re-arms it with a fresh edge, since the byte leaves at once', () => {
    const u = rig();
    u.out(IER, 0x02);
    u.in(IIR);
    const before = u.irq.length;
    u.out(THR, 0x41);
    expect(u.irq.slice(before)).toEqual([true]);
    // With THRE still pending, a write drops the line and raises it again: the PIC, which is
    // edge-triggered, gets a new request for every byte.
    u.irq.length = 0;
    u.out(THR, 0x42);
    expect(u.irq).toEqual([false, true]);
    expect(u.in(IIR)).toBe(0x02);
  });

  it('setting IER.THRI again while THR is empty raises it again (QEMU, Bochs)', () => {
    const u = rig();
    u.out(IER, 0x02);
    u.in(IIR);
    u.out(IER, 0x00);
    u.out(IER, 0x02);
    expect(u.in(IIR)).toBe(0x02);
  });

  it('MCR OUT2 does not gate the interrupt line, as in QEMU (checked with a probe kernel)', () => {
    const u = rig();
    u.out(MCR, 0x00);
    u.out(IER, 0x02);
    expect(u.line()).toBe(true);
  });
});

describe('16550A loopback (MCR bit 4)', () => {
  it('routes THR to RBR, reflects the modem outputs in MSR, and sets OE on overrun', () => {
    const u = rig();
    u.out(MCR, 0x1f);
    // OUT2 -> DCD, OUT1 -> RI, DTR -> DSR, RTS -> CTS; QEMU shows no delta bits.
    expect(u.in(MSR)).toBe(0xf0);
    u.out(THR, 0x41);
    expect(u.sent).toEqual([]);
    expect(u.in(LSR)).toBe(0x61);
    expect(u.in(RBR)).toBe(0x41);
    expect(u.in(LSR)).toBe(0x60);
    u.out(THR, 0x42);
    u.out(THR, 0x43); // RBR not read: overrun, the new byte replaces the old (16450 mode)
    expect(u.in(LSR)).toBe(0x63);
    expect(u.in(LSR)).toBe(0x61); // reading LSR clears OE
    expect(u.in(RBR)).toBe(0x43);
    u.out(MCR, 0x13);
    expect(u.in(MSR)).toBe(0x30);
    u.out(MCR, 0x08);
    expect(u.in(MSR)).toBe(0xb0);
  });
});

describe('16550A interrupt priorities', () => {
  it('line status > received data > THR empty, each cleared by its own action', () => {
    const u = rig();
    u.out(MCR, 0x10);
    u.out(THR, 1);
    u.out(THR, 2); // overrun: OE and DR
    u.out(IER, 0x07);
    expect(u.in(IIR)).toBe(0x06); // receiver line status
    u.in(LSR); // clears OE
    expect(u.in(IIR)).toBe(0x04); // received data available
    u.in(RBR);
    expect(u.in(IIR)).toBe(0x02); // THR empty
    expect(u.in(IIR)).toBe(0x01);
    expect(u.line()).toBe(false);
  });
});

describe('16550A receiver and FIFOs', () => {
  it('16450 mode: one byte in RBR at a time, the next arrives when it is read, none lost', () => {
    const u = rig();
    u.uart.receive(new TextEncoder().encode('abc'));
    const got: number[] = [];
    while (u.in(LSR) & 0x01) got.push(u.in(RBR));
    expect(String.fromCharCode(...got)).toBe('abc');
    expect(u.in(LSR)).toBe(0x60); // no overrun
  });

  it('FCR enables the FIFOs (IIR bits 7-6 = 11) and the RX FIFO holds 16 bytes', () => {
    const u = rig();
    u.out(FCR, 0xc7);
    expect(u.in(IIR)).toBe(0xc1);
    const input = Uint8Array.from({ length: 40 }, (_, i) => i);
    u.uart.receive(input);
    const got: number[] = [];
    while (u.in(LSR) & 0x01) got.push(u.in(RBR));
    expect(got).toEqual([...input]);
    u.out(FCR, 0x00);
    expect(u.in(IIR)).toBe(0x01);
  });

  it('received-data interrupt at the FIFO trigger level (FCR bits 7-6 = 11: 14 bytes)', () => {
    const u = rig();
    u.out(FCR, 0xc1);
    u.out(IER, 0x01);
    u.out(MCR, 0x10); // loopback, to feed the receiver byte by byte
    for (let i = 0; i < 13; i++) u.out(THR, i);
    expect(u.in(IIR)).toBe(0xc1);
    u.out(THR, 13);
    expect(u.in(IIR)).toBe(0xc4);
    expect(u.line()).toBe(true);
  });

  it('character timeout after 4 character times with data below the trigger level', () => {
    const u = rig();
    u.uart.advanceTo(1_000_000);
    u.out(FCR, 0xc1);
    u.out(IER, 0x01);
    u.uart.receive(new Uint8Array([1, 2, 3]));
    // 9600 baud 8N1: floor(1e9 / 9600) = 104,166 ns per bit (QEMU's integer arithmetic),
    // 10 bits per character, 4 characters: 4,166,640 ns.
    expect(u.uart.nextEventNs()).toBe(1_000_000 + 4_166_640);
    u.uart.advanceTo(1_000_000 + 4_166_639);
    expect(u.in(IIR)).toBe(0xc1);
    u.uart.advanceTo(1_000_000 + 4_166_640);
    expect(u.in(IIR)).toBe(0xcc);
    expect(u.line()).toBe(true);
    // Reading RBR clears the timeout and restarts the timer while data remains.
    u.uart.advanceTo(6_000_000);
    expect(u.in(RBR)).toBe(1);
    expect(u.in(IIR)).toBe(0xc1);
    expect(u.uart.nextEventNs()).toBe(6_000_000 + 4_166_640);
  });

  it('the character time follows the divisor and LCR (115200 baud, 7E2: 11 bits)', () => {
    const u = rig();
    u.out(LCR, 0x80);
    u.out(COM1, 1);
    u.out(LCR, 0x1e); // 7 data bits, even parity, 2 stop bits
    u.out(FCR, 0xc1);
    u.uart.receive(new Uint8Array([7]));
    // floor(1e9 / 115200) = 8680 ns per bit; 1 + 7 + 1 + 2 = 11 bits; times 4.
    expect(u.uart.nextEventNs()).toBe(4 * 11 * 8680);
  });
});
