/**
 * Stops on what the VMM does: a VM exit of a chosen reason (`hw`), an event class of the
 * software VMMs (privileged-instruction trap, shadow page fault, translation, hypercall), a
 * guest exception the software VMMs reflect into the guest, and a virtualization hole
 * (`trap`). Every VMM event goes through the exit log and every hole through the hole log, so
 * their record hooks are the one place to look; the hooks are set only while a filter needs them.
 *
 * The VMM has already handled the event when it is recorded, so the stop comes after it, at
 * the next instruction boundary: in the software modes the record is made while the CPU's run
 * loop runs, and a stop request ends the loop there (a `bt` translation is recorded as its
 * block is decoded, so that block runs first); in `hw` the loop has already returned for the
 * VM exit, and the guest stands where the VMM resumes it, after an emulated instruction.
 */
import { basename } from 'node:path';
import { StopReason } from '../cpu/cpu';
import { EXCEPTION_MNEMONICS } from '../cpu/exceptions';
import type { EventClass, Reason } from '../vmm/exitLog';
import type { Hole } from '../vmm/holeLog';
import type { Vmm } from '../vmm/vmm';
import { EXCEPTION_FILTERS, HOLE, VMEXIT_PREFIX } from './exceptionFilters';
import { hex8 } from './guestMemory';
import type { StopInfo } from './runtime';
import type { SourceMap } from './sourceMap';

/** The guest exception a software VMM's "reflect #PF" or "bounce #PF" record gives the guest, or -1. */
function reflectedVector(reason: Reason): number {
  if (reason.kind !== 'exception') return -1;
  const mnemonic = /^(?:reflect|bounce) (#[A-Z]{2})$/.exec(reason.name)?.[1];
  const vector = Object.entries(EXCEPTION_MNEMONICS).find(([, m]) => m === mnemonic)?.[0];
  return vector === undefined ? -1 : Number(vector);
}

export class VmmBreakpoints {
  private exitReasons = new Set<number>();
  private classes = new Set<EventClass>();
  private vectors = new Set<number>();
  private holes = false;
  private pending: StopInfo | undefined;
  /** Events in the log when the guest last resumed. */
  private eventsAtResume = 0;
  /** reflectedVector of each reason by id, worked out once. */
  private readonly vectorOf: number[] = [];

  constructor(private readonly vmm: Vmm, private readonly sourceMap: SourceMap | undefined) {}

  /**
   * The filters in force (ids of EXCEPTION_FILTERS; the caller has checked them). Vector
   * filters apply here only where the VMM reflects exceptions (trap, bt, pv): under native and
   * hw the processor delivers them and the runtime's exception hook stops on them.
   */
  setFilters(ids: readonly string[]): void {
    const chosen = EXCEPTION_FILTERS.filter((f) => ids.includes(f.id));
    this.exitReasons = new Set(chosen.flatMap((f) => (f.exitReason === undefined ? [] : [f.exitReason])));
    this.classes = new Set(chosen.flatMap((f) => (f.eventClass === undefined ? [] : [f.eventClass])));
    const reflecting = this.vmm.mode !== 'native' && this.vmm.mode !== 'hw';
    this.vectors = new Set(reflecting ? chosen.flatMap((f) => (f.vector === undefined ? [] : [f.vector])) : []);
    this.holes = ids.includes(HOLE);
    const events = this.exitReasons.size + this.classes.size + this.vectors.size > 0;
    this.vmm.log.onRecord = events ? (reason, seq) => this.onRecord(reason, seq) : undefined;
    this.vmm.holes.onRecord = this.holes ? (hole) => this.onHole(hole) : undefined;
  }

  /** The stop an event asked for since the last call, if any. */
  take(): StopInfo | undefined {
    const stop = this.pending;
    this.pending = undefined;
    return stop;
  }

  /** The guest resumes: a stop asked for while the runtime was not listening (the run ended first) is forgotten. */
  resume(): void {
    this.pending = undefined;
    this.eventsAtResume = this.vmm.log.total;
  }

  /** "; the VMM handled 1 event on the way: VM exit CPUID (CPUID leaf 0x1)", or '' when it handled none since the guest resumed. */
  eventsOnTheWay(): string {
    const log = this.vmm.log, n = log.total - this.eventsAtResume;
    if (n <= 0) return '';
    const last = log.records(log.total - 1, 1)[0];
    const name = last.kind === 'vm exit' ? `VM exit ${last.reason}` : last.reason;
    return `; the VMM handled ${n === 1 ? '1 event' : `${n} events, the last`} on the way: ${name} (${last.qualification})`;
  }

  private onRecord(reason: Reason, seq: number): void {
    if (this.pending !== undefined) return;
    let id: string;
    if (reason.kind === 'vm exit') {
      if (reason.number === null || !this.exitReasons.has(reason.number)) return;
      id = `${VMEXIT_PREFIX}${reason.number}`;
    } else if (this.classes.has(reason.kind)) {
      id = EXCEPTION_FILTERS.find((f) => f.eventClass === reason.kind)!.id;
    } else {
      const vector = this.vectorOf[reason.id] ??= reflectedVector(reason);
      if (vector < 0 || !this.vectors.has(vector)) return;
      id = EXCEPTION_MNEMONICS[vector].slice(1);
    }
    const record = this.vmm.log.records(seq, 1)[0];
    const name = reason.kind === 'vm exit' ? `VM exit ${reason.name} (${reason.number})` : `VMM ${reason.name}`;
    const details = `${name}: ${record.qualification} at ${this.at(record.eip)}`;
    this.request({ reason: 'exception', description: details, breakpointIds: [], exception: { id, name, details } });
  }

  private onHole(hole: Hole): void {
    if (this.pending !== undefined) return;
    const details = `Virtualization hole: ${hole.instruction} at ${this.at(hole.eip)}: ${hole.effect}`;
    this.request({ reason: 'exception', description: details, breakpointIds: [], exception: { id: HOLE, name: 'Virtualization hole', details } });
  }

  /** "0x00100234 (kernel.asm:12)": the address, and its source line when known. */
  private at(lin: number): string {
    const loc = this.sourceMap?.lookup(lin);
    return loc === undefined ? hex8(lin) : `${hex8(lin)} (${basename(loc.file)}:${loc.line})`;
  }

  /**
   * Ends the run loop of the processor the event happened on after the current instruction,
   * unless it has already stopped (a VM exit, a triple fault).
   */
  private request(stop: StopInfo): void {
    this.pending = stop;
    const cpu = this.vmm.machine.running;
    if (cpu.stopReason !== StopReason.None) return;
    cpu.requestStop(StopReason.Requested);
    cpu.leaveBlock = true;
  }
}
