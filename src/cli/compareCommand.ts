/**
 * `vtscope compare IMAGE [--json FILE] [--cost-model NAME] [--mem MIB] [--cpus N] [--max-instructions N]`:
 * runs the image in every mode that applies and prints one table: mode, whether it gave the
 * same output as native (serial bytes and exit status), guest instructions, VMM events,
 * emulated cycles and the overhead against native. An ordinary kernel runs under native, trap,
 * bt and hw (once with shadow page tables, once with EPT); a PV kernel (pvImage.ts) under pv
 * only, as it needs the hypercalls. A NASM source is also assembled with PARAVIRT defined (as
 * Linux kernels test CONFIG_PARAVIRT); if that gives a PV kernel, it is the pv row. With
 * several processors (`--cpus`) every mode but pv runs them, each as a virtual CPU.
 */
import { closeSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { MAX_RAM_MIB, MIN_RAM_MIB } from '../loader/multiboot';
import { MAX_CPUS } from '../machine/smp';
import { isPvImage } from '../vmm/pv/pvImage';
import type { MemVirtName } from '../vmm/hw/memoryVirtualization';
import { createVmm, type ModeName, type Vmm } from '../vmm/vmm';
import { assembleFile, formatDiagnostic, parseDefines } from './assembleFile';
import { parseCostModel, sourceOf } from './modeOptions';
import { openForWriting, readImage, wholeNumber } from './runCommand';
import { writeAll } from './stdoutSink';
import { EX_DATAERR, UsageError } from './usage';

/** A guest that never ends must not keep compare from ending. */
const DEFAULT_MAX_INSTRUCTIONS = 1_000_000_000;

export interface ModeRow {
  mode: ModeName;
  /** How `hw` virtualized memory in this row. */
  memVirt?: MemVirtName;
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
  /** The VMM's events and their cycles by kind ("vm exit", "hypercall", "page fault", ...). */
  byKind?: { kind: string; count: number; cycles: number }[];
}

interface CompareOptions {
  image: string;
  json?: string;
  costModel: string;
  memoryMiB?: number;
  cpus?: number;
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
        cpus: { type: 'string' },
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
    cpus: values.cpus === undefined ? undefined : wholeNumber('--cpus', values.cpus, 1, MAX_CPUS, 'compare'),
    maxInstructions: values['max-instructions'] === undefined ? DEFAULT_MAX_INSTRUCTIONS
      : wholeNumber('--max-instructions', values['max-instructions'], 1, Number.MAX_SAFE_INTEGER, 'compare'),
    defines: parseDefines('compare', values.define),
    includePaths: values.include ?? [],
  };
}

interface Outcome { output: Buffer; exitCode: number; row: ModeRow }

/** An image with its source lines, when it was assembled in process. */
export interface Build {
  image: Uint8Array;
  source?: (eip: number) => string | undefined;
}

/** The rows of the table: every mode, with hw once per way of virtualizing memory. */
const ROWS: readonly { mode: ModeName; memVirt?: MemVirtName }[] = [
  { mode: 'native' }, { mode: 'trap' }, { mode: 'bt' }, { mode: 'pv' },
  { mode: 'hw', memVirt: 'shadow' }, { mode: 'hw', memVirt: 'ept' },
];

function eventsByKind(vmm: Vmm): { kind: string; count: number; cycles: number }[] {
  const kinds = new Map<string, { kind: string; count: number; cycles: number }>();
  for (const r of vmm.log.counters()) {
    const k = kinds.get(r.kind) ?? { kind: r.kind, count: 0, cycles: 0 };
    k.count += r.count;
    k.cycles += r.cycles;
    kinds.set(r.kind, k);
  }
  return [...kinds.values()];
}

function runMode(mode: ModeName, memVirt: MemVirtName | undefined, build: Build, opts: CompareOptions): Outcome {
  const vmm = createVmm(mode, { memoryMiB: opts.memoryMiB, cpus: opts.cpus, costModel: opts.costModel, memVirt });
  if (build.source !== undefined) vmm.holes.sourceOf = build.source;
  const bytes: number[] = [];
  vmm.machine.onSerialOutput = (b) => bytes.push(b);
  vmm.load(build.image, { fileName: opts.image });
  const r = vmm.run({ maxInstructions: opts.maxInstructions });
  return {
    output: Buffer.from(bytes),
    exitCode: r.exitCode,
    row: {
      mode, memVirt, ran: true, exitCode: r.exitCode, haltReason: r.haltReason, instructions: r.instructions,
      events: r.events, cycles: r.cycles, holes: vmm.holes.total, byKind: eventsByKind(vmm),
      note: r.haltReason === 'exit' ? undefined : r.message,
    },
  };
}

/**
 * Runs every mode that applies and compares them with native. `pvBuild` is the same kernel
 * built for pv, for an ordinary kernel that has one.
 */
export function compareModes(build: Build, opts: CompareOptions, pvBuild?: Build | string): ModeRow[] {
  const pvOnly = isPvImage(build.image);
  const rows: ModeRow[] = [];
  let native: Outcome | undefined;
  for (const { mode, memVirt } of ROWS) {
    const b = mode === 'pv' && !pvOnly ? pvBuild : build;
    if (mode === 'pv' && (opts.cpus ?? 1) > 1) {
      rows.push({ mode, memVirt, ran: false, note: `pv runs one virtual CPU, not ${opts.cpus}` });
      continue;
    }
    if (b === undefined || typeof b === 'string' || (pvOnly && mode !== 'pv')) {
      const note = pvOnly ? 'a PV kernel runs under pv only'
        : typeof b === 'string' ? b : 'not a PV kernel (no XEN_VER=xen-3.0 mark, no PARAVIRT build)';
      rows.push({ mode, memVirt, ran: false, note });
      continue;
    }
    const o = runMode(mode, memVirt, b, opts);
    if (mode === 'native') native = o;
    o.row.sameOutputAsNative = native === undefined ? null : o.output.equals(native.output) && o.exitCode === native.exitCode;
    o.row.overhead = native === undefined ? null : o.row.cycles! / native.row.cycles!;
    rows.push(o.row);
  }
  return rows;
}

/** The row's name in the table: the mode, and for hw how it virtualized memory. */
export function rowName(r: ModeRow): string {
  return r.memVirt === undefined ? r.mode : `${r.mode} (${r.memVirt})`;
}

export function formatCompare(image: string, costModel: string, rows: ModeRow[]): string {
  const header = ['mode', 'same output as native', 'instructions', 'VMM events', 'emulated cycles', 'overhead', 'holes'];
  const cells = rows.map((r) => r.ran
    ? [rowName(r), r.sameOutputAsNative === null ? 'n/a' : r.sameOutputAsNative ? 'yes' : 'no', String(r.instructions),
      String(r.events), String(r.cycles), r.overhead === null ? 'n/a' : `${r.overhead!.toFixed(2)}x`, String(r.holes)]
    : [rowName(r), '-', '-', '-', '-', '-', '-']);
  const widths = header.map((h, k) => Math.max(h.length, ...cells.map((c) => c[k].length)));
  const line = (c: string[]): string => c.map((x, k) => (k === 0 || k === 1 ? x.padEnd(widths[k]) : x.padStart(widths[k]))).join('  ').trimEnd();
  // One line per note, naming every mode it concerns.
  const byNote = new Map<string, string[]>();
  for (const r of rows) if (r.note !== undefined) byNote.set(r.note, [...(byNote.get(r.note) ?? []), rowName(r)]);
  const notes = [...byNote].map(([note, modes]) => `  ${modes.join(', ')}: ${note}`);
  return [`${image} (cost model ${costModel})`, line(header), ...cells.map(line), ...(notes.length > 0 ? ['', ...notes] : [])].join('\n') + '\n';
}

function assembleBuild(opts: CompareOptions, defines: Record<string, string>): Build | undefined {
  const assembled = assembleFile(opts.image, { defines, includePaths: opts.includePaths }, 'compare');
  if (assembled.diagnostics.length > 0) writeAll(2, Buffer.from(assembled.diagnostics.map(formatDiagnostic).join('')));
  if (!assembled.ok) return undefined;
  return { image: assembled.binary, source: sourceOf(assembled) };
}

/**
 * The source's PV build: the source assembled with PARAVIRT defined, if that gives a PV kernel.
 * A source that refuses to build for pv (an %error under PARAVIRT) has none: the reason is the note.
 */
function paravirtBuild(opts: CompareOptions): Build | string | undefined {
  const assembled = assembleFile(opts.image, { defines: { ...opts.defines, PARAVIRT: '' }, includePaths: opts.includePaths }, 'compare');
  if (!assembled.ok) {
    const error = assembled.diagnostics.find((d) => d.severity === 'error');
    return `no PV build: with PARAVIRT defined, ${error === undefined ? 'assembly fails' : `${basename(error.location.file)}:${error.location.line}: ${error.message}`}`;
  }
  return isPvImage(assembled.binary) ? { image: assembled.binary, source: sourceOf(assembled) } : undefined;
}

export function compareCommand(args: string[]): number {
  const opts = parseCompareArgs(args);
  let build: Build | undefined;
  let pvBuild: Build | string | undefined;
  if (/\.asm$/i.test(opts.image)) {
    build = assembleBuild(opts, opts.defines);
    if (build === undefined) return EX_DATAERR;
    if (!isPvImage(build.image)) pvBuild = paravirtBuild(opts);
  } else {
    build = { image: readImage(opts.image, 'compare') };
  }
  const jsonFd = opts.json === undefined ? undefined : openForWriting(opts.json, 'compare');
  const rows = compareModes(build, opts, pvBuild);
  writeAll(1, Buffer.from(formatCompare(opts.image, opts.costModel, rows)));
  if (jsonFd !== undefined) {
    writeAll(jsonFd, Buffer.from(JSON.stringify({ image: opts.image, costModel: opts.costModel, modes: rows }, null, 2) + '\n'));
    closeSync(jsonFd);
  }
  return 0;
}
