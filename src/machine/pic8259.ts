/**
 * The PC's pair of Intel 8259A programmable interrupt controllers: master at 0x20-0x21
 * (IRQ 0-7), slave at 0xA0-0xA1 (IRQ 8-15) cascaded on master IR2, and the PIIX edge/level
 * control registers (ELCR) at 0x4D0/0x4D1.
 *
 * Semantics are the 8259A datasheet's as QEMU 7.2 (hw/intc/i8259.c) implements them, so a
 * guest sees the same thing on both. Where the two part ways:
 *  - An edge-triggered request stays latched in IRR after its input falls again and is
 *    cleared only by the INTA cycle, as in QEMU (the datasheet would drop it and give IR7).
 *  - Spurious vectors come from a request that is gone (masked, or a level input that fell)
 *    by the time of INTA: base+7 of the master, or base+7 of the slave with the master's IR2
 *    put in service, as on the real pair and in QEMU.
 *  - ICW1's LTIM bit makes all inputs of that chip level-triggered, as the datasheet says and
 *    QEMU 8.0 and later do; QEMU 7.2 ignores it. ELCR bits select level triggering per input.
 *  - 8080 mode (ICW4 bit 0 = 0) is treated as 8086 mode and buffered-mode bits are ignored,
 *    as in QEMU.
 */
import type { AccessSize } from '../cpu/bus';
import type { IoHandler, PortRange } from './ioBus';

/** What a debugger shows of one 8259A. */
export interface PicRegisters { irr: number; isr: number; imr: number; vectorBase: number }

/** One 8259A. Its INT output is `output`; the pair wires the slave's into master IR2. */
class PicChip {
  private irr = 0;
  private imr = 0;
  private isr = 0;
  /** Input levels as last seen, for edge detection. */
  private inputs = 0;
  /** Rotating priority: the IR number that currently has the highest priority. */
  private priorityBase = 0;
  vectorBase = 0;
  private readIsr = false;
  private poll = false;
  private specialMask = false;
  /** 0 = operational, 1..3 = expecting ICW2..ICW4. */
  private initStep = 0;
  private needIcw4 = false;
  private single = false;
  private autoEoi = false;
  private rotateOnAutoEoi = false;
  private specialFullyNested = false;
  private levelAll = false;
  elcr = 0;
  output = false;

  constructor(
    private readonly isMaster: boolean,
    private readonly elcrMask: number,
    private readonly onOutput: (level: boolean) => void,
  ) {}

  /** An IR input changed level (QEMU pic_set_irq). */
  setInput(ir: number, level: boolean): void {
    const bit = 1 << ir;
    if (this.levelAll || (this.elcr & bit) !== 0) {
      if (level) this.irr |= bit;
      else this.irr &= ~bit;
    } else if (level && (this.inputs & bit) === 0) {
      this.irr |= bit;
    }
    if (level) this.inputs |= bit;
    else this.inputs &= ~bit;
    this.update();
  }

  /** Priority (0 = highest) of the best request in `mask` under rotation; 8 if none. */
  private priorityOf(mask: number): number {
    if (mask === 0) return 8;
    let p = 0;
    while ((mask & (1 << ((p + this.priorityBase) & 7))) === 0) p++;
    return p;
  }

  /** The IR that would be serviced now, or -1: highest unmasked request that beats the
   *  highest in-service level (special mask mode hides masked ISR bits; special fully nested
   *  mode on the master lets the slave interrupt itself through IR2). */
  pending(): number {
    const request = this.priorityOf(this.irr & ~this.imr);
    if (request === 8) return -1;
    let inService = this.isr;
    if (this.specialMask) inService &= ~this.imr;
    if (this.specialFullyNested && this.isMaster) inService &= ~(1 << 2);
    return request < this.priorityOf(inService) ? (request + this.priorityBase) & 7 : -1;
  }

  private update(): void {
    const out = this.pending() >= 0;
    if (out !== this.output) {
      this.output = out;
      this.onOutput(out);
    }
  }

  /** The chip's part of INTA for `ir`: in service (or auto-EOI), edge request consumed. */
  acknowledge(ir: number): void {
    const bit = 1 << ir;
    if (this.autoEoi) {
      if (this.rotateOnAutoEoi) this.priorityBase = (ir + 1) & 7;
    } else {
      this.isr |= bit;
    }
    if (!this.levelAll && (this.elcr & bit) === 0) this.irr &= ~bit;
    this.update();
  }

  /** Initialization as ICW1 does it. Level-triggered requests survive (QEMU pic_reset_common). */
  private initialize(icw1: number): void {
    this.inputs = 0;
    this.irr &= this.elcr;
    this.imr = 0;
    this.isr = 0;
    this.priorityBase = 0;
    this.vectorBase = 0;
    this.readIsr = false;
    this.poll = false;
    this.specialMask = false;
    this.autoEoi = false;
    this.rotateOnAutoEoi = false;
    this.specialFullyNested = false;
    this.needIcw4 = (icw1 & 0x01) !== 0;
    this.single = (icw1 & 0x02) !== 0;
    this.levelAll = (icw1 & 0x08) !== 0;
    this.initStep = 1;
    this.update();
  }

  write(a0: number, value: number): void {
    if (a0 === 0) {
      if (value & 0x10) this.initialize(value);
      else if (value & 0x08) this.writeOcw3(value);
      else this.writeOcw2(value);
      return;
    }
    switch (this.initStep) {
      case 0: // OCW1
        this.imr = value;
        this.update();
        break;
      case 1: // ICW2
        this.vectorBase = value & 0xf8;
        this.initStep = !this.single ? 2 : this.needIcw4 ? 3 : 0;
        break;
      case 2: // ICW3: the cascade wiring is fixed on the PC
        this.initStep = this.needIcw4 ? 3 : 0;
        break;
      case 3: // ICW4
        this.autoEoi = (value & 0x02) !== 0;
        this.specialFullyNested = (value & 0x10) !== 0;
        this.initStep = 0;
        break;
    }
  }

  private writeOcw2(value: number): void {
    const level = value & 7;
    switch (value >> 5) {
      case 0b000: // clear rotate in automatic EOI mode
      case 0b100: // set rotate in automatic EOI mode
        this.rotateOnAutoEoi = value >> 7 === 1;
        break;
      case 0b001: // non-specific EOI
      case 0b101: { // rotate on non-specific EOI
        const p = this.priorityOf(this.isr);
        if (p === 8) break;
        const ir = (p + this.priorityBase) & 7;
        this.isr &= ~(1 << ir);
        if (value >> 5 === 0b101) this.priorityBase = (ir + 1) & 7;
        this.update();
        break;
      }
      case 0b011: // specific EOI
        this.isr &= ~(1 << level);
        this.update();
        break;
      case 0b110: // set priority: `level` becomes the lowest
        this.priorityBase = (level + 1) & 7;
        this.update();
        break;
      case 0b111: // rotate on specific EOI
        this.isr &= ~(1 << level);
        this.priorityBase = (level + 1) & 7;
        this.update();
        break;
      default: // 0b010: no operation
        break;
    }
  }

  private writeOcw3(value: number): void {
    if (value & 0x04) this.poll = true;
    if (value & 0x02) this.readIsr = (value & 0x01) !== 0;
    if (value & 0x40) {
      this.specialMask = (value & 0x20) !== 0;
      this.update();
    }
  }

  read(a0: number): number {
    if (this.poll) {
      // Poll command: this read is the interrupt acknowledge (datasheet "Poll Command").
      this.poll = false;
      const ir = this.pending();
      if (ir < 0) return 0;
      this.acknowledge(ir);
      return 0x80 | ir;
    }
    if (a0 === 1) return this.imr;
    return this.readIsr ? this.isr : this.irr;
  }

  writeElcr(value: number): void {
    this.elcr = value & this.elcrMask;
  }

  saveState() {
    return {
      irr: this.irr, imr: this.imr, isr: this.isr, inputs: this.inputs, priorityBase: this.priorityBase,
      vectorBase: this.vectorBase, readIsr: this.readIsr, poll: this.poll, specialMask: this.specialMask,
      initStep: this.initStep, needIcw4: this.needIcw4, single: this.single, autoEoi: this.autoEoi,
      rotateOnAutoEoi: this.rotateOnAutoEoi, specialFullyNested: this.specialFullyNested, levelAll: this.levelAll,
      elcr: this.elcr, output: this.output,
    };
  }

  loadState(state: ReturnType<PicChip['saveState']>): void { Object.assign(this, state); }

  /** The registers as they are, without the side effects of reading them through the ports. */
  registers(): PicRegisters {
    return { irr: this.irr, isr: this.isr, imr: this.imr, vectorBase: this.vectorBase };
  }
}

export type PicState = ReturnType<Pic8259['saveState']>;

/** The master/slave pair as the PC wires it. */
export class Pic8259 {
  private readonly slave: PicChip;
  private readonly master: PicChip;
  /** Port windows: the two chips and their ELCR bytes (QEMU's PIIX3 layout). */
  readonly ports: readonly PortRange[];

  constructor() {
    // ELCR masks as QEMU sets them: IRQ 0, 1, 2, 8 and 13 are always edge-triggered.
    this.master = new PicChip(true, 0xf8, () => {});
    this.slave = new PicChip(false, 0xde, (level) => this.master.setInput(2, level));
    this.ports = [
      { first: 0x20, count: 2, handler: chipPorts(this.master, 0x20) },
      { first: 0xa0, count: 2, handler: chipPorts(this.slave, 0xa0) },
      { first: 0x4d0, count: 1, handler: elcrPort(this.master) },
      { first: 0x4d1, count: 1, handler: elcrPort(this.slave) },
    ];
  }

  /** Both chips' registers and input levels, for machine snapshots (snapshot.ts). */
  saveState() {
    return { master: this.master.saveState(), slave: this.slave.saveState() };
  }

  /** Puts back a saved state; no output is signalled (the CPU's view is restored with it). */
  loadState(state: PicState): void {
    this.master.loadState(state.master);
    this.slave.loadState(state.slave);
  }

  /** Drives ISA IRQ line `irq` (0-15). IRQ 2 is master IR2 itself, as in QEMU. */
  setIrq(irq: number, level: boolean): void {
    if (!(irq >= 0 && irq < 16 && Number.isInteger(irq))) {
      throw new RangeError(`PIC: IRQ ${irq} does not exist (0-15)`);
    }
    if (irq < 8) this.master.setInput(irq, level);
    else this.slave.setInput(irq - 8, level);
  }

  /** Both chips' registers, for a debugger. */
  registers(): { master: PicRegisters; slave: PicRegisters } {
    return { master: this.master.registers(), slave: this.slave.registers() };
  }

  /** The master's INT output, i.e. the CPU's INTR pin. */
  intrPending(): boolean {
    return this.master.output;
  }

  /** The INTA cycle: returns the vector and puts the request in service (QEMU pic_read_irq). */
  acknowledge(): number {
    const ir = this.master.pending();
    if (ir < 0) return this.master.vectorBase + 7;
    let vector: number;
    if (ir === 2) {
      const slaveIr = this.slave.pending();
      if (slaveIr >= 0) {
        this.slave.acknowledge(slaveIr);
        vector = this.slave.vectorBase + slaveIr;
      } else {
        vector = this.slave.vectorBase + 7;
      }
    } else {
      vector = this.master.vectorBase + ir;
    }
    this.master.acknowledge(ir);
    return vector;
  }
}

/** A0 is 0 only at the chip's first port: like QEMU, any other offset (a wide access running
 *  past the window) decodes as A0 = 1. */
function chipPorts(chip: PicChip, base: number): IoHandler {
  return {
    read: (port: number, _size: AccessSize) => chip.read(port === base ? 0 : 1),
    write: (port: number, _size: AccessSize, value: number) => chip.write(port === base ? 0 : 1, value & 0xff),
  };
}

function elcrPort(chip: PicChip): IoHandler {
  return {
    read: () => chip.elcr,
    write: (_port: number, _size: AccessSize, value: number) => chip.writeElcr(value & 0xff),
  };
}
