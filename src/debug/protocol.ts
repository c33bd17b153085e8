/**
 * Custom Debug Adapter Protocol events from `vtscope dap` to its clients (the extension reads them). Standard DAP has no
 * place for a VMM's exit log, so the adapter sends these as ordinary DAP events
 * (`{ type: 'event', event: NAME, body }`) that other clients ignore. Bodies are checked here,
 * field by field, because they cross a process boundary.
 *
 * - `vtscope.exits` (ExitsEventBody): exit-log records made since the previous event, oldest
 *   first, with the number of records ever made and the exact counters per reason. Sent at
 *   most a few times a second while the guest runs, and once when it stops or ends, so a
 *   busy guest costs one message per batch, not one per exit.
 * - `vtscope.holes` (HolesEventBody): every virtualization hole found so far in `trap` mode
 *   (a sensitive instruction that ran without trapping), the whole list each time.
 *
 * Reverse execution takes the log back: the next of either event then says `rewound: true`,
 * and an exits event carries the records from the oldest the adapter keeps rather than the
 * new ones, with `total` as of the place gone back to (smaller than before, or not).
 *
 * Neither is sent in `native` mode, where there is no VMM.
 *
 * Custom requests (`vtscope.exitLog`, `vtscope.stats`, `vtscope.vmcs`) read the same data on
 * demand; their argument and response bodies are below, with parsers for the client side.
 */

export const EXITS_EVENT = 'vtscope.exits';
export const HOLES_EVENT = 'vtscope.holes';

/** A place in a guest source: an absolute path and a 1-based line. */
export interface SourceLine {
  path: string;
  line: number;
}

/** One exit-log record (DESIGN.md, "The VMM"). */
export interface ExitRecordBody {
  seq: number;
  /** Instructions the virtual CPU `vcpu` had retired at the event. */
  icount: number;
  /** The virtual CPU (processor index, its APIC ID) the event happened on. */
  vcpu: number;
  /** Emulated cycles at the event: the log's clock. */
  cycles: number;
  mode: string;
  /** The broad class, e.g. "vm exit", "hypercall", "page fault". */
  kind: string;
  /** The reason's name: an SDM exit reason in `hw` mode, a named software event otherwise. */
  reason: string;
  /** The SDM exit-reason number in `hw` mode, the hypercall number for hypercalls, else null. */
  reasonNumber: number | null;
  eip: number;
  cpl: number;
  /** The decoded exit qualification, in words. */
  qualification: string;
  /** Emulated cycles the VMM charged for handling it. */
  cost: number;
  source?: SourceLine;
}

/** The counters of one reason since the start: exact, whatever the ring has dropped. */
export interface ReasonTotalBody {
  reason: string;
  reasonNumber: number | null;
  kind: string;
  count: number;
  cycles: number;
}

export interface ExitsEventBody {
  /** Records ever made in this session. */
  total: number;
  records: ExitRecordBody[];
  totals: ReasonTotalBody[];
  /**
   * The guest went back (reverse execution) since the previous event: the log is as of that
   * place, `records` are those from the oldest the adapter keeps on, and the client's records
   * from the first of them on (from `total` on when there are none) are no longer the log's.
   */
  rewound?: boolean;
}

export interface HoleBody {
  /** The instruction as the disassembler prints it. */
  instruction: string;
  eip: number;
  /** How many times it ran without trapping. */
  count: number;
  /** What it did wrong, e.g. "POPF at CPL 1 dropped a change of IF from 0 to 1". */
  effect: string;
  source?: SourceLine;
}

export interface HolesEventBody {
  holes: HoleBody[];
  /** The guest went back (reverse execution) since the previous event: the holes are those as of that place. */
  rewound?: boolean;
}

/** A custom event body that does not have the documented shape; the message names the field. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

type Fields = Record<string, unknown>;

function object(v: unknown, where: string): Fields {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ProtocolError(`${where} must be an object`);
  return v as Fields;
}

function array(o: Fields, key: string, where: string): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) throw new ProtocolError(`${where}.${key} must be an array`);
  return v;
}

function count(o: Fields, key: string, where: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new ProtocolError(`${where}.${key} must be a whole number, not ${JSON.stringify(v)}`);
  }
  return v;
}

function text(o: Fields, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new ProtocolError(`${where}.${key} must be a string, not ${JSON.stringify(v)}`);
  return v;
}

/** `{ rewound }` when the body says it (true or false), else nothing: older adapters leave it out. */
function rewound(o: Fields, where: string): { rewound?: boolean } {
  const v = o.rewound;
  if (v === undefined || v === null) return {};
  if (typeof v !== 'boolean') throw new ProtocolError(`${where}.rewound must be true or false, not ${JSON.stringify(v)}`);
  return { rewound: v };
}

function numberOrNull(o: Fields, key: string, where: string): number | null {
  return o[key] === null || o[key] === undefined ? null : count(o, key, where);
}

function sourceLine(o: Fields, where: string): SourceLine | undefined {
  if (o.source === undefined || o.source === null) return undefined;
  const s = object(o.source, `${where}.source`);
  const line = count(s, 'line', `${where}.source`);
  if (line < 1) throw new ProtocolError(`${where}.source.line must be 1 or more, not 0`);
  return { path: text(s, 'path', `${where}.source`), line };
}

function exitRecord(r: unknown, where: string): ExitRecordBody {
  const o = object(r, where);
  return {
    seq: count(o, 'seq', where),
    icount: count(o, 'icount', where),
    vcpu: count(o, 'vcpu', where),
    cycles: count(o, 'cycles', where),
    mode: text(o, 'mode', where),
    kind: text(o, 'kind', where),
    reason: text(o, 'reason', where),
    reasonNumber: numberOrNull(o, 'reasonNumber', where),
    eip: count(o, 'eip', where),
    cpl: count(o, 'cpl', where),
    qualification: text(o, 'qualification', where),
    cost: count(o, 'cost', where),
    source: sourceLine(o, where),
  };
}

function reasonTotal(t: unknown, where: string): ReasonTotalBody {
  const o = object(t, where);
  return {
    reason: text(o, 'reason', where),
    reasonNumber: numberOrNull(o, 'reasonNumber', where),
    kind: text(o, 'kind', where),
    count: count(o, 'count', where),
    cycles: count(o, 'cycles', where),
  };
}

function hole(h: unknown, where: string): HoleBody {
  const o = object(h, where);
  return {
    instruction: text(o, 'instruction', where),
    eip: count(o, 'eip', where),
    count: count(o, 'count', where),
    effect: text(o, 'effect', where),
    source: sourceLine(o, where),
  };
}

export function parseExitsEvent(body: unknown): ExitsEventBody {
  const b = object(body, EXITS_EVENT);
  return {
    total: count(b, 'total', EXITS_EVENT),
    records: array(b, 'records', EXITS_EVENT).map((r, k) => exitRecord(r, `${EXITS_EVENT}.records[${k}]`)),
    totals: array(b, 'totals', EXITS_EVENT).map((t, k) => reasonTotal(t, `${EXITS_EVENT}.totals[${k}]`)),
    ...rewound(b, EXITS_EVENT),
  };
}

export function parseHolesEvent(body: unknown): HolesEventBody {
  const b = object(body, HOLES_EVENT);
  return { holes: array(b, 'holes', HOLES_EVENT).map((h, k) => hole(h, `${HOLES_EVENT}.holes[${k}]`)), ...rewound(b, HOLES_EVENT) };
}

// ---- custom requests ---------------------------------------------------------------------

/**
 * `vtscope.exitLog` (ExitLogArguments -> ExitLogResponseBody): a page of the exit-log ring,
 * from record `start` (default: the oldest still in the ring) for `count` records (default
 * EXIT_LOG_PAGE, at most EXIT_LOG_MAX_PAGE). Only records still in the ring are returned:
 * `first` says which is the oldest, so a client knows what it missed.
 */
export const EXIT_LOG_REQUEST = 'vtscope.exitLog';
/** `vtscope.stats` (no arguments -> StatsResponseBody): the run's statistics so far, as `vtscope run --json` gives them. */
export const STATS_REQUEST = 'vtscope.stats';
/** `vtscope.vmcs` (`{ vcpu?: number }`, default 0 -> VmcsResponseBody, `hw` mode only): every field of that virtual CPU's current VMCS. */
export const VMCS_REQUEST = 'vtscope.vmcs';

export const EXIT_LOG_PAGE = 256;
export const EXIT_LOG_MAX_PAGE = 4096;

export interface ExitLogArguments {
  /** Sequence number of the first record wanted. */
  start?: number;
  count?: number;
}

export interface ExitLogResponseBody {
  /** Records ever made. */
  total: number;
  /** Sequence number of the oldest record still in the ring (total when the ring is empty). */
  first: number;
  records: ExitRecordBody[];
}

export interface HypercallTotalBody {
  number: number;
  name: string;
  count: number;
  cycles: number;
}

export interface StatsResponseBody {
  mode: string;
  /** The cost preset charged; null in `native` mode, which has no VMM. */
  costModel: string | null;
  /** Guest instructions retired. */
  instructions: number;
  /** Emulated cycles (instructions, their costs and the VMM's events); null in `native` mode, where none are counted. */
  cycles: number | null;
  /** Events the VMM handled. */
  events: number;
  totals: ReasonTotalBody[];
  hypercalls: HypercallTotalBody[];
  holes: HoleBody[];
}

export interface VmcsFieldBody {
  /** The SDM's area: "Guest-state area", "Host-state area", "VM-execution control fields", ... */
  group: string;
  /** The field's name as the fact sheet spells it, e.g. "EXIT_REASON". */
  name: string;
  encoding: number;
  /** Hexadecimal, as wide as the field. */
  value: string;
  /** The value in words, for the fields that have a meaning beyond their number. */
  decoded?: string;
}

export interface VmcsResponseBody {
  fields: VmcsFieldBody[];
}

function optionalCount(o: Fields, key: string, where: string): number | undefined {
  return o[key] === undefined || o[key] === null ? undefined : count(o, key, where);
}

/** The request's arguments, checked (a request without arguments asks for the default page). */
export function parseExitLogArguments(args: unknown): ExitLogArguments {
  if (args === undefined || args === null) return {};
  const a = object(args, EXIT_LOG_REQUEST);
  const n = optionalCount(a, 'count', EXIT_LOG_REQUEST);
  if (n !== undefined && (n < 1 || n > EXIT_LOG_MAX_PAGE)) {
    throw new ProtocolError(`${EXIT_LOG_REQUEST}.count must be from 1 to ${EXIT_LOG_MAX_PAGE}, not ${n}`);
  }
  return { start: optionalCount(a, 'start', EXIT_LOG_REQUEST), count: n };
}

export function parseExitLogResponse(body: unknown): ExitLogResponseBody {
  const b = object(body, EXIT_LOG_REQUEST);
  return {
    total: count(b, 'total', EXIT_LOG_REQUEST),
    first: count(b, 'first', EXIT_LOG_REQUEST),
    records: array(b, 'records', EXIT_LOG_REQUEST).map((r, k) => exitRecord(r, `${EXIT_LOG_REQUEST}.records[${k}]`)),
  };
}

function textOrNull(o: Fields, key: string, where: string): string | null {
  return o[key] === null || o[key] === undefined ? null : text(o, key, where);
}

export function parseStatsResponse(body: unknown): StatsResponseBody {
  const b = object(body, STATS_REQUEST);
  return {
    mode: text(b, 'mode', STATS_REQUEST),
    costModel: textOrNull(b, 'costModel', STATS_REQUEST),
    instructions: count(b, 'instructions', STATS_REQUEST),
    cycles: numberOrNull(b, 'cycles', STATS_REQUEST),
    events: count(b, 'events', STATS_REQUEST),
    totals: array(b, 'totals', STATS_REQUEST).map((t, k) => reasonTotal(t, `${STATS_REQUEST}.totals[${k}]`)),
    hypercalls: array(b, 'hypercalls', STATS_REQUEST).map((h, k): HypercallTotalBody => {
      const where = `${STATS_REQUEST}.hypercalls[${k}]`;
      const o = object(h, where);
      return { number: count(o, 'number', where), name: text(o, 'name', where), count: count(o, 'count', where), cycles: count(o, 'cycles', where) };
    }),
    holes: array(b, 'holes', STATS_REQUEST).map((h, k) => hole(h, `${STATS_REQUEST}.holes[${k}]`)),
  };
}

export function parseVmcsResponse(body: unknown): VmcsResponseBody {
  const b = object(body, VMCS_REQUEST);
  return {
    fields: array(b, 'fields', VMCS_REQUEST).map((f, k): VmcsFieldBody => {
      const where = `${VMCS_REQUEST}.fields[${k}]`;
      const o = object(f, where);
      const value = text(o, 'value', where);
      if (!/^0x[0-9a-f]+$/.test(value)) throw new ProtocolError(`${where}.value must be a hexadecimal number like 0x0000001c, not ${JSON.stringify(value)}`);
      const field: VmcsFieldBody = { group: text(o, 'group', where), name: text(o, 'name', where), encoding: count(o, 'encoding', where), value };
      if (o.decoded !== undefined && o.decoded !== null) field.decoded = text(o, 'decoded', where);
      return field;
    }),
  };
}
