/**
 * National Semiconductor 16550A UART, the PC's COM1 (the machine maps it at 0x3F8, IRQ 4).
 *
 * Register behaviour and interrupt rules are those of QEMU 7.2's hw/char/serial.c with a stdio
 * chardev, so a guest sees the same thing under both (checked against qemu-system-i386 with a
 * probe kernel): reset values IER 00, IIR 01, LCR 00, MCR 08, LSR 60, MSR B0, divisor 12;
 * MCR OUT2 does not gate the interrupt line; in loopback the MSR shows the MCR outputs with no
 * delta bits.
 *
 * Interrupt sources in priority order (16550A datasheet table "Interrupt Control Functions"):
 * receiver line status (OE/BI, cleared by reading LSR), character timeout (FIFO mode, 4
 * character times without FIFO activity, cleared by reading RBR), received data available
 * (FIFO at its trigger level 1/4/8/14, or a byte in RBR in 16450 mode), THR empty (cleared by
 * reading IIR when it is the reported source, or by writing THR; re-armed when IER.THRI goes
 * from 0 to 1 while THR is empty), modem status (never set: the lines do not change).
 *
 * Transmission is instantaneous: a byte written to THR goes to `onTransmit` at once (or, in
 * loopback, into the receiver) and THRE/TEMT are set again, which re-raises the THRE interrupt
 * with a fresh edge. Received bytes wait in a host-side queue and enter the 16-byte RX FIFO (or
 * RBR) as room is made, so input is never overrun. The character timeout runs on virtual time:
 * the machine calls `advanceTo(now)` before port accesses and at `nextEventNs()`.
 * Register offsets are the port number modulo 8; QEMU 7.2 aborts on a wide access that runs
 * past the eighth port (`inw 0x3FF`), where this model wraps around instead.
 */
import type { AccessSize } from '../cpu/bus';
import type { IoHandler } from './ioBus';

const IER_RDI = 0x01, IER_THRI = 0x02, IER_RLSI = 0x04, IER_MSI = 0x08;
const IIR_NO_INT = 0x01, IIR_ID_MASK = 0x06, IIR_MSI = 0x00, IIR_THRI = 0x02, IIR_RDI = 0x04;
const IIR_RLSI = 0x06, IIR_CTI = 0x0c, IIR_FIFO_ENABLED = 0xc0;
const FCR_FE = 0x01, FCR_RFR = 0x02, FCR_XFR = 0x04;
const LCR_DLAB = 0x80;
const MCR_LOOP = 0x10, MCR_OUT2 = 0x08;
const LSR_DR = 0x01, LSR_OE = 0x02, LSR_BI = 0x10, LSR_THRE = 0x20, LSR_TEMT = 0x40;
const LSR_INT_ANY = 0x1e;
const MSR_DCD = 0x80, MSR_DSR = 0x20, MSR_CTS = 0x10, MSR_ANY_DELTA = 0x0f;

const FIFO_SIZE = 16;
/** Crystal / 16: the divisor latch divides this to give the baud rate. */
const BAUD_BASE = 115200;
const NS_PER_S = 1_000_000_000;
const TRIGGER_LEVELS = [1, 4, 8, 14];

/** What a debugger shows of the UART: its registers and the bytes waiting to be read. */
export interface UartRegisters {
  ier: number; iir: number; lcr: number; mcr: number; lsr: number; msr: number; scr: number; fcr: number;
  divisor: number;
  /** Bytes in the receive FIFO, and from the host not yet in it. */
  rxCount: number;
  hostCount: number;
}

export type UartState = ReturnType<Uart16550['saveState']>;

export class Uart16550 implements IoHandler {
  /** QEMU's serial accepts word and dword accesses at any offset (`inw 0x3FB` = LCR | MCR << 8). */
  readonly allowUnaligned = true;
  /** Receives every byte the guest transmits (not called in loopback mode). */
  onTransmit: (byte: number) => void = () => {};

  private rbr = 0;
  private ier = 0;
  private iir = IIR_NO_INT;
  private lcr = 0;
  private mcr = MCR_OUT2;
  private lsr = LSR_TEMT | LSR_THRE;
  private readonly msr = MSR_DCD | MSR_DSR | MSR_CTS;
  private scr = 0;
  private divisor = 12;
  private fcr = 0;
  private triggerLevel = 1;
  private thrPending = false;
  private timeoutPending = false;
  private irqLevel = false;

  private readonly rxFifo = new Uint8Array(FIFO_SIZE);
  private rxHead = 0;
  private rxCount = 0;

  /** Bytes from the host not yet in the receiver (a ring that grows by doubling). */
  private hostQueue = new Uint8Array(256);
  private hostHead = 0;
  private hostCount = 0;

  /** Frame time at the programmed rate and format, as QEMU computes it (9600 8N1 at reset). */
  private charTimeNs = Math.floor(NS_PER_S / 9600) * 10;
  private nowNs = 0;
  private timeoutAtNs = Infinity;

  constructor(private readonly onIrq: (level: boolean) => void) {}

  /** Queues bytes from the outside world for the guest to receive. */
  receive(bytes: Uint8Array): void {
    if (this.hostCount + bytes.length > this.hostQueue.length) {
      let size = this.hostQueue.length * 2;
      while (size < this.hostCount + bytes.length) size *= 2;
      const grown = new Uint8Array(size);
      for (let i = 0; i < this.hostCount; i++) {
        grown[i] = this.hostQueue[(this.hostHead + i) % this.hostQueue.length];
      }
      this.hostQueue = grown;
      this.hostHead = 0;
    }
    for (let i = 0; i < bytes.length; i++) {
      this.hostQueue[(this.hostHead + this.hostCount++) % this.hostQueue.length] = bytes[i];
    }
    this.fillFromHost();
  }

  advanceTo(nowNs: number): void {
    this.nowNs = nowNs;
    if (nowNs < this.timeoutAtNs) return;
    this.timeoutAtNs = Infinity;
    if (this.rxCount > 0) {
      this.timeoutPending = true;
      this.updateIrq();
    }
  }

  /** The registers as they are, without the side effects of reading them through the ports. */
  registers(): UartRegisters {
    return {
      ier: this.ier, iir: this.iir, lcr: this.lcr, mcr: this.mcr, lsr: this.lsr, msr: this.msr, scr: this.scr,
      fcr: this.fcr, divisor: this.divisor, rxCount: this.rxCount, hostCount: this.hostCount,
    };
  }

  /** When the character timeout fires, if it is armed. */
  nextEventNs(): number {
    return this.timeoutAtNs;
  }

  /** Everything a guest can change or observe, for machine snapshots (snapshot.ts). */
  saveState() {
    return {
      rbr: this.rbr, ier: this.ier, iir: this.iir, lcr: this.lcr, mcr: this.mcr, lsr: this.lsr, scr: this.scr,
      divisor: this.divisor, fcr: this.fcr, triggerLevel: this.triggerLevel, thrPending: this.thrPending,
      timeoutPending: this.timeoutPending, irqLevel: this.irqLevel,
      rxFifo: this.rxFifo.slice(), rxHead: this.rxHead, rxCount: this.rxCount,
      hostQueue: this.hostQueue.slice(), hostHead: this.hostHead, hostCount: this.hostCount,
      charTimeNs: this.charTimeNs, nowNs: this.nowNs, timeoutAtNs: this.timeoutAtNs,
    };
  }

  /** Puts back a saved state; the IRQ line is not driven (the PIC's state is restored with it). */
  loadState(state: UartState): void {
    const { rxFifo, hostQueue, ...registers } = state;
    Object.assign(this, registers);
    this.rxFifo.set(rxFifo);
    this.hostQueue = hostQueue.slice();
  }

  read(port: number, _size: AccessSize): number {
    switch (port & 7) {
      case 0:
        return this.lcr & LCR_DLAB ? this.divisor & 0xff : this.readRbr();
      case 1:
        return this.lcr & LCR_DLAB ? this.divisor >> 8 : this.ier;
      case 2: {
        const value = this.iir;
        if ((value & IIR_ID_MASK) === IIR_THRI) {
          this.thrPending = false;
          this.updateIrq();
        }
        return value;
      }
      case 3:
        return this.lcr;
      case 4:
        return this.mcr;
      case 5: {
        const value = this.lsr;
        if (value & (LSR_BI | LSR_OE)) {
          this.lsr &= ~(LSR_BI | LSR_OE);
          this.updateIrq();
        }
        return value;
      }
      case 6:
        if (this.mcr & MCR_LOOP) {
          // Loopback wires OUT2->DCD, OUT1->RI, DTR->DSR, RTS->CTS.
          return ((this.mcr & 0x0c) << 4) | ((this.mcr & 0x02) << 3) | ((this.mcr & 0x01) << 5);
        }
        return this.msr;
      default:
        return this.scr;
    }
  }

  write(port: number, _size: AccessSize, value: number): void {
    value &= 0xff;
    switch (port & 7) {
      case 0:
        if (this.lcr & LCR_DLAB) {
          this.divisor = (this.divisor & 0xff00) | value;
          this.updateCharTime();
        } else {
          this.writeThr(value);
        }
        break;
      case 1:
        if (this.lcr & LCR_DLAB) {
          this.divisor = (this.divisor & 0x00ff) | (value << 8);
          this.updateCharTime();
        } else {
          this.writeIer(value);
        }
        break;
      case 2:
        this.writeFcr(value);
        break;
      case 3:
        this.lcr = value;
        this.updateCharTime();
        break;
      case 4: {
        const wasLoop = (this.mcr & MCR_LOOP) !== 0;
        this.mcr = value & 0x1f;
        if (wasLoop && !(this.mcr & MCR_LOOP)) this.fillFromHost();
        break;
      }
      case 7:
        this.scr = value;
        break;
      default: // LSR and MSR are read-only
        break;
    }
  }

  private readRbr(): number {
    let value: number;
    if (this.fcr & FCR_FE) {
      value = 0;
      if (this.rxCount > 0) {
        value = this.rxFifo[this.rxHead];
        this.rxHead = (this.rxHead + 1) % FIFO_SIZE;
        this.rxCount--;
      }
      if (this.rxCount === 0) this.lsr &= ~(LSR_DR | LSR_BI);
      else this.timeoutAtNs = this.nowNs + 4 * this.charTimeNs;
      this.timeoutPending = false;
    } else {
      value = this.rbr;
      this.lsr &= ~(LSR_DR | LSR_BI);
    }
    this.updateIrq();
    this.fillFromHost();
    return value;
  }

  private writeThr(value: number): void {
    // THR is taken by the transmitter at once: THRE drops and comes back, giving a new edge.
    this.thrPending = false;
    this.lsr &= ~(LSR_THRE | LSR_TEMT);
    this.updateIrq();
    this.lsr |= LSR_THRE;
    this.thrPending = true;
    this.updateIrq();
    if (this.mcr & MCR_LOOP) this.receiveByte(value);
    else this.onTransmit(value);
    this.lsr |= LSR_TEMT;
  }

  private writeIer(value: number): void {
    const changed = (this.ier ^ value) & 0x0f;
    this.ier = value & 0x0f;
    if (changed & IER_THRI) {
      // Enabling THRI while THR is empty raises the interrupt even if an IIR read had cleared
      // it (not in the datasheet; QEMU, Bochs and Windows drivers rely on it).
      this.thrPending = (this.ier & IER_THRI) !== 0 && (this.lsr & LSR_THRE) !== 0;
    }
    if (changed) this.updateIrq();
  }

  private writeFcr(value: number): void {
    // Changing the FIFO enable bit clears both FIFOs.
    if ((value ^ this.fcr) & FCR_FE) value |= FCR_XFR | FCR_RFR;
    if (value & FCR_RFR) {
      this.lsr &= ~(LSR_DR | LSR_BI);
      this.timeoutAtNs = Infinity;
      this.timeoutPending = false;
      this.rxHead = 0;
      this.rxCount = 0;
    }
    if (value & FCR_XFR) {
      this.lsr |= LSR_THRE;
      this.thrPending = true;
    }
    this.fcr = value & 0xc9;
    if (this.fcr & FCR_FE) {
      this.iir |= IIR_FIFO_ENABLED;
      this.triggerLevel = TRIGGER_LEVELS[this.fcr >> 6];
    } else {
      this.iir &= ~IIR_FIFO_ENABLED;
    }
    this.updateIrq();
    this.fillFromHost();
  }

  /** A byte reaches the receiver: from the host queue or, in loopback, from the transmitter. */
  private receiveByte(value: number): void {
    if (this.fcr & FCR_FE) {
      if (this.rxCount < FIFO_SIZE) {
        this.rxFifo[(this.rxHead + this.rxCount) % FIFO_SIZE] = value;
        this.rxCount++;
      } else {
        this.lsr |= LSR_OE; // the FIFO keeps its contents; the new byte is lost
      }
      this.lsr |= LSR_DR;
      this.timeoutAtNs = this.nowNs + 4 * this.charTimeNs;
    } else {
      if (this.lsr & LSR_DR) this.lsr |= LSR_OE;
      this.rbr = value;
      this.lsr |= LSR_DR;
    }
    this.updateIrq();
  }

  /** Moves queued host bytes into the receiver while it has room (the line is disconnected
   *  from the outside in loopback). */
  private fillFromHost(): void {
    if (this.mcr & MCR_LOOP) return;
    while (this.hostCount > 0 &&
           (this.fcr & FCR_FE ? this.rxCount < FIFO_SIZE : (this.lsr & LSR_DR) === 0)) {
      const value = this.hostQueue[this.hostHead];
      this.hostHead = (this.hostHead + 1) % this.hostQueue.length;
      this.hostCount--;
      this.receiveByte(value);
    }
  }

  private updateCharTime(): void {
    if (this.divisor === 0 || this.divisor > BAUD_BASE) return;
    const speed = Math.floor(BAUD_BASE / this.divisor);
    const dataBits = (this.lcr & 0x03) + 5;
    const stopBits = this.lcr & 0x04 ? 2 : 1;
    const parityBits = this.lcr & 0x08 ? 1 : 0;
    this.charTimeNs = Math.floor(NS_PER_S / speed) * (1 + dataBits + parityBits + stopBits);
  }

  private updateIrq(): void {
    let id = IIR_NO_INT;
    if (this.ier & IER_RLSI && this.lsr & LSR_INT_ANY) {
      id = IIR_RLSI;
    } else if (this.ier & IER_RDI && this.timeoutPending) {
      id = IIR_CTI;
    } else if (this.ier & IER_RDI && this.lsr & LSR_DR &&
               (!(this.fcr & FCR_FE) || this.rxCount >= this.triggerLevel)) {
      id = IIR_RDI;
    } else if (this.ier & IER_THRI && this.thrPending) {
      id = IIR_THRI;
    } else if (this.ier & IER_MSI && this.msr & MSR_ANY_DELTA) {
      id = IIR_MSI;
    }
    this.iir = id | (this.iir & 0xf0);
    const level = id !== IIR_NO_INT;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.onIrq(level);
    }
  }
}
