/**
 * RDMSR and WRMSR: the guest reaches the processor's MSRs, except the SYSENTER ones, which
 * the VMM keeps for the guest: loaded into the processor they would send SYSENTER from user
 * code straight into ring 0, past the VMM.
 */
import { CpuFault, GP } from '../../../cpu/exceptions';
import { findMsr, IA32_SYSENTER_CS, IA32_SYSENTER_EIP, IA32_SYSENTER_ESP, type MsrValue } from '../../../cpu/msrs';
import { EAX, ECX, EDX } from '../../../cpu/registers';
import { GuestFault, VmmStop } from '../../guestMemory';
import type { TrapMonitor } from '../trapMonitor';
import { hex, type Emulator, ring0 } from './emulator';

const value: MsrValue = { lo: 0, hi: 0 };

/** Runs an MSR access of the processor's, turning its #GP into the guest's. */
function processor(t: TrapMonitor, access: () => void): void {
  try {
    access();
  } catch (e) {
    if (!(e instanceof CpuFault)) throw e;
    throw new GuestFault(e.vector, e.errorCode, e.hasErrorCode);
  }
}

function sysenterField(index: number): 'sysenterCs' | 'sysenterEsp' | 'sysenterEip' | undefined {
  return index === IA32_SYSENTER_CS ? 'sysenterCs' : index === IA32_SYSENTER_ESP ? 'sysenterEsp'
    : index === IA32_SYSENTER_EIP ? 'sysenterEip' : undefined;
}

export const RDMSR: Emulator = {
  name: () => 'RDMSR',
  allowed: ring0,
  run(t, _insn, q) {
    const cpu = t.cpu, index = cpu.regs[ECX];
    const field = sysenterField(index);
    if (field !== undefined) {
      value.lo = t.vcpu[field]; value.hi = 0;
    } else {
      const def = findMsr(cpu.model, index);
      if (def === undefined) throw new GuestFault(GP, 0, true);
      processor(t, () => def.read(cpu, value));
    }
    cpu.regs[EAX] = value.lo; cpu.regs[EDX] = value.hi;
    q[0] = index >>> 0; q[1] = value.hi >>> 0; q[2] = value.lo >>> 0;
  },
  qualify: (index, hi, lo) => `RDMSR ${hex(index)} = ${hex(hi)}:${hex(lo)}`,
};

export const WRMSR: Emulator = {
  name: () => 'WRMSR',
  allowed: ring0,
  run(t, _insn, q) {
    const cpu = t.cpu, index = cpu.regs[ECX], lo = cpu.regs[EAX], hi = cpu.regs[EDX];
    const field = sysenterField(index);
    if (field !== undefined) {
      t.vcpu[field] = index === IA32_SYSENTER_CS ? lo & 0xffff : lo;
    } else {
      const def = findMsr(cpu.model, index);
      if (def === undefined) throw new GuestFault(GP, 0, true);
      processor(t, () => def.write(cpu, lo, hi));
    }
    q[0] = index >>> 0; q[1] = hi >>> 0; q[2] = lo >>> 0;
  },
  qualify: (index, hi, lo) => `WRMSR ${hex(index)} = ${hex(hi)}:${hex(lo)}`,
};

/** SYSENTER faults in user code (the processor's SYSENTER_CS is 0); entering the guest's kernel that way is not emulated. */
export const SYSENTER: Emulator = {
  name: () => 'SYSENTER',
  allowed: (t) => t.vcpu.sysenterCs !== 0,
  run() { throw new VmmStop('the guest used SYSENTER: fast system calls are not emulated under trap'); },
  qualify: () => '',
};
