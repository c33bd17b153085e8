/** `vtscope asm IN.asm -o OUT.bin [--listing OUT.lst] [--map OUT.json] [-D NAME=VALUE] [-I DIR]`. */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { assembleFile, formatDiagnostic, parseDefines } from './assembleFile';
import { writeAll } from './stdoutSink';
import { EX_DATAERR, UsageError } from './usage';

interface AsmOptions {
  source: string;
  output: string;
  listing?: string;
  map?: string;
  defines: Record<string, string>;
  includePaths: string[];
}

export function parseAsmArgs(args: string[]): AsmOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        output: { type: 'string', short: 'o' },
        listing: { type: 'string' },
        map: { type: 'string' },
        define: { type: 'string', short: 'D', multiple: true },
        include: { type: 'string', short: 'I', multiple: true },
      },
    });
  } catch (e) {
    throw new UsageError(`asm: ${(e as Error).message.split('. ')[0]}`);
  }
  const { values, positionals } = parsed;
  if (positionals.length === 0) throw new UsageError('asm: missing IN.asm');
  if (positionals.length > 1) throw new UsageError(`asm: one source file expected, got ${positionals.length}: ${positionals.join(' ')}`);
  if (values.output === undefined) throw new UsageError('asm: missing -o OUT.bin');
  return {
    source: positionals[0],
    output: values.output,
    listing: values.listing,
    map: values.map,
    defines: parseDefines('asm', values.define),
    includePaths: values.include ?? [],
  };
}

function write(path: string, data: string | Uint8Array, what: string): void {
  try {
    writeFileSync(path, data);
  } catch (e) {
    throw new UsageError(`asm: cannot write ${what} ${path}: ${(e as Error).message}`);
  }
}

/** Returns the exit status: 0, or EX_DATAERR when the source has errors (nothing is written then). */
export function asmCommand(args: string[]): number {
  const opts = parseAsmArgs(args);
  const result = assembleFile(opts.source, opts, 'asm');
  if (result.diagnostics.length > 0) writeAll(2, Buffer.from(result.diagnostics.map(formatDiagnostic).join('')));
  if (!result.ok) return EX_DATAERR;
  write(opts.output, result.binary, 'output');
  if (opts.listing !== undefined) write(opts.listing, result.listing(), '--listing');
  if (opts.map !== undefined) {
    write(opts.map, JSON.stringify({ symbols: result.symbols, map: result.map }, null, 2) + '\n', '--map');
  }
  return 0;
}
