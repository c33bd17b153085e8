/**
 * What the adapter tells a client about the VMM (protocol.ts): the `vtscope.exits` and
 * `vtscope.holes` event bodies, batched by ExitEventBatcher, and the answers to the
 * `vtscope.exitLog`, `vtscope.stats` and `vtscope.vmcs` requests. Records carry the source
 * line of their EIP when the image has a line table.
 */
import type { ExitRecord } from '../vmm/exitLog';
import { vmmReport } from '../vmm/report';
import type { Vmm } from '../vmm/vmm';
import { DebugRequestError } from './guestMemory';
import {
  EXIT_LOG_PAGE, EXITS_EVENT, HOLES_EVENT, parseExitLogArguments, ProtocolError, type ExitLogArguments, type ExitLogResponseBody, type ExitRecordBody, type ExitsEventBody, type HoleBody,
  type HolesEventBody, type ReasonTotalBody, type SourceLine, type StatsResponseBody, type VmcsResponseBody,
} from './protocol';
import type { SourceMap } from './sourceMap';
import { readVmcs, vmcsFieldBodies } from './vmcsView';

export class VmmReports {
  /** Sequence number of the first record not yet sent in an exits event. */
  private sent = 0;
  /** Hole executions counted when holes were last sent. */
  private holesSent = 0;
  /** Times the exit log and the hole log had been cleared (the guest went back) when last sent. */
  private logClears = 0;
  private holeClears = 0;

  constructor(private readonly vmm: Vmm, private readonly sourceMap: SourceMap | undefined) {}

  /** The log is worth reporting: a VMM runs the guest (native mode has none). */
  get reporting(): boolean { return this.vmm.mode !== 'native'; }

  private source(eip: number): SourceLine | undefined {
    const loc = this.sourceMap?.lookup(eip);
    return loc === undefined ? undefined : { path: loc.file, line: loc.line };
  }

  private numbers(): Map<string, number | null> {
    return new Map(this.vmm.log.counters().map((r) => [r.name, r.number]));
  }

  private record(r: ExitRecord, numbers: Map<string, number | null>): ExitRecordBody {
    const body: ExitRecordBody = {
      seq: r.seq, icount: r.icount, vcpu: r.vcpu, cycles: r.cycles, mode: r.mode, kind: r.kind, reason: r.reason,
      reasonNumber: numbers.get(r.reason) ?? null, eip: r.eip, cpl: r.cpl, qualification: r.qualification, cost: r.cost,
    };
    const source = this.source(r.eip);
    if (source !== undefined) body.source = source;
    return body;
  }

  private totals(): ReasonTotalBody[] {
    return this.vmm.log.counters().map((r) => ({ reason: r.name, reasonNumber: r.number, kind: r.kind, count: r.count, cycles: r.cycles }));
  }

  private holes(): HoleBody[] {
    return this.vmm.holes.list().map((h) => {
      const body: HoleBody = { instruction: h.instruction, eip: h.eip, count: h.count, effect: h.effect };
      const source = this.source(h.eip);
      if (source !== undefined) body.source = source;
      return body;
    });
  }

  /**
   * The records made since the last call (those still in the ring), or undefined when there are
   * none; after the guest went back, every record in the ring, `rewound`.
   */
  exitsEvent(): ExitsEventBody | undefined {
    const log = this.vmm.log;
    const rewound = log.clears !== this.logClears;
    if (!this.reporting || (!rewound && log.total === this.sent)) return undefined;
    const numbers = this.numbers();
    const records = log.records(rewound ? log.firstInRing : this.sent).map((r) => this.record(r, numbers));
    this.sent = log.total;
    this.logClears = log.clears;
    const body: ExitsEventBody = { total: log.total, records, totals: this.totals() };
    if (rewound) body.rewound = true;
    return body;
  }

  /** Every hole, when one was found or counted again since the last call, or the guest went back (`rewound`). */
  holesEvent(): HolesEventBody | undefined {
    const holes = this.vmm.holes, executions = holes.total;
    const rewound = holes.clears !== this.holeClears;
    if (!this.reporting || (!rewound && executions === this.holesSent)) return undefined;
    this.holesSent = executions;
    this.holeClears = holes.clears;
    const body: HolesEventBody = { holes: this.holes() };
    if (rewound) body.rewound = true;
    return body;
  }

  /** A page of the ring; `raw` are the request's arguments, not yet checked. */
  exitLog(raw: unknown): ExitLogResponseBody {
    let args: ExitLogArguments;
    try {
      args = parseExitLogArguments(raw);
    } catch (e) {
      if (e instanceof ProtocolError) throw new DebugRequestError(e.message);
      throw e;
    }
    const log = this.vmm.log;
    const numbers = this.numbers();
    return {
      total: log.total,
      first: log.firstInRing,
      records: log.records(args.start ?? log.firstInRing, args.count ?? EXIT_LOG_PAGE).map((r) => this.record(r, numbers)),
    };
  }

  stats(): StatsResponseBody {
    const vmm = this.vmm;
    const native = vmm.mode === 'native';
    const report = vmmReport(vmm);
    return {
      mode: vmm.mode,
      costModel: native ? null : report.costModel,
      instructions: vmm.machine.instructions(),
      cycles: native ? null : report.cycles,
      events: vmm.log.eventCount,
      totals: this.totals(),
      hypercalls: report.hypercalls,
      holes: this.holes(),
    };
  }

  vmcs(args: { vcpu?: unknown } = {}): VmcsResponseBody {
    if (this.vmm.mode !== 'hw') throw new DebugRequestError(`vtscope.vmcs: there is no VMCS in mode ${this.vmm.mode} (only hw runs the guest under VT-x)`);
    const cpus = this.vmm.machine.cpus, vcpu = args.vcpu ?? 0;
    if (typeof vcpu !== 'number' || !Number.isInteger(vcpu) || vcpu < 0 || vcpu >= cpus.length) {
      throw new DebugRequestError(`vtscope.vmcs: 'vcpu' must be a virtual CPU from 0 to ${cpus.length - 1}, not ${JSON.stringify(vcpu)}`);
    }
    const values = readVmcs(cpus[vcpu]);
    if (values === undefined) throw new DebugRequestError('vtscope.vmcs: the processor has no current VMCS');
    return { fields: vmcsFieldBodies(values) };
  }
}

/** Time between two exit-log events while the guest runs: at most four a second. */
export const BATCH_MS = 250;

/**
 * Sends the exit-log events of a session: every BATCH_MS while the guest runs (if anything
 * happened), and whenever `flush` is called (the guest stopped or ended), never one per exit.
 */
export class VmmEventBatcher {
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(private readonly reports: VmmReports, private readonly send: (event: string, body: object) => void, running: () => boolean) {
    if (!reports.reporting) return;
    this.timer = setInterval(() => { if (running()) this.flush(); }, BATCH_MS);
    this.timer.unref();
  }

  flush(): void {
    const exits = this.reports.exitsEvent();
    if (exits !== undefined) this.send(EXITS_EVENT, exits);
    const holes = this.reports.holesEvent();
    if (holes !== undefined) this.send(HOLES_EVENT, holes);
  }

  dispose(): void { clearInterval(this.timer); }
}
