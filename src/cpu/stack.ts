/** Stack pushes and pops through SS, with ESP or SP by SS.B (SDM Vol. 1, 6.2.3). */
import type { Cpu } from './cpu';
import { ESP, SS } from './registers';

function spMinus(cpu: Cpu, n: number): number {
  return cpu.stack32 ? (cpu.regs[ESP] - n) | 0 : (cpu.regs[ESP] - n) & 0xffff;
}

function setSp(cpu: Cpu, v: number): void {
  if (cpu.stack32) cpu.regs[ESP] = v;
  else cpu.regs[ESP] = (cpu.regs[ESP] & ~0xffff) | (v & 0xffff);
}

export function stackTop(cpu: Cpu): number {
  return cpu.stack32 ? cpu.regs[ESP] : cpu.regs[ESP] & 0xffff;
}

export function push32(cpu: Cpu, v: number): void {
  const sp = spMinus(cpu, 4);
  cpu.write32(SS, sp, v);
  setSp(cpu, sp);
}

export function push16(cpu: Cpu, v: number): void {
  const sp = spMinus(cpu, 2);
  cpu.write16(SS, sp, v);
  setSp(cpu, sp);
}

export function pop32(cpu: Cpu): number {
  const sp = stackTop(cpu);
  const v = cpu.read32(SS, sp);
  setSp(cpu, sp + 4);
  return v;
}

export function pop16(cpu: Cpu): number {
  const sp = stackTop(cpu);
  const v = cpu.read16(SS, sp);
  setSp(cpu, sp + 2);
  return v;
}

/** Reads the stack `offset` bytes above the top without popping (for instructions that must not commit before checks). */
export function peek32(cpu: Cpu, offset: number): number {
  const sp = stackTop(cpu) + offset;
  return cpu.read32(SS, cpu.stack32 ? sp | 0 : sp & 0xffff);
}

export function peek16(cpu: Cpu, offset: number): number {
  const sp = stackTop(cpu) + offset;
  return cpu.read16(SS, cpu.stack32 ? sp | 0 : sp & 0xffff);
}

export function adjustSp(cpu: Cpu, n: number): void {
  setSp(cpu, stackTop(cpu) + n);
}

export function pushOp(cpu: Cpu, o32: boolean, v: number): void {
  if (o32) push32(cpu, v); else push16(cpu, v);
}

export function popOp(cpu: Cpu, o32: boolean): number {
  return o32 ? pop32(cpu) : pop16(cpu);
}
