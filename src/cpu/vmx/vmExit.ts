/**
 * What every VM exit does (SDM Vol. 3C, chapter 27): record the exit information, save the
 * guest state into the VMCS, store guest MSRs, load the host state and MSRs, and leave VMX
 * non-root operation. A failed VM entry (26.8) does the host half only.
 *
 * The guest hypervisor then continues at HOST_RIP; with `cpu.vmx.exitToHost` the run loop
 * stops instead (StopReason.VmExit) and vtscope's TypeScript VMM handles the exit.
 */
import { AR_DB, AR_G, AR_P, AR_S, AR_UNUSABLE, StopReason, type Cpu } from '../cpu';
import { CpuFault } from '../exceptions';
import { getEflags } from '../flags';
import { findMsr, type MsrValue } from '../msrs';
import { CR0_CD, CR0_ET, CR0_NW, CS, ES, ESP, FS, GS, SS } from '../registers';
import { EXIT_SAVE_DEBUG_CONTROLS } from './capabilities';
import { EXIT_REASON_ENTRY_FAILURE } from './exitReasons';
import type { ExitInfo } from './state';
import { vmcsRead as rd, vmcsWrite as wr, writeAbortIndicator } from './vmcs';
import { VMCS } from './vmcsFields';

/** Interruption information (entry, exit, IDT-vectoring; fact sheet, "Formats"): vector 7:0, type 10:8, bits 11 and 31. */
export const INTR_VALID = 0x8000_0000 | 0;
export const INTR_ERROR_CODE_VALID = 1 << 11;
export const enum InterruptionType {
  External = 0, Nmi = 2, HardwareException = 3, SoftwareInterrupt = 4, PrivilegedSoftwareException = 5,
  SoftwareException = 6,
}
export function intrType(info: number): number { return (info >> 8) & 7; }
/** Valid interruption information for an event of `type` and `vector`. */
export function interruptionInfo(type: InterruptionType, vector: number, errorCode = false): number {
  return INTR_VALID | (type << 8) | vector | (errorCode ? INTR_ERROR_CODE_VALID : 0);
}

/** Interruptibility state bits and activity states. */
export const BLOCKING_BY_STI = 1 << 0;
export const BLOCKING_BY_MOV_SS = 1 << 1;
export const ACTIVITY_ACTIVE = 0;
export const ACTIVITY_HLT = 1;

/** Segment fields in ES CS SS DS FS GS order, as `cpu.segSel` is indexed. */
export const GUEST_SEGMENT_FIELDS: readonly (readonly [sel: number, base: number, limit: number, ar: number])[] = [
  [VMCS.GUEST_ES_SELECTOR, VMCS.GUEST_ES_BASE, VMCS.GUEST_ES_LIMIT, VMCS.GUEST_ES_AR],
  [VMCS.GUEST_CS_SELECTOR, VMCS.GUEST_CS_BASE, VMCS.GUEST_CS_LIMIT, VMCS.GUEST_CS_AR],
  [VMCS.GUEST_SS_SELECTOR, VMCS.GUEST_SS_BASE, VMCS.GUEST_SS_LIMIT, VMCS.GUEST_SS_AR],
  [VMCS.GUEST_DS_SELECTOR, VMCS.GUEST_DS_BASE, VMCS.GUEST_DS_LIMIT, VMCS.GUEST_DS_AR],
  [VMCS.GUEST_FS_SELECTOR, VMCS.GUEST_FS_BASE, VMCS.GUEST_FS_LIMIT, VMCS.GUEST_FS_AR],
  [VMCS.GUEST_GS_SELECTOR, VMCS.GUEST_GS_BASE, VMCS.GUEST_GS_LIMIT, VMCS.GUEST_GS_AR],
];

export const HOST_SELECTOR_FIELDS: readonly number[] = [
  VMCS.HOST_ES_SELECTOR, VMCS.HOST_CS_SELECTOR, VMCS.HOST_SS_SELECTOR,
  VMCS.HOST_DS_SELECTOR, VMCS.HOST_FS_SELECTOR, VMCS.HOST_GS_SELECTOR,
];

/** Records the exit, saves the guest, loads the host (SDM Vol. 3C, 27.2-27.6). */
export function vmExit(cpu: Cpu, info: ExitInfo): void {
  const x = cpu.vmx;
  wr(cpu, VMCS.EXIT_REASON, info.reason);
  wr(cpu, VMCS.EXIT_QUALIFICATION, info.qualification);
  wr(cpu, VMCS.EXIT_INTR_INFO, info.intrInfo);
  if ((info.intrInfo & INTR_ERROR_CODE_VALID) !== 0) wr(cpu, VMCS.EXIT_INTR_ERRCODE, info.intrError);
  wr(cpu, VMCS.IDT_VECTORING_INFO, x.vectoringInfo);
  if ((x.vectoringInfo & INTR_ERROR_CODE_VALID) !== 0) wr(cpu, VMCS.IDT_VECTORING_ERRCODE, x.vectoringError);
  if (info.hasInstr) {
    wr(cpu, VMCS.EXIT_INSTR_LEN, info.instrLen);
    wr(cpu, VMCS.EXIT_INSTR_INFO, info.instrInfo);
  } else if (x.vectoringLength !== 0) {
    // Exits during delivery of a software interrupt or exception report the INT instruction's length.
    wr(cpu, VMCS.EXIT_INSTR_LEN, x.vectoringLength);
  }
  if (info.hasLinear) wr(cpu, VMCS.GUEST_LINEAR_ADDR, info.linear);
  if (info.hasPhysical) {
    wr(cpu, VMCS.GUEST_PHYSICAL_ADDR, info.physical);
    wr(cpu, VMCS.GUEST_PHYSICAL_ADDR + 1, 0);
  }
  // Every VM exit clears the valid bit of the VM-entry interruption-information field (27.2.5).
  wr(cpu, VMCS.ENTRY_INTR_INFO, rd(cpu, VMCS.ENTRY_INTR_INFO) & ~INTR_VALID);
  saveGuestState(cpu);
  const stored = msrList(cpu, VMCS.EXIT_MSR_STORE_COUNT, VMCS.EXIT_MSR_STORE, storeMsr);
  leaveNonRoot(cpu);
  if (stored !== 0) { vmxAbort(cpu, 1, 'storing guest MSRs'); return; }
  loadHost(cpu);
}

/** A VM entry that failed after its control and host-state checks: exit reason with bit 31 (26.8). */
export function entryFailure(cpu: Cpu, reason: number, qualification: number): void {
  wr(cpu, VMCS.EXIT_REASON, reason | EXIT_REASON_ENTRY_FAILURE);
  wr(cpu, VMCS.EXIT_QUALIFICATION, qualification);
  leaveNonRoot(cpu);
  loadHost(cpu);
}

function saveGuestState(cpu: Cpu): void {
  wr(cpu, VMCS.GUEST_CR0, cpu.cr0);
  wr(cpu, VMCS.GUEST_CR3, cpu.cr3);
  wr(cpu, VMCS.GUEST_CR4, cpu.cr4);
  if ((cpu.vmx.exitControls & EXIT_SAVE_DEBUG_CONTROLS) !== 0) {
    wr(cpu, VMCS.GUEST_DR7, cpu.dr[7]);
    wr(cpu, VMCS.GUEST_DEBUGCTL, cpu.vmx.debugctl);
    wr(cpu, VMCS.GUEST_DEBUGCTL + 1, 0);
  }
  wr(cpu, VMCS.GUEST_RSP, cpu.regs[ESP]);
  // Faults, instructions that exit and events all leave EIP at eipStart: the instruction to
  // restart, or the next one for exits at an instruction boundary (events.ts sets it).
  wr(cpu, VMCS.GUEST_RIP, cpu.eipStart);
  wr(cpu, VMCS.GUEST_RFLAGS, getEflags(cpu));
  for (let seg = ES; seg <= GS; seg++) {
    const [sel, base, limit, ar] = GUEST_SEGMENT_FIELDS[seg];
    wr(cpu, sel, cpu.segSel[seg]);
    wr(cpu, base, cpu.segBase[seg]);
    wr(cpu, limit, cpu.segLimit[seg]);
    wr(cpu, ar, cpu.segAR[seg]);
  }
  wr(cpu, VMCS.GUEST_LDTR_SELECTOR, cpu.ldtrSel);
  wr(cpu, VMCS.GUEST_LDTR_BASE, cpu.ldtrBase);
  wr(cpu, VMCS.GUEST_LDTR_LIMIT, cpu.ldtrLimit);
  wr(cpu, VMCS.GUEST_LDTR_AR, cpu.ldtrAR);
  wr(cpu, VMCS.GUEST_TR_SELECTOR, cpu.trSel);
  wr(cpu, VMCS.GUEST_TR_BASE, cpu.trBase);
  wr(cpu, VMCS.GUEST_TR_LIMIT, cpu.trLimit);
  wr(cpu, VMCS.GUEST_TR_AR, cpu.trAR);
  wr(cpu, VMCS.GUEST_GDTR_BASE, cpu.gdtrBase);
  wr(cpu, VMCS.GUEST_GDTR_LIMIT, cpu.gdtrLimit);
  wr(cpu, VMCS.GUEST_IDTR_BASE, cpu.idtrBase);
  wr(cpu, VMCS.GUEST_IDTR_LIMIT, cpu.idtrLimit);
  wr(cpu, VMCS.GUEST_SYSENTER_CS, cpu.sysenterCs);
  wr(cpu, VMCS.GUEST_SYSENTER_ESP, cpu.sysenterEsp);
  wr(cpu, VMCS.GUEST_SYSENTER_EIP, cpu.sysenterEip);
  wr(cpu, VMCS.GUEST_ACTIVITY_STATE, cpu.halted ? ACTIVITY_HLT : ACTIVITY_ACTIVE);
  wr(cpu, VMCS.GUEST_INTERRUPTIBILITY, interruptibility(cpu));
  wr(cpu, VMCS.GUEST_PENDING_DBG, 0);
}

/** Blocking by STI or MOV SS at the current instruction boundary. */
function interruptibility(cpu: Cpu): number {
  if (cpu.icount > cpu.inhibitUntil) return 0;
  return cpu.icount <= cpu.movSsShadowUntil ? BLOCKING_BY_MOV_SS : BLOCKING_BY_STI;
}

/** Back to VMX root operation: the non-root bookkeeping goes, the TSC offset comes off. */
function leaveNonRoot(cpu: Cpu): void {
  const x = cpu.vmx;
  if (cpu.vmxNonRoot) cpu.tscOffset -= x.tscOffset;
  cpu.vmxNonRoot = false;
  x.ept = false;
  x.injectInfo = 0;
  x.injecting = -1;
  x.vectoringInfo = 0;
  x.vectoringLength = 0;
  x.insn = undefined;
}

/** CR0 bits that VM exits and entries load; the others keep their values (SDM Vol. 3C, 27.5.1). */
const CR0_LOADED = ~(CR0_ET | CR0_CD | CR0_NW | 0x1ffb_ffc0) | 0;

/** Host state, with the fixed segment attributes of a 32-bit host (SDM Vol. 3C, 27.5.1-27.5.2). */
function loadHost(cpu: Cpu): void {
  cpu.cr0 = (rd(cpu, VMCS.HOST_CR0) & CR0_LOADED) | (cpu.cr0 & ~CR0_LOADED) | CR0_ET;
  cpu.cr3 = rd(cpu, VMCS.HOST_CR3);
  cpu.cr4 = rd(cpu, VMCS.HOST_CR4);
  cpu.dr[7] = 0x400;
  cpu.vmx.debugctl = 0;
  cpu.sysenterCs = rd(cpu, VMCS.HOST_SYSENTER_CS) & 0xffff;
  cpu.sysenterEsp = rd(cpu, VMCS.HOST_SYSENTER_ESP);
  cpu.sysenterEip = rd(cpu, VMCS.HOST_SYSENTER_EIP);
  const code = 0xb | AR_S | AR_P | AR_DB | AR_G;   // execute/read, accessed
  const data = 0x3 | AR_S | AR_P | AR_DB | AR_G;   // read/write, accessed
  for (let seg = ES; seg <= GS; seg++) {
    const sel = rd(cpu, HOST_SELECTOR_FIELDS[seg]);
    const base = seg === FS ? rd(cpu, VMCS.HOST_FS_BASE) : seg === GS ? rd(cpu, VMCS.HOST_GS_BASE) : 0;
    const ar = seg === CS ? code : sel === 0 && seg !== SS ? data | AR_UNUSABLE : data;
    cpu.setSegmentCache(seg, sel, base, 0xffff_ffff, ar);
  }
  cpu.setCpl(0);
  cpu.trSel = rd(cpu, VMCS.HOST_TR_SELECTOR);
  cpu.trBase = rd(cpu, VMCS.HOST_TR_BASE);
  cpu.trLimit = 0x67;
  cpu.trAR = 0xb | AR_P;   // busy 32-bit TSS
  cpu.ldtrSel = 0; cpu.ldtrBase = 0; cpu.ldtrLimit = 0; cpu.ldtrAR = AR_UNUSABLE;
  cpu.gdtrBase = rd(cpu, VMCS.HOST_GDTR_BASE); cpu.gdtrLimit = 0xffff;
  cpu.idtrBase = rd(cpu, VMCS.HOST_IDTR_BASE); cpu.idtrLimit = 0xffff;
  cpu.regs[ESP] = rd(cpu, VMCS.HOST_RSP);
  cpu.eip = rd(cpu, VMCS.HOST_RIP);
  cpu.flags = 2;
  cpu.lzMask = 0;
  cpu.halted = false;
  cpu.inhibitUntil = -1;
  cpu.movSsShadowUntil = -1;
  cpu.delivering = -1;
  cpu.tlb.flush(false);
  cpu.leaveBlock = true;
  if (msrList(cpu, VMCS.EXIT_MSR_LOAD_COUNT, VMCS.EXIT_MSR_LOAD, loadMsr) !== 0) {
    vmxAbort(cpu, 4, 'loading host MSRs');
    return;
  }
  if (cpu.vmx.exitToHost) cpu.requestStop(StopReason.VmExit);
}

/**
 * A problem on the way out of the guest (SDM Vol. 3C, 27.7): the VMX-abort indicator gets the
 * code and the processor shuts down.
 */
function vmxAbort(cpu: Cpu, code: number, what: string): void {
  writeAbortIndicator(cpu, cpu.vmx.current, code);
  cpu.requestStop(StopReason.TripleFault, `VMX abort ${code}: a VM exit failed ${what}`);
}

// ---- MSR-load and MSR-store areas (SDM Vol. 3C, 24.7.2, 26.4, 27.4, 27.6) ----------------------

const msrValue: MsrValue = { lo: 0, hi: 0 };

type MsrEntryOp = (cpu: Cpu, entry: number) => boolean;

/**
 * Runs `op` on each 16-byte entry (MSR index, reserved, 64-bit value) of the area at the
 * address in `addressField`; returns 0, or the 1-based number of the entry that failed.
 */
export function msrList(cpu: Cpu, countField: number, addressField: number, op: MsrEntryOp): number {
  const count = rd(cpu, countField);
  const base = rd(cpu, addressField);
  for (let n = 0; n < count; n++) if (!op(cpu, base + n * 16)) return n + 1;
  return 0;
}

/** Loads one MSR from a list: it must exist, have zero reserved bits and take the value without #GP. */
export function loadMsr(cpu: Cpu, entry: number): boolean {
  const def = findMsr(cpu.model, cpu.readPhys32(entry));
  if (def === undefined || cpu.readPhys32(entry + 4) !== 0) return false;
  try {
    def.write(cpu, cpu.readPhys32(entry + 8), cpu.readPhys32(entry + 12));
  } catch (e) {
    if (e instanceof CpuFault) return false;   // the value would have made WRMSR #GP
    throw e;
  }
  return true;
}

function storeMsr(cpu: Cpu, entry: number): boolean {
  const def = findMsr(cpu.model, cpu.readPhys32(entry));
  if (def === undefined || cpu.readPhys32(entry + 4) !== 0) return false;
  def.read(cpu, msrValue);
  cpu.writePhys32(entry + 8, msrValue.lo);
  cpu.writePhys32(entry + 12, msrValue.hi);
  return true;
}
