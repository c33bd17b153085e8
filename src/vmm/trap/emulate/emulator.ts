/**
 * What an emulator of a trapping instruction provides: whether the guest may execute the
 * instruction at its own (virtual) privilege, how to carry it out as ring 0 would, and how
 * to put the exit-log qualification in words.
 */
import type { Insn } from '../../../cpu/insn';
import { ea } from '../../../cpu/operands';
import type { Qualifier } from '../../exitLog';
import type { TrapMonitor } from '../trapMonitor';
import { virtualCpl } from '../virtualCpu';

export interface Emulator {
  /** The instruction as the exit-log reason names it: "#GP emulate " + name. */
  name(insn: Insn): string;
  /** May the guest execute it at its virtual CPL and IOPL? If not, the #GP is the guest's own. */
  allowed(t: TrapMonitor, insn: Insn): boolean;
  /**
   * Carries the instruction out (it may throw GuestFault, and change nothing then). Puts up to
   * four numbers for the qualification in `q`; returns true when it set EIP itself.
   */
  run(t: TrapMonitor, insn: Insn, q: Float64Array): boolean | void;
  qualify: Qualifier;
}

/** The guest's privilege as it believes it is. */
export function guestCpl(t: TrapMonitor): number { return virtualCpl(t.cpu.cpl); }

/** Privileged instructions (SDM Vol. 3A, 5.9): ring 0 only. */
export function ring0(t: TrapMonitor): boolean { return guestCpl(t) === 0; }

/** CLI, STI: CPL <= IOPL, with the guest's IOPL. */
export function ioplAllows(t: TrapMonitor): boolean { return guestCpl(t) <= t.vcpu.iopl; }

/** Linear address of a memory operand after the segment checks. */
export function operandAddress(t: TrapMonitor, insn: Insn, size: number, write: boolean): number {
  return t.mem.linear(insn.seg, ea(t.cpu, insn), size, write);
}

/** An r/m16 source operand, from a register or through the guest's memory. */
export function readRm16(t: TrapMonitor, insn: Insn): number {
  if (!insn.mem) return t.cpu.regs[insn.rm] & 0xffff;
  return t.mem.read16(operandAddress(t, insn, 2, false), t.cpu.cpl === 3);
}

export const REG32 = ['EAX', 'ECX', 'EDX', 'EBX', 'ESP', 'EBP', 'ESI', 'EDI'];
export { hex } from '../../exitLog';
