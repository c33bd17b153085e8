/**
 * An application processor between its STARTUP IPI and protected mode, under a VMM that
 * deprivileges it (trap, bt, hw with shadow paging). It starts in real mode, which none of
 * them runs as a guest: trap and bt deprivilege protected-mode code only, and VT-x without the
 * unrestricted guest cannot enter real mode (KVM then emulates the "invalid guest state"
 * instruction by instruction; with EPT, hw has the unrestricted guest and runs it). So the VMM
 * emulates it: each real-mode instruction is carried out by the
 * VMM's emulator (the processor model itself, at ring 0 in real mode), charged and logged as
 * "emulate real mode", until one sets CR0.PE. The processor then stops into the VMM (a stop
 * like a VM exit), whose monitor for that processor takes the guest over as it is, as it took
 * the bootstrap processor over from the loader.
 */
import { StopReason, type Cpu } from '../cpu/cpu';
import type { Insn } from '../cpu/insn';
import type { Monitor } from '../cpu/monitor';
import { CR0_PE, CS } from '../cpu/registers';
import type { Qualifier, Reason } from './exitLog';
import type { Vmm } from './vmm';

const hex4 = (v: number): string => v.toString(16).padStart(4, '0');
const realModeInstruction: Qualifier = (cs, ip) => `real-mode instruction at ${hex4(cs)}:${hex4(ip)}`;

export class RealModeStartup implements Monitor {
  /** An instruction set CR0.PE: the processor's monitor is to take over. */
  ended = false;
  private readonly reason: Reason;

  constructor(private readonly vmm: Vmm) {
    this.reason = vmm.log.reason('emulate real mode', 'emulation', realModeInstruction);
  }

  /** Interrupts and exceptions in real mode go through the guest's IVT, as the emulator delivers them. */
  intercept(): boolean { return false; }

  translate(_cpu: Cpu, insn: Insn): void {
    const exec = insn.exec, vmm = this.vmm, reason = this.reason;
    const cost = vmm.costs.events.emulateInstruction.cycles;
    insn.exec = (cpu, i) => {
      const cs = cpu.segSel[CS], ip = cpu.eipStart;
      exec(cpu, i);
      vmm.event(reason, cost, cs, ip);
      if ((cpu.cr0 & CR0_PE) !== 0) {
        this.ended = true;
        cpu.requestStop(StopReason.VmExit);
        cpu.leaveBlock = true;
      }
    };
    vmm.accounting.chargeOnExecute(insn);
  }
}
