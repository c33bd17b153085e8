/**
 * The `launch` request's arguments (a launch.json configuration of type "vtscope"), checked:
 * every problem is a LaunchError that names the attribute and says what it must be.
 */
import { MAX_RAM_MIB, MIN_RAM_MIB } from '../loader/multiboot';
import type { DriveFile } from '../machine/diskFile';
import { IDE_DRIVES } from '../machine/ide';
import { MAX_CPUS } from '../machine/smp';
import { COST_PRESETS } from '../vmm/costModel';
import { MEM_VIRT_NAMES, type MemVirtName } from '../vmm/hw/memoryVirtualization';
import { MODE_NAMES, type ModeName } from '../vmm/vmm';
import { LaunchError } from './runtime';

export const MODES = MODE_NAMES;
export type Mode = ModeName;

export interface LaunchConfig {
  /** The kernel image: a Multiboot ELF or flat binary. */
  program: string;
  mode: Mode;
  /** How `hw` virtualizes memory (EPT when not given). */
  memVirt?: MemVirtName;
  /** The cost preset the VMM charges (the VMM's default when not given). */
  costModel?: string;
  stopOnEntry: boolean;
  memoryMiB?: number;
  /** Processors (every mode but pv), each a thread. */
  cpus?: number;
  /** The Multiboot command line (after the image name, as QEMU passes it). */
  args?: string;
  /** Text the guest receives on COM1 from the start. */
  serialInput?: string;
  /** Where the guest's COM1 output goes: the Debug Console, a file (written anew), or nowhere. */
  serial: { to: 'console' } | { to: 'none' } | { to: 'file'; path: string };
  /** Raw disk images on the IDE drives, by drive index, copy-on-write (src/machine/diskFile.ts). */
  disks: DriveFile[];
  /** Write the guest's changes back to the disk files when the session ends. */
  diskWrite: boolean;
}

function serialTarget(text: string | undefined): LaunchConfig['serial'] {
  if (text === undefined || text === 'console') return { to: 'console' };
  if (text === 'none') return { to: 'none' };
  if (text.trim() === '') throw new LaunchError("launch: 'serial' must be 'console', 'none' or the path of a file, not an empty string");
  return { to: 'file', path: text };
}

const oneOf = (names: readonly string[]): string => `one of ${names.join(', ')}`;

const DISK_FORMS = `the path of a raw image (the primary master), or an array of up to ${IDE_DRIVES} paths or nulls by IDE drive index (primary master, primary slave, secondary master, secondary slave)`;

/** 'disk': one path for the primary master, or a path (or null for none) per drive index. */
function diskDrives(value: string | unknown[] | undefined): DriveFile[] {
  const bad = (): never => { throw new LaunchError(`launch: 'disk' must be ${DISK_FORMS}, not ${JSON.stringify(value)}`); };
  if (value === undefined) return [];
  if (typeof value === 'string') return value.trim() === '' ? bad() : [{ index: 0, path: value, name: `'disk' ${value}` }];
  if (value.length > IDE_DRIVES) return bad();
  const drives: DriveFile[] = [];
  value.forEach((path: unknown, index) => {
    if (path === null) return;
    if (typeof path !== 'string' || path.trim() === '') bad();
    drives.push({ index, path: path as string, name: `'disk'[${index}] ${path as string}` });
  });
  return drives;
}

export function parseLaunchConfig(raw: unknown): LaunchConfig {
  if (raw !== undefined && (typeof raw !== 'object' || raw === null)) throw new LaunchError('launch: the arguments must be an object');
  const a = (raw ?? {}) as Record<string, unknown>;
  const optional = <T>(name: string, type: string, check: (v: unknown) => v is T): T | undefined => {
    const v = a[name];
    if (v === undefined || v === null) return undefined;
    if (!check(v)) throw new LaunchError(`launch: '${name}' must be ${type}, not ${JSON.stringify(v)}`);
    return v;
  };
  const isString = (v: unknown): v is string => typeof v === 'string';
  const isOneOf = <T extends string>(names: readonly T[]) => (v: unknown): v is T => (names as readonly unknown[]).includes(v);
  const program = optional('program', 'a path', isString);
  if (program === undefined || program.trim() === '') {
    throw new LaunchError("launch: 'program' is missing: give the path of a Multiboot kernel (ELF or flat binary)");
  }
  const mode = optional('mode', oneOf(MODES), isOneOf(MODES)) ?? 'native';
  const memVirt = optional('memVirt', `${oneOf(MEM_VIRT_NAMES)} (mode hw only)`, isOneOf(MEM_VIRT_NAMES));
  const presets = COST_PRESETS.map((p) => p.name);
  const costModel = optional('costModel', `a cost preset: ${oneOf(presets)}`, isOneOf(presets));
  // Native mode has no VMM to apply these to; only hw chooses how memory is virtualized.
  if (mode === 'native') {
    for (const name of ['memVirt', 'costModel'] as const) {
      if (a[name] !== undefined) throw new LaunchError(`launch: '${name}' applies to the VMM modes (trap, bt, pv, hw), not to mode 'native'`);
    }
  } else if (memVirt !== undefined && mode !== 'hw') {
    throw new LaunchError(`launch: 'memVirt' applies to mode 'hw' only (mode '${mode}' has its own memory virtualization)`);
  }
  const memoryMiB = optional('memoryMiB', `a whole number of MiB from ${MIN_RAM_MIB} to ${MAX_RAM_MIB}`,
    (v): v is number => typeof v === 'number' && Number.isInteger(v) && v >= MIN_RAM_MIB && v <= MAX_RAM_MIB);
  const cpus = optional('cpus', `a whole number of processors from 1 to ${MAX_CPUS}`,
    (v): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_CPUS);
  if (cpus !== undefined && cpus > 1 && mode === 'pv') throw new LaunchError("launch: mode 'pv' runs one virtual CPU (its hypercall interface has no call that starts another); 'cpus' needs another mode");
  const disks = diskDrives(optional('disk', DISK_FORMS, (v): v is string | unknown[] => typeof v === 'string' || Array.isArray(v)));
  const diskWrite = optional('diskWrite', 'true or false', (v): v is boolean => typeof v === 'boolean') ?? false;
  if (diskWrite && disks.length === 0) throw new LaunchError("launch: 'diskWrite' needs 'disk' (the images whose changes are written back)");
  return {
    program,
    mode,
    memVirt,
    costModel,
    stopOnEntry: optional('stopOnEntry', 'true or false', (v): v is boolean => typeof v === 'boolean') ?? false,
    memoryMiB,
    cpus,
    args: optional('args', 'a string (the Multiboot command line)', isString),
    serialInput: optional('serialInput', 'a string', isString),
    serial: serialTarget(optional('serial', "'console', 'none' or the path of a file", isString)),
    disks,
    diskWrite,
  };
}
