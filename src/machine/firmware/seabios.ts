/**
 * What SeaBIOS leaves in memory for a kernel that QEMU 7.2 boots: the BIOS data area and EBDA
 * in RAM, and the MP tables in the BIOS area (made read-only by biosRom.ts). The device state
 * SeaBIOS leaves (8259s, PIT, local APIC) is set up by the machine itself.
 */
import { writeBiosDataArea } from './biosDataArea';
import { buildMpTables, MP_CONFIG_TABLE_ADDRESS, MP_FLOATING_POINTER_ADDRESS, type MpTableOptions } from './mpTable';

export interface FirmwareTablesOptions extends MpTableOptions {
  /** RTC time at boot, seconds since 1970. */
  rtcSeconds: number;
}

/** Writes the tables into the machine's RAM array (which backs the BIOS area too). */
export function writeFirmwareTables(ram: Uint8Array, opts: FirmwareTablesOptions): void {
  writeBiosDataArea(ram, opts.rtcSeconds);
  const { floatingPointer, configTable } = buildMpTables(opts);
  ram.set(floatingPointer, MP_FLOATING_POINTER_ADDRESS);
  ram.set(configTable, MP_CONFIG_TABLE_ADDRESS);
}
