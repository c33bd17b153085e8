/**
 * Reverse execution: step back one instruction or one source line, and run back to the most
 * recent breakpoint hit (or to the launch), by restoring a checkpoint of the execution history
 * and running forward again to the place wanted (executionHistory.ts). Each is a goal of the
 * runtime, done a slice at a time like a forward run, so `pause` still answers.
 *
 * Going back, a breakpoint stops where its condition holds; hit counts are not counted again
 * and logpoints print nothing. Exception breakpoints do not stop re-execution.
 */
import { StopReason, type Cpu } from '../cpu/cpu';
import type { DebugInfo } from './debugInfo';
import type { Checkpoint, ExecutionHistory, Place } from './executionHistory';
import type { DecodedInstruction } from './instructions';
import type { StopInfo } from './runtime';

/** What reverse execution needs of the runtime. */
export interface ReverseHost {
  readonly cpu: Cpu;
  readonly info: DebugInfo;
  readonly sliceInstructions: number;
  pc(): number;
  where(pc: number): string;
  decodeAtPc(): DecodedInstruction | undefined;
  /** Puts the current code breakpoints in the CPU. */
  applyStops(): void;
  /** The stop for the user breakpoints at `pc` whose conditions hold now, without counting a hit or printing. */
  breakpointStopBackwards(pc: number): StopInfo | undefined;
  /** The stop for the data accesses of the last instruction, judged in the same way; forgets them. */
  dataStopBackwards(): StopInfo | undefined;
  /** Forgets the data accesses seen while running to a place. */
  discardDataHits(): void;
}

type Outcome = { stop: StopInfo } | undefined;

/**
 * A place as re-execution reaches it: run to `icount` (which stops before anything is
 * delivered there), then `events` more single steps (deliveries, or a halted CPU waiting), or,
 * without `events`, single steps until EIP is `pc`.
 */
interface Target extends Place {
  events?: number;
}

/** One place of a trace, with what took the guest from it to the next. */
interface Traced extends Target {
  events: number;
  /** A call or a delivery (into a deeper frame), a return (out of one), or anything else. */
  next?: 'call' | 'return' | 'other';
}

const RETURNS = new Set(['ret', 'retf', 'iret']);
/** Single steps per slice: each costs a machine slice of one instruction. */
const STEPS_PER_SLICE = 4096;
/** Machine slices per runtime slice while running to a place (a halted CPU may need several). */
const RUNS_PER_SLICE = 64;
/** Instructions traced back at first when stepping back over a line, multiplied by 4 until the line is found. */
const FIRST_LINE_WINDOW = 4096;

/** The run went a different way the second time: a bug in the emulator or the history. */
function diverged(what: string): Error {
  return new Error(`re-execution diverged from the recorded run: ${what}`);
}

/** One single step of the re-executed guest (one delivery or one instruction), past any breakpoint here. */
function stepEvent(host: ReverseHost, history: ExecutionHistory): void {
  host.cpu.resumeIcount = host.cpu.icount;
  const r = history.runSlice(1);
  if (r !== undefined) throw diverged(r.message);
  host.discardDataHits();
}

interface Observer {
  /** The CPU stopped at a code breakpoint at `pc`. */
  breakpoint(pc: number): void;
  /** A machine slice ended: the data accesses of its last instruction are there to take. */
  slice(): void;
}

/**
 * Runs the re-executed guest toward instruction count `to` for about one slice; true once it
 * is there. Breakpoints and data accesses on the way go to `observer` (or are passed by).
 */
function runToward(host: ReverseHost, history: ExecutionHistory, to: number, observer?: Observer): boolean {
  const cpu = host.cpu;
  const end = cpu.icount + host.sliceInstructions;
  for (let runs = 0; cpu.icount < to; runs++) {
    if (cpu.icount >= end || runs >= RUNS_PER_SLICE) return false;
    const r = history.runSlice(Math.min(to, end) - cpu.icount);
    if (r !== undefined) throw diverged(`${r.message}, before instruction ${to}`);
    if (observer === undefined) host.discardDataHits(); else observer.slice();
    if (cpu.stopReason === StopReason.Breakpoint) {
      observer?.breakpoint(host.pc());
      cpu.resumeIcount = cpu.icount;
    }
  }
  return true;
}

/** Brings the guest to a target: restore, run, single steps. */
class Reach {
  private phase: 'rewind' | 'run' | 'seek' = 'rewind';

  constructor(private readonly target: Target) {}

  /** About one slice of the way; true once there. */
  advance(host: ReverseHost, history: ExecutionHistory): boolean {
    const t = this.target;
    if (this.phase === 'rewind') {
      history.rewind(t.icount);
      this.phase = 'run';
    }
    if (this.phase === 'run') {
      if (!runToward(host, history, t.icount)) return false;
      this.phase = 'seek';
    }
    const cpu = host.cpu;
    if (t.events !== undefined) {
      for (let k = 0; k < t.events; k++) stepEvent(host, history);
    } else {
      for (let k = 0; k < STEPS_PER_SLICE && host.pc() !== t.pc && cpu.icount === t.icount; k++) stepEvent(host, history);
    }
    if (cpu.icount !== t.icount || host.pc() !== t.pc) throw diverged(`${host.where(t.pc)} after ${t.icount} instructions was not reached again`);
    history.settle();
    return true;
  }
}

/** Re-executes from instruction count `first` to the place `to`, noting every place on the way. */
class Trace {
  readonly places: Traced[] = [];
  private phase: 'rewind' | 'run' | 'record' = 'rewind';

  constructor(readonly first: number, private readonly to: Place, private readonly withFlow: boolean) {}

  /** About one slice of it; true once `to` is reached. */
  advance(host: ReverseHost, history: ExecutionHistory): boolean {
    const cpu = host.cpu;
    if (this.phase === 'rewind') {
      history.rewind(this.first);
      this.phase = 'run';
    }
    if (this.phase === 'run') {
      if (!runToward(host, history, this.first)) return false;
      this.phase = 'record';
      this.places.push({ icount: cpu.icount, pc: host.pc(), events: 0 });
    }
    for (let n = 0; n < STEPS_PER_SLICE; n++) {
      const here = this.places[this.places.length - 1];
      if (here.icount === this.to.icount && here.pc === this.to.pc) return true;
      if (here.icount > this.to.icount) throw diverged(`${host.where(this.to.pc)} after ${this.to.icount} instructions was not reached again`);
      const d = this.withFlow ? host.decodeAtPc() : undefined;
      stepEvent(host, history);
      const icount = cpu.icount, pc = host.pc();
      const events = icount === here.icount ? here.events + 1 : 0;
      if (icount === here.icount && pc === here.pc) { here.events = events; continue; }   // waiting in HLT
      if (this.withFlow) {
        here.next = icount === here.icount || d?.returnsToNext ? 'call' : RETURNS.has(d?.mnemonic ?? '') ? 'return' : 'other';
      }
      this.places.push({ icount, pc, events });
    }
    return false;
  }
}

/** Runs `work` with the exception breakpoints off: re-execution delivers what the first run delivered. */
function withoutExceptionStops<T>(cpu: Cpu, work: () => T): T {
  const hook = cpu.onException;
  cpu.onException = undefined;
  try {
    return work();
  } finally {
    cpu.onException = hook;
  }
}

function startStop(host: ReverseHost, history: ExecutionHistory): StopInfo {
  return { reason: 'entry', description: `Back at the start of the recorded run, ${host.where(history.start.pc)}`, breakpointIds: [] };
}

/**
 * The place a line step back goes to, in the places traced up to the current one (the last):
 * the start of the line before it in the same function (or in its caller, from a function's
 * first line), passing over calls; the start of the current line from the middle of it.
 */
function previousLine(host: ReverseHost, places: readonly Traced[]): Traced | undefined {
  const map = host.info.sourceMap;
  const current = places[places.length - 1];
  const here = map?.lookup(current.pc);
  if (map === undefined || here === undefined) return undefined;
  const midLine = current.pc !== here.start;
  // Frame depth relative to the current place, going backwards: a return was made from a
  // deeper frame, a call from a shallower one. `floor` is the frame looked in.
  let depth = 0, floor = 0;
  for (let j = places.length - 2; j >= 0; j--) {
    const p = places[j];
    if (p.next === 'return') depth++;
    else if (p.next === 'call') { depth--; floor = Math.min(floor, depth); }
    if (depth !== floor) continue;
    const loc = map.lookup(p.pc);
    if (loc === undefined || loc.start !== p.pc || !loc.isStmt) continue;
    if (!midLine && depth === 0 && loc.file === here.file && loc.line === here.line) continue;
    return p;
  }
  return undefined;
}

/** Steps back one instruction (or delivery), or to the start of the previous source line. */
export class StepBack {
  /** By source line (else by instruction): only where the current place has a line. */
  private readonly byLine: boolean;
  private trace: Trace;
  private reach: Reach | undefined;
  private window = FIRST_LINE_WINDOW;
  private stop: StopInfo | undefined;

  constructor(host: ReverseHost, private readonly history: ExecutionHistory, byLine: boolean) {
    const from = { icount: host.cpu.icount, pc: host.pc() };
    this.byLine = byLine && host.info.sourceMap?.lookup(from.pc) !== undefined;
    this.trace = this.newTrace(from);
  }

  private newTrace(from: Place): Trace {
    const start = this.history.start.icount;
    const back = this.byLine ? this.window : 1;
    return new Trace(Math.max(start, from.icount - back), from, this.byLine);
  }

  advance(host: ReverseHost): Outcome {
    return withoutExceptionStops(host.cpu, () => this.work(host));
  }

  private work(host: ReverseHost): Outcome {
    if (this.reach === undefined) {
      const trace = this.trace;
      if (!trace.advance(host, this.history)) return undefined;
      const places = trace.places;
      const target = this.byLine ? previousLine(host, places) : places[places.length - 2];
      if (target === undefined && this.byLine && trace.first > this.history.start.icount) {
        this.window *= 4;
        this.trace = this.newTrace(places[places.length - 1]);
        return undefined;
      }
      if (target === undefined) this.stop = startStop(host, this.history);
      this.reach = new Reach(target ?? { ...this.history.start, events: 0 });
    }
    if (!this.reach.advance(host, this.history)) return undefined;
    return { stop: this.stop ?? { reason: 'step', description: `Stepped back to ${host.where(host.pc())}`, breakpointIds: [] } };
  }
}

/** Runs back to the most recent place a breakpoint (code or data) stops, or to the launch. */
export class ReverseContinue {
  private readonly from: Place;
  private readonly checkpoints: readonly Checkpoint[];
  /** The checkpoint whose stretch is being looked through, latest first. */
  private index: number;
  private scanning = false;
  private hits: { target: Target; stop: StopInfo }[] = [];
  private reach: Reach | undefined;
  private stop: StopInfo | undefined;

  constructor(host: ReverseHost, private readonly history: ExecutionHistory) {
    this.from = { icount: host.cpu.icount, pc: host.pc() };
    this.checkpoints = history.checkpointsBefore(this.from.icount);
    this.index = this.checkpoints.length - 1;
  }

  advance(host: ReverseHost): Outcome {
    return withoutExceptionStops(host.cpu, () => this.work(host));
  }

  private work(host: ReverseHost): Outcome {
    if (this.reach === undefined) {
      const latest = this.index === this.checkpoints.length - 1;
      const end = latest ? this.from.icount : this.checkpoints[this.index + 1].snapshot.icount;
      if (!this.scanning) {
        this.history.restore(this.checkpoints[this.index]);
        host.applyStops();
        this.hits = [];
        this.scanning = true;
      }
      const cpu = host.cpu;
      // Hits before the current place only (in the latest stretch); the data access that ends a
      // stretch (and retires its last instruction) belongs to it.
      const observer: Observer = {
        breakpoint: (pc) => {
          const stop = host.breakpointStopBackwards(pc);
          if (stop !== undefined) this.hits.push({ target: { icount: cpu.icount, pc }, stop });
        },
        slice: () => {
          const stop = host.dataStopBackwards();
          if (stop !== undefined && (cpu.icount < end || !latest)) this.hits.push({ target: { icount: cpu.icount, pc: host.pc(), events: 0 }, stop });
        },
      };
      if (!runToward(host, this.history, end, observer)) return undefined;
      const last = this.hits[this.hits.length - 1];
      if (last !== undefined) {
        this.stop = last.stop;
        this.reach = new Reach(last.target);
      } else if (this.index === 0) {
        this.stop = startStop(host, this.history);
        this.reach = new Reach({ ...this.history.start, events: 0 });
      } else {
        this.index--;
        this.scanning = false;
        return undefined;
      }
    }
    if (!this.reach.advance(host, this.history)) return undefined;
    return { stop: this.stop! };
  }
}
