/**
 * The NASM-compatible preprocessor of the built-in assembler: %define, %assign, %macro,
 * %rep, %if, %include, contexts and nasm's standard macros, with the origin of every line
 * kept through includes and macro expansions.
 *
 * Output lines carry the text the assembler sees (comments removed; a line no macro touched
 * keeps its spacing, so columns in it match the source) and `location`: where the user wrote
 * the line, column 1. A line produced by a macro is located at the macro call (the column of
 * the macro's name), and `expansion` lists the macro body lines it came from, outermost
 * first (macros marked `.nolist`, such as the standard ones, add no level). Lines with
 * nothing left to assemble are not emitted.
 */
import type { Diagnostic, ExpandedLine, SourceHost } from '../source';
import { Preprocessor, type PreprocessLimits } from './preprocessor';

export type { PreprocessLimits } from './preprocessor';
export { DEFAULT_LIMITS } from './preprocessor';

export interface PreprocessOptions {
  /** Like nasm's -D: each becomes `%define name value` before the first line. */
  defines?: Record<string, string>;
  /** Directories searched for %include after the including file's own directory. */
  includePaths?: string[];
  limits?: Partial<PreprocessLimits>;
}

export interface PreprocessResult {
  lines: ExpandedLine[];
  diagnostics: Diagnostic[];
  /** Files read through %include / %require, in first-use order (not the entry file). */
  includedFiles: string[];
}

/**
 * Preprocesses `entryFile`. `host.resolve(from, name)` gives the path of `name` as written in
 * `from` (relative to its directory); include-path candidates are `dir + '/' + name`. Never
 * throws: every problem is a diagnostic.
 */
export function preprocess(entryFile: string, host: SourceHost, opts: PreprocessOptions = {}): PreprocessResult {
  let pp: Preprocessor | undefined;
  try {
    pp = new Preprocessor(host, opts);
    pp.run(entryFile);
  } catch (e) {
    // A safety net: the preprocessor is written not to throw, but a host may.
    const failure: Diagnostic = {
      severity: 'error',
      message: `internal preprocessor error: ${e instanceof Error ? e.message : String(e)}`,
      location: { file: entryFile, line: 1, column: 1 },
    };
    if (!pp) return { lines: [], diagnostics: [failure], includedFiles: [] };
    pp.diagnostics.push(failure);
  }
  return { lines: pp.lines, diagnostics: pp.diagnostics, includedFiles: pp.includedFiles };
}

/** Normalizes a '/'-separated path: removes `.`, resolves `..`, keeps a leading '/'. */
export function normalizePath(p: string): string {
  const abs = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..' && out.length && out[out.length - 1] !== '..') out.pop();
    else if (part !== '..' || !abs) out.push(part);
  }
  return (abs ? '/' : '') + out.join('/');
}

function dirname(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i + 1);
}

/** A SourceHost over in-memory files (path -> text), with '/'-separated paths. */
export function memoryHost(files: ReadonlyMap<string, string> | Record<string, string>): SourceHost {
  const map = files instanceof Map ? files : new Map(Object.entries(files));
  const norm = new Map<string, string>();
  for (const [k, v] of map) norm.set(normalizePath(k), v);
  return {
    readFile: (path) => norm.get(normalizePath(path)),
    resolve: (from, included) => (included.startsWith('/') ? normalizePath(included) : normalizePath(dirname(from) + included)),
  };
}

/**
 * Preprocesses source text held in memory (the language server's buffer, tests). `files`
 * supplies anything it %includes; `fileName` names the text in locations.
 */
export function preprocessText(
  text: string,
  opts: PreprocessOptions & { fileName?: string; files?: ReadonlyMap<string, string> | Record<string, string> } = {},
): PreprocessResult {
  const fileName = opts.fileName ?? 'input.asm';
  const files = new Map(opts.files instanceof Map ? opts.files : Object.entries(opts.files ?? {}));
  files.set(fileName, text);
  return preprocess(fileName, memoryHost(files), opts);
}
