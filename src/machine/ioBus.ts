/**
 * The x86 port I/O space (ports 0..0xFFFF) and its dispatch to devices.
 *
 * Dispatch follows what QEMU 7.2 does for IN and OUT (target/i386 calls address_space_ld*
 * and st* on the I/O address space), established with probe kernels under qemu-system-i386:
 *  - The whole access goes to the device owning its first port, even if it extends past the
 *    device's window: `in eax, 0x20` gives IRR, IMR, IMR, IMR of the master PIC, because the
 *    PIC decodes any offset but 0 as its second port.
 *  - An access whose offset in the device's window is not a multiple of its size is refused:
 *    it reads 0 and a write is dropped (`inw 0x21` reads 0; `outw 0xF5` does not exit), unless
 *    the device accepts unaligned accesses (the 16550A does).
 *  - A device that implements narrower accesses gets the access in pieces of its width at
 *    consecutive ports, lowest first, combined little endian (`inw 0x20` = IRR | IMR << 8).
 *  - Ports nobody owns read as all ones of the access size and ignore writes (unassigned_io_ops
 *    returns -1); being a window from port 0, an unaligned access there reads 0 as well.
 */
import type { AccessSize } from '../cpu/bus';

export interface IoHandler {
  /** Widest access the device implements itself; wider ones come in pieces. Default 1. */
  readonly maxAccessSize?: AccessSize;
  /** Accept accesses not aligned to their size within the window (QEMU `valid.unaligned`). */
  readonly allowUnaligned?: boolean;
  /** `port` is the absolute port number, possibly past the window for a wide access. */
  read(port: number, size: AccessSize): number;
  write(port: number, size: AccessSize, value: number): void;
}

/** A device's port window, so a machine can register it with `IoBus.registerRanges`. */
export interface PortRange {
  readonly first: number;
  readonly count: number;
  readonly handler: IoHandler;
}

export const IO_PORT_COUNT = 0x10000;

const unassigned: IoHandler = {
  read: () => 0xff,
  write: () => {},
};

const SIZE_MASK = [0, 0xff, 0xffff, 0, 0xffffffff];

export class IoBus {
  /** Registration number per port; 0 = unassigned. Typed array: no map lookups per access. */
  private readonly owner = new Uint16Array(IO_PORT_COUNT);
  /** Per registration: handler, first port of its window, widest access, unaligned allowed. */
  private readonly handlers: IoHandler[] = [unassigned];
  private readonly bases: number[] = [0];
  private readonly widths: number[] = [1];
  private readonly unaligned: boolean[] = [false];

  register(first: number, count: number, handler: IoHandler): void {
    if (!Number.isInteger(first) || !Number.isInteger(count) || first < 0 || count < 1 ||
        first + count > IO_PORT_COUNT) {
      throw new RangeError(`I/O ports 0x${hex(first)}+${count}: outside 0x0000..0xFFFF`);
    }
    for (let p = first; p < first + count; p++) {
      if (this.owner[p] !== 0) {
        throw new Error(`I/O port 0x${hex(p)} is already registered`);
      }
    }
    const id = this.handlers.length;
    if (id >= IO_PORT_COUNT) throw new Error('too many I/O port registrations');
    this.handlers.push(handler);
    this.bases.push(first);
    this.widths.push(handler.maxAccessSize ?? 1);
    this.unaligned.push(handler.allowUnaligned ?? false);
    this.owner.fill(id, first, first + count);
  }

  registerRanges(ranges: readonly PortRange[]): void {
    for (const r of ranges) this.register(r.first, r.count, r.handler);
  }

  /** Returns the value zero-extended to an unsigned number of `size` bytes. */
  read(port: number, size: AccessSize): number {
    port &= 0xffff;
    const id = this.owner[port];
    const handler = this.handlers[id];
    if (size === 1) return handler.read(port, 1) & 0xff;
    if ((port - this.bases[id]) & (size - 1) && !this.unaligned[id]) return 0;
    const width = this.widths[id];
    if (size <= width) return (handler.read(port, size) & SIZE_MASK[size]) >>> 0;
    let value = 0;
    for (let done = 0; done < size; done += width) {
      value += (handler.read((port + done) & 0xffff, width as AccessSize) & SIZE_MASK[width]) * 2 ** (8 * done);
    }
    return value;
  }

  write(port: number, size: AccessSize, value: number): void {
    port &= 0xffff;
    const id = this.owner[port];
    const handler = this.handlers[id];
    if (size === 1) {
      handler.write(port, 1, value & 0xff);
      return;
    }
    if ((port - this.bases[id]) & (size - 1) && !this.unaligned[id]) return;
    const width = this.widths[id];
    if (size <= width) {
      handler.write(port, size, (value & SIZE_MASK[size]) >>> 0);
      return;
    }
    for (let done = 0; done < size; done += width) {
      handler.write((port + done) & 0xffff, width as AccessSize, ((value >>> (8 * done)) & SIZE_MASK[width]) >>> 0);
    }
  }
}

function hex(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, '0');
}
