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
 * Neither is sent in `native` mode, where there is no VMM.
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
  /** Guest instructions retired before the event. */
  icount: number;
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

export function parseExitsEvent(body: unknown): ExitsEventBody {
  const b = object(body, EXITS_EVENT);
  return {
    total: count(b, 'total', EXITS_EVENT),
    records: array(b, 'records', EXITS_EVENT).map((r, k): ExitRecordBody => {
      const where = `${EXITS_EVENT}.records[${k}]`;
      const o = object(r, where);
      return {
        seq: count(o, 'seq', where),
        icount: count(o, 'icount', where),
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
    }),
    totals: array(b, 'totals', EXITS_EVENT).map((t, k): ReasonTotalBody => {
      const where = `${EXITS_EVENT}.totals[${k}]`;
      const o = object(t, where);
      return {
        reason: text(o, 'reason', where),
        reasonNumber: numberOrNull(o, 'reasonNumber', where),
        kind: text(o, 'kind', where),
        count: count(o, 'count', where),
        cycles: count(o, 'cycles', where),
      };
    }),
  };
}

export function parseHolesEvent(body: unknown): HolesEventBody {
  const b = object(body, HOLES_EVENT);
  return {
    holes: array(b, 'holes', HOLES_EVENT).map((h, k): HoleBody => {
      const where = `${HOLES_EVENT}.holes[${k}]`;
      const o = object(h, where);
      return {
        instruction: text(o, 'instruction', where),
        eip: count(o, 'eip', where),
        count: count(o, 'count', where),
        effect: text(o, 'effect', where),
        source: sourceLine(o, where),
      };
    }),
  };
}
