/**
 * Assembling a root file with the built-in assembler as the editor sees it: open documents
 * with their unsaved text, everything else from disk. A run remembers every file it read and
 * that file's code without comments, so an edit that only touches comments (or a file the
 * assembly does not read) reuses the previous run instead of assembling again.
 */
import { assemble, type AssembleOptions, type AssembleResult } from '../asm';
import type { Project } from './project';

export interface AssemblyRun {
  root: string;
  result: AssembleResult;
  /** Every file the assembly read or tried to read, with its code then (undefined: missing). */
  inputs: Map<string, string | undefined>;
  /** Milliseconds the assembly took (0 when reused). */
  ms: number;
  reused: boolean;
}

function fingerprint(project: Project, path: string): string | undefined {
  return project.index(path)?.fingerprint;
}

/** Are the inputs of `run` unchanged as far as the assembler can tell? */
function upToDate(project: Project, run: AssemblyRun): boolean {
  for (const [path, code] of run.inputs) if (fingerprint(project, path) !== code) return false;
  return true;
}

export function assembleRoot(project: Project, root: string, options: AssembleOptions, previous?: AssemblyRun): AssemblyRun {
  if (previous !== undefined && previous.root === root && upToDate(project, previous)) {
    return { ...previous, ms: 0, reused: true };
  }
  const inputs = new Map<string, string | undefined>();
  const host = {
    readFile(path: string): string | undefined {
      const text = project.readForAssembly(path);
      if (!inputs.has(path)) inputs.set(path, text === undefined ? undefined : fingerprint(project, path));
      return text;
    },
    readBinary: (path: string) => project.fs.readBinary(path),
    resolve: (from: string, name: string) => project.resolvePath(from, name),
  };
  const t0 = performance.now();
  const result = assemble(root, host, options);
  return { root, result, inputs, ms: performance.now() - t0, reused: false };
}
