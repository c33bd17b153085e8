/**
 * The VMM options of `vtscope run` and `vtscope compare`: `--mode`, `--cost-model` and
 * `--stats`, and running an image under a VMM with them.
 */
import { basename } from 'node:path';
import type { AssembleResult } from '../asm';
import { COST_PRESETS, DEFAULT_COST_PRESET, findCostPreset } from '../vmm/costModel';
import { MEM_VIRT_NAMES, type MemVirtName } from '../vmm/hw/memoryVirtualization';
import { MODE_NAMES, type ModeName } from '../vmm/vmm';
import { UsageError } from './usage';

export const MODE_OPTIONS = {
  mode: { type: 'string' },
  'cost-model': { type: 'string' },
  stats: { type: 'boolean' },
  'mem-virt': { type: 'string' },
} as const;

export interface ModeOptions {
  mode: ModeName;
  costModel: string;
  stats: boolean;
  /** How `hw` virtualizes memory; undefined: as the cost preset's processor would. */
  memVirt: MemVirtName | undefined;
}

export function parseMode(command: string, text: string): ModeName {
  const mode = MODE_NAMES.find((m) => m === text);
  if (mode === undefined) throw new UsageError(`${command}: --mode must be one of ${MODE_NAMES.join(', ')}, not '${text}'`);
  return mode;
}

export function parseCostModel(command: string, text: string | undefined): string {
  const name = text ?? DEFAULT_COST_PRESET;
  if (findCostPreset(name) === undefined) {
    throw new UsageError(`${command}: unknown --cost-model '${name}' (the presets are ${COST_PRESETS.map((p) => p.name).join(', ')})`);
  }
  return name;
}

/** `--mem-virt ept|shadow`, which only `hw` has (by default EPT where the cost preset's processor has it). */
export function parseMemVirt(command: string, mode: ModeName, text: string | undefined): MemVirtName | undefined {
  if (text === undefined) return undefined;
  const memVirt = MEM_VIRT_NAMES.find((m) => m === text);
  if (memVirt === undefined) throw new UsageError(`${command}: --mem-virt must be one of ${MEM_VIRT_NAMES.join(', ')}, not '${text}'`);
  if (mode !== 'hw') throw new UsageError(`${command}: --mem-virt applies to --mode hw only`);
  return memVirt;
}

export function parseModeOptions(command: string,
  values: { mode?: string; 'cost-model'?: string; stats?: boolean; 'mem-virt'?: string }): ModeOptions {
  const mode = values.mode === undefined ? 'native' : parseMode(command, values.mode);
  return {
    mode,
    costModel: parseCostModel(command, values['cost-model']),
    stats: values.stats ?? false,
    memVirt: parseMemVirt(command, mode, values['mem-virt']),
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
