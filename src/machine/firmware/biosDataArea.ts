/**
 * The BIOS data area (0x400-0x4FF) and extended BIOS data area as SeaBIOS 1.16 leaves them
 * when QEMU 7.2 starts a Multiboot kernel (dumped with a probe kernel, field names from
 * SeaBIOS's struct bios_data_area_s). Every byte is QEMU's except the timer tick count at
 * 0x46C: SeaBIOS sets it from the RTC's time of day, then its IRQ 0 handler counts while it
 * boots; here it is the RTC's time of day at virtual time 0, converted as SeaBIOS does.
 * The cursor position is where SeaBIOS's two boot messages left it on the text screen.
 */

/** SeaBIOS's 1 KiB EBDA at the top of the 640 KiB of base memory (INT 12h reports 639). */
export const EBDA_ADDRESS = 0x9fc00;
const BDA = 0x400;

const PIT_TICK_RATE = 1_193_180;   // SeaBIOS's constant, not the 8254's exact 1,193,182 Hz
const PIT_TICK_INTERVAL = 65536;
const TICKS_PER_DAY = 1_573_040;

/** Offset in the BDA, width in bytes, value. */
type Field = readonly [offset: number, width: 1 | 2 | 4, value: number];

const FIELDS: readonly Field[] = [
  [0x00, 2, 0x03f8],          // COM1 base (COM2-4 absent)
  [0x08, 2, 0x0378],          // LPT1 base (LPT2-3 absent)
  [0x0e, 2, EBDA_ADDRESS >>> 4], // EBDA segment
  // Equipment word: floppy, x87, PS/2 mouse, 80x25 colour, one floppy drive, one serial port, one parallel port.
  [0x10, 2, 0x4227],
  [0x13, 2, EBDA_ADDRESS / 1024], // base memory in KiB
  [0x1a, 2, 0x001e],          // keyboard buffer head and tail (empty)
  [0x1c, 2, 0x001e],
  [0x49, 1, 0x03],            // video mode 3: 80x25 colour text
  [0x4a, 2, 80],              // columns
  [0x4c, 2, 0x1000],          // bytes per page
  [0x50, 2, 0x0200],          // page 0 cursor: row 2, column 0
  [0x60, 2, 0x0607],          // cursor shape: scan lines 6-7
  [0x63, 2, 0x03d4],          // CRT controller index port
  [0x76, 1, 0xc0],            // fixed disk control byte
  [0x78, 1, 0x14],            // LPT1 timeout
  [0x7c, 1, 0x0a],            // COM1 timeout
  [0x80, 2, 0x001e],          // keyboard buffer start and end
  [0x82, 2, 0x003e],
  [0x84, 1, 24],              // text rows - 1
  [0x85, 2, 16],              // character height
  [0x87, 1, 0x60],            // video control, switches, mode set control, display combination index
  [0x88, 1, 0xf9],
  [0x89, 1, 0x51],
  [0x8a, 1, 0x08],
  [0x8f, 1, 0x07],            // floppy drive 0 information
  [0x96, 1, 0x10],            // keyboard flags: 101/102-key keyboard
  [0xa8, 2, 0x6820],          // video save table pointer C000:6820 (into the VGA BIOS)
  [0xaa, 2, 0xc000],
  [0xb9, 1, 0x40],            // SeaBIOS VGA BIOS private state: flags, VBE mode 3, mode table offset
  [0xba, 2, 0x0003],
  [0xbc, 2, 0x68c6],
];

/** SeaBIOS's ticks_from_ms: DIV_ROUND_UP twice. */
function ticksFromMs(ms: number): number {
  return Math.ceil(Math.ceil((ms * PIT_TICK_RATE) / PIT_TICK_INTERVAL) / 1000);
}

/** Writes the BDA and EBDA into guest RAM; `rtcSeconds` is the RTC time (Unix seconds) at boot. */
export function writeBiosDataArea(ram: Uint8Array, rtcSeconds: number): void {
  ram.fill(0, BDA, BDA + 0x100);
  const put = (offset: number, width: number, value: number): void => {
    for (let k = 0; k < width; k++) ram[BDA + offset + k] = (value >>> (8 * k)) & 0xff;
  };
  for (const [offset, width, value] of FIELDS) put(offset, width, value);
  const secondsOfDay = ((rtcSeconds % 86400) + 86400) % 86400;
  put(0x6c, 4, ticksFromMs(secondsOfDay * 1000) % TICKS_PER_DAY);
  ram.fill(0, EBDA_ADDRESS, EBDA_ADDRESS + 1024);
  ram[EBDA_ADDRESS] = 1;   // EBDA size in KiB
}
