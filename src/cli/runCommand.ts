/** `vtscope run IMAGE`: load a Multiboot kernel (or assemble a .asm one), run it with COM1 on stdout, exit with its status. */
import { closeSync, openSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Machine, type RunResult } from '../machine/machine';
import { MAX_RAM_MIB, MIN_RAM_MIB } from '../loader/multiboot';
import { assembleFile, formatDiagnostic, parseDefines } from './assembleFile';
import { StdoutSink, writeAll } from './stdoutSink';
import { EX_DATAERR, UsageError } from './usage';

interface RunOptions {
  image: string;
  memoryMiB?: number;
  maxInstructions?: number;
  json?: string;
  cmdline?: string;
  defines: Record<string, string>;
  includePaths: string[];
}

export function parseRunArgs(args: string[]): RunOptions {
  const { values, positionals } = parseCommandLine(args);
  if (positionals.length === 0) throw new UsageError('run: missing IMAGE (a Multiboot kernel: flat .bin or ELF)');
  if (positionals.length > 1) throw new UsageError(`run: one IMAGE expected, got ${positionals.length}: ${positionals.join(' ')}`);
  return {
    image: positionals[0],
    memoryMiB: values.mem === undefined ? undefined : wholeNumber('--mem', values.mem, MIN_RAM_MIB, MAX_RAM_MIB),
    maxInstructions: values['max-instructions'] === undefined
      ? undefined
      : wholeNumber('--max-instructions', values['max-instructions'], 1, Number.MAX_SAFE_INTEGER),
    json: values.json,
    cmdline: values.cmdline,
    defines: parseDefines('run', values.define),
    includePaths: values.include ?? [],
  };
}

/** Returns the process exit status. */
export function runCommand(args: string[]): number {
  const opts = parseRunArgs(args);
  let image: Uint8Array;
  if (/\.asm$/i.test(opts.image)) {
    const assembled = assembleFile(opts.image, opts, 'run');
    if (assembled.diagnostics.length > 0) writeAll(2, Buffer.from(assembled.diagnostics.map(formatDiagnostic).join('')));
    if (!assembled.ok) return EX_DATAERR;
    image = assembled.binary;
  } else {
    image = readImage(opts.image);
  }
  // Opened before the run so a bad path is reported before the guest spends its time.
  const jsonFd = opts.json === undefined ? undefined : openForWriting(opts.json);

  const machine = new Machine({ memoryMiB: opts.memoryMiB });
  const stdout = new StdoutSink(1);
  machine.onSerialOutput = (byte) => stdout.push(byte);
  machine.load(image, { cmdline: opts.cmdline, fileName: opts.image });
  let result: RunResult;
  try {
    result = machine.run({ maxInstructions: opts.maxInstructions });
  } finally {
    stdout.flush();
  }

  if (jsonFd !== undefined) {
    const { exitCode, haltReason, instructions, eip } = result;
    writeAll(jsonFd, Buffer.from(JSON.stringify({ exitCode, haltReason, instructions, eip }, null, 2) + '\n'));
    closeSync(jsonFd);
  }
  if (result.haltReason !== 'exit') writeAll(2, Buffer.from(`vtscope: ${result.message}\n`));
  return result.exitCode;
}

function parseCommandLine(args: string[]) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        mem: { type: 'string' },
        'max-instructions': { type: 'string' },
        json: { type: 'string' },
        cmdline: { type: 'string' },
        define: { type: 'string', short: 'D', multiple: true },
        include: { type: 'string', short: 'I', multiple: true },
      },
    });
  } catch (e) {
    // parseArgs names the option; its advice on '--' for unknown options is left out.
    const message = (e as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
      ? (e as Error).message.split('. ')[0]
      : (e as Error).message;
    throw new UsageError(`run: ${message}`);
  }
}

function wholeNumber(option: string, text: string, min: number, max: number): number {
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value)) throw new UsageError(`run: ${option} needs a whole number, not '${text}'`);
  if (value < min || value > max) throw new UsageError(`run: ${option} ${value} is out of range (${min} to ${max})`);
  return value;
}

function readImage(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new UsageError(`run: cannot read ${path}: ${describeFsError(e)}`);
  }
}

function openForWriting(path: string): number {
  try {
    return openSync(path, 'w');
  } catch (e) {
    throw new UsageError(`run: cannot write --json ${path}: ${describeFsError(e)}`);
  }
}

function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'EACCES') return 'permission denied';
  return (e as Error).message;
}
