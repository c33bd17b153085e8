/**
 * Every .asm under samples/ (and the speed benchmark's loop.asm) through the built-in assembler
 * and through `nasm -f bin -l`: the same bytes and the same listing address and hex columns,
 * or, for a source nasm cannot turn into a flat binary (c-kernel/boot.asm calls an extern), an
 * error on the same line.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fileHost } from '../../src/cli/assembleFile';
import { assemble } from '../../src/asm';
import { listingColumns } from './assemblerOracle';

const root = fileURLToPath(new URL('../..', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'vtscope-samples-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function asmFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'build' ? [] : asmFiles(path);
    return name.endsWith('.asm') ? [path] : [];
  });
}

const sources = [...asmFiles(join(root, 'samples')), join(root, 'bench', 'guests', 'loop.asm')];

describe('samples assemble as with nasm -f bin', () => {
  it('finds the samples', () => {
    expect(sources.map((s) => relative(root, s))).toEqual(expect.arrayContaining(['samples/hello.asm', 'samples/c-kernel/boot.asm', 'bench/guests/loop.asm']));
  });

  for (const source of sources) {
    it(relative(root, source), () => {
      const name = basename(source, '.asm');
      const bin = join(out, `${name}.bin`), lst = join(out, `${name}.lst`);
      const nasm = spawnSync('nasm', ['-f', 'bin', basename(source), '-o', bin, '-l', lst], { cwd: dirname(source), encoding: 'utf8' });
      const result = assemble(source, fileHost);
      if (nasm.status !== 0) {
        const nasmLines = [...nasm.stderr.matchAll(/:(\d+): error:/g)].map((m) => Number(m[1]));
        expect(nasmLines.length).toBeGreaterThan(0);
        expect(result.ok).toBe(false);
        const ours = result.diagnostics.filter((d) => d.severity === 'error').map((d) => d.location.line);
        expect(ours).toEqual(expect.arrayContaining(nasmLines));
        return;
      }
      expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      expect(Buffer.from(result.binary).equals(readFileSync(bin))).toBe(true);
      const want = listingColumns(readFileSync(lst, 'utf8'));
      expect(want.length).toBeGreaterThan(10);
      expect(listingColumns(result.listing())).toEqual(want);
    });
  }
});
