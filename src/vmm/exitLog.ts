/**
 * The exit log: every event a VMM handles, as DESIGN.md's record
 * `{seq, icount, cycles, vcpu, mode, kind, reason, eip, cpl, qualification, cost}`.
 *
 * Memory bound: the most recent RING_CAPACITY (4096) records are kept in typed arrays, eleven
 * numbers each (about 80 bytes, so 320 KiB in all); a record's qualification is kept as up
 * to four numbers and turned into words only when the record is read, so recording
 * allocates nothing. The counters per reason (count and cycles, exact as float64 integers
 * up to 2^53) never drop anything, whatever the length of the run; there is one counter
 * per reason, and the reasons are a fixed set of names.
 */

export const RING_CAPACITY = 4096;

/** Turns a record's numbers into its qualification in words. */
export type Qualifier = (a: number, b: number, c: number, d: number) => string;

/** The broad class of an event; reasons are finer. */
export type EventClass =
  | 'privileged instruction' | 'page fault' | 'exception' | 'interrupt' | 'hypercall' | 'vm exit' | 'translation' | 'emulation';

export interface Reason {
  id: number;
  name: string;
  kind: EventClass;
  /** The SDM exit-reason number in `hw` mode, the hypercall number for hypercalls, else null. */
  number: number | null;
  qualify: Qualifier;
  count: number;
  cycles: number;
}

export interface ExitRecord {
  seq: number;
  icount: number;
  cycles: number;
  vcpu: number;
  mode: string;
  kind: EventClass;
  reason: string;
  eip: number;
  cpl: number;
  qualification: string;
  cost: number;
}

export class ExitLog {
  private readonly reasons: Reason[] = [];
  private readonly byName = new Map<string, Reason>();
  private readonly capacity: number;
  private readonly seqs: Float64Array;
  private readonly icounts: Float64Array;
  private readonly cyclesAt: Float64Array;
  private readonly costs: Float64Array;
  private readonly args: Float64Array;
  private readonly reasonIds: Int32Array;
  private readonly eips: Int32Array;
  private readonly cpls: Uint8Array;
  private readonly vcpus: Uint8Array;
  /** Records ever made; the ring holds the last min(total, capacity). */
  total = 0;
  /** Times the log was cleared (the run it records started again): readers tell a new run from a longer one. */
  clears = 0;
  /** Told of each record as it is made (a debugger's VM-exit breakpoints); unset, it costs nothing. */
  onRecord: ((reason: Reason, seq: number) => void) | undefined = undefined;

  constructor(readonly mode: string, capacity = RING_CAPACITY) {
    this.capacity = capacity;
    this.seqs = new Float64Array(capacity);
    this.icounts = new Float64Array(capacity);
    this.cyclesAt = new Float64Array(capacity);
    this.costs = new Float64Array(capacity);
    this.args = new Float64Array(capacity * 4);
    this.reasonIds = new Int32Array(capacity);
    this.eips = new Int32Array(capacity);
    this.cpls = new Uint8Array(capacity);
    this.vcpus = new Uint8Array(capacity);
  }

  /** The reason called `name`, made on first use. */
  reason(name: string, kind: EventClass, qualify: Qualifier, number: number | null = null): Reason {
    let r = this.byName.get(name);
    if (r === undefined) {
      r = { id: this.reasons.length, name, kind, number, qualify, count: 0, cycles: 0 };
      this.reasons.push(r);
      this.byName.set(name, r);
    }
    return r;
  }

  /**
   * Records one event: `cycles` is the emulated cycle count when it happened, `cost` what
   * handling it cost; `a`-`d` are the numbers its reason's qualifier reads. `icount` is the
   * instruction count of virtual CPU `vcpu`, the one the event happened on.
   */
  record(reason: Reason, icount: number, cycles: number, vcpu: number, eip: number, cpl: number, cost: number,
    a = 0, b = 0, c = 0, d = 0): void {
    reason.count++;
    reason.cycles += cost;
    const k = this.total % this.capacity;
    this.seqs[k] = this.total;
    this.icounts[k] = icount;
    this.cyclesAt[k] = cycles;
    this.costs[k] = cost;
    this.reasonIds[k] = reason.id;
    this.eips[k] = eip;
    this.cpls[k] = cpl;
    this.vcpus[k] = vcpu;
    const q = k * 4;
    this.args[q] = a; this.args[q + 1] = b; this.args[q + 2] = c; this.args[q + 3] = d;
    this.total++;
    this.onRecord?.(reason, this.total - 1);
  }

  /**
   * Forgets every record and zeroes the counters, for a run that starts again from the launch.
   * The reasons stay (monitors keep them), so the same events count under the same names.
   */
  clear(): void {
    for (const r of this.reasons) { r.count = 0; r.cycles = 0; }
    this.total = 0;
    this.clears++;
  }

  /** Sequence number of the oldest record still in the ring. */
  get firstInRing(): number { return Math.max(0, this.total - this.capacity); }

  /** Up to `count` of the records still in the ring from sequence number `from` on, oldest first. */
  records(from = 0, count = Infinity): ExitRecord[] {
    const out: ExitRecord[] = [];
    const start = Math.max(from, this.firstInRing);
    for (let j = start; j < Math.min(this.total, start + count); j++) {
      const k = j % this.capacity;
      const r = this.reasons[this.reasonIds[k]];
      const q = k * 4;
      out.push({
        seq: this.seqs[k], icount: this.icounts[k], cycles: this.cyclesAt[k], vcpu: this.vcpus[k], mode: this.mode,
        kind: r.kind, reason: r.name, eip: this.eips[k] >>> 0, cpl: this.cpls[k],
        qualification: r.qualify(this.args[q], this.args[q + 1], this.args[q + 2], this.args[q + 3]),
        cost: this.costs[k],
      });
    }
    return out;
  }

  /** Every reason that happened, most cycles first (ties by name). */
  counters(): readonly Reason[] {
    return this.reasons.filter((r) => r.count > 0).sort((x, y) => y.cycles - x.cycles || x.name.localeCompare(y.name));
  }

  /** Events handled and the cycles they cost, over the whole run. */
  get eventCount(): number { return this.total; }
  get eventCycles(): number { return this.reasons.reduce((sum, r) => sum + r.cycles, 0); }
}

/** `0x` and 8 hexadecimal digits. */
export function hex8(v: number): string { return `0x${(v >>> 0).toString(16).padStart(8, '0')}`; }
/** `0x` and as many hexadecimal digits as needed. */
export function hex(v: number): string { return `0x${(v >>> 0).toString(16)}`; }
