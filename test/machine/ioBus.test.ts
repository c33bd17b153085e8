import { describe, expect, it } from 'vitest';
import type { AccessSize } from '../../src/cpu/bus';
import { IoBus, type IoHandler } from '../../src/machine/ioBus';

/** A byte-wide device that logs its accesses and reads back (port & 0xFF). */
function logger(opts: { allowUnaligned?: boolean } = {}) {
  const log: string[] = [];
  const handler: IoHandler = {
    allowUnaligned: opts.allowUnaligned,
    read: (port, size) => { log.push(`r${size}@${port.toString(16)}`); return port & 0xff; },
    write: (port, size, value) => { log.push(`w${size}@${port.toString(16)}=${value.toString(16)}`); },
  };
  return { log, handler };
}

describe('IoBus (QEMU 7.2 port I/O dispatch, established with probe kernels)', () => {
  it('reads unassigned ports as all ones of the access size and ignores writes', () => {
    const bus = new IoBus();
    expect(bus.read(0x300, 1)).toBe(0xff);
    expect(bus.read(0x300, 2)).toBe(0xffff);
    expect(bus.read(0x300, 4)).toBe(0xffffffff);
    bus.write(0x300, 4, 0x12345678);
    expect(bus.read(0x2000, 4)).toBe(0xffffffff);
  });

  it('reads 0 for unaligned word and dword accesses to unassigned ports (QEMU: inw 0x301 = 0)', () => {
    const bus = new IoBus();
    expect(bus.read(0x301, 2)).toBe(0);
    expect(bus.read(0x302, 4)).toBe(0);
    expect(bus.read(0xffff, 2)).toBe(0);
  });

  it('gives a byte device a wide access in bytes at consecutive ports, little endian', () => {
    const bus = new IoBus();
    const dev = logger();
    bus.register(0x20, 2, dev.handler);
    bus.write(0x20, 2, 0xbbaa);
    expect(bus.read(0x20, 2)).toBe(0x2120);
    // Past the end of the window the same device is asked (QEMU: `in eax, 0x20` reads the PIC
    // four times), not whatever owns 0x22.
    bus.register(0x22, 2, logger().handler);
    expect(bus.read(0x20, 4)).toBe(0x23222120);
    expect(dev.log).toEqual(['w1@20=aa', 'w1@21=bb', 'r1@20', 'r1@21', 'r1@20', 'r1@21', 'r1@22', 'r1@23']);
  });

  it('refuses accesses not aligned within the window: reads 0, drops writes', () => {
    const bus = new IoBus();
    const dev = logger();
    bus.register(0x20, 2, dev.handler);
    expect(bus.read(0x21, 2)).toBe(0); // QEMU: inw 0x21 = 0
    bus.write(0x21, 2, 0x1234); // QEMU: outw 0x21 leaves the IMR alone
    expect(dev.log).toEqual([]);
    const serial = logger({ allowUnaligned: true });
    bus.register(0x3f8, 8, serial.handler);
    expect(bus.read(0x3fb, 2)).toBe(0xfcfb); // QEMU: inw 0x3FB = LCR | MCR << 8
  });

  it('passes accesses up to a device\'s maxAccessSize whole', () => {
    const bus = new IoBus();
    const seen: [number, AccessSize, number][] = [];
    bus.register(0xf4, 4, {
      maxAccessSize: 4,
      read: () => 0x11223344,
      write: (port, size, value) => { seen.push([port, size, value]); },
    });
    bus.write(0xf4, 4, 0xdeadbeef);
    bus.write(0xf6, 2, 0x1234);
    bus.write(0xf5, 2, 0x1234); // unaligned: dropped (QEMU: outw 0xF5 does not exit)
    expect(seen).toEqual([[0xf4, 4, 0xdeadbeef], [0xf6, 2, 0x1234]]);
    expect(bus.read(0xf4, 4)).toBe(0x11223344);
    expect(bus.read(0xf4, 2)).toBe(0x3344);
  });

  it('rejects overlapping and out-of-range registrations with the port in the message', () => {
    const bus = new IoBus();
    bus.register(0x3f8, 8, logger().handler);
    expect(() => bus.register(0x3ff, 2, logger().handler)).toThrow(/0x03FF is already registered/);
    expect(() => bus.register(0xffff, 2, logger().handler)).toThrow(/0xFFFF\+2/);
  });
});
