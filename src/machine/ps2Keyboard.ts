/**
 * A PS/2 (MF2) keyboard behind the 8042 controller: the commands a kernel sends it and the
 * bytes it sends back (IBM PS/2 Hardware Interface Technical Reference, "Keyboard and
 * Auxiliary Device Controller" and "Keyboard"), checked against QEMU 7.2 with a probe kernel:
 *  - FF reset: ACK (FA) then BAT passed (AA); back to scan code set 2, scanning on, LEDs off.
 *  - ED set LEDs, F3 set typematic rate/delay: ACK, then ACK for the parameter byte.
 *  - F0 scan code set: ACK, then for 0 ACK and the current set (1, 2 or 3), for 1-3 ACK.
 *  - F2 identify: ACK, AB, 83. EE echo: EE. F4 enable, F5 disable, F6 set defaults: ACK.
 *    FE resend: the last byte again. Anything else: Resend (FE), as QEMU answers.
 *  - F4, F5, F6 and FF clear the keyboard's output buffer before answering (the reference).
 *
 * Keys typed by the user (`type`) are pressed one event at a time on virtual time: the first
 * TYPING_DELAY_NS after typing starts, then one every KEY_INTERVAL_NS, so that a kernel which
 * empties the controller at start-up still gets them and each one can be handled before the
 * next arrives. While scanning is disabled or the buffer has no room, the next key waits.
 */
import { scanCodes, type KeyEvent } from './scanCodes';

const ACK = 0xfa, RESEND = 0xfe, BAT_PASSED = 0xaa, ECHO = 0xee;
const SET_LEDS = 0xed, SCAN_CODE_SET = 0xf0, IDENTIFY = 0xf2, SET_TYPEMATIC = 0xf3, ENABLE = 0xf4;
const DISABLE = 0xf5, SET_DEFAULTS = 0xf6, RESEND_COMMAND = 0xfe, RESET = 0xff;
const MF2_ID = [0xab, 0x83];

/** Bytes the keyboard holds for the controller (the PS/2 keyboard's 16-byte buffer). */
const BUFFER_SIZE = 16;
/** From typing to the first key going down: 1 ms. */
export const TYPING_DELAY_NS = 1_000_000;
/** Between one key event (a press or a release) and the next: 100 µs. */
export const KEY_INTERVAL_NS = 100_000;

export type Ps2KeyboardState = ReturnType<Ps2Keyboard['saveState']>;

export class Ps2Keyboard {
  private buffer: number[] = [];
  private scanSet = 2;
  private scanning = true;
  private leds = 0;
  /** The command whose parameter byte comes next (ED, F0 or F3), or 0. */
  private awaiting = 0;
  private lastSent = ACK;
  private typed: KeyEvent[] = [];
  private nextKeyNs = Infinity;
  private nowNs = 0;

  /** A byte from the controller (a command or a command's parameter). */
  write(byte: number): void {
    if (this.awaiting !== 0) {
      const command = this.awaiting;
      this.awaiting = 0;
      if (command === SET_LEDS) this.leds = byte & 0x07;
      if (command === SCAN_CODE_SET) {
        if (byte === 0) { this.send(ACK, this.scanSet); return; }
        if (byte > 3) { this.send(RESEND); return; }
        this.scanSet = byte;
      }
      this.send(ACK);
      return;
    }
    switch (byte) {
      case SET_LEDS: case SCAN_CODE_SET: case SET_TYPEMATIC:
        this.awaiting = byte;
        this.send(ACK);
        break;
      case IDENTIFY:
        this.send(ACK, ...MF2_ID);
        break;
      case ECHO:
        this.send(ECHO);
        break;
      case ENABLE:
        this.buffer = [];
        this.scanning = true;
        this.send(ACK);
        break;
      case DISABLE: case SET_DEFAULTS:
        this.buffer = [];
        this.scanSet = 2;
        this.scanning = byte === SET_DEFAULTS;
        this.send(ACK);
        break;
      case RESEND_COMMAND:
        this.send(this.lastSent);
        break;
      case RESET:
        this.buffer = [];
        this.scanSet = 2;
        this.scanning = true;
        this.leds = 0;
        this.send(ACK, BAT_PASSED);
        break;
      default:
        this.send(RESEND);
    }
  }

  hasData(): boolean {
    return this.buffer.length > 0;
  }

  /** The oldest byte for the controller; call only when hasData(). */
  take(): number {
    return this.buffer.shift()!;
  }

  /** Starts typing `events` after those already waiting. */
  type(events: readonly KeyEvent[], nowNs: number): void {
    if (events.length === 0) return;
    if (this.typed.length === 0) this.nextKeyNs = nowNs + TYPING_DELAY_NS;
    this.typed.push(...events);
  }

  /** Presses the keys that are due by `nowNs` and have room to go. */
  advanceTo(nowNs: number): void {
    this.nowNs = nowNs;
    while (this.typed.length > 0 && this.nextKeyNs <= nowNs && this.canSendKey()) {
      const codes = scanCodes(this.typed.shift()!, this.scanSet);
      this.buffer.push(...codes);
      this.lastSent = codes[codes.length - 1];
      this.nextKeyNs = this.typed.length > 0 ? nowNs + KEY_INTERVAL_NS : Infinity;
    }
  }

  /** When the next typed key goes down or up; Infinity while none can (see advanceTo). */
  nextEventNs(): number {
    return this.typed.length > 0 && this.canSendKey() ? Math.max(this.nextKeyNs, this.nowNs) : Infinity;
  }

  /** Key events typed but not yet sent. */
  get keysWaiting(): number {
    return this.typed.length;
  }

  /** What a debugger shows: scan code set, scanning, LED bits (scroll 1, num 2, caps 4). */
  registers(): { scanSet: number; scanning: boolean; leds: number; buffered: number } {
    return { scanSet: this.scanSet, scanning: this.scanning, leds: this.leds, buffered: this.buffer.length };
  }

  saveState() {
    return {
      buffer: [...this.buffer], scanSet: this.scanSet, scanning: this.scanning, leds: this.leds, awaiting: this.awaiting,
      lastSent: this.lastSent, typed: this.typed.map((e) => ({ ...e })), nextKeyNs: this.nextKeyNs, nowNs: this.nowNs,
    };
  }

  loadState(state: Ps2KeyboardState): void {
    Object.assign(this, state);
    this.buffer = [...state.buffer];
    this.typed = state.typed.map((e) => ({ ...e }));
  }

  private canSendKey(): boolean {
    return this.scanning && this.buffer.length + 2 <= BUFFER_SIZE;
  }

  private send(...bytes: number[]): void {
    for (const b of bytes) if (this.buffer.length < BUFFER_SIZE) this.buffer.push(b);
    this.lastSent = bytes[bytes.length - 1];
  }
}
