/**
 * The built-in assembler: nasm 2.16.01's dialect and its `-f bin` output, byte for byte.
 * Source goes through the preprocessor, then the assembler's passes; everything that is
 * wrong comes back as diagnostics with file, line and column, never as an exception.
 */
import { assembleLines, type CoreResult, type InstructionSet, sortDiagnostics } from './assembler';
import { encode, isMnemonic, isRegister, PREFIX_WORDS } from './encoder';
import { formatListing } from './listing';
import { memoryHost, normalizePath, preprocess } from './preprocessor';
import type { Diagnostic, SourceHost, SourceLocation } from './source';
import type { MapEntry, SymbolInfo } from './sourceMap';

export type { Diagnostic, SourceHost, SourceLocation } from './source';
export type { MapEntry, SymbolInfo } from './sourceMap';

export interface AssembleOptions {
  /** Like nasm's -D: `%define NAME VALUE` before the first line. */
  defines?: Record<string, string>;
  /** Like nasm's -I: directories searched for %include and incbin files. */
  includePaths?: string[];
}

/** A SourceHost that can also read binary files, for `incbin` (without it, text files only). */
export interface AssemblerHost extends SourceHost {
  readBinary?(path: string): Uint8Array | undefined;
}

export interface AssembleResult {
  /** No errors. */
  ok: boolean;
  /** The `-f bin` image (empty when there are errors). */
  binary: Uint8Array;
  /** All errors and warnings, sorted by location. */
  diagnostics: Diagnostic[];
  symbols: SymbolInfo[];
  /** One entry per instruction and data line that produced bytes, by address. */
  map: MapEntry[];
  /** The listing, laid out like `nasm -l`. */
  listing(): string;
}

const INSTRUCTION_SET: InstructionSet = {
  encode,
  isMnemonic,
  isRegister,
  isPrefix: (word) => PREFIX_WORDS.has(word),
};

export function assemble(entryFile: string, host: AssemblerHost, opts: AssembleOptions = {}): AssembleResult {
  const pre = preprocess(entryFile, host, { defines: opts.defines, includePaths: opts.includePaths });
  const readBinary = (fromFile: string, name: string): Uint8Array | { error: string } => {
    const candidates = [host.resolve(fromFile, name), ...(opts.includePaths ?? []).map((dir) => `${dir.replace(/\/$/, '')}/${name}`)];
    for (const path of candidates) {
      const bytes = host.readBinary ? host.readBinary(path) : binaryFromText(host.readFile(path));
      if (bytes !== undefined) return bytes;
    }
    return { error: `\`incbin': unable to open file \`${name}'` };
  };
  const sourceLines = new Map<string, string[] | undefined>();
  const sourceLine = (file: string, line: number): string | undefined => {
    if (!sourceLines.has(file)) sourceLines.set(file, host.readFile(file)?.split(/\r\n|\r|\n/));
    return sourceLines.get(file)?.[line - 1];
  };
  let core: CoreResult;
  try {
    core = assembleLines(pre.lines, { instructionSet: INSTRUCTION_SET, readBinary, sourceLine });
  } catch (e) {
    // The assembler is written not to throw; should it anyway, the caller still gets a diagnostic.
    const location: SourceLocation = { file: entryFile, line: 1, column: 1 };
    const message = `internal assembler error: ${e instanceof Error ? e.message : String(e)}`;
    return { ok: false, binary: new Uint8Array(0), diagnostics: [...pre.diagnostics, { severity: 'error', message, location }], symbols: [], map: [], listing: () => '' };
  }
  const diagnostics = sortDiagnostics([...pre.diagnostics, ...core.diagnostics], pre.lines);
  const ok = !diagnostics.some((d) => d.severity === 'error');
  return {
    ok,
    binary: ok ? core.image : new Uint8Array(0),
    diagnostics,
    symbols: core.symbols,
    map: core.map,
    listing: () => formatListing(core, (file) => host.readFile(file), entryFile),
  };
}

/** A host without readBinary: the file's text, as the UTF-8 it was read from. */
function binaryFromText(text: string | undefined): Uint8Array | undefined {
  return text === undefined ? undefined : new TextEncoder().encode(text);
}

/** Assembles source held in memory; `%include` and `incbin` of other files fail. */
export function assembleString(source: string, fileName = 'input.asm', opts: AssembleOptions = {}): AssembleResult {
  return assemble(normalizePath(fileName), memoryHost({ [fileName]: source }), opts);
}
