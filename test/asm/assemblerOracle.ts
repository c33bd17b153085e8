/**
 * nasm 2.16.01 as the oracle for the assembler tests: the same files assembled by `nasm -f bin
 * -l` in a temporary directory and by the built-in assembler over the same files in memory,
 * and the listing columns both tools print.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { assemble, type AssembleOptions, type AssembleResult, type AssemblerHost } from '../../src/asm';

export type Files = Record<string, string | Uint8Array>;

export interface NasmRun {
  ok: boolean;
  bytes: Uint8Array;
  listing: string;
  stderr: string;
  /** `file:line` of every error nasm printed. */
  errors: string[];
}

/** nasm -f bin on `entry`, run in a directory holding `files` (nasm resolves names from there). */
export function runNasm(files: Files, entry = 'main.asm', defines: string[] = []): NasmRun {
  const dir = mkdtempSync(join(tmpdir(), 'vtscope-asm-oracle-'));
  try {
    for (const [name, data] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), data);
    }
    const r = spawnSync('nasm', ['-f', 'bin', ...defines.map((d) => `-D${d}`), entry, '-o', 'out.bin', '-l', 'out.lst'], { cwd: dir, encoding: 'utf8' });
    const ok = r.status === 0;
    const errors = [...r.stderr.matchAll(/^(.*?):(\d+): error:/gm)].map((m) => `${m[1]}:${m[2]}`);
    return {
      ok,
      bytes: ok ? new Uint8Array(readFileSync(join(dir, 'out.bin'))) : new Uint8Array(0),
      listing: existsSync(join(dir, 'out.lst')) ? readFileSync(join(dir, 'out.lst'), 'utf8') : '',
      stderr: r.stderr,
      errors: [...new Set(errors)],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A host over in-memory files, with names relative to the including file like the CLI's. */
export function memoryFiles(files: Files): AssemblerHost {
  const norm = (p: string): string => p.replace(/^\.\//, '');
  const get = (p: string): string | Uint8Array | undefined => files[norm(p)];
  return {
    readFile: (p) => {
      const v = get(p);
      return v === undefined ? undefined : typeof v === 'string' ? v : new TextDecoder().decode(v);
    },
    readBinary: (p) => {
      const v = get(p);
      return v === undefined ? undefined : typeof v === 'string' ? new TextEncoder().encode(v) : v;
    },
    resolve: (from, name) => {
      const d = dirname(from);
      return d === '.' ? name : `${d}/${name}`;
    },
  };
}

export function runVtscope(files: Files, entry = 'main.asm', opts: AssembleOptions = {}): AssembleResult {
  return assemble(entry, memoryFiles(files), opts);
}

/** `file:line` of every error, as runNasm reports them. */
export function errorLines(r: AssembleResult): string[] {
  return [...new Set(r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.location.file}:${d.location.line}`))];
}

/** The address and hex columns of every listing row that has output, in order. */
export function listingColumns(listing: string): string[] {
  const rows: string[] = [];
  for (const line of listing.split('\n')) {
    if (/^[ \d]{6} [0-9A-F]{8} /.test(line)) rows.push(`${line.slice(7, 15)} ${line.slice(16, 35).trimEnd()}`);
  }
  return rows;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
