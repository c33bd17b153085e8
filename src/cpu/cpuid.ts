/**
 * CPUID: a fixed processor model. The default follows QEMU's `qemu32` CPU so a guest takes
 * the same paths under vtscope and under qemu-system-i386.
 */
export interface CpuModel {
  /** Leaf -> [EAX, EBX, ECX, EDX]. */
  leaves: Map<number, readonly [number, number, number, number]>;
}

export const QEMU32: CpuModel = { leaves: new Map() };
