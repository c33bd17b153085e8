/**
 * The hook a virtual machine monitor hangs on the CPU (src/vmm). With a monitor set, the CPU
 * asks it before delivering any event, and lets it see every instruction it decodes; without
 * one (native mode) nothing here costs anything.
 */
import type { Cpu } from './cpu';
import type { Insn } from './insn';
import type { EventKind } from './interrupts';

export interface Monitor {
  /**
   * Called before the CPU delivers an exception (from `deliverException`, with `cpu.fault`
   * raised by the instruction at `cpu.eipStart`), a software interrupt (INT n, INT3, INTO,
   * with EIP already past the instruction) or an external interrupt (vector acknowledged at
   * the PIC). True: the monitor dealt with it (it may have changed EIP, registers, memory, or
   * delivered another event itself) and the CPU delivers nothing. False: the CPU delivers it.
   */
  intercept(cpu: Cpu, vector: number, kind: EventKind, errorCode: number, hasErrorCode: boolean): boolean;
  /**
   * Called by the code cache on each instruction it decodes, before it joins a block. The
   * monitor may replace `insn.exec` (keeping the original to call), for instance to observe
   * or emulate a sensitive instruction. Blocks are keyed by CPL as well while a monitor is
   * set, so the decision may depend on `cpu.cpl`. `eip` is the instruction's offset in CS.
   */
  translate?(cpu: Cpu, insn: Insn, eip: number): void;
  /** Called by the code cache when it has decoded (and translated) a block of `count` instructions at CS:`eip`. */
  blockDecoded?(cpu: Cpu, eip: number, count: number): void;
}
