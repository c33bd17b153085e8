/**
 * Test helpers beyond harness.ts for the data movement, stack, control, string, flag and I/O
 * instruction tests: running at CPL 1 or 3 with IOPL set, a 32-bit TSS (ring-0 stack and an
 * I/O permission bitmap), reading the frame an exception handler received, an interrupt
 * line that rises at a given instruction count, and assembling a snippet at CODE_BASE.
 */
import { AR_DB, AR_G, type Cpu } from '../../src/cpu/cpu';
import { CS, DS, ES, ESP, FLAG_IOPL, FS, GS, SS } from '../../src/cpu/registers';
import { nasm } from '../support/nasm';
import { CODE_BASE, GDT_BASE, RamBus } from './harness';

export const TSS_BASE = 0x3000;
/** ESP0 in the TSS: where an exception from an outer ring builds its frame. */
export const RING0_STACK = 0x8000;
/** The I/O map base the helper writes: the bitmap follows the 104-byte TSS. */
export const IO_MAP_BASE = 0x68;

/** nasm `bits 32` source at CODE_BASE, so labels are absolute addresses. */
export function asm(source: string): Uint8Array {
  return nasm(`bits 32\norg ${CODE_BASE}\n${source}\n`);
}

/**
 * Writes a 32-bit TSS with SS0:ESP0 = 0x10:RING0_STACK and loads TR with it (busy). With
 * `ioBitmap`, the bitmap (plus the 0xFF byte the SDM asks for after it) lies within the
 * limit; without, the limit is 0x67 and every port check against the bitmap fails.
 */
export function installTss(cpu: Cpu, ioBitmap?: Uint8Array): void {
  cpu.writePhys32(TSS_BASE + 4, RING0_STACK);
  cpu.writePhys32(TSS_BASE + 8, 0x10);
  cpu.writePhys(TSS_BASE + 0x66, 2, IO_MAP_BASE);
  let limit = 0x67;
  if (ioBitmap !== undefined) {
    cpu.ram.set(ioBitmap, TSS_BASE + IO_MAP_BASE);
    cpu.ram[TSS_BASE + IO_MAP_BASE + ioBitmap.length] = 0xff;
    limit = IO_MAP_BASE + ioBitmap.length;
  }
  cpu.trSel = 0x38; cpu.trBase = TSS_BASE; cpu.trLimit = limit; cpu.trAR = 0x8b;
}

/** An I/O bitmap covering ports 0-0x3ff with only the listed ports allowed (clear bits). */
export function bitmapAllowing(...ports: number[]): Uint8Array {
  const map = new Uint8Array(0x400 / 8).fill(0xff);
  for (const p of ports) map[p >> 3] &= ~(1 << (p & 7));
  return map;
}

/**
 * Puts the CPU at `cpl` with flat code and data segments of that DPL (selectors 0x1B/0x23
 * from the harness GDT for ring 3; ring 1 gets 0x29/0x31, added here), IOPL `iopl`, and a
 * TSS so exceptions can switch to the ring-0 stack.
 */
export function enterCpl(cpu: Cpu, cpl: number, iopl = 0, ioBitmap?: Uint8Array): void {
  // Ring-1 flat code and data at GDT indexes 5 and 6.
  cpu.writePhys32(GDT_BASE + 0x28, 0x0000ffff); cpu.writePhys32(GDT_BASE + 0x2c, 0x00cfba00);
  cpu.writePhys32(GDT_BASE + 0x30, 0x0000ffff); cpu.writePhys32(GDT_BASE + 0x34, 0x00cfb200);
  cpu.gdtrLimit = 8 * 8 - 1;
  installTss(cpu, ioBitmap);
  const codeSel = cpl === 3 ? 0x1b : cpl === 1 ? 0x29 : 0x08;
  const dataSel = cpl === 3 ? 0x23 : cpl === 1 ? 0x31 : 0x10;
  const dpl = cpl << 5;
  cpu.setSegmentCache(CS, codeSel, 0, 0xffff_ffff, 0x9b | dpl | AR_DB | AR_G);
  for (const s of [ES, SS, DS, FS, GS]) cpu.setSegmentCache(s, dataSel, 0, 0xffff_ffff, 0x93 | dpl | AR_DB | AR_G);
  cpu.setCpl(cpl);
  cpu.flags = (cpu.flags & ~FLAG_IOPL) | (iopl << 12);
}

/** The frame of an exception with an error code, as the handler sees it at ESP. */
export function errorFrame(cpu: Cpu): { code: number; eip: number } {
  const sp = cpu.regs[ESP];
  return { code: cpu.readPhys32(sp), eip: cpu.readPhys32(sp + 4) >>> 0 };
}

/** The return EIP of an exception or interrupt without an error code. */
export function returnEip(cpu: Cpu): number {
  return cpu.readPhys32(cpu.regs[ESP]) >>> 0;
}

/** A bus whose INTR line rises once `icount` reaches `at`, delivering vector 31 once. */
export class PendingAfter extends RamBus {
  cpu: Cpu | undefined;
  constructor(private at: number) { super(); }
  override intrPending(): boolean { return this.cpu !== undefined && this.cpu.icount >= this.at; }
  override intrAcknowledge(): number { this.at = Infinity; return 31; }
}
