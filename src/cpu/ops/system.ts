/**
 * System instructions that are neither control-register, descriptor-table, MSR nor
 * SYSENTER/SYSEXIT instructions: RDTSC, RDPMC and CPUID (SDM Vol. 2), and the privilege
 * check they and the other system instructions share.
 */
import type { Cpu } from '../cpu';
import { cpuid, CPUID_EDX_TSC } from '../cpuid';
import { GP, UD } from '../exceptions';
import type { Insn } from '../insn';
import { readTsc, type MsrValue } from '../msrs';
import { defineOp } from '../opcodeTable';
import { CR4_PCE, CR4_TSD, EAX, EBX, ECX, EDX } from '../registers';
import { rejectLock } from './lock';

/**
 * #GP(0) unless CPL = 0: the rule of every privileged instruction (SDM Vol. 3A, 5.9). Real
 * mode runs at CPL 0; virtual-8086 mode runs at CPL 3, so it faults there too.
 */
export function requireCpl0(cpu: Cpu): void {
  if (cpu.cpl !== 0) cpu.raiseWithCode(GP, 0);
}

const tsc: MsrValue = { lo: 0, hi: 0 };

/** RDTSC: EDX:EAX = TSC; #GP(0) when CR4.TSD is set and CPL > 0. */
function rdtsc(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  if ((cpu.model.featuresEdx & CPUID_EDX_TSC) === 0) cpu.raise(UD);
  if ((cpu.cr4 & CR4_TSD) !== 0 && cpu.cpl !== 0) cpu.raiseWithCode(GP, 0);
  readTsc(cpu, tsc);
  cpu.regs[EAX] = tsc.lo;
  cpu.regs[EDX] = tsc.hi;
}

/**
 * RDPMC: the P6 has performance counters 0 and 1 (ECX); #GP(0) for any other number, and at
 * CPL > 0 unless CR4.PCE allows it. No events are modelled, so both counters
 * read 0. (QEMU 7.2's TCG raises #UD for every RDPMC.)
 */
function rdpmc(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  if ((cpu.cr4 & CR4_PCE) === 0 && cpu.cpl !== 0) cpu.raiseWithCode(GP, 0);
  const counter = cpu.regs[ECX];
  if (counter !== 0 && counter !== 1) cpu.raiseWithCode(GP, 0);
  cpu.regs[EAX] = 0;
  cpu.regs[EDX] = 0;
}

const leaf = new Int32Array(4);

/** CPUID: leaf EAX, subleaf ECX, from the CPU model; allowed at every CPL. */
function cpuidOp(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  cpuid(cpu, cpu.regs[EAX], cpu.regs[ECX], leaf);
  cpu.regs[EAX] = leaf[0];
  cpu.regs[EBX] = leaf[1];
  cpu.regs[ECX] = leaf[2];
  cpu.regs[EDX] = leaf[3];
}

export function register(): void {
  defineOp(0x131, { name: 'rdtsc', exec: rdtsc });
  defineOp(0x133, { name: 'rdpmc', exec: rdpmc });
  defineOp(0x1a2, { name: 'cpuid', exec: cpuidOp });
}
