/**
 * Running vtscope as a user runs it: `node dist/cli.js` (built by `npm run build`, which
 * `npm test` runs first) in a child process, with stdout and stderr captured.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface CliResult { status: number | null; stdout: string; stderr: string }

/** Fails at once, with the reason, when the CLI has not been built. */
export function requireBuiltCli(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build (npm test does)`);
}

/** `vtscope ARGS` run in directory `cwd` (output decoded as latin1 unless told: bytes stay bytes). */
export function cliIn(cwd: string, encoding: BufferEncoding = 'latin1'): (...args: string[]) => CliResult {
  return (...args) => {
    const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding, stdio: ['ignore', 'pipe', 'pipe'] });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
}
