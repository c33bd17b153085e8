/**
 * The 256 words of IDENTIFY DEVICE data (ATA/ATAPI-6, 8.15) of the disk: word for word what
 * QEMU 7.2 returns for `-drive file=FILE,format=raw,if=ide,index=N` (hw/ide/core.c
 * ide_identify, read back with a probe kernel), so a kernel that prints or checksums them sees
 * the same thing.
 */
import type { DiskGeometry } from './disk';

/** Sectors a READ/WRITE MULTIPLE block may hold (word 47), QEMU's MAX_MULT_SECTORS. */
export const MAX_MULTIPLE = 16;
const FIRMWARE_REVISION = '2.5+';
const MODEL_NUMBER = 'QEMU HARDDISK';
/** The largest capacity LBA28 addressing can give (words 60-61). */
const LBA28_LIMIT = 0x0fff_ffff;

/** Puts an ATA string in words: two characters per word, the first in the high byte, space-padded. */
function putString(words: Uint16Array, first: number, count: number, text: string): void {
  const padded = text.padEnd(count * 2, ' ');
  for (let k = 0; k < count; k++) words[first + k] = (padded.charCodeAt(2 * k) << 8) | padded.charCodeAt(2 * k + 1);
}

/**
 * QEMU numbers its IDE positions in the order it creates them, primary master first, and calls
 * the disk at drive index N "QM0000(N+1)".
 */
function serialNumber(driveIndex: number): string {
  return `QM${String(driveIndex + 1).padStart(5, '0')}`;
}

export function identifyDevice(g: DiskGeometry, sectorCount: number, multiple: number, driveIndex = 0): Uint16Array {
  const w = new Uint16Array(256);
  const chsCapacity = g.cylinders * g.heads * g.sectors;
  const lba28 = Math.min(sectorCount, LBA28_LIMIT);
  w[0] = 0x0040;                       // fixed device
  w[1] = g.cylinders;
  w[3] = g.heads;
  w[4] = 512 * g.sectors;              // retired: bytes per track
  w[5] = 512;                          // retired: bytes per sector
  w[6] = g.sectors;
  putString(w, 10, 10, serialNumber(driveIndex));
  w[20] = 3;                           // retired: buffer type
  w[21] = 512;                         // retired: buffer size
  w[22] = 4;                           // obsolete: ECC bytes
  putString(w, 23, 4, FIRMWARE_REVISION);
  putString(w, 27, 20, MODEL_NUMBER);
  w[47] = 0x8000 | MAX_MULTIPLE;
  w[48] = 1;                           // doubleword I/O
  w[49] = (1 << 11) | (1 << 9) | (1 << 8); // IORDY, LBA, DMA
  w[51] = 0x200;
  w[52] = 0x200;
  w[53] = 0x0007;                      // words 54-58, 64-70 and 88 are valid
  w[54] = g.cylinders;
  w[55] = g.heads;
  w[56] = g.sectors;
  w[57] = chsCapacity & 0xffff;
  w[58] = chsCapacity >>> 16;
  if (multiple !== 0) w[59] = 0x100 | multiple;
  w[60] = lba28 & 0xffff;
  w[61] = lba28 >>> 16;
  w[62] = 0x07;                        // single-word DMA 0-2
  w[63] = 0x07;                        // multiword DMA 0-2
  w[64] = 0x03;                        // PIO 3-4
  w[65] = w[66] = w[67] = w[68] = 120; // cycle times, ns
  w[69] = 1 << 14;                     // deterministic TRIM (QEMU: the raw file can discard)
  w[80] = 0xf0;                        // ATA-4 to ATA-7
  w[81] = 0x16;
  w[82] = (1 << 14) | (1 << 5) | 1;    // NOP, write cache, SMART
  w[83] = (1 << 14) | (1 << 13) | (1 << 12) | (1 << 10); // FLUSH CACHE (EXT), 48-bit addresses
  w[84] = 1 << 14;
  w[85] = (1 << 14) | (1 << 5) | 1;    // write cache enabled
  w[86] = (1 << 13) | (1 << 12) | (1 << 10);
  w[87] = 1 << 14;
  w[88] = 0x3f | (1 << 13);            // UDMA 0-5 supported, mode 5 selected
  w[93] = 1 | (1 << 14) | 0x2000;      // hardware reset result
  w[100] = sectorCount & 0xffff;
  w[101] = (sectorCount / 0x10000) & 0xffff;
  w[102] = (sectorCount / 0x1_0000_0000) & 0xffff;
  w[106] = 0x6000;                     // one logical sector per physical sector
  w[169] = 1;                          // DATA SET MANAGEMENT (TRIM) supported
  return w;
}
