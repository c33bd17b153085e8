/**
 * External interrupt (exit 1, pin-based external-interrupt exiting): the PIC raised a request
 * while the guest ran. The VMM injects it at once if the guest can take it; otherwise the
 * next VM entry asks for an interrupt window (eventInjection.ts).
 */
import { hex } from '../../exitLog';
import type { ExitHandler } from '../exitHandler';

export const externalInterrupt: ExitHandler = {
  handle(hw, q) {
    q[0] = hw.injection.injectInterrupt(hw.vcpu, hw.machine);
  },
  qualify: (vector) => (vector >= 0
    ? `interrupt request at the PIC: vector ${hex(vector)} injected`
    : 'interrupt request at the PIC: the guest has interrupts blocked, interrupt window requested'),
};
