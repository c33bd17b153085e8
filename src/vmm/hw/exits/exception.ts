/**
 * Exception (exit 0), through the exception bitmap: only #PF is in it, and only under shadow
 * paging, where the VMM tells the guest's own page faults from the ones its shadow page tables
 * cause (shadowPaging.ts). The qualification of a #PF exit is the faulting linear address.
 */
import { PF } from '../../../cpu/exceptions';
import { VMCS } from '../../../cpu/vmx/index';
import { hex, hex8 } from '../../exitLog';
import { VmmStop } from '../../guestMemory';
import type { ExitHandler } from '../exitHandler';
import { PageFaultOutcome } from '../shadowPaging';

export const exception: ExitHandler = {
  handle(hw, q) {
    const vcpu = hw.vcpu;
    const vector = vcpu.read(VMCS.EXIT_INTR_INFO) & 0xff;
    const shadow = hw.paging.shadow;
    if (vector !== PF || shadow === undefined) {
      throw new VmmStop(`exception ${vector} exited at EIP ${hex8(vcpu.rip)}, but the VMM put only #PF under shadow paging in the exception bitmap`);
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
    return c.reflect.cycles;
  },
  qualify(lin, code, outcome, detail) {
    const what = `#PF at ${hex8(lin)} error code ${hex(code)}`;
    if (outcome === PageFaultOutcome.ShadowFilled) return `${what}: shadow entry filled (a fault the guest does not see)`;
    if (outcome === PageFaultOutcome.GuestFault) return `${what}: the guest's own page fault, injected with error code ${hex(detail)}`;
    return `${what}: write to a guest page table emulated, ${detail} entr${detail === 1 ? 'y' : 'ies'} changed`;
  },
};
