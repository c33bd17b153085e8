/**
 * A CPU ready for VMX tests: the harness CPU with the VMX CPU model, paging on through an
 * identity map of 4-MiB pages, CR0.NE, CR4.VMXE and IA32_FEATURE_CONTROL locked with VMXON
 * enabled (what VMXON requires: SDM Vol. 3C, 23.7-23.8), and VMXON and VMCS regions carrying
 * the revision identifier from IA32_VMX_BASIC.
 */
import { run, StopReason, type Cpu, type CpuBus } from '../../src/cpu/index';
import { QEMU32_VMX } from '../../src/cpu/cpuid';
import { getEflags } from '../../src/cpu/flags';
import { CR0_NE, CR0_PG, CR4_PSE, CR4_VMXE } from '../../src/cpu/registers';
import { expect } from 'vitest';
import {
  vmclear, vmlaunch, vmptrld, vmread, vmresume, vmwrite, vmxOn, VMX_SUCCEED,
} from '../../src/cpu/vmx/index';
import { nasm } from '../support/nasm';
import { CODE_BASE, faultVector, GDT_BASE, IDT_BASE, makeCpu, STACK_TOP } from './harness';

export const PAGE_DIRECTORY = 0x70000;
export const VMXON_REGION = 0x100000;
export const VMCS_A = 0x101000;
export const VMCS_B = 0x102000;
/** A page whose first dword is not the revision identifier. */
export const NOT_A_VMCS = 0x103000;
/** Where snippets keep 64-bit pointer operands and results. */
export const DATA = 0x104000;
export const GUEST_CODE = 0x105000;
export const GUEST_STACK_TOP = 0x107000;
export const HOST_TR_BASE = 0x108000;
export { CODE_BASE, GDT_BASE, IDT_BASE, STACK_TOP };

/** IA32_VMX_BASIC bits 30:0, read the way software reads it (RDMSR 0x480 in a snippet). */
export function revisionId(cpu: Cpu): number {
  return runAsm(cpu, 'mov ecx, 0x480\nrdmsr').eax & 0x7fff_ffff;
}

export function makeVmxCpu(bus?: CpuBus): Cpu {
  const cpu = makeCpu(bus);
  cpu.model = QEMU32_VMX;
  for (let k = 0; k < 4; k++) cpu.writePhys32(PAGE_DIRECTORY + 4 * k, (k << 22) | 0x87);   // P, RW, US, PS
  cpu.cr3 = PAGE_DIRECTORY;
  cpu.cr4 = CR4_PSE | CR4_VMXE;
  cpu.cr0 |= CR0_PG | CR0_NE;
  cpu.tlb.flush(false);
  runAsm(cpu, 'mov ecx, 0x3a\nmov eax, 5\nxor edx, edx\nwrmsr');   // lock, VMXON outside SMX
  const id = revisionId(cpu);
  for (const region of [VMXON_REGION, VMCS_A, VMCS_B]) cpu.writePhys32(region, id);
  cpu.writePhys32(NOT_A_VMCS, id + 1);
  return cpu;
}

export interface AsmResult {
  eax: number; ebx: number; ecx: number; edx: number; esi: number; edi: number;
  eflags: number;
  /** The exception vector the snippet stopped in (the harness IDT's HLTs), if any. */
  fault?: number;
}

/**
 * Runs 32-bit code at CODE_BASE until it reaches its end, halts or faults. The source may use
 * labels (org CODE_BASE). VM exits of a guest it launches come back to whatever HOST_RIP says.
 */
export function runAsm(cpu: Cpu, source: string, maxSteps = 10_000): AsmResult {
  const code = nasm(`bits 32\norg ${CODE_BASE}\n${source}\n`);
  cpu.bus.ram.set(code, CODE_BASE);
  cpu.code.invalidateAll();
  cpu.eip = CODE_BASE;
  cpu.halted = false;
  const end = CODE_BASE + code.length;
  for (let n = 0; n < maxSteps && cpu.eip !== end && !cpu.halted; n++) {
    run(cpu, 1);
    if (cpu.stopReason === StopReason.TripleFault) throw new Error(cpu.stopMessage);
  }
  const r = cpu.regs;
  const out: AsmResult = {
    eax: r[0] >>> 0, ecx: r[1] >>> 0, edx: r[2] >>> 0, ebx: r[3] >>> 0, esi: r[6] >>> 0, edi: r[7] >>> 0,
    eflags: getEflags(cpu) >>> 0,
  };
  const v = faultVector(cpu);
  if (v !== undefined) out.fault = v;
  return out;
}

/** CF, ZF and the other status flags after a VMX instruction: VMsucceed, VMfailInvalid, VMfailValid (SDM Vol. 3C, 30.2). */
export function vmxStatus(eflags: number): 'succeed' | 'failInvalid' | 'failValid' | 'other' {
  const arith = eflags & 0x8d5;   // CF PF AF ZF SF OF
  if (arith === 0) return 'succeed';
  if (arith === 0x01) return 'failInvalid';
  if (arith === 0x40) return 'failValid';
  return 'other';
}

/** The harness GDT's flat selectors and a TR selector past its end (VM entry checks the field, not the GDT). */
export const CODE_SEL = 0x08, DATA_SEL = 0x10, TR_SEL = 0x28;

/** Control values with every default1 bit set: valid under both the TRUE and the ordinary capability MSRs. */
export const PIN_DEFAULT1 = 0x16, PROC_DEFAULT1 = 0x0401e172, EXIT_DEFAULT1 = 0x00036dff, ENTRY_DEFAULT1 = 0x000011ff;

export interface VmcsSetup {
  guestRip: number;
  hostRip: number;
  hostRsp?: number;
  guestRsp?: number;
}

/**
 * A complete, valid VMCS for a flat ring-0 guest on the host's own page tables: every
 * control at its default1 setting, host and guest state as SDM Vol. 3C, 26.2-26.3 require.
 * Returns [field, value] pairs; tests change some before writing them.
 */
export function validVmcs(cpu: Cpu, s: VmcsSetup): [number, number][] {
  const code = 0xc09b, data = 0xc093;
  return [
    [0x4000, PIN_DEFAULT1], [0x4002, PROC_DEFAULT1], [0x400c, EXIT_DEFAULT1], [0x4012, ENTRY_DEFAULT1],
    [0x4004, 0], [0x400a, 0], [0x4016, 0],
    // host state
    [0x6c00, cpu.cr0], [0x6c02, cpu.cr3], [0x6c04, cpu.cr4],
    [0x0c00, DATA_SEL], [0x0c02, CODE_SEL], [0x0c04, DATA_SEL], [0x0c06, DATA_SEL], [0x0c08, DATA_SEL],
    [0x0c0a, DATA_SEL], [0x0c0c, TR_SEL], [0x6c06, 0], [0x6c08, 0], [0x6c0a, HOST_TR_BASE],
    [0x6c0c, GDT_BASE], [0x6c0e, IDT_BASE], [0x6c14, s.hostRsp ?? STACK_TOP], [0x6c16, s.hostRip],
    // guest state
    [0x6800, cpu.cr0], [0x6802, cpu.cr3], [0x6804, cpu.cr4], [0x681a, 0x400],
    [0x681c, s.guestRsp ?? GUEST_STACK_TOP], [0x681e, s.guestRip], [0x6820, 2],
    [0x0800, DATA_SEL], [0x0802, CODE_SEL], [0x0804, DATA_SEL], [0x0806, DATA_SEL], [0x0808, DATA_SEL], [0x080a, DATA_SEL],
    [0x6806, 0], [0x6808, 0], [0x680a, 0], [0x680c, 0], [0x680e, 0], [0x6810, 0],
    [0x4800, -1], [0x4802, -1], [0x4804, -1], [0x4806, -1], [0x4808, -1], [0x480a, -1],
    [0x4814, data], [0x4816, code], [0x4818, data], [0x481a, data], [0x481c, data], [0x481e, data],
    [0x080c, 0], [0x6812, 0], [0x480c, 0], [0x4820, 0x10000],
    [0x080e, TR_SEL], [0x6814, HOST_TR_BASE], [0x480e, 0x67], [0x4822, 0x8b],
    [0x6816, GDT_BASE], [0x4810, 5 * 8 - 1], [0x6818, IDT_BASE], [0x4812, 32 * 8 - 1],
    [0x4824, 0], [0x4826, 0], [0x6822, 0], [0x2802, 0], [0x2803, 0],
    [0x2800, -1], [0x2801, -1],
  ];
}

export interface GuestExit {
  reason: number; qualification: number; instrLen: number; instrInfo: number; linear: number; physical: number;
  intrInfo: number; intrError: number; vectoring: number; vectoringError: number; rip: number;
}

/**
 * A guest for exit tests, driven through the TypeScript API with `exitToHost`: VMXON, a valid
 * VMCS (validVmcs) changed by `fields`, `source` assembled at GUEST_CODE, then VMLAUNCH.
 * Returns the VMLAUNCH status.
 */
export function launchGuest(cpu: Cpu, source: string, fields: [number, number][] = []): number {
  cpu.vmx.exitToHost = true;
  expect(vmxOn(cpu, VMXON_REGION)).toBe(VMX_SUCCEED);
  expect(vmclear(cpu, VMCS_A)).toBe(VMX_SUCCEED);
  expect(vmptrld(cpu, VMCS_A)).toBe(VMX_SUCCEED);
  for (const [f, v] of [...validVmcs(cpu, { guestRip: GUEST_CODE, hostRip: CODE_BASE }), ...fields]) vmwrite(cpu, f, v);
  cpu.bus.ram.set(nasm(`bits 32\norg ${GUEST_CODE}\n${source}\n`), GUEST_CODE);
  cpu.code.invalidateAll();
  return vmlaunch(cpu);
}

/** Runs the guest to its next VM exit and reads the exit information fields. */
export function nextExit(cpu: Cpu, budget = 100_000): GuestExit {
  run(cpu, budget);
  if (cpu.stopReason !== StopReason.VmExit) {
    throw new Error(`no VM exit: stop reason ${cpu.stopReason}, EIP 0x${(cpu.eip >>> 0).toString(16)}, halted ${cpu.halted}`);
  }
  const r = (f: number) => vmread(cpu, f) >>> 0;
  return {
    reason: r(0x4402), qualification: r(0x6400), instrLen: r(0x440c), instrInfo: r(0x440e), linear: r(0x640a),
    physical: r(0x2400), intrInfo: r(0x4404), intrError: r(0x4406), vectoring: r(0x4408), vectoringError: r(0x440a),
    rip: r(0x681e),
  };
}

/** Skips the instruction that exited and resumes the guest. */
export function skipAndResume(cpu: Cpu, exit: GuestExit): void {
  vmwrite(cpu, 0x681e, exit.rip + exit.instrLen);
  expect(vmresume(cpu)).toBe(VMX_SUCCEED);
}
