/**
 * The VMX instructions' effect once their fault checks have passed (SDM Vol. 3C, chapter 30,
 * "Operation" of each instruction): VMsucceed, VMfailInvalid (no current VMCS) or VMfailValid
 * with a VM-instruction error number written to the current VMCS. Both the instructions
 * (ops.ts) and vtscope's own VMM (index.ts) come through here.
 *
 * A status is VMX_SUCCEED (0), VMX_FAIL_INVALID (-1), or a positive VM-instruction error
 * number (VMfailValid). VMLAUNCH and VMRESUME add VMX_ENTRY_FAILED (entry.ts).
 */
import type { Cpu } from '../cpu';
import { VM_ERROR } from './exitReasons';
import {
  isLaunched, launchSession, NO_VMCS, readField, revisionMatches, setClear, writeField,
} from './vmcs';
import { findField, VMCS } from './vmcsFields';

export const VMX_SUCCEED = 0;
export const VMX_FAIL_INVALID = -1;

/**
 * VMfail(error): VMfailValid when there is a current VMCS (the error goes to its
 * VM_INSTRUCTION_ERROR field), VMfailInvalid otherwise (SDM Vol. 3C, 30.2).
 */
export function vmfail(cpu: Cpu, error: number): number {
  const vmcs = cpu.vmx.current;
  if (vmcs === NO_VMCS) return VMX_FAIL_INVALID;
  writeField(cpu, vmcs, findField(VMCS.VM_INSTRUCTION_ERROR)!, error);
  return error;
}

/**
 * A VMXON/VMCLEAR/VMPTRLD operand: 4-KiB aligned, within the physical-address width, which is
 * 32 bits here (IA32_VMX_BASIC bit 48), so the high dword of the 64-bit operand must be 0.
 */
function validPointer(lo: number, hi: number): boolean {
  return (lo & 0xfff) === 0 && hi === 0;
}

/** VMXON with the 64-bit operand `lo`, `hi`, once the #UD and #GP checks passed. */
export function vmxon(cpu: Cpu, lo: number, hi: number): number {
  const x = cpu.vmx;
  if (x.on) return vmfail(cpu, VM_ERROR.VMXON_IN_ROOT);
  // Outside VMX operation there is no current VMCS: every failure is VMfailInvalid.
  if (!validPointer(lo, hi) || !revisionMatches(cpu, lo)) return VMX_FAIL_INVALID;
  x.on = true;
  x.vmxonPointer = lo;
  x.current = NO_VMCS;
  x.session++;
  return VMX_SUCCEED;
}

/** VMXOFF: leaves VMX operation (no dual-monitor treatment of SMM here, so it always succeeds). */
export function vmxoff(cpu: Cpu): number {
  const x = cpu.vmx;
  x.on = false;
  x.vmxonPointer = NO_VMCS;
  x.current = NO_VMCS;
  return VMX_SUCCEED;
}

export function vmclear(cpu: Cpu, lo: number, hi: number): number {
  const x = cpu.vmx;
  if (!validPointer(lo, hi)) return vmfail(cpu, VM_ERROR.VMCLEAR_INVALID_ADDRESS);
  if (lo === x.vmxonPointer) return vmfail(cpu, VM_ERROR.VMCLEAR_VMXON_POINTER);
  setClear(cpu, lo);
  if (lo === x.current) x.current = NO_VMCS;
  return VMX_SUCCEED;
}

export function vmptrld(cpu: Cpu, lo: number, hi: number): number {
  const x = cpu.vmx;
  if (!validPointer(lo, hi)) return vmfail(cpu, VM_ERROR.VMPTRLD_INVALID_ADDRESS);
  if (lo === x.vmxonPointer) return vmfail(cpu, VM_ERROR.VMPTRLD_VMXON_POINTER);
  // Bit 31 set (a shadow VMCS) is a wrong revision too: there is no VMCS shadowing.
  if (!revisionMatches(cpu, lo)) return vmfail(cpu, VM_ERROR.VMPTRLD_WRONG_REVISION);
  x.current = lo;
  return VMX_SUCCEED;
}

/** Where VMREAD leaves the value it read. */
export const vmreadResult = { value: 0 };

/** VMREAD of the field `encoding` names (bits 31:15 set, or no such field: error 12). */
export function vmread(cpu: Cpu, encoding: number): number {
  const vmcs = cpu.vmx.current;
  if (vmcs === NO_VMCS) return VMX_FAIL_INVALID;
  const f = findField(encoding);
  if (f === undefined) return vmfail(cpu, VM_ERROR.UNSUPPORTED_COMPONENT);
  vmreadResult.value = readField(cpu, vmcs, f, (encoding & 1) !== 0);
  return VMX_SUCCEED;
}

export function vmwrite(cpu: Cpu, encoding: number, value: number): number {
  const vmcs = cpu.vmx.current;
  if (vmcs === NO_VMCS) return VMX_FAIL_INVALID;
  const f = findField(encoding);
  if (f === undefined) return vmfail(cpu, VM_ERROR.UNSUPPORTED_COMPONENT);
  if (f.readOnly) return vmfail(cpu, VM_ERROR.READ_ONLY_COMPONENT);
  writeField(cpu, vmcs, f, value, (encoding & 1) !== 0);
  return VMX_SUCCEED;
}

/** VMCALL in VMX root operation: there is no SMM monitor to call (error 1). */
export function vmcallInRoot(cpu: Cpu): number {
  return vmfail(cpu, VM_ERROR.VMCALL_IN_ROOT);
}

/**
 * The launch-state checks of VMLAUNCH and VMRESUME that come before any VMCS field is looked
 * at (SDM Vol. 3C, 30.3, VMLAUNCH/VMRESUME "Operation"); 0 when entry may proceed.
 */
export function launchStateError(cpu: Cpu, launch: boolean, movSsBlocking: boolean): number {
  const x = cpu.vmx;
  if (x.current === NO_VMCS) return VMX_FAIL_INVALID;
  if (movSsBlocking) return vmfail(cpu, VM_ERROR.ENTRY_MOV_SS_BLOCKING);
  const launched = isLaunched(cpu, x.current);
  if (launch && launched) return vmfail(cpu, VM_ERROR.VMLAUNCH_NON_CLEAR);
  if (!launch && !launched) return vmfail(cpu, VM_ERROR.VMRESUME_NON_LAUNCHED);
  // Launched in an earlier VMXON session: VMXOFF came between VMLAUNCH and VMRESUME.
  if (!launch && launchSession(cpu, x.current) !== x.session) return vmfail(cpu, VM_ERROR.VMRESUME_AFTER_VMXOFF);
  return VMX_SUCCEED;
}
