/**
 * Emulated cycles of a run: one per retired guest instruction, what the instruction-cost
 * table adds on top for the expensive ones, and the cost of every event the VMM handled.
 */
import type { Insn } from '../cpu/insn';
import type { Machine } from '../machine/machine';
import { instructionCost } from './costModel';

export class Accounting {
  /** Cycles beyond one per retired instruction, from the instruction-cost table. */
  instructionExtra = 0;
  /** Cycles of the VMM's events. */
  eventCycles = 0;

  constructor(private readonly machine: Machine) {}

  /** Back to no cycles but the instructions', for a run that starts again from the launch. */
  clear(): void {
    this.instructionExtra = 0;
    this.eventCycles = 0;
  }

  /** Cycles of every processor together. */
  cycles(): number { return this.machine.instructions() + this.instructionExtra + this.eventCycles; }

  /**
   * Makes each completed execution of `insn` add its cost beyond one cycle (called when the
   * code cache decodes it; instructions of cost 1 are left alone, so they run as fast as ever).
   */
  chargeOnExecute(insn: Insn): void {
    const extra = instructionCost(insn) - 1;
    if (extra === 0) return;
    const exec = insn.exec;
    insn.exec = (cpu, i) => { exec(cpu, i); this.instructionExtra += extra; };
  }

  /** An instruction the VMM carried out for the guest: it retires, at its own cost. */
  retire(insn: Insn): void {
    this.machine.running.icount++;
    this.instructionExtra += instructionCost(insn) - 1;
  }
}
