/**
 * Assembling a root file with the built-in assembler as the editor sees it: open documents
 * with their unsaved text, everything else from disk. The work is a plain request and
 * outcome, so it can run in this thread or in a worker (see assemblerWorker.ts) that a newer
 * edit can stop. A run remembers every file it read with that file's code without comments,
 * so that an edit which only touches comments (or a file the assembly does not read) reuses
 * the previous run instead of assembling again.
 */
import { assemble, type AssembleOptions, type Diagnostic, type MapEntry, type SymbolInfo } from '../asm';
import type { FileSystem, Project } from './project';

export interface AssemblyRequest {
  root: string;
  options: AssembleOptions;
  /** Texts that win over the disk: the open documents. */
  overrides: Record<string, string>;
}

export interface AssemblyOutcome {
  diagnostics: Diagnostic[];
  symbols: SymbolInfo[];
  map: MapEntry[];
  /** Every file the assembly tried to read, and whether it was there. */
  read: Record<string, boolean>;
  ms: number;
}

/** Runs one assembly; never throws (the assembler reports everything as diagnostics). */
export function runAssembly(req: AssemblyRequest, fs: FileSystem, resolvePath: (from: string, name: string) => string): AssemblyOutcome {
  const read: Record<string, boolean> = {};
  const host = {
    readFile(path: string): string | undefined {
      const text = req.overrides[path] ?? fs.readFile(path);
      read[path] ||= text !== undefined;
      return text;
    },
    readBinary: (path: string) => fs.readBinary(path),
    resolve: resolvePath,
  };
  const t0 = performance.now();
  const result = assemble(req.root, host, req.options);
  return { diagnostics: result.diagnostics, symbols: result.symbols, map: result.map, read, ms: performance.now() - t0 };
}

/** Where assemblies run. `cancel` gives up the one under way (its promise rejects with `Cancelled`). */
export interface AssemblerBackend {
  assemble(req: AssemblyRequest): Promise<AssemblyOutcome>;
  cancel(): void;
  dispose(): void;
}

export class Cancelled extends Error {
  override readonly name = 'Cancelled';
}

/** Assemblies in this thread: simple and synchronous underneath (tests, small hosts). */
export function inProcessAssembler(fs: FileSystem, resolvePath: (from: string, name: string) => string): AssemblerBackend {
  return {
    assemble: async (req) => runAssembly(req, fs, resolvePath),
    cancel: () => undefined,
    dispose: () => undefined,
  };
}

export interface AssemblyRun {
  root: string;
  outcome: AssemblyOutcome;
  /** Every file the assembly read or tried to read, with its code then (undefined: missing). */
  inputs: Map<string, string | undefined>;
  /** Taken from the previous run because no input changed. */
  reused: boolean;
}

/** The code of every open document now, to compare with a run's inputs when it comes back. */
export function openCode(project: Project): Map<string, string | undefined> {
  return new Map(project.openFiles().map((p) => [p, project.index(p)?.fingerprint]));
}

export function recordRun(project: Project, root: string, outcome: AssemblyOutcome, codeAtRequest: Map<string, string | undefined>): AssemblyRun {
  const inputs = new Map<string, string | undefined>();
  for (const [path, found] of Object.entries(outcome.read)) {
    // What the assembler just read from disk is newer than what the project had cached.
    if (!codeAtRequest.has(path)) project.diskChanged(path);
    inputs.set(path, !found ? undefined : codeAtRequest.has(path) ? codeAtRequest.get(path) : project.index(path)?.fingerprint);
  }
  return { root, outcome, inputs, reused: false };
}

/** Are the inputs of `run` unchanged as far as the assembler can tell? */
export function upToDate(project: Project, run: AssemblyRun): boolean {
  for (const [path, code] of run.inputs) if (project.index(path)?.fingerprint !== code) return false;
  return true;
}
