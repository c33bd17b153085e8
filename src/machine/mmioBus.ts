/**
 * Physical addresses that are device memory rather than RAM, and their dispatch to devices
 * (the local APIC at 0xFEE00000, the I/O APIC at 0xFEC00000, the CGA text buffer at 0xB8000).
 * Ownership is by 4 KiB page, looked up in a typed array; the CPU sends an access here only
 * for a page its `mmioPages` marks, so RAM accesses never see this table. Addresses nobody
 * owns read as all ones and ignore writes, as on QEMU's PC.
 */
import type { AccessSize } from '../cpu/bus';

export interface MmioHandler {
  /** `address` is the absolute physical address; accesses do not cross the handler's window. */
  read(address: number, size: AccessSize): number;
  write(address: number, size: AccessSize, value: number): void;
}

const PAGES = 1 << 20;
const ALL_ONES = [0, 0xff, 0xffff, 0, 0xffff_ffff];

export class MmioBus {
  /** Registration number per page; 0 = nobody. */
  private readonly owner = new Uint16Array(PAGES);
  private readonly handlers: (MmioHandler | undefined)[] = [undefined];

  /** `pages` is the machine's mmioPages: a registered page stops being RAM for the CPU. */
  constructor(private readonly pages: Uint8Array) {}

  /** Gives the whole pages of [base, base + size) to `handler`. */
  register(base: number, size: number, handler: MmioHandler): void {
    if (base % 4096 !== 0 || size <= 0 || base + size > 2 ** 32) {
      throw new RangeError(`MMIO window 0x${base.toString(16)}+0x${size.toString(16)}: not whole pages below 4 GiB`);
    }
    const id = this.handlers.length;
    this.handlers.push(handler);
    for (let p = base / 4096; p < (base + size) / 4096; p++) {
      if (this.owner[p] !== 0) throw new RangeError(`MMIO page 0x${(p * 4096).toString(16)} is registered twice`);
      this.owner[p] = id;
      this.pages[p] = 1;
    }
  }

  read(address: number, size: AccessSize): number {
    const h = this.handlers[this.owner[address >>> 12]];
    return h === undefined ? ALL_ONES[size] : h.read(address, size);
  }

  write(address: number, size: AccessSize, value: number): void {
    this.handlers[this.owner[address >>> 12]]?.write(address, size, value);
  }
}
