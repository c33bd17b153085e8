/**
 * How the x87 reaches the operating system: #NM while CR0.EM or CR0.TS says the FPU is not
 * there or not yours (SDM Vol. 3A, 2.5 and table 2-2), and #MF for an unmasked exception,
 * raised by the next waiting instruction (SDM Vol. 1, 8.7).
 *
 * With CR0.NE clear the processor asserts FERR# instead, before the next waiting instruction
 * (SDM Vol. 1, 8.7 and D.2), and a PC raises IRQ 13 for it (machine/fpuErrorLatch.ts); the
 * instruction then goes on, as under QEMU (where the 486's freeze until an interrupt is not
 * modelled either). While the chipset asserts IGNNE# the error is ignored.
 */
import type { Cpu } from '../cpu';
import { MF, NM } from '../exceptions';
import { CR0_EM, CR0_MP, CR0_NE, CR0_TS } from '../registers';
import { C1 } from './float80';
import { EXCEPTIONS_SF, SW_ES, type FpuState } from './state';

/** #NM unless the FPU may be used: CR0.EM (emulate it) or CR0.TS (a task switch left another task's state in it). */
export function checkDevice(cpu: Cpu): void {
  if ((cpu.cr0 & (CR0_EM | CR0_TS)) !== 0) cpu.raise(NM);
}

/** An exception left pending by an earlier instruction: #MF with CR0.NE set, else FERR# unless IGNNE# is asserted. */
export function checkPending(cpu: Cpu): void {
  if ((cpu.fpu.sw & SW_ES) === 0) return;
  if ((cpu.cr0 & CR0_NE) !== 0) cpu.raise(MF);
  else if (!cpu.fpu.ignne) cpu.bus.fpuError?.();
}

/** The start of every waiting x87 instruction (all but FNINIT, FNCLEX, FNSTCW, FNSTSW, FNSTENV, FNSAVE). */
export function beginWaiting(cpu: Cpu): FpuState {
  checkDevice(cpu);
  checkPending(cpu);
  return cpu.fpu;
}

/** WAIT/FWAIT: #NM only when both CR0.MP and CR0.TS are set, then the pending-exception check. */
export function wait(cpu: Cpu): void {
  if ((cpu.cr0 & (CR0_MP | CR0_TS)) === (CR0_MP | CR0_TS)) cpu.raise(NM);
  checkPending(cpu);
}

/**
 * Records what an instruction detected (float80's flags): the exception flags and the stack
 * fault bit accumulate, C1 is set or cleared, and ES/B follow the masks.
 */
export function report(f: FpuState, flags: number): void {
  f.sw = (f.sw & ~C1) | (flags & (EXCEPTIONS_SF | C1));
  if ((flags & EXCEPTIONS_SF) !== 0) f.updateSummary();
}
