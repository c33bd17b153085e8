/**
 * Guest RAM as a device doing DMA sees it: only RAM pages (not device memory, not beyond the
 * guest's RAM), and a write drops the code the CPU decoded from the pages it changes, as a
 * store by the CPU would.
 */
import type { Cpu } from '../cpu/cpu';

export interface DmaMemory {
  /** A copy of `length` bytes at `address`, or undefined if they are not all guest RAM. */
  read(address: number, length: number): Uint8Array | undefined;
  /** Writes `bytes` at `address`; false (and nothing written) if that is not all guest RAM. */
  write(address: number, bytes: Uint8Array): boolean;
}

export function guestRamDma(cpu: Cpu, guestRamBytes: number): DmaMemory {
  const isRam = (address: number, length: number): boolean => {
    if (!(address >= 0 && length >= 0 && address + length <= guestRamBytes)) return false;
    for (let p = address >>> 12; p < Math.ceil((address + length) / 4096); p++) if (!cpu.isRamPage(p)) return false;
    return true;
  };
  return {
    read: (address, length) => (isRam(address, length) ? cpu.ram.slice(address, address + length) : undefined),
    write: (address, bytes) => {
      if (!isRam(address, bytes.length)) return false;
      cpu.ram.set(bytes, address);
      for (let p = address >>> 12; p < Math.ceil((address + bytes.length) / 4096); p++) {
        if (cpu.codePages[p] !== 0) cpu.code.invalidatePage(p);
      }
      return true;
    },
  };
}
