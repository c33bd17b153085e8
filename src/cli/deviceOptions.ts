/**
 * The device options of `vtscope run`: `--screen` prints the CGA text screen after the run,
 * `--keys TEXT` types TEXT on the PS/2 keyboard from the start, `--disk FILE` attaches a raw
 * disk image as the IDE primary master and `--drive index=N,file=FILE` (QEMU's -drive syntax)
 * one at any of the four IDE positions, copy-on-write: the guest's writes stay in memory and
 * the files are left as they were, unless `--disk-write` asks for them to be written back at
 * the end (src/machine/diskFile.ts).
 */
import { attachDiskFiles, DiskFileError, type AttachedDisks, type DriveFile } from '../machine/diskFile';
import { IDE_DRIVES } from '../machine/ide';
import type { Machine } from '../machine/machine';
import { keyEventsFor, UntypableCharacterError } from '../machine/scanCodes';
import { writeAll } from './stdoutSink';
import { UsageError } from './usage';

export const DEVICE_OPTIONS = {
  screen: { type: 'boolean' },
  keys: { type: 'string' },
  disk: { type: 'string' },
  drive: { type: 'string', multiple: true },
  'disk-write': { type: 'boolean' },
} as const;

export interface DeviceOptions {
  screen: boolean;
  keys: string | undefined;
  /** The disk images by drive index, each at most once. */
  disks: DriveFile[];
  diskWrite: boolean;
}

export function parseDeviceOptions(command: string,
  values: { screen?: boolean; keys?: string; disk?: string; drive?: string[]; 'disk-write'?: boolean }): DeviceOptions {
  const disks: DriveFile[] = [];
  if (values.disk !== undefined) disks.push({ index: 0, path: values.disk, name: `--disk ${values.disk}` });
  for (const text of values.drive ?? []) {
    const drive = parseDrive(command, text);
    const earlier = disks.find((d) => d.index === drive.index);
    if (earlier !== undefined) throw new UsageError(`${command}: drive index ${drive.index} is given twice: ${earlier.name} and ${drive.name}`);
    disks.push(drive);
  }
  disks.sort((a, b) => a.index - b.index);
  if (values['disk-write'] && disks.length === 0) throw new UsageError(`${command}: --disk-write needs --disk FILE or --drive index=N,file=FILE`);
  if (values.keys !== undefined) {
    try {
      keyEventsFor(values.keys);
    } catch (e) {
      if (e instanceof UntypableCharacterError) throw new UsageError(`${command}: --keys: ${e.message}`);
      throw e;
    }
  }
  return { screen: values.screen ?? false, keys: values.keys, disks, diskWrite: values['disk-write'] ?? false };
}

/**
 * `--drive` in QEMU's syntax, so a -drive argument for an IDE disk works as it is: `file=` and
 * `index=` (0-3, as QEMU numbers IDE drives), in any order, with `format=raw`, `if=ide` and
 * `media=disk` accepted since they are what vtscope does anyway; ",," is a comma in a value.
 */
function parseDrive(command: string, text: string): DriveFile {
  function fail(why: string): never { throw new UsageError(`${command}: --drive ${text}: ${why}`); }
  const fields = new Map<string, string>();
  for (const field of text.replaceAll(',,', '\0').split(',')) {
    const eq = field.indexOf('=');
    if (eq <= 0) fail(`'${field.replaceAll('\0', ',')}' is not KEY=VALUE`);
    const key = field.slice(0, eq), value = field.slice(eq + 1).replaceAll('\0', ',');
    if (fields.has(key)) fail(`${key}= is given twice`);
    fields.set(key, value);
  }
  const only: Record<string, string> = { format: 'raw', if: 'ide', media: 'disk' };
  for (const [key, value] of fields) {
    if (key in only) {
      if (value !== only[key]) fail(`${key}=${value} is not supported (vtscope has raw IDE hard disks only: ${key}=${only[key]})`);
    } else if (key !== 'file' && key !== 'index') {
      fail(`unknown key '${key}' (vtscope takes file=, index=, and format=raw, if=ide, media=disk)`);
    }
  }
  const path = fields.get('file'), index = fields.get('index');
  if (path === undefined || path === '') fail('file=FILE is missing');
  if (index === undefined) fail(`index=N is missing (0 primary master, 1 primary slave, 2 secondary master, 3 secondary slave)`);
  if (!/^\d+$/.test(index) || Number(index) >= IDE_DRIVES) fail(`index=${index} is not a drive: IDE drives are 0 to ${IDE_DRIVES - 1}`);
  return { index: Number(index), path, name: `--drive index=${index},file=${path}` };
}

/** Opens the images and attaches them to `machine`; a file that cannot be used is a usage error. */
export function attachDisks(machine: Machine, devices: DeviceOptions, command = 'run'): AttachedDisks {
  try {
    return attachDiskFiles(machine, devices.disks, devices.diskWrite);
  } catch (e) {
    if (e instanceof DiskFileError) throw new UsageError(`${command}: ${e.message}`);
    throw e;
  }
}

/** Prints the screen after what the guest sent on COM1, on a line of its own after a separator. */
export function printScreen(machine: Machine, serialEndsLine: boolean): void {
  const lines = machine.cga.screenLines();
  writeAll(1, Buffer.from(`${serialEndsLine ? '' : '\n'}--- screen ---\n${lines.join('\n')}\n`));
}
