/**
 * The JSON that `vtscope compare IMAGE --json FILE` writes (src/cli/compareCommand.ts), read
 * field by field because it comes from another process, and turned into what the "Mode
 * Comparison" webview shows: one table row per mode and one stacked bar per mode that ran,
 * its cycles split into the guest's own instructions and the VMM's events by kind.
 */

/** VMM event cycles of one event kind ("vm exit", "hypercall", ...) in one mode. */
export interface KindCycles {
  kind: string;
  count: number;
  cycles: number;
}

export interface ModeResult {
  mode: string;
  /** How `hw` virtualized memory in this row ("ept", "shadow"). */
  memVirt?: string;
  ran: boolean;
  note?: string;
  sameOutputAsNative?: boolean | null;
  instructions?: number;
  events?: number;
  cycles?: number;
  overhead?: number | null;
  holes?: number;
  /** The event cycles by kind, when this vtscope itemizes them. */
  byKind?: KindCycles[];
}

export interface CompareReport {
  image: string;
  costModel: string;
  modes: ModeResult[];
}

/** A compare report that does not have the documented shape; the message names the file and field. */
export class CompareReportError extends Error {
  override readonly name = 'CompareReportError';
}

type Fields = Record<string, unknown>;

class Reader {
  constructor(private readonly file: string) {}

  fail(where: string, what: string): never {
    throw new CompareReportError(`${this.file}: ${where} ${what}`);
  }

  object(v: unknown, where: string): Fields {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(where, 'must be an object');
    return v as Fields;
  }

  array(o: Fields, key: string, where: string): unknown[] {
    const v = o[key];
    if (!Array.isArray(v)) this.fail(`${where}.${key}`, 'must be an array');
    return v;
  }

  text(o: Fields, key: string, where: string): string {
    const v = o[key];
    if (typeof v !== 'string') this.fail(`${where}.${key}`, `must be a string, not ${JSON.stringify(v)}`);
    return v;
  }

  count(o: Fields, key: string, where: string): number {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) this.fail(`${where}.${key}`, `must be a whole number, not ${JSON.stringify(v)}`);
    return v;
  }

  optionalCount(o: Fields, key: string, where: string): number | undefined {
    return o[key] === undefined ? undefined : this.count(o, key, where);
  }
}

export function parseCompareReport(json: string, file: string): CompareReport {
  const r: Reader = new Reader(file);
  let body: unknown;
  try {
    body = JSON.parse(json);
  } catch (e) {
    throw new CompareReportError(`${file}: not JSON: ${(e as Error).message}`);
  }
  const top = r.object(body, 'the report');
  const modes = r.array(top, 'modes', 'the report').map((m, k): ModeResult => {
    const where = `modes[${k}]`;
    const o = r.object(m, where);
    if (typeof o.ran !== 'boolean') r.fail(`${where}.ran`, 'must be true or false');
    const result: ModeResult = { mode: r.text(o, 'mode', where), ran: o.ran };
    if (o.memVirt !== undefined) result.memVirt = r.text(o, 'memVirt', where);
    if (o.note !== undefined) result.note = r.text(o, 'note', where);
    if (!o.ran) return result;
    if (o.sameOutputAsNative !== null && typeof o.sameOutputAsNative !== 'boolean') r.fail(`${where}.sameOutputAsNative`, 'must be true, false or null');
    if (o.overhead !== null && (typeof o.overhead !== 'number' || !(o.overhead >= 0))) r.fail(`${where}.overhead`, 'must be a number or null');
    result.sameOutputAsNative = o.sameOutputAsNative;
    result.overhead = o.overhead;
    result.instructions = r.count(o, 'instructions', where);
    result.events = r.count(o, 'events', where);
    result.cycles = r.count(o, 'cycles', where);
    result.holes = r.optionalCount(o, 'holes', where);
    if (o.byKind !== undefined) {
      result.byKind = r.array(o, 'byKind', where).map((b, j): KindCycles => {
        const w = `${where}.byKind[${j}]`;
        const f = r.object(b, w);
        return { kind: r.text(f, 'kind', w), count: r.count(f, 'count', w), cycles: r.count(f, 'cycles', w) };
      });
      const eventCycles = result.byKind.reduce((sum, b) => sum + b.cycles, 0);
      if (eventCycles > result.cycles) r.fail(`${where}.byKind`, `adds up to ${eventCycles} cycles, more than the mode's ${result.cycles}`);
    }
    return result;
  });
  return { image: r.text(top, 'image', 'the report'), costModel: r.text(top, 'costModel', 'the report'), modes };
}

export interface TableRow {
  mode: string;
  sameOutput: string;
  instructions: string;
  events: string;
  cycles: string;
  overhead: string;
  holes: string;
  note?: string;
}

export interface BarSegment {
  /** What the cycles were spent on: "guest instructions" or an event kind. */
  series: string;
  cycles: number;
}

export interface Bar {
  label: string;
  segments: BarSegment[];
}

export interface ComparisonModel {
  title: string;
  table: TableRow[];
  bars: Bar[];
  /** Every series in the bars, in legend order. */
  series: string[];
  /** Modes whose cycles are not itemized by kind (a vtscope compare without `byKind`). */
  unitemized: string[];
}

export const GUEST_SERIES = 'guest instructions';
export const UNITEMIZED_SERIES = 'all cycles (not itemized)';

const thousands = new Intl.NumberFormat('en-US');

function sameOutput(m: ModeResult): string {
  if (!m.ran) return '-';
  return m.sameOutputAsNative === null || m.sameOutputAsNative === undefined ? 'n/a' : m.sameOutputAsNative ? 'yes' : 'no';
}

/** The row's name, as the CLI's table prints it: the mode, and for hw how it virtualized memory. */
export function rowName(m: ModeResult): string {
  return m.memVirt === undefined ? m.mode : `${m.mode} (${m.memVirt})`;
}

function bar(m: ModeResult): Bar {
  const cycles = m.cycles ?? 0;
  // Without events, every cycle is the guest's own, itemized or not.
  if (m.byKind === undefined && m.events === 0) return { label: rowName(m), segments: cycles === 0 ? [] : [{ series: GUEST_SERIES, cycles }] };
  if (m.byKind === undefined) return { label: rowName(m), segments: cycles === 0 ? [] : [{ series: UNITEMIZED_SERIES, cycles }] };
  const events = m.byKind.filter((b) => b.cycles > 0).sort((a, b) => b.cycles - a.cycles || a.kind.localeCompare(b.kind));
  // Every cycle that no VMM event charged went to running the guest's instructions.
  const guest = cycles - events.reduce((sum, b) => sum + b.cycles, 0);
  const segments = [{ series: GUEST_SERIES, cycles: guest }, ...events.map((b) => ({ series: b.kind, cycles: b.cycles }))];
  return { label: rowName(m), segments: segments.filter((s) => s.cycles > 0) };
}

export function comparisonModel(report: CompareReport): ComparisonModel {
  const table = report.modes.map((m): TableRow => ({
    mode: rowName(m),
    sameOutput: sameOutput(m),
    instructions: m.ran ? thousands.format(m.instructions!) : '-',
    events: m.ran ? thousands.format(m.events!) : '-',
    cycles: m.ran ? thousands.format(m.cycles!) : '-',
    overhead: !m.ran ? '-' : m.overhead === null || m.overhead === undefined ? 'n/a' : `${m.overhead.toFixed(2)}x`,
    holes: m.ran && m.holes !== undefined ? thousands.format(m.holes) : '-',
    note: m.note,
  }));
  const ran = report.modes.filter((m) => m.ran);
  const bars = ran.map(bar);
  const series: string[] = [];
  for (const b of bars) for (const s of b.segments) if (!series.includes(s.series)) series.push(s.series);
  return {
    title: `${report.image} (cost model ${report.costModel})`,
    table,
    bars,
    series,
    unitemized: ran.filter((m) => m.byKind === undefined && (m.events ?? 0) > 0).map(rowName),
  };
}
