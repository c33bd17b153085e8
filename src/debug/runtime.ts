/**
 * The debugger over one Machine, independent of the Debug Adapter Protocol: loads an image with
 * its symbols and line tables (or assembles a .asm program), runs the guest asynchronously in slices (yielding to the event
 * loop between them, so `pause` is served within one slice however busy the guest is), and
 * implements breakpoints, stepping, exception stops and the views of the guest's state.
 *
 * Execution is driven by a goal (continue, a step, step out) that advances a slice at a time
 * and says when to stop. Code breakpoints are the CPU's own (Cpu.code.setBreakpoints): user
 * breakpoints plus the temporary ones a step sets at a return address.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { StopReason, type Cpu } from '../cpu/cpu';
import { EXCEPTION_MNEMONICS, PF } from '../cpu/exceptions';
import { getEflags } from '../cpu/flags';
import { CS, ESP, EBP, REG32_NAMES, SEG_NAMES, SS } from '../cpu/registers';
import { QUANTUM, type Machine, type RunResult } from '../machine/machine';
import { LoadError } from '../loader/loadError';
import { restoreSnapshot, takeSnapshot, type MachineSnapshot } from '../machine/snapshot';
import type { MemVirtName } from '../vmm/hw/memoryVirtualization';
import { createVmm, VmmConfigError, type ModeName, type Vmm } from '../vmm/vmm';
import { AssemblyFailed, assembleProgram } from './asmProgram';
import { BreakpointConditions, type BreakpointOptions } from './breakpointConditions';
import {
  ACCESS_TYPES, DataBreakpoints, checkLength, describeTarget, formatBytes, parseDataId, resolveDataTarget,
  type AccessType, type DataHit, type DataTarget, type Watch,
} from './dataBreakpoints';
import { readDebugInfo, type DebugInfo } from './debugInfo';
import { deviceScope } from './deviceView';
import { disassemble, type DisassembledLine } from './disassembly';
import { DeliveryLog, eventFrameNodes, eventName, walkWithEvents, type WalkContext } from './eventFrames';
import { EXCEPTION_FILTERS, TRIPLE_FAULT, exceptionName, unknownFilters } from './exceptionFilters';
import { ExecutionHistory, type HistoryOptions, type LaunchReplay, type SliceHooks } from './executionHistory';
import { frameNodes, frameSpans } from './frameView';
import { evaluate as evaluateExpression, Expression, type ExpressionContext } from './expression';
import { DebugRequestError, GuestMemory, hex8 } from './guestMemory';
import { guestControl, guestTranslation } from './guestPaging';
import { pageWalk } from './pageWalk';
import { decodeInstruction, MAX_INSTRUCTION_LENGTH, type DecodedInstruction } from './instructions';
import {
  assignRegister, controlRegisters, descriptorTableRegisters, findAssignable, generalRegisters, isAssignable, segmentRegisters,
  type RegisterNode,
} from './registers';
import { ReverseContinue, StepBack } from './reverse';
import type { LineRange } from './sourceMap';
import { innermostExit } from './stackTrace';
import { attachDiskFiles, DiskFileError, type AttachedDisks, type DriveFile } from '../machine/diskFile';
import { vmcsScope } from './vmcsView';
import { VmmBreakpoints } from './vmmBreakpoints';
import { vmmScope } from './vmmView';

/** The image cannot be debugged: the message names the file and the problem. */
export class LaunchError extends Error {
  override readonly name = 'LaunchError';
}

export interface RuntimeOptions {
  /** Path of the image: a Multiboot ELF or flat binary, or a .asm source assembled to a flat binary. */
  program: string;
  /** Raw disk images by QEMU's -drive index (copy-on-write unless `diskWrite`). */
  disks?: readonly DriveFile[];
  diskWrite?: boolean;
  /** How the guest is virtualized (default native), with the VMM's options. */
  mode?: ModeName;
  costModel?: string;
  memVirt?: MemVirtName;
  memoryMiB?: number;
  /** Processors: one thread each. */
  cpus?: number;
  /** The Multiboot command line after the image name. */
  cmdline?: string;
  /** Bytes the guest receives on COM1 from the start. */
  serialInput?: Uint8Array;
  /** Guest instructions per slice between two yields to the event loop. */
  sliceInstructions?: number;
  /** Checkpoints of the run for reverse execution (native mode; under a VMM the launch is the only one). */
  history?: HistoryOptions;
}

export type StopKind = 'entry' | 'breakpoint' | 'function breakpoint' | 'instruction breakpoint' | 'data breakpoint' |
  'step' | 'pause' | 'exception' | 'halt';

export interface StopInfo {
  reason: StopKind;
  /** One line saying why and where. */
  description: string;
  breakpointIds: number[];
  exception?: { id: string; name: string; errorCode?: number; details: string };
  /** The processor (by index) whose breakpoint, exception or step it was; processor 0 when absent. */
  thread?: number;
}

export interface RuntimeListener {
  stopped(stop: StopInfo): void;
  /** The guest is gone (exit, reset, or a resume after a stop that cannot be resumed). */
  ended(result: RunResult): void;
  /** Text the guest sent on COM1. */
  output(text: string): void;
  /** A bug in the emulator or debugger while running: the session cannot go on. */
  failed(error: Error): void;
  /** A line a logpoint printed. */
  log?(line: string): void;
}

export interface BreakpointStatus {
  id: number;
  verified: boolean;
  /** Where it was placed (moved to the next line with code if needed). */
  line?: number;
  address?: number;
  message?: string;
}

export interface StackFrameInfo {
  id: number;
  name: string;
  address: number;
  source?: { file: string; line: number };
  /** An interrupt or exception frame: a label between the handler's frames and the interrupted code's. */
  event?: boolean;
}

type Outcome = { stop: StopInfo } | { end: RunResult };
/** `at`: processor `cpu` stopped at a code breakpoint at `pc`. */
type Free = { kind: 'slice' } | { kind: 'at'; cpu: number; pc: number } | { kind: 'outcome'; outcome: Outcome };

/** A piece of work that runs the guest until it says to stop; `advance` does about one slice of it. */
interface Goal { advance(rt: DebugRuntime): Outcome | undefined }

type BreakpointKind = 'source' | 'function' | 'instruction';
const KIND_REASON: Record<BreakpointKind, StopKind> = {
  source: 'breakpoint', function: 'function breakpoint', instruction: 'instruction breakpoint',
};

const DEFAULT_SLICE = 1 << 16;
const REG16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
const REG8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'];

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class DebugRuntime {
  /** The VMM running the guest; in native mode one without a monitor, so the machine runs bare. */
  readonly vmm: Vmm;
  /** Stops on VM exits, VMM events and virtualization holes. */
  readonly vmmBreakpoints: VmmBreakpoints;
  readonly machine: Machine;
  /** The processors, by APIC ID: thread k + 1 of the adapter is processor k. */
  readonly cpus: readonly Cpu[];
  /**
   * The processor the views show and change and breakpoint conditions read: the one that
   * stopped, or the one a request names (select).
   */
  private selected = 0;
  /** Each processor's view of guest memory (made again when the VMM's monitors are new). */
  private readonly memories: GuestMemory[];
  /** Each processor's interrupt and exception deliveries, for the stack trace (eventFrames.ts). */
  private readonly deliveries: readonly DeliveryLog[];
  readonly info: DebugInfo;
  readonly program: string;
  /** Conditions, hit counts and log messages of the breakpoints. */
  readonly conditions: BreakpointConditions;
  readonly watchpoints: DataBreakpoints;
  /** The recorded run that reverse execution goes back through. */
  readonly history: ExecutionHistory;
  state: 'stopped' | 'running' | 'ended' = 'stopped';
  private readonly disks: AttachedDisks;
  private disksClosed = false;
  lastStop: StopInfo | undefined;
  /** Slices run so far (pause is served before the next one). */
  slices = 0;
  readonly sliceInstructions: number;

  private readonly sourceBreakpoints = new Map<string, { id: number; address?: number }[]>();
  private functionBreakpoints: { id: number; address?: number }[] = [];
  private instructionBreakpoints: { id: number; address: number }[] = [];
  /** User breakpoints by linear address. */
  private userAt = new Map<number, { ids: number[]; kinds: Set<BreakpointKind> }>();
  /** Temporary stops of the running goal (return addresses). */
  readonly tempStops = new Set<number>();
  /** The user's data breakpoints and exception filters, put in force before the guest runs. */
  private userWatches: readonly Watch[] = [];
  private userFilters: readonly string[] = [];
  /** The settings that end machine slices in force now: code, data and VMM-event breakpoints. */
  private hooks: SliceHooks = { stops: [], watches: this.userWatches, filters: this.userFilters };

  private exceptionVectors = new Set<number>();
  private stopOnTripleFault = true;
  /** Hook calls are counted per instruction of each processor, so a resume can let the stopped-on exception through. */
  private readonly hookCounts: { icount: number; index: number }[];
  private caught: { cpu: number; vector: number; errorCode: number | undefined; icount: number; index: number } | undefined;
  private skip: { cpu: number; icount: number; index: number } | undefined;

  private pauseRequested = false;
  /** A stop the guest cannot be resumed from (halt, triple fault): resuming ends the session. */
  private endAfterResume: RunResult | undefined;
  private serialBytes: number[] = [];
  private readonly serialDecoder = new TextDecoder('utf-8');

  constructor(opts: RuntimeOptions, private readonly listener: RuntimeListener) {
    this.program = opts.program;
    this.sliceInstructions = Math.max(1, opts.sliceInstructions ?? DEFAULT_SLICE);
    let image: Uint8Array;
    try {
      image = new Uint8Array(readFileSync(opts.program));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
      throw new LaunchError(`${opts.program}: cannot read the program: ${why}`);
    }
    let info: DebugInfo | undefined;
    if (/\.asm$/i.test(opts.program)) {
      try {
        ({ image, info } = assembleProgram(opts.program));
      } catch (e) {
        if (e instanceof AssemblyFailed) throw new LaunchError(e.message);
        throw e;
      }
    }
    let vmm: Vmm;
    let disks: AttachedDisks;
    let unloaded: MachineSnapshot | undefined;
    const launch = { cmdline: opts.cmdline, fileName: opts.program };
    try {
      // Native mode counts no cycles, so it runs as fast as the bare machine.
      vmm = createVmm(opts.mode ?? 'native', { memoryMiB: opts.memoryMiB, cpus: opts.cpus, costModel: opts.costModel, memVirt: opts.memVirt, accounting: false });
      // A monitor takes over the processor as the loader leaves it, which Machine.load alone does not reset (descriptor tables, TR).
      if (vmm.mode !== 'native') unloaded = takeSnapshot(vmm.machine);
      vmm.load(image, launch);
      disks = attachDiskFiles(vmm.machine, opts.disks ?? [], opts.diskWrite ?? false);
    } catch (e) {
      if (e instanceof LoadError) throw new LaunchError(e.message);
      if (e instanceof DiskFileError) throw new LaunchError(`launch: ${e.message}`);
      if (e instanceof VmmConfigError) throw new LaunchError(`launch: ${e.message}`);
      throw e;
    }
    this.vmm = vmm;
    this.disks = disks;
    this.machine = vmm.machine;
    this.cpus = this.machine.cpus;
    this.info = info ?? readDebugInfo(image, opts.program);
    this.memories = this.guestMemories();
    this.deliveries = this.cpus.map((cpu) => new DeliveryLog(cpu));
    this.hookCounts = this.cpus.map(() => ({ icount: -1, index: 0 }));
    this.vmmBreakpoints = new VmmBreakpoints(vmm, this.info.sourceMap);
    // A stretch run again after going back sends the output that was shown the first time.
    this.machine.onSerialOutput = (byte) => { if (this.history?.replaying !== true) this.serialBytes.push(byte); };
    if (opts.serialInput !== undefined && opts.serialInput.length > 0) this.machine.serialInput(opts.serialInput);
    this.cpus.forEach((cpu, k) => { cpu.onException = (vector, errorCode) => this.onException(k, vector, errorCode); });
    this.setExceptionFilters(EXCEPTION_FILTERS.filter((f) => f.default).map((f) => f.id));
    this.conditions = new BreakpointConditions(this.expressionContext(), (line) => this.log(line));
    this.watchpoints = new DataBreakpoints(this.cpus, this.memories);
    // Checkpoints hold the machine, not a VMM's own state: under a VMM the launch is the only one,
    // and going back runs again from there (executionHistory.ts).
    this.history = new ExecutionHistory(this.machine, (budget) => vmm.runSlice(budget), () => this.restored(), opts.history,
      unloaded === undefined ? undefined : this.launchReplay(image, launch, unloaded));
  }

  /** Going back to the launch under a VMM: the machine as it was before the load, the same load, no records. */
  private launchReplay(image: Uint8Array, launch: { cmdline?: string; fileName: string }, unloaded: MachineSnapshot): LaunchReplay {
    return {
      relaunch: () => {
        restoreSnapshot(this.machine, unloaded);
        this.vmm.load(image, launch);
        this.vmm.clearRecords();
      },
      hooks: () => this.hooks,
      setHooks: (hooks) => this.setHooks(hooks),
    };
  }

  private guestMemories(): GuestMemory[] {
    return this.cpus.map((cpu, k) => new GuestMemory(cpu, guestTranslation(this.vmm, k)));
  }

  /** After a snapshot was restored: the TLB was reloaded, and under a VMM the monitors are new. */
  private restored(): void {
    if (this.vmm.mode !== 'native') this.guestMemories().forEach((m, k) => { this.memories[k] = m; });
    this.watchpoints.refresh();
  }

  /** The selected processor (see `select`). */
  get cpu(): Cpu { return this.cpus[this.selected]; }
  /** Guest memory through the selected processor's paging. */
  get memory(): GuestMemory { return this.memories[this.selected]; }

  /** Makes processor `k` the one the views and the next step are about. */
  select(k: number): void {
    if (!Number.isInteger(k) || k < 0 || k >= this.cpus.length) {
      throw new DebugRequestError(`no thread ${k + 1}: the guest has ${this.cpus.length} processor${this.cpus.length > 1 ? 's' : ''} (threads 1 to ${this.cpus.length})`);
    }
    this.selected = k;
  }

  /** "vCPU 1 (APIC ID 1): waiting for SIPI", ": halted" while in HLT (or parked as the firmware leaves it). */
  threadName(k: number): string {
    const name = `vCPU ${k} (APIC ID ${this.machine.lapics[k].registers().id})`;
    if (this.machine.processors.waitingForSipi[k]) return `${name}: waiting for SIPI`;
    return this.cpus[k].halted ? `${name}: halted` : name;
  }

  /** The processor that ran last (the one whose stop ended a machine slice). */
  private runningIndex(): number { return this.cpus.indexOf(this.machine.running); }

  // ---- breakpoints ----------------------------------------------------------------------

  /**
   * Replaces the breakpoints of one source file. Lines without code move to the next line that
   * has some. Ids are the caller's, so they survive a restart and match the client's.
   */
  setSourceBreakpoints(path: string, breakpoints: readonly ({ id: number; line: number } & BreakpointOptions)[]): BreakpointStatus[] {
    const map = this.info.sourceMap;
    const file = map?.findFile(path);
    const list: { id: number; address?: number }[] = [];
    const statuses = breakpoints.map(({ id, line }): BreakpointStatus => {
      const at = file === undefined ? undefined : map?.resolveLine(file, line);
      list.push({ id, address: at?.address });
      if (at !== undefined) return { id, verified: true, line: at.line, address: at.address };
      const message = map === undefined
        ? `${this.program} has no line table (no DWARF .debug_line): use function or instruction breakpoints`
        : file === undefined
          ? `${basename(path)} has no code in ${this.program}`
          : `no code at or after line ${line} of ${basename(path)}`;
      return { id, verified: false, line, message };
    });
    this.sourceBreakpoints.set(path, list);
    this.rebuildBreakpoints();
    return this.conditions.define(`source ${path}`, breakpoints, statuses);
  }

  setFunctionBreakpoints(breakpoints: readonly ({ id: number; name: string } & BreakpointOptions)[]): BreakpointStatus[] {
    this.functionBreakpoints = [];
    const statuses = breakpoints.map(({ id, name }): BreakpointStatus => {
      const sym = this.info.symbols.lookup(name);
      this.functionBreakpoints.push({ id, address: sym?.address });
      if (sym !== undefined) return { id, verified: true, address: sym.address, ...this.lineOf(sym.address) };
      return { id, verified: false, message: `no symbol '${name}' in ${this.program}` };
    });
    this.rebuildBreakpoints();
    return this.conditions.define('function', breakpoints, statuses);
  }

  setInstructionBreakpoints(breakpoints: readonly ({ id: number; address: number } & BreakpointOptions)[]): BreakpointStatus[] {
    this.instructionBreakpoints = breakpoints.map(({ id, address }) => ({ id, address: address >>> 0 }));
    this.rebuildBreakpoints();
    return this.conditions.define('instruction', breakpoints,
      this.instructionBreakpoints.map((b): BreakpointStatus => ({ id: b.id, verified: true, address: b.address })));
  }

  /** Filter ids of EXCEPTION_FILTERS; unknown ids are an error naming them. */
  setExceptionFilters(ids: readonly string[]): void {
    const unknown = unknownFilters(ids);
    if (unknown.length > 0) throw new DebugRequestError(`unknown exception filter${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`);
    this.exceptionVectors = new Set(EXCEPTION_FILTERS.filter((f) => f.vector !== undefined && ids.includes(f.id)).map((f) => f.vector!));
    this.stopOnTripleFault = ids.includes(TRIPLE_FAULT);
    this.userFilters = [...ids];
    this.vmmBreakpoints.setFilters(this.userFilters);
    this.hooks = { ...this.hooks, filters: this.userFilters };
  }

  private lineOf(address: number): { line?: number } {
    const loc = this.info.sourceMap?.lookup(address);
    return loc === undefined ? {} : { line: loc.line };
  }

  private rebuildBreakpoints(): void {
    const at = new Map<number, { ids: number[]; kinds: Set<BreakpointKind> }>();
    const add = (address: number | undefined, id: number, kind: BreakpointKind): void => {
      if (address === undefined) return;
      let e = at.get(address);
      if (e === undefined) { e = { ids: [], kinds: new Set() }; at.set(address, e); }
      e.ids.push(id);
      e.kinds.add(kind);
    };
    for (const list of this.sourceBreakpoints.values()) for (const b of list) add(b.address, b.id, 'source');
    for (const b of this.functionBreakpoints) add(b.address, b.id, 'function');
    for (const b of this.instructionBreakpoints) add(b.address, b.id, 'instruction');
    this.userAt = at;
  }

  /**
   * Gives every processor the current set of code breakpoints (each re-cuts its decoded blocks
   * when the set changes), and puts the user's data and VMM-event breakpoints back in force
   * if going back left others there.
   */
  applyStops(): void {
    const stops = [...this.userAt.keys(), ...this.tempStops].sort((a, b) => a - b);
    const h = this.hooks, same = stops.join(',') === h.stops.join(',');
    if (same && h.watches === this.userWatches && h.filters === this.userFilters) return;
    this.setHooks({ stops: same ? h.stops : stops, watches: this.userWatches, filters: this.userFilters });
  }

  /** Puts these settings in force (the user's, or those a stretch of the run had when it is run again). */
  private setHooks(hooks: SliceHooks): void {
    const was = this.hooks;
    this.hooks = hooks;
    if (hooks.stops.join(',') !== was.stops.join(',')) for (const cpu of this.cpus) cpu.code.setBreakpoints(hooks.stops);
    if (hooks.watches !== was.watches) this.watchpoints.set(hooks.watches);
    if (hooks.filters !== was.filters) this.vmmBreakpoints.setFilters(hooks.filters);
  }

  // ---- execution control ----------------------------------------------------------------

  /** Linear address of processor `k`'s next instruction (the selected processor's by default). */
  pc(k = this.selected): number { return (this.cpus[k].segBase[CS] + this.cpus[k].eip) >>> 0; }
  private sp(): number { return this.cpu.regs[ESP] >>> 0; }

  entryStop(): StopInfo {
    const stop: StopInfo = { reason: 'entry', description: `Paused at the entry point ${this.where(this.pc(0))}`, breakpointIds: [], thread: 0 };
    this.lastStop = stop;
    this.selected = 0;
    return stop;
  }

  continue(): void { this.start(new ContinueGoal()); }

  /*
   * Steps are the selected processor's. The others run their turns meanwhile as the machine
   * schedules them (the round robin of machine.ts), so a step does the same as running would:
   * a breakpoint or exception another processor meets on the way ends the step there.
   */

  /** Steps one instruction; over a CALL or INT (runs until it returns at the same stack depth) when `over`. */
  stepInstruction(over: boolean): void {
    this.requireStopped();
    const d = this.decodeAtPc();
    const k = this.selected;
    this.start(over && d?.returnsToNext ? new RunTo(this.pc() + d.length, this.sp(), k) : new StepInstruction(k));
  }

  /** Steps to the start of another source line; over calls and software interrupts when `over`. */
  stepLine(over: boolean): void {
    this.requireStopped();
    const here = this.info.sourceMap?.lookup(this.pc());
    if (here === undefined) { this.stepInstruction(over); return; }
    this.start(new LineStep(this, here, over, this.selected));
  }

  /** Runs until the current function returns to its caller (the return address of the innermost frame). */
  stepOut(): void {
    this.requireStopped();
    const exit = innermostExit(this.frameState(), this.memory, this.info.symbols);
    if (exit === undefined || exit.returnAddress === 0) {
      throw new DebugRequestError(`cannot step out at ${this.where(this.pc())}: no return address ` +
        `(the outermost frame, or an EBP chain that cannot be read: EBP ${hex8(this.cpu.regs[EBP])})`);
    }
    const stackBase = this.cpu.segBase[SS];
    this.start(new RunTo((this.cpu.segBase[CS] + exit.returnAddress) >>> 0, ((exit.returnSlot - stackBase) >>> 0) + 4, this.selected));
  }

  pause(): void { if (this.state === 'running') this.pauseRequested = true; }

  /** Ends the session: the guest is not run any more. */
  terminate(): void {
    this.state = 'ended';
    this.closeDisks();
  }

  /** Writes the disks back if asked to and closes them, once. */
  private closeDisks(): void {
    if (this.disksClosed) return;
    this.disksClosed = true;
    this.disks.close();
  }

  /** Types bytes on the guest's COM1. */
  serialInput(bytes: Uint8Array): void { this.change(() => this.machine.serialInput(bytes)); }

  private requireStopped(): void {
    if (this.state === 'running') throw new DebugRequestError('the guest is running: pause it first');
    if (this.state === 'ended') throw new DebugRequestError('the guest has ended');
  }

  private start(goal: Goal): void {
    this.requireStopped();
    const at = this.cpus[this.lastStop?.thread ?? 0];
    at.resumeIcount = at.icount;   // do not stop again at the breakpoint we are on
    if (this.lastStop?.reason === 'exception' && this.caught !== undefined) {
      // Let the exception we stopped at be delivered when its instruction raises it again.
      const { cpu, icount, index } = this.caught;
      this.skip = { cpu, icount, index };
      this.hookCounts[cpu].icount = -1;
    }
    this.caught = undefined;
    this.vmmBreakpoints.resume();
    this.state = 'running';
    this.pauseRequested = false;
    void this.drive(goal);
  }

  private async drive(goal: Goal): Promise<void> {
    try {
      await yieldToEventLoop();   // the response to the request goes out before any event
      for (;;) {
        if (this.state !== 'running') return;
        if (this.endAfterResume !== undefined) { this.finish({ end: this.endAfterResume }); return; }
        if (this.pauseRequested) {
          const thread = this.lastStop?.thread ?? 0;
          this.finish({ stop: { reason: 'pause', description: `Paused at ${this.where(this.pc(thread))}`, breakpointIds: [], thread } });
          return;
        }
        const outcome = goal.advance(this);
        this.history.afterSlice();
        this.slices++;
        this.flushOutput();
        if (outcome !== undefined) { this.finish(outcome); return; }
        await yieldToEventLoop();
      }
    } catch (e) {
      this.state = 'ended';
      this.listener.failed(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private finish(outcome: Outcome): void {
    this.tempStops.clear();
    this.pauseRequested = false;
    this.flushOutput(true);
    if ('end' in outcome) {
      this.state = 'ended';
      this.closeDisks();
      this.listener.ended(outcome.end);
    } else {
      this.state = 'stopped';
      this.lastStop = outcome.stop;
      this.selected = outcome.stop.thread ?? 0;
      this.listener.stopped(outcome.stop);
    }
  }

  private flushOutput(final = false): void {
    if (this.serialBytes.length === 0 && !final) return;
    const text = this.serialDecoder.decode(Uint8Array.from(this.serialBytes), { stream: !final });
    this.serialBytes = [];
    if (text !== '') this.listener.output(text);
  }

  // ---- the primitives goals are made of -------------------------------------------------

  /** Runs up to `budget` instructions with the code breakpoints armed. */
  runFree(budget: number): Free {
    this.applyStops();
    const r = this.runSlice(budget);
    if (r !== undefined) return { kind: 'outcome', outcome: this.ending(r) };
    const vmmStop = this.vmmBreakpoints.take();
    if (vmmStop !== undefined) return { kind: 'outcome', outcome: { stop: vmmStop } };
    const k = this.runningIndex(), cpu = this.cpus[k];
    if (cpu.stopReason === StopReason.Exception) return { kind: 'outcome', outcome: { stop: this.exceptionStop(k) } };
    const dataStop = this.dataStop(true);
    if (dataStop !== undefined) return { kind: 'outcome', outcome: { stop: dataStop } };
    if (cpu.stopReason === StopReason.Breakpoint) return { kind: 'at', cpu: k, pc: this.pc(k) };
    return { kind: 'slice' };
  }

  /** Leaves a code breakpoint processor `k` stopped at and goes on from there. */
  passBreakpoint(k: number): void { this.cpus[k].resumeIcount = this.cpus[k].icount; }

  /**
   * Executes one instruction (or takes one interrupt) on processor `k`, the others running their
   * turns meanwhile. While it sleeps in HLT, or waits for its turn, this may take a few slices:
   * 'waiting' then, and the caller tries again after a yield.
   */
  stepOne(k: number): Outcome | 'moved' | 'waiting' {
    const cpu = this.cpus[k];
    const icount = cpu.icount, eip = cpu.eip, cs = cpu.segSel[CS];
    this.applyStops();
    // Single machine steps: enough for the other processors' turns to pass.
    const tries = 64 + QUANTUM * (this.cpus.length - 1);
    for (let n = 0; n < tries; n++) {
      cpu.resumeIcount = cpu.icount;
      const r = this.runSlice(1);
      if (r !== undefined) return this.ending(r);
      const vmmStop = this.vmmBreakpoints.take();
      if (vmmStop !== undefined) return { stop: vmmStop };
      const j = this.runningIndex(), ran = this.cpus[j];
      if (ran.stopReason === StopReason.Exception) return { stop: this.exceptionStop(j) };
      const dataStop = this.dataStop(true);
      if (dataStop !== undefined) return { stop: dataStop };
      if (j !== k && ran.stopReason === StopReason.Breakpoint) {
        const stop = this.breakpointStop(this.pc(j), j);
        if (stop !== undefined) return { stop };
        this.passBreakpoint(j);
      }
      if (cpu.icount !== icount || cpu.eip !== eip || cpu.segSel[CS] !== cs) return 'moved';
    }
    return 'waiting';
  }

  /**
   * The user breakpoint stop of processor `k` at `pc`, if there is a user breakpoint there that
   * stops: its hits are counted and its condition, hit condition and log message looked at (with
   * `k`'s registers), once per arrival.
   */
  breakpointStop(pc: number, k: number): StopInfo | undefined {
    const bp = this.userAt.get(pc);
    if (bp === undefined) return undefined;
    this.selected = k;
    // An arrival is one processor at one point of the machine's run.
    const r = this.conditions.reached(bp.ids, this.machine.instructions() * this.cpus.length + k, pc);
    if (r.stop.length === 0) return undefined;
    const kind = (['source', 'function', 'instruction'] as const).find((k) => bp.kinds.has(k))!;
    const errors = r.errors.length === 0 ? '' : ` (${r.errors.join('; ')})`;
    return {
      reason: KIND_REASON[kind], description: `Paused on ${KIND_REASON[kind]} at ${this.where(pc)}${this.onThread(k)}${errors}`,
      breakpointIds: r.stop, thread: k,
    };
  }

  /** " on vCPU 1" with several processors. */
  private onThread(k: number): string { return this.cpus.length > 1 ? ` on vCPU ${k}` : ''; }

  /** As `breakpointStop`, going backwards: conditions only, no hit counted, nothing printed. */
  breakpointStopBackwards(pc: number, k: number): StopInfo | undefined {
    const bp = this.userAt.get(pc);
    if (bp === undefined) return undefined;
    this.selected = k;
    const ids = this.conditions.wouldStop(bp.ids);
    if (ids.length === 0) return undefined;
    const kind = (['source', 'function', 'instruction'] as const).find((k) => bp.kinds.has(k))!;
    return {
      reason: KIND_REASON[kind], description: `Paused on ${KIND_REASON[kind]} at ${this.where(pc)}${this.onThread(k)} (going backwards)`,
      breakpointIds: ids, thread: k,
    };
  }

  stepStop(k = this.selected): StopInfo {
    return { reason: 'step', description: `Paused at ${this.where(this.pc(k))}${this.vmmBreakpoints.eventsOnTheWay()}`, breakpointIds: [], thread: k };
  }

  decodeAtPc(k = this.selected): DecodedInstruction | undefined {
    const { data } = this.memories[k].read(this.pc(k), MAX_INSTRUCTION_LENGTH);
    return decodeInstruction(data, this.cpus[k].code32);
  }

  private onException(k: number, vector: number, errorCode: number | undefined): boolean {
    const icount = this.cpus[k].icount, h = this.hookCounts[k];
    if (icount !== h.icount) { h.icount = icount; h.index = 0; } else h.index++;
    if (this.skip !== undefined && this.skip.cpu === k) {
      if (icount === this.skip.icount && h.index <= this.skip.index) return false;
      this.skip = undefined;
    }
    if (!this.exceptionVectors.has(vector)) return false;
    this.caught = { cpu: k, vector, errorCode, icount, index: h.index };
    return true;
  }

  private exceptionStop(k: number): StopInfo {
    const c = this.caught!;
    const mnemonic = EXCEPTION_MNEMONICS[c.vector] ?? `vector ${c.vector}`;
    const code = c.errorCode === undefined ? '' : `(0x${c.errorCode.toString(16).padStart(4, '0')})`;
    const cr2 = c.vector === PF ? `, CR2 ${hex8(this.cpus[k].cr2)}` : '';
    const details = `${mnemonic}${code} ${exceptionName(c.vector).slice(mnemonic.length + 1)}${cr2} raised at ${this.where(this.pc(k))}${this.onThread(k)}`;
    return {
      reason: 'exception', description: `Paused before delivering ${details}`, breakpointIds: [], thread: k,
      exception: { id: mnemonic.replace('#', ''), name: exceptionName(c.vector), errorCode: c.errorCode, details },
    };
  }

  /** How the machine's end of a run becomes a stop or the end of the session (the processor that ran last's). */
  private ending(r: RunResult): Outcome {
    const outcome = this.endingOutcome(r);
    if ('stop' in outcome) outcome.stop.thread = this.runningIndex();
    return outcome;
  }

  private endingOutcome(r: RunResult): Outcome {
    switch (r.haltReason) {
      case 'triple-fault':
        if (!this.stopOnTripleFault) return { end: r };
        this.endAfterResume = r;
        return {
          stop: {
            reason: 'exception', description: `${r.message}; the processor shuts down when resumed`, breakpointIds: [],
            exception: { id: TRIPLE_FAULT, name: 'Triple fault', details: r.message },
          },
        };
      case 'exception-loop':
        this.endAfterResume = r;
        return { stop: { reason: 'exception', description: r.message, breakpointIds: [], exception: { id: 'exception-loop', name: 'Exception loop', details: r.message } } };
      case 'vmm-stop':
        this.endAfterResume = r;
        return {
          stop: {
            reason: 'exception', description: `${r.message}; resuming ends the session`, breakpointIds: [],
            exception: { id: 'vmm-stop', name: 'VMM stop', details: r.message },
          },
        };
      case 'halt':
        this.endAfterResume = r;
        return { stop: { reason: 'halt', description: `${r.message}; resuming ends the session`, breakpointIds: [] } };
      default:
        return { end: r };
    }
  }

  // ---- state views ----------------------------------------------------------------------

  /** "kmain+0x1a (kernel.c:42)" or "0x0010001a". */
  where(pc: number): string {
    const name = this.info.symbols.describe(pc);
    const loc = this.info.sourceMap?.lookup(pc);
    const at = name ?? hex8(pc);
    return loc === undefined ? at : `${at} (${basename(loc.file)}:${loc.line})`;
  }

  private frameState(): WalkContext {
    const cpu = this.cpu;
    const stackBase = cpu.segBase[SS];
    return {
      pc: this.pc(), sp: (stackBase + cpu.regs[ESP]) >>> 0, fp: (stackBase + cpu.regs[EBP]) >>> 0, stackBase,
      ss: cpu.segSel[SS], codeBase: cpu.segBase[CS],
    };
  }

  /** The selected processor's frames, across the interrupt and exception frames on its stacks. */
  private frames() {
    return walkWithEvents(this.frameState(), this.deliveries[this.selected].newestFirst(), this.memory, this.info.symbols);
  }

  stackTrace(): StackFrameInfo[] {
    return this.frames().map((f, id) => {
      if (f.event !== undefined) return { id, name: eventName(f.event), address: f.address, event: true };
      // A caller's line is that of its call instruction, just before the return address.
      const loc = this.info.sourceMap?.lookup(f.lineAddress);
      const frame: StackFrameInfo = { id, name: this.info.symbols.describe(f.address) ?? hex8(f.address), address: f.address };
      if (loc !== undefined) frame.source = { file: loc.file, line: loc.line };
      return frame;
    });
  }

  /**
   * The stack memory of frame `frameId` of stackTrace() (frameView.ts): an event frame's saved
   * words, or a code frame's; empty where it cannot be found.
   */
  frameMemory(frameId: number): RegisterNode[] {
    const f = this.frames()[frameId];
    if (f === undefined) return [];
    if (f.event !== undefined) return eventFrameNodes(f.event, this.memory);
    const span = frameSpans(f.context, this.memory, this.info.symbols, f.depth + 1)[f.depth];
    return span === undefined ? [] : frameNodes(span, this.memory, (a) => this.info.symbols.describe((f.context.codeBase + a) >>> 0));
  }

  registerGroups(): { name: string; registers: RegisterNode[] }[] {
    return [
      { name: 'Registers', registers: generalRegisters(this.cpu) },
      { name: 'Segments', registers: segmentRegisters(this.cpu) },
      { name: 'Control registers', registers: controlRegisters(this.cpu) },
      { name: 'Descriptor tables', registers: descriptorTableRegisters(this.cpu) },
      ...this.vmmGroups(),
    ];
  }

  /** The VMCS (hw) or the VMM's view (trap, bt, pv), and the devices. */
  private vmmGroups(): { name: string; registers: RegisterNode[] }[] {
    const vmm = vmmScope(this.vmm, this.selected);
    return [
      ...(this.vmm.mode === 'hw' ? [{ name: 'VMCS', registers: vmcsScope(this.cpu) }] : []),
      ...(vmm === undefined ? [] : [{ name: 'VMM', registers: vmm }]),
      { name: 'Devices', registers: deviceScope(this.machine) },
    ];
  }

  /** A register by the name `evaluate` accepts, or undefined. */
  register(name: string): number | undefined {
    const cpu = this.cpu;
    let k = (REG32_NAMES as readonly string[]).indexOf(name);
    if (k >= 0) return cpu.regs[k] >>> 0;
    k = REG16.indexOf(name);
    if (k >= 0) return cpu.regs[k] & 0xffff;
    k = REG8.indexOf(name);
    if (k >= 0) return (cpu.regs[k & 3] >>> (k >= 4 ? 8 : 0)) & 0xff;
    k = (SEG_NAMES as readonly string[]).indexOf(name);
    if (k >= 0) return cpu.segSel[k];
    switch (name) {
      case 'eip': return cpu.eip >>> 0;
      case 'eflags': return getEflags(cpu) >>> 0;
      case 'cr0': return cpu.cr0 >>> 0;
      case 'cr2': return cpu.cr2 >>> 0;
      case 'cr3': return cpu.cr3 >>> 0;
      case 'cr4': return cpu.cr4 >>> 0;
      default: return undefined;
    }
  }

  evaluate(text: string): { result: string; memoryReference?: number; children?: RegisterNode[] } {
    const walk = /^\s*walk\s+(.+)$/.exec(text);
    if (walk !== null) return this.walk(walk[1]);
    const r = evaluateExpression(text, {
      register: (name) => this.register(name),
      symbol: (name) => this.info.symbols.lookup(name)?.address,
      read: (lin, size) => this.memory.readValue(lin, size),
    });
    const label = r.isSymbolic ? this.info.symbols.describe(r.value) : undefined;
    return {
      result: `${hex8(r.value)} (${r.value})${label !== undefined ? ` <${label}>` : ''}`,
      memoryReference: this.memory.physical(r.value) !== undefined ? r.value : undefined,
    };
  }

  /** `walk EXPRESSION`: the page-table walk of the linear address, through the guest's own tables. */
  private walk(expression: string): { result: string; memoryReference?: number; children: RegisterNode[] } {
    const lin = Expression.parse(expression).evaluate(this.expressionContext()).value | 0;
    const cpu = this.cpu, ram = this.machine.guestRamBytes;
    const control = guestControl(this.vmm, this.selected)?.() ?? cpu;
    const nodes = pageWalk({
      cr0: control.cr0, cr3: control.cr3, cr4: control.cr4,
      readPhys32: (a) => (a + 3 < ram && cpu.isRamPage(a >>> 12) ? cpu.readPhys32(a) >>> 0 : undefined),
    }, lin);
    const last = nodes[nodes.length - 1];
    return { result: `${hex8(lin)} -> ${last.value}`, memoryReference: last.memoryReference, children: nodes };
  }

  disassemble(address: number, instructionOffset: number, count: number): DisassembledLine[] {
    return disassemble({
      memory: this.memory, symbols: this.info.symbols, sourceMap: this.info.sourceMap,
      code32: this.cpu.code32, csBase: this.cpu.segBase[CS],
    }, address, instructionOffset, count);
  }
  // ---- data breakpoints -----------------------------------------------------------------

  /**
   * The memory a data breakpoint on `name` would watch: an address when `asAddress` (decimal,
   * or hex with 0x), else an expression (`dword [counter]`, `[esp+4]`, `counter`); `bytes` long
   * when given.
   */
  dataTarget(name: string, bytes: number | undefined, asAddress: boolean): DataTarget {
    if (!asAddress) return resolveDataTarget(name, bytes, this.expressionContext());
    const text = name.trim();
    const address = /^0x[0-9a-f]{1,8}$/i.test(text) ? parseInt(text.slice(2), 16) : /^[0-9]+$/.test(text) ? Number(text) : NaN;
    if (!(address <= 0xffff_ffff)) throw new DebugRequestError(`'${name}' is not an address (decimal, or hexadecimal after 0x)`);
    const target = { address, length: bytes ?? 4 };
    checkLength(target.length);
    return target;
  }

  /** "dword at counter (0x00100200)". */
  describeData(t: DataTarget): string { return describeTarget(t, (a) => this.info.symbols.describe(a)); }

  /** Replaces the data breakpoints (ids from `dataTarget`'s `dataId`); `accessType` defaults to write. */
  setDataBreakpoints(breakpoints: readonly ({ id: number; dataId: string; accessType?: string } & BreakpointOptions)[]): BreakpointStatus[] {
    const watches: Watch[] = [];
    const statuses = breakpoints.map(({ id, dataId, accessType = 'write' }): BreakpointStatus => {
      try {
        const target = parseDataId(dataId);
        if (!(ACCESS_TYPES as readonly string[]).includes(accessType)) {
          throw new DebugRequestError(`access type '${accessType}' is not one of ${ACCESS_TYPES.join(', ')}`);
        }
        watches.push({ id, ...target, accessType: accessType as AccessType });
        return { id, verified: true, address: target.address, message: `${accessType} of ${this.describeData(target)}` };
      } catch (e) {
        if (!(e instanceof DebugRequestError)) throw e;
        return { id, verified: false, message: e.message };
      }
    });
    this.userWatches = watches;
    this.applyStops();
    return this.conditions.define('data', breakpoints, statuses);
  }

  /** The stop for the data accesses the last instruction made, if one stops (counting hits, or, going backwards, not). */
  private dataStop(counting: boolean): StopInfo | undefined {
    const hits = this.watchpoints.take();
    if (hits.length === 0) return undefined;
    const ids = hits.map((h) => h.watch.id);
    this.selected = hits[0].cpu;   // the processor that made the (first) access
    const r = counting ? this.conditions.reached(ids, this.cpu.icount, this.pc()) : { stop: this.conditions.wouldStop(ids), errors: [] };
    const stopping = hits.filter((h) => r.stop.includes(h.watch.id));
    if (stopping.length === 0) return undefined;
    const errors = r.errors.length === 0 ? '' : ` (${r.errors.join('; ')})`;
    const backwards = counting ? '' : ' (going backwards)';
    return {
      reason: 'data breakpoint', breakpointIds: stopping.map((h) => h.watch.id), thread: this.selected,
      description: `Paused on data breakpoint: ${stopping.map((h) => this.describeHit(h)).join('; ')}${errors}${backwards}`,
    };
  }

  /** "write to dword at counter (0x00100200) by the instruction at loop+0x5 (k.asm:12): 0x00000004 -> 0x00000005". */
  private describeHit(h: DataHit): string {
    const what = `${this.describeData(h.watch)} by the instruction at ${this.where(h.pc)}`;
    if (h.access === 'read') return `read of ${what}`;
    return `write to ${what}: ${formatBytes(h.before)} -> ${formatBytes(this.watchpoints.read(h.watch, h.cpu))}`;
  }

  dataStopBackwards(): StopInfo | undefined { return this.dataStop(false); }
  discardHits(): void {
    this.watchpoints.take();
    this.vmmBreakpoints.take();
  }

  // ---- changes made by the user and reverse execution -----------------------------------

  /** Registers, symbols and memory, as conditions, log messages and assignments read them. */
  private expressionContext(): ExpressionContext {
    return {
      register: (name) => this.register(name),
      symbol: (name) => this.info.symbols.lookup(name)?.address,
      read: (lin, size) => this.memory.readValue(lin, size),
    };
  }

  /** A logpoint's line, after the guest's output so far so that the two stay in order. */
  private log(line: string): void {
    this.flushOutput();
    this.listener.log?.(line);
  }

  /** A slice of the guest's run, through the history, which makes the recorded changes on the way. */
  private runSlice(budget: number): RunResult | undefined {
    return this.history.forward(budget);
  }

  /** Makes a change from outside the guest, recorded so that re-execution makes it again. */
  private change<T>(make: () => T): T {
    return this.history.record(make);
  }

  /** Writes guest memory (the bytes up to the first that cannot be written); returns how many were. */
  writeMemory(lin: number, bytes: Uint8Array): number {
    this.requireStopped();
    return this.change(() => this.memory.write(lin, bytes));
  }

  /**
   * Sets a register from the Variables view (`assignName` of its node) to the value of the
   * expression `valueText`; returns the node's new value.
   */
  setRegister(assignName: string, valueText: string): string {
    this.requireStopped();
    const value = Expression.parse(valueText).evaluate(this.expressionContext()).value;
    this.change(() => assignRegister(this.cpu, assignName, value));
    return findAssignable(generalRegisters(this.cpu), assignName)?.value ?? hex8(value);
  }

  /** Assigns to a register (`eax`, `eflags.ZF`) or a memory operand (`dword [counter]`); returns the new value. */
  setExpression(target: string, valueText: string): string {
    this.requireStopped();
    const ctx = this.expressionContext();
    const lhs = Expression.parse(target);
    const value = Expression.parse(valueText).evaluate(ctx).value;
    const name = lhs.name();
    if (name !== undefined && isAssignable(name)) {
      this.change(() => assignRegister(this.cpu, name, value));
      // As the Watch view shows it; EFLAGS fields are not expressions, their nodes say it.
      if (this.register(name.toLowerCase()) !== undefined) return this.evaluate(name).result;
      return findAssignable(generalRegisters(this.cpu), name.toLowerCase())?.value ?? hex8(value);
    }
    const operand = lhs.memoryOperand();
    if (operand === undefined) {
      throw new DebugRequestError(`cannot assign to '${target}': give a register (eax, al, eip, eflags.ZF) or a memory operand (dword [counter])`);
    }
    const address = operand.address.evaluate(ctx).value;
    const bits = operand.size * 8;
    const signed = value | 0;
    if (bits < 32 && value >= 2 ** bits && !(signed < 0 && signed >= -(2 ** (bits - 1)))) {
      throw new DebugRequestError(`${hex8(value)} does not fit in the ${operand.size} bytes of '${target}'`);
    }
    const bytes = Uint8Array.from({ length: operand.size }, (_, k) => (value >>> (8 * k)) & 0xff);
    for (let k = 0; k < bytes.length; k++) {
      const lin = (address + k) >>> 0;
      if (this.memory.physical(lin) === undefined) throw new DebugRequestError(`cannot write linear address ${hex8(lin)}: ${this.memory.why(lin)}`);
    }
    this.writeMemory(address, bytes);
    return this.evaluate(target).result;
  }

  private requireHistory(command: string): ExecutionHistory {
    this.requireStopped();
    if (this.history.atStart()) throw new DebugRequestError(`${command}: already at the start of the recorded run, ${this.where(this.pc())}`);
    return this.history;
  }

  /**
   * Goes back one instruction of the selected processor, or to the start of its previous source
   * line when `byLine`; the others go back to where they were then.
   */
  stepBack(byLine: boolean): void {
    const history = this.requireHistory('stepBack');
    this.endAfterResume = undefined;
    this.start(new StepBack(this, history, byLine, this.selected));
  }

  /** Goes back to the most recent place a breakpoint stops on any processor, or to the start of the recorded run. */
  reverseContinue(): void {
    const history = this.requireHistory('reverseContinue');
    this.endAfterResume = undefined;
    this.start(new ReverseContinue(history));
  }
}

// ---- goals ------------------------------------------------------------------------------

class ContinueGoal implements Goal {
  advance(rt: DebugRuntime): Outcome | undefined {
    const f = rt.runFree(rt.sliceInstructions);
    if (f.kind === 'slice') return undefined;
    if (f.kind === 'outcome') return f.outcome;
    const stop = rt.breakpointStop(f.pc, f.cpu);
    if (stop !== undefined) return { stop };
    rt.passBreakpoint(f.cpu);
    return undefined;
  }
}

/** One instruction of processor `k`. */
class StepInstruction implements Goal {
  constructor(private readonly k: number) {}

  advance(rt: DebugRuntime): Outcome | undefined {
    const s = rt.stepOne(this.k);
    if (s === 'waiting') return undefined;
    return s === 'moved' ? { stop: rt.stepStop(this.k) } : s;
  }
}

/** Runs until processor `k` reaches `target` with ESP at or above `minSp` (the frame that set it has returned). */
class RunTo implements Goal {
  constructor(private readonly target: number, private readonly minSp: number, private readonly k: number) {}

  advance(rt: DebugRuntime): Outcome | undefined {
    rt.tempStops.add(this.target >>> 0);
    const f = rt.runFree(rt.sliceInstructions);
    if (f.kind === 'slice') return undefined;
    if (f.kind === 'outcome') return f.outcome;
    const stop = rt.breakpointStop(f.pc, f.cpu);
    if (stop !== undefined) return { stop };
    if (f.cpu === this.k && f.pc === this.target >>> 0 && rt.cpus[this.k].regs[ESP] >>> 0 >= this.minSp) return { stop: rt.stepStop(this.k) };
    rt.passBreakpoint(f.cpu);   // another processor, or a recursive call reached the return address deeper in the stack
    return undefined;
  }
}

/**
 * Steps until the start of a different source line, instruction by instruction, running calls
 * (and INT n) to their return when stepping over, and out of called code that has no line
 * information when stepping in. As gdb does, it also stops on returning to the caller (a
 * different function) even mid-line, and finishes a line it enters in the middle.
 */
class LineStep implements Goal {
  private range: LineRange;
  private readonly file: string;
  private readonly line: number;
  private readonly fn: number | undefined;
  private runTo: { target: number; minSp: number } | undefined;

  constructor(rt: DebugRuntime, here: LineRange, private readonly over: boolean, private readonly k: number) {
    this.range = here;
    this.file = here.file;
    this.line = here.line;
    this.fn = rt.info.symbols.containing(rt.pc(k))?.address;
  }

  advance(rt: DebugRuntime): Outcome | undefined {
    const k = this.k, cpu = rt.cpus[k];
    const end = cpu.icount + rt.sliceInstructions;
    while (cpu.icount < end) {
      if (this.runTo !== undefined) {
        const { target, minSp } = this.runTo;
        rt.tempStops.add(target);
        const f = rt.runFree(end - cpu.icount);
        if (f.kind === 'slice') return undefined;
        if (f.kind === 'outcome') return f.outcome;
        const stop = rt.breakpointStop(f.pc, f.cpu);
        if (stop !== undefined) return { stop };
        if (f.cpu !== k || f.pc !== target || cpu.regs[ESP] >>> 0 < minSp) { rt.passBreakpoint(f.cpu); continue; }
        this.runTo = undefined;
        rt.tempStops.delete(target);
        const done = this.check(rt, undefined);
        if (done !== undefined) return done;
        continue;
      }
      const pc = rt.pc(k), sp = cpu.regs[ESP] >>> 0;
      const d = rt.decodeAtPc(k);
      const returnsTo = d?.returnsToNext ? { target: (pc + d.length) >>> 0, minSp: sp } : undefined;
      if (this.over && returnsTo !== undefined) { this.runTo = returnsTo; continue; }
      const s = rt.stepOne(k);
      if (s === 'waiting') return undefined;
      if (s !== 'moved') return s;
      const done = this.check(rt, returnsTo);
      if (done !== undefined) return done;
    }
    return undefined;
  }

  /** After an instruction: stop here, or keep stepping (perhaps running out of a call first). */
  private check(rt: DebugRuntime, calledFrom: { target: number; minSp: number } | undefined): Outcome | undefined {
    const k = this.k, pc = rt.pc(k);
    const bp = rt.breakpointStop(pc, k);
    if (bp !== undefined) return { stop: bp };
    if (pc >= this.range.start && pc < this.range.end) return undefined;
    const loc = rt.info.sourceMap?.lookup(pc);
    if (loc === undefined) {
      // Stepped into code without lines through a call: come back out of it.
      if (calledFrom !== undefined) { this.runTo = calledFrom; return undefined; }
      return { stop: rt.stepStop(k) };
    }
    if (loc.file === this.file && loc.line === this.line) { this.range = loc; return undefined; }
    if (pc === loc.start && loc.isStmt) return { stop: rt.stepStop(k) };
    if (rt.info.symbols.containing(pc)?.address !== this.fn) return { stop: rt.stepStop(k) };
    this.range = loc;
    return undefined;
  }
}
