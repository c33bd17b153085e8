/**
 * The colour text display a kernel writes to: 80x25 character cells at 0xB8000 (a character
 * byte, then an attribute byte) in the 32 KiB window 0xB8000-0xBFFFF, and the CRT controller's
 * index/data ports 0x3D4/0x3D5 with input status register 1 at 0x3DA. This is what QEMU 7.2's
 * standard VGA offers in mode 3, the mode SeaBIOS leaves it in. The text window is plain memory
 * (the machine's RAM at that address, not a device the CPU must call on each access), as KVM maps
 * VGA memory: a kernel clearing the screen with REP STOSW needs no emulation under a VMM.
 *
 * Checked with a probe kernel under qemu-system-i386:
 *  - At Multiboot entry the whole window holds blanks with attribute 0x07, except SeaBIOS's
 *    two lines of banner at the top, and the cursor is at row 2 column 0; this model starts the
 *    same, so a kernel that writes at the BIOS cursor sees the same screen under both.
 *  - The CRTC registers read back as written; 0x00-0x07 are write-protected while bit 7 of
 *    register 0x11 is set (VGA, as SeaBIOS leaves it), except bit 4 of register 0x07. The index
 *    register reads back the whole byte, and registers past 0x18 are plain storage.
 *  - 0x3DA toggles its display-enable and vertical-retrace bits (0 and 3) on every read rather
 *    than following the beam: a kernel waiting for a retrace finds one at once, as under QEMU.
 */
import type { IoHandler, PortRange } from './ioBus';

export const CGA_BASE = 0xb8000;
export const CGA_SIZE = 0x8000;
export const COLUMNS = 80;
export const ROWS = 25;

const CRTC_INDEX = 0x3d4;
const INPUT_STATUS_1 = 0x3da;
const CURSOR_START = 0x0a, START_HIGH = 0x0c, START_LOW = 0x0d, CURSOR_HIGH = 0x0e, CURSOR_LOW = 0x0f;
const OVERFLOW = 0x07, VERTICAL_RETRACE_END = 0x11;
const CR11_PROTECT = 0x80, CR07_LINE_COMPARE_8 = 0x10, CURSOR_DISABLE = 0x20;
const ST01_TOGGLE = 0x09;

/** CRTC registers 0x00-0x18 as SeaBIOS leaves them in mode 3 (cursor at cell 0xA0). */
const FIRMWARE_CRTC = [
  0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0xa0,
  0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff,
];
/** The last register the firmware selected. */
const FIRMWARE_INDEX = 0x0f;
/** What the SeaBIOS build of QEMU 7.2 (Debian 12) prints before it starts the kernel. */
const FIRMWARE_BANNER = ['SeaBIOS (version 1.16.2-debian-1.16.2-1)', 'Booting from ROM...'];
const BLANK_ATTRIBUTE = 0x07;

/**
 * Code page 437, the PC's character ROM, as Unicode: NUL and 0xFF (a non-breaking space) show
 * as blanks.
 */
const CP437 =
  ' ☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼' +
  ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~⌂' +
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»' +
  '░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀' +
  'αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

/** The character a code-page-437 byte shows. */
export function cp437(byte: number): string {
  return CP437[byte & 0xff];
}

export interface CgaCursor {
  row: number;
  column: number;
  /** False when cursor start register bit 5 hides it or it lies outside the 80x25 screen. */
  visible: boolean;
}

export type CgaState = ReturnType<CgaText['saveState']>;

export class CgaText {
  readonly ports: readonly PortRange[];
  private readonly crtc = new Uint8Array(256);
  private index = FIRMWARE_INDEX;
  private status = 0;

  /** `memory`: the CGA_SIZE bytes of RAM at CGA_BASE, filled here as the firmware leaves them. */
  constructor(private readonly memory: Uint8Array) {
    for (let k = 0; k < CGA_SIZE; k += 2) {
      this.memory[k] = 0x20;
      this.memory[k + 1] = BLANK_ATTRIBUTE;
    }
    FIRMWARE_BANNER.forEach((line, row) => {
      for (let col = 0; col < line.length; col++) this.memory[(row * COLUMNS + col) * 2] = line.charCodeAt(col);
    });
    this.crtc.set(FIRMWARE_CRTC);
    // Byte-wide ports, so `out dx, ax` at 0x3D4 writes the index and then the data register.
    const crtcPorts: IoHandler = {
      read: (port) => (port === CRTC_INDEX ? this.index : this.crtc[this.index]),
      write: (port, _size, value) => {
        if (port === CRTC_INDEX) this.index = value & 0xff;
        else this.writeCrtc(value & 0xff);
      },
    };
    const status: IoHandler = {
      read: () => (this.status ^= ST01_TOGGLE),
      write: () => {},
    };
    this.ports = [
      { first: CRTC_INDEX, count: 2, handler: crtcPorts },
      { first: INPUT_STATUS_1, count: 1, handler: status },
    ];
  }

  /** The screen as the CRTC shows it from its start address: 25 lines, trailing blanks trimmed. */
  screenLines(): string[] {
    const start = this.startAddress();
    const lines: string[] = [];
    for (let row = 0; row < ROWS; row++) {
      let line = '';
      for (let col = 0; col < COLUMNS; col++) {
        line += CP437[this.memory[((start + row * COLUMNS + col) * 2) % CGA_SIZE]];
      }
      lines.push(line.trimEnd());
    }
    return lines;
  }

  /** The character and attribute bytes of a cell of the screen as shown. */
  cell(row: number, column: number): { char: number; attribute: number } {
    const k = ((this.startAddress() + row * COLUMNS + column) * 2) % CGA_SIZE;
    return { char: this.memory[k], attribute: this.memory[k + 1] };
  }

  /** Where the CRTC draws the cursor, relative to the start address. */
  cursor(): CgaCursor {
    const offset = ((this.crtc[CURSOR_HIGH] << 8) | this.crtc[CURSOR_LOW]) - this.startAddress();
    const row = Math.floor(offset / COLUMNS), column = offset - row * COLUMNS;
    const onScreen = offset >= 0 && row < ROWS;
    return { row, column, visible: onScreen && (this.crtc[CURSOR_START] & CURSOR_DISABLE) === 0 };
  }

  /** A CRTC register without going through the ports. */
  register(index: number): number {
    return this.crtc[index & 0xff];
  }

  /** The registers, for machine snapshots (snapshot.ts); the text memory is RAM and saved with it. */
  saveState() {
    return { crtc: this.crtc.slice(), index: this.index, status: this.status };
  }

  loadState(state: CgaState): void {
    this.crtc.set(state.crtc);
    this.index = state.index;
    this.status = state.status;
  }

  private startAddress(): number {
    return (this.crtc[START_HIGH] << 8) | this.crtc[START_LOW];
  }

  private writeCrtc(value: number): void {
    const i = this.index;
    if (i <= OVERFLOW && this.crtc[VERTICAL_RETRACE_END] & CR11_PROTECT) {
      if (i === OVERFLOW) this.crtc[OVERFLOW] = (this.crtc[OVERFLOW] & ~CR07_LINE_COMPARE_8) | (value & CR07_LINE_COMPARE_8);
      return;
    }
    this.crtc[i] = value;
  }
}
