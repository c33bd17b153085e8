/**
 * Exception (exit 0), through the exception bitmap:
 * - #PF, under shadow paging only, where the VMM tells the guest's own page faults from the
 *   ones its shadow page tables cause (shadowPaging.ts); the qualification is the faulting
 *   linear address;
 * - #MF, always: VMX operation fixes CR0.NE to 1, so the processor raises #MF for a pending x87
 *   error even when the guest cleared NE to have it reported the PC/AT way. The VMM does what
 *   the guest asked for: with the guest's NE set it injects the #MF; with NE clear it raises
 *   FERR# (IRQ 13, machine/fpuErrorLatch.ts) unless IGNNE# is asserted and carries the
 *   instruction out with the error left pending, as the processor does once FERR# is out
 *   (FWAIT has nothing else to do; another x87 instruction runs in the VMM's emulator).
 */
import { MF, PF } from '../../../cpu/exceptions';
import { CR0_NE } from '../../../cpu/registers';
import { VMCS } from '../../../cpu/vmx/index';
import { SW_ES } from '../../../cpu/fpu/state';
import { hex, hex8 } from '../../exitLog';
import { VmmStop } from '../../guestMemory';
import type { ExitHandler } from '../exitHandler';
import { executeGuestInstruction } from '../guestInstruction';
import type { HwMonitor } from '../hwMonitor';
import { PageFaultOutcome } from '../shadowPaging';

const WAIT = 0x9b;
/** What a #MF exit turned out to be (q[2]), after the page-fault outcomes. */
const MF_INJECTED = 10, MF_FERR = 11, MF_IGNORED = 12;

/** #MF with the guest's CR0.NE clear: FERR#, and the instruction with its pending error ignored. */
function pcStyleError(hw: HwMonitor, q: Float64Array): void {
  const vcpu = hw.vcpu, fpu = hw.cpu.fpu;
  q[2] = fpu.ignne ? MF_IGNORED : MF_FERR;
  if (!fpu.ignne) hw.machine.fpuError();
  const insn = hw.decodeGuest();
  q[3] = insn.op;
  if (insn.op === WAIT) {
    vcpu.skipInstruction(insn.len);
    return;
  }
  // The emulator reaches memory without EPT; under EPT it is used only for register operands.
  if (insn.mem && hw.memVirt === 'ept') {
    throw new VmmStop(`x87 instruction with a memory operand at EIP ${hex8(vcpu.rip)} with an error pending and CR0.NE clear: the hw VMM carries out only FWAIT and register forms under EPT (set CR0.NE, or use --mem-virt shadow)`);
  }
  fpu.sw &= ~SW_ES;
  const fault = executeGuestInstruction(hw.cpu, vcpu, insn);
  fpu.updateSummary();
  if (fault !== undefined) vcpu.injectException(fault.vector, fault.errorCode);
  else vcpu.retire();
}

export const exception: ExitHandler = {
  handle(hw, q) {
    const vcpu = hw.vcpu;
    const vector = vcpu.read(VMCS.EXIT_INTR_INFO) & 0xff;
    q[0] = vector;
    if (vector === MF) {
      if ((vcpu.read(VMCS.CR0_READ_SHADOW) & CR0_NE) !== 0) {
        vcpu.injectException(MF);
        q[2] = MF_INJECTED;
      } else {
        pcStyleError(hw, q);
      }
      return;
    }
    const shadow = hw.paging.shadow;
    if (vector !== PF || shadow === undefined) {
      throw new VmmStop(`exception ${vector} exited at EIP ${hex8(vcpu.rip)}, but the VMM put only #MF and (under shadow paging) #PF in the exception bitmap`);
    }
    const code = vcpu.read(VMCS.EXIT_INTR_ERRCODE), lin = vcpu.read(VMCS.EXIT_QUALIFICATION);
    q[0] = lin >>> 0;
    q[1] = code;
    const outcome = shadow.pageFault(code, lin);
    q[2] = outcome;
    q[3] = outcome === PageFaultOutcome.PageTableWrite ? shadow.changedEntries
      : outcome === PageFaultOutcome.GuestFault ? shadow.guestErrorCode : 0;
  },
  // The software modes' costs of the same work, without their trap round trip: the exit paid for that.
  work(costs, q) {
    const c = costs;
    if (q[2] === PageFaultOutcome.ShadowFilled) return c.shadowPageFault.cycles - c.trapRoundTrip.cycles;
    if (q[2] === PageFaultOutcome.PageTableWrite) return c.pteWrite.cycles - c.trapRoundTrip.cycles;
    if (q[2] === MF_FERR || q[2] === MF_IGNORED) return c.emulateInstruction.cycles;
    return c.reflect.cycles;
  },
  qualify(a, code, outcome, detail) {
    if (outcome === MF_INJECTED) return '#MF: the guest has CR0.NE set, injected';
    if (outcome === MF_FERR || outcome === MF_IGNORED) {
      const what = detail === WAIT ? 'FWAIT' : `x87 opcode ${hex(detail)}`;
      return `#MF with the guest's CR0.NE clear: ${outcome === MF_FERR ? 'FERR# raised (IRQ 13)' : 'IGNNE# asserted'}, ${what} carried out`;
    }
    const what = `#PF at ${hex8(a)} error code ${hex(code)}`;
    if (outcome === PageFaultOutcome.ShadowFilled) return `${what}: shadow entry filled (a fault the guest does not see)`;
    if (outcome === PageFaultOutcome.GuestFault) return `${what}: the guest's own page fault, injected with error code ${hex(detail)}`;
    return `${what}: write to a guest page table emulated, ${detail} entr${detail === 1 ? 'y' : 'ies'} changed`;
  },
};
