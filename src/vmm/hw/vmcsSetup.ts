/**
 * Programming the VMCS for the `hw` guest through VMWRITE with the real field encodings, the
 * way KVM's vmx.c does in setup_vmcs_config and init_vmcs: controls checked against the
 * capability MSRs, the I/O and MSR bitmaps, the host-state area and the guest-state area
 * holding the processor state a Multiboot loader leaves.
 */
import type { Cpu } from '../../cpu/cpu';
import { getEflags } from '../../cpu/flags';
import { findMsr, IA32_SYSENTER_CS, IA32_SYSENTER_EIP, IA32_SYSENTER_ESP, type MsrValue } from '../../cpu/msrs';
import { MF } from '../../cpu/exceptions';
import { CR0_ET, CR0_NE, CR0_PE, CR0_PG, CR4_VMXE, ESP } from '../../cpu/registers';
import {
  ENTRY_LOAD_DEBUG_CONTROLS, EXIT_SAVE_DEBUG_CONTROLS, IA32_VMX_PROCBASED_CTLS2, IA32_VMX_TRUE_ENTRY_CTLS,
  IA32_VMX_TRUE_EXIT_CTLS, IA32_VMX_TRUE_PINBASED_CTLS, IA32_VMX_TRUE_PROCBASED_CTLS, PIN_EXTERNAL_INTERRUPT_EXITING,
  PROC_ACTIVATE_SECONDARY, PROC_HLT_EXITING, PROC_USE_IO_BITMAPS, PROC_USE_MSR_BITMAPS, VMCS, vmwrite, vmwrite64,
} from '../../cpu/vmx/index';

/** The processor does not offer a control the VMM cannot run without. */
export class VmxSetupError extends Error {
  override readonly name = 'VmxSetupError';
}

const msrValue: MsrValue = { lo: 0, hi: 0 };

/** RDMSR, as the VMM (at CPL 0 in root operation) executes it. */
export function readMsr(cpu: Cpu, index: number): MsrValue {
  const def = findMsr(cpu.model, index);
  if (def === undefined) throw new VmxSetupError(`CPU model ${cpu.model.name} has no MSR 0x${index.toString(16)}`);
  def.read(cpu, msrValue);
  return msrValue;
}

/**
 * The control value with every bit of `required` set, as the capability MSR `msr` allows it
 * (bits 31:0 must be 1, bits 63:32 may be 1): KVM's adjust_vmx_controls.
 */
export function adjustControls(cpu: Cpu, msr: number, required: number, name: string): number {
  const { lo: must1, hi: may1 } = readMsr(cpu, msr);
  const value = (required | must1) & may1;
  if ((value & required) !== required) {
    throw new VmxSetupError(`${name}: the processor does not allow controls 0x${((required & ~value) >>> 0).toString(16)}`);
  }
  return value;
}

/** What the memory virtualization (EPT or shadow paging) puts in the VMCS. */
export interface PagingControls {
  /** Primary processor-based controls beyond the VMM's own (CR3-load exiting, INVLPG exiting). */
  proc: number;
  /** Secondary controls (enable EPT, unrestricted guest). */
  proc2: number;
  exceptionBitmap: number;
  /** CR0 and CR4 bits the VMM owns: guest writes that change them exit, guest reads see the read shadow. */
  cr0Mask: number;
  cr4Mask: number;
  /** The value the processor really holds for a CR0 or CR4 the guest believes it has. */
  realCr0(guest: number): number;
  realCr4(guest: number): number;
  /** The processor's CR3 for the guest's: the guest's own under EPT, a shadow root otherwise. */
  realCr3(guest: number): number;
  /** EPT_POINTER, when EPT is on. */
  eptPointer?: number;
}

/** Pages of VMM memory the VMCS points to. */
export interface VmcsPages {
  ioBitmapA: number;
  ioBitmapB: number;
  msrBitmap: number;
  /** An empty page directory: the host never runs x86 code, and if it did, nothing would be mapped. */
  hostCr3: number;
}

/** The controls the VMM always wants, whatever the memory virtualization. */
const BASE_PIN = PIN_EXTERNAL_INTERRUPT_EXITING;
const BASE_PROC = PROC_HLT_EXITING | PROC_USE_IO_BITMAPS | PROC_USE_MSR_BITMAPS;

/** Ports the guest reaches without a VM exit: the POST port 0x80, which Linux writes for I/O delays (as KVM once did). */
const PASS_THROUGH_PORTS = [0x80];
/** MSRs the guest reads and writes without a VM exit: the VMCS switches them on entry and exit (as KVM does). */
const PASS_THROUGH_MSRS = [IA32_SYSENTER_CS, IA32_SYSENTER_ESP, IA32_SYSENTER_EIP];

/** Every port exits but the pass-through ones (fact sheet: A = ports 0000-7FFF, B = 8000-FFFF, 1 = exit). */
function fillIoBitmaps(cpu: Cpu, pages: VmcsPages): void {
  cpu.ram.fill(0xff, pages.ioBitmapA, pages.ioBitmapA + 4096);
  cpu.ram.fill(0xff, pages.ioBitmapB, pages.ioBitmapB + 4096);
  for (const port of PASS_THROUGH_PORTS) {
    const at = (port < 0x8000 ? pages.ioBitmapA : pages.ioBitmapB) + ((port & 0x7fff) >>> 3);
    cpu.ram[at] &= ~(1 << (port & 7));
  }
}

/** Every MSR exits but the pass-through ones (+000 read low, +800 write low). */
function fillMsrBitmap(cpu: Cpu, page: number): void {
  cpu.ram.fill(0xff, page, page + 4096);
  for (const msr of PASS_THROUGH_MSRS) {
    for (const half of [0x000, 0x800]) cpu.ram[page + half + (msr >>> 3)] &= ~(1 << (msr & 7));
  }
}

/** The VM-execution, VM-exit and VM-entry controls and what they point to. */
export function programControls(cpu: Cpu, pages: VmcsPages, paging: PagingControls): { pin: number; proc: number } {
  const pin = adjustControls(cpu, IA32_VMX_TRUE_PINBASED_CTLS, BASE_PIN, 'pin-based controls');
  const wantProc = BASE_PROC | paging.proc | (paging.proc2 !== 0 ? PROC_ACTIVATE_SECONDARY : 0);
  const proc = adjustControls(cpu, IA32_VMX_TRUE_PROCBASED_CTLS, wantProc, 'primary processor-based controls');
  vmwrite(cpu, VMCS.PIN_BASED, pin);
  vmwrite(cpu, VMCS.PRIMARY_PROC, proc);
  if (paging.proc2 !== 0) {
    vmwrite(cpu, VMCS.SECONDARY_PROC, adjustControls(cpu, IA32_VMX_PROCBASED_CTLS2, paging.proc2, 'secondary controls'));
  }
  // DR7 and IA32_DEBUGCTL go with the guest, so its breakpoints survive exits.
  vmwrite(cpu, VMCS.EXIT_CONTROLS, adjustControls(cpu, IA32_VMX_TRUE_EXIT_CTLS, EXIT_SAVE_DEBUG_CONTROLS, 'VM-exit controls'));
  vmwrite(cpu, VMCS.ENTRY_CONTROLS, adjustControls(cpu, IA32_VMX_TRUE_ENTRY_CTLS, ENTRY_LOAD_DEBUG_CONTROLS, 'VM-entry controls'));
  // #MF always: VMX fixes CR0.NE to 1, and a guest that cleared it wants FERR# instead (exits/exception.ts).
  vmwrite(cpu, VMCS.EXCEPTION_BITMAP, paging.exceptionBitmap | (1 << MF));
  vmwrite(cpu, VMCS.PF_ERRCODE_MASK, 0);
  vmwrite(cpu, VMCS.PF_ERRCODE_MATCH, 0);
  vmwrite(cpu, VMCS.CR3_TARGET_COUNT, 0);
  vmwrite(cpu, VMCS.CR0_GUEST_HOST_MASK, paging.cr0Mask);
  vmwrite(cpu, VMCS.CR4_GUEST_HOST_MASK, paging.cr4Mask);
  fillIoBitmaps(cpu, pages);
  fillMsrBitmap(cpu, pages.msrBitmap);
  vmwrite64(cpu, VMCS.IO_BITMAP_A, pages.ioBitmapA, 0);
  vmwrite64(cpu, VMCS.IO_BITMAP_B, pages.ioBitmapB, 0);
  vmwrite64(cpu, VMCS.MSR_BITMAP, pages.msrBitmap, 0);
  if (paging.eptPointer !== undefined) vmwrite64(cpu, VMCS.EPT_POINTER, paging.eptPointer, 0);
  vmwrite(cpu, VMCS.ENTRY_INTR_INFO, 0);
  for (const f of [VMCS.EXIT_MSR_STORE_COUNT, VMCS.EXIT_MSR_LOAD_COUNT, VMCS.ENTRY_MSR_LOAD_COUNT]) vmwrite(cpu, f, 0);
  return { pin, proc };
}

/** Host selectors: a flat code and data segment and a TSS, as a 32-bit host kernel's GDT would have them. */
const HOST_CS = 0x08, HOST_DS = 0x10, HOST_TR = 0x18;

/**
 * The host-state area. A VM exit loads it, then hands control to the TypeScript VMM instead of
 * running at HOST_RIP (`cpu.vmx.exitToHost`), so RIP and RSP are never used; the checks of VM
 * entry still apply to every field (SDM Vol. 3C, 26.2.2-26.2.3).
 */
export function programHostState(cpu: Cpu, pages: VmcsPages): void {
  vmwrite(cpu, VMCS.HOST_CR0, CR0_PE | CR0_ET | CR0_NE | CR0_PG);
  vmwrite(cpu, VMCS.HOST_CR3, pages.hostCr3);
  vmwrite(cpu, VMCS.HOST_CR4, CR4_VMXE);
  for (const f of [VMCS.HOST_ES_SELECTOR, VMCS.HOST_SS_SELECTOR, VMCS.HOST_DS_SELECTOR]) vmwrite(cpu, f, HOST_DS);
  vmwrite(cpu, VMCS.HOST_CS_SELECTOR, HOST_CS);
  vmwrite(cpu, VMCS.HOST_FS_SELECTOR, 0);
  vmwrite(cpu, VMCS.HOST_GS_SELECTOR, 0);
  vmwrite(cpu, VMCS.HOST_TR_SELECTOR, HOST_TR);
  for (const f of [VMCS.HOST_FS_BASE, VMCS.HOST_GS_BASE, VMCS.HOST_TR_BASE, VMCS.HOST_GDTR_BASE, VMCS.HOST_IDTR_BASE,
    VMCS.HOST_SYSENTER_ESP, VMCS.HOST_SYSENTER_EIP, VMCS.HOST_RSP, VMCS.HOST_RIP, VMCS.HOST_SYSENTER_CS]) {
    vmwrite(cpu, f, 0);
  }
}

/** Selector, base, limit and access-rights fields of ES, CS, SS, DS, FS, GS (the order of `cpu.segSel`). */
const GUEST_SEGMENTS: readonly (readonly [number, number, number, number])[] = [
  [VMCS.GUEST_ES_SELECTOR, VMCS.GUEST_ES_BASE, VMCS.GUEST_ES_LIMIT, VMCS.GUEST_ES_AR],
  [VMCS.GUEST_CS_SELECTOR, VMCS.GUEST_CS_BASE, VMCS.GUEST_CS_LIMIT, VMCS.GUEST_CS_AR],
  [VMCS.GUEST_SS_SELECTOR, VMCS.GUEST_SS_BASE, VMCS.GUEST_SS_LIMIT, VMCS.GUEST_SS_AR],
  [VMCS.GUEST_DS_SELECTOR, VMCS.GUEST_DS_BASE, VMCS.GUEST_DS_LIMIT, VMCS.GUEST_DS_AR],
  [VMCS.GUEST_FS_SELECTOR, VMCS.GUEST_FS_BASE, VMCS.GUEST_FS_LIMIT, VMCS.GUEST_FS_AR],
  [VMCS.GUEST_GS_SELECTOR, VMCS.GUEST_GS_BASE, VMCS.GUEST_GS_LIMIT, VMCS.GUEST_GS_AR],
];

/** The control registers the guest was left with, taken before the VMM turned VMX on. */
export interface BootControl { cr0: number; cr3: number; cr4: number }

/**
 * The guest-state area from the processor as the loader left it: segments, descriptor tables,
 * RIP, RSP and RFLAGS; the control registers from `boot`, as the memory virtualization maps
 * them, with the guest's own values in the read shadows.
 */
export function programGuestState(cpu: Cpu, boot: BootControl, paging: PagingControls): void {
  for (let seg = 0; seg < 6; seg++) {
    const [sel, base, limit, ar] = GUEST_SEGMENTS[seg];
    vmwrite(cpu, sel, cpu.segSel[seg]);
    vmwrite(cpu, base, cpu.segBase[seg]);
    vmwrite(cpu, limit, cpu.segLimit[seg]);
    vmwrite(cpu, ar, cpu.segAR[seg]);
  }
  vmwrite(cpu, VMCS.GUEST_LDTR_SELECTOR, cpu.ldtrSel);
  vmwrite(cpu, VMCS.GUEST_LDTR_BASE, cpu.ldtrBase);
  vmwrite(cpu, VMCS.GUEST_LDTR_LIMIT, cpu.ldtrLimit);
  vmwrite(cpu, VMCS.GUEST_LDTR_AR, cpu.ldtrAR);
  vmwrite(cpu, VMCS.GUEST_TR_SELECTOR, cpu.trSel);
  vmwrite(cpu, VMCS.GUEST_TR_BASE, cpu.trBase);
  vmwrite(cpu, VMCS.GUEST_TR_LIMIT, cpu.trLimit);
  vmwrite(cpu, VMCS.GUEST_TR_AR, cpu.trAR);
  vmwrite(cpu, VMCS.GUEST_GDTR_BASE, cpu.gdtrBase);
  vmwrite(cpu, VMCS.GUEST_GDTR_LIMIT, cpu.gdtrLimit);
  vmwrite(cpu, VMCS.GUEST_IDTR_BASE, cpu.idtrBase);
  vmwrite(cpu, VMCS.GUEST_IDTR_LIMIT, cpu.idtrLimit);
  vmwrite(cpu, VMCS.GUEST_CR0, paging.realCr0(boot.cr0));
  vmwrite(cpu, VMCS.CR0_READ_SHADOW, boot.cr0);
  vmwrite(cpu, VMCS.GUEST_CR3, paging.realCr3(boot.cr3));
  vmwrite(cpu, VMCS.GUEST_CR4, paging.realCr4(boot.cr4));
  vmwrite(cpu, VMCS.CR4_READ_SHADOW, boot.cr4);
  vmwrite(cpu, VMCS.GUEST_DR7, cpu.dr[7] | 0x400);
  vmwrite64(cpu, VMCS.GUEST_DEBUGCTL, 0, 0);
  vmwrite(cpu, VMCS.GUEST_RSP, cpu.regs[ESP]);
  vmwrite(cpu, VMCS.GUEST_RIP, cpu.eip);
  vmwrite(cpu, VMCS.GUEST_RFLAGS, getEflags(cpu));
  vmwrite(cpu, VMCS.GUEST_SYSENTER_CS, cpu.sysenterCs);
  vmwrite(cpu, VMCS.GUEST_SYSENTER_ESP, cpu.sysenterEsp);
  vmwrite(cpu, VMCS.GUEST_SYSENTER_EIP, cpu.sysenterEip);
  vmwrite(cpu, VMCS.GUEST_INTERRUPTIBILITY, 0);
  vmwrite(cpu, VMCS.GUEST_ACTIVITY_STATE, 0);
  vmwrite(cpu, VMCS.GUEST_PENDING_DBG, 0);
  // No VMCS shadowing: the link pointer is all ones.
  vmwrite64(cpu, VMCS.VMCS_LINK_PTR, -1, -1);
}
