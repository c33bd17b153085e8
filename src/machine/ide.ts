/**
 * An IDE channel of QEMU 7.2's i386 PC (the PIIX3 IDE function in legacy mode): the primary at
 * 0x1F0-0x1F7 and 0x3F6 on IRQ 14, the secondary at 0x170-0x177 and 0x376 on IRQ 15, each
 * with a device 0 (master) and a device 1 (slave) position that may hold a hard disk
 * (ideDevice.ts). Where the standard leaves a choice, the channel does what QEMU's
 * hw/ide/core.c does, checked with probe kernels under qemu-system-i386 -drive ...,index=N:
 *
 *  - Register writes reach both devices' task files; a write to the command block while the
 *    selected device is BSY or DRQ is ignored, and a command is ignored then. The device
 *    register's bit 4 (DEV) selects the device that is read and that runs commands.
 *  - A channel without any disk reads 0 in every register; its device 0 still runs commands
 *    (and aborts those that need a disk, with an interrupt). With a disk on the channel, an
 *    empty device 1 reads 0 as status (alternate status too) and error, its own copies of the
 *    other registers, and ignores commands; an empty device 0 shows its real status and
 *    error (0x41 and ABRT after IDENTIFY) and runs commands as ideDevice.ts says.
 *  - Device control: nIEN masks INTRQ; SRST holds both devices BSY while set and resets them
 *    when cleared (signature in the task file, device 0 selected, error 01, no interrupt), as
 *    ATA-6 9.2 describes (QEMU resets at once and raises the IRQ). HOB selects the previous
 *    values of the count, LBA and feature registers for reading; any task file write clears it.
 *  - Reading the status register clears INTRQ, as does writing a command; the alternate
 *    status does not.
 *
 * QEMU also puts an empty ATAPI CD-ROM drive at the secondary master when no -drive has
 * index 2; vtscope has no CD-ROM, so that position stays empty.
 *
 * State at Multiboot entry as SeaBIOS's drive detection leaves it under QEMU 7.2 (powerOn):
 * device 1 selected (0xB0 in both task files), the rest of the task file zero, the disks
 * DRDY|DSC with multiple count 16, nIEN clear; device 0 without a disk beside a device 1
 * with one has aborted SeaBIOS's IDENTIFY (status DRDY|ERR, error ABRT); a channel with only
 * device 0 keeps 0x55 and 0xAA, SeaBIOS's check of device 1, as the previous count and sector.
 */
import type { AccessSize } from '../cpu/bus';
import type { Disk } from './disk';
import { ABRT, BSY, DEV, DEVICE_ALWAYS_ONE, DRDY, DRQ, DSC, ERR, IdeDevice, type IdeDeviceState } from './ideDevice';
import type { IoHandler, PortRange } from './ioBus';

export { ABRT, BLOCK_LATENCY_NS, BSY, DRDY, DRQ, DSC, ERR } from './ideDevice';

/** Where a channel's registers are, its ISA IRQ, and the -drive index of its device 0. */
export interface IdeChannelConfig {
  readonly commandBlock: number;
  readonly control: number;
  readonly irq: number;
  readonly firstDrive: number;
}

export const PRIMARY_IDE: IdeChannelConfig = { commandBlock: 0x1f0, control: 0x3f6, irq: 14, firstDrive: 0 };
export const SECONDARY_IDE: IdeChannelConfig = { commandBlock: 0x170, control: 0x376, irq: 15, firstDrive: 2 };

/** Disk positions on the two channels: QEMU's -drive index 0-3 (if=ide). */
export const IDE_DRIVES = 4;

// Device control register
const NIEN = 0x02, SRST = 0x04, HOB = 0x80;

/** What a debugger shows of the channel (the selected device's registers as the guest reads them). */
export interface IdeRegisters {
  status: number; error: number; sectorCount: number; sector: number; cylinder: number; device: number;
  control: number; selected: 0 | 1; intrq: boolean;
  /** Whether the selected device holds a disk. */
  disk: boolean;
}

export type IdeState = ReturnType<IdeChannel['saveState']>;

export class IdeChannel {
  readonly ports: readonly PortRange[];
  private readonly devices: readonly [IdeDevice, IdeDevice];
  private unit: 0 | 1 = 1;
  private control = 0;
  private intrq = false;
  private line = false;

  constructor(private readonly onIrq: (level: boolean) => void, readonly config: IdeChannelConfig = PRIMARY_IDE) {
    const interrupt = (): void => this.setIntrq(true);
    this.devices = [new IdeDevice(config.firstDrive, interrupt), new IdeDevice(config.firstDrive + 1, interrupt)];
    const base = config.commandBlock;
    const data: IoHandler = {
      maxAccessSize: 4,
      read: (_port: number, size: AccessSize) => this.selected.readData(size),
      write: (_port: number, size: AccessSize, value: number) => this.selected.writeData(size, value),
    };
    const taskFilePorts: IoHandler = {
      read: (port: number) => this.readRegister(port - base),
      write: (port: number, _size: AccessSize, value: number) => this.writeRegister(port - base, value & 0xff),
    };
    const control: IoHandler = {
      read: () => this.readStatus(false),
      write: (_port: number, _size: AccessSize, value: number) => this.writeControl(value & 0xff),
    };
    this.ports = [
      { first: base, count: 1, handler: data },
      { first: base + 1, count: 7, handler: taskFilePorts },
      { first: config.control, count: 1, handler: control },
    ];
    this.powerOn();
  }

  /** Attaches `disk` at device `unit` (0, the master, unless told), before the guest runs. */
  attach(disk: Disk, unit: 0 | 1 = 0): void {
    this.devices[unit].attach(disk);
    this.powerOn();
  }

  /** The disk at device `unit`, if any. */
  diskAt(unit: 0 | 1): Disk | undefined {
    return this.devices[unit].disk;
  }

  advanceTo(nowNs: number): void {
    for (const device of this.devices) device.advanceTo(nowNs);
  }

  nextEventNs(): number {
    return Math.min(this.devices[0].nextEventNs(), this.devices[1].nextEventNs());
  }

  registers(): IdeRegisters {
    const d = this.selected, r = d.regs;
    return {
      status: this.readStatus(false), error: this.hidesStatus() ? 0 : d.error, sectorCount: r.nsector & 0xff, sector: r.sector,
      cylinder: (r.hcyl << 8) | r.lcyl, device: r.select, control: this.control, selected: this.unit, intrq: this.intrq,
      disk: d.disk !== undefined,
    };
  }

  saveState() {
    return {
      devices: this.devices.map((d) => d.saveState()) as [IdeDeviceState, IdeDeviceState],
      unit: this.unit, control: this.control, intrq: this.intrq, line: this.line,
    };
  }

  /** Puts back a saved state (of a machine with the same disks); the IRQ line is not driven. */
  loadState(state: IdeState): void {
    const { devices, ...rest } = state;
    Object.assign(this, rest);
    devices.forEach((s, k) => this.devices[k].loadState(s));
  }

  /** See the header: what SeaBIOS leaves, given the disks present. */
  private powerOn(): void {
    const [master, slave] = this.devices;
    const onlySlave = master.disk === undefined && slave.disk !== undefined;
    master.powerOn(onlySlave ? DRDY | ERR : DRDY | DSC, onlySlave ? ABRT : 0);
    slave.powerOn(DRDY | DSC, 0);
    if (master.disk !== undefined && slave.disk === undefined) {
      for (const d of this.devices) { d.regs.hobNsector = 0x55; d.regs.hobSector = 0xaa; }
    }
    this.unit = 1;
    this.control = 0;
    this.setIntrq(false);
  }

  // ---- ports ----------------------------------------------------------------------------

  private get selected(): IdeDevice {
    return this.devices[this.unit];
  }

  private hasDisks(): boolean {
    return this.devices[0].disk !== undefined || this.devices[1].disk !== undefined;
  }

  /** Status and error read 0: no disk on the channel, or an empty device 1 selected. */
  private hidesStatus(): boolean {
    return !this.hasDisks() || (this.unit === 1 && this.selected.disk === undefined);
  }

  private readStatus(clearsInterrupt: boolean): number {
    if (clearsInterrupt) this.setIntrq(false);
    return this.hidesStatus() ? 0 : this.selected.status;
  }

  private readRegister(reg: number): number {
    if (reg === 7) return this.readStatus(true);
    if (!this.hasDisks()) return 0;
    const d = this.selected, r = d.regs;
    const hob = (this.control & HOB) !== 0;
    switch (reg) {
      case 1: return this.hidesStatus() ? 0 : hob ? r.hobFeature : d.error;
      case 2: return hob ? r.hobNsector : r.nsector & 0xff;
      case 3: return hob ? r.hobSector : r.sector;
      case 4: return hob ? r.hobLcyl : r.lcyl;
      case 5: return hob ? r.hobHcyl : r.hcyl;
      default: return r.select;
    }
  }

  private writeRegister(reg: number, value: number): void {
    if (reg === 7) { this.command(value); return; }
    if (this.selected.status & (BSY | DRQ)) return;
    this.control &= ~HOB;
    for (const { regs: r } of this.devices) {
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

  private command(cmd: number): void {
    this.control &= ~HOB;
    this.setIntrq(false);
    const d = this.selected;
    // An empty device 1 does not answer; an empty device 0 does (see the header).
    if (this.unit === 1 && d.disk === undefined) return;
    if (d.status & (BSY | DRQ)) return;
    d.command(cmd);
  }

  private writeControl(value: number): void {
    const wasResetting = (this.control & SRST) !== 0;
    this.control = value;
    if (!wasResetting && value & SRST) {
      for (const d of this.devices) d.holdInReset();
    } else if (wasResetting && !(value & SRST)) {
      for (const d of this.devices) d.softwareReset();
      this.unit = 0;
      this.setIntrq(false);
    }
    this.driveLine();
  }

  // ---- interrupt ------------------------------------------------------------------------

  private setIntrq(pending: boolean): void {
    this.intrq = pending;
    this.driveLine();
  }

  /** The IRQ follows INTRQ unless nIEN puts the devices' output in high impedance. */
  private driveLine(): void {
    const level = this.intrq && !(this.control & NIEN);
    if (level !== this.line) {
      this.line = level;
      this.onIrq(level);
    }
  }
}
