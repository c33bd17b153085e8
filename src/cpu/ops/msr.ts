/**
 * RDMSR and WRMSR (SDM Vol. 2): EDX:EAX from or to the MSR numbered ECX, at CPL 0 only; the
 * registers themselves are the table in msrs.ts.
 */
import type { Cpu } from '../cpu';
import { CPUID_EDX_MSR } from '../cpuid';
import { GP, UD } from '../exceptions';
import type { Insn } from '../insn';
import { findMsr, type MsrDef, type MsrValue } from '../msrs';
import { defineOp } from '../opcodeTable';
import { EAX, ECX, EDX } from '../registers';
import { rejectLock } from './lock';
import { requireCpl0 } from './system';

const value: MsrValue = { lo: 0, hi: 0 };

/** The MSR that ECX names: #UD without the MSR feature, #GP(0) above CPL 0 or for an unknown number. */
function msrOperand(cpu: Cpu, i: Insn): MsrDef {
  rejectLock(cpu, i);
  if ((cpu.model.featuresEdx & CPUID_EDX_MSR) === 0) cpu.raise(UD);
  requireCpl0(cpu);
  return findMsr(cpu.model, cpu.regs[ECX]) ?? cpu.raiseWithCode(GP, 0);
}

function rdmsr(cpu: Cpu, i: Insn): void {
  msrOperand(cpu, i).read(cpu, value);
  cpu.regs[EAX] = value.lo;
  cpu.regs[EDX] = value.hi;
}

function wrmsr(cpu: Cpu, i: Insn): void {
  msrOperand(cpu, i).write(cpu, cpu.regs[EAX], cpu.regs[EDX]);
}

export function register(): void {
  defineOp(0x130, { name: 'wrmsr', exec: wrmsr });
  defineOp(0x132, { name: 'rdmsr', exec: rdmsr });
}
