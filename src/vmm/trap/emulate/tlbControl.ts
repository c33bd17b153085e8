/**
 * INVLPG, INVD and WBINVD. INVLPG drops the shadow entry for the page (the guest may have
 * changed its mapping); there are no caches, so INVD and WBINVD only trap.
 */
import { ring0, hex, type Emulator } from './emulator';
import { ea } from '../../../cpu/operands';

export const INVLPG: Emulator = {
  name: () => 'INVLPG',
  allowed: ring0,
  run(t, insn, q) {
    const lin = (t.cpu.segBase[insn.seg] + ea(t.cpu, insn)) | 0;
    t.shadow.invalidate(lin);
    q[0] = lin >>> 0;
  },
  qualify: (lin) => `INVLPG linear ${hex(lin)}`,
};

export const INVD: Emulator = { name: () => 'INVD', allowed: ring0, run() { /* no caches */ }, qualify: () => 'no caches' };
export const WBINVD: Emulator = { name: () => 'WBINVD', allowed: ring0, run() { /* no caches */ }, qualify: () => 'no caches' };
