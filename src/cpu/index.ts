/** The CPU's public face: create one over a bus, run it, inspect it. */
import type { CpuBus } from './bus';
import { CodeCache } from './codeCache';
import { Cpu } from './cpu';

/**
 * A processor on `bus`. With `sibling`, another processor on the same RAM: the two share the
 * map of pages holding decoded code, so code one of them writes is dropped from both caches.
 */
export function createCpu(bus: CpuBus, sibling?: Cpu): Cpu {
  const cpu = new Cpu(bus, sibling?.codePages);
  cpu.code = new CodeCache(cpu);
  if (sibling !== undefined) cpu.code.joinPeers(sibling.code);
  return cpu;
}

export { Cpu, StopReason } from './cpu';
export { run, step } from './execute';
export { getEflags } from './flags';
export type { CpuBus, AccessSize } from './bus';
