/**
 * The run loop: looks up the decoded block at CS:EIP, runs its instructions, delivers
 * exceptions they raise and external interrupts between blocks, and stops on HLT, a stop
 * request or the instruction budget.
 */
import { StopReason, type Cpu } from './cpu';
import { CpuFault } from './exceptions';
import { deliverException, externalInterrupt } from './interrupts';
import { FLAG_IF } from './registers';

/**
 * Runs at most `budget` instructions. Returns early when the CPU halts (HLT: the caller
 * advances time and calls again), or on a stop request (`cpu.stopReason`).
 */
export function run(cpu: Cpu, budget: number): void {
  const end = cpu.icount + budget;
  cpu.stopReason = StopReason.None;
  const code = cpu.code;
  while (cpu.icount < end && cpu.stopReason === StopReason.None) {
    if ((cpu.flags & FLAG_IF) !== 0 && cpu.icount > cpu.inhibitUntil && cpu.bus.intrPending()) {
      externalInterrupt(cpu, cpu.bus.intrAcknowledge());
      continue;
    }
    if (cpu.halted) return;
    try {
      const block = code.lookup();
      const insns = block.insns;
      const n = Math.min(insns.length, end - cpu.icount);
      const mask = block.code32 ? -1 : 0xffff;
      cpu.leaveBlock = false;
      for (let k = 0; k < n; k++) {
        const i = insns[k];
        const eip = cpu.eip;
        cpu.eipStart = eip;
        cpu.eip = (eip + i.len) & mask;
        i.exec(cpu, i);
        cpu.icount++;
        if (cpu.leaveBlock) break;
      }
    } catch (e) {
      if (!(e instanceof CpuFault)) throw e;
      cpu.eip = cpu.eipStart;
      deliverException(cpu);
    }
  }
}

/** Executes exactly one instruction (or delivers one pending interrupt): the debugger's step. */
export function step(cpu: Cpu): void {
  run(cpu, 1);
}
