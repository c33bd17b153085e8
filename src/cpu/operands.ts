/**
 * Operand access for instruction handlers: effective addresses, 8/16-bit register views,
 * and r/m operands that are either a register or memory.
 */
import type { Cpu } from './cpu';
import type { Insn } from './insn';

/** Effective address (offset within the segment) of a memory operand. */
export function ea(cpu: Cpu, i: Insn): number {
  const r = cpu.regs;
  let a = i.disp;
  if (i.base >= 0) a += r[i.base];
  if (i.index >= 0) a += r[i.index] << i.scale;
  return i.a32 ? a | 0 : a & 0xffff;
}

/** 8-bit registers: AL CL DL BL are the low bytes of EAX..EBX, AH CH DH BH their second bytes. */
export function getReg8(cpu: Cpu, r: number): number {
  return r < 4 ? cpu.regs[r] & 0xff : (cpu.regs[r - 4] >> 8) & 0xff;
}
export function setReg8(cpu: Cpu, r: number, v: number): void {
  if (r < 4) cpu.regs[r] = (cpu.regs[r] & ~0xff) | (v & 0xff);
  else cpu.regs[r - 4] = (cpu.regs[r - 4] & ~0xff00) | ((v & 0xff) << 8);
}
export function getReg16(cpu: Cpu, r: number): number { return cpu.regs[r] & 0xffff; }
export function setReg16(cpu: Cpu, r: number, v: number): void {
  cpu.regs[r] = (cpu.regs[r] & ~0xffff) | (v & 0xffff);
}

export function readRm8(cpu: Cpu, i: Insn): number {
  return i.mem ? cpu.read8(i.seg, ea(cpu, i)) : getReg8(cpu, i.rm);
}
export function readRm16(cpu: Cpu, i: Insn): number {
  return i.mem ? cpu.read16(i.seg, ea(cpu, i)) : cpu.regs[i.rm] & 0xffff;
}
export function readRm32(cpu: Cpu, i: Insn): number {
  return i.mem ? cpu.read32(i.seg, ea(cpu, i)) : cpu.regs[i.rm];
}
export function writeRm8(cpu: Cpu, i: Insn, v: number): void {
  if (i.mem) cpu.write8(i.seg, ea(cpu, i), v); else setReg8(cpu, i.rm, v);
}
export function writeRm16(cpu: Cpu, i: Insn, v: number): void {
  if (i.mem) cpu.write16(i.seg, ea(cpu, i), v); else setReg16(cpu, i.rm, v);
}
export function writeRm32(cpu: Cpu, i: Insn, v: number): void {
  if (i.mem) cpu.write32(i.seg, ea(cpu, i), v); else cpu.regs[i.rm] = v;
}

/**
 * Read-modify-write r/m operands: `rmwRead*` checks that the write will be allowed before
 * anything changes, `rmwWrite*` stores to the same place.
 */
export function rmwRead8(cpu: Cpu, i: Insn): number {
  return i.mem ? cpu.rmwRead8(i.seg, ea(cpu, i)) : getReg8(cpu, i.rm);
}
export function rmwRead16(cpu: Cpu, i: Insn): number {
  return i.mem ? cpu.rmwRead16(i.seg, ea(cpu, i)) : cpu.regs[i.rm] & 0xffff;
}
export function rmwRead32(cpu: Cpu, i: Insn): number {
  return i.mem ? cpu.rmwRead32(i.seg, ea(cpu, i)) : cpu.regs[i.rm];
}
export function rmwWrite8(cpu: Cpu, i: Insn, v: number): void {
  if (i.mem) cpu.rmwWrite8(v); else setReg8(cpu, i.rm, v);
}
export function rmwWrite16(cpu: Cpu, i: Insn, v: number): void {
  if (i.mem) cpu.rmwWrite16(v); else setReg16(cpu, i.rm, v);
}
export function rmwWrite32(cpu: Cpu, i: Insn, v: number): void {
  if (i.mem) cpu.rmwWrite32(v); else cpu.regs[i.rm] = v;
}
