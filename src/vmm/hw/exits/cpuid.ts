/**
 * CPUID (exit 10, always exits): answered from the processor model the guest is shown,
 * qemu32 with the virtual CPU's APIC ID, so the guest sees what it sees on bare metal and not the VMX of the processor the
 * VMM runs on.
 */
import { cpuid as cpuidOf } from '../../../cpu/cpuid';
import { EAX, EBX, ECX, EDX } from '../../../cpu/registers';
import { hex } from '../../exitLog';
import type { ExitHandler } from '../exitHandler';

const out = new Int32Array(4);
/** Leaves whose answer depends on the subleaf in ECX. */
const SUBLEAF_LEAVES = new Set([4]);

export const cpuid: ExitHandler = {
  handle(hw, q) {
    const cpu = hw.cpu;
    const leaf = cpu.regs[EAX], subleaf = cpu.regs[ECX];
    // The CPUID table reads the model from the processor: show it the guest's for this one answer.
    const host = cpu.model;
    cpu.model = hw.guestModel;
    cpuidOf(cpu, leaf, subleaf, out);
    cpu.model = host;
    cpu.regs[EAX] = out[0]; cpu.regs[EBX] = out[1]; cpu.regs[ECX] = out[2]; cpu.regs[EDX] = out[3];
    hw.vcpu.skipInstruction();
    q[0] = leaf >>> 0; q[1] = subleaf >>> 0;
  },
  work: (costs) => costs.emulateInstruction.cycles,
  qualify: (leaf, subleaf) => `CPUID leaf ${hex(leaf)}${SUBLEAF_LEAVES.has(leaf) ? ` subleaf ${hex(subleaf)}` : ''}`,
};
