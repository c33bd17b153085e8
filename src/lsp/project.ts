/**
 * The files the language server knows: open documents (their unsaved text wins), source files
 * in the workspace folders and the files they `%include`, each with its index. From the
 * `%include` directives it knows which file includes which, so that a header is analysed in
 * the context of the kernels that include it (its roots).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { buildIndex, type FileIndex } from './sourceIndex';

/** Disk access, replaceable in tests. */
export interface FileSystem {
  readFile(path: string): string | undefined;
  readBinary(path: string): Uint8Array | undefined;
  /** Files under `dir` (recursively) whose names match, at most `limit`. */
  listFiles(dir: string, match: RegExp, limit: number): string[];
}

const SKIPPED_DIRECTORIES = new Set(['node_modules', '.git', '.vscode-test', 'dist', 'out']);
/** Files larger than this are not indexed from the workspace scan (they may still be opened). */
const MAX_SCANNED_SIZE = 4 << 20;

function tryRead<T>(read: () => T): T | undefined {
  try { return read(); } catch { return undefined; }
}

export const nodeFileSystem: FileSystem = {
  readFile: (path) => tryRead(() => readFileSync(path, 'utf8')),
  readBinary: (path) => tryRead(() => new Uint8Array(readFileSync(path))),
  listFiles(dir, match, limit) {
    const out: string[] = [];
    const visit = (d: string): void => {
      const entries = tryRead(() => readdirSync(d, { withFileTypes: true })) ?? [];
      for (const e of entries) {
        if (out.length >= limit) return;
        const p = join(d, e.name);
        if (e.isDirectory()) {
          if (!SKIPPED_DIRECTORIES.has(e.name) && !e.name.startsWith('.')) visit(p);
        } else if (e.isFile() && match.test(e.name) && (tryRead(() => statSync(p).size) ?? Infinity) <= MAX_SCANNED_SIZE) {
          out.push(p);
        }
      }
    };
    visit(dir);
    return out;
  },
};

/** A name written in `from` (`%include`, `incbin`), as the assembler resolves it: next to `from`. */
export function resolveIncludePath(from: string, name: string): string {
  return isAbsolute(name) ? name : resolve(dirname(from), name);
}

/** Names of guest assembly sources and headers. */
const SOURCE_FILE = /\.(?:asm|nasm|inc|mac)$/i;
const MAX_SCANNED_FILES = 2000;
/** A header included by many kernels is analysed with at most this many of them. */
const MAX_ROOTS = 8;

export interface ProjectOptions {
  includePaths: string[];
}

export class Project {
  private readonly open = new Map<string, string>();
  private readonly disk = new Map<string, string | undefined>();
  private readonly indexes = new Map<string, FileIndex>();
  /** Every file known to exist, indexed on demand. */
  private readonly known = new Set<string>();

  constructor(readonly fs: FileSystem, readonly options: ProjectOptions) {}

  setOpen(path: string, text: string): void {
    this.open.set(path, text);
    this.known.add(path);
  }

  close(path: string): void {
    this.open.delete(path);
    this.disk.delete(path);
  }

  isOpen(path: string): boolean {
    return this.open.has(path);
  }

  openFiles(): string[] {
    return [...this.open.keys()];
  }

  /** A file changed on disk (or was created or deleted). */
  diskChanged(path: string): void {
    this.disk.delete(path);
    if (this.fs.readFile(path) !== undefined) this.known.add(path); else if (!this.open.has(path)) this.known.delete(path);
  }

  /** Indexes the source files under the workspace folders. */
  scan(folders: readonly string[]): void {
    for (const f of folders) for (const p of this.fs.listFiles(f, SOURCE_FILE, MAX_SCANNED_FILES)) this.known.add(p);
  }

  /** The current text: the open document's, else the disk's (cached until it changes). */
  text(path: string): string | undefined {
    const t = this.open.get(path);
    if (t !== undefined) return t;
    if (!this.disk.has(path)) this.disk.set(path, this.fs.readFile(path));
    return this.disk.get(path);
  }

  index(path: string): FileIndex | undefined {
    const text = this.text(path);
    if (text === undefined) return undefined;
    const old = this.indexes.get(path);
    if (old !== undefined && old.text === text) return old;
    const index = buildIndex(path, text, old);
    this.indexes.set(path, index);
    this.known.add(path);
    return index;
  }

  knownFiles(): string[] {
    return [...this.known];
  }

  /** Where `%include "name"` in `from` finds its file: next to `from`, then on the include paths. */
  resolveInclude(from: string, name: string): string | undefined {
    const candidates = [resolveIncludePath(from, name), ...this.options.includePaths.map((d) => join(d, name))];
    return candidates.find((p) => this.text(p) !== undefined);
  }

  /** The files `path` includes, resolved. */
  includesOf(path: string): string[] {
    const index = this.index(path);
    if (index === undefined) return [];
    const out: string[] = [];
    for (const inc of index.includes) {
      const p = this.resolveInclude(path, inc.name);
      if (p !== undefined) out.push(p);
    }
    return out;
  }

  /** Known files that include `path` directly. */
  includers(path: string): string[] {
    return this.knownFiles().filter((f) => f !== path && this.includesOf(f).includes(path));
  }

  /** The files whose assembly includes `path` (itself if nothing includes it), open ones first. */
  roots(path: string): string[] {
    const roots: string[] = [];
    const seen = new Set<string>([path]);
    const queue = [path];
    while (queue.length > 0) {
      const p = queue.shift()!;
      const up = this.includers(p);
      if (up.length === 0) roots.push(p);
      for (const u of up) if (!seen.has(u)) { seen.add(u); queue.push(u); }
    }
    if (roots.length === 0) roots.push(path); // a cycle of includes
    roots.sort((a, b) => Number(this.isOpen(b)) - Number(this.isOpen(a)));
    return roots.slice(0, MAX_ROOTS);
  }

  /** `root` and every file it includes, directly or not. */
  unitFiles(root: string): string[] {
    const out: string[] = [];
    const seen = new Set<string>();
    const visit = (p: string): void => {
      if (seen.has(p)) return;
      seen.add(p);
      out.push(p);
      for (const q of this.includesOf(p)) visit(q);
    };
    visit(root);
    return out;
  }

  /** Every file that shares an assembly with `path`: where its names are defined and used. */
  scopeFiles(path: string): string[] {
    const out = new Set<string>();
    for (const r of this.roots(path)) for (const f of this.unitFiles(r)) out.add(f);
    out.add(path);
    return [...out];
  }
}
