/**
 * RDTSC and RDPMC trap only when the guest set CR4.TSD or cleared CR4.PCE (the processor has
 * the guest's bits) and its kernel reads them: ring 0 may, so the VMM reads them for it.
 */
import { readTsc, type MsrValue } from '../../../cpu/msrs';
import { EAX, ECX, EDX } from '../../../cpu/registers';
import { GP } from '../../../cpu/exceptions';
import { GuestFault } from '../../guestMemory';
import { hex, ring0, type Emulator } from './emulator';

const tsc: MsrValue = { lo: 0, hi: 0 };

export const RDTSC: Emulator = {
  name: () => 'RDTSC',
  allowed: ring0,
  run(t, _insn, q) {
    readTsc(t.cpu, tsc);
    t.cpu.regs[EAX] = tsc.lo; t.cpu.regs[EDX] = tsc.hi;
    q[0] = tsc.hi >>> 0; q[1] = tsc.lo >>> 0;
  },
  qualify: (hi, lo) => `TSC = ${hex(hi)}:${hex(lo)}`,
};

/** The P6's two performance counters; no events are modelled, so both read 0. */
export const RDPMC: Emulator = {
  name: () => 'RDPMC',
  allowed: ring0,
  run(t, _insn, q) {
    const counter = t.cpu.regs[ECX];
    if (counter !== 0 && counter !== 1) throw new GuestFault(GP, 0, true);
    t.cpu.regs[EAX] = 0; t.cpu.regs[EDX] = 0;
    q[0] = counter;
  },
  qualify: (counter) => `counter ${counter} = 0`,
};
