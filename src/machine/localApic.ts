/**
 * The processor's local APIC (xAPIC, SDM Vol. 3A, chapter 10) as QEMU 7.2's i386 PC has it:
 * registers in the 4 KiB page at 0xFEE00000, version 0x14 with six LVT entries (timer,
 * thermal, performance counter, LINT0, LINT1, error), APIC ID 0, and a timer clocked by a
 * 1 GHz bus (QEMU counts it in nanoseconds of virtual time) through the divide configuration
 * register. IA32_APIC_BASE lives in the CPU (cpu.apicBase, msrs.ts); this device reads its
 * global enable bit.
 *
 * Accesses follow QEMU (hw/intc/apic.c, checked with probe kernels): only 32-bit accesses
 * reach a register, narrower reads give 0 and narrower writes are dropped; offset bits 3:0 are
 * ignored (0xFEE00034 reads the version); reserved registers read 0 and set the ESR's illegal
 * register address bit, as does RRD (0xC0), which QEMU does not implement.
 *
 * Where QEMU departs from the SDM, this follows the SDM:
 *  - ESR: a write latches the errors found since the previous write and a read returns the
 *    latched value (QEMU ignores the write and reads the errors as they accumulate). Send and
 *    receive illegal vector errors (vectors 0-15) are detected, and each error raises the LVT
 *    error interrupt.
 *  - Clearing the software enable bit (SVR bit 8) sets every LVT mask bit, and they cannot be
 *    cleared while it stays clear (10.4.7.2); QEMU leaves the LVT alone.
 *  - The timer counts initial count, ..., 1 and interrupts as the count reaches 0 (10.5.4): a
 *    period of `initial count` ticks, where QEMU's is one tick longer. Changing the divide
 *    configuration or the timer mode while counting continues from the current count.
 *  - Writable bits of the LVT and ICR are those the SDM defines; delivery status reads 0,
 *    since every message is delivered at once.
 *  - The 8259's INTR passes through LINT0 only in ExtINT mode (QEMU passes it whenever LINT0
 *    is unmasked); LINT0 in another mode, LINT1 (wired to nothing here) and NMI, SMI, INIT
 *    and SIPI messages deliver nothing to this CPU, which has no NMI, SMI or INIT handling.
 *    INIT and SIPI messages are recorded (`recentIpis`, `onIpi`) for a multiprocessor machine;
 *    with one CPU a message for a missing APIC ID reaches nobody.
 * The page stays at 0xFEE00000 whatever IA32_APIC_BASE says, as in QEMU under TCG.
 */
import type { AccessSize } from '../cpu/bus';
import { APIC_GLOBAL_ENABLE } from '../cpu/cpuid';
import type { MmioHandler } from './mmioBus';

export const LAPIC_BASE = 0xfee00000;
export const LAPIC_VERSION = 0x00050014;

/** LVT entry indices, in register order from 0x320. */
export const enum Lvt { Timer, Thermal, Performance, Lint0, Lint1, Error }
const LVT_COUNT = 6;

/** Delivery modes (ICR, LVT, I/O APIC redirection entries). */
export const enum DeliveryMode { Fixed = 0, LowestPriority = 1, Smi = 2, Nmi = 4, Init = 5, Startup = 6, ExtInt = 7 }

const MASKED = 1 << 16;
const LEVEL_TRIGGERED = 1 << 15;
const TIMER_PERIODIC = 1 << 17;
const SVR_ENABLE = 1 << 8;

/** Bits software can write in each LVT entry (SDM figure 10-8). */
const LVT_WRITABLE = [0x000300ff, 0x000107ff, 0x000107ff, 0x0001a7ff, 0x0001a7ff, 0x000100ff];
/** ICR low: vector, delivery mode, destination mode, level, trigger mode, shorthand (figure 10-12). */
const ICR_LOW_WRITABLE = 0x000ccfff;

/** ESR bits (figure 10-9). */
const ESR_SEND_ILLEGAL_VECTOR = 1 << 5;
const ESR_RECEIVE_ILLEGAL_VECTOR = 1 << 6;
const ESR_ILLEGAL_REGISTER = 1 << 7;

/** A message on the APIC bus, from the I/O APIC or an ICR. */
export interface ApicMessage {
  vector: number;
  mode: DeliveryMode;
  /** Logical destination mode (else physical). */
  logical: boolean;
  destination: number;
  levelTriggered: boolean;
}

/** An interprocessor interrupt that this CPU does not itself take (INIT, SIPI, NMI, SMI...). */
export interface IpiRecord {
  mode: DeliveryMode;
  vector: number;
  /** ICR destination shorthand: 0 none, 1 self, 2 all including self, 3 all excluding self. */
  shorthand: number;
  logical: boolean;
  destination: number;
  /** INIT level de-assert (level 0, level-triggered). */
  deassert: boolean;
  timeNs: number;
}

const RECENT_IPIS = 16;

/** What a debugger shows. */
export interface LocalApicRegisters {
  id: number; tpr: number; ppr: number; svr: number; ldr: number; dfr: number; esr: number;
  isr: number[]; irr: number[]; tmr: number[]; lvt: number[];
  icrLow: number; icrHigh: number; initialCount: number; currentCount: number; divideConfig: number;
}

/** Highest set bit of a 256-bit vector set, or -1. */
function highest(bits: Uint32Array): number {
  for (let i = 7; i >= 0; i--) if (bits[i] !== 0) return i * 32 + 31 - Math.clz32(bits[i]);
  return -1;
}

const has = (bits: Uint32Array, v: number): boolean => (bits[v >>> 5] & (1 << (v & 31))) !== 0;
const set = (bits: Uint32Array, v: number): void => { bits[v >>> 5] |= 1 << (v & 31); };
const clear = (bits: Uint32Array, v: number): void => { bits[v >>> 5] &= ~(1 << (v & 31)); };

export type LocalApicState = ReturnType<LocalApic['saveState']>;

export class LocalApic implements MmioHandler {
  private id = 0;
  private tpr = 0;
  private ldr = 0;
  /** DFR bits 31:28: 0xF flat, 0x0 cluster. */
  private dfrModel = 0xf;
  private svr = 0xff;
  private readonly isr = new Uint32Array(8);
  private readonly tmr = new Uint32Array(8);
  private readonly irr = new Uint32Array(8);
  /** ESR as last latched, and the errors found since. */
  private esr = 0;
  private esrPending = 0;
  private icrLow = 0;
  private icrHigh = 0;
  private readonly lvt = new Uint32Array(LVT_COUNT).fill(MASKED);

  private initialCount = 0;
  private divideConfig = 0;
  /** Timer: the count at `timerAnchorNs` (0 = not counting). */
  private timerAnchorCount = 0;
  private timerAnchorNs = 0;
  /** Virtual time of the last `advanceTo`: register accesses happen then. */
  private nowNs = 0;

  /** An interrupt beats the processor priority: cached so the CPU's INTR check stays cheap. */
  private deliverable = false;

  /** The last IPIs this CPU does not take itself, oldest first (the firmware's INIT and SIPI to start with). */
  readonly recentIpis: IpiRecord[] = [];
  /** Told of every INIT, SIPI, NMI or SMI message sent through the ICR. */
  onIpi: ((ipi: IpiRecord) => void) | undefined = undefined;
  /**
   * Other processors share the APIC bus (smp.ts): a lowest-priority IPI sent through the ICR
   * then goes to the one processor the bus chooses, which may be this one, so this APIC does
   * not take it itself.
   */
  sharesBus = false;

  /**
   * `apicBaseMsr` reads IA32_APIC_BASE; `onEoi` is the EOI message for a level-triggered
   * vector, broadcast to the I/O APIC.
   */
  constructor(private readonly apicBaseMsr: () => number, private readonly onEoi: (vector: number) => void) {}

  // ---- what the machine asks ------------------------------------------------------------

  /** IA32_APIC_BASE enables the APIC (else the processor acts as one without it). */
  private get globallyEnabled(): boolean { return (this.apicBaseMsr() & APIC_GLOBAL_ENABLE) !== 0; }

  /** A fixed interrupt in the IRR outranks the processor priority. */
  hasInterrupt(): boolean { return this.deliverable && this.globallyEnabled; }

  /**
   * The 8259's INTR reaches the processor: through LINT0 in ExtINT mode, or straight when the
   * APIC is globally disabled (LINT0 is then the INTR pin).
   */
  passesExtInt(): boolean {
    if (!this.globallyEnabled) return true;
    const lint0 = this.lvt[Lvt.Lint0];
    return (lint0 & MASKED) === 0 && ((lint0 >>> 8) & 7) === DeliveryMode.ExtInt;
  }

  /** The INTA cycle for the APIC's own interrupt: IRR to ISR (SDM 10.8.4). */
  acknowledge(): number {
    const v = highest(this.irr);
    clear(this.irr, v);
    set(this.isr, v);
    this.update();
    return v;
  }

  /** The TPR, by which the bus chooses among the destinations of a lowest-priority message (smp.ts). */
  get taskPriority(): number { return this.tpr; }

  /** A message on the APIC bus: accepted if this APIC is among its destinations. */
  receive(m: ApicMessage): void {
    if (!this.isDestination(m.destination, m.logical)) return;
    if (m.mode === DeliveryMode.Fixed || m.mode === DeliveryMode.LowestPriority) this.accept(m.vector, m.levelTriggered);
  }

  advanceTo(nowNs: number): void {
    const from = this.nowNs;
    this.nowNs = nowNs;
    if (this.timerAnchorCount === 0 || nowNs <= from) return;
    const fire = this.nextExpiryAfter(from);
    if (fire <= nowNs) {
      if ((this.lvt[Lvt.Timer] & TIMER_PERIODIC) === 0) this.timerAnchorCount = 0;
      this.localInterrupt(Lvt.Timer);
    }
  }

  nextEventNs(): number {
    if (this.timerAnchorCount === 0 || (this.lvt[Lvt.Timer] & MASKED) !== 0) return Infinity;
    return this.nextExpiryAfter(this.nowNs);
  }

  // ---- registers ------------------------------------------------------------------------

  read(address: number, size: AccessSize): number {
    if (size !== 4) return 0;
    const index = (address >>> 4) & 0xff;
    switch (index) {
      case 0x02: return (this.id << 24) >>> 0;
      case 0x03: return LAPIC_VERSION;
      case 0x08: return this.tpr;
      case 0x09: return 0;   // APR: not on processors of this version (SDM table 10-1), 0 in QEMU
      case 0x0a: return this.ppr();
      case 0x0b: return 0;   // EOI is write-only
      case 0x0d: return (this.ldr << 24) >>> 0;
      case 0x0e: return ((this.dfrModel << 28) | 0x0fffffff) >>> 0;
      case 0x0f: return this.globallyEnabled ? this.svr : this.svr & ~SVR_ENABLE;
      case 0x28: return this.esr;
      case 0x30: return this.icrLow;
      case 0x31: return this.icrHigh;
      case 0x38: return this.initialCount;
      case 0x39: return this.currentCount();
      case 0x3e: return this.divideConfig;
    }
    if (index >= 0x10 && index < 0x18) return this.isr[index & 7];
    if (index >= 0x18 && index < 0x20) return this.tmr[index & 7];
    if (index >= 0x20 && index < 0x28) return this.irr[index & 7];
    if (index >= 0x32 && index < 0x38) return this.lvt[index - 0x32];
    this.error(ESR_ILLEGAL_REGISTER);
    return 0;
  }

  write(address: number, size: AccessSize, value: number): void {
    if (size !== 4) return;
    const index = (address >>> 4) & 0xff;
    value >>>= 0;
    switch (index) {
      case 0x02: this.id = value >>> 24; return;
      case 0x08: this.tpr = value & 0xff; this.update(); return;
      case 0x0b: this.eoi(); return;
      case 0x0d: this.ldr = value >>> 24; return;
      case 0x0e: this.dfrModel = value >>> 28; return;
      case 0x0f: this.writeSvr(value); return;
      case 0x28: this.esr = this.esrPending; this.esrPending = 0; return;
      case 0x30: this.icrLow = value & ICR_LOW_WRITABLE; this.sendIpi(); return;
      case 0x31: this.icrHigh = (value & 0xff000000) >>> 0; return;
      case 0x38: this.writeInitialCount(value); return;
      case 0x3e: this.writeDivideConfig(value); return;
      // Read-only registers: writes are ignored, as in QEMU.
      case 0x03: case 0x09: case 0x0a: case 0x39: return;
    }
    if (index >= 0x10 && index < 0x28) return;
    if (index >= 0x32 && index < 0x38) { this.writeLvt(index - 0x32, value); return; }
    this.error(ESR_ILLEGAL_REGISTER);
  }

  /** Processor priority (SDM 10.8.3.1): the TPR, or the class of the highest in-service vector if above it. */
  private ppr(): number {
    const isrv = Math.max(highest(this.isr), 0);
    return (this.tpr >>> 4) >= (isrv >>> 4) ? this.tpr : isrv & 0xf0;
  }

  private update(): void {
    const irrv = highest(this.irr);
    this.deliverable = (this.svr & SVR_ENABLE) !== 0 && irrv >= 0 && (irrv >>> 4) > (this.ppr() >>> 4);
  }

  /** A fixed interrupt arrives: into the IRR, its trigger mode into the TMR. */
  private accept(vector: number, levelTriggered: boolean): void {
    if (vector < 16) { this.error(ESR_RECEIVE_ILLEGAL_VECTOR); return; }
    set(this.irr, vector);
    if (levelTriggered) set(this.tmr, vector); else clear(this.tmr, vector);
    this.update();
  }

  private eoi(): void {
    const v = highest(this.isr);
    if (v < 0) return;
    clear(this.isr, v);
    this.update();
    if (has(this.tmr, v)) this.onEoi(v);
  }

  /** An LVT source fires (timer, error): fixed delivery of the entry's vector unless masked. */
  private localInterrupt(entry: Lvt): void {
    const lvt = this.lvt[entry];
    if ((lvt & MASKED) !== 0) return;
    const vector = lvt & 0xff;
    if (vector < 16) {
      // Reported, but an illegal vector in the error entry itself raises no further interrupt.
      if (entry !== Lvt.Error) this.error(ESR_RECEIVE_ILLEGAL_VECTOR);
      else this.esrPending |= ESR_RECEIVE_ILLEGAL_VECTOR;
      return;
    }
    set(this.irr, vector);
    clear(this.tmr, vector);
    this.update();
  }

  /** Records an error for the ESR and raises the error interrupt (SDM 10.5.3). */
  private error(bit: number): void {
    this.esrPending |= bit;
    this.localInterrupt(Lvt.Error);
  }

  private writeSvr(value: number): void {
    this.svr = value & 0x1ff;
    if ((this.svr & SVR_ENABLE) === 0) for (let k = 0; k < LVT_COUNT; k++) this.lvt[k] |= MASKED;
    this.update();
  }

  private writeLvt(entry: Lvt, value: number): void {
    const count = entry === Lvt.Timer ? this.currentCount() : 0;
    let v = value & LVT_WRITABLE[entry];
    if ((this.svr & SVR_ENABLE) === 0) v |= MASKED;
    this.lvt[entry] = v;
    if (entry === Lvt.Timer && this.timerAnchorCount !== 0) this.anchorTimer(count);
  }

  // ---- interprocessor interrupts ---------------------------------------------------------

  /** Whether a message for `destination` in this destination mode includes this APIC (SDM 10.6.2). */
  isDestination(destination: number, logical: boolean): boolean {
    if (!logical) return destination === 0xff || destination === this.id;
    if (this.dfrModel === 0xf) return (destination & this.ldr) !== 0;
    // Cluster model: cluster address in bits 7:4, member bits in 3:0 (0xFF: every cluster).
    return (destination === 0xff || (destination >>> 4) === (this.ldr >>> 4)) && (destination & this.ldr & 0xf) !== 0;
  }

  private sendIpi(): void {
    const low = this.icrLow;
    const vector = low & 0xff, mode = ((low >>> 8) & 7) as DeliveryMode, logical = (low & (1 << 11)) !== 0;
    const shorthand = (low >>> 18) & 3, destination = this.icrHigh >>> 24;
    const levelTriggered = (low & LEVEL_TRIGGERED) !== 0;
    if (mode === DeliveryMode.Fixed || mode === DeliveryMode.LowestPriority) {
      if (vector < 16) { this.error(ESR_SEND_ILLEGAL_VECTOR); return; }
      const toSelf = shorthand === 1 || shorthand === 2 || (shorthand === 0 && this.isDestination(destination, logical));
      const arbitrated = mode === DeliveryMode.LowestPriority && shorthand !== 1 && this.sharesBus;
      if (toSelf && !arbitrated) this.accept(vector, levelTriggered);
      return;
    }
    const ipi: IpiRecord = {
      mode, vector, shorthand, logical, destination,
      deassert: mode === DeliveryMode.Init && levelTriggered && (low & (1 << 14)) === 0,
      timeNs: this.nowNs,
    };
    if (this.recentIpis.length === RECENT_IPIS) this.recentIpis.shift();
    this.recentIpis.push(ipi);
    this.onIpi?.(ipi);
  }

  // ---- timer ----------------------------------------------------------------------------

  /** Nanoseconds per timer tick: the 1 GHz bus clock divided by 1, 2, 4, ... 128 (figure 10-10). */
  private tickNs(): number {
    const d = this.divideConfig;
    return 2 ** ((((d & 3) | ((d >>> 1) & 4)) + 1) & 7);
  }

  private currentCount(): number {
    if (this.timerAnchorCount === 0) return 0;
    const ticks = Math.floor((this.nowNs - this.timerAnchorNs) / this.tickNs());
    const c = this.timerAnchorCount;
    if (ticks < c) return c - ticks;
    if ((this.lvt[Lvt.Timer] & TIMER_PERIODIC) === 0) return 0;
    return this.initialCount - ((ticks - c) % this.initialCount);
  }

  /** Counting resumes from `count` now. */
  private anchorTimer(count: number): void {
    this.timerAnchorCount = count;
    this.timerAnchorNs = this.nowNs;
  }

  private writeInitialCount(value: number): void {
    this.initialCount = value;
    this.anchorTimer(value);
  }

  private writeDivideConfig(value: number): void {
    const count = this.currentCount();
    this.divideConfig = value & 0xb;
    if (this.timerAnchorCount !== 0) this.anchorTimer(count);
  }

  /** First time after `t` at which the count reaches 0. */
  private nextExpiryAfter(t: number): number {
    const tick = this.tickNs(), c = this.timerAnchorCount;
    const first = this.timerAnchorNs + c * tick;
    if (first > t || (this.lvt[Lvt.Timer] & TIMER_PERIODIC) === 0) return first;
    const period = this.initialCount * tick;
    return first + (Math.floor((t - first) / period) + 1) * period;
  }

  // ---- state ----------------------------------------------------------------------------

  registers(): LocalApicRegisters {
    return {
      id: this.id, tpr: this.tpr, ppr: this.ppr(), svr: this.svr, ldr: this.ldr, dfr: this.dfrModel, esr: this.esr,
      isr: [...this.isr], irr: [...this.irr], tmr: [...this.tmr], lvt: [...this.lvt],
      icrLow: this.icrLow, icrHigh: this.icrHigh, initialCount: this.initialCount,
      currentCount: this.currentCount(), divideConfig: this.divideConfig,
    };
  }

  /** Everything but the IPI record, for machine snapshots (snapshot.ts). */
  saveState() {
    return {
      id: this.id, tpr: this.tpr, ldr: this.ldr, dfrModel: this.dfrModel, svr: this.svr, esr: this.esr,
      esrPending: this.esrPending, icrLow: this.icrLow, icrHigh: this.icrHigh, initialCount: this.initialCount,
      divideConfig: this.divideConfig, timerAnchorCount: this.timerAnchorCount, timerAnchorNs: this.timerAnchorNs,
      nowNs: this.nowNs, isr: this.isr.slice(), tmr: this.tmr.slice(), irr: this.irr.slice(), lvt: this.lvt.slice(),
    };
  }

  loadState(state: LocalApicState): void {
    const { isr, tmr, irr, lvt, ...scalars } = state;
    Object.assign(this, scalars);
    this.isr.set(isr); this.tmr.set(tmr); this.irr.set(irr); this.lvt.set(lvt);
    this.update();
  }
}
