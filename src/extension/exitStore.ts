/**
 * What the VM Exits and Virtualization Holes views and the code lenses show for one debug
 * session: the newest exit records in a bounded ring (so a guest with millions of exits costs
 * constant memory), the adapter's exact counters per reason, counters per source line and
 * reason (bounded by the lines of the guest's sources), the holes, and the user's reason filter.
 * All of it as of where the guest is: reverse execution takes the log back (`rewound` events).
 */
import type { ExitRecordBody, ExitsEventBody, HoleBody, HolesEventBody, ReasonTotalBody } from '../debug/protocol';

/** The events of one reason at one source line. */
export interface LineEvents {
  reason: string;
  reasonNumber: number | null;
  kind: string;
  count: number;
  /** Emulated cycles the VMM charged for them. */
  cycles: number;
}

export class ExitStore {
  /** Records ever made, as the adapter counts them (the ring keeps the newest `capacity`). */
  total = 0;
  /** Records received from the adapter; fewer than `total` if it left some out. */
  received = 0;
  /** The emulated cycles of the run as far as known: the latest clock the adapter reported. */
  runCycles = 0;
  /** Source path -> 1-based line -> reason -> counters. */
  private readonly lines = new Map<string, Map<number, Map<string, LineEvents>>>();
  private readonly ring: ExitRecordBody[] = [];
  /** Index in `ring` of the oldest record once the ring is full. */
  private oldest = 0;
  private totals: ReasonTotalBody[] = [];
  private holeList: HoleBody[] = [];
  /** Reasons shown; undefined shows all. */
  private shown: ReadonlySet<string> | undefined;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`exit store capacity must be a whole number of records, 1 or more, not ${capacity}`);
  }

  addExits(event: ExitsEventBody): void {
    if (event.rewound === true) this.rewind(event.records[0]?.seq ?? event.total);
    for (const r of event.records) {
      this.received++;
      // A record's clock includes its own cost.
      this.runCycles = Math.max(this.runCycles, r.cycles);
      if (r.source !== undefined) this.countAtLine(r, r.source.path, r.source.line);
      if (this.ring.length < this.capacity) {
        this.ring.push(r);
      } else {
        this.ring[this.oldest] = r;
        this.oldest = (this.oldest + 1) % this.capacity;
      }
    }
    this.total = event.total;
    this.totals = event.totals;
  }

  private countAtLine(r: ExitRecordBody, path: string, line: number): void {
    let byLine = this.lines.get(path);
    if (byLine === undefined) this.lines.set(path, byLine = new Map());
    let byReason = byLine.get(line);
    if (byReason === undefined) byLine.set(line, byReason = new Map());
    const c = byReason.get(r.reason);
    if (c === undefined) byReason.set(r.reason, { reason: r.reason, reasonNumber: r.reasonNumber, kind: r.kind, count: 1, cycles: r.cost });
    else { c.count++; c.cycles += r.cost; }
  }

  /** Takes back what countAtLine counted of `r`. */
  private uncountAtLine(r: ExitRecordBody, path: string, line: number): void {
    const byLine = this.lines.get(path), byReason = byLine?.get(line), c = byReason?.get(r.reason);
    if (byLine === undefined || byReason === undefined || c === undefined) return;
    c.count--;
    c.cycles -= r.cost;
    if (c.count > 0) return;
    byReason.delete(r.reason);
    if (byReason.size === 0) byLine.delete(line);
    if (byLine.size === 0) this.lines.delete(path);
  }

  /**
   * The guest went back: the records from sequence number `from` on are no longer the log's
   * (the adapter sends the ones up to the place gone back to again). Their counts per line are
   * taken back; if the ring had already let go of some of them, the counts per line start again
   * from the records the adapter sends, and stay incomplete if it no longer has them all.
   */
  private rewind(from: number): void {
    const kept: ExitRecordBody[] = [];
    const records = this.ring.map((_, k) => this.ring[(this.oldest + k) % this.ring.length]);
    const exact = this.received === records.length || records[0].seq <= from;
    for (const r of records) {
      if (r.seq < from) kept.push(r);
      else if (exact && r.source !== undefined) this.uncountAtLine(r, r.source.path, r.source.line);
    }
    if (exact) {
      this.received -= records.length - kept.length;
    } else {
      this.lines.clear();
      this.received = 0;
    }
    this.ring.length = 0;
    for (const r of kept) this.ring.push(r);
    this.oldest = 0;
    this.runCycles = kept[kept.length - 1]?.cycles ?? 0;
  }

  /** The run's emulated cycles from the adapter's statistics, which may be newer than any record. */
  setRunCycles(cycles: number): void {
    this.runCycles = Math.max(this.runCycles, cycles);
  }

  /** Every record the adapter made has been received, so the counters per line are exact. */
  get complete(): boolean {
    return this.received >= this.total;
  }

  /** The events at each 1-based line of `path`, the costliest reason first. */
  eventsByLine(path: string): Map<number, LineEvents[]> {
    const out = new Map<number, LineEvents[]>();
    for (const [line, byReason] of this.lines.get(path) ?? []) {
      out.set(line, [...byReason.values()].sort((a, b) => b.cycles - a.cycles || b.count - a.count || a.reason.localeCompare(b.reason)));
    }
    return out;
  }

  setHoles(event: HolesEventBody): void {
    this.holeList = event.holes;
  }

  /** The kept records, newest first, those of filtered-out reasons left out. */
  newestFirst(): ExitRecordBody[] {
    const out: ExitRecordBody[] = [];
    for (let k = this.ring.length - 1; k >= 0; k--) {
      const r = this.ring[(this.oldest + k) % this.ring.length];
      if (this.shown === undefined || this.shown.has(r.reason)) out.push(r);
    }
    return out;
  }

  /** Counters per reason, the most frequent first (as `perf kvm stat` sorts them). */
  reasonTotals(): ReasonTotalBody[] {
    return [...this.totals].sort((a, b) => b.count - a.count || b.cycles - a.cycles || a.reason.localeCompare(b.reason));
  }

  /** Holes, the most frequent first. */
  holes(): HoleBody[] {
    return [...this.holeList].sort((a, b) => b.count - a.count || a.eip - b.eip);
  }

  get filter(): ReadonlySet<string> | undefined {
    return this.shown;
  }

  set filter(reasons: ReadonlySet<string> | undefined) {
    this.shown = reasons;
  }
}

const thousands = new Intl.NumberFormat('en-US');

export function formatCount(n: number): string {
  return thousands.format(n);
}

export function hex8(v: number): string {
  return `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
}

/** "CPUID (10)", or the bare name of a software event. */
export function reasonLabel(reason: string, reasonNumber: number | null): string {
  return reasonNumber === null ? reason : `${reason} (${reasonNumber})`;
}

/** The share of `part` in `whole` as a percentage with one decimal. */
export function percent(part: number, whole: number): string {
  return whole === 0 ? '0.0%' : `${((100 * part) / whole).toFixed(1)}%`;
}
