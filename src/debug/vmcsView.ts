/**
 * The current VMCS of the `hw` VMM as the debugger shows it: every field, grouped by the area
 * of the SDM (Vol. 3C, 24.3: guest state, host state, VM-execution, VM-exit and VM-entry
 * controls, VM-exit information), with its value and, for the fields whose number means
 * something beyond itself, the meaning in words (fact sheet sections 1 to 4).
 *
 * The fields are read from the VMCS region in memory, as VMREAD would, without VMREAD: that
 * needs VMX root operation, and the debugger looks at a guest stopped in non-root operation.
 * The guest-state area holds the guest as it was saved at the last VM exit; the processor
 * (the Registers scope) holds it as it is now.
 */
import type { Cpu } from '../cpu/cpu';
import { EXCEPTION_MNEMONICS } from '../cpu/exceptions';
import { NO_VMCS, readField } from '../cpu/vmx/vmcs';
import { FieldType, FieldWidth, VMCS_FIELDS, type VmcsField } from '../cpu/vmx/vmcsFields';
import { EXIT_REASON, exitReasonName, VMCS, vmInstructionErrorText } from '../cpu/vmx/index';
import { REG32_NAMES } from '../cpu/registers';
import { hex8 } from './guestMemory';
import type { VmcsFieldBody } from './protocol';
import type { RegisterNode } from './registers';

export const VMCS_AREAS = [
  'Guest-state area', 'Host-state area', 'VM-execution control fields', 'VM-exit control fields',
  'VM-entry control fields', 'VM-exit information fields',
] as const;

function areaOf(f: VmcsField): (typeof VMCS_AREAS)[number] {
  switch (f.type) {
    case FieldType.Guest: return 'Guest-state area';
    case FieldType.Host: return 'Host-state area';
    case FieldType.ExitInfo: return 'VM-exit information fields';
    default:
      if (f.name.startsWith('EXIT_')) return 'VM-exit control fields';
      if (f.name.startsWith('ENTRY_')) return 'VM-entry control fields';
      return 'VM-execution control fields';
  }
}

const DIGITS: Record<FieldWidth, number> = { [FieldWidth.Bits16]: 4, [FieldWidth.Bits32]: 8, [FieldWidth.Natural]: 8, [FieldWidth.Bits64]: 16 };

/** Control bits by name (fact sheet section 2, "Control bits"). */
const CONTROL_BITS: Record<string, Record<number, string>> = {
  PIN_BASED: { 0: 'external-interrupt exiting', 3: 'NMI exiting', 5: 'virtual NMIs', 6: 'preemption timer' },
  PRIMARY_PROC: {
    2: 'interrupt-window exiting', 3: 'TSC offsetting', 7: 'HLT exiting', 9: 'INVLPG exiting', 10: 'MWAIT exiting',
    11: 'RDPMC exiting', 12: 'RDTSC exiting', 15: 'CR3-load exiting', 16: 'CR3-store exiting', 19: 'CR8-load exiting',
    20: 'CR8-store exiting', 23: 'MOV-DR exiting', 24: 'unconditional I/O exiting', 25: 'use I/O bitmaps',
    27: 'monitor trap flag', 28: 'use MSR bitmaps', 29: 'MONITOR exiting', 30: 'PAUSE exiting', 31: 'activate secondary controls',
  },
  SECONDARY_PROC: { 1: 'enable EPT', 2: 'descriptor-table exiting', 3: 'enable RDTSCP', 5: 'enable VPID', 6: 'WBINVD exiting', 7: 'unrestricted guest' },
  EXIT_CONTROLS: { 2: 'save debug controls', 9: 'host address-space size', 15: 'acknowledge interrupt on exit' },
  ENTRY_CONTROLS: { 2: 'load debug controls', 9: 'IA-32e mode guest' },
};

/** Set bits by name, then the set bits the table does not name (in the controls, reserved bits that must be 1). */
function bitNames(value: number, names: { readonly [bit: number]: string | undefined }, others = 'bits'): string {
  const named: string[] = [], unnamed: number[] = [];
  for (let bit = 0; bit < 32; bit++) {
    if (((value >>> bit) & 1) === 0) continue;
    const name = names[bit];
    if (name === undefined) unnamed.push(bit); else named.push(name);
  }
  if (unnamed.length > 0) named.push(`${others} ${unnamed.join(' ')}`);
  return named.length === 0 ? 'none' : named.join(', ');
}

const INTERRUPTION_TYPES = ['external interrupt', 'type 1', 'NMI', 'hardware exception', 'software interrupt',
  'privileged software exception', 'software exception', 'other event'];

/** Interruption information (entry, exit, IDT-vectoring): 7:0 vector, 10:8 type, 11 error code valid, 31 valid. */
function interruption(v: number): string {
  if ((v >>> 31) === 0) return 'not valid';
  const vector = v & 0xff, type = (v >>> 8) & 7;
  const name = type === 3 || type === 6 ? ` (${EXCEPTION_MNEMONICS[vector] ?? `vector ${vector}`})` : '';
  return `${INTERRUPTION_TYPES[type]}, vector 0x${vector.toString(16)}${name}${(v & (1 << 11)) !== 0 ? ', error code' : ''}`;
}

/** Segment access rights: 3:0 type, 4 S, 6:5 DPL, 7 P, 12 AVL, 14 D/B, 15 G, 16 unusable. */
function accessRights(v: number): string {
  if ((v & (1 << 16)) !== 0) return 'unusable';
  const parts = [`type 0x${(v & 0xf).toString(16)}`, (v & 0x10) !== 0 ? 'code/data' : 'system', `DPL ${(v >>> 5) & 3}`];
  for (const [bit, name] of [[7, 'P'], [12, 'AVL'], [14, 'D/B'], [15, 'G']] as const) if ((v & (1 << bit)) !== 0) parts.push(name);
  return parts.join(', ');
}

const CR_ACCESS_TYPES = ['MOV to CR', 'MOV from CR', 'CLTS', 'LMSW'];

/** The exit qualification of the exits whose qualification is a bit field (fact sheet section 3). */
function qualification(q: number, reason: number): string | undefined {
  switch (reason) {
    case EXIT_REASON.CR_ACCESS: {
      const cr = q & 0xf, type = (q >>> 4) & 3, gpr = REG32_NAMES[(q >>> 8) & 7].toUpperCase();
      if (type === 0) return `MOV to CR${cr} from ${gpr}`;
      if (type === 1) return `MOV from CR${cr} to ${gpr}`;
      if (type === 2) return 'CLTS';
      return `${CR_ACCESS_TYPES[3]} from ${(q & 0x40) !== 0 ? 'memory' : 'a register'}, source data 0x${(q >>> 16).toString(16)}`;
    }
    case EXIT_REASON.DR_ACCESS: {
      const dr = q & 7, gpr = REG32_NAMES[(q >>> 8) & 7].toUpperCase();
      return (q & 0x10) !== 0 ? `MOV from DR${dr} to ${gpr}` : `MOV to DR${dr} from ${gpr}`;
    }
    case EXIT_REASON.IO_INSTRUCTION: {
      const size = (q & 7) + 1, port = q >>> 16;
      const what = `${(q & 8) !== 0 ? 'IN' : 'OUT'}${(q & 0x10) !== 0 ? ' string' : ''}${(q & 0x20) !== 0 ? ' REP' : ''}`;
      return `${what}, port 0x${port.toString(16).padStart(4, '0')} (${(q & 0x40) !== 0 ? 'immediate' : 'DX'}), ${size} byte${size > 1 ? 's' : ''}`;
    }
    case EXIT_REASON.EPT_VIOLATION: {
      const access = ['read', 'write', 'fetch'].filter((_, k) => (q & (1 << k)) !== 0).join('/');
      const rights = ['r', 'w', 'x'].map((c, k) => ((q & (1 << (k + 3))) !== 0 ? c : '-')).join('');
      const linear = (q & 0x80) === 0 ? 'no guest-linear address'
        : (q & 0x100) !== 0 ? 'access to the translated address' : 'access to a paging structure';
      return `${access || 'no access'}; the GPA was ${rights}; ${linear}`;
    }
    default:
      return undefined;
  }
}

/** The field's value in words, for the fields where that says more than the number. */
function decode(name: string, value: number, exitReason: number): string | undefined {
  const controls = CONTROL_BITS[name];
  if (controls !== undefined) return bitNames(value, controls, 'reserved bits');
  if (/_AR$/.test(name)) return accessRights(value);
  switch (name) {
    case 'EXIT_REASON':
      return `${exitReasonName(value)} (${value & 0xffff})${(value >>> 31) !== 0 ? ', VM-entry failure' : ''}`;
    case 'VM_INSTRUCTION_ERROR': return value === 0 ? 'none' : vmInstructionErrorText(value);
    case 'EXIT_QUALIFICATION': return qualification(value, exitReason & 0xffff);
    case 'ENTRY_INTR_INFO': case 'EXIT_INTR_INFO': case 'IDT_VECTORING_INFO': return interruption(value);
    case 'EXCEPTION_BITMAP': return bitNames(value, EXCEPTION_MNEMONICS, 'vectors');
    case 'GUEST_INTERRUPTIBILITY': return bitNames(value, { 0: 'blocking by STI', 1: 'blocking by MOV SS', 3: 'blocking by NMI' });
    case 'GUEST_ACTIVITY_STATE': return ['active', 'HLT', 'shutdown', 'wait-for-SIPI'][value] ?? `state ${value}`;
    case 'EPT_POINTER': return value === 0 ? 'none' : `memory type ${value & 7}${(value & 7) === 6 ? ' (WB)' : ''}, ${((value >>> 3) & 7) + 1}-level walk, PML4 at 0x${((value & ~0xfff) >>> 0).toString(16)}`;
    default: return undefined;
  }
}

export interface VmcsFieldValue { field: VmcsField; area: string; low: number; high: number; decoded?: string }

/** Every field of the current VMCS, in VMCS_FIELDS order; undefined when there is no current VMCS. */
export function readVmcs(cpu: Cpu): VmcsFieldValue[] | undefined {
  const vmcs = cpu.vmx.current;
  if (vmcs === NO_VMCS) return undefined;
  const exitReason = readField(cpu, vmcs, VMCS_FIELDS.find((f) => f.encoding === VMCS.EXIT_REASON)!);
  return VMCS_FIELDS.map((field) => {
    const low = readField(cpu, vmcs, field) >>> 0;
    const high = field.width === FieldWidth.Bits64 ? readField(cpu, vmcs, field, true) >>> 0 : 0;
    return { field, area: areaOf(field), low, high, decoded: decode(field.name, low, exitReason) };
  });
}

function hexValue(v: VmcsFieldValue): string {
  const digits = DIGITS[v.field.width];
  if (digits === 16) return `0x${v.high.toString(16).padStart(8, '0')}${v.low.toString(16).padStart(8, '0')}`;
  return `0x${v.low.toString(16).padStart(digits, '0')}`;
}

export function vmcsFieldBodies(values: readonly VmcsFieldValue[]): VmcsFieldBody[] {
  return values.map((v) => {
    const body: VmcsFieldBody = { group: v.area, name: v.field.name, encoding: v.field.encoding, value: hexValue(v) };
    if (v.decoded !== undefined) body.decoded = v.decoded;
    return body;
  });
}

/** The "VMCS" scope: one node per area, its fields inside. */
export function vmcsScope(cpu: Cpu): RegisterNode[] {
  const values = readVmcs(cpu);
  if (values === undefined) return [{ name: 'current VMCS', value: 'none (no VMPTRLD yet, or VMCLEAR)' }];
  const nodes: RegisterNode[] = [{ name: 'current VMCS', value: hex8(cpu.vmx.current) }];
  for (const area of VMCS_AREAS) {
    const fields = values.filter((v) => v.area === area);
    nodes.push({
      name: area === 'Guest-state area' ? `${area} (saved at the last VM exit)` : area,
      value: `${fields.length} fields`,
      children: fields.map((v) => ({ name: v.field.name, value: v.decoded === undefined ? hexValue(v) : `${hexValue(v)} ${v.decoded}` })),
    });
  }
  return nodes;
}
