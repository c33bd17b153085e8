/**
 * The processor's VMX state (`cpu.vmx`): whether it is in VMX operation, the VMXON and
 * current-VMCS pointers, and, while in VMX non-root operation, the VM-execution controls of
 * the current VMCS read once at VM entry (a guest cannot change them: its VMWRITE exits), plus
 * the bookkeeping that VM exits need (the event being delivered, a VM exit raised deep inside
 * an instruction, the EPT TLB).
 */
import type { Cpu } from '../cpu';
import type { Insn } from '../insn';
import { Tlb } from '../tlb';
import { NO_VMCS } from './vmcs';

/** What a VM exit reports beyond the basic reason: filled by the code that decides to exit. */
export class ExitInfo {
  reason = 0;
  qualification = 0;
  /** VM-exit interruption information and error code (0: not valid). */
  intrInfo = 0;
  intrError = 0;
  /** VM-exit instruction length and information; written only for exits that define them. */
  instrLen = 0;
  instrInfo = 0;
  hasInstr = false;
  /** Guest-linear address, for the exits that define one; guest-physical address, for EPT exits. */
  linear = 0;
  hasLinear = false;
  physical = 0;
  hasPhysical = false;

  reset(reason: number): this {
    this.reason = reason;
    this.qualification = 0; this.intrInfo = 0; this.intrError = 0;
    this.instrLen = 0; this.instrInfo = 0; this.hasInstr = false;
    this.hasLinear = false; this.hasPhysical = false;
    return this;
  }

  /** An exit caused by an instruction of `length` bytes, with its instruction information. */
  instruction(length: number, info = 0): this {
    this.instrLen = length; this.instrInfo = info; this.hasInstr = true;
    return this;
  }

  withLinear(lin: number): this { this.linear = lin; this.hasLinear = true; return this; }
}

export class VmxState {
  /** In VMX operation (between VMXON and VMXOFF). */
  on = false;
  vmxonPointer = NO_VMCS;
  /** Current-VMCS pointer (physical address), or NO_VMCS. */
  current = NO_VMCS;
  /** Counts VMXONs: a VMCS launched in an earlier session cannot be resumed (VM-instruction error 6). */
  session = 0;
  /**
   * Host code written in TypeScript (the VMM of src/vmm) sets this: a VM exit then loads host
   * state and stops the run loop with StopReason.VmExit instead of continuing at HOST_RIP.
   */
  exitToHost = false;

  // ---- controls of the current VMCS, valid in VMX non-root operation ---------------------
  pin = 0;
  proc = 0;
  /** Secondary controls, 0 unless "activate secondary controls" is set. */
  proc2 = 0;
  exitControls = 0;
  exceptionBitmap = 0;
  pfMask = 0;
  pfMatch = 0;
  cr0Mask = 0;
  cr0Shadow = 0;
  cr4Mask = 0;
  cr4Shadow = 0;
  readonly cr3Targets = new Int32Array(4);
  cr3TargetCount = 0;
  ioBitmapA = 0;
  ioBitmapB = 0;
  msrBitmap = 0;
  /** TSC offset added to the CPU's while in non-root operation ("use TSC offsetting"). */
  tscOffset = 0;
  /** The guest's IA32_DEBUGCTL: this CPU has no such MSR, so it is only carried between entry and exit. */
  debugctl = 0;

  /** EPT in use: the PML4 table's physical address and whether A/D flags are enabled. */
  ept = false;
  eptPml4 = 0;
  eptAccessDirty = false;
  /** Guest-physical page -> host-physical page | EPT_R/W/X bits (ept.ts). */
  readonly eptTlb = new Tlb();

  // ---- events ----------------------------------------------------------------------------
  /** VM-entry interruption information of an event still to inject (0: none). */
  injectInfo = 0;
  injectError = 0;
  injectLength = 0;
  /** Interruption type of the injection under way (delivery reads it), or -1. */
  injecting = -1;
  /** The event being delivered through the guest IDT as IDT-vectoring information (0: none). */
  vectoringInfo = 0;
  vectoringError = 0;
  vectoringLength = 0;
  /** The instruction executing in non-root operation (INT3 and INTO deliver software exceptions). */
  insn: Insn | undefined = undefined;
  /** CR2 before the page walk that raised #PF: a #PF that becomes a VM exit leaves CR2 alone. */
  cr2BeforeFault = 0;

  /**
   * The VM exit being made (one record, reused). An exit decided inside an instruction (EPT)
   * waits here while the instruction unwinds to the run loop, which then performs it.
   */
  readonly exit = new ExitInfo();
  /** Why the last VM entry failed, in words (for the VMM and the debugger). */
  entryFailure = '';

  /** Out of VMX operation, as after power-on; `exitToHost` belongs to the host and stays. */
  reset(): void {
    this.on = false;
    this.vmxonPointer = NO_VMCS;
    this.current = NO_VMCS;
    this.ept = false;
    this.eptTlb.flush(false);
    this.injectInfo = 0;
    this.injecting = -1;
    this.vectoringInfo = 0;
    this.insn = undefined;
    this.entryFailure = '';
  }
}

/**
 * Not an exception vector: the CpuFault that carries a VM exit decided inside an instruction
 * (an EPT violation in a page walk) out to the run loop, which performs it (events.ts).
 */
export const VM_EXIT_VECTOR = 0x100;

/** Unwinds the instruction; `cpu.vmx.exit` says which VM exit to perform. */
export function raiseVmExit(cpu: Cpu): never {
  return cpu.raise(VM_EXIT_VECTOR);
}
