/**
 * HLT (exit 12, HLT exiting): the instruction retires and the VMM idles the virtual CPU until
 * a device has an interrupt for it, as KVM blocks a halted vCPU; virtual time skips ahead to
 * that event, and the next VM entry injects the interrupt. A guest that halts with IF = 0, or
 * for which no interrupt will ever come, is left in the HLT activity state, where the machine
 * finds it asleep for good and ends the run as it does on bare metal.
 */
import { FLAG_IF } from '../../../cpu/registers';
import { ACTIVITY_HLT, VMCS } from '../../../cpu/vmx/index';
import type { ExitHandler } from '../exitHandler';

const AWAKE = 0, IDLED = 1, ASLEEP = 2;

export const hlt: ExitHandler = {
  handle(hw, q) {
    const vcpu = hw.vcpu;
    vcpu.skipInstruction();
    const before = hw.machine.nowNs();
    let outcome = AWAKE;
    if ((vcpu.rflags & FLAG_IF) === 0) outcome = ASLEEP;
    else if (!hw.injection.pending(hw.machine)) outcome = hw.machine.idleUntilInterrupt() ? IDLED : ASLEEP;
    if (outcome === ASLEEP) vcpu.write(VMCS.GUEST_ACTIVITY_STATE, ACTIVITY_HLT);
    q[0] = outcome;
    q[1] = hw.machine.nowNs() - before;
  },
  qualify(outcome, ns) {
    if (outcome === AWAKE) return 'HLT with an interrupt already waiting';
    if (outcome === IDLED) return `HLT: vCPU idle for ${ns} ns until an interrupt`;
    return 'HLT with no interrupt to come: vCPU halted for good';
  },
};
