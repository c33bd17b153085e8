/**
 * The BIOS area 0xE0000-0xFFFFF, which QEMU's PC maps to its BIOS image and SeaBIOS leaves
 * read-only before it boots a kernel (a probe kernel's writes there change nothing). Here it
 * is device memory backed by the same bytes of the machine's RAM array, where the firmware
 * tables are written (seabios.ts): reads return them, writes are ignored. Keeping the bytes in
 * the RAM array lets debuggers and snapshots see them like any other memory.
 */
import type { AccessSize } from '../../cpu/bus';
import type { MmioHandler } from '../mmioBus';

export const BIOS_ROM_BASE = 0xe0000;
export const BIOS_ROM_SIZE = 0x20000;

export class BiosRom implements MmioHandler {
  constructor(private readonly backing: Uint8Array) {}

  read(address: number, size: AccessSize): number {
    const b = this.backing;
    if (size === 1) return b[address];
    if (size === 2) return b[address] | (b[address + 1] << 8);
    return (b[address] | (b[address + 1] << 8) | (b[address + 2] << 16) | (b[address + 3] << 24)) >>> 0;
  }

  write(): void { /* read-only */ }
}
