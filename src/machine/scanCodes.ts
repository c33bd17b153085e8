/**
 * Text typed by the user as key presses on a US PC keyboard, and the scan codes a PS/2
 * keyboard sends for them (IBM PS/2 Hardware Interface Technical Reference, "Keyboard"):
 *  - set 2, the keyboard's default: a make code, and F0 followed by the make code on release;
 *  - set 1 (XT): make code, and the make code | 0x80 on release;
 *  - set 3: as set 2 for these keys, except the backslash key.
 * The 8042 controller turns set 2 into set 1 when its command byte asks (TRANSLATE_8042); the
 * set 1 codes here are that table applied to the set 2 codes, as on a PC.
 */

/** One key going down or up, named by its set 2 make code. */
export interface KeyEvent {
  code: number;
  down: boolean;
}

const LEFT_SHIFT = 0x12;
const BACKSLASH = 0x5d, BACKSLASH_SET3 = 0x5c;
const BREAK_PREFIX = 0xf0;

/** Set 2 make codes of the main block, by the character each key types without and with Shift. */
const KEYS: [string, string, number][] = [
  ['`', '~', 0x0e], ['1', '!', 0x16], ['2', '@', 0x1e], ['3', '#', 0x26], ['4', '$', 0x25],
  ['5', '%', 0x2e], ['6', '^', 0x36], ['7', '&', 0x3d], ['8', '*', 0x3e], ['9', '(', 0x46],
  ['0', ')', 0x45], ['-', '_', 0x4e], ['=', '+', 0x55],
  ['q', 'Q', 0x15], ['w', 'W', 0x1d], ['e', 'E', 0x24], ['r', 'R', 0x2d], ['t', 'T', 0x2c],
  ['y', 'Y', 0x35], ['u', 'U', 0x3c], ['i', 'I', 0x43], ['o', 'O', 0x44], ['p', 'P', 0x4d],
  ['[', '{', 0x54], [']', '}', 0x5b], ['\\', '|', BACKSLASH],
  ['a', 'A', 0x1c], ['s', 'S', 0x1b], ['d', 'D', 0x23], ['f', 'F', 0x2b], ['g', 'G', 0x34],
  ['h', 'H', 0x33], ['j', 'J', 0x3b], ['k', 'K', 0x42], ['l', 'L', 0x4b], [';', ':', 0x4c],
  ["'", '"', 0x52],
  ['z', 'Z', 0x1a], ['x', 'X', 0x22], ['c', 'C', 0x21], ['v', 'V', 0x2a], ['b', 'B', 0x32],
  ['n', 'N', 0x31], ['m', 'M', 0x3a], [',', '<', 0x41], ['.', '>', 0x49], ['/', '?', 0x4a],
];

/** Keys that type a control character: Space, Enter (for \n and \r), Tab, Backspace, Escape. */
const CONTROL_KEYS: [string, number][] = [[' ', 0x29], ['\n', 0x5a], ['\r', 0x5a], ['\t', 0x0d], ['\b', 0x66], ['\x1b', 0x76]];

const KEY_OF = new Map<string, { code: number; shift: boolean }>();
for (const [plain, shifted, code] of KEYS) {
  KEY_OF.set(plain, { code, shift: false });
  KEY_OF.set(shifted, { code, shift: true });
}
for (const [ch, code] of CONTROL_KEYS) KEY_OF.set(ch, { code, shift: false });

/** Thrown for a character no key of the keyboard types. */
export class UntypableCharacterError extends Error {
  override readonly name = 'UntypableCharacterError';
}

/**
 * The key presses and releases that type `text`: each character's key goes down and up, with
 * Left Shift held around it for capitals and shifted symbols.
 */
export function keyEventsFor(text: string): KeyEvent[] {
  const events: KeyEvent[] = [];
  for (const ch of text) {
    const key = KEY_OF.get(ch);
    if (key === undefined) {
      const shown = JSON.stringify(ch);
      throw new UntypableCharacterError(`no key of a US PC keyboard types ${shown} (U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`);
    }
    if (key.shift) events.push({ code: LEFT_SHIFT, down: true });
    events.push({ code: key.code, down: true }, { code: key.code, down: false });
    if (key.shift) events.push({ code: LEFT_SHIFT, down: false });
  }
  return events;
}

/**
 * The 8042's translation of keyboard bytes (set 2 to set 1) when its command byte has bit 6 set:
 * bytes below 0x80 through this table, 0x83 and 0x84 to 0x41 and 0x54, others unchanged. A
 * release prefix F0 is swallowed and sets bit 7 of the byte after it.
 */
const TRANSLATE_LOW = [
  0xff, 0x43, 0x41, 0x3f, 0x3d, 0x3b, 0x3c, 0x58, 0x64, 0x44, 0x42, 0x40, 0x3e, 0x0f, 0x29, 0x59,
  0x65, 0x38, 0x2a, 0x70, 0x1d, 0x10, 0x02, 0x5a, 0x66, 0x71, 0x2c, 0x1f, 0x1e, 0x11, 0x03, 0x5b,
  0x67, 0x2e, 0x2d, 0x20, 0x12, 0x05, 0x04, 0x5c, 0x68, 0x39, 0x2f, 0x21, 0x14, 0x13, 0x06, 0x5d,
  0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5e, 0x6a, 0x72, 0x32, 0x24, 0x16, 0x08, 0x09, 0x5f,
  0x6b, 0x33, 0x25, 0x17, 0x18, 0x0b, 0x0a, 0x60, 0x6c, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0c, 0x61,
  0x6d, 0x73, 0x28, 0x74, 0x1a, 0x0d, 0x62, 0x6e, 0x3a, 0x36, 0x1c, 0x1b, 0x75, 0x2b, 0x63, 0x76,
  0x55, 0x56, 0x77, 0x78, 0x79, 0x7a, 0x0e, 0x7b, 0x7c, 0x4f, 0x7d, 0x4b, 0x47, 0x7e, 0x7f, 0x6f,
  0x52, 0x53, 0x50, 0x4c, 0x4d, 0x48, 0x01, 0x45, 0x57, 0x4e, 0x51, 0x4a, 0x37, 0x49, 0x46, 0x54,
];

export function translate8042(byte: number): number {
  if (byte < 0x80) return TRANSLATE_LOW[byte];
  if (byte === 0x83) return 0x41;
  if (byte === 0x84) return 0x54;
  return byte;
}

/** The bytes a keyboard in scan code set `set` (1, 2 or 3) sends for one key event. */
export function scanCodes(event: KeyEvent, set: number): number[] {
  if (set === 1) {
    const make = translate8042(event.code);
    return [event.down ? make : make | 0x80];
  }
  const code = set === 3 && event.code === BACKSLASH ? BACKSLASH_SET3 : event.code;
  return event.down ? [code] : [BREAK_PREFIX, code];
}
