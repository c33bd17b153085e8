/**
 * The VMCS region in physical memory (SDM Vol. 3C, 24.2). The first two dwords are
 * architectural: the revision identifier (bits 30:0; bit 31 is the shadow-VMCS indicator) and
 * the VMX-abort indicator. The rest is "implementation-specific"; this processor keeps:
 *
 *   +0x008  launch state (0 clear, 1 launched)
 *   +0x00C  the VMXON session in which the VMCS was launched (see `VmxState.session`)
 *   +0x010  the fields, 8 bytes each in VMCS_FIELDS order (vmcsFields.ts), low dword first
 *
 * VMREAD and VMWRITE go straight to memory: this processor caches no VMCS data, so VMCLEAR
 * has nothing to write back and a VMCS survives VMXOFF exactly as it is in memory.
 */
import type { Cpu } from '../cpu';
import { FieldWidth, findField, VMCS_FIELDS, type VmcsField } from './vmcsFields';

/** VMCS revision identifier of this processor (IA32_VMX_BASIC bits 30:0). */
export const VMCS_REVISION_ID = 1;
/** Bytes software must allocate for a VMCS or VMXON region (IA32_VMX_BASIC bits 44:32). */
export const VMCS_REGION_SIZE = 0x1000;

const REVISION = 0x000;
const ABORT = 0x004;
const LAUNCH_STATE = 0x008;
const SESSION = 0x00c;
const FIELDS = 0x010;

/** The current-VMCS pointer when there is none (FFFFFFFF_FFFFFFFFH; its low half is enough on a 32-bit processor). */
export const NO_VMCS = -1;

export function regionRevision(cpu: Cpu, region: number): number { return cpu.readPhys32(region + REVISION); }

export function writeAbortIndicator(cpu: Cpu, region: number, code: number): void {
  cpu.writePhys32(region + ABORT, code);
}

export function isLaunched(cpu: Cpu, vmcs: number): boolean { return cpu.readPhys32(vmcs + LAUNCH_STATE) === 1; }

export function launchSession(cpu: Cpu, vmcs: number): number { return cpu.readPhys32(vmcs + SESSION); }

/** VMCLEAR: launch state "clear". */
export function setClear(cpu: Cpu, vmcs: number): void { cpu.writePhys32(vmcs + LAUNCH_STATE, 0); }

/** A successful VMLAUNCH: launch state "launched", in VMXON session `session`. */
export function setLaunched(cpu: Cpu, vmcs: number, session: number): void {
  cpu.writePhys32(vmcs + LAUNCH_STATE, 1);
  cpu.writePhys32(vmcs + SESSION, session);
}

function fieldAddress(vmcs: number, f: VmcsField, high: boolean): number {
  return vmcs + FIELDS + f.slot * 8 + (high ? 4 : 0);
}

/** Reads a field (or the high half of a 64-bit one), zero-extended to 32 bits as VMREAD returns it. */
export function readField(cpu: Cpu, vmcs: number, f: VmcsField, high = false): number {
  const v = cpu.readPhys32(fieldAddress(vmcs, f, high));
  return f.width === FieldWidth.Bits16 ? v & 0xffff : v;
}

/**
 * Writes a field as VMWRITE does with a 32-bit source: a 16-bit field takes the low 16 bits;
 * a full write of a 64-bit field clears its high half (SDM Vol. 2, VMWRITE: "if the VMCS field
 * is longer, then the high bits of the field are cleared to 0").
 */
export function writeField(cpu: Cpu, vmcs: number, f: VmcsField, value: number, high = false): void {
  const v = f.width === FieldWidth.Bits16 ? value & 0xffff : value;
  cpu.writePhys32(fieldAddress(vmcs, f, high), v);
  if (f.width === FieldWidth.Bits64 && !high) cpu.writePhys32(fieldAddress(vmcs, f, true), 0);
}

/** Whether the region holds a VMCS of this processor's revision with the shadow bit clear. */
export function revisionMatches(cpu: Cpu, region: number): boolean {
  return regionRevision(cpu, region) === VMCS_REVISION_ID;
}

/** End of the field area: it must fit in the region size the processor reports. */
export const VMCS_LAYOUT_END = FIELDS + VMCS_FIELDS.length * 8;

/**
 * Field access for the processor's own use (VM entry, VM exit, the exit conditions): the
 * current VMCS, by an encoding known to be supported; `encoding + 1` reads a 64-bit field's
 * high half.
 */
export function vmcsRead(cpu: Cpu, encoding: number): number {
  return readField(cpu, cpu.vmx.current, findField(encoding)!, (encoding & 1) !== 0);
}

export function vmcsWrite(cpu: Cpu, encoding: number, value: number): void {
  const f = findField(encoding)!;
  const high = (encoding & 1) !== 0;
  cpu.writePhys32(fieldAddress(cpu.vmx.current, f, high), f.width === FieldWidth.Bits16 ? value & 0xffff : value);
}
