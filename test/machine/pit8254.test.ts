import { describe, expect, it } from 'vitest';
import { IoBus } from '../../src/machine/ioBus';
import { PIT_HZ, Pit8254, pitEdgeTimeNs, pitTicksAt } from '../../src/machine/pit8254';

/** A PIT on a bus, with IRQ 0's level changes recorded against virtual time. */
function rig() {
  const events: { t: number; level: boolean }[] = [];
  let now = 0;
  const pit = new Pit8254((level) => events.push({ t: now, level }));
  const bus = new IoBus();
  bus.registerRanges(pit.ports);
  return {
    pit, events,
    at(t: number) { now = t; pit.advanceTo(t); },
    out(port: number, value: number) { bus.write(port, 1, value); },
    in(port: number) { return bus.read(port, 1); },
    /** Runs the machine's loop: jump to each IRQ 0 event until `until` ns. */
    runTo(until: number) {
      for (let next = pit.nextEventNs(); next <= until; next = pit.nextEventNs()) {
        now = next;
        pit.advanceTo(next);
      }
      now = until;
      pit.advanceTo(until);
    },
  };
}

/** First whole ns at or after CLK edge j: ceil(j * 1e9 / 1193182), computed independently. */
function edgeNs(j: number): number {
  const num = BigInt(j) * 1_000_000_000n, den = BigInt(PIT_HZ);
  return Number((num + den - 1n) / den);
}

const rises = (events: { t: number; level: boolean }[]) => events.filter((e) => e.level).map((e) => e.t);

describe('8254 clock arithmetic', () => {
  it('counts CLK edges at 1,193,182 Hz exactly, even past 2^53 ns * Hz', () => {
    // 500 us: 500e-6 * 1193182 = 596.591 edges -> 596.
    expect(pitTicksAt(500_000)).toBe(596);
    // Ten days: 864000 s * 1193182 = 1,030,909,248,000 edges, plus 0.5 s -> 596,591 more.
    expect(pitTicksAt(864_000_500_000_000)).toBe(1_030_909_248_000 + 596_591);
    expect(pitEdgeTimeNs(1194)).toBe(1_000_686); // 1194 / 1193182 s = 1,000,685.56 ns
    expect(pitEdgeTimeNs(PIT_HZ * 3)).toBe(3_000_000_000);
  });
});

describe('8254 mode 2 (rate generator) on counter 0', () => {
  it('with count 1193 raises IRQ 0 every 1193 CLKs (999,847.47 ns), first N+1 CLKs after the write', () => {
    const r = rig();
    r.at(0);
    r.out(0x43, 0x34); // counter 0, LSB then MSB, mode 2, binary
    r.out(0x40, 0xa9); // 1193 = 0x04A9
    r.out(0x40, 0x04);
    // Datasheet mode 2: the count is loaded on the first CLK edge after the write (edge 1, as
    // edge 0 is at t = 0), OUT goes low when the count reaches 1 (edge 1 + 1192) and high again
    // on the reload one CLK later (edge 1 + 1193): the IRQ 0 edge.
    r.runTo(1_000_000_000);
    const up = rises(r.events);
    expect(up[0]).toBe(1_000_686); // edge 1194
    expect(up[1]).toBe(edgeNs(1 + 2 * 1193)); // 2,000,534 ns
    for (let k = 1; k <= up.length; k++) expect(up[k - 1]).toBe(edgeNs(1 + 1193 * k));
    // 1 s holds floor((1e9 ns - 1,000,686) / 999,847.47) + 1 = 1000 interrupts.
    expect(up.length).toBe(1000);
    // OUT is low for exactly one CLK before each rise.
    const falls = r.events.filter((e) => !e.level).map((e) => e.t);
    expect(falls[0]).toBe(999_848); // edge 1193
  });

  it('reads back the count the datasheet gives at a known time (counter latch command)', () => {
    const r = rig();
    r.at(0);
    r.out(0x43, 0x34);
    r.out(0x40, 0xa9);
    r.out(0x40, 0x04);
    // At 500,000 ns 596 CLK edges have passed; the count was loaded at edge 1 with 1193 and
    // decremented on each of the 595 edges since: 1193 - 595 = 598 = 0x0256.
    r.at(500_000);
    r.out(0x43, 0x00); // latch counter 0
    r.at(700_000); // the latched value does not move
    expect(r.in(0x40)).toBe(0x56);
    expect(r.in(0x40)).toBe(0x02);
    // Unlatched reads follow the counter: at 700 us, floor(835.23) = 835 edges, 1193 - 834 = 359.
    expect(r.in(0x40) | (r.in(0x40) << 8)).toBe(359);
  });

  it('ignores a second latch command until the latched count is read', () => {
    const r = rig();
    r.at(0);
    r.out(0x43, 0x34);
    r.out(0x40, 0xa9);
    r.out(0x40, 0x04);
    r.at(500_000);
    r.out(0x43, 0x00); // latches 598
    r.at(600_000);
    r.out(0x43, 0x00); // ignored (datasheet "Counter Latch Command")
    expect(r.in(0x40) | (r.in(0x40) << 8)).toBe(598);
  });

  it('loads a count rewritten during counting at the end of the current period', () => {
    const r = rig();
    r.at(0);
    r.out(0x43, 0x34);
    r.out(0x40, 100);
    r.out(0x40, 0);
    // Period 1: loaded at edge 1, reload at edge 101. New count 50 written at edge ~50.
    r.at(pitEdgeTimeNs(50));
    r.out(0x40, 50);
    r.out(0x40, 0);
    r.runTo(pitEdgeTimeNs(300));
    // Datasheet mode 2: "the current counting sequence is not affected"; rises at 101, then
    // every 50: 151, 201, 251.
    expect(rises(r.events)).toEqual([101, 151, 201, 251].map(edgeNs));
  });
});

describe('8254 mode 3 (square wave)', () => {
  it('even count 4: OUT high for 2 CLKs, low for 2, counting down by two', () => {
    const start = () => {
      const r = rig();
      r.at(0);
      r.out(0x43, 0x36); // counter 0, LSB/MSB, mode 3
      r.out(0x40, 4);
      r.out(0x40, 0);
      return r;
    };
    const r = start();
    r.runTo(edgeNs(9));
    // Loaded at edge 1; OUT falls at edges 3, 7 and rises at 5, 9.
    expect(r.events).toEqual([
      { t: edgeNs(3), level: false }, { t: edgeNs(5), level: true },
      { t: edgeNs(7), level: false }, { t: edgeNs(9), level: true },
    ]);
    // Count sequence from the load: 4, 2, 4, 2 ...
    const c = start();
    const counts: number[] = [];
    for (let j = 1; j <= 4; j++) {
      c.at(edgeNs(j));
      c.out(0x43, 0x00);
      counts.push(c.in(0x40) | (c.in(0x40) << 8));
    }
    expect(counts).toEqual([4, 2, 4, 2]);
  });

  it('odd count 5: OUT high for (N+1)/2 = 3 CLKs and low for (N-1)/2 = 2; counts 4, 2, 0 | 4, 2', () => {
    const r = rig();
    r.at(0);
    r.out(0x43, 0x36);
    r.out(0x40, 5);
    r.out(0x40, 0);
    const counts: number[] = [];
    for (let j = 1; j <= 6; j++) {
      r.runTo(edgeNs(j));
      r.out(0x43, 0x00);
      counts.push(r.in(0x40) | (r.in(0x40) << 8));
    }
    // Datasheet: for odd counts N-1 is loaded and decremented by two; OUT goes low one CLK
    // after the count expires, and high again when it expires in the low half.
    expect(counts).toEqual([4, 2, 0, 4, 2, 4]);
    expect(r.events).toEqual([{ t: edgeNs(4), level: false }, { t: edgeNs(6), level: true }]);
  });
});

describe('8254 mode 3 count rewrite', () => {
  it('a new count takes effect at the end of the current half period', () => {
    const r = rig();
    r.at(0);
    r.out(0x43, 0x36);
    r.out(0x40, 10);
    r.out(0x40, 0);
    // Loaded at edge 1 with 10: high until edge 6. Count 4 written at edge 3 (high half) is
    // loaded when that half ends, at edge 6, starting the low half of the new count: low for
    // 2 CLKs, then periods of 2 high, 2 low.
    r.at(edgeNs(3));
    r.out(0x40, 4);
    r.out(0x40, 0);
    r.runTo(edgeNs(14));
    expect(r.events).toEqual([
      { t: edgeNs(6), level: false }, { t: edgeNs(8), level: true },
      { t: edgeNs(10), level: false }, { t: edgeNs(12), level: true },
      { t: edgeNs(14), level: false },
    ]);
  });
});

describe('8254 mode 0 (interrupt on terminal count)', () => {
  it('OUT goes low at the control word and high N+1 CLKs after the count is written', () => {
    const r = rig();
    r.at(0);
    r.out(0x43, 0x30); // counter 0, LSB/MSB, mode 0: OUT low at once
    r.out(0x40, 100);
    r.out(0x40, 0);
    r.runTo(1_000_000);
    // The power-on mode 3 output was high, so the control word makes the falling edge.
    expect(r.events).toEqual([{ t: 0, level: false }, { t: 84_648, level: true }]); // edge 101
    expect(r.pit.nextEventNs()).toBe(Infinity);
    // After terminal count the counter keeps wrapping: at edge 2000, 100 - 1999 mod 65536.
    r.at(edgeNs(2000));
    r.out(0x43, 0x00);
    expect(r.in(0x40) | (r.in(0x40) << 8)).toBe(65536 - 1899);
  });

  it('writing the first byte of a new count stops counting and sets OUT low', () => {
    const r = rig();
    r.at(0);
    r.out(0x43, 0x30);
    r.out(0x40, 10);
    r.out(0x40, 0);
    r.runTo(edgeNs(20)); // OUT went high at edge 11
    r.out(0x40, 0x20);
    expect(r.events.at(-1)).toEqual({ t: edgeNs(20), level: false });
    r.runTo(edgeNs(100));
    expect(r.events.at(-1)?.level).toBe(false); // held: no terminal count
    r.out(0x40, 0);
    // 0x0020 = 32, loaded on the next edge (101), OUT high at edge 133.
    r.runTo(edgeNs(200));
    expect(r.events.at(-1)).toEqual({ t: edgeNs(133), level: true });
  });
});

describe('8254 mode 4 (software triggered strobe)', () => {
  it('OUT strobes low for one CLK N+1 CLKs after the count is written', () => {
    const r = rig();
    r.at(0);
    r.out(0x43, 0x38); // counter 0, LSB/MSB, mode 4
    r.out(0x40, 10);
    r.out(0x40, 0);
    r.runTo(edgeNs(100));
    expect(r.events).toEqual([{ t: edgeNs(11), level: false }, { t: edgeNs(12), level: true }]);
  });
});

describe('8254 GATE in mode 2', () => {
  it('GATE low sets OUT high at once and stops counting; GATE high reloads on the next CLK', () => {
    const r = rig();
    r.at(0);
    r.out(0x61, 0x01);
    r.out(0x43, 0xb4); // counter 2, LSB/MSB, mode 2
    r.out(0x42, 10);
    r.out(0x42, 0);
    r.at(edgeNs(10)); // count 1: OUT low
    expect(r.in(0x61) & 0x20).toBe(0);
    r.out(0x61, 0x00);
    expect(r.in(0x61) & 0x20).toBe(0x20);
    r.at(edgeNs(50));
    r.out(0x61, 0x01); // reload at edge 51: OUT low again at edge 60
    r.at(edgeNs(59));
    expect(r.in(0x61) & 0x20).toBe(0x20);
    r.at(edgeNs(60));
    expect(r.in(0x61) & 0x20).toBe(0);
  });
});

describe('8254 read-back command and status byte', () => {
  it('reports OUT, NULL COUNT, access, mode and BCD', () => {
    const r = rig();
    r.at(0);
    r.out(0x43, 0xb5); // counter 2, LSB/MSB, mode 2, BCD
    r.out(0x43, 0xe8); // read-back status of counter 2
    // Before a count is written: OUT high (mode 2), NULL COUNT 1: 1 1 11 010 1.
    expect(r.in(0x42)).toBe(0xf5);
    r.out(0x61, 0x01); // GATE 2 high
    r.out(0x42, 0x00);
    r.out(0x42, 0x10); // BCD 1000
    r.out(0x43, 0xe8);
    expect(r.in(0x42)).toBe(0xf5); // the count reaches the counting element on the next CLK
    r.at(edgeNs(2));
    r.out(0x43, 0xe8);
    expect(r.in(0x42)).toBe(0xb5);
    // Read-back of count and status together: status first, then the count.
    r.at(edgeNs(11)); // loaded at edge 1 with 1000, 10 edges later: 990
    r.out(0x43, 0xc8);
    expect(r.in(0x42)).toBe(0xb5);
    expect(r.in(0x42)).toBe(0x90); // BCD 0990
    expect(r.in(0x42)).toBe(0x09);
  });

  it('reads 0 from the control port, as QEMU does', () => {
    expect(rig().in(0x43)).toBe(0);
  });
});

describe('8254 access modes', () => {
  it('LSB-only and MSB-only counts, and a written 0 meaning 65536', () => {
    const r = rig();
    r.at(0);
    r.out(0x43, 0x14); // counter 0, LSB only, mode 2
    r.out(0x40, 200);
    r.at(edgeNs(11)); // 10 edges after the load: 190
    expect(r.in(0x40)).toBe(190);
    r.out(0x43, 0x24); // MSB only
    r.out(0x40, 0x02); // 512
    r.at(edgeNs(11 + 1 + 100));
    expect(r.in(0x40)).toBe((512 - 100) >> 8);
    r.out(0x43, 0x34);
    r.out(0x40, 0);
    r.out(0x40, 0); // 65536
    r.at(edgeNs(200) + 1);
    r.runTo(edgeNs(200 + 65536 * 2));
    // Mode 2 with 65536: one IRQ 0 every 65536 CLKs = 54.925 ms (18.2 Hz).
    const up = rises(r.events);
    expect(up.at(-1)! - up.at(-2)!).toBeGreaterThanOrEqual(54_925_000);
    expect(up.at(-1)! - up.at(-2)!).toBeLessThanOrEqual(54_925_500);
  });
});

describe('8254 counter 2 through port 0x61', () => {
  it('GATE low holds mode 0; OUT 2 shows in bit 5; bit 4 flips on every read (QEMU)', () => {
    const r = rig();
    r.at(0);
    r.out(0x61, 0x00);
    r.out(0x43, 0xb0); // counter 2, LSB/MSB, mode 0
    r.out(0x42, 50);
    r.out(0x42, 0);
    r.at(edgeNs(100));
    const a = r.in(0x61), b = r.in(0x61);
    expect(a & 0x21).toBe(0); // gate low: still counting nothing, OUT low
    expect((a ^ b) & 0x10).toBe(0x10);
    r.out(0x61, 0x03); // gate high, speaker data on: counting starts
    r.at(edgeNs(100 + 49));
    expect(r.in(0x61) & 0x23).toBe(0x03);
    r.at(edgeNs(100 + 51));
    expect(r.in(0x61) & 0x23).toBe(0x23); // 50 edges counted: terminal count
  });

  it('mode 1 starts on a GATE rising edge and can be retriggered', () => {
    const r = rig();
    r.at(0);
    r.out(0x61, 0x00);
    r.out(0x43, 0xb2); // counter 2, LSB/MSB, mode 1
    r.out(0x42, 10);
    r.out(0x42, 0);
    r.at(edgeNs(50));
    expect(r.in(0x61) & 0x20).toBe(0x20); // OUT high until triggered
    r.out(0x61, 0x01); // trigger at edge 50: OUT low from edge 51 for 10 CLKs
    r.at(edgeNs(51));
    expect(r.in(0x61) & 0x20).toBe(0);
    r.at(edgeNs(60));
    r.out(0x61, 0x00);
    r.out(0x61, 0x01); // retrigger at edge 60: low until edge 71
    r.at(edgeNs(70));
    expect(r.in(0x61) & 0x20).toBe(0);
    r.at(edgeNs(71));
    expect(r.in(0x61) & 0x20).toBe(0x20);
  });
});
