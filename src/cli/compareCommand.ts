/**
 * `vtscope compare IMAGE [--json FILE] [--cost-model NAME] [--mem MIB] [--max-instructions N]`:
 * runs the image in every mode that applies and prints one table: mode, whether it gave the
 * same output as native (serial bytes and exit status), guest instructions, VMM events,
 * emulated cycles and the overhead against native. An ordinary kernel runs under native and
 * trap; a PV kernel (pvImage.ts) runs under pv only, as it needs the hypercalls. The modes
 * that do not exist yet are listed as such.
 */
import { closeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { MAX_RAM_MIB, MIN_RAM_MIB } from '../loader/multiboot';
import { isPvImage } from '../vmm/pv/pvImage';
import { createVmm, MODE_NAMES, type ModeName } from '../vmm/vmm';
import { assembleFile, formatDiagnostic, parseDefines } from './assembleFile';
import { AVAILABLE_MODES, parseCostModel, sourceOf } from './modeOptions';
import { openForWriting, readImage, wholeNumber } from './runCommand';
import { writeAll } from './stdoutSink';
import { EX_DATAERR, UsageError } from './usage';

/** A guest that never ends must not keep compare from ending. */
const DEFAULT_MAX_INSTRUCTIONS = 1_000_000_000;

export interface ModeRow {
  mode: ModeName;
  /** Whether the mode runs this image (false: not available yet, or not for this kind of kernel). */
  ran: boolean;
  note?: string;
  sameOutputAsNative?: boolean | null;
  exitCode?: number;
  haltReason?: string;
  instructions?: number;
  events?: number;
  cycles?: number;
  /** Cycles against native's, or null without a native run. */
  overhead?: number | null;
  holes?: number;
}

interface CompareOptions {
  image: string;
  json?: string;
  costModel: string;
  memoryMiB?: number;
  maxInstructions: number;
  defines: Record<string, string>;
  includePaths: string[];
}

function parseCompareArgs(args: string[]): CompareOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args, allowPositionals: true, strict: true,
      options: {
        json: { type: 'string' },
        'cost-model': { type: 'string' },
        mem: { type: 'string' },
        'max-instructions': { type: 'string' },
        define: { type: 'string', short: 'D', multiple: true },
        include: { type: 'string', short: 'I', multiple: true },
      },
    });
  } catch (e) {
    throw new UsageError(`compare: ${(e as Error).message.split('. ')[0]}`);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError(`compare: one IMAGE expected, got ${positionals.length}`);
  return {
    image: positionals[0],
    json: values.json,
    costModel: parseCostModel('compare', values['cost-model']),
    memoryMiB: values.mem === undefined ? undefined : wholeNumber('--mem', values.mem, MIN_RAM_MIB, MAX_RAM_MIB, 'compare'),
    maxInstructions: values['max-instructions'] === undefined ? DEFAULT_MAX_INSTRUCTIONS
      : wholeNumber('--max-instructions', values['max-instructions'], 1, Number.MAX_SAFE_INTEGER, 'compare'),
    defines: parseDefines('compare', values.define),
    includePaths: values.include ?? [],
  };
}

interface Outcome { output: Buffer; exitCode: number; row: ModeRow }

function runMode(mode: ModeName, image: Uint8Array, opts: CompareOptions, source?: (eip: number) => string | undefined): Outcome {
  const vmm = createVmm(mode, { memoryMiB: opts.memoryMiB, costModel: opts.costModel });
  if (source !== undefined) vmm.holes.sourceOf = source;
  const bytes: number[] = [];
  vmm.machine.onSerialOutput = (b) => bytes.push(b);
  vmm.load(image, { fileName: opts.image });
  const r = vmm.run({ maxInstructions: opts.maxInstructions });
  return {
    output: Buffer.from(bytes),
    exitCode: r.exitCode,
    row: {
      mode, ran: true, exitCode: r.exitCode, haltReason: r.haltReason, instructions: r.instructions,
      events: r.events, cycles: r.cycles, holes: vmm.holes.total,
      note: r.haltReason === 'exit' ? undefined : r.message,
    },
  };
}

/** Runs every mode that applies and compares them with native. */
export function compareModes(image: Uint8Array, opts: CompareOptions, source?: (eip: number) => string | undefined): ModeRow[] {
  const pv = isPvImage(image);
  const applies = (m: ModeName): boolean => (pv ? m === 'pv' : m !== 'pv');
  const rows: ModeRow[] = [];
  let native: Outcome | undefined;
  for (const mode of MODE_NAMES) {
    if (!applies(mode)) {
      rows.push({ mode, ran: false, note: pv ? 'a PV kernel runs under pv only' : 'not a PV kernel (no XEN_VER=xen-3.0 mark)' });
      continue;
    }
    if (!AVAILABLE_MODES.includes(mode)) { rows.push({ mode, ran: false, note: 'not available yet' }); continue; }
    const o = runMode(mode, image, opts, source);
    if (mode === 'native') native = o;
    o.row.sameOutputAsNative = native === undefined ? null : o.output.equals(native.output) && o.exitCode === native.exitCode;
    o.row.overhead = native === undefined ? null : o.row.cycles! / native.row.cycles!;
    rows.push(o.row);
  }
  return rows;
}

export function formatCompare(image: string, costModel: string, rows: ModeRow[]): string {
  const header = ['mode', 'same output as native', 'instructions', 'VMM events', 'emulated cycles', 'overhead', 'holes'];
  const cells = rows.map((r) => r.ran
    ? [r.mode, r.sameOutputAsNative === null ? 'n/a' : r.sameOutputAsNative ? 'yes' : 'no', String(r.instructions),
      String(r.events), String(r.cycles), r.overhead === null ? 'n/a' : `${r.overhead!.toFixed(2)}x`, String(r.holes)]
    : [r.mode, '-', '-', '-', '-', '-', '-']);
  const widths = header.map((h, k) => Math.max(h.length, ...cells.map((c) => c[k].length)));
  const line = (c: string[]): string => c.map((x, k) => (k === 0 || k === 1 ? x.padEnd(widths[k]) : x.padStart(widths[k]))).join('  ').trimEnd();
  // One line per note, naming every mode it concerns.
  const byNote = new Map<string, string[]>();
  for (const r of rows) if (r.note !== undefined) byNote.set(r.note, [...(byNote.get(r.note) ?? []), r.mode]);
  const notes = [...byNote].map(([note, modes]) => `  ${modes.join(', ')}: ${note}`);
  return [`${image} (cost model ${costModel})`, line(header), ...cells.map(line), ...(notes.length > 0 ? ['', ...notes] : [])].join('\n') + '\n';
}

export function compareCommand(args: string[]): number {
  const opts = parseCompareArgs(args);
  let image: Uint8Array;
  let source: ((eip: number) => string | undefined) | undefined;
  if (/\.asm$/i.test(opts.image)) {
    const assembled = assembleFile(opts.image, opts, 'compare');
    if (assembled.diagnostics.length > 0) writeAll(2, Buffer.from(assembled.diagnostics.map(formatDiagnostic).join('')));
    if (!assembled.ok) return EX_DATAERR;
    image = assembled.binary;
    source = sourceOf(assembled);
  } else {
    image = readImage(opts.image, 'compare');
  }
  const jsonFd = opts.json === undefined ? undefined : openForWriting(opts.json, 'compare');
  const rows = compareModes(image, opts, source);
  writeAll(1, Buffer.from(formatCompare(opts.image, opts.costModel, rows)));
  if (jsonFd !== undefined) {
    writeAll(jsonFd, Buffer.from(JSON.stringify({ image: opts.image, costModel: opts.costModel, modes: rows }, null, 2) + '\n'));
    closeSync(jsonFd);
  }
  return 0;
}
