/**
 * Intel 8254 programmable interval timer at 0x40-0x43, clocked at 1,193,182 Hz, with the
 * PC's wiring: counter 0's OUT drives IRQ 0, counter 2's GATE and OUT are bits 0 and 5 of
 * port 0x61 (system control port B, laid out as QEMU's hw/audio/pcspk.c does: bit 1 speaker
 * data enable, bit 4 a refresh bit that flips on every read).
 *
 * Time is virtual. The CLK input has a rising edge at every instant j / 1,193,182 s
 * (j = 1, 2, ...) of virtual time; all counting is done in those edges, exactly, so the count
 * read at time t is what the datasheet gives for the number of CLK edges since the count was
 * loaded. Port accesses happen at the time of the last `advanceTo`: the machine calls
 * `advanceTo(now)` before any port access to this device and whenever `nextEventNs()` is
 * reached.
 *
 * Datasheet behaviour implemented (Intel 8254, order no. 231164): all six modes; a count
 * written is loaded into the counting element on the next CLK edge; mode 2/3 count rewrites
 * take effect at the end of the current period / half period; modes 1 and 5 start on a GATE
 * rising edge; GATE low suspends counting in modes 0, 2, 3 and 4 (forcing OUT high in 2 and 3);
 * counter latch and read-back commands, status byte with OUT and NULL COUNT; LSB, MSB and
 * LSB-then-MSB access; BCD counting. Port 0x43 reads as 0, as in QEMU.
 */
import type { AccessSize } from '../cpu/bus';
import type { IoHandler, PortRange } from './ioBus';

export const PIT_HZ = 1_193_182;
const NS_PER_S = 1_000_000_000;

/** CLK edges that have occurred in (0, t] ns, exactly (t * PIT_HZ would exceed 2^53). */
export function pitTicksAt(t: number): number {
  const s = Math.floor(t / NS_PER_S);
  return s * PIT_HZ + Math.floor(((t - s * NS_PER_S) * PIT_HZ) / NS_PER_S);
}

/** First whole nanosecond at or after CLK edge j. */
export function pitEdgeTimeNs(j: number): number {
  const s = Math.floor(j / PIT_HZ);
  return s * NS_PER_S + Math.ceil(((j - s * PIT_HZ) * NS_PER_S) / PIT_HZ);
}

const enum Access { Latch = 0, Lsb = 1, Msb = 2, LsbMsb = 3 }

/** What a debugger shows of one counter. */
export interface PitChannelState {
  /** The mode as programmed (0-5; 6 and 7 read as 2 and 3). */
  mode: number;
  bcd: boolean;
  /** The last count written (CR), 1..65536 (1..10000 in BCD). */
  initialCount: number;
  /** The counting element now. */
  count: number;
  out: boolean;
  gate: boolean;
}

const NEVER = Infinity;

class Counter {
  /** Mode bits M2..M0 as written, for the status byte; `mode` is the effective mode (6, 7 = 2, 3). */
  private modeBits = 3;
  private mode = 3;
  private bcd = false;
  /** 0 until the first control word, as after QEMU's reset (accesses then act as LSB only). */
  private access: Access = Access.Latch;
  private readLow = true;
  private writeLow = true;
  private writeLatch = 0;
  private outputLatch = 0;
  /** Bytes of the latched count still to read (0 = not latched). */
  private latchedBytes = 0;
  private statusLatch = 0;
  private statusLatched = false;

  /** Last complete count written (CR), as a number of CLK edges: 1..65536, or 1..10000 in BCD. */
  private countRegister = 0x10000;
  /** The count the counting element (CE) is running with. */
  private reload = 0x10000;
  /** A count has been written since the control word (modes 1/5: and is waiting or running). */
  private counting = true;
  /** CLK edge index at which `reload` entered the CE (elapsed = 0 there). */
  private loadEdge = 0;
  /** Counting suspended by GATE low (modes 0, 2, 3, 4): elapsed edges frozen there, or -1. */
  private heldElapsed = -1;
  /** Mode 1/5: a GATE trigger has started the CE. */
  private triggered = false;
  /** Mode 2/3 count written while counting: the edge at which CR is loaded into the CE, and
   *  whether that is mid-period (mode 3, at the end of the high half). */
  private pendingEdge = NEVER;
  private pendingLowHalf = false;
  /** NULL COUNT is 1 until this edge (CR written but not yet loaded into the CE). */
  private nullUntilEdge = 0;
  /** Mode 0: first byte of an LSB-then-MSB count written; counting stops, OUT low. */
  private midWrite = false;

  /** Power-on state as QEMU's reset leaves it: mode 3, count 65536, running from time 0. */
  constructor(public gate: boolean) {
    if (!gate) this.heldElapsed = 0;
  }

  private get modulus(): number {
    return this.bcd ? 10000 : 0x10000;
  }

  /** Edges since the CE was loaded, at edge index `t`; negative before the load edge. */
  private elapsed(t: number): number {
    return this.heldElapsed >= 0 ? this.heldElapsed : t - this.loadEdge;
  }

  /** Loads CR into the CE if a mode 2/3 rewrite has reached its reload point by edge `t`. */
  sync(t: number): void {
    if (t < this.pendingEdge) return;
    const n = this.countRegister;
    this.reload = n;
    // Mode 3 reloading at the end of a high half starts the new count in its low half.
    this.loadEdge = this.pendingLowHalf ? this.pendingEdge - ((n + 1) >> 1) : this.pendingEdge;
    this.pendingEdge = NEVER;
  }

  out(t: number): boolean {
    if (!this.counting) return this.mode !== 0;
    const n = this.reload;
    const e = this.elapsed(t);
    switch (this.mode) {
      case 0:
        return !this.midWrite && e >= n;
      case 1:
        return !this.triggered || e < 0 || e >= n;
      case 2:
        if (this.heldElapsed >= 0 || e < 0) return true;
        return e % n !== n - 1;
      case 3:
        if (this.heldElapsed >= 0 || e < 0) return true;
        return e % n < (n + 1) >> 1;
      default: // 4, 5
        if (this.mode === 5 && !this.triggered) return true;
        return e !== n;
    }
  }

  /** First CLK edge after `t` at which OUT may change (NEVER if it cannot). */
  nextTransition(t: number): number {
    const next = this.naturalTransition(t);
    return next < this.pendingEdge ? next : this.pendingEdge;
  }

  private naturalTransition(t: number): number {
    if (!this.counting || this.heldElapsed >= 0 || this.midWrite) return NEVER;
    const n = this.reload;
    const e = t - this.loadEdge;
    switch (this.mode) {
      case 0:
        return e < n ? this.loadEdge + n : NEVER;
      case 1:
        if (!this.triggered) return NEVER;
        return e < 0 ? this.loadEdge : e < n ? this.loadEdge + n : NEVER;
      case 2: {
        if (n === 1) return NEVER;
        if (e < 0) return this.loadEdge + n - 1;
        const start = t - (e % n);
        return e % n < n - 1 ? start + n - 1 : start + n;
      }
      case 3: {
        if (n === 1) return NEVER;
        const half = (n + 1) >> 1;
        if (e < 0) return this.loadEdge + half;
        const start = t - (e % n);
        return e % n < half ? start + half : start + n;
      }
      default: // 4, 5
        if (this.mode === 5 && !this.triggered) return NEVER;
        return e < n ? this.loadEdge + n : e === n ? this.loadEdge + n + 1 : NEVER;
    }
  }

  /** The CE's value at edge index `t`, as a binary number. */
  private countAt(t: number): number {
    const n = this.reload;
    const e = this.elapsed(t);
    if (!this.counting || e < 0 || (this.mode === 1 || this.mode === 5) && !this.triggered) {
      return n % this.modulus;
    }
    switch (this.mode) {
      case 2:
        return n - (e % n);
      case 3: {
        // Even counts go N, N-2, ..., 2 in each half; odd counts N-1, ..., 0 in the high half
        // (OUT falls one CLK after the count expires) and N-1, ..., 2 in the low half.
        const k = e % n;
        const half = (n + 1) >> 1;
        const even = n & ~1;
        return k < half ? even - 2 * k : even - 2 * (k - half);
      }
      default: { // 0, 1, 4, 5 count down through zero and wrap
        const m = this.modulus;
        return (((n - e) % m) + m) % m;
      }
    }
  }

  private encode(count: number): number {
    if (!this.bcd) return count & 0xffff;
    return (count % 10) | (Math.floor(count / 10) % 10) << 4 |
      (Math.floor(count / 100) % 10) << 8 | (Math.floor(count / 1000) % 10) << 12;
  }

  private decode(value: number): number {
    if (this.bcd) {
      const n = (value & 0xf) + ((value >> 4) & 0xf) * 10 + ((value >> 8) & 0xf) * 100 +
        ((value >> 12) & 0xf) * 1000;
      return n === 0 ? 10000 : n;
    }
    return value === 0 ? 0x10000 : value;
  }

  /** Control word for this counter (access bits non-zero): resets it, OUT to its initial level. */
  control(value: number): void {
    this.access = (value >> 4) & 3;
    this.modeBits = (value >> 1) & 7;
    this.mode = this.modeBits > 5 ? this.modeBits - 4 : this.modeBits;
    this.bcd = (value & 1) !== 0;
    this.readLow = true;
    this.writeLow = true;
    this.counting = false;
    this.triggered = false;
    this.midWrite = false;
    this.heldElapsed = -1;
    this.pendingEdge = NEVER;
    this.nullUntilEdge = NEVER;
  }

  /** The counter at edge `t`, without latching anything. */
  state(t: number): PitChannelState {
    this.sync(t);
    return { mode: this.mode, bcd: this.bcd, initialCount: this.countRegister, count: this.countAt(t), out: this.out(t), gate: this.gate };
  }

  latchCount(t: number): void {
    if (this.latchedBytes !== 0) return; // a second latch before reading is ignored
    this.outputLatch = this.encode(this.countAt(t));
    this.latchedBytes = this.access === Access.LsbMsb ? 2 : 1;
  }

  latchStatus(t: number): void {
    if (this.statusLatched) return;
    this.statusLatch = (this.out(t) ? 0x80 : 0) | (t < this.nullUntilEdge ? 0x40 : 0) |
      (this.access << 4) | (this.modeBits << 1) | (this.bcd ? 1 : 0);
    this.statusLatched = true;
  }

  read(t: number): number {
    if (this.statusLatched) {
      this.statusLatched = false;
      return this.statusLatch;
    }
    let value: number;
    if (this.latchedBytes !== 0) {
      value = this.outputLatch;
      this.latchedBytes--;
    } else {
      value = this.encode(this.countAt(t));
    }
    switch (this.access) {
      case Access.Msb:
        return value >> 8;
      case Access.LsbMsb: {
        const low = this.readLow;
        this.readLow = !low;
        return low ? value & 0xff : value >> 8;
      }
      default:
        return value & 0xff;
    }
  }

  write(value: number, t: number): void {
    switch (this.access) {
      case Access.Msb:
        this.writeCount(value << 8, t);
        break;
      case Access.LsbMsb:
        if (this.writeLow) {
          this.writeLatch = value;
          this.writeLow = false;
          if (this.mode === 0 && this.counting) {
            // Datasheet, mode 0: "Writing the first byte disables counting. OUT is set low".
            this.heldElapsed = Math.max(this.elapsed(t), 0);
            this.midWrite = true;
          }
        } else {
          this.writeLow = true;
          this.writeCount(this.writeLatch | (value << 8), t);
        }
        break;
      default:
        this.writeCount(value, t);
    }
  }

  /** A complete count was written to CR at edge index `t`. */
  private writeCount(raw: number, t: number): void {
    const n = this.decode(raw);
    const wasCounting = this.counting;
    this.countRegister = n;
    this.counting = true;
    this.midWrite = false;
    switch (this.mode) {
      case 1:
      case 5:
        // CR goes to the CE on the next trigger only.
        if (!wasCounting) this.reload = n;
        this.nullUntilEdge = NEVER;
        return;
      case 2:
      case 3:
        if (wasCounting && this.heldElapsed < 0 && t >= this.loadEdge) {
          this.schedulePending(t);
          return;
        }
        break;
    }
    this.reload = n;
    this.pendingEdge = NEVER;
    if (this.gate) {
      this.heldElapsed = -1;
      this.loadEdge = t + 1;
      this.nullUntilEdge = t + 1;
    } else {
      // GATE low: modes 0/4 load and wait at the full count; modes 2/3 load when GATE rises.
      this.heldElapsed = 0;
      this.nullUntilEdge = this.mode === 0 || this.mode === 4 ? t + 1 : NEVER;
    }
  }

  /** Mode 2: CR is loaded at the end of the current period; mode 3: of the current half. */
  private schedulePending(t: number): void {
    const n = this.reload;
    const e = t - this.loadEdge;
    const start = t - (e % n);
    const half = (n + 1) >> 1;
    this.pendingLowHalf = this.mode === 3 && e % n < half;
    this.pendingEdge = this.pendingLowHalf ? start + half : start + n;
    this.nullUntilEdge = this.pendingEdge;
  }

  saveState() {
    return {
      modeBits: this.modeBits, mode: this.mode, bcd: this.bcd, access: this.access, readLow: this.readLow,
      writeLow: this.writeLow, writeLatch: this.writeLatch, outputLatch: this.outputLatch,
      latchedBytes: this.latchedBytes, statusLatch: this.statusLatch, statusLatched: this.statusLatched,
      countRegister: this.countRegister, reload: this.reload, counting: this.counting, loadEdge: this.loadEdge,
      heldElapsed: this.heldElapsed, triggered: this.triggered, pendingEdge: this.pendingEdge,
      pendingLowHalf: this.pendingLowHalf, nullUntilEdge: this.nullUntilEdge, midWrite: this.midWrite, gate: this.gate,
    };
  }

  loadState(state: ReturnType<Counter['saveState']>): void { Object.assign(this, state); }

  setGate(level: boolean, t: number): void {
    if (level === this.gate) return;
    this.gate = level;
    if (!this.counting) return;
    switch (this.mode) {
      case 0:
      case 4:
        if (!level) {
          this.heldElapsed = Math.max(this.elapsed(t), 0);
        } else if (!this.midWrite) {
          // Counting resumes with the next CLK edge.
          this.loadEdge = t - this.heldElapsed;
          this.heldElapsed = -1;
        }
        break;
      case 2:
      case 3:
        if (!level) {
          this.heldElapsed = Math.max(this.elapsed(t), 0);
          this.pendingEdge = NEVER;
        } else {
          // A rising GATE loads CR into the CE on the next CLK edge.
          this.heldElapsed = -1;
          this.reload = this.countRegister;
          this.loadEdge = t + 1;
          this.nullUntilEdge = Math.min(this.nullUntilEdge, t + 1);
        }
        break;
      default: // 1, 5: a rising GATE (re)triggers with CR
        if (level) {
          this.reload = this.countRegister;
          this.triggered = true;
          this.loadEdge = t + 1;
          this.nullUntilEdge = t + 1;
        }
        break;
    }
  }
}

export type PitState = ReturnType<Pit8254['saveState']>;

export class Pit8254 {
  private readonly counters = [new Counter(true), new Counter(true), new Counter(false)];
  /** Virtual time of the last `advanceTo`, in ns, and the CLK edge count at that time. */
  private nowNs = 0;
  private nowTicks = 0;
  /** CLK edge at which counter 0's OUT may next change. */
  private nextEdge = NEVER;
  private irq0Level = false;
  private speakerData = false;
  private refreshToggle = 0;
  readonly ports: readonly PortRange[];

  constructor(private readonly onIrq0: (level: boolean) => void) {
    const pit: IoHandler = {
      read: (port: number, _size: AccessSize) => this.readPort(port & 3),
      write: (port: number, _size: AccessSize, value: number) => this.writePort(port & 3, value & 0xff),
    };
    const portB: IoHandler = {
      read: () => this.readPortB(),
      write: (_port: number, _size: AccessSize, value: number) => this.writePortB(value),
    };
    this.ports = [
      { first: 0x40, count: 4, handler: pit },
      { first: 0x61, count: 1, handler: portB },
    ];
    // Power-on level, not signalled: the PIC sees the first edge after time 0.
    this.irq0Level = this.counters[0].out(0);
    this.nextEdge = this.counters[0].nextTransition(0);
  }

  /** The three counters and the time they were brought to, for machine snapshots (snapshot.ts). */
  saveState() {
    return {
      counters: this.counters.map((c) => c.saveState()), nowNs: this.nowNs, nowTicks: this.nowTicks,
      nextEdge: this.nextEdge, irq0Level: this.irq0Level, speakerData: this.speakerData, refreshToggle: this.refreshToggle,
    };
  }

  /** Puts back a saved state (time included, so it may go backwards); IRQ 0 is not signalled. */
  loadState(state: PitState): void {
    const { counters, ...rest } = state;
    counters.forEach((c, k) => this.counters[k].loadState(c));
    Object.assign(this, rest);
  }

  /** Brings counter 0's OUT (IRQ 0) up to virtual time `nowNs`. */
  advanceTo(nowNs: number): void {
    if (nowNs < this.nowNs) {
      throw new RangeError(`PIT: time went backwards (${nowNs} ns < ${this.nowNs} ns)`);
    }
    this.nowNs = nowNs;
    const t = pitTicksAt(nowNs);
    this.nowTicks = t;
    if (t < this.nextEdge) return;
    const c0 = this.counters[0];
    // Replay the transitions one by one so the PIC sees every edge; if far behind, the later
    // periods collapse into the final level (the PIC latches one edge until INTA anyway).
    for (let steps = 0; this.nextEdge <= t && steps < 4; steps++) {
      const edge = this.nextEdge;
      c0.sync(edge);
      this.setIrq0(c0.out(edge));
      this.nextEdge = c0.nextTransition(edge);
    }
    this.settleIrq0();
  }

  /** Virtual time (ns) at which IRQ 0 may next change level; Infinity if it cannot. */
  nextEventNs(): number {
    return this.nextEdge === NEVER ? Infinity : pitEdgeTimeNs(this.nextEdge);
  }

  /** Counter `k` (0-2) as it is now, for a debugger. */
  channel(k: number): PitChannelState {
    return this.counters[k].state(this.nowTicks);
  }

  /** Counter 2's OUT, as port 0x61 bit 5 shows it. */
  speakerOut(): boolean {
    const c2 = this.counters[2];
    c2.sync(this.nowTicks);
    return c2.out(this.nowTicks);
  }

  private settleIrq0(): void {
    const c0 = this.counters[0];
    c0.sync(this.nowTicks);
    this.setIrq0(c0.out(this.nowTicks));
    this.nextEdge = c0.nextTransition(this.nowTicks);
  }

  private setIrq0(level: boolean): void {
    if (level === this.irq0Level) return;
    this.irq0Level = level;
    this.onIrq0(level);
  }

  private readPort(offset: number): number {
    if (offset === 3) return 0;
    const c = this.counters[offset];
    c.sync(this.nowTicks);
    return c.read(this.nowTicks);
  }

  private writePort(offset: number, value: number): void {
    const t = this.nowTicks;
    if (offset === 3) {
      const select = value >> 6;
      if (select === 3) {
        // Read-back: bit 5 = 0 latches counts, bit 4 = 0 latches status, bits 1-3 select.
        for (let i = 0; i < 3; i++) {
          if ((value & (2 << i)) === 0) continue;
          const c = this.counters[i];
          c.sync(t);
          if ((value & 0x20) === 0) c.latchCount(t);
          if ((value & 0x10) === 0) c.latchStatus(t);
        }
        return;
      }
      const c = this.counters[select];
      c.sync(t);
      if ((value & 0x30) === 0) c.latchCount(t);
      else c.control(value);
      if (select === 0) this.settleIrq0();
      return;
    }
    const c = this.counters[offset];
    c.sync(t);
    c.write(value, t);
    if (offset === 0) this.settleIrq0();
  }

  private readPortB(): number {
    this.refreshToggle ^= 0x10;
    return (this.counters[2].gate ? 1 : 0) | (this.speakerData ? 2 : 0) | this.refreshToggle |
      (this.speakerOut() ? 0x20 : 0);
  }

  private writePortB(value: number): void {
    this.speakerData = (value & 2) !== 0;
    const c2 = this.counters[2];
    c2.sync(this.nowTicks);
    c2.setGate((value & 1) !== 0, this.nowTicks);
  }
}
