import { describe, expect, it } from 'vitest';
import { Cmos } from '../../src/machine/cmos';
import { IoBus } from '../../src/machine/ioBus';

const MiB = 1024 * 1024;
const S = 1_000_000_000;

function rig(opts: { epochSeconds?: number; ramBytes?: number } = {}) {
  const irq: boolean[] = [];
  const cmos = new Cmos(opts.ramBytes ?? 64 * MiB, (level) => irq.push(level), opts);
  const bus = new IoBus();
  bus.registerRanges(cmos.ports);
  const read = (index: number) => { bus.write(0x70, 1, index); return bus.read(0x71, 1); };
  const write = (index: number, value: number) => { bus.write(0x70, 1, index); bus.write(0x71, 1, value); };
  /** Seconds, minutes, hours, day of week, day of month, month, year, century. */
  const clock = () => [0x00, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, 0x32].map(read);
  const line = () => irq.at(-1) ?? false;
  return { cmos, bus, irq, read, write, clock, line, at: (t: number) => cmos.advanceTo(t) };
}

describe('MC146818 clock registers', () => {
  it('start at 2000-01-01 00:00:00 UTC, a Saturday (day 7), in BCD 24-hour mode', () => {
    const r = rig();
    expect(r.clock()).toEqual([0x00, 0x00, 0x00, 0x07, 0x01, 0x01, 0x00, 0x20]);
    expect(r.read(0x0a)).toBe(0x26); // 32.768 kHz divider, 1024 Hz rate (QEMU's reset value)
    expect(r.read(0x0b)).toBe(0x02); // 24-hour, BCD
    expect(r.read(0x0d)).toBe(0x80); // valid RAM and time
  });

  it('encode a known time in BCD: 2024-02-29 13:45:56 UTC (Unix 1709214356), a Thursday', () => {
    const r = rig({ epochSeconds: 1_709_214_356 });
    r.at(3.5 * S);
    // 56 + 3 = 59 s; Sunday = 1 so Thursday = 5; year 24, century 20, each digit in a nibble.
    expect(r.clock()).toEqual([0x59, 0x45, 0x13, 0x05, 0x29, 0x02, 0x24, 0x20]);
    r.at(4 * S);
    expect(r.clock().slice(0, 3)).toEqual([0x00, 0x46, 0x13]);
  });

  it('binary mode (status B bit 2) and 12-hour mode (bit 1 = 0, bit 7 of hours = PM)', () => {
    const r = rig({ epochSeconds: 1_709_214_356 });
    r.write(0x0b, 0x06); // binary, 24-hour
    expect(r.clock()).toEqual([56, 45, 13, 5, 29, 2, 24, 20]);
    r.write(0x0b, 0x00); // BCD, 12-hour: 13:45 is 1 PM
    expect(r.read(0x04)).toBe(0x81);
    r.write(0x0b, 0x04); // binary, 12-hour
    expect(r.read(0x04)).toBe(0x81);
  });

  it('carries the year into the century byte at 1999-12-31 23:59:59 + 1 s', () => {
    const r = rig({ epochSeconds: 946_684_799 });
    expect(r.clock()).toEqual([0x59, 0x59, 0x23, 0x06, 0x31, 0x12, 0x99, 0x19]);
    r.at(1 * S);
    expect(r.clock()).toEqual([0x00, 0x00, 0x00, 0x07, 0x01, 0x01, 0x00, 0x20]);
    expect(r.read(0x37)).toBe(0x20); // the IBM PS/2 century byte aliases 0x32 (QEMU)
  });

  it('SET stops updates for the guest to write the time; clearing it runs from there', () => {
    const r = rig();
    r.at(2.25 * S);
    r.write(0x0b, 0x82); // SET
    for (const [i, v] of [[0x00, 0x56], [0x02, 0x45], [0x04, 0x13], [0x07, 0x29], [0x08, 0x02], [0x09, 0x24]]) {
      r.write(i, v);
    }
    r.at(5.25 * S);
    expect(r.read(0x00)).toBe(0x56); // frozen while SET
    r.write(0x0b, 0x02);
    // SET does not stop the divider chain, so updates keep their phase (QEMU keeps it the same
    // way): the clock started at 0, so the next update is at 6 s, 0.75 s after SET is cleared.
    r.at(6 * S - 1);
    expect(r.read(0x00)).toBe(0x56);
    r.at(6 * S);
    expect(r.clock()).toEqual([0x57, 0x45, 0x13, 0x05, 0x29, 0x02, 0x24, 0x20]);
  });

  it('a divider reset stops the clock; leaving it puts the first update half a second later', () => {
    const r = rig();
    r.at(3.1 * S);
    r.write(0x0a, 0x76); // divider held in reset
    r.at(10 * S);
    expect(r.read(0x00)).toBe(0x03);
    r.write(0x0a, 0x26);
    r.at(10.5 * S - 1);
    expect(r.read(0x00)).toBe(0x03);
    r.at(10.5 * S);
    expect(r.read(0x00)).toBe(0x04);
  });
});

describe('MC146818 status A UIP', () => {
  it('reads 1 during the last 244 us (8 cycles of 32.768 kHz) before each update', () => {
    const r = rig();
    // 8 / 32768 s = 244,140.625 ns; QEMU's integer UIP_HOLD_LENGTH is 244,140.
    r.at(S - 244_141);
    expect(r.read(0x0a)).toBe(0x26);
    r.at(S - 244_140);
    expect(r.read(0x0a)).toBe(0xa6);
    r.at(S);
    expect(r.read(0x0a)).toBe(0x26);
    r.write(0x0a, 0xa6); // UIP is read-only
    expect(r.read(0x0a)).toBe(0x26);
  });
});

describe('MC146818 interrupts on IRQ 8', () => {
  it('periodic interrupt at the rate select: RS = 6 is 1024 Hz, a period of 976,562.5 ns', () => {
    const r = rig();
    r.write(0x0b, 0x42); // PIE
    expect(r.cmos.nextEventNs()).toBe(976_563); // 32 cycles of 32.768 kHz, rounded up to a ns
    r.at(976_562);
    expect(r.line()).toBe(false);
    r.at(976_563);
    expect(r.line()).toBe(true);
    expect(r.read(0x0c)).toBe(0xc0); // IRQF | PF, and the read clears C
    expect(r.line()).toBe(false);
    expect(r.read(0x0c)).toBe(0x00);
    expect(r.cmos.nextEventNs()).toBe(1_953_125); // second period: 2 * 976,562.5
    r.write(0x0a, 0x2f); // RS = 15: 2 Hz
    expect(r.cmos.nextEventNs()).toBe(500_000_000);
    r.write(0x0a, 0x23); // RS = 3: 8192 Hz, 4 cycles = 122,070.3125 ns
    expect(r.cmos.nextEventNs()).toBe(1_098_633); // 9 * 122,070.3125 = 1,098,632.8
  });

  it('sets PF at the periodic rate without PIE, but does not interrupt (datasheet)', () => {
    const r = rig();
    r.at(2 * S);
    expect(r.cmos.nextEventNs()).toBe(Infinity);
    expect(r.read(0x0c)).toBe(0x50); // PF and UF, no IRQF
    expect(r.irq).toEqual([]);
  });

  it('update-ended interrupt once a second with UIE', () => {
    const r = rig();
    r.write(0x0b, 0x12); // UIE
    expect(r.cmos.nextEventNs()).toBe(S);
    r.at(S);
    expect(r.line()).toBe(true);
    expect(r.read(0x0c)).toBe(0xd0); // IRQF | UF, and PF from the 1024 Hz tap
    expect(r.cmos.nextEventNs()).toBe(2 * S);
  });

  it('alarm interrupt when the time matches; bits 7-6 set in an alarm byte match anything', () => {
    const r = rig();
    r.write(0x01, 0x05); // 00:00:05
    r.write(0x03, 0x00);
    r.write(0x05, 0x00);
    r.write(0x0b, 0x22); // AIE
    expect(r.cmos.nextEventNs()).toBe(5 * S);
    r.at(5 * S);
    expect(r.read(0x0c)).toBe(0xf0); // IRQF | AF | UF, and PF
    r.write(0x03, 0xc0); // any minute
    r.write(0x05, 0xff); // any hour
    r.write(0x01, 0x30);
    expect(r.cmos.nextEventNs()).toBe(30 * S);
    r.at(31 * S);
    r.read(0x0c);
    expect(r.cmos.nextEventNs()).toBe(90 * S); // 00:01:30
  });

  it('enabling an interrupt whose flag is already set raises IRQ 8 at once', () => {
    const r = rig();
    r.at(S); // UF set, UIE off
    expect(r.irq).toEqual([]);
    r.write(0x0b, 0x12);
    expect(r.line()).toBe(true);
  });
});

describe('CMOS memory-size bytes (QEMU pc_cmos_init)', () => {
  it('64 MiB: 640 KiB base, 63 MiB extended, 48 MiB above 16 MiB in 64 KiB blocks', () => {
    const r = rig();
    expect([0x15, 0x16].map(r.read)).toEqual([0x80, 0x02]); // 640 = 0x0280
    expect([0x17, 0x18, 0x30, 0x31].map(r.read)).toEqual([0x00, 0xfc, 0x00, 0xfc]); // 64512 KiB
    expect([0x34, 0x35].map(r.read)).toEqual([0x00, 0x03]); // 768 blocks
    expect([0x5b, 0x5c, 0x5d].map(r.read)).toEqual([0, 0, 0]);
  });

  it('128 MiB clamps the extended size to 65535 KiB (as QEMU 7.2 shows a guest)', () => {
    const r = rig({ ramBytes: 128 * MiB });
    expect([0x17, 0x18, 0x34, 0x35].map(r.read)).toEqual([0xff, 0xff, 0x00, 0x07]);
  });

  it('4 GiB: 3 GiB below 4 GiB and 1 GiB above, as the i440FX machine splits it', () => {
    const r = rig({ ramBytes: 4096 * MiB });
    // (3 GiB - 16 MiB) / 64 KiB = 48896 = 0xBF00; 1 GiB / 64 KiB = 16384 = 0x4000.
    expect([0x34, 0x35, 0x5b, 0x5c, 0x5d].map(r.read)).toEqual([0x00, 0xbf, 0x00, 0x40, 0x00]);
  });
});

describe('CMOS ports', () => {
  it('0x70 selects with bits 6-0, bit 7 masks NMI, reads 0xFF; other bytes are plain RAM', () => {
    const r = rig();
    r.bus.write(0x70, 1, 0x80 | 0x40);
    r.bus.write(0x71, 1, 0x5a);
    expect(r.cmos.nmiMasked).toBe(true);
    expect(r.bus.read(0x70, 1)).toBe(0xff);
    expect(r.read(0x40)).toBe(0x5a);
    expect(r.cmos.nmiMasked).toBe(false);
    r.write(0x0d, 0x00); // status D ignores writes
    expect(r.read(0x0d)).toBe(0x80);
  });
});
