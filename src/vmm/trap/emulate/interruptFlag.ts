/**
 * CLI and STI: they fault in ring 1 at IOPL 0 and change the guest's interrupt flag, which
 * the processor's IF carries. STI keeps interrupts off for one more instruction, as on
 * hardware (SDM Vol. 3A, 6.8.3), so `sti; hlt` still cannot miss an interrupt.
 */
import { FLAG_IF } from '../../../cpu/registers';
import { ioplAllows, type Emulator } from './emulator';

export const CLI: Emulator = {
  name: () => 'CLI',
  allowed: ioplAllows,
  run(t, _insn, q) {
    q[0] = (t.cpu.flags & FLAG_IF) !== 0 ? 1 : 0;
    t.cpu.flags &= ~FLAG_IF;
  },
  qualify: (was) => `guest IF ${was} -> 0`,
};

export const STI: Emulator = {
  name: () => 'STI',
  allowed: ioplAllows,
  run(t, _insn, q) {
    const cpu = t.cpu;
    q[0] = (cpu.flags & FLAG_IF) !== 0 ? 1 : 0;
    if ((cpu.flags & FLAG_IF) === 0) cpu.inhibitUntil = cpu.icount + 1;
    cpu.flags |= FLAG_IF;
  },
  qualify: (was) => `guest IF ${was} -> 1`,
};
