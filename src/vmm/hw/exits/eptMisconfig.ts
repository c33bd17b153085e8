/**
 * EPT misconfiguration (exit 49): an entry of the VMM's own EPT tables is malformed. The
 * tables are the VMM's, so this is a VMM bug; the run stops naming the address.
 */
import { VMCS } from '../../../cpu/vmx/index';
import { hex, hex8 } from '../../exitLog';
import { VmmStop } from '../../guestMemory';
import type { ExitHandler } from '../exitHandler';

export const eptMisconfig: ExitHandler = {
  handle(hw, q) {
    const gpa = hw.vcpu.read(VMCS.GUEST_PHYSICAL_ADDR);
    q[0] = gpa >>> 0;
    throw new VmmStop(`EPT misconfiguration at guest-physical ${hex8(gpa)}: the VMM's EPT tables are malformed`);
  },
  qualify: (gpa) => `EPT misconfiguration GPA ${hex(gpa)}`,
};
