/** The CPU's public face: create one over a bus, run it, inspect it. */
import type { CpuBus } from './bus';
import { CodeCache } from './codeCache';
import { Cpu } from './cpu';

export function createCpu(bus: CpuBus): Cpu {
  const cpu = new Cpu(bus);
  cpu.code = new CodeCache(cpu);
  return cpu;
}

export { Cpu, StopReason } from './cpu';
export { run, step } from './execute';
export { getEflags } from './flags';
export type { CpuBus, AccessSize } from './bus';
