/**
 * The I/O APIC at 0xFEC00000 (Intel 82093AA datasheet, order no. 290566) as QEMU 7.2's i386 PC
 * has it (hw/intc/ioapic.c, checked with probe kernels): version 0x20 with 24 redirection
 * entries, all masked at reset; IOREGSEL at offset 0x00, IOWIN at 0x10 (32-bit accesses only),
 * and the EOI register of version 0x20 at 0x40; the 256-byte window repeats through the page.
 * IOREGSEL holds 8 bits, the ID register bits 27:24, and the arbitration register reads as the
 * ID. Every bit of an entry is writable but delivery status (12) and remote IRR (14).
 *
 * ISA IRQ n drives pin n, except IRQ 0 (the PIT), which drives pin 2: the interrupt source
 * override that QEMU wires and its ACPI and MP tables describe.
 *
 * Datasheet behaviour: an edge on a masked pin is lost; a level-triggered pin sets remote IRR
 * when its message is accepted and sends no other until the local APIC's EOI for its vector
 * (or a write to the EOI register) clears it, after which a still-asserted pin is sent again.
 * The polarity bit (13) inverts the pin, as the datasheet says and QEMU does not do. Fixed
 * messages go to every local APIC they name, lowest-priority ones to one of them (smp.ts);
 * ExtINT, NMI, SMI and INIT entries are sent too, and the local APIC takes none of them (no
 * 8259 is wired to pin 0 here either).
 */
import type { AccessSize } from '../cpu/bus';
import { type ApicMessage, DeliveryMode } from './localApic';
import type { MmioHandler } from './mmioBus';

export const IOAPIC_BASE = 0xfec00000;
export const IOAPIC_VERSION = 0x00170020;
export const IOAPIC_PINS = 24;

const MASKED = 1 << 16;
const LEVEL_TRIGGERED = 1 << 15;
const REMOTE_IRR = 1 << 14;
const ACTIVE_LOW = 1 << 13;
const READ_ONLY = REMOTE_IRR | (1 << 12);

/** Registers reached through IOREGSEL: ID, version, arbitration, then the entries from 0x10. */
const REG_ID = 0x00, REG_VERSION = 0x01, REG_ARBITRATION = 0x02, REG_TABLE = 0x10;

/** Window offsets (the page is decoded modulo 256). */
const IOREGSEL = 0x00, IOWIN = 0x10, EOI = 0x40;

/** What a debugger shows. */
export interface IoApicRegisters { id: number; ioregsel: number; entries: { low: number; high: number }[]; lines: number }

export type IoApicState = ReturnType<IoApic['saveState']>;

export class IoApic implements MmioHandler {
  private ioregsel = 0;
  private id = 0;
  private readonly low = new Uint32Array(IOAPIC_PINS).fill(MASKED);
  private readonly high = new Uint32Array(IOAPIC_PINS);
  /** Input pin levels as driven (before polarity). */
  private lines = 0;

  /** `send` puts a message on the APIC bus. */
  constructor(private readonly send: (message: ApicMessage) => void) {}

  /** ISA IRQ line `irq` (0-15) changed level. */
  setIsaIrq(irq: number, level: boolean): void {
    this.setPin(irq === 0 ? 2 : irq, level);
  }

  setPin(pin: number, level: boolean): void {
    if (!(pin >= 0 && pin < IOAPIC_PINS && Number.isInteger(pin))) {
      throw new RangeError(`I/O APIC: pin ${pin} does not exist (0-${IOAPIC_PINS - 1})`);
    }
    const before = this.asserted(pin);
    if (level) this.lines |= 1 << pin; else this.lines &= ~(1 << pin);
    const now = this.asserted(pin);
    if ((this.low[pin] & LEVEL_TRIGGERED) !== 0) {
      if (now) this.service(pin);
    } else if (now && !before) {
      this.service(pin);
    }
  }

  /** The EOI message for `vector`: clears remote IRR of the level-triggered entries using it. */
  eoi(vector: number): void {
    for (let pin = 0; pin < IOAPIC_PINS; pin++) {
      const e = this.low[pin];
      if ((e & 0xff) !== vector || (e & LEVEL_TRIGGERED) === 0 || (e & REMOTE_IRR) === 0) continue;
      this.low[pin] = e & ~REMOTE_IRR;
      if (this.asserted(pin)) this.service(pin);
    }
  }

  /** The pin's input is active (polarity applied). */
  private asserted(pin: number): boolean {
    return (((this.lines >>> pin) & 1) === 1) !== ((this.low[pin] & ACTIVE_LOW) !== 0);
  }

  /** Sends the pin's message if its entry lets it through now. */
  private service(pin: number): void {
    const e = this.low[pin];
    if ((e & MASKED) !== 0) return;
    const levelTriggered = (e & LEVEL_TRIGGERED) !== 0;
    if (levelTriggered) {
      if ((e & REMOTE_IRR) !== 0) return;
      this.low[pin] = e | REMOTE_IRR;
    }
    this.send({
      vector: e & 0xff,
      mode: ((e >>> 8) & 7) as DeliveryMode,
      logical: (e & (1 << 11)) !== 0,
      destination: this.high[pin] >>> 24,
      levelTriggered,
    });
  }

  read(address: number, size: AccessSize): number {
    switch (address & 0xff) {
      case IOREGSEL: return this.ioregsel;
      case IOWIN: return size === 4 ? this.readRegister(this.ioregsel) : 0;
      default: return 0;
    }
  }

  write(address: number, size: AccessSize, value: number): void {
    switch (address & 0xff) {
      case IOREGSEL: this.ioregsel = value & 0xff; return;
      case IOWIN: if (size === 4) this.writeRegister(this.ioregsel, value >>> 0); return;
      case EOI: if (size === 4) this.eoi(value & 0xff); return;
    }
  }

  private readRegister(reg: number): number {
    switch (reg) {
      case REG_ID: case REG_ARBITRATION: return (this.id << 24) >>> 0;
      case REG_VERSION: return IOAPIC_VERSION;
    }
    const pin = (reg - REG_TABLE) >> 1;
    if (pin < 0 || pin >= IOAPIC_PINS) return 0;
    return reg & 1 ? this.high[pin] : this.low[pin];
  }

  private writeRegister(reg: number, value: number): void {
    if (reg === REG_ID) { this.id = (value >>> 24) & 0xf; return; }
    const pin = (reg - REG_TABLE) >> 1;
    if (pin < 0 || pin >= IOAPIC_PINS) return;
    if (reg & 1) { this.high[pin] = value; return; }
    let e = (value & ~READ_ONLY) | (this.low[pin] & READ_ONLY);
    // Remote IRR means nothing for an edge-triggered entry; QEMU clears it, which Linux relies on.
    if ((e & LEVEL_TRIGGERED) === 0) e &= ~REMOTE_IRR;
    this.low[pin] = e >>> 0;
    if ((e & LEVEL_TRIGGERED) !== 0 && this.asserted(pin)) this.service(pin);
  }

  registers(): IoApicRegisters {
    const entries = [...this.low].map((low, k) => ({ low, high: this.high[k] }));
    return { id: this.id, ioregsel: this.ioregsel, entries, lines: this.lines };
  }

  /** Registers and pin levels, for machine snapshots (snapshot.ts). */
  saveState() {
    return { ioregsel: this.ioregsel, id: this.id, lines: this.lines, low: this.low.slice(), high: this.high.slice() };
  }

  loadState(state: IoApicState): void {
    const { low, high, ...scalars } = state;
    Object.assign(this, scalars);
    this.low.set(low);
    this.high.set(high);
  }
}
