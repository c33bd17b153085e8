/**
 * How CR0 and CR4 behave in VMX operation when no VM exit happens (SDM Vol. 3C, 23.8 and
 * 25.3): in VMX operation the bits fixed by IA32_VMX_CR0/CR4_FIXED0 cannot be cleared (#GP);
 * in non-root operation a bit set in the guest/host mask belongs to the host, so reads return
 * the read shadow's value for it and writes leave it as it is. MOV CR, SMSW, LMSW and CLTS
 * (ops/controlRegs.ts) come through here; whether they exit is decided in exits.ts.
 */
import type { Cpu } from '../cpu';
import { GP } from '../exceptions';
import { CR0_PE, CR0_PG } from '../registers';
import { CR0_FIXED0, CR4_FIXED0, PROC2_UNRESTRICTED_GUEST } from './capabilities';

/** CR0 as MOV from CR0 and SMSW see it. */
export function readCr0(cpu: Cpu): number {
  if (!cpu.vmxNonRoot) return cpu.cr0;
  const x = cpu.vmx;
  return (cpu.cr0 & ~x.cr0Mask) | (x.cr0Shadow & x.cr0Mask);
}

/** CR4 as MOV from CR4 sees it. */
export function readCr4(cpu: Cpu): number {
  if (!cpu.vmxNonRoot) return cpu.cr4;
  const x = cpu.vmx;
  return (cpu.cr4 & ~x.cr4Mask) | (x.cr4Shadow & x.cr4Mask);
}

/**
 * The value a CR0 write (MOV, LMSW, CLTS) really loads in VMX operation, or #GP(0) if it would
 * clear a fixed bit; the unrestricted guest may clear PE and PG.
 */
export function vmxCr0Write(cpu: Cpu, value: number): number {
  let fixed = CR0_FIXED0;
  let v = value;
  if (cpu.vmxNonRoot) {
    const x = cpu.vmx;
    v = (value & ~x.cr0Mask) | (cpu.cr0 & x.cr0Mask);
    if ((x.proc2 & PROC2_UNRESTRICTED_GUEST) !== 0) fixed &= ~(CR0_PE | CR0_PG);
  }
  if ((v & fixed) !== fixed) cpu.raiseWithCode(GP, 0);
  return v;
}

/** The same for CR4: VMXE stays set in VMX operation. */
export function vmxCr4Write(cpu: Cpu, value: number): number {
  let v = value;
  if (cpu.vmxNonRoot) {
    const x = cpu.vmx;
    v = (value & ~x.cr4Mask) | (cpu.cr4 & x.cr4Mask);
  }
  if ((v & CR4_FIXED0) !== CR4_FIXED0) cpu.raiseWithCode(GP, 0);
  return v;
}
