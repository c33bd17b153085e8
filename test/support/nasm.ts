/** Assembles NASM source with the real nasm (the reference assembler) for tests. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function nasm(source: string, format = 'bin'): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'vtscope-nasm-'));
  try {
    const src = join(dir, 'in.asm'), out = join(dir, 'out.bin');
    writeFileSync(src, source);
    try {
      execFileSync('nasm', ['-f', format, src, '-o', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) {
      const err = e as { stderr?: Buffer };
      throw new Error(`nasm failed:\n${err.stderr?.toString() ?? String(e)}\n--- source ---\n${source}`);
    }
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
