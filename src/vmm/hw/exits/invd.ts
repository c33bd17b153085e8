/** INVD (exit 13, always exits): the machine has no caches to invalidate, so it retires as a no-op. */
import type { ExitHandler } from '../exitHandler';

export const invd: ExitHandler = {
  handle(hw) { hw.vcpu.skipInstruction(); },
  qualify: () => 'INVD: no caches to invalidate',
};
