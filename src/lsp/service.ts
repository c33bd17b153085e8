/**
 * The language server's state, apart from the protocol: the project's files and indexes, the
 * last assembly of each root, and per file the symbol table and hypercall sites, each rebuilt
 * only when something it depends on changed.
 */
import type { Diagnostic } from 'vscode-languageserver';
import type { AssembleOptions, SymbolInfo } from '../asm';
import {
  type AssemblerBackend, type AssemblyRun, Cancelled, inProcessAssembler, openCode, recordRun, upToDate,
} from './assembly';
import { dedupe, hypercallDiagnostic, toLspDiagnostic } from './diagnostics';
import { findHypercallSites, type HypercallSite } from './hypercallSites';
import { type FileSystem, Project, resolveIncludePath } from './project';
import type { FileIndex } from './sourceIndex';
import { SymbolTable } from './symbolTable';

export interface ServiceOptions {
  fs: FileSystem;
  includePaths?: string[];
  defines?: Record<string, string>;
  /** The URI to report for a file path. */
  uriOf: (path: string) => string;
  /** Where assemblies run (default: in this thread). */
  assembler?: AssemblerBackend;
}

/** nasm's -I and -D. */
export interface AssemblerSettings {
  includePaths: string[];
  defines: Record<string, string>;
}

export interface AnalysisReport {
  /** Diagnostics of every file an open document's assembly touches. */
  diagnostics: Map<string, Diagnostic[]>;
  runs: AssemblyRun[];
}

interface Cached<T> { keys: readonly unknown[]; value: T }

function sameKeys(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export class LanguageService {
  readonly project: Project;
  private readonly runs = new Map<string, AssemblyRun>();
  private readonly tables = new Map<string, Cached<SymbolTable>>();
  private readonly sites = new Map<string, Cached<HypercallSite[]>>();

  private readonly assembler: AssemblerBackend;
  private defines: Record<string, string> | undefined;

  constructor(readonly options: ServiceOptions) {
    this.project = new Project(options.fs, { includePaths: options.includePaths ?? [] });
    this.assembler = options.assembler ?? inProcessAssembler(options.fs, resolveIncludePath);
    this.defines = options.defines;
  }

  get assembleOptions(): AssembleOptions {
    return { includePaths: this.project.options.includePaths, defines: this.defines };
  }

  /** New assembler options (the client's settings changed): every root assembles again with them. */
  configure(settings: AssemblerSettings): void {
    this.project.options.includePaths = settings.includePaths;
    this.defines = settings.defines;
    this.runs.clear();
  }

  uriOf(path: string): string {
    return this.options.uriOf(path);
  }

  index(path: string): FileIndex | undefined {
    return this.project.index(path);
  }

  /** The last assemblies that include `path`. */
  runsFor(path: string): AssemblyRun[] {
    return this.project.roots(path).map((r) => this.runs.get(r)).filter((r): r is AssemblyRun => r !== undefined && r.inputs.has(path));
  }

  /** The names visible in `path`, with the values of its last assemblies. */
  symbols(path: string): SymbolTable {
    const files = this.project.scopeFiles(path).map((p) => this.project.index(p)).filter((i): i is FileIndex => i !== undefined);
    const runs = this.runsFor(path);
    const keys = [...files, ...runs.map((r) => r.outcome)];
    const cached = this.tables.get(path);
    if (cached && sameKeys(cached.keys, keys)) return cached.value;
    const assembled: SymbolInfo[] = runs.flatMap((r) => r.outcome.symbols);
    const table = new SymbolTable(files, assembled);
    this.tables.set(path, { keys, value: table });
    return table;
  }

  hypercallSites(path: string): HypercallSite[] {
    const index = this.project.index(path);
    if (index === undefined) return [];
    const table = this.symbols(path);
    const keys = [index, table];
    const cached = this.sites.get(path);
    if (cached && sameKeys(cached.keys, keys)) return cached.value;
    const value = findHypercallSites(index, table);
    this.sites.set(path, { keys, value });
    return value;
  }

  /** Gives up the assembly under way: its analysis resolves to undefined. */
  cancel(): void {
    this.assembler.cancel();
  }

  dispose(): void {
    this.assembler.dispose();
  }

  /** The open documents' texts, which win over the disk in an assembly. */
  private overrides(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const p of this.project.openFiles()) out[p] = this.project.text(p) ?? '';
    return out;
  }

  /**
   * Assembles the roots of the open documents (reusing runs whose inputs did not change) and
   * gathers the diagnostics of every file they touch; undefined if cancelled meanwhile.
   */
  async analyze(): Promise<AnalysisReport | undefined> {
    const roots = new Set<string>();
    for (const p of this.project.openFiles()) for (const r of this.project.roots(p)) roots.add(r);
    const runs: AssemblyRun[] = [];
    for (const root of roots) {
      const previous = this.runs.get(root);
      if (previous !== undefined && upToDate(this.project, previous)) {
        const reused = { ...previous, reused: true };
        this.runs.set(root, reused);
        runs.push(reused);
        continue;
      }
      const code = openCode(this.project);
      try {
        const outcome = await this.assembler.assemble({ root, options: this.assembleOptions, overrides: this.overrides() });
        const run = recordRun(this.project, root, outcome, code);
        this.runs.set(root, run);
        runs.push(run);
      } catch (e) {
        if (e instanceof Cancelled) return undefined;
        throw e;
      }
    }
    for (const root of [...this.runs.keys()]) if (!roots.has(root)) this.runs.delete(root);
    return { diagnostics: this.diagnostics(runs), runs };
  }

  private diagnostics(runs: AssemblyRun[]): Map<string, Diagnostic[]> {
    const files = new Set<string>(this.project.openFiles());
    for (const run of runs) for (const [path, code] of run.inputs) if (code !== undefined) files.add(path);
    const diagnostics = new Map<string, Diagnostic[]>();
    for (const f of files) diagnostics.set(f, []);
    for (const run of runs) {
      for (const d of run.outcome.diagnostics) {
        const list = diagnostics.get(d.location.file);
        if (list) list.push(toLspDiagnostic(d, this.project.index(d.location.file), (p) => this.uriOf(p)));
      }
    }
    for (const [f, list] of diagnostics) {
      for (const site of this.hypercallSites(f)) {
        const d = hypercallDiagnostic(site);
        if (d) list.push(d);
      }
      diagnostics.set(f, dedupe(list));
    }
    return diagnostics;
  }
}
