import { describe, expect, it } from 'vitest';
import { IoBus } from '../../src/machine/ioBus';
import { Pic8259 } from '../../src/machine/pic8259';

/** The pair programmed the way Linux and most kernels do it: vectors 0x20 and 0x28, 8086 mode. */
function rig(icw4 = 0x01) {
  const pic = new Pic8259();
  const bus = new IoBus();
  bus.registerRanges(pic.ports);
  const out = (port: number, value: number) => bus.write(port, 1, value);
  const inb = (port: number) => bus.read(port, 1);
  out(0x20, 0x11); out(0xa0, 0x11); // ICW1: edge, cascade, ICW4 needed
  out(0x21, 0x20); out(0xa1, 0x28); // ICW2: vector bases
  out(0x21, 0x04); out(0xa1, 0x02); // ICW3: slave on IR2 / slave id 2
  out(0x21, icw4); out(0xa1, icw4); // ICW4
  /** Raise and drop an edge-triggered line. */
  const pulse = (irq: number) => { pic.setIrq(irq, true); pic.setIrq(irq, false); };
  return { pic, bus, out, inb, pulse };
}

describe('8259A initialization (ICW1-ICW4)', () => {
  it('sets the vector base from ICW2 bits 7-3 and clears IMR at ICW1', () => {
    const { pic, out, inb, pulse } = rig();
    expect(inb(0x21)).toBe(0x00);
    out(0x21, 0xff);
    out(0x20, 0x11); // ICW1 again: "the Interrupt Mask Register is cleared"
    expect(inb(0x21)).toBe(0x00);
    out(0x21, 0x47); // ICW2 0x47: low three bits are ignored in 8086 mode
    out(0x21, 0x04);
    out(0x21, 0x01);
    pulse(3);
    expect(pic.intrPending()).toBe(true);
    expect(pic.acknowledge()).toBe(0x43);
  });

  it('skips ICW3 in single mode and ICW4 when IC4 = 0', () => {
    const pic = new Pic8259();
    const bus = new IoBus();
    bus.registerRanges(pic.ports);
    bus.write(0x20, 1, 0x12); // single, no ICW4
    bus.write(0x21, 1, 0x30); // ICW2; initialization is over
    bus.write(0x21, 1, 0xfe); // OCW1: mask all but IR0
    expect(bus.read(0x21, 1)).toBe(0xfe);
    pic.setIrq(1, true);
    expect(pic.intrPending()).toBe(false);
    pic.setIrq(0, true);
    expect(pic.acknowledge()).toBe(0x30);
  });
});

describe('8259A priority and EOI (fully nested mode)', () => {
  it('serves IR0 before IR7, blocks equal or lower levels until EOI, lets higher ones nest', () => {
    const { pic, out, pulse } = rig();
    pulse(5);
    pulse(1);
    expect(pic.acknowledge()).toBe(0x21); // IR1 has priority over IR5
    expect(pic.intrPending()).toBe(false); // IR5 waits: IR1 is in service
    pulse(0);
    expect(pic.intrPending()).toBe(true); // IR0 is higher than IR1
    expect(pic.acknowledge()).toBe(0x20);
    out(0x20, 0x20); // non-specific EOI ends IR0, the highest in service
    expect(pic.intrPending()).toBe(false);
    out(0x20, 0x20); // ends IR1
    expect(pic.acknowledge()).toBe(0x25);
  });

  it('specific EOI (OCW2 011 L) ends the named level only', () => {
    const { pic, out, inb, pulse } = rig();
    pulse(4);
    pic.acknowledge();
    pulse(2 + 1); // IR3 nests above IR4
    pic.acknowledge();
    out(0x20, 0x0b); // OCW3: read ISR
    expect(inb(0x20)).toBe(0x18);
    out(0x20, 0x64); // specific EOI for IR4
    expect(inb(0x20)).toBe(0x08);
  });

  it('OCW3 selects IRR or ISR for reads of port 0x20; IMR is at 0x21', () => {
    const { pic, out, inb, bus } = rig();
    out(0x21, 0xf0);
    pic.setIrq(4, true); // masked, still latched in IRR
    pic.setIrq(1, true);
    out(0x20, 0x0a);
    expect(inb(0x20)).toBe(0x12);
    expect(pic.acknowledge()).toBe(0x21);
    expect(inb(0x20)).toBe(0x10); // IR1's edge request was consumed by INTA
    out(0x20, 0x0b);
    expect(inb(0x20)).toBe(0x02);
    // A 16-bit read is split into two byte reads (QEMU): ISR in the low byte, IMR in the high;
    // a 32-bit one reads the IMR for every byte past the first, as QEMU's decoding does.
    expect(bus.read(0x20, 2)).toBe(0xf002);
    expect(bus.read(0x20, 4)).toBe(0xf0f0f002);
  });
});

describe('8259A rotation', () => {
  it('rotate on non-specific EOI makes the level just served the lowest', () => {
    const { pic, out, pulse } = rig();
    pulse(3);
    expect(pic.acknowledge()).toBe(0x23);
    out(0x20, 0xa0); // rotate on non-specific EOI: IR4 now highest, IR3 lowest
    pulse(3);
    pulse(5);
    pulse(1);
    expect(pic.acknowledge()).toBe(0x25); // order 4 5 6 7 0 1 2 3
    out(0x20, 0x20);
    expect(pic.acknowledge()).toBe(0x21);
    out(0x20, 0x20);
    expect(pic.acknowledge()).toBe(0x23);
  });

  it('set priority command (OCW2 110 L) makes level L the lowest', () => {
    const { pic, out, pulse } = rig();
    out(0x20, 0xc5); // IR5 lowest, IR6 highest
    pulse(0);
    pulse(7);
    expect(pic.acknowledge()).toBe(0x27);
  });

  it('rotate on specific EOI (OCW2 111 L) ends level L and makes it the lowest', () => {
    const { pic, out, pulse } = rig();
    pulse(2 + 4);
    pic.acknowledge();
    out(0x20, 0xe6); // end IR6, rotate: IR7 highest
    pulse(0);
    pulse(7);
    expect(pic.acknowledge()).toBe(0x27);
  });

  it('automatic EOI leaves ISR clear; with rotate-in-AEOI the served level becomes lowest', () => {
    const { pic, out, inb, pulse } = rig(0x03); // ICW4: AEOI, 8086
    out(0x20, 0x80); // OCW2 100: set rotate in automatic EOI mode
    pulse(2 + 1);
    expect(pic.acknowledge()).toBe(0x23);
    out(0x20, 0x0b);
    expect(inb(0x20)).toBe(0x00); // datasheet AEOI: ISR bit reset at the end of the INTA
    pulse(2 + 1);
    pulse(0);
    expect(pic.acknowledge()).toBe(0x20); // order now 4..7 0 1 2 3: IR0 before IR3
  });
});

describe('8259A poll command and special mask mode', () => {
  it('poll: the read returns 1000 0WWW for the highest request and acts as INTA', () => {
    const { out, inb, pulse } = rig();
    out(0x20, 0x0c); // OCW3 poll
    expect(inb(0x20)).toBe(0x00); // no request
    pulse(6);
    out(0x20, 0x0c);
    expect(inb(0x20)).toBe(0x86);
    out(0x20, 0x0b);
    expect(inb(0x20)).toBe(0x40); // IR6 now in service
  });

  it('special mask mode lets lower levels in while the served level is masked', () => {
    const { pic, out, pulse } = rig();
    pulse(2 + 1);
    pic.acknowledge(); // IR3 in service
    pulse(6);
    expect(pic.intrPending()).toBe(false);
    out(0x21, 0x08); // mask IR3
    out(0x20, 0x68); // OCW3: set special mask mode
    expect(pic.intrPending()).toBe(true);
    expect(pic.acknowledge()).toBe(0x26);
    out(0x20, 0x48); // reset special mask mode
    pulse(5);
    expect(pic.intrPending()).toBe(false);
  });
});

describe('8259A cascade on IR2', () => {
  it('delivers slave IRQs with the slave vector and both chips in service', () => {
    const { pic, out, inb, pulse } = rig();
    pulse(12);
    expect(pic.intrPending()).toBe(true);
    expect(pic.acknowledge()).toBe(0x2c);
    out(0x20, 0x0b);
    out(0xa0, 0x0b);
    expect(inb(0x20)).toBe(0x04);
    expect(inb(0xa0)).toBe(0x10);
    pulse(1);
    expect(pic.acknowledge()).toBe(0x21); // IR1 beats IR2
    out(0x20, 0x20);
    pulse(9);
    expect(pic.intrPending()).toBe(false); // the master still has IR2 in service
    out(0xa0, 0x20);
    out(0x20, 0x20);
    expect(pic.acknowledge()).toBe(0x29);
  });

  it('special fully nested mode lets a higher slave IRQ through while IR2 is in service', () => {
    const { pic, pulse } = rig(0x11); // ICW4: SFNM, 8086
    pulse(12);
    expect(pic.acknowledge()).toBe(0x2c);
    pulse(9);
    expect(pic.intrPending()).toBe(true);
    expect(pic.acknowledge()).toBe(0x29);
    pulse(14);
    expect(pic.intrPending()).toBe(false); // lower than the slave's IR4 in service
  });
});

describe('8259A spurious interrupts', () => {
  it('gives IR7 of the master, without setting ISR, when the request is gone at INTA', () => {
    const { pic, out, inb } = rig();
    out(0x4d0, 0x20); // IRQ 5 level-triggered through ELCR
    pic.setIrq(5, true);
    expect(pic.intrPending()).toBe(true);
    pic.setIrq(5, false); // the request vanishes before the CPU acknowledges
    expect(pic.acknowledge()).toBe(0x27);
    out(0x20, 0x0b);
    expect(inb(0x20)).toBe(0x00);
  });

  it('gives IR7 of the slave, with master IR2 in service, when a slave request is gone', () => {
    const { pic, out, inb } = rig();
    out(0x4d1, 0x08); // IRQ 11 level-triggered
    pic.setIrq(11, true);
    expect(pic.intrPending()).toBe(true);
    out(0xa1, 0x08); // masked before INTA
    expect(pic.acknowledge()).toBe(0x2f);
    out(0x20, 0x0b);
    out(0xa0, 0x0b);
    expect(inb(0x20)).toBe(0x04);
    expect(inb(0xa0)).toBe(0x00);
  });
});

describe('8259A edge and level triggering', () => {
  it('edge mode: a line held high requests once; a new rising edge is needed', () => {
    const { pic, out } = rig();
    pic.setIrq(4, true);
    expect(pic.acknowledge()).toBe(0x24);
    out(0x20, 0x20);
    expect(pic.intrPending()).toBe(false);
    pic.setIrq(4, true); // still high: no edge
    expect(pic.intrPending()).toBe(false);
    pic.setIrq(4, false);
    pic.setIrq(4, true);
    expect(pic.intrPending()).toBe(true);
  });

  it('edge mode keeps a request latched after the line falls again, as QEMU does', () => {
    const { pic, pulse } = rig();
    pulse(3);
    expect(pic.intrPending()).toBe(true);
    expect(pic.acknowledge()).toBe(0x23);
  });

  it('level mode (ELCR): IRR follows the line and INTA does not consume it', () => {
    const { pic, out, inb } = rig();
    out(0x4d1, 0xff);
    expect(inb(0x4d1)).toBe(0xde); // IRQ 8 and 13 cannot be level-triggered (QEMU elcr_mask)
    out(0x4d0, 0xff);
    expect(inb(0x4d0)).toBe(0xf8); // nor IRQ 0, 1, 2
    pic.setIrq(10, true);
    expect(pic.acknowledge()).toBe(0x2a);
    out(0xa0, 0x20);
    out(0x20, 0x20);
    expect(pic.intrPending()).toBe(true); // still asserted: requests again after EOI
    out(0xa0, 0x0a);
    expect(inb(0xa0)).toBe(0x04);
    pic.setIrq(10, false);
    expect(inb(0xa0)).toBe(0x00); // IRR follows the level
    // The master latched the slave's new request on its edge-triggered IR2, so the INTA that
    // follows finds nothing on the slave: slave IR7, spurious.
    expect(pic.acknowledge()).toBe(0x2f);
    out(0x20, 0x20);
    expect(pic.intrPending()).toBe(false);
  });

  it('ICW1 LTIM makes every input of that chip level-triggered', () => {
    const { pic, out } = rig();
    out(0x20, 0x19); out(0x21, 0x20); out(0x21, 0x04); out(0x21, 0x01);
    pic.setIrq(3, true);
    expect(pic.acknowledge()).toBe(0x23);
    out(0x20, 0x20);
    expect(pic.intrPending()).toBe(true);
  });
});

describe('Pic8259.setIrq', () => {
  it('rejects lines that do not exist', () => {
    expect(() => new Pic8259().setIrq(16, true)).toThrow(/IRQ 16/);
  });
});
