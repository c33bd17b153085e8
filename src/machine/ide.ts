/**
 * The primary IDE channel in PIO mode (ATA/ATAPI-6): command block at 0x1F0-0x1F7, device
 * control / alternate status at 0x3F6, IRQ 14; a hard disk as device 0 (if one is attached)
 * and no device 1. Behaviour follows QEMU 7.2's hw/ide/core.c where the standard leaves a
 * choice, checked with probe kernels under qemu-system-i386 -hda:
 *
 *  - Register writes reach both devices' registers; a write to 0x1F1-0x1F6 while the selected
 *    device is BSY or DRQ is ignored, and a command is ignored then. Device 1 (absent) reads
 *    0 as status and error, its own copies of the other registers, and ignores commands. With
 *    no disk at all, every register reads 0 and commands are ignored (QEMU aborts them and
 *    raises IRQ 14 while still reading 0; no drive answers on real hardware).
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
 *  - Device control: nIEN masks INTRQ; SRST holds both devices BSY while set and resets them
 *    when cleared (signature in the task file, device 0 selected, error 01, no interrupt), as
 *    ATA-6 9.2 describes (QEMU resets at once and raises IRQ 14). HOB selects the previous
 *    values of 0x1F1-0x1F5 for reading and is cleared by any task file write.
 *  - Reading the status register clears INTRQ, as does writing a command; the alternate
 *    status does not. The data port moves 16 or 32 bits an access (a byte access moves a word).
 *
 * State at Multiboot entry as SeaBIOS leaves it under QEMU 7.2: device 1 selected (0xB0), the
 * task file zero, device 0 DRDY|DSC with multiple count 16, nIEN clear.
 */
import type { AccessSize } from '../cpu/bus';
import { identifyDevice, MAX_MULTIPLE } from './ataIdentify';
import { SECTOR_SIZE, type Disk } from './disk';
import type { IoHandler, PortRange } from './ioBus';

const IDE_BASE = 0x1f0, IDE_CONTROL = 0x3f6;
export const IRQ_IDE = 14;
/** A disk's time to read or write one PIO block, or to flush: 10 µs. */
export const BLOCK_LATENCY_NS = 10_000;

// Status register
export const ERR = 0x01, DRQ = 0x08, DSC = 0x10, DRDY = 0x40, BSY = 0x80;
// Error register
export const ABRT = 0x04;
const DIAGNOSTIC_PASSED = 0x01;
// Device register
const DEV = 0x10, LBA = 0x40, DEVICE_ALWAYS_ONE = 0xa0, HEAD = 0x0f;
// Device control register
const NIEN = 0x02, SRST = 0x04, HOB = 0x80;

/** One device's copy of the task file; 0x1F1-0x1F5 keep their previous values for LBA48 (HOB). */
interface TaskFile {
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

/** What a debugger shows of the channel. */
export interface IdeRegisters {
  status: number; error: number; sectorCount: number; sector: number; cylinder: number; device: number;
  control: number; selected: 0 | 1; intrq: boolean; disk: boolean;
}

export type IdeState = ReturnType<IdeChannel['saveState']>;

export class IdeChannel {
  readonly ports: readonly PortRange[];
  private disk: Disk | undefined;
  private identify: Uint16Array = new Uint16Array(256);
  private regs: [TaskFile, TaskFile] = [taskFile(DEVICE_ALWAYS_ONE | DEV), taskFile(DEVICE_ALWAYS_ONE | DEV)];
  private unit: 0 | 1 = 1;
  private status = DRDY | DSC;
  private error = 0;
  private control = 0;
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
  private intrq = false;
  private line = false;

  constructor(private readonly onIrq: (level: boolean) => void) {
    const data: IoHandler = {
      maxAccessSize: 4,
      read: (_port: number, size: AccessSize) => this.readData(size),
      write: (_port: number, size: AccessSize, value: number) => this.writeData(size, value),
    };
    const taskFilePorts: IoHandler = {
      read: (port: number) => this.readRegister(port - IDE_BASE),
      write: (port: number, _size: AccessSize, value: number) => this.writeRegister(port - IDE_BASE, value & 0xff),
    };
    const control: IoHandler = {
      read: () => this.readStatus(false),
      write: (_port: number, _size: AccessSize, value: number) => this.writeControl(value & 0xff),
    };
    this.ports = [
      { first: IDE_BASE, count: 1, handler: data },
      { first: IDE_BASE + 1, count: 7, handler: taskFilePorts },
      { first: IDE_CONTROL, count: 1, handler: control },
    ];
  }

  /** Attaches `disk` as device 0. */
  attach(disk: Disk): void {
    this.disk = disk;
    this.identify = identifyDevice(disk.geometry, disk.sectorCount, this.multiple);
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

  registers(): IdeRegisters {
    const r = this.regs[this.unit];
    return {
      status: this.readStatus(false), error: this.present() ? this.error : 0, sectorCount: r.nsector & 0xff, sector: r.sector,
      cylinder: (r.hcyl << 8) | r.lcyl, device: r.select, control: this.control, selected: this.unit, intrq: this.intrq,
      disk: this.disk !== undefined,
    };
  }

  saveState() {
    const busy = this.phase !== Phase.Idle;
    return {
      identify: this.identify.slice(), regs: this.regs.map((r) => ({ ...r })) as [TaskFile, TaskFile], unit: this.unit,
      status: this.status, error: this.error, control: this.control, multiple: this.multiple, lba48: this.lba48,
      blockSectors: this.blockSectors, buffer: busy ? this.buffer.slice(0, this.end) : new Uint8Array(0),
      phase: this.phase, after: this.after, pos: this.pos, end: this.end, pending: this.pending,
      pendingAtNs: this.pendingAtNs, nowNs: this.nowNs, intrq: this.intrq, line: this.line,
      disk: this.disk?.saveState(),
    };
  }

  /** Puts back a saved state (of a machine with the same disk); IRQ 14 is not driven. */
  loadState(state: IdeState): void {
    const { identify, regs, buffer, disk, ...rest } = state;
    Object.assign(this, rest);
    this.identify = identify.slice();
    this.regs = [{ ...regs[0] }, { ...regs[1] }];
    this.buffer.set(buffer);
    if (disk !== undefined) this.disk?.loadState(disk);
  }

  // ---- ports ----------------------------------------------------------------------------

  /** Device 0 is selected and has a disk (device 1 never does). */
  private present(): boolean {
    return this.unit === 0 && this.disk !== undefined;
  }

  private readStatus(clearsInterrupt: boolean): number {
    if (clearsInterrupt) this.setIntrq(false);
    return this.present() ? this.status : 0;
  }

  private readRegister(reg: number): number {
    if (reg === 7) return this.readStatus(true);
    if (this.disk === undefined) return 0;
    const r = this.regs[this.unit];
    const hob = (this.control & HOB) !== 0;
    switch (reg) {
      case 1: return !this.present() ? 0 : hob ? r.hobFeature : this.error;
      case 2: return hob ? r.hobNsector : r.nsector & 0xff;
      case 3: return hob ? r.hobSector : r.sector;
      case 4: return hob ? r.hobLcyl : r.lcyl;
      case 5: return hob ? r.hobHcyl : r.hcyl;
      default: return r.select;
    }
  }

  private writeRegister(reg: number, value: number): void {
    if (reg === 7) { this.command(value); return; }
    if (this.present() && this.status & (BSY | DRQ)) return;
    this.control &= ~HOB;
    for (const r of this.regs) {
      switch (reg) {
        case 1: r.hobFeature = r.feature; r.feature = value; break;
        case 2: r.hobNsector = r.nsector & 0xff; r.nsector = value; break;
        case 3: r.hobSector = r.sector; r.sector = value; break;
        case 4: r.hobLcyl = r.lcyl; r.lcyl = value; break;
        case 5: r.hobHcyl = r.hcyl; r.hcyl = value; break;
        default: r.select = value | DEVICE_ALWAYS_ONE;
      }
    }
    if (reg === 6) this.unit = value & DEV ? 1 : 0;
  }

  private writeControl(value: number): void {
    const wasResetting = (this.control & SRST) !== 0;
    this.control = value;
    if (!wasResetting && value & SRST) {
      this.stopTransfer();
      this.pending = Pending.None;
      this.pendingAtNs = Infinity;
      this.status |= BSY;
    } else if (wasResetting && !(value & SRST)) {
      this.softwareReset();
    }
    this.driveLine();
  }

  /** A byte access moves a whole word, as QEMU's data port does (it reads back the low byte). */
  private readData(accessSize: AccessSize): number {
    const size = accessSize === 1 ? 2 : accessSize;
    if (!this.present() || !(this.status & DRQ) || this.phase !== Phase.DataIn || this.pos + size > this.end) return 0;
    const b = this.buffer, p = this.pos;
    const value = size === 2 ? b[p] | (b[p + 1] << 8) : (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
    this.pos += size;
    if (this.pos >= this.end) this.endOfBlock();
    return value;
  }

  private writeData(accessSize: AccessSize, value: number): void {
    const size = accessSize === 1 ? 2 : accessSize;
    if (!this.present() || !(this.status & DRQ) || this.phase !== Phase.DataOut || this.pos + size > this.end) return;
    const b = this.buffer, p = this.pos;
    b[p] = value;
    b[p + 1] = value >>> 8;
    if (size === 4) { b[p + 2] = value >>> 16; b[p + 3] = value >>> 24; }
    this.pos += size;
    if (this.pos >= this.end) this.endOfBlock();
  }

  // ---- commands -------------------------------------------------------------------------

  private command(cmd: number): void {
    this.control &= ~HOB;
    this.setIntrq(false);
    if (!this.present() || this.status & (BSY | DRQ)) return;
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
      case 0xe7: case 0xea: this.schedule(Pending.Flush, DRDY | BSY); break;
      case 0xec: this.identifyDevice(); break;
      case 0xef: this.setFeatures(); break;
      case 0xc6: this.setMultiple(); break;
      case 0x90: this.diagnose(); break;
      case 0x40: case 0x41: this.transformCount(false); this.complete(true); break;
      case 0x42: this.transformCount(true); this.complete(true); break;
      case 0xf8: case 0x27: this.readNativeMax(cmd === 0x27); break;
      case 0x10: case 0x70: case 0x91: this.complete(true); break;
      case 0xe5: case 0x98: this.regs[0].nsector = 0xff; this.complete(true); break;
      case 0xe0: case 0xe1: case 0xe2: case 0xe3: case 0xe6:
      case 0x94: case 0x95: case 0x96: case 0x97: case 0x99:
        this.complete(false);
        break;
      default: this.abort();
    }
  }

  private startRead(ext: boolean, block: number): void {
    if (block === 0) { this.abort(); return; }
    this.transformCount(ext);
    this.blockSectors = block;
    this.schedule(Pending.ReadBlock, DRDY | DSC | BSY);
  }

  private startWrite(ext: boolean, block: number): void {
    if (block === 0) { this.abort(); return; }
    this.transformCount(ext);
    this.blockSectors = block;
    this.status = DRDY | DSC | DRQ;
    this.startTransfer(Phase.DataOut, Math.min(this.regs[0].nsector, block) * SECTOR_SIZE, After.Write);
  }

  private loadReadBlock(): void {
    const r = this.regs[0];
    const n = Math.min(r.nsector, this.blockSectors), lba = this.currentLba();
    if (!this.onDisk(lba, n)) { this.abort(); return; }
    this.disk!.read(lba, this.buffer.subarray(0, n * SECTOR_SIZE));
    this.setLba(lba + n);
    r.nsector -= n;
    this.status = DRDY | DSC | DRQ;
    this.startTransfer(Phase.DataIn, n * SECTOR_SIZE, After.Read);
    this.setIntrq(true);
  }

  private commitWriteBlock(): void {
    const r = this.regs[0];
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
    this.setIntrq(true);
  }

  /** The host has read or written the whole block. */
  private endOfBlock(): void {
    const after = this.after;
    this.stopTransfer();
    this.status &= ~DRQ;
    if (after === After.Read && this.regs[0].nsector > 0) this.schedule(Pending.ReadBlock, DRDY | DSC | BSY);
    else if (after === After.Write) this.schedule(Pending.WriteBlock, DRDY | DSC | BSY);
  }

  private identifyDevice(): void {
    this.identify.forEach((w, k) => { this.buffer[2 * k] = w & 0xff; this.buffer[2 * k + 1] = w >>> 8; });
    this.status = DRDY | DSC | DRQ;
    this.startTransfer(Phase.DataIn, SECTOR_SIZE, After.Stop);
    this.setIntrq(true);
  }

  private setFeatures(): void {
    const r = this.regs[0], w = this.identify;
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
    const n = this.regs[0].nsector & 0xff;
    if (n !== 0 && (n > MAX_MULTIPLE || (n & (n - 1)) !== 0)) { this.abort(); return; }
    this.multiple = n;
    // ATA-6 word 59: the current multiple setting (QEMU keeps the value of the first IDENTIFY).
    this.identify[59] = 0x100 | n;
    this.complete(true);
  }

  private diagnose(): void {
    this.setSignature(0);
    this.error = DIAGNOSTIC_PASSED;
    this.status = DRDY | DSC;
    this.setIntrq(true);
  }

  private readNativeMax(ext: boolean): void {
    this.transformCount(ext);
    this.setLba(this.disk!.sectorCount - 1);
    this.complete(true);
  }

  private softwareReset(): void {
    this.stopTransfer();
    this.regs = [taskFile(DEVICE_ALWAYS_ONE), taskFile(DEVICE_ALWAYS_ONE)];
    this.setSignature(0);
    this.setSignature(1);
    this.unit = 0;
    this.multiple = MAX_MULTIPLE;
    this.identify[59] = 0x100 | MAX_MULTIPLE;
    this.lba48 = false;
    this.status = DRDY | DSC;
    this.error = DIAGNOSTIC_PASSED;
    this.setIntrq(false);
  }

  /**
   * The task file a device shows after a reset or a diagnostic: count 1, sector 1, cylinder
   * 0/0 for a disk or FF/FF for no device, and a device register of 0 but for DEV.
   */
  private setSignature(unit: 0 | 1): void {
    const r = this.regs[unit];
    r.select = (r.select & DEV) | DEVICE_ALWAYS_ONE;
    r.nsector = 1;
    r.sector = 1;
    r.lcyl = r.hcyl = unit === 0 ? 0 : 0xff;
  }

  private complete(seekComplete: boolean): void {
    this.status = DRDY | (seekComplete ? DSC : 0);
    this.setIntrq(true);
  }

  private abort(): void {
    this.stopTransfer();
    this.pending = Pending.None;
    this.pendingAtNs = Infinity;
    this.status = DRDY | ERR;
    this.error = ABRT;
    this.setIntrq(true);
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
    const r = this.regs[0];
    this.lba48 = ext;
    const count = ext ? (r.hobNsector << 8) | (r.nsector & 0xff) : r.nsector & 0xff;
    r.nsector = count === 0 ? (ext ? 65536 : 256) : count;
  }

  private currentLba(): number {
    const r = this.regs[0];
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
    const r = this.regs[0];
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

  // ---- interrupt ------------------------------------------------------------------------

  private setIntrq(pending: boolean): void {
    this.intrq = pending;
    this.driveLine();
  }

  /** IRQ 14 follows INTRQ unless nIEN puts the device's output in high impedance. */
  private driveLine(): void {
    const level = this.intrq && !(this.control & NIEN);
    if (level !== this.line) {
      this.line = level;
      this.onIrq(level);
    }
  }
}
