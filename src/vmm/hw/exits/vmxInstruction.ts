/**
 * The VMX instructions (exits 18-27, always exit in non-root operation): the guest is shown a
 * processor without VMX, on which they are undefined, so the VMM injects #UD, as KVM does
 * when it offers no nested virtualization.
 */
import { UD } from '../../../cpu/exceptions';
import type { ExitHandler } from '../exitHandler';

export const vmxInstruction: ExitHandler = {
  handle(hw) { hw.vcpu.injectException(UD); },
  qualify: () => '#UD injected: the guest\'s processor (qemu32) has no VMX',
};
