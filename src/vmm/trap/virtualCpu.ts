/**
 * The ring-0 state the deprivileged guest believes it has: control registers, descriptor-table
 * registers, IOPL and the SYSENTER MSRs. The processor holds the VMM's values instead (its
 * GDT, IDT, TSS, shadow page tables, IOPL 0); privileged instructions trap, and the VMM reads
 * and writes these. EFLAGS.IF is the one exception: the processor's IF carries the guest's
 * (the VMM needs no interrupts of its own), so an interrupt the guest has disabled waits in
 * the PIC until the guest enables interrupts again.
 */
import type { Cpu } from '../../cpu/cpu';
import type { GuestControl } from '../guestMemory';

export class VirtualCpu implements GuestControl {
  cr0 = 0;
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  gdtrBase = 0; gdtrLimit = 0;
  idtrBase = 0; idtrLimit = 0;
  ldtrSel = 0;
  trSel = 0; trBase = 0; trLimit = 0; trAR = 0;
  iopl = 0;
  sysenterCs = 0; sysenterEsp = 0; sysenterEip = 0;

  /** Takes over what the loader left in the processor. */
  constructor(cpu: Cpu) {
    this.cr0 = cpu.cr0; this.cr2 = cpu.cr2; this.cr3 = cpu.cr3; this.cr4 = cpu.cr4;
    this.gdtrBase = cpu.gdtrBase; this.gdtrLimit = cpu.gdtrLimit;
    this.idtrBase = cpu.idtrBase; this.idtrLimit = cpu.idtrLimit;
    this.ldtrSel = cpu.ldtrSel;
    this.trSel = cpu.trSel; this.trBase = cpu.trBase; this.trLimit = cpu.trLimit; this.trAR = cpu.trAR;
    this.iopl = (cpu.flags >> 12) & 3;
  }
}

/** The guest kernel's ring 0 runs in ring 1; user code stays in ring 3. */
export function virtualCpl(realCpl: number): number { return realCpl === 1 ? 0 : realCpl; }
export function realCpl(vcpl: number): number { return vcpl === 0 ? 1 : vcpl; }
