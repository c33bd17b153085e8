/**
 * Motorola MC146818 real-time clock and its 128 bytes of CMOS RAM at ports 0x70 (index, bit 7
 * = NMI mask) and 0x71 (data), interrupting on IRQ 8.
 *
 * The clock runs on virtual time from a fixed epoch (default 2000-01-01 00:00:00 UTC), so a
 * run is the same on every host. Following the datasheet and QEMU 7.2 (hw/rtc/mc146818rtc.c):
 *  - Time registers 0x00-0x09 and the century byte 0x32 (0x37 aliases it, as QEMU does) in BCD
 *    or binary per status B bit 2 (DM), 12- or 24-hour per bit 1; SET (bit 7) freezes them
 *    for the guest to write, and clearing it starts the clock from what was written.
 *  - Status A: divider bits (110/111 hold the divider in reset; leaving reset puts the next
 *    update half a second away), rate select for the periodic interrupt, and UIP, which reads 1
 *    in the last 244 us (8 cycles of 32.768 kHz) before each update, as in QEMU.
 *  - Status C: IRQF, PF, AF, UF; reading clears it and drops IRQ 8. The line is IRQF, i.e.
 *    high while a flag is set whose enable bit (PIE, AIE, UIE in status B) is set.
 *    PF is set at every periodic edge whether PIE is set or not (datasheet; QEMU only runs the
 *    periodic timer while PIE is set). Periodic edges are aligned to the divider chain.
 *  - Status D reads 0x80 (valid RAM and time); C and D ignore writes. Port 0x70 reads 0xFF.
 *  - Memory size bytes as QEMU's pc_cmos_init sets them for the RAM size: 0x15-0x16 base KiB,
 *    0x17-0x18 and 0x30-0x31 KiB above 1 MiB (at most 65535), 0x34-0x35 64 KiB blocks above
 *    16 MiB (at most 65535), 0x5B-0x5D 64 KiB blocks above 4 GiB.
 * Port accesses happen at the time of the last `advanceTo`; the machine calls `advanceTo(now)`
 * before any port access to this device and whenever `nextEventNs()` is reached.
 */
import type { AccessSize } from '../cpu/bus';
import type { IoHandler, PortRange } from './ioBus';

const SECONDS = 0x00, SECONDS_ALARM = 0x01, MINUTES = 0x02, MINUTES_ALARM = 0x03;
const HOURS = 0x04, HOURS_ALARM = 0x05, DAY_OF_WEEK = 0x06, DAY_OF_MONTH = 0x07;
const MONTH = 0x08, YEAR = 0x09, REG_A = 0x0a, REG_B = 0x0b, REG_C = 0x0c, REG_D = 0x0d;
const CENTURY = 0x32, PS2_CENTURY = 0x37;

const A_UIP = 0x80;
const B_SET = 0x80, B_PIE = 0x40, B_AIE = 0x20, B_UIE = 0x10, B_DM_BINARY = 0x04, B_24H = 0x02;
const C_IRQF = 0x80, C_PF = 0x40, C_AF = 0x20, C_UF = 0x10;

const NS_PER_S = 1_000_000_000;
const RTC_HZ = 32768;
/** UIP is set this long before each update (QEMU UIP_HOLD_LENGTH, integer ns). */
const UIP_HOLD_NS = Math.floor((8 * NS_PER_S) / RTC_HZ);
const NEVER = Infinity;

/** 2000-01-01 00:00:00 UTC. */
export const DEFAULT_RTC_EPOCH = 946_684_800;

export interface CmosOptions {
  /** Time of day at virtual time 0, in seconds since 1970-01-01 00:00:00 UTC. */
  epochSeconds?: number;
}

export type CmosState = ReturnType<Cmos['saveState']>;

export class Cmos {
  private readonly data = new Uint8Array(128);
  private index = 0;
  private nmiMask = false;
  private irqLevel = false;
  private nowNs = 0;
  /** Flags in status C are brought up to this time. */
  private flagsNs = 0;

  /** The clock read `anchorSec` exactly at virtual time `anchorNs`. */
  private anchorSec: number;
  private anchorNs = 0;
  /** Sub-second phase the clock takes when the guest sets it (QEMU's `offset`). */
  private phaseNs = 0;
  /** Start of the divider chain, which the periodic interrupt counts from. */
  private dividerStartNs = 0;
  /** Virtual time of the next alarm match, while the clock runs. */
  private alarmNs = NEVER;

  readonly ports: readonly PortRange[];

  constructor(
    ramBytes: number,
    private readonly onIrq8: (level: boolean) => void,
    opts: CmosOptions = {},
  ) {
    if (!(ramBytes >= 0 && Number.isSafeInteger(ramBytes))) {
      throw new RangeError(`CMOS: RAM size ${ramBytes} is not a byte count`);
    }
    this.anchorSec = opts.epochSeconds ?? DEFAULT_RTC_EPOCH;
    if (!Number.isSafeInteger(this.anchorSec)) {
      throw new RangeError(`CMOS: epoch ${this.anchorSec} is not a whole number of seconds`);
    }
    this.data[REG_A] = 0x26; // 32.768 kHz divider, 1024 Hz periodic rate
    this.data[REG_B] = B_24H;
    this.data[REG_D] = 0x80;
    this.setMemorySize(ramBytes);
    this.refreshClockRegisters();
    this.alarmNs = this.nextAlarmAfter(0);

    // One window like QEMU's "rtc" region: even ports are the index, odd ports the data, so a
    // word read at 0x70 gives 0xFF | data << 8 and one at 0x71 is unaligned (reads 0).
    const handler: IoHandler = {
      read: (port: number) => (port & 1 ? this.readData() : 0xff),
      write: (port: number, _size: AccessSize, value: number) => {
        if (port & 1) {
          this.writeData(value & 0xff);
        } else {
          this.index = value & 0x7f;
          this.nmiMask = (value & 0x80) !== 0;
        }
      },
    };
    this.ports = [{ first: 0x70, count: 2, handler }];
  }

  /** The CMOS bytes and the clock's anchors, for machine snapshots (snapshot.ts). */
  saveState() {
    return {
      data: this.data.slice(), index: this.index, nmiMask: this.nmiMask, irqLevel: this.irqLevel, nowNs: this.nowNs,
      flagsNs: this.flagsNs, anchorSec: this.anchorSec, anchorNs: this.anchorNs, phaseNs: this.phaseNs,
      dividerStartNs: this.dividerStartNs, alarmNs: this.alarmNs,
    };
  }

  /** Puts back a saved state (time included, so it may go backwards); IRQ 8 is not signalled. */
  loadState(state: CmosState): void {
    const { data, ...rest } = state;
    this.data.set(data);
    Object.assign(this, rest);
  }

  /** Whether the guest has masked NMI through bit 7 of port 0x70. */
  get nmiMasked(): boolean {
    return this.nmiMask;
  }

  /** Sets a CMOS byte as firmware would (equipment byte, drive types...). */
  setByte(index: number, value: number): void {
    if (!(index >= 0 && index < 128 && Number.isInteger(index))) {
      throw new RangeError(`CMOS: no byte at index ${index}`);
    }
    this.data[index] = value & 0xff;
  }

  advanceTo(nowNs: number): void {
    if (nowNs < this.nowNs) {
      throw new RangeError(`CMOS: time went backwards (${nowNs} ns < ${this.nowNs} ns)`);
    }
    this.nowNs = nowNs;
    this.catchUpFlags();
  }

  /** Virtual time at which IRQ 8 may next rise; Infinity if no enabled source can fire. */
  nextEventNs(): number {
    const b = this.data[REG_B], c = this.data[REG_C];
    let next = NEVER;
    const period = this.periodTicks();
    if (b & B_PIE && !(c & C_PF) && period !== 0) {
      const edges = Math.floor(this.ticksSinceDividerStart(this.flagsNs) / period);
      next = this.dividerStartNs + ticksToNs((edges + 1) * period);
    }
    if (this.clockRunning()) {
      if (b & B_UIE && !(c & C_UF)) {
        next = Math.min(next, this.anchorNs + (this.secondsAt(this.flagsNs) + 1) * NS_PER_S);
      }
      if (b & B_AIE && !(c & C_AF)) next = Math.min(next, this.alarmNs);
    }
    return next;
  }

  private setMemorySize(ramBytes: number): void {
    // i440FX split: all RAM below 4 GiB up to 3.5 GiB; beyond that 3 GiB below, rest above.
    const below4g = ramBytes >= 0xe000_0000 ? 0xc000_0000 : ramBytes;
    const above4g = ramBytes - below4g;
    const base = Math.min(Math.floor(below4g / 1024), 640);
    const ext = Math.min(below4g > 0x10_0000 ? Math.floor((below4g - 0x10_0000) / 1024) : 0, 65535);
    const high = Math.min(below4g > 0x100_0000 ? Math.floor((below4g - 0x100_0000) / 65536) : 0, 65535);
    const over = Math.floor(above4g / 65536);
    this.data[0x15] = base & 0xff;
    this.data[0x16] = base >> 8;
    this.data[0x17] = this.data[0x30] = ext & 0xff;
    this.data[0x18] = this.data[0x31] = ext >> 8;
    this.data[0x34] = high & 0xff;
    this.data[0x35] = high >> 8;
    this.data[0x5b] = over & 0xff;
    this.data[0x5c] = (over >> 8) & 0xff;
    this.data[0x5d] = (over >> 16) & 0xff;
  }

  // ---- the data port ------------------------------------------------------------------

  private readData(): number {
    this.catchUpFlags();
    if (this.index === PS2_CENTURY) this.index = CENTURY;
    const i = this.index;
    switch (i) {
      case SECONDS: case MINUTES: case HOURS: case DAY_OF_WEEK: case DAY_OF_MONTH:
      case MONTH: case YEAR: case CENTURY:
        this.refreshClockRegisters();
        return this.data[i];
      case REG_A:
        return this.data[REG_A] | (this.updateInProgress() ? A_UIP : 0);
      case REG_C: {
        const value = this.data[REG_C];
        this.data[REG_C] = 0;
        this.updateIrq();
        return value;
      }
      default:
        return this.data[i];
    }
  }

  private writeData(value: number): void {
    this.catchUpFlags();
    if (this.index === PS2_CENTURY) this.index = CENTURY;
    const i = this.index;
    switch (i) {
      case SECONDS: case MINUTES: case HOURS: case DAY_OF_WEEK: case DAY_OF_MONTH:
      case MONTH: case YEAR: case CENTURY:
        this.refreshClockRegisters();
        this.data[i] = value;
        if (this.clockRunning()) this.setClockFromRegisters(this.phaseNs);
        break;
      case SECONDS_ALARM: case MINUTES_ALARM: case HOURS_ALARM:
        this.data[i] = value;
        this.alarmNs = this.nextAlarmAfter(this.nowNs);
        break;
      case REG_A:
        this.writeStatusA(value);
        break;
      case REG_B:
        this.writeStatusB(value);
        break;
      case REG_C: case REG_D: // read-only
        break;
      default:
        this.data[i] = value;
    }
  }

  private writeStatusA(value: number): void {
    const wasReset = (this.data[REG_A] & 0x60) === 0x60;
    const resetting = (value & 0x60) === 0x60;
    this.refreshClockRegisters(); // if the clock stops here, it stops showing this time
    this.data[REG_A] = value & ~A_UIP;
    if (wasReset && !resetting && (value & 0x70) <= 0x20) {
      // Leaving divider reset: the divider chain restarts and the first update comes half a
      // second later (datasheet "Divider Control"; QEMU sets offset = 500 ms).
      this.dividerStartNs = this.nowNs;
      this.phaseNs = NS_PER_S / 2;
      if (!(this.data[REG_B] & B_SET)) this.setClockFromRegisters(this.phaseNs);
    }
    this.alarmNs = this.nextAlarmAfter(this.nowNs);
  }

  private writeStatusB(value: number): void {
    const old = this.data[REG_B];
    this.refreshClockRegisters();
    if (value & B_SET) {
      value &= ~B_UIE; // datasheet: SET = 1 clears UIE
    } else if (old & B_SET && (this.data[REG_A] & 0x70) <= 0x20) {
      // Leaving set mode: run from the written time, keeping the sub-second phase (QEMU).
      this.phaseNs = this.phaseAt(this.nowNs);
      this.setClockFromRegisters(this.phaseNs);
    }
    this.data[REG_B] = value;
    this.updateIrq();
    this.alarmNs = this.nextAlarmAfter(this.nowNs);
  }

  // ---- the clock ----------------------------------------------------------------------

  private clockRunning(): boolean {
    return !(this.data[REG_B] & B_SET) && (this.data[REG_A] & 0x70) <= 0x20;
  }

  /** Whole seconds the clock has advanced since its anchor, at virtual time `t`. */
  private secondsAt(t: number): number {
    return Math.floor((t - this.anchorNs) / NS_PER_S);
  }

  private phaseAt(t: number): number {
    return (t - this.anchorNs) - this.secondsAt(t) * NS_PER_S;
  }

  private updateInProgress(): boolean {
    return this.clockRunning() && this.phaseAt(this.nowNs) >= NS_PER_S - UIP_HOLD_NS;
  }

  /** Restarts the clock from the time in the registers, `phase` ns into the current second. */
  private setClockFromRegisters(phase: number): void {
    const b = this.data[REG_B];
    let hour = this.fromRegister(this.data[HOURS] & 0x7f);
    if (!(b & B_24H)) hour = (hour % 12) + (this.data[HOURS] & 0x80 ? 12 : 0);
    const year = this.fromRegister(this.data[YEAR]) + 100 * this.fromRegister(this.data[CENTURY]);
    const days = daysFromCivil(year, this.fromRegister(this.data[MONTH]),
      this.fromRegister(this.data[DAY_OF_MONTH]));
    this.anchorSec = days * 86400 + hour * 3600 + this.fromRegister(this.data[MINUTES]) * 60 +
      this.fromRegister(this.data[SECONDS]);
    this.anchorNs = this.nowNs - phase;
    this.alarmNs = this.nextAlarmAfter(this.nowNs);
  }

  /** Writes the current time into the clock registers (while the clock runs). */
  private refreshClockRegisters(): void {
    if (!this.clockRunning()) return;
    const now = this.anchorSec + this.secondsAt(this.nowNs);
    const days = Math.floor(now / 86400);
    const secOfDay = now - days * 86400;
    const hour = Math.floor(secOfDay / 3600);
    const d = this.data;
    d[SECONDS] = this.toRegister(secOfDay % 60);
    d[MINUTES] = this.toRegister(Math.floor(secOfDay / 60) % 60);
    d[HOURS] = this.hourRegister(hour);
    d[DAY_OF_WEEK] = this.toRegister((((days + 4) % 7) + 7) % 7 + 1); // 1970-01-01 was a Thursday
    // Civil date from days since 1970-01-01 (H. Hinnant's days_from_civil inverse).
    const z = days + 719468;
    const era = Math.floor(z / 146097);
    const doe = z - era * 146097;
    const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) -
      Math.floor(doe / 146096)) / 365);
    const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
    const mp = Math.floor((5 * doy + 2) / 153);
    const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
    const month = mp < 10 ? mp + 3 : mp - 9;
    const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
    d[DAY_OF_MONTH] = this.toRegister(day);
    d[MONTH] = this.toRegister(month);
    d[YEAR] = this.toRegister(year % 100);
    d[CENTURY] = this.toRegister(Math.floor(year / 100));
  }

  private hourRegister(hour: number): number {
    if (this.data[REG_B] & B_24H) return this.toRegister(hour);
    return this.toRegister(hour % 12 || 12) | (hour >= 12 ? 0x80 : 0);
  }

  private toRegister(v: number): number {
    return this.data[REG_B] & B_DM_BINARY ? v : (Math.floor(v / 10) << 4) | (v % 10);
  }

  private fromRegister(v: number): number {
    return this.data[REG_B] & B_DM_BINARY ? v : (v >> 4) * 10 + (v & 0x0f);
  }

  // ---- interrupts ---------------------------------------------------------------------

  /** Periodic interrupt period in 32.768 kHz cycles (rate select in status A), 0 if off. */
  private periodTicks(): number {
    const a = this.data[REG_A];
    const rs = a & 0x0f;
    if (rs === 0 || (a & 0x70) > 0x20) return 0;
    return 1 << ((rs <= 2 ? rs + 7 : rs) - 1);
  }

  private ticksSinceDividerStart(t: number): number {
    const ns = t - this.dividerStartNs;
    const s = Math.floor(ns / NS_PER_S);
    return s * RTC_HZ + Math.floor(((ns - s * NS_PER_S) * RTC_HZ) / NS_PER_S);
  }

  /** Sets PF, UF and AF for everything that happened since the last call. */
  private catchUpFlags(): void {
    const from = this.flagsNs, to = this.nowNs;
    if (to <= from) return;
    let flags = 0;
    const period = this.periodTicks();
    if (period !== 0 &&
        Math.floor(this.ticksSinceDividerStart(to) / period) >
        Math.floor(this.ticksSinceDividerStart(from) / period)) {
      flags |= C_PF;
    }
    if (this.clockRunning()) {
      if (this.secondsAt(to) > this.secondsAt(from)) flags |= C_UF;
      if (this.alarmNs <= to) {
        flags |= C_AF;
        this.alarmNs = this.nextAlarmAfter(to);
      }
    }
    this.flagsNs = to;
    if (flags & ~this.data[REG_C]) {
      this.data[REG_C] |= flags;
      this.updateIrq();
    }
  }

  private updateIrq(): void {
    const c = this.data[REG_C];
    const level = (c & this.data[REG_B] & (C_PF | C_AF | C_UF)) !== 0;
    this.data[REG_C] = level ? c | C_IRQF : c & ~C_IRQF;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.onIrq8(level);
    }
  }

  /** Virtual time of the first update after `t` whose new time matches the alarm registers
   *  (an alarm byte with bits 7-6 set matches anything). */
  private nextAlarmAfter(t: number): number {
    if (!this.clockRunning()) return NEVER;
    const s = this.secondsAt(t);
    const now = this.anchorSec + s;
    const secOfDay = now - Math.floor(now / 86400) * 86400;
    const h0 = Math.floor(secOfDay / 3600), m0 = Math.floor(secOfDay / 60) % 60, s0 = secOfDay % 60;
    const alarmSec = this.data[SECONDS_ALARM], alarmMin = this.data[MINUTES_ALARM];
    const alarmHour = this.data[HOURS_ALARM];
    // An alarm byte that no time can show never matches (and would make the search long).
    if (!this.canMatch(alarmSec, 60, false) || !this.canMatch(alarmMin, 60, false) ||
        !this.canMatch(alarmHour, 24, true)) {
      return NEVER;
    }
    for (let day = 0; day < 2; day++) {
      for (let h = day === 0 ? h0 : 0; h < 24; h++) {
        if (!matches(alarmHour, this.hourRegister(h))) continue;
        const sameHour = day === 0 && h === h0;
        for (let m = sameHour ? m0 : 0; m < 60; m++) {
          if (!matches(alarmMin, this.toRegister(m))) continue;
          for (let sec = sameHour && m === m0 ? s0 + 1 : 0; sec < 60; sec++) {
            if (!matches(alarmSec, this.toRegister(sec))) continue;
            const ahead = day * 86400 + (h - h0) * 3600 + (m - m0) * 60 + (sec - s0);
            return this.anchorNs + (s + ahead) * NS_PER_S;
          }
        }
      }
    }
    return NEVER;
  }

  private canMatch(alarm: number, count: number, hours: boolean): boolean {
    for (let v = 0; v < count; v++) {
      if (matches(alarm, hours ? this.hourRegister(v) : this.toRegister(v))) return true;
    }
    return false;
  }
}

function matches(alarm: number, value: number): boolean {
  return (alarm & 0xc0) === 0xc0 || alarm === value;
}

/** 32.768 kHz cycles to ns, exactly (whole ns at or after the instant). */
function ticksToNs(ticks: number): number {
  const s = Math.floor(ticks / RTC_HZ);
  return s * NS_PER_S + Math.ceil(((ticks - s * RTC_HZ) * NS_PER_S) / RTC_HZ);
}

/** Days since 1970-01-01 of a proleptic Gregorian date; months outside 1-12 carry into years. */
function daysFromCivil(year: number, month: number, day: number): number {
  year += Math.floor((month - 1) / 12);
  month = ((((month - 1) % 12) + 12) % 12) + 1;
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}
