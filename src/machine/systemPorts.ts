/**
 * Two small PC ports, as QEMU 7.2's i386 PC has them (checked with a probe kernel):
 *  - 0x80, the POST diagnostic port: writes are ignored, reads return 0xFF (hw/i386/pc.c
 *    ioport80). The last code written is kept for debuggers to show.
 *  - 0x92, system control port A (hw/i386/port92.c): reads return the last value written;
 *    bit 1 is the A20 gate (remembered; memory is not wrapped at 1 MiB) and a 0-to-1 change of
 *    bit 0 requests a fast reset. A guest started by a Multiboot loader finds 0x02 there (A20
 *    on), as SeaBIOS leaves it under QEMU.
 */
import type { AccessSize } from '../cpu/bus';
import type { IoHandler, PortRange } from './ioBus';

export class SystemPorts {
  private port92 = 0x02;
  private lastPostCode = -1;
  readonly ports: readonly PortRange[];

  constructor(private readonly onReset: () => void) {
    const post: IoHandler = {
      read: () => 0xff,
      write: (port: number, _size: AccessSize, value: number) => {
        if (port === 0x80) this.lastPostCode = value & 0xff;
      },
    };
    const controlA: IoHandler = {
      read: () => this.port92,
      write: (_port: number, _size: AccessSize, value: number) => this.writePort92(value & 0xff),
    };
    this.ports = [
      { first: 0x80, count: 1, handler: post },
      { first: 0x92, count: 1, handler: controlA },
    ];
  }

  /** Port 0x92 and the last POST code, for machine snapshots (snapshot.ts). */
  saveState(): { port92: number; lastPostCode: number } {
    return { port92: this.port92, lastPostCode: this.lastPostCode };
  }

  loadState(state: { port92: number; lastPostCode: number }): void { Object.assign(this, state); }

  /** Whether A20 is enabled through port 0x92 bit 1. */
  get a20(): boolean {
    return (this.port92 & 0x02) !== 0;
  }

  /** The last POST code written to port 0x80, or -1 if none. */
  get postCode(): number {
    return this.lastPostCode;
  }

  private writePort92(value: number): void {
    const old = this.port92;
    this.port92 = value;
    if (value & 1 && !(old & 1)) this.onReset();
  }
}
