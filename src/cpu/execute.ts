/**
 * The run loop: looks up the decoded block at CS:EIP, runs its instructions, delivers
 * exceptions they raise and external interrupts between blocks, and stops on HLT, a stop
 * request or the instruction budget.
 */
import { compileBlock } from './blockCompiler';
import type { Block } from './codeCache';
import { StopReason, type Cpu } from './cpu';
import { CpuFault } from './exceptions';
import { deliverException, externalInterrupt } from './interrupts';
import { CS, FLAG_IF } from './registers';
import { nonRootEvent } from './vmx/events';
import { instructionExits, runsWithoutExits } from './vmx/exits';

/**
 * Runs at most `budget` instructions. Returns early when the CPU halts (HLT: the caller
 * advances time and calls again), or on a stop request (`cpu.stopReason`).
 */
export function run(cpu: Cpu, budget: number): void {
  // The end of this run; the machine may bring it closer (a device event due sooner).
  cpu.runUntil = cpu.icount + budget;
  cpu.stopReason = StopReason.None;
  const code = cpu.code;
  const tlb = cpu.tlb;
  let prev: Block | undefined;
  // Exception deliveries count against the budget too, so a guest in which every instruction
  // faults still returns control (pause must always work).
  let events = 0;
  while (cpu.icount + events < cpu.runUntil && cpu.stopReason === StopReason.None) {
    // VMX non-root operation: event injection and the VM exits for interrupts come first (vmx/events.ts).
    if (cpu.vmxNonRoot && nonRootEvent(cpu)) {
      events++;
      prev = undefined;
      continue;
    }
    if ((cpu.flags & FLAG_IF) !== 0 && cpu.icount > cpu.inhibitUntil && cpu.bus.intrPending()) {
      externalInterrupt(cpu, cpu.bus.intrAcknowledge());
      events++;
      prev = undefined;
      continue;
    }
    if (cpu.halted) return;
    if (code.stopAt.size !== 0 && cpu.icount !== cpu.resumeIcount && code.stopAt.has((cpu.segBase[CS] + cpu.eip) | 0)) {
      cpu.requestStop(StopReason.Breakpoint);
      return;
    }
    try {
      // A fault while fetching (#PF, an EPT violation) belongs to the instruction at EIP, not to the jump that led there.
      cpu.eipStart = cpu.eip;
      const block = nextBlock(cpu, prev, tlb.epoch);
      prev = block;
      const insns = block.insns;
      cpu.leaveBlock = false;
      if (block.compiled === undefined && block.runs++ >= code.compileAfter && block.valid) {
        block.compiled = compileBlock(block);
      }
      // Compiled blocks do not check for VM exits: in VMX non-root operation only blocks in which
      // nothing can exit run compiled (vmx/exits.ts).
      const nonRoot = cpu.vmxNonRoot;
      const left = cpu.runUntil - cpu.icount - events;
      // In an interrupt shadow (after STI, MOV SS) one instruction runs, then interrupts are looked at again.
      const shadow = cpu.icount <= cpu.inhibitUntil;
      if (block.compiled !== undefined && !shadow && (!nonRoot || runsWithoutExits(cpu, block)) && insns.length <= left) {
        block.compiled(cpu);
        continue;
      }
      const n = shadow ? 1 : Math.min(insns.length, left);
      const mask = block.code32 ? -1 : 0xffff;
      for (let k = 0; k < n; k++) {
        const i = insns[k];
        const eip = cpu.eip;
        cpu.eipStart = eip;
        cpu.eip = (eip + i.len) & mask;
        // An instruction that causes a VM exit does not execute (vmx/exits.ts).
        if (nonRoot && instructionExits(cpu, i)) break;
        i.exec(cpu, i);
        cpu.icount++;
        if (cpu.leaveBlock) break;
        // VMX: an interrupt shadow just ended, so interrupt-window and interrupt exits are due now.
        if (nonRoot && cpu.icount === cpu.inhibitUntil + 1) break;
      }
    } catch (e) {
      if (!(e instanceof CpuFault)) throw e;
      prev = undefined;
      events++;
      cpu.fetching = false;
      cpu.eip = cpu.eipStart;
      deliverException(cpu);
    }
  }
}

/**
 * The block at CS:EIP. Following the chain from the block that just ran saves the TLB and
 * cache lookups; a chain is only trusted while the TLB epoch is unchanged.
 */
function nextBlock(cpu: Cpu, prev: Block | undefined, epoch: number): Block {
  if (prev !== undefined && prev.nextEpoch === epoch) {
    const a = prev.nextA;
    if (a !== undefined && a.eip === cpu.eip && a.valid) return a;
    const b = prev.nextB;
    if (b !== undefined && b.eip === cpu.eip && b.valid) { prev.nextB = a; prev.nextA = b; return b; }
  }
  const block = cpu.code.lookup();
  if (prev !== undefined && prev.valid) {
    if (prev.nextEpoch !== epoch) { prev.nextEpoch = epoch; prev.nextB = undefined; } else prev.nextB = prev.nextA;
    prev.nextA = block;
  }
  return block;
}

/** Executes exactly one instruction (or delivers one pending interrupt): the debugger's step. */
export function step(cpu: Cpu): void {
  run(cpu, 1);
}
