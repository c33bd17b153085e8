/**
 * The exit handlers by basic exit reason (fact sheet, section 1), as KVM's vmx.c has them in
 * kvm_vmx_exit_handlers. A reason without a handler is one the VMM never asks for; if it
 * happens anyway the run stops naming it.
 */
import { EXIT_REASON } from '../../cpu/vmx/index';
import type { ExitHandler } from './exitHandler';
import { cpuid } from './exits/cpuid';
import { crAccess } from './exits/crAccess';
import { eptMisconfig } from './exits/eptMisconfig';
import { eptViolation } from './exits/eptViolation';
import { exception } from './exits/exception';
import { externalInterrupt } from './exits/externalInterrupt';
import { hlt } from './exits/hlt';
import { interruptWindow } from './exits/interruptWindow';
import { invd } from './exits/invd';
import { invlpg } from './exits/invlpg';
import { io } from './exits/io';
import { rdmsr, wrmsr } from './exits/msr';
import { tripleFault } from './exits/tripleFault';
import { vmxInstruction } from './exits/vmxInstruction';

const R = EXIT_REASON;

const HANDLERS: readonly [reason: number, handler: ExitHandler][] = [
  [R.EXCEPTION_NMI, exception],
  [R.EXTERNAL_INTERRUPT, externalInterrupt],
  [R.TRIPLE_FAULT, tripleFault],
  [R.INTERRUPT_WINDOW, interruptWindow],
  [R.CPUID, cpuid],
  [R.HLT, hlt],
  [R.INVD, invd],
  [R.INVLPG, invlpg],
  [R.VMCALL, vmxInstruction],
  [R.VMCLEAR, vmxInstruction],
  [R.VMLAUNCH, vmxInstruction],
  [R.VMPTRLD, vmxInstruction],
  [R.VMPTRST, vmxInstruction],
  [R.VMREAD, vmxInstruction],
  [R.VMRESUME, vmxInstruction],
  [R.VMWRITE, vmxInstruction],
  [R.VMXOFF, vmxInstruction],
  [R.VMXON, vmxInstruction],
  [R.CR_ACCESS, crAccess],
  [R.IO_INSTRUCTION, io],
  [R.MSR_READ, rdmsr],
  [R.MSR_WRITE, wrmsr],
  [R.EPT_VIOLATION, eptViolation],
  [R.EPT_MISCONFIG, eptMisconfig],
];

/** Indexed by basic exit reason. */
export const EXIT_HANDLERS: readonly (ExitHandler | undefined)[] = (() => {
  const table: (ExitHandler | undefined)[] = new Array(R.XSETBV + 1).fill(undefined);
  for (const [reason, handler] of HANDLERS) table[reason] = handler;
  return table;
})();
