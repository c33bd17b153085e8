/**
 * SYSENTER and SYSEXIT (SDM Vol. 2): the fast system call into ring 0 and back to ring 3.
 * Neither reads a descriptor: CS and SS get flat 4 GiB caches derived from IA32_SYSENTER_CS
 * (CS = that selector, SS = CS + 8 for SYSENTER; CS + 16 and CS + 24 with RPL 3 for SYSEXIT),
 * so the GDT must hold matching descriptors in that order for later segment loads to agree.
 */
import { AR_DB, AR_G, AR_P, AR_S, type Cpu } from '../cpu';
import { CPUID_EDX_SEP } from '../cpuid';
import { GP, UD } from '../exceptions';
import type { Insn } from '../insn';
import { defineOp } from '../opcodeTable';
import { CS, ECX, EDX, ESP, FLAG_IF, FLAG_RF, FLAG_VM, SS } from '../registers';
import { rejectLock } from './lock';

/** Type 11 (execute/read, accessed) and type 3 (read/write, accessed), S, P, 32-bit, 4 KiB granularity. */
const FLAT_CODE = 0xb | AR_S | AR_P | AR_DB | AR_G;
const FLAT_DATA = 0x3 | AR_S | AR_P | AR_DB | AR_G;
const FLAT_LIMIT = 0xffff_ffff;

/** IA32_SYSENTER_CS, after the shared checks: #UD without SEP, #GP(0) in real mode or while bits 15:2 are 0. */
function sysenterSelector(cpu: Cpu, i: Insn): number {
  rejectLock(cpu, i);
  if ((cpu.model.featuresEdx & CPUID_EDX_SEP) === 0) cpu.raise(UD);
  const cs = cpu.sysenterCs & 0xffff;
  if (!cpu.protectedMode || (cs & 0xfffc) === 0) cpu.raiseWithCode(GP, 0);
  return cs;
}

/** SYSENTER: ring 0 at IA32_SYSENTER_EIP with ESP = IA32_SYSENTER_ESP; VM, IF and RF are cleared. */
function sysenter(cpu: Cpu, i: Insn): void {
  const cs = sysenterSelector(cpu, i) & 0xfffc;
  cpu.flags &= ~(FLAG_VM | FLAG_IF | FLAG_RF);
  cpu.setSegmentCache(CS, cs, 0, FLAT_LIMIT, FLAT_CODE);
  cpu.setSegmentCache(SS, cs + 8, 0, FLAT_LIMIT, FLAT_DATA);
  cpu.setCpl(0);
  cpu.regs[ESP] = cpu.sysenterEsp;
  cpu.eip = cpu.sysenterEip;
}

/** SYSEXIT (CPL 0 only): ring 3 at EDX with ESP = ECX. */
function sysexit(cpu: Cpu, i: Insn): void {
  const base = sysenterSelector(cpu, i);
  if (cpu.cpl !== 0) cpu.raiseWithCode(GP, 0);
  const cs = ((base + 16) | 3) & 0xffff;
  cpu.setSegmentCache(CS, cs, 0, FLAT_LIMIT, FLAT_CODE | (3 << 5));
  cpu.setSegmentCache(SS, (cs + 8) & 0xffff, 0, FLAT_LIMIT, FLAT_DATA | (3 << 5));
  cpu.setCpl(3);
  cpu.regs[ESP] = cpu.regs[ECX];
  cpu.eip = cpu.regs[EDX];
}

export function register(): void {
  defineOp(0x134, { name: 'sysenter', exec: sysenter, endsBlock: true });
  defineOp(0x135, { name: 'sysexit', exec: sysexit, endsBlock: true });
}
