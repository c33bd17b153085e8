/**
 * What SeaBIOS 1.16 records of the IDE hard disks it finds (src/block.c map_hd_drive), as
 * QEMU 7.2 leaves it for a Multiboot kernel (dumped with a probe kernel): the number of disks
 * at 0x475 in the BIOS data area, and for the first two, numbered in -drive index order, a
 * fixed disk parameter table in the EBDA at offsets 0x3D and 0x4D. A table gives the logical
 * geometry of the BIOS translation QEMU passes in CMOS 0x39 (setup_translation); when that
 * differs from the disk's own, it is Phoenix's translated table, with the physical geometry,
 * signature 0xA0 and a checksum. (SeaBIOS also points interrupt vectors 0x41 and 0x46 at the
 * tables; vtscope writes no real-mode interrupt vector table.)
 */
import type { DiskGeometry } from '../disk';
import { EBDA_ADDRESS } from './biosDataArea';

export interface FixedDisk {
  readonly geometry: DiskGeometry;
  readonly sectorCount: number;
}

const BDA_HD_COUNT = 0x475;
/** Offsets of fdpt[0] and fdpt[1] in SeaBIOS's struct extended_bios_data_area_s. */
const FDPT_OFFSETS = [0x3d, 0x4d] as const;
const FDPT_SIZE = 16;

interface Chs { cylinders: number; heads: number; sectors: number }

/** SeaBIOS's setup_translation: the geometry INT 13h shows for the disk. */
function logicalGeometry({ geometry: g, sectorCount }: FixedDisk): Chs {
  let { cylinders, heads, sectors } = g;
  if (g.translation === 'lba') {
    sectors = 63;
    if (sectorCount > 63 * 255 * 1024) {
      heads = 255;
      cylinders = 1024;
    } else {
      const tracks = Math.floor(sectorCount / 63);
      const h = Math.floor(tracks / 1024);
      heads = h > 128 ? 255 : h > 64 ? 128 : h > 32 ? 64 : h > 16 ? 32 : 16;
      cylinders = Math.floor(tracks / heads);
    }
  } else if (g.translation === 'large') {
    while (cylinders > 1024) {
      cylinders >>= 1;
      heads <<= 1;
      if (heads > 127) break;
    }
  }
  return { cylinders: Math.min(cylinders, 1024), heads, sectors };
}

/** SeaBIOS's fill_fdpt: struct fdpt_s, 16 bytes. */
function fixedDiskParameterTable(disk: FixedDisk): Uint8Array {
  const t = new Uint8Array(FDPT_SIZE);
  const p = disk.geometry, l = logicalGeometry(disk);
  const u16 = (offset: number, v: number): void => { t[offset] = v & 0xff; t[offset + 1] = (v >>> 8) & 0xff; };
  u16(0, l.cylinders);
  t[2] = l.heads;
  u16(5, 0xffff);                          // write precompensation: none
  t[8] = 0xc0 | (p.heads > 8 ? 0x08 : 0);  // drive control byte
  u16(12, p.cylinders);                    // landing zone
  t[14] = l.sectors;
  if (l.cylinders !== p.cylinders || l.heads !== p.heads || l.sectors !== p.sectors) {
    t[3] = 0xa0;
    t[4] = p.sectors;
    u16(9, p.cylinders);
    t[11] = p.heads;
    t[15] = (0x100 - (t.reduce((sum, b) => sum + b, 0) & 0xff)) & 0xff;
  }
  return t;
}

/** Writes the count and tables for `disks` (those present, in drive index order) into guest RAM. */
export function writeFixedDiskTables(ram: Uint8Array, disks: readonly FixedDisk[]): void {
  ram[BDA_HD_COUNT] = disks.length;
  FDPT_OFFSETS.forEach((offset, hd) => {
    const at = EBDA_ADDRESS + offset;
    ram.fill(0, at, at + FDPT_SIZE);
    if (hd < disks.length) ram.set(fixedDiskParameterTable(disks[hd]), at);
  });
}
