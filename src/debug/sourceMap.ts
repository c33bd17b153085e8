/**
 * Address <-> source line mapping, whatever produced it: the DWARF line tables of an ELF image
 * (dwarfLines.ts) or the built-in assembler's line map. Both give rows in the shape of a DWARF
 * line table (an address where the code of a line starts) and `LineTable` answers the
 * debugger's questions from them.
 */
import { basename, normalize, resolve, sep } from 'node:path';

/** One row of a line table: the code of `line` of `file` starts at `address`. */
export interface LineRow {
  address: number;
  /** Absolute, normalized path. */
  file: string;
  /** 1-based; 0 means "no line" (code the compiler attributes to no statement). */
  line: number;
  /** A recommended breakpoint location (DWARF is_stmt). */
  isStmt: boolean;
  /** The first address after a sequence of rows: it ends the range of the previous row. */
  endSequence: boolean;
}

/** The line a range of code belongs to. */
export interface LineRange {
  file: string;
  line: number;
  /** [start, end): the code of this row. */
  start: number;
  end: number;
  isStmt: boolean;
}

export interface SourceMap {
  /** The source files with code in the image (absolute paths). */
  files(): readonly string[];
  /** The row whose code contains `address`, or undefined for code with no line. */
  lookup(address: number): LineRange | undefined;
  /**
   * Where a breakpoint on `line` of `file` goes: the lowest statement address of that line or,
   * when it has no code, of the next line that has some (as debuggers move breakpoints).
   */
  resolveLine(file: string, line: number): { line: number; address: number } | undefined;
  /** The file of the image that `path` (from a client, perhaps relative) names, or undefined. */
  findFile(path: string): string | undefined;
}

export class LineTable implements SourceMap {
  /** Ranges sorted by start; a later row at the same address replaces the earlier one. */
  private readonly ranges: LineRange[] = [];
  /** For each file: line -> lowest statement address. */
  private readonly lineStarts = new Map<string, Map<number, number>>();

  constructor(rows: readonly LineRow[]) {
    // Rows come in sequences; each row covers up to the next row of its sequence.
    // gcc -O2 emits a statement row and then a non-statement row (a location view) for the same
    // line at one address: the range is still where that statement starts.
    const ranges: LineRange[] = [];
    let statementHere = false;
    for (let k = 0; k + 1 < rows.length; k++) {
      const row = rows[k], next = rows[k + 1];
      if (row.endSequence || row.line === 0) { statementHere = false; continue; }
      if (next.address <= row.address) {
        statementHere ||= row.isStmt && next.file === row.file && next.line === row.line;
        continue;
      }
      ranges.push({ file: row.file, line: row.line, start: row.address, end: next.address, isStmt: row.isStmt || statementHere });
      statementHere = false;
    }
    ranges.sort((a, b) => a.start - b.start);
    for (const r of ranges) {
      const last = this.ranges[this.ranges.length - 1];
      if (last !== undefined && last.start === r.start) this.ranges[this.ranges.length - 1] = r;
      else this.ranges.push(r);
    }
    for (const row of rows) {
      if (row.endSequence || row.line === 0 || !row.isStmt) continue;
      let lines = this.lineStarts.get(row.file);
      if (lines === undefined) { lines = new Map(); this.lineStarts.set(row.file, lines); }
      const known = lines.get(row.line);
      if (known === undefined || row.address < known) lines.set(row.line, row.address);
    }
  }

  files(): readonly string[] { return [...this.lineStarts.keys()]; }

  lookup(address: number): LineRange | undefined {
    const a = address >>> 0;
    let lo = 0, hi = this.ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.ranges[mid];
      if (a < r.start) hi = mid - 1;
      else if (a >= r.end) lo = mid + 1;
      else return r;
    }
    return undefined;
  }

  resolveLine(file: string, line: number): { line: number; address: number } | undefined {
    const lines = this.lineStarts.get(file);
    if (lines === undefined) return undefined;
    let best: { line: number; address: number } | undefined;
    for (const [l, address] of lines) {
      if (l >= line && (best === undefined || l < best.line)) best = { line: l, address };
    }
    return best;
  }

  findFile(path: string): string | undefined {
    const wanted = normalize(resolve(path));
    if (this.lineStarts.has(wanted)) return wanted;
    // Otherwise the file sharing the longest tail of path components (at least the name).
    const parts = wanted.split(sep);
    let best: string | undefined, bestCount = 0, tie = false;
    for (const f of this.lineStarts.keys()) {
      if (basename(f) !== parts[parts.length - 1]) continue;
      const fp = f.split(sep);
      let n = 0;
      while (n < fp.length && n < parts.length && fp[fp.length - 1 - n] === parts[parts.length - 1 - n]) n++;
      if (n > bestCount) { best = f; bestCount = n; tie = false; } else if (n === bestCount) tie = true;
    }
    return tie ? undefined : best;
  }
}
