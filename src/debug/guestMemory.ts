/**
 * Guest memory as the debugger sees it: by linear address, translated by the page walk without
 * side effects (no TLB fill, no accessed or dirty bits, no #PF), RAM only. Device memory is
 * neither read nor written, since a read there could change device state.
 */
import type { Cpu } from '../cpu/cpu';
import { translateDebug } from '../cpu/paging';

/** A debugger request the guest state cannot satisfy (unmapped address, bad expression...). */
export class DebugRequestError extends Error {
  override readonly name = 'DebugRequestError';
}

export function hex8(value: number): string {
  return '0x' + (value >>> 0).toString(16).padStart(8, '0');
}

export class GuestMemory {
  constructor(private readonly cpu: Cpu,
    /** Linear to physical address, or -1: the processor's page walk unless a VMM's guest has page tables of its own. */
    private readonly translate: (lin: number) => number = (lin) => translateDebug(cpu, lin)) {}

  /** The RAM address behind linear address `lin`, or undefined if unmapped or not RAM. */
  physical(lin: number): number | undefined {
    const p = this.translate(lin | 0);
    if (p < 0 || !this.cpu.isRamPage(p >>> 12)) return undefined;
    return p;
  }

  /**
   * Up to `count` bytes from `lin`: the readable prefix (`data`), then how many bytes after it
   * cannot be read before the next readable one or the end of the request.
   */
  read(lin: number, count: number): { data: Uint8Array; unreadable: number } {
    const out: number[] = [];
    let k = 0;
    while (k < count) {
      const p = this.physical((lin + k) | 0);
      if (p === undefined) break;
      // Copy up to the end of the page in one go.
      const n = Math.min(count - k, 0x1000 - (p & 0xfff));
      for (let j = 0; j < n; j++) out.push(this.cpu.ram[p + j]);
      k += n;
    }
    let unreadable = 0;
    while (k + unreadable < count && this.physical((lin + k + unreadable) | 0) === undefined) {
      unreadable += 0x1000 - (((lin + k + unreadable) | 0) & 0xfff);
    }
    return { data: Uint8Array.from(out), unreadable: Math.min(unreadable, count - k) };
  }

  /** The byte at `lin`, or -1 if it cannot be read. */
  byteAt(lin: number): number {
    const p = this.physical(lin);
    return p === undefined ? -1 : this.cpu.ram[p];
  }

  /** A little-endian value of 1, 2 or 4 bytes; throws when any byte cannot be read. */
  readValue(lin: number, size: 1 | 2 | 4): number {
    let v = 0;
    for (let k = 0; k < size; k++) {
      const p = this.physical((lin + k) | 0);
      if (p === undefined) throw new DebugRequestError(`cannot read linear address ${hex8(lin + k)}: ${this.why(lin + k)}`);
      v += this.cpu.ram[p] * 2 ** (8 * k);
    }
    return v;
  }

  /** Writes `bytes` at `lin`, stopping at the first byte that cannot be written; returns how many were. */
  write(lin: number, bytes: Uint8Array): number {
    for (let k = 0; k < bytes.length; k++) {
      const p = this.physical((lin + k) | 0);
      if (p === undefined) return k;
      this.cpu.writePhys8(p, bytes[k]);   // invalidates decoded code on that page
    }
    return bytes.length;
  }

  /** Why `lin` cannot be accessed, for messages. */
  why(lin: number): string {
    const p = this.translate(lin | 0);
    if (p < 0) return 'not mapped by the page tables';
    return `physical address ${hex8(p)} is not RAM`;
  }
}
