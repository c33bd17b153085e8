/**
 * The DWARF line number program (.debug_line, DWARF 2 to 5, section 6.2 of the DWARF 5
 * standard): unit headers with their directory and file tables (the DWARF 5 entry formats
 * included), and the state machine that turns the opcodes into rows of address, file and line.
 * As `gcc -m32 -g` (DWARF 5 by default since gcc 11) and `nasm -f elf32 -g -F dwarf` (DWARF 2)
 * write them; anything malformed raises a DebugInfoError naming the offset.
 */
import { isAbsolute, join, normalize } from 'node:path';
import type { LineRow } from './sourceMap';
import { DW_FORM, DwarfReader, readForm, stringAt, type UnitFormat } from './dwarfReader';

export interface LineSections {
  debugLine: Uint8Array;
  /** DWARF 5 DW_FORM_line_strp strings. */
  debugLineStr?: Uint8Array;
  /** DW_FORM_strp strings. */
  debugStr?: Uint8Array;
}

export interface LineProgramOptions {
  /** Names the file in error messages. */
  fileName: string;
  /**
   * The compilation directory of the unit whose line program starts at a .debug_line offset
   * (DW_AT_comp_dir of the unit with that DW_AT_stmt_list): relative paths of DWARF 2-4 are
   * relative to it. DWARF 5 tables carry it themselves as directory 0.
   */
  compDirs?: ReadonlyMap<number, string>;
  /** Where relative paths go when no compilation directory is known. */
  baseDir: string;
}

const DW_LNS_copy = 1, DW_LNS_advance_pc = 2, DW_LNS_advance_line = 3, DW_LNS_set_file = 4,
  DW_LNS_set_column = 5, DW_LNS_negate_stmt = 6, DW_LNS_set_basic_block = 7, DW_LNS_const_add_pc = 8,
  DW_LNS_fixed_advance_pc = 9, DW_LNS_set_prologue_end = 10, DW_LNS_set_epilogue_begin = 11, DW_LNS_set_isa = 12;
const DW_LNE_end_sequence = 1, DW_LNE_set_address = 2, DW_LNE_define_file = 3, DW_LNE_set_discriminator = 4;
const DW_LNCT_path = 1, DW_LNCT_directory_index = 2;

interface UnitHeader extends UnitFormat {
  minInstLength: number;
  maxOpsPerInst: number;
  defaultIsStmt: boolean;
  lineBase: number;
  lineRange: number;
  opcodeBase: number;
  standardOpcodeLengths: number[];
  /** Absolute directory paths by index. */
  dirs: string[];
  /** Absolute file paths by the index the line program uses. */
  files: (string | undefined)[];
}

/** All rows of all line programs in `.debug_line`, sequence by sequence, each ending with an end_sequence row. */
export function readLineRows(sections: LineSections, opts: LineProgramOptions): LineRow[] {
  const r = new DwarfReader(sections.debugLine, `${opts.fileName}: .debug_line`);
  const rows: LineRow[] = [];
  while (!r.atEnd) {
    const unitOffset = r.pos;
    const { end, dwarf64 } = r.unitLength();
    const header = readHeader(r, unitOffset, end, dwarf64, sections, opts);
    runProgram(new DwarfReader(r.data, r.where, r.pos, end), header, rows);
    r.pos = end;
  }
  return rows;
}

function readHeader(r: DwarfReader, unitOffset: number, unitEnd: number, dwarf64: boolean,
  sections: LineSections, opts: LineProgramOptions): UnitHeader {
  const versionAt = r.pos;
  const version = r.u16();
  if (version < 2 || version > 5) r.fail(`line table version ${version} is not DWARF 2 to 5`, versionAt);
  let addressSize = 4;
  if (version >= 5) {
    addressSize = r.u8();
    const segmentSelectorSize = r.u8();
    if (segmentSelectorSize !== 0) r.fail(`segment selector size ${segmentSelectorSize} is not supported`);
  }
  const headerLength = r.offset(dwarf64);
  const programStart = r.pos + headerLength;
  if (programStart > unitEnd) r.fail(`header length 0x${headerLength.toString(16)} runs past the end of the unit`);
  const h = new DwarfReader(r.data, r.where, r.pos, programStart);
  const minInstLength = h.u8();
  const maxOpsPerInst = version >= 4 ? h.u8() : 1;
  if (maxOpsPerInst !== 1) h.fail(`maximum_operations_per_instruction ${maxOpsPerInst}: VLIW line tables are not supported`);
  const defaultIsStmt = h.u8() !== 0;
  const lineBase = h.i8();
  const lineRange = h.u8();
  if (lineRange === 0) h.fail('line_range is 0');
  const opcodeBase = h.u8();
  if (opcodeBase === 0) h.fail('opcode_base is 0');
  const standardOpcodeLengths: number[] = [];
  for (let k = 1; k < opcodeBase; k++) standardOpcodeLengths.push(h.u8());

  const unit: UnitFormat = { version, addressSize, dwarf64 };
  const compDir = opts.compDirs?.get(unitOffset) ?? opts.baseDir;
  const absolute = (dir: string, path: string): string => normalize(isAbsolute(path) ? path : join(dir, path));
  let dirs: string[], files: (string | undefined)[];
  if (version >= 5) {
    const rawDirs = readEntryTable(h, unit, sections, 'directory');
    const dir0 = rawDirs[0]?.path === undefined ? compDir : absolute(compDir, rawDirs[0].path);
    dirs = rawDirs.map((d, k) => (k === 0 ? dir0 : absolute(dir0, d.path ?? '')));
    files = readEntryTable(h, unit, sections, 'file').map((f) => {
      if (f.path === undefined) return undefined;
      const dir = dirs[f.dir ?? 0];
      if (dir === undefined) h.fail(`file ${f.path} names directory ${f.dir}, beyond the ${dirs.length} of the table`);
      return absolute(dir, f.path);
    });
  } else {
    // Directory 0 is the compilation directory; the table lists directories 1 and up.
    dirs = [compDir];
    for (let d = h.cstring(); d !== ''; d = h.cstring()) dirs.push(absolute(compDir, d));
    files = [undefined];   // file numbers start at 1
    for (let f = h.cstring(); f !== ''; f = h.cstring()) files.push(legacyFile(h, f, dirs, absolute));
  }
  r.pos = programStart;   // past anything newer versions may add to the header
  return { ...unit, minInstLength, maxOpsPerInst, defaultIsStmt, lineBase, lineRange, opcodeBase, standardOpcodeLengths, dirs, files };
}

/** A DWARF 2-4 file entry after its name: directory index, modification time, length. */
function legacyFile(h: DwarfReader, name: string, dirs: string[], absolute: (dir: string, path: string) => string): string {
  const dirIndex = h.uleb();
  h.uleb();
  h.uleb();
  const dir = dirs[dirIndex];
  if (dir === undefined) h.fail(`file ${name} names directory ${dirIndex}, beyond the ${dirs.length} of the table`);
  return absolute(dir, name);
}

/** A DWARF 5 directory or file name table: its entry format, then the entries (6.2.4.1). */
function readEntryTable(h: DwarfReader, unit: UnitFormat, sections: LineSections, what: string): { path?: string; dir?: number }[] {
  const formatCount = h.u8();
  const format: [number, number][] = [];
  for (let k = 0; k < formatCount; k++) format.push([h.uleb(), h.uleb()]);
  const count = h.uleb();
  const entries: { path?: string; dir?: number }[] = [];
  for (let n = 0; n < count; n++) {
    const entry: { path?: string; dir?: number } = {};
    for (const [contentType, form] of format) {
      const at = h.pos;
      const value = readForm(h, form, unit);
      if (contentType === DW_LNCT_path) {
        entry.path = pathValue(h, form, value, sections, at, what);
      } else if (contentType === DW_LNCT_directory_index) {
        if (typeof value !== 'number') h.fail(`${what} ${n}: directory index of form 0x${form.toString(16)} is not a constant`, at);
        entry.dir = value;
      }
    }
    entries.push(entry);
  }
  return entries;
}

function pathValue(h: DwarfReader, form: number, value: number | string | undefined, sections: LineSections,
  at: number, what: string): string {
  if (typeof value === 'string') return value;
  const where = `${h.where} at offset 0x${at.toString(16)}`;
  if (form === DW_FORM.line_strp) return stringAt(sections.debugLineStr, '.debug_line_str', value ?? 0, where);
  if (form === DW_FORM.strp) return stringAt(sections.debugStr, '.debug_str', value ?? 0, where);
  return h.fail(`${what} name of form 0x${form.toString(16)} is not supported`, at);
}

/** Runs the line number program of one unit, appending its rows (6.2.5). */
function runProgram(r: DwarfReader, u: UnitHeader, out: LineRow[]): void {
  let address = 0, file = 1, line = 1, isStmt = u.defaultIsStmt;
  const sequence: LineRow[] = [];
  const fileName = (at: number): string => {
    const f = u.files[file];
    if (f === undefined) r.fail(`the line program uses file ${file}, which the file table does not have`, at);
    return f;
  };
  const emit = (endSequence: boolean, at: number): void => {
    sequence.push({ address: address >>> 0, file: fileName(at), line, isStmt, endSequence });
  };
  const advance = (operationAdvance: number): void => { address = (address + operationAdvance * u.minInstLength) >>> 0; };
  while (!r.atEnd) {
    const at = r.pos;
    const op = r.u8();
    if (op >= u.opcodeBase) {
      // Special opcode: advance address and line together, then append a row.
      const adjusted = op - u.opcodeBase;
      advance(Math.floor(adjusted / u.lineRange));
      line += u.lineBase + (adjusted % u.lineRange);
      emit(false, at);
      continue;
    }
    switch (op) {
      case 0: {
        const length = r.uleb();
        if (length === 0) r.fail('extended opcode of length 0', at);
        const end = r.pos + length;
        if (end > r.end) r.fail(`extended opcode of length ${length} runs past the end of the unit`, at);
        const sub = r.u8();
        if (sub === DW_LNE_end_sequence) {
          emit(true, at);
          out.push(...sequence);
          sequence.length = 0;
          address = 0; file = 1; line = 1; isStmt = u.defaultIsStmt;
        } else if (sub === DW_LNE_set_address) {
          address = r.uint(length - 1) >>> 0;
        } else if (sub === DW_LNE_define_file && u.version <= 4) {
          u.files.push(legacyFile(r, r.cstring(), u.dirs, (dir, path) => normalize(isAbsolute(path) ? path : join(dir, path))));
        } else if (sub === DW_LNE_set_discriminator) {
          r.uleb();
        }
        r.pos = end;   // unknown extended opcodes are skipped by their length
        break;
      }
      case DW_LNS_copy: emit(false, at); break;
      case DW_LNS_advance_pc: advance(r.uleb()); break;
      case DW_LNS_advance_line: line += r.sleb(); break;
      case DW_LNS_set_file: file = r.uleb(); break;
      case DW_LNS_set_column: r.uleb(); break;
      case DW_LNS_negate_stmt: isStmt = !isStmt; break;
      case DW_LNS_set_basic_block: case DW_LNS_set_prologue_end: case DW_LNS_set_epilogue_begin: break;
      case DW_LNS_const_add_pc: advance(Math.floor((255 - u.opcodeBase) / u.lineRange)); break;
      case DW_LNS_fixed_advance_pc: address = (address + r.u16()) >>> 0; break;
      case DW_LNS_set_isa: r.uleb(); break;
      default:
        // A standard opcode this reader does not know: skip its ULEB128 operands.
        for (let k = 0; k < u.standardOpcodeLengths[op - 1]; k++) r.uleb();
    }
    if (line < 0) r.fail(`line number went negative (${line})`, at);
  }
  // A sequence without its end_sequence has no known extent: it is dropped.
}

