/**
 * The VMM options of `vtscope run` and `vtscope compare`: `--mode`, `--cost-model` and
 * `--stats`, and running an image under a VMM with them.
 */
import { basename } from 'node:path';
import type { AssembleResult } from '../asm';
import { COST_PRESETS, DEFAULT_COST_PRESET, findCostPreset } from '../vmm/costModel';
import { MODE_NAMES, type ModeName } from '../vmm/vmm';
import { UsageError } from './usage';

/** The modes that run today; DESIGN.md's `bt` and `hw` come later. */
export const AVAILABLE_MODES: readonly ModeName[] = ['native', 'trap', 'pv'];

export const MODE_OPTIONS = {
  mode: { type: 'string' },
  'cost-model': { type: 'string' },
  stats: { type: 'boolean' },
} as const;

export interface ModeOptions {
  mode: ModeName;
  costModel: string;
  stats: boolean;
}

export function parseMode(command: string, text: string): ModeName {
  const mode = MODE_NAMES.find((m) => m === text);
  if (mode === undefined) throw new UsageError(`${command}: --mode must be one of ${MODE_NAMES.join(', ')}, not '${text}'`);
  if (!AVAILABLE_MODES.includes(mode)) {
    throw new UsageError(`${command}: --mode ${mode} is not available yet (the modes that run are ${AVAILABLE_MODES.join(', ')})`);
  }
  return mode;
}

export function parseCostModel(command: string, text: string | undefined): string {
  const name = text ?? DEFAULT_COST_PRESET;
  if (findCostPreset(name) === undefined) {
    throw new UsageError(`${command}: unknown --cost-model '${name}' (the presets are ${COST_PRESETS.map((p) => p.name).join(', ')})`);
  }
  return name;
}

export function parseModeOptions(command: string, values: { mode?: string; 'cost-model'?: string; stats?: boolean }): ModeOptions {
  return {
    mode: values.mode === undefined ? 'native' : parseMode(command, values.mode),
    costModel: parseCostModel(command, values['cost-model']),
    stats: values.stats ?? false,
  };
}

/** FILE:LINE of the instruction at an address of an image assembled in process. */
export function sourceOf(assembled: AssembleResult): (eip: number) => string | undefined {
  const map = assembled.map;
  return (eip) => {
    const e = map.find((m) => eip >= m.address && eip < m.address + m.length);
    return e === undefined ? undefined : `${basename(e.location.file)}:${e.location.line}`;
  };
}
