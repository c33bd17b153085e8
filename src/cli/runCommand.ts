/** `vtscope run IMAGE`: load a Multiboot kernel (or assemble a .asm one), run it with COM1 on stdout, exit with its status. */
import { closeSync, openSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { RunResult } from '../machine/machine';
import { MAX_RAM_MIB, MIN_RAM_MIB } from '../loader/multiboot';
import { MAX_CPUS } from '../machine/smp';
import { formatStats, vmmReport } from '../vmm/report';
import { createVmm } from '../vmm/vmm';
import { assembleFile, formatDiagnostic, parseDefines } from './assembleFile';
import { attachDisks, DEVICE_OPTIONS, parseDeviceOptions, printScreen, type DeviceOptions } from './deviceOptions';
import { MODE_OPTIONS, parseModeOptions, sourceOf, type ModeOptions } from './modeOptions';
import { StdoutSink, writeAll } from './stdoutSink';
import { EX_DATAERR, UsageError } from './usage';

interface RunOptions {
  image: string;
  memoryMiB?: number;
  /** Processors (every mode but pv). */
  cpus?: number;
  maxInstructions?: number;
  json?: string;
  cmdline?: string;
  defines: Record<string, string>;
  includePaths: string[];
  vmm: ModeOptions;
  devices: DeviceOptions;
}

export function parseRunArgs(args: string[]): RunOptions {
  const { values, positionals } = parseCommandLine(args);
  if (positionals.length === 0) throw new UsageError('run: missing IMAGE (a Multiboot kernel: flat .bin or ELF)');
  if (positionals.length > 1) throw new UsageError(`run: one IMAGE expected, got ${positionals.length}: ${positionals.join(' ')}`);
  return {
    image: positionals[0],
    memoryMiB: values.mem === undefined ? undefined : wholeNumber('--mem', values.mem, MIN_RAM_MIB, MAX_RAM_MIB),
    cpus: parseCpus(values.cpus, values.mode),
    maxInstructions: values['max-instructions'] === undefined
      ? undefined
      : wholeNumber('--max-instructions', values['max-instructions'], 1, Number.MAX_SAFE_INTEGER),
    json: values.json,
    cmdline: values.cmdline,
    defines: parseDefines('run', values.define),
    includePaths: values.include ?? [],
    vmm: parseModeOptions('run', values),
    devices: parseDeviceOptions('run', values),
  };
}

/** Returns the process exit status. */
export function runCommand(args: string[]): number {
  const opts = parseRunArgs(args);
  let image: Uint8Array;
  let source: ((eip: number) => string | undefined) | undefined;
  if (/\.asm$/i.test(opts.image)) {
    const assembled = assembleFile(opts.image, opts, 'run');
    source = sourceOf(assembled);
    if (assembled.diagnostics.length > 0) writeAll(2, Buffer.from(assembled.diagnostics.map(formatDiagnostic).join('')));
    if (!assembled.ok) return EX_DATAERR;
    image = assembled.binary;
  } else {
    image = readImage(opts.image);
  }
  // Opened before the run so a bad path is reported before the guest spends its time.
  const jsonFd = opts.json === undefined ? undefined : openForWriting(opts.json);

  // Cycles are counted when they are reported; a plain native run is the bare machine.
  const vmm = createVmm(opts.vmm.mode, { memoryMiB: opts.memoryMiB, cpus: opts.cpus, costModel: opts.vmm.costModel, memVirt: opts.vmm.memVirt, accounting: opts.vmm.stats || jsonFd !== undefined });
  if (source !== undefined) vmm.holes.sourceOf = source;
  const stdout = new StdoutSink(1);
  let lastSerialByte = 0x0a;
  vmm.machine.onSerialOutput = (byte) => { lastSerialByte = byte; stdout.push(byte); };
  vmm.load(image, { cmdline: opts.cmdline, fileName: opts.image });
  const { devices } = opts;
  const disks = attachDisks(vmm.machine, devices);
  if (devices.keys !== undefined) vmm.machine.typeKeys(devices.keys);
  let result: RunResult;
  try {
    result = vmm.run({ maxInstructions: opts.maxInstructions });
  } finally {
    stdout.flush();
    disks.close();
  }
  if (devices.screen) printScreen(vmm.machine, lastSerialByte === 0x0a);

  if (opts.vmm.stats) writeAll(2, Buffer.from(formatStats(vmm)));
  if (jsonFd !== undefined) {
    const { exitCode, haltReason, instructions, eip } = result;
    writeAll(jsonFd, Buffer.from(JSON.stringify({ exitCode, haltReason, instructions, eip, ...vmmReport(vmm) }, null, 2) + '\n'));
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
        cpus: { type: 'string' },
        'max-instructions': { type: 'string' },
        json: { type: 'string' },
        cmdline: { type: 'string' },
        define: { type: 'string', short: 'D', multiple: true },
        include: { type: 'string', short: 'I', multiple: true },
        ...MODE_OPTIONS,
        ...DEVICE_OPTIONS,
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

/** --cpus N: 1 to MAX_CPUS processors; pv runs one. */
function parseCpus(text: string | undefined, mode: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const cpus = wholeNumber('--cpus', text, 1, MAX_CPUS);
  if (cpus > 1 && mode === 'pv') throw new UsageError('run: --mode pv runs one virtual CPU (its hypercall interface has no call that starts another); --cpus N needs another mode');
  return cpus;
}

export function wholeNumber(option: string, text: string, min: number, max: number, command = 'run'): number {
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value)) throw new UsageError(`${command}: ${option} needs a whole number, not '${text}'`);
  if (value < min || value > max) throw new UsageError(`${command}: ${option} ${value} is out of range (${min} to ${max})`);
  return value;
}

export function readImage(path: string, command = 'run'): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new UsageError(`${command}: cannot read ${path}: ${describeFsError(e)}`);
  }
}

export function openForWriting(path: string, command = 'run'): number {
  try {
    return openSync(path, 'w');
  } catch (e) {
    throw new UsageError(`${command}: cannot write --json ${path}: ${describeFsError(e)}`);
  }
}

function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'EACCES') return 'permission denied';
  return (e as Error).message;
}
