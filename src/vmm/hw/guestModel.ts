/**
 * The processor the `hw` guest is shown through CPUID and MSR exits: qemu32, as on bare metal
 * and under QEMU, without the VMX of the processor the VMM itself runs on.
 */
import { QEMU32, type CpuModel } from '../../cpu/cpuid';

export const GUEST_MODEL: CpuModel = QEMU32;
