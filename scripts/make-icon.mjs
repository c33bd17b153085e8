// Draws the extension's icon, media/icon.png (128x128 RGBA): the four x86 protection rings
// seen through a lens, ring 0 (where a VMM lives) lit. Only Node's built-ins: the shapes are
// sampled 4x4 per pixel for smooth edges and written as a PNG with zlib.
// Run: node scripts/make-icon.mjs
import { mkdirSync, writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const SIZE = 128;
const SUB = 4;

const BACKGROUND = [0x1f, 0x23, 0x35];
const RING = [[0x5b, 0x6e, 0xa8], [0x6f, 0x8f, 0xd8], [0x8f, 0xb4, 0xf5]];
const CORE = [0xf0, 0x9a, 0x38];
const HANDLE = [0xc8, 0xcf, 0xe0];

const CX = 54;
const CY = 54;

/** The colour at a point, or undefined outside the icon (transparent). */
function colourAt(x, y) {
  // A rounded square: corners of radius 22.
  const r = 22;
  const qx = Math.max(r - x, 0, x - (SIZE - r));
  const qy = Math.max(r - y, 0, y - (SIZE - r));
  if (qx * qx + qy * qy > r * r) return undefined;
  const d = Math.hypot(x - CX, y - CY);
  // The lens's handle, towards the bottom right corner.
  const along = ((x - CX) + (y - CY)) / Math.SQRT2;
  const across = Math.abs((x - CX) - (y - CY)) / Math.SQRT2;
  if (along > 46 && along < 92 && across < 7) return HANDLE;
  if (d < 11) return CORE; // ring 0
  for (const [k, radius] of [[0, 21], [1, 31], [2, 41]]) if (Math.abs(d - radius) < 3.5) return RING[k]; // rings 1 to 3
  if (Math.abs(d - 47) < 2.5) return HANDLE; // the lens's rim
  return BACKGROUND;
}

function pixels() {
  const rgba = Buffer.alloc(SIZE * SIZE * 4);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const sum = [0, 0, 0, 0];
      for (let sy = 0; sy < SUB; sy++) {
        for (let sx = 0; sx < SUB; sx++) {
          const c = colourAt(x + (sx + 0.5) / SUB, y + (sy + 0.5) / SUB);
          if (c === undefined) continue;
          sum[0] += c[0]; sum[1] += c[1]; sum[2] += c[2]; sum[3] += 255;
        }
      }
      const covered = sum[3] / 255;
      const o = (y * SIZE + x) * 4;
      if (covered > 0) for (let k = 0; k < 3; k++) rgba[o + k] = Math.round(sum[k] / covered);
      rgba[o + 3] = Math.round(sum[3] / (SUB * SUB));
    }
  }
  return rgba;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function png(width, height, rgba) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bits per channel
  header[9] = 6; // RGBA
  // Each row starts with its filter type, 0 (none).
  const rows = Buffer.alloc(height * (1 + width * 4));
  for (let y = 0; y < height; y++) rgba.copy(rows, y * (1 + width * 4) + 1, y * width * 4, (y + 1) * width * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

mkdirSync('media', { recursive: true });
writeFileSync('media/icon.png', png(SIZE, SIZE, pixels()));
