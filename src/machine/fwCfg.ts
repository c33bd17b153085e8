/**
 * QEMU's firmware configuration device (docs/specs/fw_cfg.txt) as the i386 PC has it: the
 * selector (16-bit writes) at port 0x510, the data byte at 0x511, and the DMA interface at
 * 0x514-0x51B. Port behaviour is QEMU 7.2's (hw/nvram/fw_cfg.c, checked with probe kernels):
 *  - a byte read at 0x510 or 0x511 returns the next byte of the selected item, 0 past its end
 *    or for a key nobody set; wider reads return 0 and do not advance; byte writes (the old
 *    write channel) are ignored; only a word write at 0x510 selects;
 *  - the DMA registers read as the signature "QEMU CFG", in memory order; a 32-bit write to
 *    0x514 gives the high half of the FWCfgDmaAccess address and one to 0x518 the low half,
 *    which runs the transfer (the address is written big endian).
 *
 * The items are those of QEMU 7.2 booting a Multiboot kernel with one CPU and no display,
 * and that mean something without its firmware: signature, interface ID (traditional + DMA),
 * UUID (zero), RAM size, no-graphic flag, CPU count, machine ID, boot device, NUMA (none),
 * boot menu, maximum CPU count, the IRQ 0 override flag and two files, `etc/boot-fail-wait`
 * and `etc/e820`, at QEMU's selectors. QEMU's other items serve its option ROMs and SeaBIOS
 * (the Multiboot image, ACPI, SMBIOS and HPET tables, boot order): they read as empty here.
 */
import type { AccessSize } from '../cpu/bus';
import type { DmaMemory } from './dmaMemory';
import type { PortRange } from './ioBus';

export const FW_CFG_SIGNATURE = 0x00;
export const FW_CFG_ID = 0x01;
export const FW_CFG_UUID = 0x02;
export const FW_CFG_RAM_SIZE = 0x03;
export const FW_CFG_NOGRAPHIC = 0x04;
export const FW_CFG_NB_CPUS = 0x05;
export const FW_CFG_MACHINE_ID = 0x06;
export const FW_CFG_BOOT_DEVICE = 0x0c;
export const FW_CFG_NUMA = 0x0d;
export const FW_CFG_BOOT_MENU = 0x0e;
export const FW_CFG_MAX_CPUS = 0x0f;
export const FW_CFG_FILE_DIR = 0x19;
/** x86 keys have bit 15 (FW_CFG_ARCH_LOCAL) set. */
export const FW_CFG_IRQ0_OVERRIDE = 0x8002;

/** Bit 14 marks the write channel; the rest of the key selects among 0x40 items per space. */
const KEY_MASK = 0x3fff | 0x8000;
const MAX_ENTRY = 0x40;

/** ID bits: the traditional port interface and the DMA interface. */
const ID_TRADITIONAL = 1, ID_DMA = 2;

const DMA_SIGNATURE = new TextEncoder().encode('QEMU CFG');
const DMA_ERROR = 0x01, DMA_READ = 0x02, DMA_SKIP = 0x04, DMA_SELECT = 0x08, DMA_WRITE = 0x10;

/** The files QEMU gives at the same selectors, sorted by name as its directory is. */
const FILE_BOOT_FAIL_WAIT = { name: 'etc/boot-fail-wait', select: 0x24 };
const FILE_E820 = { name: 'etc/e820', select: 0x25 };
const E820_RAM = 1;

export interface FwCfgOptions {
  /** RAM the guest is told of, in bytes. */
  ramBytes: number;
  cpus: number;
}

export type FwCfgState = ReturnType<FwCfg['saveState']>;

export class FwCfg {
  private readonly items = new Map<number, Uint8Array>();
  private selected = 0;
  private offset = 0;
  /** The DMA address as written so far (high half first). */
  private dmaAddress = 0;
  readonly ports: readonly PortRange[];

  constructor(opts: FwCfgOptions, private readonly memory: DmaMemory) {
    const { ramBytes, cpus } = opts;
    this.items.set(FW_CFG_SIGNATURE, new TextEncoder().encode('QEMU'));
    this.items.set(FW_CFG_ID, le(4, ID_TRADITIONAL | ID_DMA));
    this.items.set(FW_CFG_UUID, new Uint8Array(16));
    this.items.set(FW_CFG_RAM_SIZE, le(8, ramBytes));
    this.items.set(FW_CFG_NOGRAPHIC, le(2, 0));
    this.items.set(FW_CFG_NB_CPUS, le(2, cpus));
    this.items.set(FW_CFG_MACHINE_ID, le(4, 0));
    this.items.set(FW_CFG_BOOT_DEVICE, le(2, 0));
    // Node count 0, then a node number per CPU and a memory size per node.
    this.items.set(FW_CFG_NUMA, new Uint8Array(8 + 8 * cpus));
    this.items.set(FW_CFG_BOOT_MENU, le(2, 0));
    this.items.set(FW_CFG_MAX_CPUS, le(2, cpus));
    this.items.set(FW_CFG_IRQ0_OVERRIDE, le(4, 1));
    const e820 = concat([le(8, 0), le(8, ramBytes), le(4, E820_RAM)]);
    this.addFiles([
      { ...FILE_BOOT_FAIL_WAIT, data: le(4, 0xffffffff) },
      { ...FILE_E820, data: e820 },
    ]);

    this.ports = [
      {
        first: 0x510, count: 2,
        handler: {
          maxAccessSize: 4,
          read: (_port: number, size: AccessSize) => (size === 1 ? this.readByte() : 0),
          write: (_port: number, size: AccessSize, value: number) => { if (size === 2) this.select(value); },
        },
      },
      {
        first: 0x514, count: 8,
        handler: {
          maxAccessSize: 4,
          read: (port: number, size: AccessSize) => {
            let v = 0;
            for (let k = size - 1; k >= 0; k--) v = v * 256 + (DMA_SIGNATURE[port - 0x514 + k] ?? 0);
            return v;
          },
          write: (port: number, size: AccessSize, value: number) => { if (size === 4) this.writeDmaAddress(port - 0x514, value); },
        },
      },
    ];
  }

  private addFiles(files: { name: string; select: number; data: Uint8Array }[]): void {
    const dir = new Uint8Array(4 + 64 * files.length);
    const view = new DataView(dir.buffer);
    view.setUint32(0, files.length);
    files.forEach((f, k) => {
      view.setUint32(4 + 64 * k, f.data.length);
      view.setUint16(8 + 64 * k, f.select);
      dir.set(new TextEncoder().encode(f.name), 12 + 64 * k);
      this.items.set(f.select, f.data);
    });
    this.items.set(FW_CFG_FILE_DIR, dir);
  }

  private select(key: number): void {
    this.selected = key & 0xffff;
    this.offset = 0;
  }

  private current(): Uint8Array | undefined {
    return (this.selected & 0x3fff) < MAX_ENTRY ? this.items.get(this.selected & KEY_MASK) : undefined;
  }

  private readByte(): number {
    const data = this.current();
    if (data === undefined || this.offset >= data.length) return 0;
    return data[this.offset++];
  }

  /** 32-bit writes at 0x514 (high half) and 0x518 (low half, which starts the transfer). */
  private writeDmaAddress(offset: number, value: number): void {
    const half = bswap32(value);
    if (offset === 0) {
      this.dmaAddress = half * 2 ** 32;
    } else if (offset === 4) {
      const address = this.dmaAddress + half;
      this.dmaAddress = 0;
      this.dmaTransfer(address);
    }
  }

  /** Runs the FWCfgDmaAccess at `address`: control, length (big endian 32) and address (64). */
  private dmaTransfer(address: number): void {
    const access = this.memory.read(address, 16);
    if (access === undefined) return;
    const view = new DataView(access.buffer);
    const control = view.getUint32(0);
    let length = view.getUint32(4);
    let target = view.getUint32(8) * 2 ** 32 + view.getUint32(12);
    if (control & DMA_SELECT) this.select(control >>> 16);
    const read = (control & DMA_READ) !== 0;
    const write = !read && (control & DMA_WRITE) !== 0;
    if (!read && !write && (control & DMA_SKIP) === 0) length = 0;
    let status = 0;
    const data = this.current();
    while (length > 0 && status === 0) {
      let n: number;
      if (data === undefined || this.offset >= data.length) {
        // Past the end: a read gives zeros and does not move the offset; a write fails.
        n = length;
        if (read && !this.memory.write(target, new Uint8Array(n))) status = DMA_ERROR;
        if (write) status = DMA_ERROR;
      } else {
        n = Math.min(length, data.length - this.offset);
        if (read && !this.memory.write(target, data.subarray(this.offset, this.offset + n))) status = DMA_ERROR;
        // No item here is writable.
        if (write) status = DMA_ERROR;
        this.offset += n;
      }
      target += n;
      length -= n;
    }
    // The control word is written back: 0 when done, the error bit on failure.
    this.memory.write(address, le(4, bswap32(status)));
  }

  /** Selector, offset and half-written DMA address, for machine snapshots (snapshot.ts). */
  saveState() { return { selected: this.selected, offset: this.offset, dmaAddress: this.dmaAddress }; }

  loadState(state: FwCfgState): void { Object.assign(this, state); }
}

/** `value` as `bytes` little-endian bytes (exact up to 2^53). */
function le(bytes: number, value: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let k = 0; k < bytes; k++, value = Math.floor(value / 256)) out[k] = value % 256;
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}
