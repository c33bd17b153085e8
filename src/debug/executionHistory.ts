/**
 * The recorded execution of a native-mode guest, which reverse execution goes back through.
 * The machine is deterministic (virtual time is the instruction count), so the record is small:
 *
 * - checkpoints: snapshots of the whole machine (src/machine/snapshot.ts) at the launch and every
 *   `interval` instructions after, at most `maxCheckpoints` of them: when there are more, every
 *   second one goes and the interval doubles, so they stay spread over the whole run. A
 *   checkpoint compares all of RAM, which takes milliseconds: it also waits until the guest
 *   has run `1 / overhead` times as long as the last one took, so fast guest code is not slowed
 *   down more than that;
 * - changes from outside the guest, each with the place it was made: serial input the user
 *   typed, registers and memory the user changed. Running again from a checkpoint makes them
 *   again at the same place, so the run is the same as the first time;
 * - the frontier: how far the guest ever ran. Output the guest sends before it was already
 *   shown, so running that stretch again shows nothing.
 *
 * A change made at a place the guest had already run past (after going back) gives it a
 * different future: the record after that place is dropped.
 *
 * A place is the whole machine's progress: the instructions all processors retired together,
 * plus the next instruction of each processor, since interrupts and exceptions are delivered
 * (and with several processors, halted processors let their turns pass) without retiring an
 * instruction. Running to an instruction count stops right after the instruction that
 * reaches it, before anything else happens there; from there, single machine steps go through
 * the rest of the places with that count. The first of them with the same next instructions
 * stands for the place: with several processors it may be earlier by turns that halted
 * processors let pass, which change nothing but whose turn is next.
 */
import type { Cpu } from '../cpu/cpu';
import { CS } from '../cpu/registers';
import type { Machine, RunResult } from '../machine/machine';
import { restoreSnapshot, takeSnapshot, type MachineSnapshot } from '../machine/snapshot';

export interface Place {
  /** Instructions retired by all processors together (Machine.instructions()). */
  icount: number;
  /** Linear address of each processor's next instruction, by index. */
  pcs: readonly number[];
}

/** Linear address of the next instruction of `cpu`. */
export function pcOf(cpu: Cpu): number { return (cpu.segBase[CS] + cpu.eip) >>> 0; }

export interface HistoryOptions {
  /** Instructions between two checkpoints at the start (default 1 Mi). */
  interval?: number;
  /** Checkpoints kept, the launch included (default 32, at least 2). */
  maxCheckpoints?: number;
  /** Most time checkpoints take, as a fraction of the time the guest runs (default 0.1; 0: no limit). */
  overhead?: number;
}

/** A snapshot and how many of the recorded changes had been made when it was taken. */
export interface Checkpoint {
  readonly snapshot: MachineSnapshot;
  readonly changesMade: number;
}

interface Change extends Place {
  make(): unknown;
}

/** Machine steps looked through at one instruction count for the place a change was made at, per processor. */
const MAX_SEEK = 16;

export class ExecutionHistory {
  private checkpoints: Checkpoint[];
  private readonly changes: Change[] = [];
  /** Changes made so far in the current run through the record. */
  private changesMade = 0;
  private seeking = 0;
  private frontier: number;
  interval: number;
  readonly maxCheckpoints: number;
  private readonly overhead: number;
  /** Milliseconds the last checkpoint took, and the guest has run since. */
  private checkpointMs = 0;
  private runMs = 0;
  /** Where the launch left the guest. */
  readonly start: Place;

  constructor(
    private readonly machine: Machine,
    /** Runs the machine for at most `budget` instructions (Machine.runSlice, or the VMM's). */
    private readonly run: (budget: number) => RunResult | undefined,
    /** Called after a snapshot is restored (the TLB was reloaded, data breakpoints must be set again). */
    private readonly restored: () => void,
    opts: HistoryOptions = {},
  ) {
    this.interval = Math.max(1, opts.interval ?? 1 << 20);
    this.maxCheckpoints = Math.max(2, opts.maxCheckpoints ?? 32);
    this.overhead = opts.overhead ?? 0.1;
    this.checkpoints = [{ snapshot: takeSnapshot(machine), changesMade: 0 }];
    this.frontier = machine.instructions();
    this.start = this.place();
  }

  /** Where the machine is now. */
  place(): Place { return { icount: this.machine.instructions(), pcs: this.machine.cpus.map(pcOf) }; }

  /** Whether the machine is at `p` now. */
  isAt(p: Place): boolean {
    const cpus = this.machine.cpus;
    if (this.machine.instructions() !== p.icount) return false;
    for (let k = 0; k < cpus.length; k++) if (pcOf(cpus[k]) !== p.pcs[k]) return false;
    return true;
  }

  /** Whether the guest is running a stretch it ran before (its output was shown then). */
  get replaying(): boolean { return this.machine.instructions() < this.frontier; }

  /** Whether the guest is back at the launch. */
  atStart(): boolean { return this.isAt(this.start) && this.changesMade === 0; }

  get checkpointCount(): number { return this.checkpoints.length; }

  /**
   * Makes a change from outside the guest now and records it, so re-execution makes it again
   * here. Made at a place the guest had run past, it drops the record after this place. A
   * change that throws is not recorded.
   */
  record<T>(make: () => T): T {
    const place = this.place();
    const result = make();
    if (this.changesMade < this.changes.length || place.icount < this.frontier) {
      this.changes.length = this.changesMade;
      this.checkpoints = this.checkpoints.filter((c, k) => k === 0 || c.snapshot.icount < place.icount);
      this.frontier = place.icount;
    }
    this.changes.push({ ...place, make });
    this.changesMade++;
    this.seeking = 0;
    return result;
  }

  /** Makes the recorded changes due exactly here (after arriving at a place by re-execution). */
  settle(): void {
    for (let c = this.changes[this.changesMade]; c !== undefined && this.isAt(c); c = this.changes[this.changesMade]) {
      this.makeNext();
    }
  }

  private makeNext(): void {
    this.changes[this.changesMade++].make();
    this.seeking = 0;
  }

  /**
   * Runs the machine as `run` does, making each recorded change when the guest gets to its place: the run
   * stops at the change's instruction count, then goes one machine step at a time until the
   * processors are at the instructions they were at when the change was made.
   */
  runSlice(budget: number): RunResult | undefined {
    const icount = this.machine.instructions();
    for (let c = this.changes[this.changesMade]; c !== undefined; c = this.changes[this.changesMade]) {
      if (icount < c.icount) {
        budget = Math.min(budget, c.icount - icount);
        break;
      }
      if (icount === c.icount && !this.isAt(c) && this.seeking < MAX_SEEK * this.machine.cpus.length) {
        this.seeking++;
        return this.run(1);
      }
      this.makeNext();
    }
    const t = performance.now();
    const r = this.run(budget);
    this.runMs += performance.now() - t;
    return r;
  }

  /** After each slice of the guest's run: moves the frontier and takes the periodic checkpoint. */
  afterSlice(): void {
    const icount = this.machine.instructions();
    if (icount > this.frontier) this.frontier = icount;
    const last = this.checkpoints[this.checkpoints.length - 1];
    if (icount < last.snapshot.icount + this.interval) return;
    if (this.overhead > 0 && this.runMs * this.overhead < this.checkpointMs) return;
    const t = performance.now();
    this.checkpoints.push({ snapshot: takeSnapshot(this.machine, last.snapshot), changesMade: this.changesMade });
    this.checkpointMs = performance.now() - t;
    this.runMs = 0;
    if (this.checkpoints.length > this.maxCheckpoints) {
      const n = this.checkpoints.length;
      this.checkpoints = this.checkpoints.filter((_, k) => k === 0 || k === n - 1 || k % 2 === 0);
      this.interval *= 2;
    }
  }

  /** The checkpoints taken before instruction count `icount`, oldest first (the launch always). */
  checkpointsBefore(icount: number): readonly Checkpoint[] {
    return this.checkpoints.filter((c, k) => k === 0 || c.snapshot.icount < icount);
  }

  restore(c: Checkpoint): void {
    restoreSnapshot(this.machine, c.snapshot);
    this.changesMade = c.changesMade;
    this.seeking = 0;
    this.restored();
  }

  /**
   * Restores the last checkpoint from which running to `icount` stops before anything is
   * delivered there: one taken before that count (or the launch).
   */
  rewind(icount: number): void {
    const before = this.checkpointsBefore(icount);
    this.restore(before[before.length - 1]);
  }
}
