/**
 * I/O protection (SDM Vol. 1, 19.5): in protected mode, IN, OUT, INS and OUTS at CPL > IOPL
 * (and always in virtual-8086 mode) are allowed only if every port they touch has a clear
 * bit in the I/O permission bitmap of the current 32-bit TSS.
 */
import type { Cpu } from './cpu';
import { AR_UNUSABLE } from './cpu';
import { GP } from './exceptions';
import { FLAG_VM } from './registers';

/** Offset of the 16-bit I/O map base field in a 32-bit TSS (SDM Vol. 3A, figure 7-2). */
const TSS_IO_MAP_BASE = 0x66;
/** TSS descriptor types 9 (available) and 11 (busy): only a 32-bit TSS has an I/O bitmap. */
const TSS32_AVAILABLE = 0x9, TSS32_BUSY = 0xb;

/** The IOPL field of EFLAGS. */
export function iopl(cpu: Cpu): number { return (cpu.flags >> 12) & 3; }

/** #GP(0) unless the current privilege may access `size` bytes of ports from `port`. */
export function checkIoPermission(cpu: Cpu, port: number, size: number): void {
  if (!cpu.protectedMode) return;
  if (cpu.cpl <= iopl(cpu) && (cpu.flags & FLAG_VM) === 0) return;
  if (!bitmapAllows(cpu, port & 0xffff, size)) cpu.raiseWithCode(GP, 0);
}

/**
 * The bitmap check of SDM Vol. 1, 19.5.2: the processor reads the two bytes holding the
 * port's bits (an access may straddle a byte), and anything beyond the TSS limit counts as
 * set, so a TSS without a bitmap denies every port.
 */
function bitmapAllows(cpu: Cpu, port: number, size: number): boolean {
  const type = cpu.trAR & 0xf;
  if ((cpu.trAR & AR_UNUSABLE) !== 0 || (type !== TSS32_AVAILABLE && type !== TSS32_BUSY)) return false;
  if (TSS_IO_MAP_BASE + 1 > cpu.trLimit) return false;
  const mapBase = cpu.readSys16((cpu.trBase + TSS_IO_MAP_BASE) | 0);
  const at = mapBase + (port >>> 3);
  if (at + 1 > cpu.trLimit) return false;
  const bits = cpu.readSys16((cpu.trBase + at) | 0);
  const mask = ((1 << size) - 1) << (port & 7);
  return (bits & mask) === 0;
}
