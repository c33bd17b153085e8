/**
 * VM entry (SDM Vol. 3C, chapter 26) for VMLAUNCH and VMRESUME: the checks of the VMX
 * controls (VM-instruction error 7) and of the host-state area (error 8), then the checks of
 * the guest-state area, whose failure is a VM exit with reason 33 and bit 31 set, the loading
 * of guest state and of the VM-entry MSR-load list (reason 34 when it fails), and the event to
 * inject. The checks are those that concern a 32-bit processor without Intel 64; each failure
 * also leaves a sentence in `cpu.vmx.entryFailure` saying which rule was broken.
 */
import { AR_G, AR_P, AR_S, AR_UNUSABLE, arDpl, type Cpu } from '../cpu';
import {
  CR0_AM, CR0_CD, CR0_EM, CR0_ET, CR0_MP, CR0_NE, CR0_NW, CR0_PE, CR0_PG, CR0_TS, CR0_WP, CS, ES, ESP, FLAG_IF,
  FLAG_TF, FLAG_VM, GS, SS,
} from '../registers';
import {
  controlsAllowed, CR0_FIXED0, CR3_TARGET_VALUES, CR4_FIXED0, cr4Fixed1, ENTRY_CONTROLS, ENTRY_LOAD_DEBUG_CONTROLS,
  EXIT_CONTROLS, MEMTYPE_UC, MEMTYPE_WB, PIN_CONTROLS, PROC2_CONTROLS, PROC2_ENABLE_EPT, PROC2_UNRESTRICTED_GUEST,
  PROC_ACTIVATE_SECONDARY, PROC_CONTROLS, PROC_TSC_OFFSETTING, PROC_USE_IO_BITMAPS, PROC_USE_MSR_BITMAPS,
} from './capabilities';
import { EXIT_REASON, VM_ERROR } from './exitReasons';
import { launchStateError, vmfail, VMX_SUCCEED } from './operations';
import { regionRevision, setLaunched, VMCS_REVISION_ID, vmcsRead as rd } from './vmcs';
import { VMCS } from './vmcsFields';
import {
  ACTIVITY_ACTIVE, ACTIVITY_HLT, BLOCKING_BY_MOV_SS, BLOCKING_BY_STI, entryFailure, GUEST_SEGMENT_FIELDS,
  HOST_SELECTOR_FIELDS, INTR_ERROR_CODE_VALID, INTR_VALID, intrType, loadMsr, msrList,
} from './vmExit';

/** VMLAUNCH/VMRESUME status: the entry failed on guest state or MSR loading and host state is loaded. */
export const VMX_ENTRY_FAILED = -2;

/** Exit qualification of a failed entry (fact sheet, section 3): default, or the VMCS link pointer. */
const QUAL_DEFAULT = 0;
const QUAL_LINK_POINTER = 4;

/**
 * VMLAUNCH (`launch`) or VMRESUME once the instruction's fault checks passed. `retiring` says
 * the instruction is still executing and the run loop will count it, so interrupt blocking
 * from the guest's interruptibility state must last one instruction longer.
 */
export function vmEntry(cpu: Cpu, launch: boolean, retiring: boolean): number {
  const x = cpu.vmx;
  const early = launchStateError(cpu, launch, cpu.icount <= cpu.movSsShadowUntil);
  if (early !== VMX_SUCCEED) return early;
  x.entryFailure = '';
  if (!controlsValid(cpu)) return vmfail(cpu, VM_ERROR.ENTRY_INVALID_CONTROLS);
  if (!hostStateValid(cpu)) return vmfail(cpu, VM_ERROR.ENTRY_INVALID_HOST_STATE);
  const guest = guestStateProblem(cpu);
  if (guest >= 0) {
    entryFailure(cpu, EXIT_REASON.INVALID_GUEST_STATE, guest);
    return VMX_ENTRY_FAILED;
  }
  loadGuestState(cpu, retiring);
  const failed = msrList(cpu, VMCS.ENTRY_MSR_LOAD_COUNT, VMCS.ENTRY_MSR_LOAD, loadMsr);
  if (failed !== 0) {
    x.entryFailure = `VM-entry MSR-load entry ${failed} names an MSR that cannot be loaded with its value`;
    entryFailure(cpu, EXIT_REASON.MSR_LOAD_FAIL, failed);
    return VMX_ENTRY_FAILED;
  }
  if (launch) setLaunched(cpu, x.current, x.session);
  enterNonRoot(cpu);
  return VMX_SUCCEED;
}

function fail(cpu: Cpu, why: string): false {
  cpu.vmx.entryFailure = why;
  return false;
}

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;

// ---- VMX controls (SDM Vol. 3C, 26.2.1) --------------------------------------------------------

function controlsValid(cpu: Cpu): boolean {
  const pin = rd(cpu, VMCS.PIN_BASED), proc = rd(cpu, VMCS.PRIMARY_PROC);
  const proc2 = (proc & PROC_ACTIVATE_SECONDARY) !== 0 ? rd(cpu, VMCS.SECONDARY_PROC) : 0;
  if (!controlsAllowed(pin, PIN_CONTROLS)) return fail(cpu, `pin-based controls ${hex(pin)} break IA32_VMX_TRUE_PINBASED_CTLS`);
  if (!controlsAllowed(proc, PROC_CONTROLS)) return fail(cpu, `primary processor-based controls ${hex(proc)} break IA32_VMX_TRUE_PROCBASED_CTLS`);
  if (!controlsAllowed(proc2, PROC2_CONTROLS)) return fail(cpu, `secondary processor-based controls ${hex(proc2)} break IA32_VMX_PROCBASED_CTLS2`);
  if ((rd(cpu, VMCS.CR3_TARGET_COUNT) >>> 0) > CR3_TARGET_VALUES) return fail(cpu, `CR3-target count above ${CR3_TARGET_VALUES}`);
  if ((proc & PROC_USE_IO_BITMAPS) !== 0 &&
      (!pageAligned(cpu, VMCS.IO_BITMAP_A) || !pageAligned(cpu, VMCS.IO_BITMAP_B))) {
    return fail(cpu, 'I/O bitmap addresses must be 4-KiB aligned and below 4 GiB');
  }
  if ((proc & PROC_USE_MSR_BITMAPS) !== 0 && !pageAligned(cpu, VMCS.MSR_BITMAP)) {
    return fail(cpu, 'the MSR-bitmap address must be 4-KiB aligned and below 4 GiB');
  }
  if ((proc2 & PROC2_ENABLE_EPT) !== 0 && !eptPointerValid(rd(cpu, VMCS.EPT_POINTER), rd(cpu, VMCS.EPT_POINTER + 1))) {
    return fail(cpu, `EPT pointer ${hex(rd(cpu, VMCS.EPT_POINTER))}: memory type UC or WB, walk length 4, bits 11:7 zero, below 4 GiB`);
  }
  if ((proc2 & PROC2_UNRESTRICTED_GUEST) !== 0 && (proc2 & PROC2_ENABLE_EPT) === 0) {
    return fail(cpu, 'the unrestricted guest needs EPT');
  }
  const exit = rd(cpu, VMCS.EXIT_CONTROLS), entry = rd(cpu, VMCS.ENTRY_CONTROLS);
  if (!controlsAllowed(exit, EXIT_CONTROLS)) return fail(cpu, `VM-exit controls ${hex(exit)} break IA32_VMX_TRUE_EXIT_CTLS`);
  if (!controlsAllowed(entry, ENTRY_CONTROLS)) return fail(cpu, `VM-entry controls ${hex(entry)} break IA32_VMX_TRUE_ENTRY_CTLS`);
  for (const [count, address, what] of MSR_AREAS) {
    if (rd(cpu, count) !== 0 && !msrAreaValid(cpu, count, address)) {
      return fail(cpu, `the ${what} area must be 16-byte aligned and end below 4 GiB`);
    }
  }
  return injectionValid(cpu, proc2);
}

const MSR_AREAS: readonly [count: number, address: number, what: string][] = [
  [VMCS.EXIT_MSR_STORE_COUNT, VMCS.EXIT_MSR_STORE, 'VM-exit MSR-store'],
  [VMCS.EXIT_MSR_LOAD_COUNT, VMCS.EXIT_MSR_LOAD, 'VM-exit MSR-load'],
  [VMCS.ENTRY_MSR_LOAD_COUNT, VMCS.ENTRY_MSR_LOAD, 'VM-entry MSR-load'],
];

/** A 64-bit address field holding a 4-KiB aligned address below 4 GiB (the physical-address width). */
function pageAligned(cpu: Cpu, field: number): boolean {
  return (rd(cpu, field) & 0xfff) === 0 && rd(cpu, field + 1) === 0;
}

function msrAreaValid(cpu: Cpu, countField: number, addressField: number): boolean {
  const addr = rd(cpu, addressField) >>> 0, count = rd(cpu, countField) >>> 0;
  return (addr & 0xf) === 0 && rd(cpu, addressField + 1) === 0 && addr + count * 16 - 1 <= 0xffff_ffff;
}

/** EPTP (fact sheet, "Formats"): memory type UC or WB, 4-level walk, A/D allowed, bits 11:7 and 63:32 zero. */
function eptPointerValid(lo: number, hi: number): boolean {
  const type = lo & 7;
  return (type === MEMTYPE_UC || type === MEMTYPE_WB) && ((lo >> 3) & 7) === 3 && (lo & 0xf80) === 0 && hi === 0;
}

/** Vectors of the exceptions that push an error code: #DF, #TS, #NP, #SS, #GP, #PF, #AC. */
const ERROR_CODE_VECTORS = (1 << 8) | (1 << 10) | (1 << 11) | (1 << 12) | (1 << 13) | (1 << 14) | (1 << 17);

/** The VM-entry interruption-information field (SDM Vol. 3C, 26.2.1.3). */
function injectionValid(cpu: Cpu, proc2: number): boolean {
  const info = rd(cpu, VMCS.ENTRY_INTR_INFO);
  if ((info & INTR_VALID) === 0) return true;
  const vector = info & 0xff, type = intrType(info);
  if (type === 1 || type === 7) return fail(cpu, `injection: interruption type ${type} is not supported`);
  if (type === 2 && vector !== 2) return fail(cpu, 'injection: an NMI must have vector 2');
  if (type === 3 && vector > 31) return fail(cpu, 'injection: a hardware exception must have a vector below 32');
  const pe = (rd(cpu, VMCS.GUEST_CR0) & CR0_PE) !== 0;
  const wantsCode = ((proc2 & PROC2_UNRESTRICTED_GUEST) === 0 || pe) && type === 3 &&
    ((ERROR_CODE_VECTORS >> vector) & 1) !== 0;
  if (((info & INTR_ERROR_CODE_VALID) !== 0) !== wantsCode) {
    return fail(cpu, `injection: deliver-error-code must be ${wantsCode ? 1 : 0} for type ${type} vector ${vector}`);
  }
  if ((info & 0x7fff_f000) !== 0) return fail(cpu, 'injection: bits 30:12 are reserved');
  if (wantsCode && (rd(cpu, VMCS.ENTRY_EXCEPTION_ERRCODE) & 0xffff_0000) !== 0) {
    return fail(cpu, 'injection: error code bits 31:16 must be 0');
  }
  if (type >= 4 && type <= 6) {
    const len = rd(cpu, VMCS.ENTRY_INSTR_LEN) >>> 0;
    if (len < 1 || len > 15) return fail(cpu, `injection: instruction length ${len} is not 1-15`);
  }
  return true;
}

// ---- host state (SDM Vol. 3C, 26.2.2 and 26.2.3) ------------------------------------------------

function hostStateValid(cpu: Cpu): boolean {
  const cr0 = rd(cpu, VMCS.HOST_CR0), cr4 = rd(cpu, VMCS.HOST_CR4);
  if ((cr0 & CR0_FIXED0) !== CR0_FIXED0) return fail(cpu, `host CR0 ${hex(cr0)} must have PE, NE and PG (IA32_VMX_CR0_FIXED0)`);
  if ((cr4 & CR4_FIXED0) !== CR4_FIXED0 || (cr4 & ~cr4Fixed1(cpu)) !== 0) {
    return fail(cpu, `host CR4 ${hex(cr4)} must have VMXE and no bit outside IA32_VMX_CR4_FIXED1`);
  }
  for (const field of [...HOST_SELECTOR_FIELDS, VMCS.HOST_TR_SELECTOR]) {
    if ((rd(cpu, field) & 7) !== 0) return fail(cpu, `host selector field ${hex(field)} must have RPL 0 and TI 0`);
  }
  if (rd(cpu, VMCS.HOST_CS_SELECTOR) === 0) return fail(cpu, 'the host CS selector must not be 0');
  if (rd(cpu, VMCS.HOST_TR_SELECTOR) === 0) return fail(cpu, 'the host TR selector must not be 0');
  // A 32-bit host ("host address-space size" = 0) needs a stack segment.
  if (rd(cpu, VMCS.HOST_SS_SELECTOR) === 0) return fail(cpu, 'the host SS selector must not be 0');
  return true;
}

// ---- guest state (SDM Vol. 3C, 26.3.1) -----------------------------------------------------------

/** The qualification of the first guest-state rule broken, or -1 if the guest state is valid. */
function guestStateProblem(cpu: Cpu): number {
  if (!guestRegistersValid(cpu) || !guestSegmentsValid(cpu) || !guestNonRegisterStateValid(cpu)) return QUAL_DEFAULT;
  const lo = rd(cpu, VMCS.VMCS_LINK_PTR), hi = rd(cpu, VMCS.VMCS_LINK_PTR + 1);
  if ((lo !== -1 || hi !== -1) &&
      ((lo & 0xfff) !== 0 || hi !== 0 || regionRevision(cpu, lo) !== VMCS_REVISION_ID)) {
    fail(cpu, `VMCS link pointer ${hex(hi)}:${hex(lo)} must be all ones (no VMCS shadowing)`);
    return QUAL_LINK_POINTER;
  }
  return -1;
}

function unrestricted(cpu: Cpu): boolean {
  const proc = rd(cpu, VMCS.PRIMARY_PROC);
  return (proc & PROC_ACTIVATE_SECONDARY) !== 0 && (rd(cpu, VMCS.SECONDARY_PROC) & PROC2_UNRESTRICTED_GUEST) !== 0;
}

/** RFLAGS bits 31:22, 15, 5 and 3 are reserved (0), bit 1 is 1. */
const RFLAGS_RESERVED = 0xffc0_8028 | 0;

function guestRegistersValid(cpu: Cpu): boolean {
  const cr0 = rd(cpu, VMCS.GUEST_CR0), cr4 = rd(cpu, VMCS.GUEST_CR4);
  // The unrestricted guest may run with PE or PG clear (26.3.1.1).
  const fixed0 = unrestricted(cpu) ? CR0_FIXED0 & ~(CR0_PE | CR0_PG) : CR0_FIXED0;
  if ((cr0 & fixed0) !== fixed0) return fail(cpu, `guest CR0 ${hex(cr0)} lacks a bit of IA32_VMX_CR0_FIXED0 ${hex(fixed0)}`);
  if ((cr0 & CR0_PG) !== 0 && (cr0 & CR0_PE) === 0) return fail(cpu, 'guest CR0.PG needs CR0.PE');
  if ((cr4 & CR4_FIXED0) !== CR4_FIXED0 || (cr4 & ~cr4Fixed1(cpu)) !== 0) {
    return fail(cpu, `guest CR4 ${hex(cr4)} must have VMXE and no bit outside IA32_VMX_CR4_FIXED1`);
  }
  if ((rd(cpu, VMCS.ENTRY_CONTROLS) & ENTRY_LOAD_DEBUG_CONTROLS) !== 0 &&
      ((rd(cpu, VMCS.GUEST_DEBUGCTL) & 0xffff_803c) !== 0 || rd(cpu, VMCS.GUEST_DEBUGCTL + 1) !== 0)) {
    return fail(cpu, 'guest IA32_DEBUGCTL sets reserved bits');
  }
  const rflags = rd(cpu, VMCS.GUEST_RFLAGS);
  if ((rflags & RFLAGS_RESERVED) !== 0 || (rflags & 2) === 0) return fail(cpu, `guest RFLAGS ${hex(rflags)} breaks its reserved bits`);
  if ((rflags & FLAG_VM) !== 0 && (cr0 & CR0_PE) === 0) return fail(cpu, 'guest RFLAGS.VM needs CR0.PE');
  const info = rd(cpu, VMCS.ENTRY_INTR_INFO);
  if ((info & INTR_VALID) !== 0 && intrType(info) === 0 && (rflags & FLAG_IF) === 0) {
    return fail(cpu, 'injecting an external interrupt needs guest RFLAGS.IF = 1');
  }
  return true;
}

const SEG_NAMES = ['ES', 'CS', 'SS', 'DS', 'FS', 'GS'];

/** The G-flag rule: limit bits 11:0 all 1 if G, limit bits 31:20 all 0 if not. */
function granularityValid(limit: number, ar: number): boolean {
  if ((limit & 0xfff) !== 0xfff && (ar & AR_G) !== 0) return false;
  if ((limit & 0xfff0_0000) !== 0 && (ar & AR_G) === 0) return false;
  return true;
}

/** Bits 11:8 and 31:17 of access rights are reserved. */
const AR_RESERVED = 0xfffe_0f00 | 0;

function guestSegmentsValid(cpu: Cpu): boolean {
  const sel = new Array<number>(6), limit = new Array<number>(6), ar = new Array<number>(6), base = new Array<number>(6);
  for (let s = ES; s <= GS; s++) {
    const [fs, fb, fl, fa] = GUEST_SEGMENT_FIELDS[s];
    sel[s] = rd(cpu, fs); base[s] = rd(cpu, fb); limit[s] = rd(cpu, fl); ar[s] = rd(cpu, fa);
  }
  const trSel = rd(cpu, VMCS.GUEST_TR_SELECTOR), trAr = rd(cpu, VMCS.GUEST_TR_AR), trLimit = rd(cpu, VMCS.GUEST_TR_LIMIT);
  const ldtrSel = rd(cpu, VMCS.GUEST_LDTR_SELECTOR), ldtrAr = rd(cpu, VMCS.GUEST_LDTR_AR), ldtrLimit = rd(cpu, VMCS.GUEST_LDTR_LIMIT);
  const ug = unrestricted(cpu);
  const pe = (rd(cpu, VMCS.GUEST_CR0) & CR0_PE) !== 0;
  const v86 = (rd(cpu, VMCS.GUEST_RFLAGS) & FLAG_VM) !== 0;
  if ((trSel & 4) !== 0) return fail(cpu, 'guest TR selector must have TI 0');
  if ((ldtrAr & AR_UNUSABLE) === 0 && (ldtrSel & 4) !== 0) return fail(cpu, 'guest LDTR selector must have TI 0');
  if (v86) {
    for (let s = ES; s <= GS; s++) {
      if (base[s] !== (sel[s] << 4) || limit[s] !== 0xffff || ar[s] !== 0xf3) {
        return fail(cpu, `virtual-8086 guest ${SEG_NAMES[s]}: base = selector * 16, limit 0xffff, access rights 0xf3`);
      }
    }
  } else {
    if (!ug && (sel[SS] & 3) !== (sel[CS] & 3)) return fail(cpu, 'guest SS.RPL must equal CS.RPL');
    const csType = ar[CS] & 0xf, ssDpl = arDpl(ar[SS]);
    const csTypes = ug ? [3, 9, 11, 13, 15] : [9, 11, 13, 15];
    if ((ar[CS] & AR_UNUSABLE) !== 0 || !csTypes.includes(csType)) return fail(cpu, `guest CS type ${csType} must be accessed code (${csTypes.join(', ')})`);
    if (csType === 3 && arDpl(ar[CS]) !== 0) return fail(cpu, 'guest CS of type 3 must have DPL 0');
    if ((csType === 9 || csType === 11) && arDpl(ar[CS]) !== ssDpl) return fail(cpu, 'guest CS (non-conforming) DPL must equal SS.DPL');
    if ((csType === 13 || csType === 15) && arDpl(ar[CS]) > ssDpl) return fail(cpu, 'guest CS (conforming) DPL must not exceed SS.DPL');
    for (let s = ES; s <= GS; s++) {
      const a = ar[s];
      if ((a & AR_UNUSABLE) !== 0) continue;
      const name = `guest ${SEG_NAMES[s]}`;
      const type = a & 0xf;
      if (s === SS && type !== 3 && type !== 7) return fail(cpu, `${name} type ${type} must be 3 or 7 (read/write accessed data)`);
      if (s !== CS && s !== SS && ((type & 1) === 0 || ((type & 8) !== 0 && (type & 2) === 0))) {
        return fail(cpu, `${name} type ${type} must be accessed, and readable if code`);
      }
      if ((a & AR_S) === 0) return fail(cpu, `${name} must be a code or data segment (S = 1)`);
      if ((a & AR_P) === 0) return fail(cpu, `${name} must be present`);
      if ((a & AR_RESERVED) !== 0) return fail(cpu, `${name} access rights set reserved bits 11:8 or 31:17`);
      if (!granularityValid(limit[s], a)) return fail(cpu, `${name} limit ${hex(limit[s])} does not fit its G flag`);
      if (!ug && s !== CS && s !== SS && type <= 11 && arDpl(a) < (sel[s] & 3)) {
        return fail(cpu, `${name} DPL must not be below its RPL`);
      }
    }
    if ((ar[SS] & AR_UNUSABLE) === 0) {
      if (!ug && ssDpl !== (sel[SS] & 3)) return fail(cpu, 'guest SS.DPL must equal SS.RPL');
      if ((csType === 3 || !pe) && ssDpl !== 0) return fail(cpu, 'guest SS.DPL must be 0 in real-address mode');
    }
  }
  const trType = trAr & 0xf;
  if ((trAr & AR_UNUSABLE) !== 0 || (trType !== 3 && trType !== 11)) return fail(cpu, `guest TR must be a busy TSS (type 3 or 11), not type ${trType}`);
  if ((trAr & AR_S) !== 0 || (trAr & AR_P) === 0 || (trAr & AR_RESERVED) !== 0 || !granularityValid(trLimit, trAr)) {
    return fail(cpu, 'guest TR access rights: S = 0, P = 1, reserved bits 0, limit fitting G');
  }
  if ((ldtrAr & AR_UNUSABLE) === 0 && ((ldtrAr & 0xf) !== 2 || (ldtrAr & AR_S) !== 0 || (ldtrAr & AR_P) === 0 ||
      (ldtrAr & AR_RESERVED) !== 0 || !granularityValid(ldtrLimit, ldtrAr))) {
    return fail(cpu, 'guest LDTR access rights: type 2, S = 0, P = 1, reserved bits 0, limit fitting G');
  }
  if ((rd(cpu, VMCS.GUEST_GDTR_LIMIT) & 0xffff_0000) !== 0 || (rd(cpu, VMCS.GUEST_IDTR_LIMIT) & 0xffff_0000) !== 0) {
    return fail(cpu, 'guest GDTR and IDTR limits have 16 bits');
  }
  return true;
}

/** Pending debug exceptions: bits 11:4, 13, 15 and 31:17 are reserved. */
const PENDING_DBG_RESERVED = 0xfffe_aff0 | 0;
const PENDING_DBG_BS = 1 << 14;

function guestNonRegisterStateValid(cpu: Cpu): boolean {
  const activity = rd(cpu, VMCS.GUEST_ACTIVITY_STATE) >>> 0;
  const blocking = rd(cpu, VMCS.GUEST_INTERRUPTIBILITY);
  const info = rd(cpu, VMCS.ENTRY_INTR_INFO);
  const injecting = (info & INTR_VALID) !== 0, type = intrType(info), vector = info & 0xff;
  const rflags = rd(cpu, VMCS.GUEST_RFLAGS);
  if (activity !== ACTIVITY_ACTIVE && activity !== ACTIVITY_HLT) return fail(cpu, `guest activity state ${activity} is not supported (active and HLT are)`);
  if (activity === ACTIVITY_HLT && arDpl(rd(cpu, VMCS.GUEST_SS_AR)) !== 0) return fail(cpu, 'a guest in HLT state must have SS.DPL 0');
  if (activity !== ACTIVITY_ACTIVE && (blocking & (BLOCKING_BY_STI | BLOCKING_BY_MOV_SS)) !== 0) {
    return fail(cpu, 'blocking by STI or MOV SS needs the active state');
  }
  if (activity === ACTIVITY_HLT && injecting && !(type === 0 || type === 2 || (type === 3 && (vector === 1 || vector === 18)))) {
    return fail(cpu, 'in HLT state only an external interrupt, NMI, #DB or #MC can be injected');
  }
  if ((blocking & ~0xf) !== 0) return fail(cpu, 'interruptibility state bits 31:4 are reserved');
  if ((blocking & 3) === 3) return fail(cpu, 'interruptibility cannot block by STI and MOV SS at once');
  if ((blocking & BLOCKING_BY_STI) !== 0 && (rflags & FLAG_IF) === 0) return fail(cpu, 'blocking by STI needs RFLAGS.IF = 1');
  if (injecting && type === 0 && (blocking & 3) !== 0) return fail(cpu, 'an external interrupt cannot be injected while blocked by STI or MOV SS');
  if (injecting && type === 2 && (blocking & (BLOCKING_BY_MOV_SS | 8)) !== 0) return fail(cpu, 'an NMI cannot be injected while blocked by MOV SS or by NMI');
  if ((blocking & 4) !== 0) return fail(cpu, 'blocking by SMI needs SMM');
  const pending = rd(cpu, VMCS.GUEST_PENDING_DBG);
  if ((pending & PENDING_DBG_RESERVED) !== 0) return fail(cpu, 'pending debug exceptions set reserved bits');
  if ((blocking & 3) !== 0 || activity === ACTIVITY_HLT) {
    const btf = (rd(cpu, VMCS.GUEST_DEBUGCTL) & 2) !== 0;
    const singleStep = (rflags & FLAG_TF) !== 0 && !btf;
    if (((pending & PENDING_DBG_BS) !== 0) !== singleStep) return fail(cpu, 'pending debug exceptions: BS must equal RFLAGS.TF (with DEBUGCTL.BTF 0)');
  }
  return true;
}

// ---- loading guest state (SDM Vol. 3C, 26.3.2) ----------------------------------------------------

/** CR0 bits the processor implements; entry leaves ET (fixed 1) and the reserved bits alone. */
const CR0_LOADED = CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_NE | CR0_WP | CR0_AM | CR0_NW | CR0_CD | CR0_PG;
/** DR7: bits 11, 12, 14 and 15 read 0, bit 10 reads 1. */
const DR7_WRITABLE = 0xffff23ff | 0;

function loadGuestState(cpu: Cpu, retiring: boolean): void {
  const x = cpu.vmx;
  cpu.cr0 = (rd(cpu, VMCS.GUEST_CR0) & CR0_LOADED) | CR0_ET;
  cpu.cr3 = rd(cpu, VMCS.GUEST_CR3);
  cpu.cr4 = rd(cpu, VMCS.GUEST_CR4);
  if ((rd(cpu, VMCS.ENTRY_CONTROLS) & ENTRY_LOAD_DEBUG_CONTROLS) !== 0) {
    cpu.dr[7] = (rd(cpu, VMCS.GUEST_DR7) & DR7_WRITABLE) | 0x400;
    x.debugctl = rd(cpu, VMCS.GUEST_DEBUGCTL);
  }
  cpu.sysenterCs = rd(cpu, VMCS.GUEST_SYSENTER_CS) & 0xffff;
  cpu.sysenterEsp = rd(cpu, VMCS.GUEST_SYSENTER_ESP);
  cpu.sysenterEip = rd(cpu, VMCS.GUEST_SYSENTER_EIP);
  for (let s = ES; s <= GS; s++) {
    const [fs, fb, fl, fa] = GUEST_SEGMENT_FIELDS[s];
    cpu.setSegmentCache(s, rd(cpu, fs), rd(cpu, fb), rd(cpu, fl), rd(cpu, fa));
  }
  // The CPL is SS.DPL (26.3.2.2).
  cpu.setCpl(arDpl(cpu.segAR[SS]));
  cpu.ldtrSel = rd(cpu, VMCS.GUEST_LDTR_SELECTOR); cpu.ldtrBase = rd(cpu, VMCS.GUEST_LDTR_BASE);
  cpu.ldtrLimit = rd(cpu, VMCS.GUEST_LDTR_LIMIT) >>> 0; cpu.ldtrAR = rd(cpu, VMCS.GUEST_LDTR_AR);
  cpu.trSel = rd(cpu, VMCS.GUEST_TR_SELECTOR); cpu.trBase = rd(cpu, VMCS.GUEST_TR_BASE);
  cpu.trLimit = rd(cpu, VMCS.GUEST_TR_LIMIT) >>> 0; cpu.trAR = rd(cpu, VMCS.GUEST_TR_AR);
  cpu.gdtrBase = rd(cpu, VMCS.GUEST_GDTR_BASE); cpu.gdtrLimit = rd(cpu, VMCS.GUEST_GDTR_LIMIT);
  cpu.idtrBase = rd(cpu, VMCS.GUEST_IDTR_BASE); cpu.idtrLimit = rd(cpu, VMCS.GUEST_IDTR_LIMIT);
  cpu.regs[ESP] = rd(cpu, VMCS.GUEST_RSP);
  cpu.eip = rd(cpu, VMCS.GUEST_RIP);
  cpu.flags = rd(cpu, VMCS.GUEST_RFLAGS);
  cpu.lzMask = 0;
  cpu.halted = rd(cpu, VMCS.GUEST_ACTIVITY_STATE) === ACTIVITY_HLT;
  cpu.delivering = -1;
  // Blocking by STI or MOV SS lasts for the guest's first instruction, unless an event is
  // injected (26.6.1). `retiring`: the run loop still counts the VMLAUNCH/VMRESUME itself.
  const info = rd(cpu, VMCS.ENTRY_INTR_INFO);
  const blocking = (info & INTR_VALID) !== 0 ? 0 : rd(cpu, VMCS.GUEST_INTERRUPTIBILITY);
  const until = cpu.icount + (retiring ? 1 : 0);
  cpu.inhibitUntil = (blocking & 3) !== 0 ? until : -1;
  cpu.movSsShadowUntil = (blocking & BLOCKING_BY_MOV_SS) !== 0 ? until : -1;
  x.injectInfo = info & INTR_VALID ? info : 0;
  x.injectError = rd(cpu, VMCS.ENTRY_EXCEPTION_ERRCODE);
  x.injectLength = rd(cpu, VMCS.ENTRY_INSTR_LEN);
  // No VPIDs: VM entries flush every linear and combined mapping (SDM Vol. 3C, 28.3.3.3).
  cpu.tlb.flush(false);
  cpu.leaveBlock = true;
}

/** The controls read once for non-root operation (state.ts), and the switch to it. */
function enterNonRoot(cpu: Cpu): void {
  const x = cpu.vmx;
  x.pin = rd(cpu, VMCS.PIN_BASED);
  x.proc = rd(cpu, VMCS.PRIMARY_PROC);
  x.proc2 = (x.proc & PROC_ACTIVATE_SECONDARY) !== 0 ? rd(cpu, VMCS.SECONDARY_PROC) : 0;
  x.exitControls = rd(cpu, VMCS.EXIT_CONTROLS);
  x.exceptionBitmap = rd(cpu, VMCS.EXCEPTION_BITMAP);
  x.pfMask = rd(cpu, VMCS.PF_ERRCODE_MASK);
  x.pfMatch = rd(cpu, VMCS.PF_ERRCODE_MATCH);
  x.cr0Mask = rd(cpu, VMCS.CR0_GUEST_HOST_MASK);
  x.cr0Shadow = rd(cpu, VMCS.CR0_READ_SHADOW);
  x.cr4Mask = rd(cpu, VMCS.CR4_GUEST_HOST_MASK);
  x.cr4Shadow = rd(cpu, VMCS.CR4_READ_SHADOW);
  x.cr3TargetCount = rd(cpu, VMCS.CR3_TARGET_COUNT);
  for (let n = 0; n < CR3_TARGET_VALUES; n++) x.cr3Targets[n] = rd(cpu, VMCS.CR3_TARGET0 + 2 * n);
  x.ioBitmapA = rd(cpu, VMCS.IO_BITMAP_A);
  x.ioBitmapB = rd(cpu, VMCS.IO_BITMAP_B);
  x.msrBitmap = rd(cpu, VMCS.MSR_BITMAP);
  // The 64-bit TSC offset as a number; exact while it stays within 2^53.
  x.tscOffset = (x.proc & PROC_TSC_OFFSETTING) !== 0
    ? rd(cpu, VMCS.TSC_OFFSET + 1) * 0x1_0000_0000 + (rd(cpu, VMCS.TSC_OFFSET) >>> 0) : 0;
  cpu.tscOffset += x.tscOffset;
  const eptp = rd(cpu, VMCS.EPT_POINTER);
  x.ept = (x.proc2 & PROC2_ENABLE_EPT) !== 0;
  x.eptPml4 = eptp & ~0xfff;
  x.eptAccessDirty = (eptp & (1 << 6)) !== 0;
  // EPT translations are not kept across VM entries, so a changed EPT entry needs no INVEPT.
  x.eptTlb.flush(false);
  x.vectoringInfo = 0;
  x.vectoringLength = 0;
  cpu.vmxNonRoot = true;
}
