/**
 * HLT: the guest waits for an interrupt. The VMM halts the processor for it; with the
 * guest's IF (the processor's) clear, nothing can wake it and the run ends as on bare metal.
 */
import { FLAG_IF } from '../../../cpu/registers';
import { ring0, type Emulator } from './emulator';

export const HLT: Emulator = {
  name: () => 'HLT',
  allowed: ring0,
  run(t, _insn, q) {
    q[0] = (t.cpu.flags & FLAG_IF) !== 0 ? 1 : 0;
    t.cpu.halted = true;
  },
  qualify: (ifSet) => (ifSet ? 'wait for the next interrupt' : 'with IF = 0: nothing can wake the guest'),
};
