/**
 * Shifts and rotates (SDM Vol. 2, "RCL/RCR/ROL/ROR", "SAL/SAR/SHL/SHR", "SHLD", "SHRD"):
 * group 2 (C0 C1 D0 D1 D2 D3) and the double-precision shifts. The count is masked to 5 bits;
 * a masked count of 0 changes neither the operand nor a flag. Flags are set eagerly.
 *
 * Where the SDM leaves a flag undefined this does what QEMU does, so that lockstep runs
 * against qemu-system-i386 agree: OF for counts other than 1 extends the count-1 rule (SHL,
 * SHLD, ROL: MSB(result) XOR CF; SHR, SAR, SHRD: the last 1-bit step's sign change; ROR:
 * the top two bits of the result; RCL, RCR: MSB(result) XOR MSB(operand)), and AF is cleared.
 */
import type { Cpu } from '../cpu';
import { getCF, parityFlag, setArithFlags, setFlagBits } from '../flags';
import { Imm, type Insn } from '../insn';
import { defineGroup, defineOp } from '../opcodeTable';
import { ea, getReg8, setReg16, setReg8 } from '../operands';
import { ECX, FLAG_CF, FLAG_OF, FLAG_SF, FLAG_ZF } from '../registers';
import { rejectLock } from './lock';

/** Group 2 operations by ModR/M.reg; /6 is SAL, the same operation as SHL. */
const enum Sh { Rol, Ror, Rcl, Rcr, Shl, Shr, Sal, Sar }
const NAMES = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'];

const CF_OF = FLAG_CF | FLAG_OF;

/** SF, ZF and PF of a `size`-bit result. */
function szp(r: number, size: number): number {
  const m = size === 32 ? -1 : (1 << size) - 1;
  return ((r & m) === 0 ? FLAG_ZF : 0) | ((r >>> (size - 1)) & 1 ? FLAG_SF : 0) | parityFlag(r);
}

/**
 * `v` (the low `size` bits of the operand, zero-extended) shifted by the masked count `c`
 * (1-31) with group-2 operation `op`; sets the flags and returns the result.
 */
function shift(cpu: Cpu, op: number, v: number, c: number, size: number): number {
  const top = size - 1;
  let r: number, cf: number;
  switch (op) {
    case Sh.Rol: {
      const n = c & top;
      r = n === 0 ? v : (v << n) | (v >>> (size - n));
      cf = r & 1;
      setFlagBits(cpu, CF_OF, cf | (((r >>> top) ^ cf) & 1 ? FLAG_OF : 0));
      return r;
    }
    case Sh.Ror: {
      const n = c & top;
      r = n === 0 ? v : (v >>> n) | (v << (size - n));
      cf = (r >>> top) & 1;
      setFlagBits(cpu, CF_OF, cf | ((cf ^ (r >>> (top - 1))) & 1 ? FLAG_OF : 0));
      return r;
    }
    case Sh.Rcl: {
      // Through CF: a rotate of the (size + 1)-bit value CF:v, count mod 9, 17 or 33.
      // A count that is a multiple of 9 or 17 moves nothing, and (as in QEMU) sets no flag.
      const n = size === 32 ? c : c % (size + 1);
      if (n === 0) return v;
      const cin = getCF(cpu);
      r = (v << n) | (cin << (n - 1)) | (n > 1 ? v >>> (size + 1 - n) : 0);
      cf = (v >>> (size - n)) & 1;
      setFlagBits(cpu, CF_OF, cf | (((r ^ v) >>> top) & 1 ? FLAG_OF : 0));
      return r;
    }
    case Sh.Rcr: {
      const n = size === 32 ? c : c % (size + 1);
      if (n === 0) return v;
      const cin = getCF(cpu);
      r = (v >>> n) | (cin << (size - n)) | (n > 1 ? v << (size + 1 - n) : 0);
      cf = (v >>> (n - 1)) & 1;
      setFlagBits(cpu, CF_OF, cf | (((r ^ v) >>> top) & 1 ? FLAG_OF : 0));
      return r;
    }
    case Sh.Shr: {
      // OF = MSB(DEST) for a count of 1; 0 otherwise.
      const t = v >>> (c - 1);
      r = t >>> 1;
      setArithFlags(cpu, (t & 1) | szp(r, size) | (((t ^ r) >>> top) & 1 ? FLAG_OF : 0));
      return r;
    }
    case Sh.Sar: {
      const sv = (v << (32 - size)) >> (32 - size);
      r = sv >> c;
      cf = (sv >> (c - 1)) & 1;
      setArithFlags(cpu, cf | szp(r, size));
      return r;
    }
    default: { // SHL, SAL
      r = v << c;
      cf = ((v << (c - 1)) >>> top) & 1;
      setArithFlags(cpu, cf | szp(r, size) | (((r >>> top) ^ cf) & 1 ? FLAG_OF : 0));
      return r;
    }
  }
}

/** A memory operand is accessed (and checked for writing) even when the masked count is 0, as in QEMU. */
function shiftRm8(cpu: Cpu, i: Insn, count: number): void {
  rejectLock(cpu, i);
  const c = count & 31;
  if (i.mem) {
    const v = cpu.rmwRead8(i.seg, ea(cpu, i));
    if (c !== 0) cpu.rmwWrite8(shift(cpu, i.reg, v, c, 8));
  } else if (c !== 0) {
    setReg8(cpu, i.rm, shift(cpu, i.reg, getReg8(cpu, i.rm), c, 8));
  }
}
function shiftRm16(cpu: Cpu, i: Insn, count: number): void {
  rejectLock(cpu, i);
  const c = count & 31;
  if (i.mem) {
    const v = cpu.rmwRead16(i.seg, ea(cpu, i));
    if (c !== 0) cpu.rmwWrite16(shift(cpu, i.reg, v, c, 16));
  } else if (c !== 0) {
    setReg16(cpu, i.rm, shift(cpu, i.reg, cpu.regs[i.rm] & 0xffff, c, 16));
  }
}
function shiftRm32(cpu: Cpu, i: Insn, count: number): void {
  rejectLock(cpu, i);
  const c = count & 31;
  if (i.mem) {
    const v = cpu.rmwRead32(i.seg, ea(cpu, i));
    if (c !== 0) cpu.rmwWrite32(shift(cpu, i.reg, v >>> 0, c, 32));
  } else if (c !== 0) {
    cpu.regs[i.rm] = shift(cpu, i.reg, cpu.regs[i.rm] >>> 0, c, 32);
  }
}

function shiftEbIb(cpu: Cpu, i: Insn): void { shiftRm8(cpu, i, i.imm); }
function shiftEwIb(cpu: Cpu, i: Insn): void { shiftRm16(cpu, i, i.imm); }
function shiftEdIb(cpu: Cpu, i: Insn): void { shiftRm32(cpu, i, i.imm); }
function shiftEb1(cpu: Cpu, i: Insn): void { shiftRm8(cpu, i, 1); }
function shiftEw1(cpu: Cpu, i: Insn): void { shiftRm16(cpu, i, 1); }
function shiftEd1(cpu: Cpu, i: Insn): void { shiftRm32(cpu, i, 1); }
function shiftEbCL(cpu: Cpu, i: Insn): void { shiftRm8(cpu, i, cpu.regs[ECX]); }
function shiftEwCL(cpu: Cpu, i: Insn): void { shiftRm16(cpu, i, cpu.regs[ECX]); }
function shiftEdCL(cpu: Cpu, i: Insn): void { shiftRm32(cpu, i, cpu.regs[ECX]); }

// ---- SHLD / SHRD ---------------------------------------------------------------------------

/** SF ZF PF of the result, CF, and OF (already placed at its bit) of a double shift. */
function doubleShiftFlags(cpu: Cpu, r: number, cf: number, of: number, size: number): void {
  setArithFlags(cpu, cf | of | szp(r, size));
}

/**
 * SHLD/SHRD of 16 bits with a count above 16 leave the result undefined (SDM); this follows
 * Intel processors and QEMU, which shift the 48-bit value DEST:SRC:DEST.
 */
function shld16(cpu: Cpu, d: number, s: number, c: number): number {
  let r: number, cf: number;
  if (c <= 16) { r = (d << c) | (s >>> (16 - c)); cf = (d >>> (16 - c)) & 1; }
  else { r = (s << (c - 16)) | (d >>> (32 - c)); cf = (s >>> (32 - c)) & 1; }
  doubleShiftFlags(cpu, r, cf, ((r >>> 15) ^ cf) & 1 ? FLAG_OF : 0, 16);
  return r;
}
/** As QEMU: OF compares the sign of SRC:DEST shifted by count - 1 with the result's. */
function shrd16(cpu: Cpu, d: number, s: number, c: number): number {
  const x = ((s << 16) | d) >>> 0;
  const t = x >>> (c - 1);
  const r = (t >>> 1) | (d << (32 - c));
  doubleShiftFlags(cpu, r, t & 1, ((t ^ r) >>> 15) & 1 ? FLAG_OF : 0, 16);
  return r;
}
function shld32(cpu: Cpu, d: number, s: number, c: number): number {
  const r = (d << c) | (s >>> (32 - c));
  const cf = (d >>> (32 - c)) & 1;
  doubleShiftFlags(cpu, r, cf, ((r >>> 31) ^ cf) & 1 ? FLAG_OF : 0, 32);
  return r;
}
function shrd32(cpu: Cpu, d: number, s: number, c: number): number {
  const t = d >>> (c - 1);
  const r = (t >>> 1) | (s << (32 - c));
  doubleShiftFlags(cpu, r, t & 1, ((t ^ r) >>> 31) & 1 ? FLAG_OF : 0, 32);
  return r;
}

/** Ev,Gv with count `count`; `right` selects SHRD. */
function dshift16(cpu: Cpu, i: Insn, count: number, right: boolean): void {
  rejectLock(cpu, i);
  const c = count & 31, s = cpu.regs[i.reg] & 0xffff;
  if (i.mem) {
    const d = cpu.rmwRead16(i.seg, ea(cpu, i));
    if (c !== 0) cpu.rmwWrite16(right ? shrd16(cpu, d, s, c) : shld16(cpu, d, s, c));
  } else if (c !== 0) {
    const d = cpu.regs[i.rm] & 0xffff;
    setReg16(cpu, i.rm, right ? shrd16(cpu, d, s, c) : shld16(cpu, d, s, c));
  }
}
function dshift32(cpu: Cpu, i: Insn, count: number, right: boolean): void {
  rejectLock(cpu, i);
  const c = count & 31, s = cpu.regs[i.reg];
  if (i.mem) {
    const d = cpu.rmwRead32(i.seg, ea(cpu, i));
    if (c !== 0) cpu.rmwWrite32(right ? shrd32(cpu, d, s, c) : shld32(cpu, d, s, c));
  } else if (c !== 0) {
    const d = cpu.regs[i.rm];
    cpu.regs[i.rm] = right ? shrd32(cpu, d, s, c) : shld32(cpu, d, s, c);
  }
}

function shldIb16(cpu: Cpu, i: Insn): void { dshift16(cpu, i, i.imm, false); }
function shldIb32(cpu: Cpu, i: Insn): void { dshift32(cpu, i, i.imm, false); }
function shldCL16(cpu: Cpu, i: Insn): void { dshift16(cpu, i, cpu.regs[ECX], false); }
function shldCL32(cpu: Cpu, i: Insn): void { dshift32(cpu, i, cpu.regs[ECX], false); }
function shrdIb16(cpu: Cpu, i: Insn): void { dshift16(cpu, i, i.imm, true); }
function shrdIb32(cpu: Cpu, i: Insn): void { dshift32(cpu, i, i.imm, true); }
function shrdCL16(cpu: Cpu, i: Insn): void { dshift16(cpu, i, cpu.regs[ECX], true); }
function shrdCL32(cpu: Cpu, i: Insn): void { dshift32(cpu, i, cpu.regs[ECX], true); }

export function register(): void {
  for (let op = 0; op < 8; op++) {
    const name = NAMES[op];
    defineGroup(0xc0, op, { name, operands: 'Eb,Ib', imm: Imm.Ib, exec: shiftEbIb });
    defineGroup(0xc1, op, { name, operands: 'Ev,Ib', imm: Imm.Ib, exec16: shiftEwIb, exec32: shiftEdIb });
    defineGroup(0xd0, op, { name, operands: 'Eb,1', exec: shiftEb1 });
    defineGroup(0xd1, op, { name, operands: 'Ev,1', exec16: shiftEw1, exec32: shiftEd1 });
    defineGroup(0xd2, op, { name, operands: 'Eb,CL', exec: shiftEbCL });
    defineGroup(0xd3, op, { name, operands: 'Ev,CL', exec16: shiftEwCL, exec32: shiftEdCL });
  }
  defineOp(0x1a4, { name: 'shld', operands: 'Ev,Gv,Ib', modrm: true, imm: Imm.Ib, exec16: shldIb16, exec32: shldIb32 });
  defineOp(0x1a5, { name: 'shld', operands: 'Ev,Gv,CL', modrm: true, exec16: shldCL16, exec32: shldCL32 });
  defineOp(0x1ac, { name: 'shrd', operands: 'Ev,Gv,Ib', modrm: true, imm: Imm.Ib, exec16: shrdIb16, exec32: shrdIb32 });
  defineOp(0x1ad, { name: 'shrd', operands: 'Ev,Gv,CL', modrm: true, exec16: shrdCL16, exec32: shrdCL32 });
}
