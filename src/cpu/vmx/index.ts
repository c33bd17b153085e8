/**
 * VT-x for a hypervisor written in TypeScript (vtscope's `hw` VMM): the VMX operations of the
 * emulated processor as functions, with the semantics of the instructions VMXON, VMCLEAR,
 * VMPTRLD, VMPTRST, VMREAD, VMWRITE, VMLAUNCH, VMRESUME and VMXOFF (SDM Vol. 3C, chapter 30),
 * on the same state a guest hypervisor's instructions use. Field encodings are the real ones
 * (`VMCS.GUEST_CR0` is 0x6800), and so are exit reasons and VM-instruction errors.
 *
 * How a VMM runs a guest:
 *
 *   1. `cpu.model = QEMU32_VMX` (cpuid.ts) and `cpu.vmx.exitToHost = true`: a VM exit then saves
 *      the guest, loads the VMCS host state and stops `run` with StopReason.VmExit, instead of
 *      continuing at HOST_RIP as it does for a guest hypervisor.
 *   2. Keep some physical memory the guest cannot reach for the VMXON region, the VMCS (4 KiB
 *      each, the first dword set to VMCS_REVISION_ID), the EPT tables and the I/O and MSR
 *      bitmaps. VMX physical addresses are 32-bit on this processor.
 *   3. `enableVmx(cpu)`, then `vmxOn`, `vmclear` and `vmptrld` the VMCS.
 *   4. `vmwrite` the controls (allowed settings: capabilities.ts; the TRUE capability MSRs
 *      apply), the host state (CR0 with PE, NE and PG, CR4 with VMXE, non-null CS, SS and TR
 *      selectors: it is checked although the TypeScript host never runs on it) and the guest
 *      state, VMCS_LINK_PTR all ones (`vmwrite64(cpu, VMCS.VMCS_LINK_PTR, -1, -1)`).
 *   5. `vmlaunch`, then repeatedly `run(cpu, budget)`: when it stops with StopReason.VmExit,
 *      `vmread` EXIT_REASON, EXIT_QUALIFICATION and the rest, emulate, update the guest state
 *      (GUEST_RIP += EXIT_INSTR_LEN for an instruction you emulated), and `vmresume`. When
 *      `run` returns for any other reason the guest is still in non-root operation: call `run`
 *      again (or handle the halt), not `vmresume`.
 *
 * vmlaunch/vmresume return VMX_SUCCEED when the guest is entered; VMX_FAIL_INVALID or a
 * VM-instruction error number (VM_ERROR) when the instruction would VMfail; VMX_ENTRY_FAILED
 * when the guest state was refused, which is a VM exit with EXIT_REASON 33 (34 for the MSR-load
 * list) and bit 31 set. `cpu.vmx.entryFailure` names the rule broken in either failing case.
 * vmread and vmwrite throw a VmxError instead of returning a failure.
 */
import type { Cpu } from '../cpu';
import { CPUID_ECX_VMX } from '../cpuid';
import { FEATURE_CONTROL_LOCK, FEATURE_CONTROL_VMX_OUTSIDE_SMX } from '../msrs';
import { CR4_VMXE } from '../registers';
import { CR0_FIXED0 } from './capabilities';
import { vmEntry } from './entry';
import { vmInstructionErrorText } from './exitReasons';
import * as ops from './operations';
import { fieldName } from './vmcsFields';

export { VMX_ENTRY_FAILED } from './entry';
export { VMX_FAIL_INVALID, VMX_SUCCEED } from './operations';
export { NO_VMCS, VMCS_REGION_SIZE, VMCS_REVISION_ID } from './vmcs';
export { VMCS, VMCS_FIELDS, fieldName, findField, type VmcsField, type VmcsFieldName } from './vmcsFields';
export { EXIT_REASON, EXIT_REASON_ENTRY_FAILURE, VM_ERROR, exitReasonName, vmInstructionErrorText } from './exitReasons';
export * from './capabilities';
export {
  ACTIVITY_ACTIVE, ACTIVITY_HLT, BLOCKING_BY_MOV_SS, BLOCKING_BY_STI, INTR_ERROR_CODE_VALID, INTR_VALID,
  InterruptionType, interruptionInfo, intrType,
} from './vmExit';
export { EPT_QUAL_LINEAR_VALID, EPT_QUAL_TRANSLATED, EPT_R, EPT_W, EPT_X } from './ept';
export { INSTRUCTION_EXITS, type InstructionExit } from './exits';

/** A VMX operation that failed where the VMM did not expect it: `status` is VMX_FAIL_INVALID or the error number. */
export class VmxError extends Error {
  constructor(readonly operation: string, readonly status: number) {
    super(`${operation} failed: ${status === ops.VMX_FAIL_INVALID ? 'VMfailInvalid (no current VMCS)'
      : `VM-instruction error ${status} (${vmInstructionErrorText(status)})`}`);
    this.name = 'VmxError';
  }
}

/** Host code runs between VM exits, never while the guest does. */
function requireRoot(cpu: Cpu, operation: string): void {
  if (cpu.vmxNonRoot) {
    throw new Error(`${operation}: the CPU is in VMX non-root operation; run it until a VM exit first`);
  }
}

/**
 * What a host kernel does before VMXON: locks IA32_FEATURE_CONTROL with VMXON enabled outside
 * SMX, sets CR4.VMXE and the CR0 bits fixed to 1 in VMX operation (PE, NE, PG; no page table is
 * needed, as no x86 code runs in the TypeScript host). Throws on a CPU model without VMX.
 */
export function enableVmx(cpu: Cpu): void {
  if ((cpu.model.featuresEcx & CPUID_ECX_VMX) === 0) {
    throw new Error(`CPU model ${cpu.model.name} has no VMX (CPUID.01H:ECX bit 5): use QEMU32_VMX`);
  }
  const bank = cpu.msrBank;
  if ((bank.featureControl & FEATURE_CONTROL_LOCK) === 0) bank.featureControl = FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX;
  if ((bank.featureControl & FEATURE_CONTROL_VMX_OUTSIDE_SMX) === 0) {
    throw new Error('IA32_FEATURE_CONTROL is locked with VMXON disabled');
  }
  cpu.cr4 |= CR4_VMXE;
  cpu.cr0 |= CR0_FIXED0;
}

/** VMXON with the region at physical address `region`: VMX_SUCCEED or VMfail status. */
export function vmxOn(cpu: Cpu, region: number): number {
  requireRoot(cpu, 'VMXON');
  const enabled = FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX;
  if ((cpu.cr4 & CR4_VMXE) === 0 || (cpu.cr0 & CR0_FIXED0) !== CR0_FIXED0 || (cpu.msrBank.featureControl & enabled) !== enabled) {
    throw new Error('VMXON: IA32_FEATURE_CONTROL, CR4.VMXE and CR0.PE/NE/PG must be set up first (enableVmx)');
  }
  return ops.vmxon(cpu, region, 0);
}

function requireVmxOperation(cpu: Cpu, operation: string): void {
  requireRoot(cpu, operation);
  if (!cpu.vmx.on) throw new Error(`${operation}: not in VMX operation (vmxOn first)`);
}

export function vmxOff(cpu: Cpu): number {
  requireVmxOperation(cpu, 'VMXOFF');
  return ops.vmxoff(cpu);
}

export function vmclear(cpu: Cpu, vmcs: number): number {
  requireVmxOperation(cpu, 'VMCLEAR');
  return ops.vmclear(cpu, vmcs, 0);
}

export function vmptrld(cpu: Cpu, vmcs: number): number {
  requireVmxOperation(cpu, 'VMPTRLD');
  return ops.vmptrld(cpu, vmcs, 0);
}

/** The current-VMCS pointer, or NO_VMCS. */
export function vmptrst(cpu: Cpu): number {
  requireVmxOperation(cpu, 'VMPTRST');
  return cpu.vmx.current;
}

/** VMREAD: the field's value (the high half of a 64-bit field with its encoding + 1). */
export function vmread(cpu: Cpu, field: number): number {
  requireVmxOperation(cpu, 'VMREAD');
  const status = ops.vmread(cpu, field);
  if (status !== ops.VMX_SUCCEED) throw new VmxError(`VMREAD ${fieldName(field)}`, status);
  return ops.vmreadResult.value;
}

/** VMWRITE; a full write of a 64-bit field clears its high half. */
export function vmwrite(cpu: Cpu, field: number, value: number): void {
  requireVmxOperation(cpu, 'VMWRITE');
  const status = ops.vmwrite(cpu, field, value);
  if (status !== ops.VMX_SUCCEED) throw new VmxError(`VMWRITE ${fieldName(field)}`, status);
}

/** Both halves of a 64-bit field. */
export function vmwrite64(cpu: Cpu, field: number, lo: number, hi: number): void {
  vmwrite(cpu, field, lo);
  vmwrite(cpu, field + 1, hi);
}

/** VMLAUNCH: enters the guest of the current (clear) VMCS; see the status values above. */
export function vmlaunch(cpu: Cpu): number {
  requireVmxOperation(cpu, 'VMLAUNCH');
  return vmEntry(cpu, true, false);
}

/** VMRESUME: enters the guest of the current (launched) VMCS again. */
export function vmresume(cpu: Cpu): number {
  requireVmxOperation(cpu, 'VMRESUME');
  return vmEntry(cpu, false, false);
}
