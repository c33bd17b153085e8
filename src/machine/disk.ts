/**
 * A hard disk image seen through a copy-on-write layer: sectors come from a read-only backing
 * (a file, or bytes in memory) until the guest writes them; written sectors live in memory, so
 * the user's image is never changed unless the caller writes `changedSectors()` back.
 *
 * The geometry is the one QEMU 7.2 gives an IDE disk (hw/block/hd-geometry.c): taken from an
 * MS-DOS partition table in sector 0 when one ends on a cylinder boundary with at most 16
 * heads, otherwise 16 heads of 63 sectors and as many cylinders as fit (2 to 16383).
 */

export const SECTOR_SIZE = 512;

/** Where a disk's original sectors come from. */
export interface DiskBacking {
  readonly sectorCount: number;
  /** Fills `into` (a whole number of sectors) from sector `lba` on. */
  read(lba: number, into: Uint8Array): void;
}

export interface DiskGeometry {
  cylinders: number;
  heads: number;
  sectors: number;
  /** The BIOS translation QEMU picks (and writes to CMOS 0x39): none, lba or large. */
  translation: 'none' | 'lba' | 'large';
}

/** A backing held in memory (tests, small images); `bytes` must be whole sectors. */
export function memoryBacking(bytes: Uint8Array): DiskBacking {
  if (bytes.length === 0 || bytes.length % SECTOR_SIZE !== 0) {
    throw new RangeError(`disk image of ${bytes.length} bytes: not a whole, non-zero number of ${SECTOR_SIZE}-byte sectors`);
  }
  return {
    sectorCount: bytes.length / SECTOR_SIZE,
    read: (lba, into) => into.set(bytes.subarray(lba * SECTOR_SIZE, lba * SECTOR_SIZE + into.length)),
  };
}

export type DiskState = ReturnType<Disk['saveState']>;

export class Disk {
  readonly sectorCount: number;
  readonly geometry: DiskGeometry;
  /** Sectors written since the disk was attached; each array is replaced, never changed, on a write. */
  private written = new Map<number, Uint8Array>();
  /** The written sectors as last saved, shared by snapshots until the guest writes again. */
  private savedWritten: Map<number, Uint8Array> | undefined;

  constructor(private readonly backing: DiskBacking) {
    this.sectorCount = backing.sectorCount;
    const first = new Uint8Array(SECTOR_SIZE);
    backing.read(0, first);
    this.geometry = guessGeometry(first, this.sectorCount);
  }

  /** Fills `into` with sectors from `lba` on; the range must be on the disk. */
  read(lba: number, into: Uint8Array): void {
    this.checkRange(lba, into.length);
    this.backing.read(lba, into);
    for (let k = 0; k < into.length / SECTOR_SIZE; k++) {
      const sector = this.written.get(lba + k);
      if (sector !== undefined) into.set(sector, k * SECTOR_SIZE);
    }
  }

  /** Writes whole sectors from `lba` on; the range must be on the disk. */
  write(lba: number, data: Uint8Array): void {
    this.checkRange(lba, data.length);
    this.savedWritten = undefined;
    for (let k = 0; k < data.length / SECTOR_SIZE; k++) {
      this.written.set(lba + k, data.slice(k * SECTOR_SIZE, (k + 1) * SECTOR_SIZE));
    }
  }

  /** The sectors the guest has written, by LBA, for writing back to the image. */
  changedSectors(): ReadonlyMap<number, Uint8Array> {
    return this.written;
  }

  saveState(): { written: Map<number, Uint8Array> } {
    this.savedWritten ??= new Map(this.written);
    return { written: this.savedWritten };
  }

  loadState(state: DiskState): void {
    this.written = new Map(state.written);
    this.savedWritten = state.written;
  }

  private checkRange(lba: number, bytes: number): void {
    if (!Number.isInteger(lba) || lba < 0 || bytes % SECTOR_SIZE !== 0 || lba + bytes / SECTOR_SIZE > this.sectorCount) {
      throw new RangeError(`disk: ${bytes} bytes at sector ${lba} are not whole sectors on a disk of ${this.sectorCount}`);
    }
  }
}

/** QEMU's hd_geometry_guess for a disk without a geometry of its own. */
export function guessGeometry(sector0: Uint8Array, sectorCount: number): DiskGeometry {
  const fromTable = partitionTableGeometry(sector0, sectorCount);
  if (fromTable === undefined || fromTable.heads > 16) {
    const cylinders = Math.min(16383, Math.max(2, Math.floor(sectorCount / (16 * 63))));
    const translation = fromTable === undefined
      ? (cylinders <= 1024 ? 'none' : 'lba')
      : (cylinders * 16 <= 131072 ? 'large' : 'lba');
    return { cylinders, heads: 16, sectors: 63, translation };
  }
  return { ...fromTable, translation: 'none' };
}

/** The logical geometry an MS-DOS partition table implies (QEMU guess_disk_lchs), if any. */
function partitionTableGeometry(sector0: Uint8Array, sectorCount: number): { cylinders: number; heads: number; sectors: number } | undefined {
  if (sector0[510] !== 0x55 || sector0[511] !== 0xaa) return undefined;
  for (let i = 0; i < 4; i++) {
    const entry = 0x1be + 16 * i;
    const endHead = sector0[entry + 5];
    const sectorsInPartition = (sector0[entry + 12] | (sector0[entry + 13] << 8) | (sector0[entry + 14] << 16) | (sector0[entry + 15] << 24)) >>> 0;
    if (sectorsInPartition === 0 || endHead === 0) continue;
    const heads = endHead + 1, sectors = sector0[entry + 6] & 63;
    if (sectors === 0) continue;
    const cylinders = Math.floor(sectorCount / (heads * sectors));
    if (cylinders < 1 || cylinders > 16383) continue;
    return { cylinders, heads, sectors };
  }
  return undefined;
}

/**
 * What QEMU's PC firmware setup writes to CMOS for the IDE disks (pc_cmos_init_late), given
 * the geometry of the disk at each -drive index 0-3: the drive types at 0x12 (0xF0 for the
 * primary master, 0x0F for the primary slave), type 47 at 0x19 / 0x1A with the geometry at
 * 0x1B-0x23 / 0x24-0x2C for those two, and the translation of all four, two bits each from
 * bit 0, at 0x39. Pairs of [index, value].
 */
export function cmosHardDiskBytes(disks: readonly (DiskGeometry | undefined)[]): [number, number][] {
  const bytes: [number, number][] = [];
  let types = 0, translations = 0;
  disks.forEach((g, index) => {
    if (g === undefined) return;
    translations |= { none: 0, lba: 1, large: 2 }[g.translation] << (2 * index);
    if (index > 1) return;
    types |= index === 0 ? 0xf0 : 0x0f;
    const cyl = g.cylinders, info = index === 0 ? 0x1b : 0x24;
    bytes.push([index === 0 ? 0x19 : 0x1a, 47],
      [info, cyl & 0xff], [info + 1, cyl >> 8], [info + 2, g.heads], [info + 3, 0xff], [info + 4, 0xff],
      [info + 5, 0xc0 | (g.heads > 8 ? 0x08 : 0)], [info + 6, cyl & 0xff], [info + 7, cyl >> 8], [info + 8, g.sectors]);
  });
  return [[0x12, types], ...bytes, [0x39, translations]];
}
