/**
 * One device position of an IDE channel (ide.ts) in PIO mode, ATA/ATAPI-6: its copy of the
 * task file, its status and error registers, and the command it runs on the hard disk it holds.
 * A position without a disk keeps its registers and runs commands as QEMU 7.2's IDEState
 * without a block backend does (hw/ide/core.c): READ/WRITE, IDENTIFY, SET FEATURES and READ
 * NATIVE MAX ADDRESS abort, FLUSH CACHE completes at once, the rest completes as for a disk.
 * Whether the guest reaches such a device at all is the channel's business.
 *
 *  - READ SECTORS (20/21), READ SECTORS EXT (24), READ MULTIPLE (C4, EXT 29): each block (one
 *    sector, or the multiple count) is ready BLOCK_LATENCY_NS after the command or after the
 *    previous block was read, with BSY meanwhile; then DRQ, the task file already advanced past
 *    the block, and INTRQ. WRITE SECTORS (30/31), EXT (34), WRITE MULTIPLE (C5, EXT 39): DRQ
 *    at once for the first block; each block written goes to the disk BLOCK_LATENCY_NS later,
 *    then INTRQ and DRQ for the next one. A block outside the disk aborts the command when it
 *    is reached (ABRT, which ATA-6 allows for an address beyond the capacity), so earlier
 *    blocks are transferred. LBA28, LBA48 and CHS addressing (by the disk's geometry).
 *  - IDENTIFY DEVICE (EC) at once (ataIdentify.ts), SET FEATURES (EF) for write cache 02/82,
 *    transfer mode 03 (reflected in words 62/63/88) and the options QEMU accepts as no-ops,
 *    SET MULTIPLE MODE (C6, 0 or a power of two up to 16, initially 16), FLUSH CACHE (E7/EA)
 *    after BLOCK_LATENCY_NS, EXECUTE DEVICE DIAGNOSTIC (90), READ NATIVE MAX ADDRESS (F8/27),
 *    READ VERIFY (40/41/42), SEEK, RECALIBRATE, INITIALIZE DEVICE PARAMETERS, the power
 *    commands and CHECK POWER MODE as QEMU does them. Anything else: ABRT. No DMA.
 *  - The data port moves 16 or 32 bits an access (a byte access moves a word).
 */
import type { AccessSize } from '../cpu/bus';
import { identifyDevice, MAX_MULTIPLE } from './ataIdentify';
import { SECTOR_SIZE, type Disk } from './disk';

/** A disk's time to read or write one PIO block, or to flush: 10 µs. */
export const BLOCK_LATENCY_NS = 10_000;

// Status register
export const ERR = 0x01, DRQ = 0x08, DSC = 0x10, DRDY = 0x40, BSY = 0x80;
// Error register
export const ABRT = 0x04;
const DIAGNOSTIC_PASSED = 0x01;
// Device register
export const DEV = 0x10, DEVICE_ALWAYS_ONE = 0xa0;
const LBA = 0x40, HEAD = 0x0f;

/** A device's copy of the task file; 0x1F1-0x1F5 keep their previous values for LBA48 (HOB). */
export interface TaskFile {
  feature: number; nsector: number; sector: number; lcyl: number; hcyl: number; select: number;
  hobFeature: number; hobNsector: number; hobSector: number; hobLcyl: number; hobHcyl: number;
}

function taskFile(select: number): TaskFile {
  return { feature: 0, nsector: 0, sector: 0, lcyl: 0, hcyl: 0, select, hobFeature: 0, hobNsector: 0, hobSector: 0, hobLcyl: 0, hobHcyl: 0 };
}

const enum Phase { Idle, DataIn, DataOut }
/** What ends a data block: nothing more (IDENTIFY), the next read block, or writing the block. */
const enum After { Stop, Read, Write }
/** Work the disk finishes after BLOCK_LATENCY_NS. */
const enum Pending { None, ReadBlock, WriteBlock, Flush }

export type IdeDeviceState = ReturnType<IdeDevice['saveState']>;

export class IdeDevice {
  regs: TaskFile = taskFile(DEVICE_ALWAYS_ONE | DEV);
  status = DRDY | DSC;
  error = 0;
  private attachedDisk: Disk | undefined;
  private identify: Uint16Array = new Uint16Array(256);
  private multiple = MAX_MULTIPLE;
  private lba48 = false;
  /** Sectors per DRQ block of the command running: 1, or the multiple count. */
  private blockSectors = 1;
  private readonly buffer = new Uint8Array(MAX_MULTIPLE * SECTOR_SIZE);
  private phase = Phase.Idle;
  private after = After.Stop;
  private pos = 0;
  private end = 0;
  private pending = Pending.None;
  private pendingAtNs = Infinity;
  private nowNs = 0;

  /**
   * `driveIndex` is QEMU's -drive index of the position (0-3), which numbers the serial
   * number; `interrupt` asserts the channel's INTRQ.
   */
  constructor(private readonly driveIndex: number, private readonly interrupt: () => void) {}

  attach(disk: Disk): void {
    this.attachedDisk = disk;
    this.identify = identifyDevice(disk.geometry, disk.sectorCount, this.multiple, this.driveIndex);
  }

  /** The hard disk in this position, if any. */
  get disk(): Disk | undefined { return this.attachedDisk; }

  /**
   * The state the firmware leaves behind after probing the channel (ide.ts): idle, the task
   * file zero with device 1 selected, `status` and `error` as given.
   */
  powerOn(status: number, error: number): void {
    this.cancel();
    this.regs = taskFile(DEVICE_ALWAYS_ONE | DEV);
    this.status = status;
    this.error = error;
    this.multiple = MAX_MULTIPLE;
    this.lba48 = false;
  }

  advanceTo(nowNs: number): void {
    this.nowNs = nowNs;
    if (this.pending !== Pending.None && nowNs >= this.pendingAtNs) {
      const work = this.pending;
      this.pending = Pending.None;
      this.pendingAtNs = Infinity;
      if (work === Pending.ReadBlock) this.loadReadBlock();
      else if (work === Pending.WriteBlock) this.commitWriteBlock();
      else this.complete(true);
    }
  }

  nextEventNs(): number {
    return this.pendingAtNs;
  }

  saveState() {
    const busy = this.phase !== Phase.Idle;
    return {
      identify: this.identify.slice(), regs: { ...this.regs }, status: this.status, error: this.error,
      multiple: this.multiple, lba48: this.lba48, blockSectors: this.blockSectors,
      buffer: busy ? this.buffer.slice(0, this.end) : new Uint8Array(0),
      phase: this.phase, after: this.after, pos: this.pos, end: this.end, pending: this.pending,
      pendingAtNs: this.pendingAtNs, nowNs: this.nowNs, disk: this.disk?.saveState(),
    };
  }

  /** Puts back a saved state (of a device holding the same disk). */
  loadState(state: IdeDeviceState): void {
    const { identify, regs, buffer, disk, ...rest } = state;
    Object.assign(this, rest);
    this.identify = identify.slice();
    this.regs = { ...regs };
    this.buffer.set(buffer);
    if (disk !== undefined) this.disk?.loadState(disk);
  }

  // ---- data port ------------------------------------------------------------------------

  /** A byte access moves a whole word, as QEMU's data port does (it reads back the low byte). */
  readData(accessSize: AccessSize): number {
    const size = accessSize === 1 ? 2 : accessSize;
    if (!(this.status & DRQ) || this.phase !== Phase.DataIn || this.pos + size > this.end) return 0;
    const b = this.buffer, p = this.pos;
    const value = size === 2 ? b[p] | (b[p + 1] << 8) : (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
    this.pos += size;
    if (this.pos >= this.end) this.endOfBlock();
    return value;
  }

  writeData(accessSize: AccessSize, value: number): void {
    const size = accessSize === 1 ? 2 : accessSize;
    if (!(this.status & DRQ) || this.phase !== Phase.DataOut || this.pos + size > this.end) return;
    const b = this.buffer, p = this.pos;
    b[p] = value;
    b[p + 1] = value >>> 8;
    if (size === 4) { b[p + 2] = value >>> 16; b[p + 3] = value >>> 24; }
    this.pos += size;
    if (this.pos >= this.end) this.endOfBlock();
  }

  // ---- commands -------------------------------------------------------------------------

  /** Runs `cmd`; the channel has checked that the device takes commands now. */
  command(cmd: number): void {
    this.error = 0;
    this.status = DRDY;
    switch (cmd) {
      case 0x20: case 0x21: this.startRead(false, 1); break;
      case 0x24: this.startRead(true, 1); break;
      case 0xc4: this.startRead(false, this.multiple); break;
      case 0x29: this.startRead(true, this.multiple); break;
      case 0x30: case 0x31: this.startWrite(false, 1); break;
      case 0x34: this.startWrite(true, 1); break;
      case 0xc5: this.startWrite(false, this.multiple); break;
      case 0x39: this.startWrite(true, this.multiple); break;
      case 0xe7: case 0xea: this.flush(); break;
      case 0xec: this.identifyDevice(); break;
      case 0xef: this.setFeatures(); break;
      case 0xc6: this.setMultiple(); break;
      case 0x90: this.diagnose(); break;
      case 0x40: case 0x41: this.transformCount(false); this.complete(true); break;
      case 0x42: this.transformCount(true); this.complete(true); break;
      case 0xf8: case 0x27: this.readNativeMax(cmd === 0x27); break;
      case 0x10: case 0x70: case 0x91: this.complete(true); break;
      case 0xe5: case 0x98: this.regs.nsector = 0xff; this.complete(true); break;
      case 0xe0: case 0xe1: case 0xe2: case 0xe3: case 0xe6:
      case 0x94: case 0x95: case 0x96: case 0x97: case 0x99:
        this.complete(false);
        break;
      default: this.abort();
    }
  }

  /** SRST set: whatever the device was doing stops, and it is busy until SRST is cleared. */
  holdInReset(): void {
    this.cancel();
    this.status |= BSY;
  }

  /** SRST cleared (ATA-6 9.2): the registers as after a reset, the signature, diagnostics passed. */
  softwareReset(): void {
    this.cancel();
    this.regs = taskFile(DEVICE_ALWAYS_ONE);
    this.setSignature();
    this.multiple = MAX_MULTIPLE;
    if (this.disk !== undefined) this.identify[59] = 0x100 | MAX_MULTIPLE;
    this.lba48 = false;
    this.status = DRDY | DSC;
    this.error = DIAGNOSTIC_PASSED;
  }

  private startRead(ext: boolean, block: number): void {
    if (this.disk === undefined || block === 0) { this.abort(); return; }
    this.transformCount(ext);
    this.blockSectors = block;
    this.schedule(Pending.ReadBlock, DRDY | DSC | BSY);
  }

  private startWrite(ext: boolean, block: number): void {
    if (this.disk === undefined || block === 0) { this.abort(); return; }
    this.transformCount(ext);
    this.blockSectors = block;
    this.status = DRDY | DSC | DRQ;
    this.startTransfer(Phase.DataOut, Math.min(this.regs.nsector, block) * SECTOR_SIZE, After.Write);
  }

  private loadReadBlock(): void {
    const r = this.regs;
    const n = Math.min(r.nsector, this.blockSectors), lba = this.currentLba();
    if (!this.onDisk(lba, n)) { this.abort(); return; }
    this.disk!.read(lba, this.buffer.subarray(0, n * SECTOR_SIZE));
    this.setLba(lba + n);
    r.nsector -= n;
    this.status = DRDY | DSC | DRQ;
    this.startTransfer(Phase.DataIn, n * SECTOR_SIZE, After.Read);
    this.interrupt();
  }

  private commitWriteBlock(): void {
    const r = this.regs;
    const n = Math.min(r.nsector, this.blockSectors), lba = this.currentLba();
    if (!this.onDisk(lba, n)) { this.abort(); return; }
    this.disk!.write(lba, this.buffer.subarray(0, n * SECTOR_SIZE));
    r.nsector -= n;
    this.setLba(lba + n);
    if (r.nsector === 0) {
      this.status = DRDY | DSC;
    } else {
      this.status = DRDY | DSC | DRQ;
      this.startTransfer(Phase.DataOut, Math.min(r.nsector, this.blockSectors) * SECTOR_SIZE, After.Write);
    }
    this.interrupt();
  }

  /** The host has read or written the whole block. */
  private endOfBlock(): void {
    const after = this.after;
    this.stopTransfer();
    this.status &= ~DRQ;
    if (after === After.Read && this.regs.nsector > 0) this.schedule(Pending.ReadBlock, DRDY | DSC | BSY);
    else if (after === After.Write) this.schedule(Pending.WriteBlock, DRDY | DSC | BSY);
  }

  /** Without a disk there is nothing to write back: done at once (QEMU's ide_flush_cache). */
  private flush(): void {
    if (this.disk === undefined) this.complete(true);
    else this.schedule(Pending.Flush, DRDY | BSY);
  }

  private identifyDevice(): void {
    if (this.disk === undefined) { this.abort(); return; }
    this.identify.forEach((w, k) => { this.buffer[2 * k] = w & 0xff; this.buffer[2 * k + 1] = w >>> 8; });
    this.status = DRDY | DSC | DRQ;
    this.startTransfer(Phase.DataIn, SECTOR_SIZE, After.Stop);
    this.interrupt();
  }

  private setFeatures(): void {
    if (this.disk === undefined) { this.abort(); return; }
    const r = this.regs, w = this.identify;
    switch (r.feature) {
      case 0x02: w[85] = (1 << 14) | (1 << 5) | 1; break;
      case 0x82: w[85] = (1 << 14) | 1; break;
      case 0x03: {
        const mode = r.nsector & 0x07;
        w[62] = 0x07; w[63] = 0x07; w[88] = 0x3f;
        switch (r.nsector >> 3) {
          case 0x00: case 0x01: break;
          case 0x02: w[62] |= 1 << (mode + 8); break;
          case 0x04: w[63] |= 1 << (mode + 8); break;
          case 0x08: w[88] |= 1 << (mode + 8); break;
          default: this.abort(); return;
        }
        break;
      }
      case 0xcc: case 0x66: case 0xaa: case 0x55: case 0x05: case 0x85:
      case 0x69: case 0x67: case 0x96: case 0x9a: case 0x42: case 0xc2:
        break;
      default: this.abort(); return;
    }
    this.complete(true);
  }

  private setMultiple(): void {
    const n = this.regs.nsector & 0xff;
    if (n !== 0 && (n > MAX_MULTIPLE || (n & (n - 1)) !== 0)) { this.abort(); return; }
    this.multiple = n;
    // ATA-6 word 59: the current multiple setting (QEMU keeps the value of the first IDENTIFY).
    if (this.disk !== undefined) this.identify[59] = 0x100 | n;
    this.complete(true);
  }

  private diagnose(): void {
    this.setSignature();
    this.error = DIAGNOSTIC_PASSED;
    this.status = DRDY | DSC;
    this.interrupt();
  }

  private readNativeMax(ext: boolean): void {
    if (this.disk === undefined) { this.abort(); return; }
    this.transformCount(ext);
    this.setLba(this.disk.sectorCount - 1);
    this.complete(true);
  }

  /**
   * The task file a device shows after a reset or a diagnostic: count 1, sector 1, cylinder
   * 0/0 for a disk or FF/FF for no device, and a device register of 0xA0. Under QEMU that
   * clears DEV even when device 1 ran the diagnostic, which stays selected.
   */
  private setSignature(): void {
    const r = this.regs;
    r.select = DEVICE_ALWAYS_ONE;
    r.nsector = 1;
    r.sector = 1;
    r.lcyl = r.hcyl = this.disk !== undefined ? 0 : 0xff;
  }

  private complete(seekComplete: boolean): void {
    this.status = DRDY | (seekComplete ? DSC : 0);
    this.interrupt();
  }

  private abort(): void {
    this.cancel();
    this.status = DRDY | ERR;
    this.error = ABRT;
    this.interrupt();
  }

  private cancel(): void {
    this.stopTransfer();
    this.pending = Pending.None;
    this.pendingAtNs = Infinity;
  }

  private schedule(work: Pending, status: number): void {
    this.status = status;
    this.pending = work;
    this.pendingAtNs = this.nowNs + BLOCK_LATENCY_NS;
  }

  private startTransfer(phase: Phase, bytes: number, after: After): void {
    this.phase = phase;
    this.after = after;
    this.pos = 0;
    this.end = bytes;
  }

  private stopTransfer(): void {
    this.phase = Phase.Idle;
    this.after = After.Stop;
    this.pos = this.end = 0;
  }

  // ---- addressing -----------------------------------------------------------------------

  /** A sector count of 0 means 256 (LBA28) or 65536 (LBA48, with the HOB byte). */
  private transformCount(ext: boolean): void {
    const r = this.regs;
    this.lba48 = ext;
    const count = ext ? (r.hobNsector << 8) | (r.nsector & 0xff) : r.nsector & 0xff;
    r.nsector = count === 0 ? (ext ? 65536 : 256) : count;
  }

  private currentLba(): number {
    const r = this.regs;
    if (r.select & LBA) {
      if (this.lba48) {
        return ((r.hobHcyl << 16) | (r.hobLcyl << 8) | r.hobSector) * 0x100_0000 + ((r.hcyl << 16) | (r.lcyl << 8) | r.sector);
      }
      return ((r.select & HEAD) << 24 | (r.hcyl << 16) | (r.lcyl << 8) | r.sector) >>> 0;
    }
    const g = this.disk!.geometry;
    return (((r.hcyl << 8) | r.lcyl) * g.heads + (r.select & HEAD)) * g.sectors + r.sector - 1;
  }

  private setLba(lba: number): void {
    const r = this.regs;
    if (r.select & LBA) {
      const low = lba % 0x100_0000, high = Math.floor(lba / 0x100_0000);
      r.sector = low & 0xff;
      r.lcyl = (low >>> 8) & 0xff;
      r.hcyl = (low >>> 16) & 0xff;
      if (this.lba48) {
        r.hobSector = high & 0xff;
        r.hobLcyl = (high >>> 8) & 0xff;
        r.hobHcyl = (high >>> 16) & 0xff;
      } else {
        r.select = (r.select & ~HEAD) | (high & HEAD);
      }
      return;
    }
    const g = this.disk!.geometry;
    const perCylinder = g.heads * g.sectors;
    const cyl = Math.floor(lba / perCylinder), rest = lba % perCylinder;
    r.hcyl = (cyl >>> 8) & 0xff;
    r.lcyl = cyl & 0xff;
    r.select = (r.select & ~HEAD) | (Math.floor(rest / g.sectors) & HEAD);
    r.sector = (rest % g.sectors) + 1;
  }

  private onDisk(lba: number, sectors: number): boolean {
    return lba >= 0 && lba + sectors <= this.disk!.sectorCount;
  }
}
