import { describe, expect, it } from 'vitest';
import { DebugExit } from '../../src/machine/debugExit';
import { IoBus } from '../../src/machine/ioBus';
import { SystemPorts } from '../../src/machine/systemPorts';

describe('isa-debug-exit at 0xF4, iosize 4', () => {
  it('calls onExit with (v << 1) | 1 for writes of any width, and reads 0', () => {
    const statuses: number[] = [];
    const bus = new IoBus();
    bus.registerRanges(new DebugExit((s) => statuses.push(s)).ports);
    bus.write(0xf4, 1, 0);
    bus.write(0xf4, 1, 0x2a);
    bus.write(0xf4, 2, 0x1234);
    bus.write(0xf7, 1, 3); // any port of the window
    bus.write(0xf4, 4, 0x7fffffff);
    expect(statuses).toEqual([1, 0x55, 0x2469, 7, 0xffffffff]);
    expect([bus.read(0xf4, 1), bus.read(0xf4, 2), bus.read(0xf4, 4)]).toEqual([0, 0, 0]);
  });
});

describe('system ports 0x80 and 0x92', () => {
  function rig() {
    let resets = 0;
    const sys = new SystemPorts(() => resets++);
    const bus = new IoBus();
    bus.registerRanges(sys.ports);
    return { sys, bus, resets: () => resets };
  }

  it('0x80 ignores writes and reads 0xFF (QEMU ioport80), remembering the POST code', () => {
    const { sys, bus } = rig();
    expect(sys.postCode).toBe(-1);
    bus.write(0x80, 1, 0x5a);
    expect(bus.read(0x80, 1)).toBe(0xff);
    expect(sys.postCode).toBe(0x5a);
  });

  it('0x92 reads back what was written, A20 in bit 1, fast reset on a 0-to-1 edge of bit 0', () => {
    const { sys, bus, resets } = rig();
    expect(bus.read(0x92, 1)).toBe(0x02); // as SeaBIOS leaves it: A20 on
    expect(sys.a20).toBe(true);
    bus.write(0x92, 1, 0x00);
    expect(sys.a20).toBe(false);
    expect(resets()).toBe(0);
    bus.write(0x92, 1, 0x03);
    expect(resets()).toBe(1);
    bus.write(0x92, 1, 0x03); // bit 0 already set: no edge
    expect(resets()).toBe(1);
    expect(bus.read(0x92, 1)).toBe(0x03);
  });
});
