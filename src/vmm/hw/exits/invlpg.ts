/**
 * INVLPG (exit 14, INVLPG exiting, under shadow paging): the shadow of the page goes. The
 * qualification is the linear address of the operand.
 */
import { VMCS } from '../../../cpu/vmx/index';
import { hex } from '../../exitLog';
import { VmmStop } from '../../guestMemory';
import type { ExitHandler } from '../exitHandler';

export const invlpg: ExitHandler = {
  handle(hw, q) {
    const lin = hw.vcpu.read(VMCS.EXIT_QUALIFICATION);
    const shadow = hw.paging.shadow;
    if (shadow === undefined) throw new VmmStop('INVLPG exited, but the VMM asked for INVLPG exits only with shadow paging');
    shadow.invlpg(lin);
    hw.vcpu.skipInstruction();
    q[0] = lin >>> 0;
  },
  work: (costs) => costs.emulateInstruction.cycles,
  qualify: (lin) => `INVLPG ${hex(lin)}`,
};
