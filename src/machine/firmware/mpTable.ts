/**
 * The MultiProcessor Specification 1.4 tables (chapter 4) as SeaBIOS 1.16 builds them for
 * QEMU 7.2's i386 PC (src/fw/mptable.c), byte for byte: a floating pointer (16 bytes,
 * "_MP_", no IMCR: virtual wire mode) and a configuration table ("PCMP", OEM "BOCHSCPU",
 * product "0.1") listing, in order,
 *  - one processor entry per CPU (APIC ID = index, enabled, BSP for 0, with the CPUID.01H
 *    signature and EDX features SeaBIOS read);
 *  - bus 0 PCI and bus 1 ISA;
 *  - the I/O APIC (ID 0, version 0x11 as SeaBIOS writes it, at 0xFEC00000);
 *  - interrupt assignments: PCI device 1 INTA# (the PIIX4 power management function) to
 *    INTIN 9, then ISA IRQs 0-15 to the same INTIN except IRQ 0 to INTIN 2 (the override),
 *    IRQ 2 (covered by it) and IRQs 5, 9, 10 and 11, which SeaBIOS keeps for PCI;
 *  - local interrupts: ExtINT from ISA IRQ 0 to LINT0 of APIC 0, NMI to LINT1 of every APIC.
 * vtscope's machine has no PCI devices, but the PCI bus and entry are kept so that the table,
 * its length and checksum are QEMU's. Both structures sit where SeaBIOS allocates them in the
 * BIOS area under QEMU 7.2 (0xF5BA0 and 0xF5BB0).
 */

export const MP_FLOATING_POINTER_ADDRESS = 0xf5ba0;
export const MP_CONFIG_TABLE_ADDRESS = 0xf5bb0;

export interface MpProcessor {
  /** CPUID.01H:EAX. */
  signature: number;
  /** CPUID.01H:EDX. */
  features: number;
}

export interface MpTableOptions {
  processors: readonly MpProcessor[];
  /** Bits 7:0 of the local APIC version register. */
  localApicVersion: number;
  localApicAddress: number;
  ioApicAddress: number;
}

const ENTRY_PROCESSOR = 0, ENTRY_BUS = 1, ENTRY_IOAPIC = 2, ENTRY_INTERRUPT = 3, ENTRY_LOCAL_INTERRUPT = 4;
const INT = 0, NMI = 1, EXTINT = 3;
const CPU_ENABLED = 1, CPU_BSP = 2;
const PCI_BUS = 0, ISA_BUS = 1;
const IOAPIC_ID = 0;
/** The version SeaBIOS writes in the table (the I/O APIC itself reports 0x20). */
const IOAPIC_TABLE_VERSION = 0x11;
/** ISA IRQs SeaBIOS leaves out (BUILD_PCIIRQ_MASK): kept for PCI interrupt links. */
const PCI_IRQ_MASK = 0x0e20;
/** Polarity "active high" for the PCI device's line, as SeaBIOS writes it. */
const POLARITY_HIGH = 1;
const HEADER_SIZE = 44;

/** The byte that makes the 8-bit sum of `bytes` zero. */
function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (const b of bytes) sum += b;
  return (256 - (sum & 0xff)) & 0xff;
}

class Writer {
  private readonly bytes: number[] = [];
  u8(v: number): this { this.bytes.push(v & 0xff); return this; }
  u16(v: number): this { return this.u8(v).u8(v >>> 8); }
  u32(v: number): this { return this.u16(v & 0xffff).u16(v >>> 16); }
  text(s: string, length: number): this {
    for (let k = 0; k < length; k++) this.u8(k < s.length ? s.charCodeAt(k) : 0x20);
    return this;
  }
  get length(): number { return this.bytes.length; }
  done(): Uint8Array { return Uint8Array.from(this.bytes); }
}

function interruptEntry(w: Writer, type: number, kind: number, flags: number, bus: number, busIrq: number, apic: number, pin: number): void {
  w.u8(type).u8(kind).u16(flags).u8(bus).u8(busIrq).u8(apic).u8(pin);
}

/** The floating pointer and configuration table, to be placed at the addresses above. */
export function buildMpTables(opts: MpTableOptions): { floatingPointer: Uint8Array; configTable: Uint8Array } {
  const entries = new Writer();
  let count = 0;
  opts.processors.forEach((p, id) => {
    entries.u8(ENTRY_PROCESSOR).u8(id).u8(opts.localApicVersion).u8(CPU_ENABLED | (id === 0 ? CPU_BSP : 0))
      .u32(p.signature).u32(p.features).u32(0).u32(0);
    count++;
  });
  entries.u8(ENTRY_BUS).u8(PCI_BUS).text('PCI', 6);
  entries.u8(ENTRY_BUS).u8(ISA_BUS).text('ISA', 6);
  entries.u8(ENTRY_IOAPIC).u8(IOAPIC_ID).u8(IOAPIC_TABLE_VERSION).u8(1).u32(opts.ioApicAddress);
  count += 3;
  // PCI bus IRQ field: device number << 2 | pin (0 = INTA#).
  interruptEntry(entries, ENTRY_INTERRUPT, INT, POLARITY_HIGH, PCI_BUS, (1 << 2) | 0, IOAPIC_ID, 9);
  count++;
  for (let irq = 0; irq < 16; irq++) {
    if ((PCI_IRQ_MASK & (1 << irq)) !== 0 || irq === 2) continue;
    interruptEntry(entries, ENTRY_INTERRUPT, INT, 0, ISA_BUS, irq, IOAPIC_ID, irq === 0 ? 2 : irq);
    count++;
  }
  interruptEntry(entries, ENTRY_LOCAL_INTERRUPT, EXTINT, 0, ISA_BUS, 0, 0, 0);
  interruptEntry(entries, ENTRY_LOCAL_INTERRUPT, NMI, 0, ISA_BUS, 0, 0xff, 1);
  count += 2;

  const body = entries.done();
  const header = new Writer()
    .text('PCMP', 4).u16(HEADER_SIZE + body.length).u8(4).u8(0)
    .text('BOCHSCPU', 8).text('0.1', 12)
    .u32(0).u16(0).u16(count).u32(opts.localApicAddress)
    .u16(0).u8(0).u8(0)
    .done();
  const configTable = new Uint8Array(HEADER_SIZE + body.length);
  configTable.set(header);
  configTable.set(body, HEADER_SIZE);
  configTable[7] = checksum(configTable);

  const floatingPointer = new Writer()
    .text('_MP_', 4).u32(MP_CONFIG_TABLE_ADDRESS).u8(1).u8(4).u8(0)
    .u8(0).u8(0).u8(0).u8(0).u8(0)
    .done();
  floatingPointer[10] = checksum(floatingPointer);
  return { floatingPointer, configTable };
}
