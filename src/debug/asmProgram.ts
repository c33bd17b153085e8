/**
 * A `.asm` program for the debugger: assembled in process by the built-in assembler (its
 * `-f bin` output must be a Multiboot kernel with the address fields), with its labels as
 * symbols and its address map as the source map. Assembly errors are a LaunchError that lists
 * them as file:line:column.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { assemble, type AssemblerHost, type AssembleResult } from '../asm/index';
import type { DebugInfo } from './debugInfo';
import { LineTable, type LineRow } from './sourceMap';
import { SymbolTable } from './symbols';

/** Errors listed in a launch error before "and N more". */
const SHOWN_ERRORS = 5;

function readOrUndefined<T>(read: () => T): T | undefined {
  try { return read(); } catch { return undefined; }
}

/** Source files on disk; %include and incbin names are relative to the including file. */
const fileHost: AssemblerHost = {
  readFile: (path) => readOrUndefined(() => readFileSync(path, 'utf8')),
  readBinary: (path) => readOrUndefined(() => new Uint8Array(readFileSync(path))),
  resolve: (from, name) => (isAbsolute(name) ? name : resolve(dirname(from), name)),
};

/** Thrown for a program that does not assemble; the caller turns it into its own error type. */
export class AssemblyFailed extends Error {
  override readonly name = 'AssemblyFailed';
}

export function assembleProgram(path: string): { image: Uint8Array; info: DebugInfo } {
  const result = assemble(path, fileHost);
  if (!result.ok) {
    const errors = result.diagnostics.filter((d) => d.severity === 'error');
    const lines = errors.slice(0, SHOWN_ERRORS).map((d) => `${d.location.file}:${d.location.line}:${d.location.column}: error: ${d.message}`);
    if (errors.length > SHOWN_ERRORS) lines.push(`and ${errors.length - SHOWN_ERRORS} more errors`);
    throw new AssemblyFailed(`${path}: does not assemble:\n${lines.join('\n')}`);
  }
  return { image: result.binary, info: { symbols: symbolsOf(result), sourceMap: new LineTable(rowsOf(result)), warnings: [] } };
}

function symbolsOf(result: AssembleResult): SymbolTable {
  return new SymbolTable(result.symbols
    .filter((s) => s.kind === 'label' && !s.name.startsWith('section.'))
    .map((s) => ({
      name: s.name, address: s.value >>> 0, size: 0, isFunction: false,
      isData: s.section !== undefined && s.section !== '.text',
    })));
}

/** One row per instruction or data line, and an end of sequence wherever the next line's code does not follow on. */
function rowsOf(result: AssembleResult): LineRow[] {
  const entries = result.map.filter((e) => e.length > 0).sort((a, b) => a.address - b.address);
  const rows: LineRow[] = [];
  entries.forEach((e, k) => {
    const file = resolve(e.location.file);
    rows.push({ address: e.address >>> 0, file, line: e.location.line, isStmt: true, endSequence: false });
    const end = (e.address + e.length) >>> 0;
    if (entries[k + 1]?.address !== end) rows.push({ address: end, file, line: e.location.line, isStmt: false, endSequence: true });
  });
  return rows;
}
