/**
 * CPUID: a fixed processor model. The default follows QEMU's `qemu32` CPU so a guest takes
 * the same paths under vtscope and under qemu-system-i386 (the model's comment lists where
 * the two differ and why).
 */
import type { Cpu } from './cpu';

/** CPUID.01H:EDX feature flags (SDM Vol. 2A, CPUID, table 3-11). */
export const CPUID_EDX_FPU = 1 << 0;
export const CPUID_EDX_VME = 1 << 1;
export const CPUID_EDX_DE = 1 << 2;
export const CPUID_EDX_PSE = 1 << 3;
export const CPUID_EDX_TSC = 1 << 4;
export const CPUID_EDX_MSR = 1 << 5;
export const CPUID_EDX_PAE = 1 << 6;
export const CPUID_EDX_MCE = 1 << 7;
export const CPUID_EDX_CX8 = 1 << 8;
export const CPUID_EDX_APIC = 1 << 9;
export const CPUID_EDX_SEP = 1 << 11;
export const CPUID_EDX_MTRR = 1 << 12;
export const CPUID_EDX_PGE = 1 << 13;
export const CPUID_EDX_MCA = 1 << 14;
export const CPUID_EDX_CMOV = 1 << 15;
export const CPUID_EDX_PAT = 1 << 16;
export const CPUID_EDX_MMX = 1 << 23;
export const CPUID_EDX_FXSR = 1 << 24;
export const CPUID_EDX_SSE = 1 << 25;
export const CPUID_EDX_SSE2 = 1 << 26;

/** CPUID.01H:ECX feature flags (SDM Vol. 2A, CPUID, table 3-10). */
export const CPUID_ECX_SSE3 = 1 << 0;
export const CPUID_ECX_VMX = 1 << 5;
/** Bit 31: "not used, always 0" on real processors; hypervisors set it to say they are there. */
export const CPUID_ECX_HYPERVISOR = 1 << 31;

/** IA32_APIC_BASE bit 11, the APIC global enable: clearing it also clears CPUID.01H:EDX.APIC. */
export const APIC_GLOBAL_ENABLE = 1 << 11;

/** EAX, EBX, ECX, EDX as CPUID returns them. */
export type CpuidRegisters = readonly [number, number, number, number];

export interface CpuModel {
  readonly name: string;
  /** The 12-character vendor string of leaf 0 (EBX, EDX, ECX) and of leaf 80000000H. */
  readonly vendor: string;
  /** Highest basic leaf (CPUID.0:EAX). */
  readonly maxBasicLeaf: number;
  /** Highest leaf of the range from 40000000H that hypervisors use (0 when there is none). */
  readonly maxHypervisorLeaf: number;
  /** Highest extended leaf (CPUID.80000000H:EAX). */
  readonly maxExtendedLeaf: number;
  /** CPUID.01H:EAX: stepping (3:0), model (7:4), family (11:8). */
  readonly signature: number;
  /** CPUID.01H:EBX for APIC ID 0: CLFLUSH line size in 8-byte units (15:8), brand index (7:0). */
  readonly leaf1Ebx: number;
  readonly featuresEdx: number;
  readonly featuresEcx: number;
  /** Processor brand string of leaves 80000002H-80000004H, at most 47 characters. */
  readonly brand: string;
  /**
   * Leaves returned as stored: one register set whatever ECX is, or a list indexed by the
   * subleaf in ECX with zeros beyond its end (leaf 4).
   */
  readonly fixedLeaves: ReadonlyMap<number, CpuidRegisters | readonly CpuidRegisters[]>;
}

/** The four characters at `offset` of `text` as a little-endian dword (NUL past the end). */
function chars4(text: string, offset: number): number {
  let v = 0;
  for (let k = 3; k >= 0; k--) v = (v << 8) | (offset + k < text.length ? text.charCodeAt(offset + k) & 0xff : 0);
  return v;
}

/** Family 6, model 6, stepping 3. */
const QEMU32_SIGNATURE = (6 << 8) | (6 << 4) | 3;

/**
 * QEMU 7.2's `qemu32` CPU under TCG, as `qemu-system-i386 -cpu qemu32` reports it (test/cpu/
 * cpuid.test.ts boots QEMU and compares every leaf): GenuineIntel family 6 model 6 stepping 3,
 * leaves up to 4, extended leaves up to 80000004H, the TCG hypervisor leaves 40000000H-40000001H
 * and the brand string "QEMU Virtual CPU version 2.5+".
 *
 * Differences from QEMU, all in leaf 1: vtscope leaves out MMX, SSE and SSE2 (EDX) and SSE3
 * (ECX) because it has no MMX or SSE instructions (they raise #UD, so a guest that believed
 * these bits would crash), and PAE (EDX) because its paging is the two-level 32-bit kind only;
 * CR4.PAE and CR4.OSXMMEXCPT are therefore reserved bits. The x87 FPU and FXSAVE/FXRSTOR are
 * there (ops/x87.ts), so FPU and FXSR are reported as QEMU does; FXSAVE stores no SSE state.
 * Everything else, including the hypervisor bit and QEMU's cache descriptors, is QEMU's.
 */
export const QEMU32: CpuModel = {
  name: 'qemu32',
  vendor: 'GenuineIntel',
  maxBasicLeaf: 4,
  maxHypervisorLeaf: 0x40000001,
  maxExtendedLeaf: 0x80000004,
  signature: QEMU32_SIGNATURE,
  // CLFLUSH line 8 * 8 = 64 bytes. QEMU ORs in the APIC ID (bits 31:24) and, with more than one
  // logical processor, their count (23:16): one CPU with APIC ID 0 adds nothing.
  leaf1Ebx: 8 << 8,
  featuresEdx: CPUID_EDX_FPU | CPUID_EDX_DE | CPUID_EDX_PSE | CPUID_EDX_TSC | CPUID_EDX_MSR | CPUID_EDX_MCE |
    CPUID_EDX_CX8 | CPUID_EDX_APIC | CPUID_EDX_SEP | CPUID_EDX_PGE | CPUID_EDX_CMOV | CPUID_EDX_PAT | CPUID_EDX_FXSR,
  featuresEcx: CPUID_ECX_HYPERVISOR,
  brand: 'QEMU Virtual CPU version 2.5+',
  fixedLeaves: new Map<number, CpuidRegisters | readonly CpuidRegisters[]>([
    // One call; descriptors 7DH (2 MiB L2), 30H (32 KiB L1 code), 2CH (32 KiB L1 data), 4DH (16 MiB L3).
    [2, [0x00000001, 0, 0x0000004d, 0x002c307d]],
    // No processor serial number.
    [3, [0, 0, 0, 0]],
    // Deterministic cache parameters, one subleaf per cache: L1 data, L1 code, L2, L3.
    [4, [
      [0x00000121, 0x01c0003f, 0x0000003f, 0x00000001],
      [0x00000122, 0x01c0003f, 0x0000003f, 0x00000001],
      [0x00000143, 0x03c0003f, 0x00000fff, 0x00000001],
      [0x00000163, 0x03c0003f, 0x00003fff, 0x00000006],
    ]],
    // QEMU's TCG signature "TCGTCGTCGTCG" and the highest hypervisor leaf.
    [0x40000000, [0x40000001, chars4('TCGTCGTCGTCG', 0), chars4('TCGTCGTCGTCG', 4), chars4('TCGTCGTCGTCG', 8)]],
    [0x40000001, [0, 0, 0, 0]],
    // QEMU repeats the signature in EAX; no extended features for an Intel vendor string.
    [0x80000001, [QEMU32_SIGNATURE, 0, 0, 0]],
  ]),
};

/**
 * `qemu32` with VMX (CPUID.01H:ECX bit 5): the model for guests that probe for VT-x and run
 * their own hypervisor, and for vtscope's `hw` mode. With it, CR4.VMXE can be set and
 * IA32_FEATURE_CONTROL and the IA32_VMX_* capability MSRs exist (msrs.ts, vmx/capabilities.ts).
 */
export const QEMU32_VMX: CpuModel = {
  ...QEMU32,
  name: 'qemu32-vmx',
  featuresEcx: QEMU32.featuresEcx | CPUID_ECX_VMX,
};

/**
 * Executes CPUID for leaf `leaf` (EAX) and subleaf `subleaf` (ECX) on `cpu`'s model, into
 * `out` as EAX, EBX, ECX, EDX. A leaf beyond the highest of its range returns the highest
 * basic leaf (SDM Vol. 2A, CPUID: "If a value entered for CPUID.EAX is higher than the maximum
 * input value ... the data for the highest basic information leaf is returned").
 */
export function cpuid(cpu: Cpu, leaf: number, subleaf: number, out: Int32Array): void {
  const m = cpu.model;
  let l = leaf >>> 0;
  const limit = l >= 0x80000000 ? m.maxExtendedLeaf : l >= 0x40000000 ? m.maxHypervisorLeaf : m.maxBasicLeaf;
  if (l > limit >>> 0) l = m.maxBasicLeaf;
  const vendor = m.vendor;
  switch (l) {
    case 0:
    case 0x80000000:
      out[0] = l === 0 ? m.maxBasicLeaf : m.maxExtendedLeaf;
      out[1] = chars4(vendor, 0); out[2] = chars4(vendor, 8); out[3] = chars4(vendor, 4);
      return;
    case 1: {
      out[0] = m.signature;
      out[1] = m.leaf1Ebx;
      out[2] = m.featuresEcx;
      // IA32_APIC_BASE[11] = 0 turns the local APIC off, and CPUID.01H:EDX.APIC with it (SDM Vol. 3A, 10.4.3).
      out[3] = (cpu.apicBase & APIC_GLOBAL_ENABLE) !== 0 ? m.featuresEdx : m.featuresEdx & ~CPUID_EDX_APIC;
      return;
    }
    case 0x80000002: case 0x80000003: case 0x80000004: {
      const base = (l - 0x80000002) * 16;
      for (let k = 0; k < 4; k++) out[k] = chars4(m.brand, base + 4 * k);
      return;
    }
  }
  const fixed = m.fixedLeaves.get(l);
  let regs: CpuidRegisters | undefined;
  if (fixed === undefined) regs = undefined;
  else if (isSubleafList(fixed)) regs = fixed[subleaf >>> 0];
  else regs = fixed;
  for (let k = 0; k < 4; k++) out[k] = regs === undefined ? 0 : regs[k];
}

function isSubleafList(v: CpuidRegisters | readonly CpuidRegisters[]): v is readonly CpuidRegisters[] {
  return typeof v[0] !== 'number';
}
