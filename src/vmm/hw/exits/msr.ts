/**
 * RDMSR and WRMSR (exits 31 and 32, through the MSR bitmap): the MSRs of the processor the
 * guest is shown, qemu32, which has neither IA32_FEATURE_CONTROL nor the VMX capability MSRs;
 * an MSR it does not have, or a value it does not take, is #GP(0) in the guest. The SYSENTER
 * MSRs never exit: the VMCS switches them (vmcsSetup.ts).
 */
import { CpuFault, GP } from '../../../cpu/exceptions';
import { findMsr, type MsrValue } from '../../../cpu/msrs';
import { EAX, ECX, EDX } from '../../../cpu/registers';
import { hex } from '../../exitLog';
import type { ExitHandler } from '../exitHandler';
import { GUEST_MODEL } from '../guestModel';

const value: MsrValue = { lo: 0, hi: 0 };
const DONE = 0, NO_SUCH_MSR = 1, REFUSED = 2;

function msrName(index: number): string {
  const def = findMsr(GUEST_MODEL, index);
  return def === undefined ? hex(index) : `${hex(index)} (${def.name})`;
}

function describe(op: string, index: number, lo: number, hi: number, outcome: number): string {
  if (outcome === NO_SUCH_MSR) return `${op} ${hex(index)}: not an MSR of qemu32, #GP(0) injected`;
  const v = `0x${(hi >>> 0).toString(16).padStart(8, '0')}${(lo >>> 0).toString(16).padStart(8, '0')}`;
  if (outcome === REFUSED) return `${op} ${msrName(index)} = ${v}: value refused, #GP(0) injected`;
  return `${op} ${msrName(index)} = ${v}`;
}

export const rdmsr: ExitHandler = {
  handle(hw, q) {
    const cpu = hw.cpu, index = cpu.regs[ECX] >>> 0;
    const def = findMsr(GUEST_MODEL, index);
    q[0] = index;
    if (def === undefined) {
      hw.vcpu.injectException(GP, 0);
      q[3] = NO_SUCH_MSR;
      return;
    }
    def.read(cpu, value);
    cpu.regs[EAX] = value.lo;
    cpu.regs[EDX] = value.hi;
    q[1] = value.lo >>> 0; q[2] = value.hi >>> 0;
    hw.vcpu.skipInstruction();
  },
  work: (costs) => costs.emulateInstruction.cycles,
  qualify: (index, lo, hi, outcome) => describe('RDMSR', index, lo, hi, outcome),
};

export const wrmsr: ExitHandler = {
  handle(hw, q) {
    const cpu = hw.cpu, index = cpu.regs[ECX] >>> 0;
    const lo = cpu.regs[EAX], hi = cpu.regs[EDX];
    q[0] = index; q[1] = lo >>> 0; q[2] = hi >>> 0;
    const def = findMsr(GUEST_MODEL, index);
    if (def === undefined) {
      hw.vcpu.injectException(GP, 0);
      q[3] = NO_SUCH_MSR;
      return;
    }
    try {
      def.write(cpu, lo, hi);
    } catch (e) {
      // The register's own check raised #GP(0) before changing anything.
      if (!(e instanceof CpuFault)) throw e;
      hw.vcpu.injectException(GP, 0);
      q[3] = REFUSED;
      return;
    }
    q[3] = DONE;
    hw.vcpu.skipInstruction();
  },
  work: (costs) => costs.emulateInstruction.cycles,
  qualify: (index, lo, hi, outcome) => describe('WRMSR', index, lo, hi, outcome),
};
