/**
 * Raw disk image files on the machine's IDE drives, copy-on-write (disk.ts): sectors are read
 * from the file when the guest asks for them, its writes stay in memory, and `close` writes
 * them back only when asked to. Each file is opened before the run (for writing too when the
 * changes go back), so a missing, unwritable or ragged file is reported before the guest runs.
 */
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { Disk, SECTOR_SIZE, type DiskBacking } from './disk';
import type { Machine } from './machine';

/** A file that cannot serve as a disk; the message names it as the user gave it. */
export class DiskFileError extends Error {
  override readonly name = 'DiskFileError';
}

export interface DriveFile {
  /** QEMU's -drive index: 0 primary master, 1 primary slave, 2 secondary master, 3 secondary slave. */
  readonly index: number;
  readonly path: string;
  /** How the user gave it, for messages: `--disk a.img`, `--drive index=2,file=b.img`. */
  readonly name: string;
}

export interface AttachedDisks {
  /** Writes the guest's changes back if asked to, and closes the files. */
  close(): void;
}

interface OpenFile { drive: DriveFile; fd: number; identity: string }

function openImage(drive: DriveFile, writeBack: boolean): OpenFile {
  let fd: number;
  try {
    fd = openSync(drive.path, writeBack ? 'r+' : 'r');
  } catch (e) {
    throw new DiskFileError(`cannot open ${drive.name}${writeBack ? ' for writing' : ''}: ${(e as Error).message}`);
  }
  const stat = fstatSync(fd);
  if (!stat.isFile() || stat.size === 0 || stat.size % SECTOR_SIZE !== 0) {
    closeSync(fd);
    const what = stat.isFile() ? `${stat.size} bytes, not a whole non-zero number of ${SECTOR_SIZE}-byte sectors` : 'not a regular file';
    throw new DiskFileError(`${drive.name}: ${what}`);
  }
  return { drive, fd, identity: `${stat.dev}:${stat.ino}` };
}

/**
 * Opens the images and attaches each at its drive index. One file on two drives is refused,
 * as QEMU refuses it (its image lock): the two would write back over each other.
 */
export function attachDiskFiles(machine: Machine, drives: readonly DriveFile[], writeBack: boolean): AttachedDisks {
  const files: OpenFile[] = [];
  const closeAll = (): void => { for (const f of files) closeSync(f.fd); };
  let disks: Disk[];
  try {
    for (const drive of drives) {
      const file = openImage(drive, writeBack);
      files.push(file);
      const twin = files.find((f) => f !== file && f.identity === file.identity);
      if (twin !== undefined) throw new DiskFileError(`${drive.name}: the same file as ${twin.drive.name}; give each drive its own image`);
    }
    disks = files.map(({ drive, fd }) => {
      const backing: DiskBacking = {
        sectorCount: fstatSync(fd).size / SECTOR_SIZE,
        read: (lba, into) => { readSync(fd, into, 0, into.length, lba * SECTOR_SIZE); },
      };
      const disk = new Disk(backing);
      machine.attachDisk(disk, drive.index);
      return disk;
    });
  } catch (e) {
    closeAll();
    throw e;
  }
  return {
    close: () => {
      try {
        if (writeBack) {
          files.forEach(({ fd }, k) => {
            for (const [lba, sector] of disks[k].changedSectors()) writeSync(fd, sector, 0, SECTOR_SIZE, lba * SECTOR_SIZE);
          });
        }
      } finally {
        closeAll();
      }
    },
  };
}
