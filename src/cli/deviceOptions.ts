/**
 * The device options of `vtscope run`: `--screen` prints the CGA text screen after the run,
 * `--keys TEXT` types TEXT on the PS/2 keyboard from the start, `--disk FILE` attaches a raw
 * disk image as the IDE primary master, copy-on-write: the guest's writes stay in memory and
 * FILE is left as it was, unless `--disk-write` asks for them to be written back at the end.
 */
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { Disk, SECTOR_SIZE, type DiskBacking } from '../machine/disk';
import type { Machine } from '../machine/machine';
import { keyEventsFor, UntypableCharacterError } from '../machine/scanCodes';
import { writeAll } from './stdoutSink';
import { UsageError } from './usage';

export const DEVICE_OPTIONS = {
  screen: { type: 'boolean' },
  keys: { type: 'string' },
  disk: { type: 'string' },
  'disk-write': { type: 'boolean' },
} as const;

export interface DeviceOptions {
  screen: boolean;
  keys: string | undefined;
  disk: string | undefined;
  diskWrite: boolean;
}

export function parseDeviceOptions(command: string,
  values: { screen?: boolean; keys?: string; disk?: string; 'disk-write'?: boolean }): DeviceOptions {
  if (values['disk-write'] && values.disk === undefined) throw new UsageError(`${command}: --disk-write needs --disk FILE`);
  if (values.keys !== undefined) {
    try {
      keyEventsFor(values.keys);
    } catch (e) {
      if (e instanceof UntypableCharacterError) throw new UsageError(`${command}: --keys: ${e.message}`);
      throw e;
    }
  }
  return { screen: values.screen ?? false, keys: values.keys, disk: values.disk, diskWrite: values['disk-write'] ?? false };
}

/** A disk image file the machine uses; `close` writes the guest's changes back if asked to. */
export interface AttachedDisk {
  close(): void;
}

/**
 * Opens the image (for writing too with --disk-write, so a read-only file is reported before
 * the run) and attaches it to `machine`.
 */
export function attachDiskFile(machine: Machine, path: string, writeBack: boolean, command = 'run'): AttachedDisk {
  let fd: number;
  try {
    fd = openSync(path, writeBack ? 'r+' : 'r');
  } catch (e) {
    throw new UsageError(`${command}: cannot open --disk ${path}${writeBack ? ' for writing' : ''}: ${(e as Error).message}`);
  }
  const stat = fstatSync(fd);
  if (!stat.isFile() || stat.size === 0 || stat.size % SECTOR_SIZE !== 0) {
    closeSync(fd);
    const what = stat.isFile() ? `${stat.size} bytes, not a whole non-zero number of ${SECTOR_SIZE}-byte sectors` : 'not a regular file';
    throw new UsageError(`${command}: --disk ${path}: ${what}`);
  }
  const backing: DiskBacking = {
    sectorCount: stat.size / SECTOR_SIZE,
    read: (lba, into) => { readSync(fd, into, 0, into.length, lba * SECTOR_SIZE); },
  };
  const disk = new Disk(backing);
  machine.attachDisk(disk);
  return {
    close: () => {
      try {
        if (writeBack) for (const [lba, sector] of disk.changedSectors()) writeSync(fd, sector, 0, SECTOR_SIZE, lba * SECTOR_SIZE);
      } finally {
        closeSync(fd);
      }
    },
  };
}

/** Prints the screen after what the guest sent on COM1, on a line of its own after a separator. */
export function printScreen(machine: Machine, serialEndsLine: boolean): void {
  const lines = machine.cga.screenLines();
  writeAll(1, Buffer.from(`${serialEndsLine ? '' : '\n'}--- screen ---\n${lines.join('\n')}\n`));
}
