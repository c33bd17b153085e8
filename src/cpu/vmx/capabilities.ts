/**
 * What this processor's VMX supports, as the IA32_VMX_* capability MSRs report it (SDM Vol.
 * 3C, appendix A), and the VM-execution, VM-exit and VM-entry control bits (fact sheet,
 * section 2, "Control bits"). A control MSR holds in bits 31:0 the controls that must be 1
 * (allowed 0-settings) and in bits 63:32 the controls that may be 1 (allowed 1-settings).
 *
 * The processor is an IA-32 one without Intel 64: VMX physical addresses are 32 bits, the
 * "host address-space size" and "IA-32e mode guest" controls must be 0, and natural-width
 * fields are 32 bits. It supports EPT (4 levels, 2-MiB and 1-GiB pages, A/D flags), the
 * unrestricted guest (so a guest may run with paging off under EPT), descriptor-table and
 * WBINVD exiting, and the TRUE capability MSRs (so CR3-load and CR3-store exiting and the
 * debug-control save/load can be turned off). It has no VPID, INVEPT/INVVPID, preemption
 * timer, TPR shadow, virtual NMIs, monitor trap flag or MONITOR/MWAIT.
 */
import type { Cpu } from '../cpu';
import { cr4Writable } from '../ops/controlRegs';
import { CR0_NE, CR0_PE, CR0_PG, CR4_VMXE } from '../registers';
import { VMCS_REGION_SIZE, VMCS_REVISION_ID } from './vmcs';
import { HIGHEST_FIELD_INDEX } from './vmcsFields';

// ---- pin-based VM-execution controls ---------------------------------------------------------
export const PIN_EXTERNAL_INTERRUPT_EXITING = 1 << 0;
export const PIN_NMI_EXITING = 1 << 3;
export const PIN_VIRTUAL_NMIS = 1 << 5;
export const PIN_PREEMPTION_TIMER = 1 << 6;

// ---- primary processor-based VM-execution controls ---------------------------------------------
export const PROC_INTERRUPT_WINDOW_EXITING = 1 << 2;
export const PROC_TSC_OFFSETTING = 1 << 3;
export const PROC_HLT_EXITING = 1 << 7;
export const PROC_INVLPG_EXITING = 1 << 9;
export const PROC_MWAIT_EXITING = 1 << 10;
export const PROC_RDPMC_EXITING = 1 << 11;
export const PROC_RDTSC_EXITING = 1 << 12;
export const PROC_CR3_LOAD_EXITING = 1 << 15;
export const PROC_CR3_STORE_EXITING = 1 << 16;
export const PROC_MOV_DR_EXITING = 1 << 23;
export const PROC_UNCONDITIONAL_IO_EXITING = 1 << 24;
export const PROC_USE_IO_BITMAPS = 1 << 25;
export const PROC_USE_MSR_BITMAPS = 1 << 28;
export const PROC_PAUSE_EXITING = 1 << 30;
export const PROC_ACTIVATE_SECONDARY = 1 << 31;

// ---- secondary processor-based VM-execution controls -------------------------------------------
export const PROC2_ENABLE_EPT = 1 << 1;
export const PROC2_DESCRIPTOR_TABLE_EXITING = 1 << 2;
export const PROC2_ENABLE_VPID = 1 << 5;
export const PROC2_WBINVD_EXITING = 1 << 6;
export const PROC2_UNRESTRICTED_GUEST = 1 << 7;

// ---- VM-exit and VM-entry controls ---------------------------------------------------------------
/** Bit 2 of both: save DR7 and IA32_DEBUGCTL on exit / load them on entry. */
export const EXIT_SAVE_DEBUG_CONTROLS = 1 << 2;
export const EXIT_HOST_ADDRESS_SPACE_SIZE = 1 << 9;
export const EXIT_ACK_INTERRUPT_ON_EXIT = 1 << 15;
export const ENTRY_LOAD_DEBUG_CONTROLS = 1 << 2;
export const ENTRY_IA32E_MODE_GUEST = 1 << 9;

/** Default1 classes: controls reported as must-be-1 by the non-TRUE MSRs (SDM Vol. 3C, A.2). */
const PIN_DEFAULT1 = 0x00000016;
const PROC_DEFAULT1 = 0x0401e172;
const EXIT_DEFAULT1 = 0x00036dff;
const ENTRY_DEFAULT1 = 0x000011ff;

const PIN_ALLOWED1 = PIN_DEFAULT1 | PIN_EXTERNAL_INTERRUPT_EXITING | PIN_NMI_EXITING;
const PROC_ALLOWED1 = PROC_DEFAULT1 | PROC_INTERRUPT_WINDOW_EXITING | PROC_TSC_OFFSETTING | PROC_HLT_EXITING |
  PROC_INVLPG_EXITING | PROC_RDPMC_EXITING | PROC_RDTSC_EXITING | PROC_MOV_DR_EXITING | PROC_UNCONDITIONAL_IO_EXITING |
  PROC_USE_IO_BITMAPS | PROC_USE_MSR_BITMAPS | PROC_PAUSE_EXITING | PROC_ACTIVATE_SECONDARY;
const PROC2_ALLOWED1 = PROC2_ENABLE_EPT | PROC2_DESCRIPTOR_TABLE_EXITING | PROC2_WBINVD_EXITING | PROC2_UNRESTRICTED_GUEST;
const EXIT_ALLOWED1 = EXIT_DEFAULT1 | EXIT_ACK_INTERRUPT_ON_EXIT;
const ENTRY_ALLOWED1 = ENTRY_DEFAULT1;

/** The TRUE MSRs let these default1 controls be 0: CR3-load/store exiting, debug-control save/load. */
const PROC_TRUE_DEFAULT1 = PROC_DEFAULT1 & ~(PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING);
const EXIT_TRUE_DEFAULT1 = EXIT_DEFAULT1 & ~EXIT_SAVE_DEBUG_CONTROLS;
const ENTRY_TRUE_DEFAULT1 = ENTRY_DEFAULT1 & ~ENTRY_LOAD_DEBUG_CONTROLS;

/** A control field's allowed settings: bits that must be 1, and bits that may be 1. */
export interface AllowedControls { readonly must1: number; readonly may1: number }

/** The settings VM entry checks against: with IA32_VMX_BASIC bit 55 set, those of the TRUE MSRs (SDM Vol. 3C, A.2). */
export const PIN_CONTROLS: AllowedControls = { must1: PIN_DEFAULT1, may1: PIN_ALLOWED1 };
export const PROC_CONTROLS: AllowedControls = { must1: PROC_TRUE_DEFAULT1, may1: PROC_ALLOWED1 };
export const PROC2_CONTROLS: AllowedControls = { must1: 0, may1: PROC2_ALLOWED1 };
export const EXIT_CONTROLS: AllowedControls = { must1: EXIT_TRUE_DEFAULT1, may1: EXIT_ALLOWED1 };
export const ENTRY_CONTROLS: AllowedControls = { must1: ENTRY_TRUE_DEFAULT1, may1: ENTRY_ALLOWED1 };

/** Whether `value` sets every must-be-1 bit and no bit that must be 0. */
export function controlsAllowed(value: number, allowed: AllowedControls): boolean {
  return (value & allowed.must1) === allowed.must1 && (value & ~allowed.may1) === 0;
}

/** CR0 bits fixed to 1 in VMX operation: PE, NE, PG (IA32_VMX_CR0_FIXED0). */
export const CR0_FIXED0 = CR0_PE | CR0_NE | CR0_PG;
/** No CR0 bit is fixed to 0 (IA32_VMX_CR0_FIXED1 is all ones; reserved bits are ignored on loads). */
export const CR0_FIXED1 = -1;
/** CR4.VMXE is fixed to 1 in VMX operation (IA32_VMX_CR4_FIXED0). */
export const CR4_FIXED0 = CR4_VMXE;
/** CR4 bits that may be 1: those the CPU model implements (IA32_VMX_CR4_FIXED1). */
export function cr4Fixed1(cpu: Cpu): number { return cr4Writable(cpu.model); }

/** CR3-target values (IA32_VMX_MISC bits 24:16). */
export const CR3_TARGET_VALUES = 4;

// ---- EPT capabilities (IA32_VMX_EPT_VPID_CAP) ------------------------------------------------------
const EPT_CAP_WALK_4 = 1 << 6;
const EPT_CAP_UC = 1 << 8;
const EPT_CAP_WB = 1 << 14;
const EPT_CAP_2MB = 1 << 16;
const EPT_CAP_1GB = 1 << 17;
const EPT_CAP_AD = 1 << 21;

/** EPTP and EPT memory types (SDM Vol. 3C, 28.2.6): uncacheable and write-back. */
export const MEMTYPE_UC = 0;
export const MEMTYPE_WB = 6;

/** IA32_VMX_* MSR numbers (SDM Vol. 4, table 2-2). */
export const IA32_VMX_BASIC = 0x480;
export const IA32_VMX_PINBASED_CTLS = 0x481;
export const IA32_VMX_PROCBASED_CTLS = 0x482;
export const IA32_VMX_EXIT_CTLS = 0x483;
export const IA32_VMX_ENTRY_CTLS = 0x484;
export const IA32_VMX_MISC = 0x485;
export const IA32_VMX_CR0_FIXED0 = 0x486;
export const IA32_VMX_CR0_FIXED1 = 0x487;
export const IA32_VMX_CR4_FIXED0 = 0x488;
export const IA32_VMX_CR4_FIXED1 = 0x489;
export const IA32_VMX_VMCS_ENUM = 0x48a;
export const IA32_VMX_PROCBASED_CTLS2 = 0x48b;
export const IA32_VMX_EPT_VPID_CAP = 0x48c;
export const IA32_VMX_TRUE_PINBASED_CTLS = 0x48d;
export const IA32_VMX_TRUE_PROCBASED_CTLS = 0x48e;
export const IA32_VMX_TRUE_EXIT_CTLS = 0x48f;
export const IA32_VMX_TRUE_ENTRY_CTLS = 0x490;

/** IA32_VMX_BASIC high dword: region size (44:32), 32-bit addresses (48), write-back VMCS (53:50), TRUE MSRs (55). */
const BASIC_HI = VMCS_REGION_SIZE | (1 << (48 - 32)) | (MEMTYPE_WB << (50 - 32)) | (1 << (55 - 32));
/** IA32_VMX_MISC: of the inactive activity states only HLT (bit 6); four CR3 targets (24:16). */
const MISC_LO = (1 << 6) | (CR3_TARGET_VALUES << 16);

/** The value of capability MSR `index` as [EDX:EAX] halves, or undefined if it is not one. */
export function capabilityMsr(cpu: Cpu, index: number): [lo: number, hi: number] | undefined {
  switch (index) {
    case IA32_VMX_BASIC: return [VMCS_REVISION_ID, BASIC_HI];
    case IA32_VMX_PINBASED_CTLS: return [PIN_DEFAULT1, PIN_ALLOWED1];
    case IA32_VMX_PROCBASED_CTLS: return [PROC_DEFAULT1, PROC_ALLOWED1];
    case IA32_VMX_EXIT_CTLS: return [EXIT_DEFAULT1, EXIT_ALLOWED1];
    case IA32_VMX_ENTRY_CTLS: return [ENTRY_DEFAULT1, ENTRY_ALLOWED1];
    case IA32_VMX_MISC: return [MISC_LO, 0];
    case IA32_VMX_CR0_FIXED0: return [CR0_FIXED0, 0];
    case IA32_VMX_CR0_FIXED1: return [CR0_FIXED1, 0];
    case IA32_VMX_CR4_FIXED0: return [CR4_FIXED0, 0];
    case IA32_VMX_CR4_FIXED1: return [cr4Fixed1(cpu), 0];
    case IA32_VMX_VMCS_ENUM: return [HIGHEST_FIELD_INDEX << 1, 0];
    case IA32_VMX_PROCBASED_CTLS2: return [0, PROC2_ALLOWED1];
    case IA32_VMX_EPT_VPID_CAP: return [EPT_CAP_WALK_4 | EPT_CAP_UC | EPT_CAP_WB | EPT_CAP_2MB | EPT_CAP_1GB | EPT_CAP_AD, 0];
    case IA32_VMX_TRUE_PINBASED_CTLS: return [PIN_DEFAULT1, PIN_ALLOWED1];
    case IA32_VMX_TRUE_PROCBASED_CTLS: return [PROC_TRUE_DEFAULT1, PROC_ALLOWED1];
    case IA32_VMX_TRUE_EXIT_CTLS: return [EXIT_TRUE_DEFAULT1, EXIT_ALLOWED1];
    case IA32_VMX_TRUE_ENTRY_CTLS: return [ENTRY_TRUE_DEFAULT1, ENTRY_ALLOWED1];
    default: return undefined;
  }
}

/** The capability MSRs' numbers and names, for the MSR table (msrs.ts). */
export const CAPABILITY_MSRS: readonly [index: number, name: string][] = [
  [IA32_VMX_BASIC, 'IA32_VMX_BASIC'], [IA32_VMX_PINBASED_CTLS, 'IA32_VMX_PINBASED_CTLS'],
  [IA32_VMX_PROCBASED_CTLS, 'IA32_VMX_PROCBASED_CTLS'], [IA32_VMX_EXIT_CTLS, 'IA32_VMX_EXIT_CTLS'],
  [IA32_VMX_ENTRY_CTLS, 'IA32_VMX_ENTRY_CTLS'], [IA32_VMX_MISC, 'IA32_VMX_MISC'],
  [IA32_VMX_CR0_FIXED0, 'IA32_VMX_CR0_FIXED0'], [IA32_VMX_CR0_FIXED1, 'IA32_VMX_CR0_FIXED1'],
  [IA32_VMX_CR4_FIXED0, 'IA32_VMX_CR4_FIXED0'], [IA32_VMX_CR4_FIXED1, 'IA32_VMX_CR4_FIXED1'],
  [IA32_VMX_VMCS_ENUM, 'IA32_VMX_VMCS_ENUM'], [IA32_VMX_PROCBASED_CTLS2, 'IA32_VMX_PROCBASED_CTLS2'],
  [IA32_VMX_EPT_VPID_CAP, 'IA32_VMX_EPT_VPID_CAP'], [IA32_VMX_TRUE_PINBASED_CTLS, 'IA32_VMX_TRUE_PINBASED_CTLS'],
  [IA32_VMX_TRUE_PROCBASED_CTLS, 'IA32_VMX_TRUE_PROCBASED_CTLS'], [IA32_VMX_TRUE_EXIT_CTLS, 'IA32_VMX_TRUE_EXIT_CTLS'],
  [IA32_VMX_TRUE_ENTRY_CTLS, 'IA32_VMX_TRUE_ENTRY_CTLS'],
];
