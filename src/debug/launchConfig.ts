/**
 * The `launch` request's arguments (a launch.json configuration of type "vtscope"), checked:
 * every problem is a LaunchError that names the attribute and says what it must be.
 */
import { MAX_RAM_MIB, MIN_RAM_MIB } from '../loader/multiboot';
import { LaunchError } from './runtime';

export const MODES = ['native', 'trap', 'bt', 'pv', 'hw'] as const;
export type Mode = (typeof MODES)[number];

export interface LaunchConfig {
  /** The kernel image: a Multiboot ELF or flat binary. */
  program: string;
  mode: Mode;
  stopOnEntry: boolean;
  memoryMiB?: number;
  /** The Multiboot command line (after the image name, as QEMU passes it). */
  args?: string;
  /** Text the guest receives on COM1 from the start. */
  serialInput?: string;
}

/** Attributes that belong to the VMM modes, which this version does not run. */
const VMM_ONLY = ['memVirt', 'costModel'];

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
  const program = optional('program', 'a path', isString);
  if (program === undefined || program.trim() === '') {
    throw new LaunchError("launch: 'program' is missing: give the path of a Multiboot kernel (ELF or flat binary)");
  }
  const mode = optional('mode', `one of ${MODES.join(', ')}`, (v): v is Mode => (MODES as readonly unknown[]).includes(v)) ?? 'native';
  if (mode !== 'native') {
    throw new LaunchError(`launch: mode '${mode}' is not available in this version of the debug adapter: only 'native' runs guests so far`);
  }
  for (const name of VMM_ONLY) {
    if (a[name] !== undefined) throw new LaunchError(`launch: '${name}' applies to the VMM modes, which this version does not run (mode is 'native')`);
  }
  const memoryMiB = optional('memoryMiB', `a whole number of MiB from ${MIN_RAM_MIB} to ${MAX_RAM_MIB}`,
    (v): v is number => typeof v === 'number' && Number.isInteger(v) && v >= MIN_RAM_MIB && v <= MAX_RAM_MIB);
  return {
    program,
    mode,
    stopOnEntry: optional('stopOnEntry', 'true or false', (v): v is boolean => typeof v === 'boolean') ?? false,
    memoryMiB,
    args: optional('args', 'a string (the Multiboot command line)', isString),
    serialInput: optional('serialInput', 'a string', isString),
  };
}
