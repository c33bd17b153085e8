/**
 * Reverse execution: step back one instruction or one source line of a processor, and run back
 * to the most recent breakpoint hit on any processor (or to the launch), by restoring a
 * checkpoint of the execution history and running forward again to the place wanted
 * (executionHistory.ts). Each is a goal of the runtime, done a slice at a time like a forward
 * run, so `pause` still answers.
 *
 * With several processors the machine's run is still one sequence of machine steps (the round
 * robin of machine.ts), and a place is a point of it: going back to where one processor was
 * brings the others back to where they were at that moment. Stepping processor K back goes to
 * where K arrived at its previous instruction (or line), where a forward step of K had stopped.
 *
 * Going back, a breakpoint stops where its condition holds; hit counts are not counted again
 * and logpoints print nothing. Exception breakpoints, VM-exit and VMM-event breakpoints do not
 * stop re-execution (the last two end its machine slices as they did the first time).
 *
 * Under a VMM the launch is the only checkpoint (executionHistory.ts): finding the place (the
 * trace of a step back, the scan for breakpoint hits) runs from the launch as suits the search,
 * then getting there runs from the launch again along the cuts of the run the user saw, so
 * that the VMM's records there are that run's.
 */
import { StopReason, type Cpu } from '../cpu/cpu';
import { QUANTUM, type Machine } from '../machine/machine';
import type { DebugInfo } from './debugInfo';
import { pcOf, type Checkpoint, type Cut, type ExecutionHistory, type Place } from './executionHistory';
import type { DecodedInstruction } from './instructions';
import type { StopInfo } from './runtime';

/** What reverse execution needs of the runtime. */
export interface ReverseHost {
  readonly machine: Machine;
  readonly info: DebugInfo;
  readonly sliceInstructions: number;
  /** Linear address of processor `k`'s next instruction. */
  pc(k: number): number;
  where(pc: number): string;
  decodeAtPc(k: number): DecodedInstruction | undefined;
  /** Puts the current code breakpoints in the processors. */
  applyStops(): void;
  /**
   * The stop for the user breakpoints at `pc`, reached by processor `k`, whose conditions hold
   * now, without counting a hit or printing.
   */
  breakpointStopBackwards(pc: number, k: number): StopInfo | undefined;
  /** The stop for the data accesses of the last instruction, judged in the same way; forgets them. */
  dataStopBackwards(): StopInfo | undefined;
  /** Forgets the data accesses and the VMM events that asked for a stop while running to a place. */
  discardHits(): void;
}

type Outcome = { stop: StopInfo } | undefined;

/**
 * A place as re-execution reaches it: run to `icount` (which stops right after the instruction
 * that reaches it), then `events` more machine steps (deliveries, halted processors letting
 * their turn pass), or, without `events`, machine steps until the processors are at `pcs`.
 */
interface Target extends Place {
  events?: number;
}

/** A place of one processor in a trace, with what took that processor from it to its next. */
interface Traced extends Target {
  events: number;
  /** A call or a delivery (into a deeper frame), a return (out of one), or anything else. */
  next?: 'call' | 'return' | 'other';
}

const RETURNS = new Set(['ret', 'retf', 'iret']);
/** Single steps per slice: each costs a machine slice of one instruction. */
const STEPS_PER_SLICE = 4096;
/** Machine slices per runtime slice while running to a place (a halted machine may need several). */
const RUNS_PER_SLICE = 64;
/**
 * Instructions of all processors traced back at first when stepping back over a line, per
 * processor, multiplied by 4 until the line is found.
 */
const FIRST_LINE_WINDOW = 4096;

/** The run went a different way the second time: a bug in the emulator or the history. */
function diverged(what: string): Error {
  return new Error(`re-execution diverged from the recorded run: ${what}`);
}

/** "loop+0x4 (k.asm:9) after 120 instructions", with several processors each one's next instruction. */
function describePlace(host: ReverseHost, p: Place): string {
  const at = p.pcs.length === 1 ? host.where(p.pcs[0]) : p.pcs.map((pc, k) => `vCPU ${k} at ${host.where(pc)}`).join(', ');
  return `${at} after ${p.icount} instructions`;
}

/** One machine step of the re-executed guest (one delivery or one instruction), past any breakpoint here. */
function stepEvent(host: ReverseHost, history: ExecutionHistory): void {
  for (const cpu of host.machine.cpus) cpu.resumeIcount = cpu.icount;
  const r = history.runSlice(1);
  if (r !== undefined) throw diverged(r.message);
  host.discardHits();
}

interface Observer {
  /** Processor `k` stopped at a code breakpoint. */
  breakpoint(k: number): void;
  /** A machine slice ended: the data accesses of its last instruction are there to take. */
  slice(): void;
}

/**
 * Runs the re-executed guest toward instruction count `to` (of all processors together) for
 * about one slice; true once it is there. Breakpoints and data accesses on the way go to
 * `observer` (or are passed by).
 */
function runToward(host: ReverseHost, history: ExecutionHistory, to: number, observer?: Observer): boolean {
  const machine = host.machine;
  let icount = machine.instructions();
  const end = icount + host.sliceInstructions;
  for (let runs = 0; icount < to; runs++) {
    if (icount >= end || runs >= RUNS_PER_SLICE) return false;
    const r = history.runSlice(Math.min(to, end) - icount);
    if (r !== undefined) throw diverged(`${r.message}, before instruction ${to}`);
    observer?.slice();
    host.discardHits();
    // A processor that stops ends the machine's slice and stays the one running.
    const cpu = machine.running;
    if (cpu.stopReason === StopReason.Breakpoint) {
      observer?.breakpoint(machine.cpus.indexOf(cpu));
      cpu.resumeIcount = cpu.icount;
    }
    icount = machine.instructions();
  }
  return true;
}

/**
 * Brings the guest to a target: restore, run, single steps; under a VMM along `driving`, the
 * cuts of the run the user saw (or, should that run have gone past the target, the way
 * re-execution takes by itself).
 */
class Reach {
  private phase: 'rewind' | 'run' | 'seek' = 'rewind';

  constructor(private readonly target: Target, private driving: readonly Cut[] | undefined) {}

  /** About one slice of the way; true once there. */
  advance(host: ReverseHost, history: ExecutionHistory): boolean {
    const t = this.target;
    if (this.phase === 'rewind') {
      history.rewind(t.icount);
      host.discardHits();
      if (this.driving !== undefined) history.follow(this.driving, t);
      this.phase = 'run';
    }
    if (this.phase === 'run') {
      if (!runToward(host, history, t.icount)) return false;
      this.phase = 'seek';
    }
    const machine = host.machine;
    if (this.driving !== undefined && machine.instructions() > t.icount) {
      this.driving = undefined;
      this.phase = 'rewind';
      return false;
    }
    // A slice of the cuts followed may have ended there already, as one of the run the user saw did.
    if (!history.reachedAlongCuts) {
      if (t.events !== undefined) {
        for (let k = 0; k < t.events; k++) stepEvent(host, history);
      } else {
        for (let k = 0; k < STEPS_PER_SLICE && !history.isAt(t) && machine.instructions() === t.icount; k++) stepEvent(host, history);
      }
    }
    if (!history.isAt(t)) throw diverged(`${describePlace(host, t)} was not reached again`);
    // Arrived by steps that passed breakpoints: a processor at one here stops there when the guest goes on.
    for (const cpu of machine.cpus) cpu.resumeIcount = -1;
    history.settle();
    return true;
  }
}

/**
 * Re-executes from instruction count `first` to the place `to` one machine step at a time,
 * noting the places of processor `k`: where the trace begins, then each place a step that moved
 * `k` (ran its instruction, delivered to it) left the machine in, so `k` arrived there.
 */
class Trace {
  readonly places: Traced[] = [];
  /**
   * Whether the trace begins at the start of the recorded run. Elsewhere its first place is no
   * arrival of `k`: `k` may have been there long before, while the others ran.
   */
  readonly fromStart: boolean;
  private phase: 'rewind' | 'run' | 'record' = 'rewind';
  /** Machine steps since the instruction count last changed. */
  private events = 0;
  /** The instruction `k` runs next (with `withFlow`). */
  private decoded: DecodedInstruction | undefined;

  constructor(readonly first: number, history: ExecutionHistory, private readonly to: Place, private readonly k: number,
    private readonly withFlow: boolean) {
    this.fromStart = first === history.start.icount;
  }

  /** About one slice of it; true once `to` is reached. */
  advance(host: ReverseHost, history: ExecutionHistory): boolean {
    const machine = host.machine, cpu = machine.cpus[this.k];
    if (this.phase === 'rewind') {
      history.rewind(this.first);
      this.phase = 'run';
    }
    if (this.phase === 'run') {
      if (!runToward(host, history, this.first)) return false;
      this.phase = 'record';
      this.note(host, history);
    }
    for (let n = 0; n < STEPS_PER_SLICE; n++) {
      if (history.isAt(this.to)) return true;
      const icount = machine.instructions();
      if (icount > this.to.icount) throw diverged(`${describePlace(host, this.to)} was not reached again`);
      const own = cpu.icount, pc = pcOf(cpu);
      stepEvent(host, history);
      this.events = machine.instructions() === icount ? this.events + 1 : 0;
      if (cpu.icount === own && pcOf(cpu) === pc) continue;   // another processor's step, or waiting in HLT
      if (this.withFlow) {
        const d = this.decoded;
        this.places[this.places.length - 1].next =
          cpu.icount === own || d?.returnsToNext ? 'call' : RETURNS.has(d?.mnemonic ?? '') ? 'return' : 'other';
      }
      this.note(host, history);
    }
    return false;
  }

  private note(host: ReverseHost, history: ExecutionHistory): void {
    this.places.push({ ...history.place(), events: this.events });
    if (this.withFlow) this.decoded = host.decodeAtPc(this.k);
  }
}

/** Runs `work` with the exception breakpoints off: re-execution delivers what the first run delivered. */
function withoutExceptionStops<T>(cpus: readonly Cpu[], work: () => T): T {
  const hooks = cpus.map((cpu) => cpu.onException);
  for (const cpu of cpus) cpu.onException = undefined;
  try {
    return work();
  } finally {
    cpus.forEach((cpu, k) => { cpu.onException = hooks[k]; });
  }
}

function startStop(host: ReverseHost, history: ExecutionHistory, k: number): StopInfo {
  return { reason: 'entry', description: `Back at the start of the recorded run, ${host.where(history.start.pcs[k])}`, breakpointIds: [], thread: k };
}

/** Where the previous instruction of the traced processor began: the place before the one its last step left. */
function previousInstruction(trace: Trace): Traced | undefined {
  const j = trace.places.length - 2;
  return j > 0 || (j === 0 && trace.fromStart) ? trace.places[j] : undefined;
}

/**
 * The place a line step back of processor `k` goes to, in its places traced up to the current
 * one (the last): the start of the line before it in the same function (or in its caller, from
 * a function's first line), passing over calls; the start of the current line from the middle
 * of it.
 */
function previousLine(host: ReverseHost, trace: Trace, k: number): Traced | undefined {
  const map = host.info.sourceMap;
  const places = trace.places;
  const current = places[places.length - 1].pcs[k];
  const here = map?.lookup(current);
  if (map === undefined || here === undefined) return undefined;
  const midLine = current !== here.start;
  // Frame depth relative to the current place, going backwards: a return was made from a
  // deeper frame, a call from a shallower one. `floor` is the frame looked in.
  let depth = 0, floor = 0;
  for (let j = places.length - 2; j >= 0; j--) {
    const p = places[j], pc = p.pcs[k];
    if (p.next === 'return') depth++;
    else if (p.next === 'call') { depth--; floor = Math.min(floor, depth); }
    if (depth !== floor) continue;
    const loc = map.lookup(pc);
    if (loc === undefined || loc.start !== pc || !loc.isStmt) continue;
    if (!midLine && depth === 0 && loc.file === here.file && loc.line === here.line) continue;
    return j > 0 || trace.fromStart ? p : undefined;
  }
  return undefined;
}

/** Steps processor `k` back one instruction (or delivery), or to the start of the previous source line. */
export class StepBack {
  /** By source line (else by instruction): only where the current place has a line. */
  private readonly byLine: boolean;
  private readonly from: Place;
  private trace: Trace;
  private reach: Reach | undefined;
  /** Instructions of all processors traced back. */
  private window: number;
  private stop: StopInfo | undefined;
  private readonly driving: readonly Cut[] | undefined;

  constructor(host: ReverseHost, private readonly history: ExecutionHistory, byLine: boolean, private readonly k: number) {
    this.from = history.place();
    this.driving = history.driving;
    this.byLine = byLine && host.info.sourceMap?.lookup(host.pc(k)) !== undefined;
    // A running processor's last two instructions are at most one round of the others' turns apart.
    const cpus = host.machine.cpus.length;
    this.window = this.byLine ? FIRST_LINE_WINDOW * cpus : 2 + QUANTUM * (cpus - 1);
    this.trace = this.newTrace();
  }

  private newTrace(): Trace {
    const first = Math.max(this.history.start.icount, this.from.icount - this.window);
    return new Trace(first, this.history, this.from, this.k, this.byLine);
  }

  advance(host: ReverseHost): Outcome {
    return withoutExceptionStops(host.machine.cpus, () => this.work(host));
  }

  private work(host: ReverseHost): Outcome {
    if (this.reach === undefined) {
      const trace = this.trace;
      if (!trace.advance(host, this.history)) return undefined;
      const target = this.byLine ? previousLine(host, trace, this.k) : previousInstruction(trace);
      if (target === undefined && !trace.fromStart) {
        this.window *= 4;
        this.trace = this.newTrace();
        return undefined;
      }
      if (target === undefined) this.stop = startStop(host, this.history, this.k);
      this.reach = new Reach(target ?? { ...this.history.start, events: 0 }, this.driving);
    }
    if (!this.reach.advance(host, this.history)) return undefined;
    return { stop: this.stop ?? { reason: 'step', description: `Stepped back to ${host.where(host.pc(this.k))}`, breakpointIds: [], thread: this.k } };
  }
}

/** Runs back to the most recent place a breakpoint (code or data) stops on any processor, or to the launch. */
export class ReverseContinue {
  private readonly from: Place;
  private readonly checkpoints: readonly Checkpoint[];
  /** The checkpoint whose stretch is being looked through, latest first. */
  private index: number;
  private scanning = false;
  private hits: { target: Target; stop: StopInfo }[] = [];
  private reach: Reach | undefined;
  private stop: StopInfo | undefined;
  private readonly driving: readonly Cut[] | undefined;

  constructor(private readonly history: ExecutionHistory) {
    this.from = history.place();
    this.driving = history.driving;
    this.checkpoints = history.checkpointsBefore(this.from.icount);
    this.index = this.checkpoints.length - 1;
  }

  advance(host: ReverseHost): Outcome {
    return withoutExceptionStops(host.machine.cpus, () => this.work(host));
  }

  private work(host: ReverseHost): Outcome {
    const history = this.history;
    if (this.reach === undefined) {
      const latest = this.index === this.checkpoints.length - 1;
      const end = latest ? this.from.icount : this.checkpoints[this.index + 1].snapshot.icount;
      if (!this.scanning) {
        history.restore(this.checkpoints[this.index]);
        host.applyStops();
        this.hits = [];
        this.scanning = true;
      }
      // Hits before the current place only (in the latest stretch); the data access that ends a
      // stretch (and retires its last instruction) belongs to it.
      const observer: Observer = {
        breakpoint: (k) => {
          const stop = host.breakpointStopBackwards(host.pc(k), k);
          if (stop !== undefined) this.hits.push({ target: history.place(), stop });
        },
        slice: () => {
          const stop = host.dataStopBackwards();
          if (stop !== undefined && (host.machine.instructions() < end || !latest)) this.hits.push({ target: { ...history.place(), events: 0 }, stop });
        },
      };
      if (!runToward(host, history, end, observer)) return undefined;
      const last = this.hits[this.hits.length - 1];
      if (last !== undefined) {
        this.stop = last.stop;
        this.reach = new Reach(last.target, this.driving);
      } else if (this.index === 0) {
        this.stop = startStop(host, history, 0);
        this.reach = new Reach({ ...history.start, events: 0 }, this.driving);
      } else {
        this.index--;
        this.scanning = false;
        return undefined;
      }
    }
    if (!this.reach.advance(host, history)) return undefined;
    return { stop: this.stop! };
  }
}
