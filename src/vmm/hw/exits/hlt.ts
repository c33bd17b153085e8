/**
 * HLT (exit 12, HLT exiting): the instruction retires and the VMM idles the virtual CPU until
 * a device has an interrupt for it, as KVM blocks a halted vCPU; virtual time skips ahead to
 * that event, and the next VM entry injects the interrupt. A guest that halts with IF = 0, or
 * for which no interrupt will ever come, is left in the HLT activity state, where the machine
 * finds it asleep for good and ends the run as it does on bare metal. With several vCPUs time
 * is not the halted one's to skip: it waits in the HLT activity state, which the processor
 * leaves at its next interrupt (an external-interrupt exit), while the others run on.
 */
import { FLAG_IF } from '../../../cpu/registers';
import { ACTIVITY_HLT, VMCS } from '../../../cpu/vmx/index';
import type { ExitHandler } from '../exitHandler';

const AWAKE = 0, IDLED = 1, ASLEEP = 2, WAITING = 3;

export const hlt: ExitHandler = {
  handle(hw, q) {
    const vcpu = hw.vcpu;
    vcpu.skipInstruction();
    const before = hw.machine.nowNs();
    let outcome = AWAKE;
    if ((vcpu.rflags & FLAG_IF) === 0) outcome = ASLEEP;
    else if (hw.injection.pending(hw.machine)) outcome = AWAKE;
    else if (hw.machine.cpus.length > 1) outcome = WAITING;
    else outcome = hw.machine.idleUntilInterrupt() ? IDLED : ASLEEP;
    if (outcome === ASLEEP || outcome === WAITING) vcpu.write(VMCS.GUEST_ACTIVITY_STATE, ACTIVITY_HLT);
    q[0] = outcome;
    q[1] = hw.machine.nowNs() - before;
  },
  qualify(outcome, ns) {
    if (outcome === AWAKE) return 'HLT with an interrupt already waiting';
    if (outcome === IDLED) return `HLT: vCPU idle for ${ns} ns until an interrupt`;
    if (outcome === WAITING) return 'HLT: vCPU waits in the HLT activity state while the other vCPUs run';
    return 'HLT with no interrupt to come: vCPU halted for good';
  },
};
