/**
 * x87 memory operands wider than four bytes (m64, m80, the environment and save areas): the
 * whole operand is checked against the segment limit, and a store's pages are probed before
 * its first byte is written, so a fault leaves memory and the FPU as they were.
 */
import type { Cpu } from '../cpu';
import type { F80 } from './float80';

/** Linear address of an operand of `size` bytes at seg:off to read. */
export function readAddress(cpu: Cpu, seg: number, off: number, size: number): number {
  return cpu.linRead(seg, off, size);
}

/** Linear address of an operand of `size` bytes (at most a page) at seg:off to write; it will not fault. */
export function writeAddress(cpu: Cpu, seg: number, off: number, size: number): number {
  const lin = cpu.linWrite(seg, off, size);
  cpu.probeWrite(lin, size);
  return lin;
}

/** An 80-bit value at linear `lin` (significand low dword first, sign and exponent last). */
export function readF80(cpu: Cpu, lin: number, out: F80): F80 {
  const lo = cpu.readLin32(lin);
  const hi = cpu.readLin32((lin + 4) | 0);
  return out.set(cpu.readLin16((lin + 8) | 0), hi, lo);
}

export function writeF80(cpu: Cpu, lin: number, v: F80): void {
  cpu.writeLin32(lin, v.lo);
  cpu.writeLin32((lin + 4) | 0, v.hi);
  cpu.writeLin16((lin + 8) | 0, v.se);
}
