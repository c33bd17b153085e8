/**
 * Model-specific registers as data: number, name, the CPUID condition under which the
 * processor has the register, and how it reads and writes (SDM Vol. 4, table 2-2 and the
 * P6-family table 2-47). RDMSR and WRMSR (ops/msr.ts) look registers up here; a number not
 * in the table, or one whose condition the CPU model does not meet, raises #GP(0).
 *
 * The set is what QEMU's TCG keeps state for and a P6-class guest of the qemu32 model can
 * find: no MTRRs, machine-check banks or performance counters (qemu32 reports neither MTRR
 * nor MCA, and RDPMC's counters are not modelled), and IA32_FEATURE_CONTROL only on a model
 * that reports VMX. QEMU's TCG reads every other MSR number as 0 and ignores writes to it;
 * vtscope follows the SDM and raises #GP(0) instead.
 */
import type { Cpu } from './cpu';
import {
  APIC_GLOBAL_ENABLE, CPUID_ECX_VMX, CPUID_EDX_APIC, CPUID_EDX_PAT, CPUID_EDX_SEP, CPUID_EDX_TSC,
  type CpuModel,
} from './cpuid';
import { GP } from './exceptions';
import { CAPABILITY_MSRS, capabilityMsr } from './vmx/capabilities';

export const IA32_TIME_STAMP_COUNTER = 0x10;
export const IA32_APIC_BASE = 0x1b;
export const IA32_FEATURE_CONTROL = 0x3a;
export const IA32_BIOS_SIGN_ID = 0x8b;
export const IA32_SYSENTER_CS = 0x174;
export const IA32_SYSENTER_ESP = 0x175;
export const IA32_SYSENTER_EIP = 0x176;
export const IA32_MISC_ENABLE = 0x1a0;
export const IA32_PAT = 0x277;

/** A 64-bit MSR value as EDX:EAX. */
export interface MsrValue { lo: number; hi: number }

export interface MsrDef {
  readonly index: number;
  readonly name: string;
  /** Whether a processor of this model has the register. */
  readonly exists: (model: CpuModel) => boolean;
  readonly read: (cpu: Cpu, out: MsrValue) => void;
  /** Raises #GP(0) for a value the register does not take, before changing anything. */
  readonly write: (cpu: Cpu, lo: number, hi: number) => void;
}

/** IA32_FEATURE_CONTROL bits: lock (0) and VMXON outside SMX (2); the others need SMX, SGX or LMCE. */
export const FEATURE_CONTROL_LOCK = 1 << 0;
export const FEATURE_CONTROL_VMX_OUTSIDE_SMX = 1 << 2;

/** Power-on values of the registers that have no field in `Cpu`. */
const PAT_RESET = 0x00070406;                // WB WT UC- UC, twice (SDM Vol. 3A, table 11-12)
const MISC_ENABLE_RESET = 1;                 // fast strings enabled, as QEMU reports

/** The contents of MSRs that have no field of their own in `Cpu` (`cpu.msrBank`). */
export class MsrBank {
  patLo = PAT_RESET;
  patHi = PAT_RESET;
  miscEnableLo = MISC_ENABLE_RESET;
  miscEnableHi = 0;
  featureControl = 0;
}

function bank(cpu: Cpu): MsrBank { return cpu.msrBank; }

function gp(cpu: Cpu): never { return cpu.raiseWithCode(GP, 0); }

const TWO_32 = 0x1_0000_0000;

/**
 * The time-stamp counter: one tick per retired instruction, plus the offset WRMSR set
 * (exact while the count stays below 2^53).
 */
export function readTsc(cpu: Cpu, out: MsrValue): void {
  const t = cpu.icount + cpu.tscOffset;
  out.hi = Math.floor(t / TWO_32) | 0;
  out.lo = t | 0;   // ToInt32 takes the value modulo 2^32
}

/** PAT memory types 2 and 3 and anything above 7 are reserved (SDM Vol. 3A, 11.12.2). */
function validPatHalf(v: number): boolean {
  for (let k = 0; k < 32; k += 8) {
    const type = (v >>> k) & 0xff;
    if (type > 7 || type === 2 || type === 3) return false;
  }
  return true;
}

/** IA32_APIC_BASE: BSP (8), global enable (11) and the base (31:12); the other bits are reserved. */
const APIC_BSP = 1 << 8;
const APIC_BASE_ADDRESS = 0xfffff000 | 0;
const APIC_BASE_WRITABLE = APIC_BASE_ADDRESS | APIC_BSP | APIC_GLOBAL_ENABLE;

const edx = (bit: number) => (m: CpuModel) => (m.featuresEdx & bit) !== 0;
const always = () => true;
const vmx = (m: CpuModel) => (m.featuresEcx & CPUID_ECX_VMX) !== 0;

export const MSRS: readonly MsrDef[] = [
  {
    index: IA32_TIME_STAMP_COUNTER, name: 'IA32_TIME_STAMP_COUNTER', exists: edx(CPUID_EDX_TSC),
    read: readTsc,
    // All 64 bits are written, as on QEMU and Intel processors after the P6 family.
    write: (cpu, lo, hi) => { cpu.tscOffset = (hi >>> 0) * TWO_32 + (lo >>> 0) - cpu.icount; },
  },
  {
    index: IA32_APIC_BASE, name: 'IA32_APIC_BASE', exists: edx(CPUID_EDX_APIC),
    read: (cpu, out) => { out.lo = cpu.apicBase; out.hi = 0; },
    write: (cpu, lo, hi) => {
      // Bits 63:32 lie beyond MAXPHYADDR, which is 32 without PAE or PSE-36.
      if ((lo & ~APIC_BASE_WRITABLE) !== 0 || hi !== 0) gp(cpu);
      // A P6 APIC on the 3-wire bus, once disabled, comes back only with a reset (SDM Vol. 3A,
      // 10.4.3). BSP is the processor's role from reset: QEMU keeps it whatever is written.
      const enable = cpu.apicBase & lo & APIC_GLOBAL_ENABLE;
      cpu.apicBase = (lo & APIC_BASE_ADDRESS) | (cpu.apicBase & APIC_BSP) | enable;
    },
  },
  {
    // Exists when CPUID reports VMX or SMX (SDM Vol. 4, table 2-2). No BIOS runs before the
    // guest, so it starts unlocked with VMXON disabled, as on QEMU.
    index: IA32_FEATURE_CONTROL, name: 'IA32_FEATURE_CONTROL',
    exists: vmx,
    read: (cpu, out) => { out.lo = bank(cpu).featureControl; out.hi = 0; },
    write: (cpu, lo, hi) => {
      const b = bank(cpu);
      if ((b.featureControl & FEATURE_CONTROL_LOCK) !== 0) gp(cpu);
      if ((lo & ~(FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX)) !== 0 || hi !== 0) gp(cpu);
      b.featureControl = lo;
    },
  },
  {
    // The microcode update signature: QEMU reports revision 1 in bits 63:32. Writing (Linux
    // writes 0 before CPUID to read it afresh) changes nothing.
    index: IA32_BIOS_SIGN_ID, name: 'IA32_BIOS_SIGN_ID', exists: always,
    read: (_cpu, out) => { out.lo = 0; out.hi = 1; },
    write: () => { /* the revision is fixed */ },
  },
  {
    // Only the selector is kept, as QEMU does.
    index: IA32_SYSENTER_CS, name: 'IA32_SYSENTER_CS', exists: edx(CPUID_EDX_SEP),
    read: (cpu, out) => { out.lo = cpu.sysenterCs; out.hi = 0; },
    write: (cpu, lo) => { cpu.sysenterCs = lo & 0xffff; },
  },
  {
    // 32 bits wide on a processor without Intel 64.
    index: IA32_SYSENTER_ESP, name: 'IA32_SYSENTER_ESP', exists: edx(CPUID_EDX_SEP),
    read: (cpu, out) => { out.lo = cpu.sysenterEsp; out.hi = 0; },
    write: (cpu, lo) => { cpu.sysenterEsp = lo; },
  },
  {
    index: IA32_SYSENTER_EIP, name: 'IA32_SYSENTER_EIP', exists: edx(CPUID_EDX_SEP),
    read: (cpu, out) => { out.lo = cpu.sysenterEip; out.hi = 0; },
    write: (cpu, lo) => { cpu.sysenterEip = lo; },
  },
  {
    // Not architectural before family 0FH, but QEMU's qemu32 has it: reads 1, keeps what is written.
    index: IA32_MISC_ENABLE, name: 'IA32_MISC_ENABLE', exists: always,
    read: (cpu, out) => { const b = bank(cpu); out.lo = b.miscEnableLo; out.hi = b.miscEnableHi; },
    write: (cpu, lo, hi) => { const b = bank(cpu); b.miscEnableLo = lo; b.miscEnableHi = hi; },
  },
  {
    index: IA32_PAT, name: 'IA32_PAT', exists: edx(CPUID_EDX_PAT),
    read: (cpu, out) => { const b = bank(cpu); out.lo = b.patLo; out.hi = b.patHi; },
    write: (cpu, lo, hi) => {
      if (!validPatHalf(lo) || !validPatHalf(hi)) gp(cpu);
      const b = bank(cpu);
      b.patLo = lo; b.patHi = hi;
    },
  },
];

/** The read-only VMX capability MSRs (values in vmx/capabilities.ts); writing one is #GP(0). */
const VMX_CAPABILITIES: readonly MsrDef[] = CAPABILITY_MSRS.map(([index, name]) => ({
  index, name, exists: vmx,
  read: (cpu, out) => { const [lo, hi] = capabilityMsr(cpu, index)!; out.lo = lo; out.hi = hi; },
  write: gp,
}));

const BY_INDEX = new Map([...MSRS, ...VMX_CAPABILITIES].map((d) => [d.index, d]));

/** The register numbered `index` if a processor of `model` has it. */
export function findMsr(model: CpuModel, index: number): MsrDef | undefined {
  const def = BY_INDEX.get(index >>> 0);
  return def !== undefined && def.exists(model) ? def : undefined;
}
