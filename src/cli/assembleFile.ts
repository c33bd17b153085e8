/** Assembling a source file from disk for `vtscope asm` and `vtscope run FILE.asm`. */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { assemble, type AssembleResult, type AssemblerHost, type Diagnostic } from '../asm';
import { UsageError } from './usage';

export interface AssemblyOptions {
  defines: Record<string, string>;
  includePaths: string[];
}

function readOrUndefined<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/** Files on disk; `%include` and `incbin` names are relative to the including file. */
export const fileHost: AssemblerHost = {
  readFile: (path) => readOrUndefined(() => readFileSync(path, 'utf8')),
  readBinary: (path) => readOrUndefined(() => new Uint8Array(readFileSync(path))),
  resolve: (from, name) => (isAbsolute(name) ? name : resolve(dirname(from), name)),
};

export function assembleFile(path: string, opts: AssemblyOptions, command: string): AssembleResult {
  if (fileHost.readFile(path) === undefined) throw new UsageError(`${command}: cannot read ${path}`);
  return assemble(path, fileHost, { defines: opts.defines, includePaths: opts.includePaths });
}

/** `file:line:column: error: message`, then the macro body lines the line came from. */
export function formatDiagnostic(d: Diagnostic): string {
  const at = (l: { file: string; line: number; column: number }): string => `${l.file}:${l.line}:${l.column}`;
  let text = `${at(d.location)}: ${d.severity}: ${d.message}\n`;
  for (const e of d.expansion ?? []) text += `${at(e)}: note: expanded from here\n`;
  return text;
}

/** Parses `-D NAME[=VALUE]` values as nasm does (a bare name is defined as empty). */
export function parseDefines(command: string, values: string[] | undefined): Record<string, string> {
  const defines: Record<string, string> = {};
  for (const v of values ?? []) {
    const m = /^([A-Za-z_.?$@][\w.?$@#~]*)(?:=(.*))?$/s.exec(v);
    if (!m) throw new UsageError(`${command}: -D needs NAME or NAME=VALUE, not '${v}'`);
    defines[m[1]] = m[2] ?? '';
  }
  return defines;
}
