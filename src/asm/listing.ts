/**
 * The listing, laid out like `nasm -l` (asm/listing.c): line number, section offset, up to
 * 18 hex digits of output per row (longer output continues on rows ending in `-`), and the
 * source text. Addresses nasm leaves to the output format are shown in brackets with their
 * section-relative value (`[00100000]`), relative branches to another section or to an
 * absolute address in parentheses, reserved space as `<res 10h>`, repetitions as `<rep 5h>`.
 * Lines of `.nolist` macros (nasm's standard ones: `align`, `section`, ...) are not listed;
 * their output goes on the line that used them.
 */
import type { CoreResult, Emission, ListChunk } from './assembler';
import type { EncodeContext, InstructionRequest, Operand } from './operand';
import type { Diagnostic, ExpandedLine } from './source';
import type { I64 } from './int64';
import * as i64 from './int64';

const HEX_WIDTH = 18;

/** Returns a file's text, or undefined when it cannot be read. */
export type SourceText = (file: string) => string | undefined;

interface Row {
  lineNo: number;
  level: number;
  text: string;
  pieces: { offset: number; text: string }[];
  diagnostics: Diagnostic[];
}

export function formatListing(core: CoreResult, sourceText: SourceText, entryFile: string): string {
  const files = new Map<string, string[] | undefined>();
  const fileLines = (file: string): string[] | undefined => {
    if (!files.has(file)) files.set(file, sourceText(file)?.replace(/(\r\n|\r|\n)$/, '').split(/\r\n|\r|\n/));
    return files.get(file);
  };
  const rows: Row[] = [];
  const listedUpTo = new Map<string, number>();
  const rowOf = new Map<string, Row>();
  // Include depth of each file: one more than the file whose lines came just before its first.
  const levels = new Map<string, number>([[entryFile, 0]]);
  let currentFile = entryFile;
  const levelOf = (file: string): number => levels.get(file) ?? 1;

  /** A file appears for the first time: list its includer up to the %include line, one level down. */
  const enterFile = (file: string): void => {
    if (levels.has(file)) return;
    levels.set(file, levelOf(currentFile) + 1);
    const text = fileLines(currentFile);
    const base = file.slice(file.lastIndexOf('/') + 1);
    if (text === undefined) return;
    for (let n = (listedUpTo.get(currentFile) ?? 0) + 1; n <= text.length; n++) {
      if (/^\s*%\s*(?:include|require)\b/i.test(text[n - 1]) && text[n - 1].includes(base)) {
        listUpTo(currentFile, n);
        return;
      }
    }
  };

  /** Lists the lines of `file` the preprocessor consumed (comments, directives) up to `line`. */
  const listUpTo = (file: string, line: number): void => {
    const text = fileLines(file);
    if (text === undefined) return;
    for (let n = (listedUpTo.get(file) ?? 0) + 1; n <= line && n <= text.length; n++) {
      const row: Row = { lineNo: n, level: levelOf(file), text: text[n - 1], pieces: [], diagnostics: [] };
      rows.push(row);
      rowOf.set(`${file}:${n}`, row);
    }
    listedUpTo.set(file, Math.max(listedUpTo.get(file) ?? 0, line));
  };

  /** The row a line's output goes on: its own source line, or a row for the macro body line it came from. */
  const rowFor = (line: ExpandedLine): Row => {
    const { file, line: lineNo } = line.location;
    enterFile(file);
    currentFile = file;
    listUpTo(file, lineNo - 1);
    let row = rowOf.get(`${file}:${lineNo}`);
    if (row === undefined || (listedUpTo.get(file) ?? 0) < lineNo) {
      row = { lineNo, level: levelOf(file), text: fileLines(file)?.[lineNo - 1] ?? line.text, pieces: [], diagnostics: [] };
      rows.push(row);
      rowOf.set(`${file}:${lineNo}`, row);
      listedUpTo.set(file, lineNo);
    }
    const body = line.expansion?.[line.expansion.length - 1];
    if (body === undefined) return row;
    const expanded: Row = { lineNo: body.line, level: row.level + line.expansion!.length, text: line.text, pieces: [], diagnostics: [] };
    rows.push(expanded);
    return expanded;
  };

  const emissions = new Map<number, Emission>();
  for (const e of core.emissions) emissions.set(e.statement, e);
  core.lines.forEach((line, i) => {
    if (core.unlisted.has(i)) return;
    const row = rowFor(line);
    const e = emissions.get(i);
    if (e) row.pieces.push(...emissionPieces(e, core));
    row.diagnostics.push(...(core.lineDiagnostics.get(i) ?? []));
  });
  for (const [file] of listedUpTo) listUpTo(file, Infinity);

  const out: string[] = [];
  for (const row of rows) writeRow(row, out);
  return out.join('\n') + (out.length ? '\n' : '');
}

function hex(v: number, digits: number): string {
  return v.toString(16).toUpperCase().padStart(digits, '0');
}

function levelText(level: number): string {
  return level ? `${level < 10 ? ' ' : ''}<${level}>` : '';
}

/** list_emit: rows of at most 18 hex digits; a piece that does not fit starts a new row after a `-`. */
function writeRow(row: Row, out: string[]): void {
  const lineNo = String(row.lineNo).padStart(6);
  const level = levelText(row.level);
  let data = '', offset = 0, first = true;
  const emit = (): void => {
    if (data !== '') {
      const head = `${lineNo} ${hex(offset >>> 0, 8)} ${data.padEnd(HEX_WIDTH + 1)}`;
      out.push(first ? `${head}${level || '    '} ${row.text}` : `${head}${level}`);
    } else {
      out.push(`${lineNo} ${' '.repeat(HEX_WIDTH + 10)}${level || '    '} ${row.text}`);
    }
    first = false;
    data = '';
  };
  for (const p of row.pieces) {
    if (data.length + p.text.length > HEX_WIDTH) {
      data += '-';
      emit();
    }
    if (data === '') offset = p.offset;
    data += p.text;
  }
  if (data !== '' || first) emit();
  for (const d of row.diagnostics) {
    out.push(`${lineNo}          ${'*'.repeat(HEX_WIDTH)}${row.level ? ` ${levelText(row.level)}` : '     '}  ${d.severity}: ${d.message}`);
  }
}

function bytesHex(v: I64, size: number): string {
  const b = new Uint8Array(size);
  i64.writeLE(b, 0, v, size);
  return Array.from(b, (x) => hex(x, 2)).join('');
}

function sizeTag(tag: string, size: number): string {
  return `<${tag} ${size.toString(16).toUpperCase()}h>`;
}

/** The listing pieces of one statement's output, each with its offset. */
function emissionPieces(e: Emission, core: CoreResult): { offset: number; text: string }[] {
  const pieces: { offset: number; text: string }[] = [];
  let offset = e.offset;
  const raw = (bytes: Uint8Array): void => {
    for (const b of bytes) pieces.push({ offset: offset++, text: hex(b, 2) });
  };
  const chunk = (c: ListChunk): void => {
    switch (c.kind) {
      case 'raw': raw(c.bytes); return;
      case 'addr': pieces.push({ offset, text: `[${bytesHex(c.value, c.size)}]` }); offset += c.size; return;
      case 'rel': pieces.push({ offset, text: `(${bytesHex(c.value, c.size)})` }); offset += c.size; return;
      case 'reserve':
        if (c.size > 8) pieces.push({ offset, text: sizeTag('res', c.size) });
        else if (c.size > 0) pieces.push({ offset, text: '??'.repeat(c.size) });
        offset += c.size;
        return;
    }
  };
  if (e.incbin !== undefined) {
    pieces.push({ offset, text: sizeTag('bin', e.incbin) });
    const times = e.length / Math.max(1, e.incbin);
    if (e.incbin > 0 && times > 1) pieces.push({ offset, text: sizeTag('rep', times) });
    return pieces;
  }
  if (e.instruction) {
    for (const c of instructionChunks(e.instruction, core)) chunk(c);
  } else {
    for (const c of e.chunks) chunk(c);
  }
  if (e.repeat !== undefined && e.length > 0) pieces.push({ offset: e.offset, text: sizeTag('rep', e.repeat) });
  return pieces;
}

/**
 * Splits an instruction's bytes into plain bytes and the fields nasm lists as addresses. The
 * encoder reports only bytes, so a field is found by encoding again with that operand's value
 * changed in every byte and seeing which bytes follow it.
 */
function instructionChunks(insn: NonNullable<Emission['instruction']>, core: CoreResult): ListChunk[] {
  const { bytes } = insn;
  const fields: { start: number; end: number; chunk: ListChunk }[] = [];
  for (const f of insn.fields) {
    const range = locateField(insn.request, insn.context, f.operand, bytes, core);
    if (range === undefined) continue;
    const size = range[1] - range[0];
    fields.push({ start: range[0], end: range[1], chunk: { kind: f.kind, value: f.value, size } });
  }
  fields.sort((a, b) => a.start - b.start);
  const chunks: ListChunk[] = [];
  let at = 0;
  for (const f of fields) {
    if (f.start < at) continue;
    if (f.start > at) chunks.push({ kind: 'raw', bytes: bytes.subarray(at, f.start) });
    chunks.push(f.chunk);
    at = f.end;
  }
  if (at < bytes.length) chunks.push({ kind: 'raw', bytes: bytes.subarray(at) });
  return chunks;
}

function perturbed(req: InstructionRequest, index: number, mask: number): InstructionRequest {
  const operands = req.operands.map((o, i): Operand => {
    if (i !== index) return o;
    switch (o.kind) {
      case 'imm': return { ...o, value: o.value === undefined ? undefined : (o.value ^ mask) | 0 };
      case 'mem': return { ...o, disp: o.disp === undefined ? undefined : (o.disp ^ mask) | 0 };
      case 'farptr': return { ...o, offset: o.offset === undefined ? undefined : (o.offset ^ mask) | 0 };
      default: return o;
    }
  });
  return { ...req, operands };
}

/** The bytes that change when the operand's value changes (two different changes, for carries). */
function locateField(req: InstructionRequest, ctx: EncodeContext, index: number, bytes: Uint8Array, core: CoreResult): [number, number] | undefined {
  let first = -1, last = -1;
  for (const masks of [[0x5a5a5a5a, 0x3c3c3c3c], [0x5a5a, 0x3c3c], [0x5a, 0x3c]]) {
    for (const mask of masks) {
      const r = core.instructionSet.encode(perturbed(req, index, mask), { ...ctx, final: false });
      if (!r.ok || r.bytes.length !== bytes.length) continue;
      for (let i = 0; i < bytes.length; i++) {
        if (r.bytes[i] === bytes[i]) continue;
        if (first < 0 || i < first) first = i;
        if (i > last) last = i;
      }
    }
    if (first >= 0) return [first, last + 1];
  }
  return undefined;
}
