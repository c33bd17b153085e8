/**
 * Getting interrupts and exceptions into the guest the way KVM does (vmx_complete_interrupts,
 * inject_pending_event, enable_irq_window): through the VM-entry interruption-information
 * field, when the guest can take them, and with interrupt-window exiting when it cannot yet.
 *
 * The machine's 8259A pair is the guest's interrupt controller, emulated by the VMM: the
 * guest programs it through I/O exits, and its requests reach the guest only as injected
 * events. While the guest runs, a new request makes an external-interrupt exit (the pin-based
 * control), as a host interrupt does under KVM. A request the guest cannot take yet is the
 * VMM's to remember: it asks for an interrupt-window exit and turns external-interrupt exiting
 * off until then, so the same request does not exit again and again while the guest has
 * interrupts disabled (under KVM the host has handled its interrupt by then; what waits is
 * the virtual one).
 */
import type { Machine } from '../../machine/machine';
import { INTR_VALID, intrType, InterruptionType, VMCS } from '../../cpu/vmx/index';
import type { Vcpu } from './vcpu';

/** The interruption-information bits VM entry accepts: vector, type, error-code valid and valid (30:12 are reserved). */
const ENTRY_INFO_BITS = (INTR_VALID | 0xfff) | 0;

export class EventInjection {
  /** An interrupt taken from the PIC whose delivery a VM exit cut short, or -1. */
  private requeued = -1;
  /** An exception or software interrupt whose delivery a VM exit cut short (IDT-vectoring information), or 0. */
  private redeliverInfo = 0;
  private redeliverError = 0;
  private redeliverLength = 0;

  /** After a VM exit: the event the exit interrupted is to be delivered again. */
  noteVectoring(vcpu: Vcpu): void {
    const info = vcpu.read(VMCS.IDT_VECTORING_INFO);
    if ((info & INTR_VALID) === 0) return;
    if (intrType(info) === InterruptionType.External) {
      this.requeued = info & 0xff;
      return;
    }
    this.redeliverInfo = info & ENTRY_INFO_BITS;
    this.redeliverError = vcpu.read(VMCS.IDT_VECTORING_ERRCODE);
    this.redeliverLength = vcpu.read(VMCS.EXIT_INSTR_LEN);
  }

  /** An interrupt is waiting for the guest. */
  pending(machine: Machine): boolean { return this.requeued >= 0 || machine.intrPending(); }

  /**
   * Injects the waiting interrupt on the next entry if the guest can take it: the one cut
   * short first, else the PIC's (its INTA cycle). Returns the vector, or -1.
   */
  injectInterrupt(vcpu: Vcpu, machine: Machine): number {
    if (!this.pending(machine) || !vcpu.interruptible) return -1;
    let vector = this.requeued;
    if (vector >= 0) this.requeued = -1; else vector = machine.intrAcknowledge();
    vcpu.injectInterrupt(vector);
    return vector;
  }

  /**
   * Before a VM entry: the event a VM exit interrupted goes in again, unless the exit's
   * handler injected an exception in its place (the instruction then restarts and raises
   * its event anew); then a waiting interrupt. Returns whether an interrupt is still waiting,
   * so the entry must ask for an interrupt window.
   */
  beforeEntry(vcpu: Vcpu, machine: Machine): boolean {
    if (this.redeliverInfo !== 0) {
      if (!vcpu.injecting) {
        vcpu.write(VMCS.ENTRY_INTR_INFO, this.redeliverInfo);
        vcpu.write(VMCS.ENTRY_EXCEPTION_ERRCODE, this.redeliverError);
        vcpu.write(VMCS.ENTRY_INSTR_LEN, this.redeliverLength);
      }
      this.redeliverInfo = 0;
    }
    this.injectInterrupt(vcpu, machine);
    return this.pending(machine);
  }

  /** A new guest: nothing is waiting. */
  reset(): void {
    this.requeued = -1;
    this.redeliverInfo = 0;
  }
}
