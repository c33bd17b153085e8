/**
 * Multiply and divide (SDM Vol. 2, "MUL", "IMUL", "DIV", "IDIV"): F6/F7 /4-/7 and the two-
 * and three-operand IMUL (0F AF, 69, 6B). All arithmetic is exact in doubles: 32x32-bit
 * products and 64/32-bit quotients are built from 16-bit pieces.
 *
 * MUL and IMUL set CF = OF = "the result does not fit the destination"; SF, ZF and PF (which
 * the SDM leaves undefined) follow the low half of the result and AF is cleared, as in QEMU.
 * DIV and IDIV leave the flags (all undefined) unchanged, and raise #DE for a zero divisor or
 * a quotient too large for its register before changing anything.
 */
import type { Cpu } from '../cpu';
import { DE } from '../exceptions';
import { parityFlag, setArithFlags } from '../flags';
import { Imm, type Insn } from '../insn';
import { defineGroup, defineOp } from '../opcodeTable';
import { readRm16, readRm32, readRm8, setReg16, setReg8 } from '../operands';
import { EAX, EDX, FLAG_CF, FLAG_OF, FLAG_SF, FLAG_ZF } from '../registers';
import { rejectLock } from './lock';

/** The flags after a multiply whose `size`-bit low half is `lo`. */
function mulFlags(cpu: Cpu, overflow: boolean, lo: number, size: number): void {
  const m = size === 32 ? -1 : (1 << size) - 1;
  setArithFlags(cpu, (overflow ? FLAG_CF | FLAG_OF : 0) | ((lo & m) === 0 ? FLAG_ZF : 0) |
    ((lo >>> (size - 1)) & 1 ? FLAG_SF : 0) | parityFlag(lo));
}

/** Halves of the last 64-bit product (see `mulU32`). */
let prodLo = 0, prodHi = 0;

/** Unsigned 32x32 -> 64-bit product of `a` and `b` (any int32 bit patterns) into prodHi:prodLo. */
function mulU32(a: number, b: number): void {
  const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
  const mid = ah * bl + al * bh;                    // < 2^33
  const low = al * bl + (mid % 0x10000) * 0x10000;   // < 2^33
  prodLo = low | 0;
  prodHi = (ah * bh + Math.floor(mid / 0x10000) + Math.floor(low / 0x1_0000_0000)) | 0;
}

/** Signed 32x32 -> 64-bit product: the unsigned one, less 2^32 * b for a negative a and vice versa. */
function mulS32(a: number, b: number): void {
  mulU32(a, b);
  prodHi = (prodHi - (a < 0 ? b : 0) - (b < 0 ? a : 0)) | 0;
}

// ---- one-operand MUL / IMUL: the accumulator times r/m ---------------------------------------

function mulEb(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  const r = (cpu.regs[EAX] & 0xff) * readRm8(cpu, i);
  setReg16(cpu, EAX, r);
  mulFlags(cpu, r > 0xff, r, 8);
}
function mulEw(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  const r = (cpu.regs[EAX] & 0xffff) * readRm16(cpu, i);
  setReg16(cpu, EAX, r);
  setReg16(cpu, EDX, r >>> 16);
  mulFlags(cpu, r > 0xffff, r, 16);
}
function mulEd(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  mulU32(cpu.regs[EAX], readRm32(cpu, i));
  cpu.regs[EAX] = prodLo;
  cpu.regs[EDX] = prodHi;
  mulFlags(cpu, prodHi !== 0, prodLo, 32);
}
function imulEb(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  const r = ((cpu.regs[EAX] << 24) >> 24) * ((readRm8(cpu, i) << 24) >> 24);
  setReg16(cpu, EAX, r);
  mulFlags(cpu, r !== (r << 24) >> 24, r, 8);
}
function imulEw(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  const r = ((cpu.regs[EAX] << 16) >> 16) * ((readRm16(cpu, i) << 16) >> 16);
  setReg16(cpu, EAX, r);
  setReg16(cpu, EDX, r >> 16);
  mulFlags(cpu, r !== (r << 16) >> 16, r, 16);
}
function imulEd(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  mulS32(cpu.regs[EAX], readRm32(cpu, i));
  cpu.regs[EAX] = prodLo;
  cpu.regs[EDX] = prodHi;
  mulFlags(cpu, prodHi !== prodLo >> 31, prodLo, 32);
}

// ---- IMUL with a register destination: Gv = Ev * (Gv | imm), truncated --------------------

function imul16(cpu: Cpu, i: Insn, a: number, b: number): void {
  const r = ((a << 16) >> 16) * ((b << 16) >> 16);
  setReg16(cpu, i.reg, r);
  mulFlags(cpu, r !== (r << 16) >> 16, r, 16);
}
/** The low half is Math.imul; the double product is exact wherever it is near the int32 range. */
function imul32(cpu: Cpu, i: Insn, a: number, b: number): void {
  const p = a * b;
  const r = Math.imul(a, b);
  cpu.regs[i.reg] = r;
  mulFlags(cpu, p < -0x8000_0000 || p > 0x7fff_ffff, r, 32);
}
function imulGwEw(cpu: Cpu, i: Insn): void { rejectLock(cpu, i); imul16(cpu, i, cpu.regs[i.reg], readRm16(cpu, i)); }
function imulGdEd(cpu: Cpu, i: Insn): void { rejectLock(cpu, i); imul32(cpu, i, cpu.regs[i.reg], readRm32(cpu, i)); }
function imulGwEwI(cpu: Cpu, i: Insn): void { rejectLock(cpu, i); imul16(cpu, i, readRm16(cpu, i), i.imm); }
function imulGdEdI(cpu: Cpu, i: Insn): void { rejectLock(cpu, i); imul32(cpu, i, readRm32(cpu, i), i.imm); }

// ---- DIV / IDIV --------------------------------------------------------------------------

/** Quotient and remainder of the last `divU64`. */
let quot = 0, rem = 0;

/**
 * Unsigned (hi * 2^32 + lo) / d for hi < d (so the quotient fits 32 bits): long division in
 * two 16-bit steps, each dividend below d * 2^16 <= 2^48, so every quotient digit is exact.
 */
function divU64(hi: number, lo: number, d: number): void {
  let n = hi * 0x10000 + (lo >>> 16);
  const q1 = Math.floor(n / d);
  n = (n - q1 * d) * 0x10000 + (lo & 0xffff);
  const q0 = Math.floor(n / d);
  quot = q1 * 0x10000 + q0;
  rem = n - q0 * d;
}

function divEb(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  const d = readRm8(cpu, i);
  if (d === 0) cpu.raise(DE);
  const n = cpu.regs[EAX] & 0xffff;
  const q = Math.floor(n / d);
  if (q > 0xff) cpu.raise(DE);
  setReg16(cpu, EAX, ((n - q * d) << 8) | q);
}
function divEw(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  const d = readRm16(cpu, i);
  if (d === 0) cpu.raise(DE);
  const n = (((cpu.regs[EDX] & 0xffff) << 16) | (cpu.regs[EAX] & 0xffff)) >>> 0;
  const q = Math.floor(n / d);
  if (q > 0xffff) cpu.raise(DE);
  setReg16(cpu, EAX, q);
  setReg16(cpu, EDX, n - q * d);
}
function divEd(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  const d = readRm32(cpu, i) >>> 0;
  if (d === 0) cpu.raise(DE);
  const hi = cpu.regs[EDX] >>> 0;
  if (hi >= d) cpu.raise(DE);
  divU64(hi, cpu.regs[EAX] >>> 0, d);
  cpu.regs[EAX] = quot;
  cpu.regs[EDX] = rem;
}

function idivEb(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  const d = (readRm8(cpu, i) << 24) >> 24;
  if (d === 0) cpu.raise(DE);
  const n = (cpu.regs[EAX] << 16) >> 16;
  const q = Math.trunc(n / d);
  if (q > 0x7f || q < -0x80) cpu.raise(DE);
  setReg8(cpu, EAX, q);
  setReg8(cpu, 4, n - q * d); // AH
}
function idivEw(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  const d = (readRm16(cpu, i) << 16) >> 16;
  if (d === 0) cpu.raise(DE);
  const n = (cpu.regs[EDX] << 16) | (cpu.regs[EAX] & 0xffff);
  const q = Math.trunc(n / d);
  if (q > 0x7fff || q < -0x8000) cpu.raise(DE);
  setReg16(cpu, EAX, q);
  setReg16(cpu, EDX, n - q * d);
}
/** Signed EDX:EAX / r/m32 through the unsigned division of the magnitudes. */
function idivEd(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  const d = readRm32(cpu, i);
  if (d === 0) cpu.raise(DE);
  let hi = cpu.regs[EDX], lo = cpu.regs[EAX];
  const negative = hi < 0;
  if (negative) { hi = ~hi + (lo === 0 ? 1 : 0); lo = -lo; }
  const dm = Math.abs(d);
  if (hi >>> 0 >= dm) cpu.raise(DE);
  divU64(hi >>> 0, lo >>> 0, dm);
  const qNegative = negative !== d < 0;
  if (quot > (qNegative ? 0x8000_0000 : 0x7fff_ffff)) cpu.raise(DE);
  cpu.regs[EAX] = qNegative ? -quot : quot;
  cpu.regs[EDX] = negative ? -rem : rem;
}

export function register(): void {
  defineGroup(0xf6, 4, { name: 'mul', operands: 'Eb', exec: mulEb });
  defineGroup(0xf7, 4, { name: 'mul', operands: 'Ev', exec16: mulEw, exec32: mulEd });
  defineGroup(0xf6, 5, { name: 'imul', operands: 'Eb', exec: imulEb });
  defineGroup(0xf7, 5, { name: 'imul', operands: 'Ev', exec16: imulEw, exec32: imulEd });
  defineGroup(0xf6, 6, { name: 'div', operands: 'Eb', exec: divEb });
  defineGroup(0xf7, 6, { name: 'div', operands: 'Ev', exec16: divEw, exec32: divEd });
  defineGroup(0xf6, 7, { name: 'idiv', operands: 'Eb', exec: idivEb });
  defineGroup(0xf7, 7, { name: 'idiv', operands: 'Ev', exec16: idivEw, exec32: idivEd });
  defineOp(0x1af, { name: 'imul', operands: 'Gv,Ev', modrm: true, exec16: imulGwEw, exec32: imulGdEd });
  defineOp(0x69, { name: 'imul', operands: 'Gv,Ev,Iz', modrm: true, imm: Imm.Iz, exec16: imulGwEwI, exec32: imulGdEdI });
  defineOp(0x6b, { name: 'imul', operands: 'Gv,Ev,Ib', modrm: true, imm: Imm.IbS, exec16: imulGwEwI, exec32: imulGdEdI });
}
