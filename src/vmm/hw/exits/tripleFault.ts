/**
 * Triple fault (exit 2): in non-root operation a triple fault is a VM exit, not a shutdown.
 * The guest is beyond saving, and the run ends as a triple fault ends it on bare metal.
 */
import { hex8 } from '../../exitLog';
import type { ExitHandler } from '../exitHandler';

export const tripleFault: ExitHandler = {
  handle(hw) {
    const chain = hw.cpu.faultChain.join(' then ');
    hw.endWithTripleFault(`triple fault at EIP ${hex8(hw.vcpu.rip)}: ${chain} (VM exit 2, TRIPLE_FAULT)`);
  },
  qualify: () => 'the guest triple-faulted: run ended',
};
