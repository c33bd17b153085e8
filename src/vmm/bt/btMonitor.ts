/**
 * `bt`: binary translation in the manner of VMware's VMM (Adams and Agesen, ASPLOS 2006). The
 * guest is deprivileged exactly as under `trap` (ring 1, the VMM's GDT/IDT/TSS, IOPL 0, shadow
 * page tables), but each guest-kernel basic block is translated when the code cache decodes it:
 * - privileged instructions become callouts into the VMM, which emulates them (the emulators
 *   of trap/emulate) without a trap;
 * - the sensitive instructions that do not trap become callouts that give the guest ring 0's
 *   answer (sensitive.ts), so the holes of `trap` are closed;
 * - an instruction found writing a guest page table or the GDT (it took the protected-page
 *   write trap once) is translated again as a callout that carries such writes out with no
 *   trap (adaptive translation).
 * Translations live in the code cache: they are dropped when the guest writes the code, and a
 * mapping change finds the block by its new physical address. Translation is charged per
 * instruction. User code (ring 3) runs untranslated, as the hardware runs it.
 */
import type { Cpu } from '../../cpu/cpu';
import { CpuFault, PF } from '../../cpu/exceptions';
import type { Exec, Insn } from '../../cpu/insn';
import { translateDebug } from '../../cpu/paging';
import { CS } from '../../cpu/registers';
import { hex8, type Qualifier } from '../exitLog';
import { GuestFault, VmmStop } from '../guestMemory';
import { emulatorFor } from '../trap/emulate';
import type { Emulator } from '../trap/emulate/emulator';
import { pteWriteInCallout } from '../trap/events/pageFault';
import { TrapMonitor } from '../trap/trapMonitor';
import { sensitiveTranslation, type SensitiveTranslation } from './sensitive';

const translated: Qualifier = (lin, count, callouts) =>
  `block at ${hex8(lin)}: ${count} instruction${count === 1 ? '' : 's'}, ${callouts} callout${callouts === 1 ? '' : 's'}`;

export class BtMonitor extends TrapMonitor {
  /** Linear addresses of guest-kernel instructions known to write guest page tables or the GDT. */
  private readonly protectedPageWriters = new Set<number>();
  private blockCallouts = 0;
  private readonly q = new Float64Array(4);

  override translate(cpu: Cpu, insn: Insn, eip: number): void {
    if (cpu.cpl !== 1) {
      super.translate(cpu, insn, eip);
      return;
    }
    const emulator = emulatorFor(insn);
    const sensitive = emulator === undefined ? sensitiveTranslation(insn) : undefined;
    const callout = emulator !== undefined ? this.privilegedCallout(emulator, insn)
      : sensitive !== undefined ? this.sensitiveCallout(sensitive, insn.exec)
        : this.protectedPageWriters.has((cpu.segBase[CS] + eip) | 0) ? this.protectedPageWriterCallout(insn.exec) : undefined;
    if (callout !== undefined) {
      insn.exec = callout;
      this.blockCallouts++;
    }
    this.vmm.accounting.chargeOnExecute(insn);
  }

  blockDecoded(cpu: Cpu, eip: number, count: number): void {
    if (cpu.cpl !== 1) return;
    const callouts = this.blockCallouts;
    this.blockCallouts = 0;
    this.vmm.event(this.reason('bt translate', 'translation', translated),
      count * this.vmm.costs.events.translatePerInstruction.cycles, (cpu.segBase[CS] + eip) >>> 0, count, callouts);
  }

  /** Adaptive translation: the instruction at EIP took a protected-page write trap; translate it again as a callout. */
  override protectedPageWritten(): void {
    const cpu = this.cpu;
    if (cpu.cpl !== 1) return;
    const lin = (cpu.segBase[CS] + cpu.eipStart) | 0;
    if (this.protectedPageWriters.has(lin)) return;
    this.protectedPageWriters.add(lin);
    const phys = translateDebug(cpu, lin);
    if (phys >= 0) cpu.code.invalidatePage(phys >>> 12);
  }

  override prepareForEmulation(insn: Insn): void {
    const s = this.cpu.cpl === 1 ? sensitiveTranslation(insn) : undefined;
    if (s === undefined) super.prepareForEmulation(insn);
    else insn.exec = this.sensitiveCallout(s, insn.exec);
  }

  /**
   * A privileged instruction: the VMM emulates it as ring 0 would. One the guest's ring may not
   * execute after all (a RETF to user code) runs as the processor runs it.
   */
  private privilegedCallout(emulator: Emulator, insn: Insn): Exec {
    const q = this.q, exec = insn.exec;
    // The reason and cost are the translated instruction's: decided once, not per execution.
    const reason = this.reason(`bt callout ${emulator.name(insn)}`, 'privileged instruction', emulator.qualify);
    const cost = this.vmm.costs.events.callout.cycles + this.vmm.costs.events.emulateInstruction.cycles;
    return (cpu, i) => {
      if (!emulator.allowed(this, i)) {
        exec(cpu, i);
        return;
      }
      q.fill(0);
      try {
        emulator.run(this, i, q);
      } catch (f) {
        this.calloutFailed(f);
      }
      cpu.leaveBlock = true;
      this.vmm.event(reason, cost, q[0], q[1], q[2], q[3]);
    };
  }

  /** A sensitive instruction: it runs, and the VMM corrects what the guest sees. */
  private sensitiveCallout(s: SensitiveTranslation, exec: Exec): Exec {
    const q = this.q;
    const wrapped = s.wrap(this, exec, q);
    const reason = this.reason(`bt callout ${s.name}`, 'privileged instruction', s.qualify);
    const cost = this.vmm.costs.events.callout.cycles;
    return (cpu, i) => {
      q.fill(0);
      try {
        wrapped(cpu, i);
      } catch (f) {
        this.calloutFailed(f);
      }
      cpu.leaveBlock = true;
      this.vmm.event(reason, cost, q[0], q[1], q[2], q[3]);
    };
  }

  /** A known writer of protected pages: a write that hits one is done in the callout, with no trap. */
  private protectedPageWriterCallout(exec: Exec): Exec {
    return (cpu, i) => {
      try {
        exec(cpu, i);
      } catch (e) {
        if (!(e instanceof CpuFault) || e.vector !== PF || !pteWriteInCallout(this, cpu.cr2, e.errorCode)) throw e;
      }
    };
  }

  /**
   * What a callout's work threw: a fault it found is the guest's, raised as the instruction's
   * own fault (so the instruction does not retire); a VMM stop ends the run.
   */
  private calloutFailed(f: unknown): void {
    if (f instanceof GuestFault) this.raiseForGuest(f);
    if (!(f instanceof VmmStop)) throw f;
    this.vmm.stop(f.message);
  }
}
