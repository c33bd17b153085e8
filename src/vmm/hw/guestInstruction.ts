/**
 * Executes one guest instruction with the processor's own interpreter, in root operation but
 * on the guest's state: the guest's segments, control registers (so its paging goes through
 * the shadow page tables), RSP, RFLAGS and CPL are put into the processor from the VMCS, the
 * instruction runs, and what it changed goes back into the VMCS. This is the VMM's
 * instruction emulator, for the guest's writes to its own page tables under shadow paging
 * (KVM emulates them in its x86 emulator). It is used only with shadow page tables, which map
 * nothing but guest memory, so the instruction reaches no more than the guest could.
 */
import type { Cpu } from '../../cpu/cpu';
import { arDpl } from '../../cpu/cpu';
import { CpuFault } from '../../cpu/exceptions';
import { getEflags } from '../../cpu/flags';
import type { Insn } from '../../cpu/insn';
import { ESP, SS } from '../../cpu/registers';
import { VMCS } from '../../cpu/vmx/index';
import type { Vcpu } from './vcpu';

const SEGMENTS: readonly (readonly [number, number, number, number])[] = [
  [VMCS.GUEST_ES_SELECTOR, VMCS.GUEST_ES_BASE, VMCS.GUEST_ES_LIMIT, VMCS.GUEST_ES_AR],
  [VMCS.GUEST_CS_SELECTOR, VMCS.GUEST_CS_BASE, VMCS.GUEST_CS_LIMIT, VMCS.GUEST_CS_AR],
  [VMCS.GUEST_SS_SELECTOR, VMCS.GUEST_SS_BASE, VMCS.GUEST_SS_LIMIT, VMCS.GUEST_SS_AR],
  [VMCS.GUEST_DS_SELECTOR, VMCS.GUEST_DS_BASE, VMCS.GUEST_DS_LIMIT, VMCS.GUEST_DS_AR],
  [VMCS.GUEST_FS_SELECTOR, VMCS.GUEST_FS_BASE, VMCS.GUEST_FS_LIMIT, VMCS.GUEST_FS_AR],
  [VMCS.GUEST_GS_SELECTOR, VMCS.GUEST_GS_BASE, VMCS.GUEST_GS_LIMIT, VMCS.GUEST_GS_AR],
];

/** The exception the instruction raised, if it did not complete. */
export interface GuestFaultInfo { vector: number; errorCode: number }

/**
 * Runs `insn`, decoded at the guest's RIP. Returns undefined when it completed (RIP, RSP,
 * RFLAGS and segments are in the VMCS again; the other registers are the processor's), or
 * the fault it raised, with RIP left at the instruction so the guest executes it again.
 */
export function executeGuestInstruction(cpu: Cpu, vcpu: Vcpu, insn: Insn): GuestFaultInfo | undefined {
  for (let seg = 0; seg < 6; seg++) {
    const [sel, base, limit, ar] = SEGMENTS[seg];
    cpu.setSegmentCache(seg, vcpu.read(sel), vcpu.read(base), vcpu.read(limit), vcpu.read(ar));
  }
  cpu.setCpl(arDpl(cpu.segAR[SS]));
  cpu.cr0 = vcpu.read(VMCS.GUEST_CR0);
  cpu.cr3 = vcpu.read(VMCS.GUEST_CR3);
  cpu.cr4 = vcpu.read(VMCS.GUEST_CR4);
  cpu.tlb.flush(false);
  cpu.regs[ESP] = vcpu.read(VMCS.GUEST_RSP);
  cpu.flags = vcpu.read(VMCS.GUEST_RFLAGS);
  cpu.lzMask = 0;
  const start = vcpu.rip;
  cpu.eipStart = start;
  cpu.eip = cpu.code32 ? (start + insn.len) | 0 : (start + insn.len) & 0xffff;
  let fault: GuestFaultInfo | undefined;
  try {
    insn.exec(cpu, insn);
  } catch (e) {
    if (!(e instanceof CpuFault)) throw e;
    fault = { vector: e.vector, errorCode: e.errorCode };
    cpu.eip = start;
  }
  cpu.tlb.flush(false);
  vcpu.write(VMCS.GUEST_RIP, cpu.eip);
  vcpu.write(VMCS.GUEST_RSP, cpu.regs[ESP]);
  vcpu.write(VMCS.GUEST_RFLAGS, getEflags(cpu));
  for (let seg = 0; seg < 6; seg++) {
    const [sel, base, limit, ar] = SEGMENTS[seg];
    vcpu.write(sel, cpu.segSel[seg]); vcpu.write(base, cpu.segBase[seg]);
    vcpu.write(limit, cpu.segLimit[seg]); vcpu.write(ar, cpu.segAR[seg]);
  }
  return fault;
}
