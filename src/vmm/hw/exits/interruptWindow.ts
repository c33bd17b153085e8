/**
 * Interrupt window (exit 7, interrupt-window exiting): the guest can take interrupts again
 * (IF = 1, no STI or MOV SS shadow), and the interrupt that waited for it is injected.
 */
import { hex } from '../../exitLog';
import type { ExitHandler } from '../exitHandler';

export const interruptWindow: ExitHandler = {
  handle(hw, q) {
    q[0] = hw.injection.injectInterrupt(hw.vcpu, hw.machine);
  },
  qualify: (vector) => (vector >= 0 ? `window open: vector ${hex(vector)} injected` : 'window open: the request went away meanwhile'),
};
