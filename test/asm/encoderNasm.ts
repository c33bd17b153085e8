/**
 * The reference for the encoder tests: requests written out as NASM source, assembled by the
 * real nasm in one run per batch, and read back line by line from nasm's listing (bytes,
 * errors, warnings) and, for lines with relocated fields, from the binary itself.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InstructionRequest, Operand } from '../../src/asm/operand';

/** A label at the start of every batch: relocatable values are written relative to it. */
export const ANCHOR = 'anchor';

function num(v: number): string {
  return v < 0 ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
}

/** A value as nasm text: a plain number, or the anchor label plus an offset when relocatable. */
function value(v: number, relocatable: boolean, org: number): string {
  return relocatable ? `(${ANCHOR}+${num(v - org)})` : num(v);
}

export function formatOperand(o: Operand, org: number): string {
  switch (o.kind) {
    case 'reg':
      return o.name;
    case 'imm': {
      if (o.value === undefined) throw new Error('an unknown value has no nasm text');
      const words = [o.strict ? 'strict' : '', o.size ?? '', o.distance ?? ''].filter((w) => w !== '');
      return [...words, value(o.value, o.relocatable === true, org)].join(' ');
    }
    case 'farptr': {
      if (o.segment === undefined || o.offset === undefined) throw new Error('an unknown value has no nasm text');
      return `${o.size ? o.size + ' ' : ''}${num(o.segment)}:${o.offsetSize ? o.offsetSize + ' ' : ''}${num(o.offset)}`;
    }
    case 'mem': {
      const terms: string[] = [];
      if (o.base !== undefined) terms.push(o.base);
      if (o.index !== undefined) terms.push(`${o.index}*${o.scale}`);
      if (o.disp === undefined) throw new Error('an unknown value has no nasm text');
      if (o.hasDisp || o.disp !== 0 || terms.length === 0) terms.push(value(o.disp, o.relocatable === true, org));
      const inner = [o.dispSize ?? '', o.nosplit ? 'nosplit' : '', `${o.segment ? o.segment + ':' : ''}${terms.join('+')}`]
        .filter((w) => w !== '').join(' ');
      const words = [o.size ?? '', o.distance ?? ''].filter((w) => w !== '');
      return [...words, `[${inner}]`].join(' ');
    }
  }
}

export function formatRequest(req: InstructionRequest, org = 0): string {
  const ops = req.operands.map((o) => formatOperand(o, org)).join(', ');
  return [...req.prefixes, req.mnemonic, ops].filter((w) => w !== '').join(' ');
}

export interface NasmLine {
  /** Bytes nasm produced, or undefined when the line had an error. */
  bytes: Uint8Array | undefined;
  /** Offset of the line in the output. */
  offset: number;
  errors: string[];
  warnings: string[];
  /** The listing shows a relocated or relative field ([...] or (...)): its bytes are in the binary only. */
  relocated: boolean;
}

interface ListedLine { offset: number; hex: string; errors: string[]; warnings: string[] }

function parseListing(text: string): Map<number, ListedLine> {
  const lines = new Map<number, ListedLine>();
  for (const row of text.split('\n')) {
    const m = /^ *(\d+) (.{8}) (.*)$/.exec(row);
    if (m === null) continue;
    const n = Number(m[1]);
    let entry = lines.get(n);
    if (entry === undefined) lines.set(n, entry = { offset: -1, hex: '', errors: [], warnings: [] });
    const diag = /\*{18}\s+(error|warning): (.*?)(?: \[-w[^\]]*\])?$/.exec(row);
    if (diag !== null) {
      (diag[1] === 'error' ? entry.errors : entry.warnings).push(diag[2]);
      continue;
    }
    if (!/^[0-9A-F]{8}$/.test(m[2])) continue;
    const hex = /^([0-9A-F[\]()]+)-?/.exec(m[3]);
    if (hex === null) continue;
    if (entry.offset < 0) entry.offset = parseInt(m[2], 16);
    entry.hex += hex[1];
  }
  return lines;
}

function hexBytes(hex: string): Uint8Array {
  const clean = hex.replace(/[[\]()]/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let k = 0; k < out.length; k++) out[k] = parseInt(clean.slice(2 * k, 2 * k + 2), 16);
  return out;
}

/** Errors in nasm's messages, by source line. */
function earlyErrors(messages: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const m of messages.matchAll(/^[^\n]*?:(\d+): error: (.*)$/gm)) {
    if (!out.has(Number(m[1]))) out.set(Number(m[1]), m[2]);
  }
  return out;
}

/**
 * Assembles `lines` (one instruction each) with nasm at `org` and returns what nasm made of
 * each; `trailer` follows the lines (e.g. another section). Some errors (address sizes,
 * segment overrides, syntax) stop nasm before its listing pass: those lines are taken from
 * its messages and left out of a new run. Lines with relocated fields are read from the
 * binary, which needs a run without any line nasm rejected.
 */
export function assembleWithNasm(lines: readonly string[], bits: 16 | 32, org = 0, trailer: readonly string[] = []): NasmLine[] {
  const dir = mkdtempSync(join(tmpdir(), 'encoder-nasm-'));
  try {
    const header = [`bits ${bits}`, `org ${num(org)}`, `${ANCHOR}:`];
    const run = (body: readonly string[], name: string): { listing: Map<number, ListedLine>; binary: Uint8Array | undefined; early: Map<number, string> } => {
      const src = join(dir, `${name}.asm`), lst = join(dir, `${name}.lst`), bin = join(dir, `${name}.bin`);
      writeFileSync(src, [...header, ...body, ...trailer, ''].join('\n'));
      const errFile = join(dir, `${name}.err`);
      rmSync(lst, { force: true });
      let ok = true;
      try {
        // -Z: messages to a file (thousands of them would overflow a pipe buffer).
        execFileSync('nasm', ['-f', 'bin', '-Z', errFile, '-l', lst, '-o', bin, src], { stdio: 'ignore' });
      } catch {
        ok = false;   // errors are in the listing, or only in the messages when nasm stopped early
      }
      if (!existsSync(lst)) return { listing: new Map(), binary: undefined, early: earlyErrors(readFileSync(errFile, 'latin1')) };
      return { listing: parseListing(readFileSync(lst, 'latin1')), binary: ok ? new Uint8Array(readFileSync(bin)) : undefined, early: new Map() };
    };
    const lineOf = (k: number): number => header.length + k + 1;

    const stopped = new Map<number, string>();
    let body = [...lines];
    let first = run(body, 'all');
    while (first.early.size > 0) {
      for (const [n, msg] of first.early) {
        const k = n - header.length - 1;
        if (k < 0 || k >= lines.length || body[k] === '') throw new Error(`nasm stopped at line ${n}: ${msg}`);
        stopped.set(k, msg);
        body[k] = '';
      }
      first = run(body, 'all');
    }

    const result: NasmLine[] = lines.map((_, k) => {
      const early = stopped.get(k);
      if (early !== undefined) return { bytes: undefined, offset: -1, errors: [early], warnings: [], relocated: false };
      const e = first.listing.get(lineOf(k)) ?? { offset: -1, hex: '', errors: [], warnings: [] };
      return {
        bytes: e.errors.length > 0 ? undefined : hexBytes(e.hex),
        offset: e.offset, errors: e.errors, warnings: e.warnings, relocated: /[[(]/.test(e.hex),
      };
    });
    if (!result.some((r) => r.relocated)) return result;

    // Relocated fields: take the bytes from a binary of the lines nasm accepted.
    body = lines.map((l, k) => (result[k].bytes === undefined ? '' : l));
    const second = run(body, 'ok');
    if (second.binary === undefined) throw new Error('nasm rejected lines it had accepted');
    lines.forEach((_, k) => {
      const e = second.listing.get(lineOf(k));
      if (result[k].bytes === undefined || e === undefined || e.offset < 0) return;
      const len = hexBytes(e.hex).length;
      result[k].bytes = second.binary!.slice(e.offset, e.offset + len);
      result[k].offset = e.offset;
    });
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function hex(bytes: Uint8Array | undefined): string {
  return bytes === undefined ? '-' : Buffer.from(bytes).toString('hex');
}
