/**
 * QEMU's isa-debug-exit device, as `-device isa-debug-exit,iobase=0xf4,iosize=0x04` adds it:
 * a write of v, of any width, to any of its ports ends the run with exit status (v << 1) | 1.
 * Reads return 0 (QEMU 7.2 returns 0 for byte, word and dword reads, checked with a probe
 * kernel).
 */
import type { AccessSize } from '../cpu/bus';
import type { IoHandler, PortRange } from './ioBus';

export class DebugExit {
  readonly ports: readonly PortRange[];

  /** `onExit` receives (v << 1) | 1 as an unsigned 32-bit number (QEMU passes it to exit()). */
  constructor(onExit: (status: number) => void, iobase = 0xf4, iosize = 4) {
    const handler: IoHandler = {
      maxAccessSize: 4,
      read: () => 0,
      write: (_port: number, _size: AccessSize, value: number) => onExit(((value << 1) | 1) >>> 0),
    };
    this.ports = [{ first: iobase, count: iosize, handler }];
  }
}
