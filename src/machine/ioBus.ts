/**
 * The x86 port I/O space (ports 0..0xFFFF) and its dispatch to devices.
 *
 * Behaviour follows QEMU 7.2's i386 PC, checked by running a probe kernel under
 * qemu-system-i386: an unassigned port reads as all ones of the access size (0xFF,
 * 0xFFFF, 0xFFFFFFFF; softmmu/ioport.c `unassigned_io_read` returns -1) and ignores
 * writes. A device that implements narrower accesses than the CPU makes gets the access
 * split into pieces it accepts, lowest port first, little endian, as QEMU's memory core
 * does for regions with `impl.max_access_size = 1` (an `inw` from 0x20 returns IRR of the
 * master PIC in bits 0-7 and its IMR in bits 8-15).
 */
import type { AccessSize } from '../cpu/bus';

export interface IoHandler {
  /** Widest access the device implements itself; wider ones are split. Default 1. */
  readonly maxAccessSize?: AccessSize;
  /** `port` is the absolute port number; the result is masked to `size` bytes. */
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

/** Byte-wide, so a wide access that is only partly unassigned is split and each byte of it
 *  reaches whichever device owns it. */
const unassigned: IoHandler = {
  read: () => 0xff,
  write: () => {},
};

const SIZE_MASK = [0, 0xff, 0xffff, 0, 0xffffffff];

export class IoBus {
  /** Registration number per port; 0 = unassigned. Typed array: no map lookups per access. */
  private readonly owner = new Uint16Array(IO_PORT_COUNT);
  /** Per registration: handler, end of its window (exclusive) and widest access it takes. */
  private readonly handlers: IoHandler[] = [unassigned];
  private readonly ends: number[] = [IO_PORT_COUNT];
  private readonly widths: number[] = [1];

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
    this.ends.push(first + count);
    this.widths.push(handler.maxAccessSize ?? 1);
    this.owner.fill(id, first, first + count);
  }

  registerRanges(ranges: readonly PortRange[]): void {
    for (const r of ranges) this.register(r.first, r.count, r.handler);
  }

  /** Returns the value zero-extended to an unsigned number of `size` bytes. */
  read(port: number, size: AccessSize): number {
    port &= 0xffff;
    const id = this.owner[port];
    if (size <= this.widths[id] && port + size <= this.ends[id]) {
      return (this.handlers[id].read(port, size) & SIZE_MASK[size]) >>> 0;
    }
    let value = 0;
    for (let done = 0; done < size;) {
      const p = (port + done) & 0xffff;
      const piece = this.pieceSize(p, size - done);
      const part = this.handlers[this.owner[p]].read(p, piece) & SIZE_MASK[piece];
      value += part * 2 ** (8 * done);
      done += piece;
    }
    return value;
  }

  write(port: number, size: AccessSize, value: number): void {
    port &= 0xffff;
    const id = this.owner[port];
    if (size <= this.widths[id] && port + size <= this.ends[id]) {
      this.handlers[id].write(port, size, (value & SIZE_MASK[size]) >>> 0);
      return;
    }
    for (let done = 0; done < size;) {
      const p = (port + done) & 0xffff;
      const piece = this.pieceSize(p, size - done);
      this.handlers[this.owner[p]].write(p, piece, ((value >>> (8 * done)) & SIZE_MASK[piece]) >>> 0);
      done += piece;
    }
  }

  /** Largest piece at `port` that the device there accepts and that stays in its window. */
  private pieceSize(port: number, remaining: number): AccessSize {
    const id = this.owner[port];
    const room = Math.min(remaining, this.widths[id], this.ends[id] - port);
    return room >= 4 ? 4 : room >= 2 ? 2 : 1;
  }
}

function hex(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, '0');
}
