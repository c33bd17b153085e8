/**
 * The recorded execution of a guest, which reverse execution goes back through.
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
 * Under a VMM the launch is the only checkpoint: a VMM keeps state of its own beside the
 * machine (each processor's monitor: shadow page tables, virtual CPU, VMCS bookkeeping; the
 * exit log, holes and cycles) that a snapshot does not hold. Going back there loads the image
 * again into the same VMM (new monitors, the VMM's memory pool given back), forgets what the
 * VMM recorded, restores the launch snapshot (Machine.load alone leaves RAM, devices and the
 * other processors as the run left them), and runs forward from there: going back costs a run
 * from the launch to the place, twice for a step back (once to find the place, once to get
 * there), so it grows with how far the guest has run. The VMM's records also depend on how
 * the debugger cut the run into machine slices: under `bt` each block the code cache decodes
 * is a translation, and a slice that ends inside a block makes the rest of it one more. So
 * the record also holds the cuts: each machine slice of the run the machine has now, with the
 * budget it was given, where it ended and the debugger's settings that end slices (code
 * breakpoints, which cut blocks too; data and VMM-event breakpoints). Getting to a place runs
 * the slices of the run the user saw again, so the exit log, holes and cycles there are those
 * that run had. A stop on an exception breakpoint is not made again: from such a stop on the
 * slices are re-executed as they come, which under `bt` may translate blocks differently.
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
import type { Watch } from './dataBreakpoints';

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

/**
 * The debugger's settings that end machine slices: code breakpoints (which also end decoded
 * blocks), data breakpoints and VMM-event breakpoints (which end a slice after an instruction).
 * A new object whenever one of them changes.
 */
export interface SliceHooks {
  readonly stops: readonly number[];
  readonly watches: readonly Watch[];
  /** Exception filter ids, of which the VMM-event and VM-exit ones end slices here. */
  readonly filters: readonly string[];
}

/**
 * A machine slice of the guest's run: where it ended, the budget it was given, the settings it
 * ran with, and how many changes had been made when it began.
 */
export interface Cut extends Place {
  budget: number;
  hooks: SliceHooks;
  changes: number;
}

/** What going back needs where the launch is the only checkpoint (under a VMM). */
export interface LaunchReplay {
  /** Loads the image again into the VMM and forgets its records; the launch snapshot is restored after it. */
  relaunch(): void;
  /** The settings in force now. */
  hooks(): SliceHooks;
  /** Puts these settings in force. */
  setHooks(hooks: SliceHooks): void;
}

function samePlace(a: Place, b: Place): boolean {
  return a.icount === b.icount && a.pcs.every((pc, k) => pc === b.pcs[k]);
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
  /** Under a VMM: the cuts of the run the machine has now, since the launch (a new array at each relaunch). */
  private cuts: Cut[] = [];
  /** Cuts being followed by re-execution to place `to`, and how many of their slices it has run. */
  private following: { cuts: readonly Cut[]; to: Place; reached: boolean } | undefined;
  private followed = 0;

  constructor(
    private readonly machine: Machine,
    /** Runs the machine for at most `budget` instructions (Machine.runSlice, or the VMM's). */
    private readonly run: (budget: number) => RunResult | undefined,
    /** Called after a snapshot is restored (the TLB was reloaded, data breakpoints must be set again). */
    private readonly restored: () => void,
    opts: HistoryOptions = {},
    /** Under a VMM: the launch is the only checkpoint. */
    private readonly vmm?: LaunchReplay,
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

  /** Makes the recorded changes due exactly here (after arriving at a place by re-execution); follows no more cuts. */
  settle(): void {
    this.following = undefined;
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
   * processors are at the instructions they were at when the change was made. Following cuts
   * (`follow`), it runs the slices they record instead, as they were run, up to the one in
   * which the place followed to lies.
   */
  runSlice(budget: number): RunResult | undefined {
    const c = this.nextCut(), f = this.following, vmm = this.vmm;
    if (c !== undefined && f !== undefined && vmm !== undefined) {
      while (this.changesMade < c.changes) this.makeNext();
      if (vmm.hooks() !== c.hooks) vmm.setHooks(c.hooks);
      this.followed++;
      const r = this.slice(c.budget);
      // A stop not made again (an exception breakpoint's): the rest of the way is new.
      if (!this.isAt(c)) this.following = undefined;
      else if (samePlace(c, f.to)) f.reached = true;
      return r;
    }
    for (let c = this.changes[this.changesMade]; c !== undefined; c = this.changes[this.changesMade]) {
      const ahead = this.approach(c);
      if (ahead === 'seek') {
        this.seeking++;
        return this.slice(1);
      }
      if (ahead > 0) {
        budget = Math.min(budget, ahead);
        break;
      }
      this.makeNext();
    }
    const t = performance.now();
    const r = this.slice(budget);
    this.runMs += performance.now() - t;
    return r;
  }

  /** The cut followed next, if its slice ends before the place followed to (or there). */
  private nextCut(): Cut | undefined {
    const f = this.following;
    const c = f?.cuts[this.followed];
    if (f === undefined || c === undefined) return undefined;
    if (c.icount < f.to.icount || samePlace(c, f.to)) return c;
    this.followed = f.cuts.length;   // the place lies in this slice: the rest of the way is new
    return undefined;
  }

  /** A slice of the debugger's own run forward (not a re-execution): it follows no cuts. */
  forward(budget: number): RunResult | undefined {
    this.following = undefined;
    return this.runSlice(budget);
  }

  /**
   * Instructions to run before change `c`'s place; 'seek' for one machine step toward it at its
   * count; 0 once there, or once MAX_SEEK steps per processor have not found it.
   */
  private approach(c: Change): number | 'seek' {
    const icount = this.machine.instructions();
    if (icount < c.icount) return c.icount - icount;
    return icount === c.icount && !this.isAt(c) && this.seeking < MAX_SEEK * this.machine.cpus.length ? 'seek' : 0;
  }

  /** One machine slice, noted as a cut under a VMM. */
  private slice(budget: number): RunResult | undefined {
    const changes = this.changesMade;
    const r = this.run(budget);
    if (this.vmm !== undefined) this.cuts.push({ ...this.place(), budget, hooks: this.vmm.hooks(), changes });
    return r;
  }

  /** Under a VMM, the cuts of the run the machine has now (kept as they are by a later relaunch); undefined with checkpoints. */
  get driving(): readonly Cut[] | undefined { return this.vmm === undefined ? undefined : this.cuts; }

  /**
   * Re-execution from here on (just after the launch is restored) runs the slices of `cuts`, as
   * far as they go before `to`, until `settle`.
   */
  follow(cuts: readonly Cut[], to: Place): void {
    this.following = { cuts, to, reached: false };
    this.followed = 0;
  }

  /** Whether a slice of the cuts followed ended at the place followed to, as one of the run the user saw did. */
  get reachedAlongCuts(): boolean { return this.following?.reached === true; }

  /** After each slice of the guest's run: moves the frontier and takes the periodic checkpoint (none under a VMM). */
  afterSlice(): void {
    const icount = this.machine.instructions();
    if (icount > this.frontier) this.frontier = icount;
    if (this.vmm !== undefined) return;
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
    if (this.vmm !== undefined) {
      this.vmm.relaunch();
      this.cuts = [];
      this.following = undefined;
    }
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
