/**
 * How the PC's interrupt controllers reach the processor. Each ISA IRQ line drives an 8259
 * input and an I/O APIC pin, as in QEMU (hw/i386/x86.c gsi_handler). The 8259 pair's INTR goes
 * through the IMCR to the local APIC's LINT0, or past the APIC in PIC mode. The processor's
 * INTR pin is then the local APIC's output: its own fixed interrupts by priority, and the
 * 8259's ExtINT, which bypasses priority and is taken first, as QEMU's cpu_get_pic_interrupt
 * does.
 */
import type { Imcr } from './imcr';
import type { IoApic } from './ioApic';
import type { LocalApic } from './localApic';
import type { Pic8259 } from './pic8259';

export class PcInterrupts {
  constructor(
    private readonly pic: Pic8259,
    private readonly ioApic: IoApic,
    private readonly lapic: LocalApic,
    private readonly imcr: Imcr,
  ) {}

  /** Drives ISA IRQ line `irq` (0-15). */
  isaIrq(irq: number, level: boolean): void {
    this.pic.setIrq(irq, level);
    this.ioApic.setIsaIrq(irq, level);
  }

  /** The 8259's INTR, if it reaches the processor. */
  private picRequest(): boolean {
    return this.pic.intrPending() && (!this.imcr.intrToApic || this.lapic.passesExtInt());
  }

  /** The processor's INTR pin. */
  pending(): boolean {
    return this.picRequest() || this.lapic.hasInterrupt();
  }

  /** The INTA cycle: the vector of the interrupt the processor takes. */
  acknowledge(): number {
    if (this.picRequest()) return this.pic.acknowledge();
    if (this.lapic.hasInterrupt()) return this.lapic.acknowledge();
    // Nothing asks any more: the 8259 answers with its spurious vector (IR7).
    return this.pic.acknowledge();
  }
}
