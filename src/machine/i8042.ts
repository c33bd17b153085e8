/**
 * The PC's 8042 keyboard controller at ports 0x60 (data) and 0x64 (status / command), with a
 * PS/2 keyboard behind it on IRQ 1 (IBM PS/2 Hardware Interface Technical Reference, "Keyboard
 * and Auxiliary Device Controller").
 *
 * Reading 0x60 takes the output buffer (it keeps its last value, so a read with nothing new
 * gives the same byte again); the next byte then comes in at once, controller replies before
 * keyboard bytes, keyboard bytes only while the keyboard interface is enabled. With command
 * byte bit 6 set, keyboard bytes are translated to scan code set 1 (scanCodes.ts). IRQ 1 is
 * the output buffer holding keyboard or controller data while command byte bit 0 is set;
 * IRQ 12 the same for auxiliary-device data and bit 1.
 *
 * Commands on 0x64: 20 read / 60 write the command byte, A7/A8 disable/enable the auxiliary
 * interface, A9 and AB interface tests (00), AA self test (55), AD/AE disable/enable the
 * keyboard interface, C0 read input port, D0/D1 read/write output port (bit 0 low resets the
 * machine), D2/D3 write the output buffer as keyboard/auxiliary data, D4 write to the
 * auxiliary device (none is attached: the byte is dropped), DD/DF A20 off/on in the output
 * port, F0-FF pulse output port bits 0-3 (bit 0 resets the machine: FE).
 *
 * State at Multiboot entry as SeaBIOS leaves it under QEMU 7.2 (probe kernel): command byte
 * 0x61, status 0x1C, output port 0xCF, output buffer empty holding 0xFA. Where QEMU 7.2
 * differs from the reference, this follows the reference: status bit 3 tells whether the
 * last write was to 0x64 (QEMU leaves it set), and status bit 2 follows command byte bit 2
 * (QEMU leaves it set).
 */
import type { AccessSize } from '../cpu/bus';
import type { IoHandler, PortRange } from './ioBus';
import { Ps2Keyboard } from './ps2Keyboard';
import { keyEventsFor, translate8042 } from './scanCodes';

const DATA_PORT = 0x60, COMMAND_PORT = 0x64;

// Status register
const OBF = 0x01, SYSTEM_FLAG = 0x04, LAST_WRITE_COMMAND = 0x08, NOT_INHIBITED = 0x10, AUX_OBF = 0x20;
// Command byte
const KBD_INT = 0x01, AUX_INT = 0x02, CMD_SYSTEM_FLAG = 0x04, KBD_DISABLED = 0x10, AUX_DISABLED = 0x20, TRANSLATE = 0x40;
// Output port
const OUT_RESET = 0x01, OUT_A20 = 0x02, OUT_KBD_OBF = 0x10, OUT_AUX_OBF = 0x20;

const READ_COMMAND_BYTE = 0x20, WRITE_COMMAND_BYTE = 0x60, AUX_DISABLE = 0xa7, AUX_ENABLE = 0xa8;
const AUX_TEST = 0xa9, SELF_TEST = 0xaa, KBD_TEST = 0xab, KBD_DISABLE = 0xad, KBD_ENABLE = 0xae;
const READ_INPUT_PORT = 0xc0, READ_OUTPUT_PORT = 0xd0, WRITE_OUTPUT_PORT = 0xd1, WRITE_KBD_OUTPUT = 0xd2;
const WRITE_AUX_OUTPUT = 0xd3, WRITE_AUX = 0xd4, A20_OFF = 0xdd, A20_ON = 0xdf, PULSE_FIRST = 0xf0;
const SELF_TEST_PASSED = 0x55, INTERFACE_OK = 0x00;
/** Input port: keyboard not inhibited by the key lock. */
const INPUT_PORT = 0x80;
/** Output port bits with no function here that read as 1 (QEMU's value). */
const OUTPUT_PORT_ONES = 0xcc;
const RELEASE_PREFIX = 0xf0;

export type I8042State = ReturnType<I8042['saveState']>;

/** What a debugger shows of the controller. */
export interface I8042Registers {
  status: number;
  commandByte: number;
  outputPort: number;
  /** The output buffer's byte (meaningful when status bit 0 is set). */
  output: number;
  keysWaiting: number;
}

export class I8042 {
  readonly ports: readonly PortRange[];
  readonly keyboard = new Ps2Keyboard();
  private commandByte = KBD_INT | AUX_DISABLED | TRANSLATE;
  private systemFlag = true;
  private lastWriteCommand = true;
  private outputPort = OUTPUT_PORT_ONES | OUT_A20 | OUT_RESET;
  private output = 0xfa;
  private outputFull = false;
  private outputFromAux = false;
  /** The controller command waiting for its data byte on port 0x60, or 0. */
  private pendingCommand = 0;
  /** Replies of the controller (and D2/D3 bytes) waiting for the output buffer: [byte, fromAux]. */
  private replies: [number, boolean][] = [];
  /** A set 2 release prefix swallowed by translation. */
  private released = false;
  private irq1 = false;
  private irq12 = false;

  constructor(
    private readonly onIrq1: (level: boolean) => void,
    private readonly onIrq12: (level: boolean) => void,
    private readonly onReset: () => void,
  ) {
    const data: IoHandler = {
      read: () => this.readData(),
      write: (_port: number, _size: AccessSize, value: number) => this.writeData(value & 0xff),
    };
    const command: IoHandler = {
      read: () => this.status(),
      write: (_port: number, _size: AccessSize, value: number) => this.writeCommand(value & 0xff),
    };
    this.ports = [
      { first: DATA_PORT, count: 1, handler: data },
      { first: COMMAND_PORT, count: 1, handler: command },
    ];
  }

  /** Types `text` on the keyboard from virtual time `nowNs` (see Ps2Keyboard.type). */
  typeKeys(text: string, nowNs: number): void {
    this.keyboard.type(keyEventsFor(text), nowNs);
  }

  advanceTo(nowNs: number): void {
    this.keyboard.advanceTo(nowNs);
    this.fillOutput();
  }

  nextEventNs(): number {
    return this.keyboard.nextEventNs();
  }

  registers(): I8042Registers {
    return {
      status: this.status(), commandByte: this.commandByte, outputPort: this.outputPortValue(), output: this.output,
      keysWaiting: this.keyboard.keysWaiting,
    };
  }

  saveState() {
    return {
      commandByte: this.commandByte, systemFlag: this.systemFlag, lastWriteCommand: this.lastWriteCommand,
      outputPort: this.outputPort, output: this.output, outputFull: this.outputFull, outputFromAux: this.outputFromAux,
      pendingCommand: this.pendingCommand, replies: this.replies.map(([b, aux]): [number, boolean] => [b, aux]),
      released: this.released, irq1: this.irq1, irq12: this.irq12, keyboard: this.keyboard.saveState(),
    };
  }

  /** Puts back a saved state; the IRQ lines are not driven (the PIC's state is restored with it). */
  loadState(state: I8042State): void {
    const { keyboard, replies, ...registers } = state;
    Object.assign(this, registers);
    this.replies = replies.map(([b, aux]): [number, boolean] => [b, aux]);
    this.keyboard.loadState(keyboard);
  }

  private status(): number {
    return (this.outputFull ? OBF : 0) | (this.outputFull && this.outputFromAux ? AUX_OBF : 0) |
      (this.systemFlag ? SYSTEM_FLAG : 0) | (this.lastWriteCommand ? LAST_WRITE_COMMAND : 0) | NOT_INHIBITED;
  }

  private outputPortValue(): number {
    const full = this.outputFull ? (this.outputFromAux ? OUT_AUX_OBF : OUT_KBD_OBF) : 0;
    return (this.outputPort & ~(OUT_KBD_OBF | OUT_AUX_OBF)) | full;
  }

  private readData(): number {
    const value = this.output;
    if (this.outputFull) {
      this.outputFull = false;
      this.updateIrqs();
      this.fillOutput();
    }
    return value;
  }

  private writeData(value: number): void {
    this.lastWriteCommand = false;
    const command = this.pendingCommand;
    this.pendingCommand = 0;
    switch (command) {
      case WRITE_COMMAND_BYTE:
        this.commandByte = value;
        this.systemFlag = (value & CMD_SYSTEM_FLAG) !== 0;
        break;
      case WRITE_OUTPUT_PORT:
        this.writeOutputPort(value);
        break;
      case WRITE_KBD_OUTPUT:
        this.replies.push([value, false]);
        break;
      case WRITE_AUX_OUTPUT:
        this.replies.push([value, true]);
        break;
      case WRITE_AUX:
        break;
      default:
        this.keyboard.write(value);
    }
    this.updateIrqs();
    this.fillOutput();
  }

  private writeCommand(value: number): void {
    this.lastWriteCommand = true;
    this.pendingCommand = 0;
    if (value >= PULSE_FIRST) {
      if ((value & OUT_RESET) === 0) this.onReset();
      return;
    }
    switch (value) {
      case READ_COMMAND_BYTE: this.reply(this.commandByte); break;
      case WRITE_COMMAND_BYTE: case WRITE_OUTPUT_PORT: case WRITE_KBD_OUTPUT: case WRITE_AUX_OUTPUT: case WRITE_AUX:
        this.pendingCommand = value;
        break;
      case AUX_DISABLE: this.commandByte |= AUX_DISABLED; break;
      case AUX_ENABLE: this.commandByte &= ~AUX_DISABLED; break;
      case AUX_TEST: case KBD_TEST: this.reply(INTERFACE_OK); break;
      case SELF_TEST:
        this.systemFlag = true;
        this.reply(SELF_TEST_PASSED);
        break;
      case KBD_DISABLE: this.commandByte |= KBD_DISABLED; break;
      case KBD_ENABLE: this.commandByte &= ~KBD_DISABLED; break;
      case READ_INPUT_PORT: this.reply(INPUT_PORT); break;
      case READ_OUTPUT_PORT: this.reply(this.outputPortValue()); break;
      case A20_OFF: this.outputPort &= ~OUT_A20; break;
      case A20_ON: this.outputPort |= OUT_A20; break;
      default: break;
    }
    this.updateIrqs();
    this.fillOutput();
  }

  private writeOutputPort(value: number): void {
    this.outputPort = value;
    if ((value & OUT_RESET) === 0) this.onReset();
  }

  private reply(byte: number): void {
    this.replies.push([byte, false]);
  }

  /** Loads the output buffer when it is empty: controller replies first, then the keyboard. */
  private fillOutput(): void {
    while (!this.outputFull) {
      const next = this.replies.shift();
      if (next !== undefined) {
        [this.output, this.outputFromAux] = next;
        this.outputFull = true;
        break;
      }
      if (this.commandByte & KBD_DISABLED || !this.keyboard.hasData()) break;
      const byte = this.keyboard.take();
      if (this.commandByte & TRANSLATE) {
        if (byte === RELEASE_PREFIX) { this.released = true; continue; }
        this.output = translate8042(byte) | (this.released ? 0x80 : 0);
        this.released = false;
      } else {
        this.output = byte;
      }
      this.outputFromAux = false;
      this.outputFull = true;
    }
    this.updateIrqs();
  }

  private updateIrqs(): void {
    const irq1 = this.outputFull && !this.outputFromAux && (this.commandByte & KBD_INT) !== 0;
    const irq12 = this.outputFull && this.outputFromAux && (this.commandByte & AUX_INT) !== 0;
    if (irq1 !== this.irq1) { this.irq1 = irq1; this.onIrq1(irq1); }
    if (irq12 !== this.irq12) { this.irq12 = irq12; this.onIrq12(irq12); }
  }
}
