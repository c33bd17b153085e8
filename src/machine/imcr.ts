/**
 * The interrupt mode configuration register (IMCR) of the MultiProcessor Specification 1.4,
 * section 3.6.2.1: write 0x70 to port 0x22 to select it, then port 0x23 holds it. Bit 0 = 1
 * routes the 8259's INTR to the local APIC (LINT0), where the LVT decides what becomes of it;
 * bit 0 = 0 is PIC mode, the INTR going to the processor past the APIC.
 *
 * QEMU 7.2 has no IMCR (ports 0x22 and 0x23 read 0xFF there) and always routes INTR to LINT0;
 * the MP table says so (IMCRP clear: virtual wire mode). This register therefore starts with
 * bit 0 set, so a guest that leaves it alone sees QEMU's routing. Port 0x22 is write-only
 * (reads 0xFF, like a port nobody decodes), as is port 0x23 unless 0x70 is selected.
 */
import type { AccessSize } from '../cpu/bus';
import type { PortRange } from './ioBus';

const IMCR_SELECT = 0x70;

export class Imcr {
  private selected = 0;
  private value = 1;
  readonly ports: readonly PortRange[];

  constructor() {
    this.ports = [
      { first: 0x22, count: 1, handler: { read: () => 0xff, write: (_p: number, _s: AccessSize, v: number) => { this.selected = v & 0xff; } } },
      {
        first: 0x23, count: 1,
        handler: {
          read: () => (this.selected === IMCR_SELECT ? this.value : 0xff),
          write: (_p: number, _s: AccessSize, v: number) => { if (this.selected === IMCR_SELECT) this.value = v & 1; },
        },
      },
    ];
  }

  /** The 8259's INTR goes to the local APIC's LINT0 (else straight to the processor). */
  get intrToApic(): boolean { return this.value !== 0; }

  saveState(): { selected: number; value: number } { return { selected: this.selected, value: this.value }; }

  loadState(state: { selected: number; value: number }): void { Object.assign(this, state); }
}
