/**
 * Integer arithmetic and logic (SDM Vol. 2): ADD OR ADC SBB AND SUB XOR CMP in all their
 * forms, INC DEC, TEST NOT NEG, XADD CMPXCHG CMPXCHG8B, CBW/CWDE CWD/CDQ and the undocumented
 * SALC. Flags are lazy (flags.ts): each instruction records its operands and result.
 *
 * Operand values passed around here carry the right low `size` bits; higher bits may be
 * anything (a sign-extended immediate, a carry) because the lazy flags and the register and
 * memory writers look only at the low bits.
 */
import type { Cpu } from '../cpu';
import { getCF, LazyOp, setFlagBits, setLazy, setLazyKeepCF } from '../flags';
import { Imm, type Insn } from '../insn';
import { defineGroup, defineOp } from '../opcodeTable';
import { ea, getReg8, readRm16, readRm32, readRm8, setReg16, setReg8 } from '../operands';
import { EAX, EBX, ECX, EDX, FLAG_ZF } from '../registers';
import { rejectLock } from './lock';

/** The ALU operation: bits 5:3 of opcodes 00-3D, ModR/M.reg of groups 80-83. */
const enum Alu { Add, Or, Adc, Sbb, And, Sub, Xor, Cmp }
const ALU_NAMES = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];

/** `d op s` at `size` bits: records the flags and returns the result. */
function alu(cpu: Cpu, op: number, d: number, s: number, size: number): number {
  let r: number;
  switch (op) {
    case Alu.Add: r = (d + s) | 0; setLazy(cpu, LazyOp.Add, d, s, r, size); return r;
    case Alu.Or: r = d | s; setLazy(cpu, LazyOp.Logic, d, s, r, size); return r;
    case Alu.Adc: {
      const c = getCF(cpu);
      r = (d + s + c) | 0;
      cpu.lzCarryIn = c;
      setLazy(cpu, LazyOp.Adc, d, s, r, size);
      return r;
    }
    case Alu.Sbb: {
      const c = getCF(cpu);
      r = (d - s - c) | 0;
      cpu.lzCarryIn = c;
      setLazy(cpu, LazyOp.Sbb, d, s, r, size);
      return r;
    }
    case Alu.And: r = d & s; setLazy(cpu, LazyOp.Logic, d, s, r, size); return r;
    case Alu.Xor: r = d ^ s; setLazy(cpu, LazyOp.Logic, d, s, r, size); return r;
    default: r = (d - s) | 0; setLazy(cpu, LazyOp.Sub, d, s, r, size); return r; // SUB, CMP
  }
}

// ---- r/m destination: register, memory read-modify-write, or read only for CMP ------------

function aluRm8(cpu: Cpu, i: Insn, op: number, s: number): void {
  if (!i.mem) {
    rejectLock(cpu, i);
    const r = alu(cpu, op, getReg8(cpu, i.rm), s, 8);
    if (op !== Alu.Cmp) setReg8(cpu, i.rm, r);
  } else if (op === Alu.Cmp) {
    rejectLock(cpu, i);
    alu(cpu, op, cpu.read8(i.seg, ea(cpu, i)), s, 8);
  } else {
    cpu.rmwWrite8(alu(cpu, op, cpu.rmwRead8(i.seg, ea(cpu, i)), s, 8));
  }
}

function aluRm16(cpu: Cpu, i: Insn, op: number, s: number): void {
  if (!i.mem) {
    rejectLock(cpu, i);
    const r = alu(cpu, op, cpu.regs[i.rm] & 0xffff, s, 16);
    if (op !== Alu.Cmp) setReg16(cpu, i.rm, r);
  } else if (op === Alu.Cmp) {
    rejectLock(cpu, i);
    alu(cpu, op, cpu.read16(i.seg, ea(cpu, i)), s, 16);
  } else {
    cpu.rmwWrite16(alu(cpu, op, cpu.rmwRead16(i.seg, ea(cpu, i)), s, 16));
  }
}

function aluRm32(cpu: Cpu, i: Insn, op: number, s: number): void {
  if (!i.mem) {
    rejectLock(cpu, i);
    const r = alu(cpu, op, cpu.regs[i.rm], s, 32);
    if (op !== Alu.Cmp) cpu.regs[i.rm] = r;
  } else if (op === Alu.Cmp) {
    rejectLock(cpu, i);
    alu(cpu, op, cpu.read32(i.seg, ea(cpu, i)), s, 32);
  } else {
    cpu.rmwWrite32(alu(cpu, op, cpu.rmwRead32(i.seg, ea(cpu, i)), s, 32));
  }
}

function aluEbGb(cpu: Cpu, i: Insn): void { aluRm8(cpu, i, i.op >> 3, getReg8(cpu, i.reg)); }
function aluEwGw(cpu: Cpu, i: Insn): void { aluRm16(cpu, i, i.op >> 3, cpu.regs[i.reg] & 0xffff); }
function aluEdGd(cpu: Cpu, i: Insn): void { aluRm32(cpu, i, i.op >> 3, cpu.regs[i.reg]); }
function aluEbIb(cpu: Cpu, i: Insn): void { aluRm8(cpu, i, i.reg, i.imm); }
function aluEwI(cpu: Cpu, i: Insn): void { aluRm16(cpu, i, i.reg, i.imm); }
function aluEdI(cpu: Cpu, i: Insn): void { aluRm32(cpu, i, i.reg, i.imm); }

// ---- register destination (LOCK never allowed) -------------------------------------------------

function aluGbEb(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  const op = i.op >> 3;
  const r = alu(cpu, op, getReg8(cpu, i.reg), readRm8(cpu, i), 8);
  if (op !== Alu.Cmp) setReg8(cpu, i.reg, r);
}
function aluGwEw(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  const op = i.op >> 3;
  const r = alu(cpu, op, cpu.regs[i.reg] & 0xffff, readRm16(cpu, i), 16);
  if (op !== Alu.Cmp) setReg16(cpu, i.reg, r);
}
function aluGdEd(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  const op = i.op >> 3;
  const r = alu(cpu, op, cpu.regs[i.reg], readRm32(cpu, i), 32);
  if (op !== Alu.Cmp) cpu.regs[i.reg] = r;
}
function aluALIb(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  const op = i.op >> 3;
  const r = alu(cpu, op, cpu.regs[EAX] & 0xff, i.imm, 8);
  if (op !== Alu.Cmp) setReg8(cpu, EAX, r);
}
function aluAXIw(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  const op = i.op >> 3;
  const r = alu(cpu, op, cpu.regs[EAX] & 0xffff, i.imm, 16);
  if (op !== Alu.Cmp) setReg16(cpu, EAX, r);
}
function aluEAXId(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  const op = i.op >> 3;
  const r = alu(cpu, op, cpu.regs[EAX], i.imm, 32);
  if (op !== Alu.Cmp) cpu.regs[EAX] = r;
}

// ---- INC, DEC: CF is left alone ---------------------------------------------------------

function incReg16(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  const d = cpu.regs[i.reg] & 0xffff, r = d + 1;
  setLazyKeepCF(cpu, LazyOp.Inc, d, r, 16);
  setReg16(cpu, i.reg, r);
}
function incReg32(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  const d = cpu.regs[i.reg], r = (d + 1) | 0;
  setLazyKeepCF(cpu, LazyOp.Inc, d, r, 32);
  cpu.regs[i.reg] = r;
}
function decReg16(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  const d = cpu.regs[i.reg] & 0xffff, r = d - 1;
  setLazyKeepCF(cpu, LazyOp.Dec, d, r, 16);
  setReg16(cpu, i.reg, r);
}
function decReg32(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  const d = cpu.regs[i.reg], r = (d - 1) | 0;
  setLazyKeepCF(cpu, LazyOp.Dec, d, r, 32);
  cpu.regs[i.reg] = r;
}

/** INC (delta 1) or DEC (delta -1) of r/m. */
function stepRm8(cpu: Cpu, i: Insn, delta: number, op: LazyOp): void {
  if (i.mem) {
    const d = cpu.rmwRead8(i.seg, ea(cpu, i)), r = d + delta;
    setLazyKeepCF(cpu, op, d, r, 8);
    cpu.rmwWrite8(r);
  } else {
    rejectLock(cpu, i);
    const d = getReg8(cpu, i.rm), r = d + delta;
    setLazyKeepCF(cpu, op, d, r, 8);
    setReg8(cpu, i.rm, r);
  }
}
function stepRm16(cpu: Cpu, i: Insn, delta: number, op: LazyOp): void {
  if (i.mem) {
    const d = cpu.rmwRead16(i.seg, ea(cpu, i)), r = d + delta;
    setLazyKeepCF(cpu, op, d, r, 16);
    cpu.rmwWrite16(r);
  } else {
    rejectLock(cpu, i);
    const d = cpu.regs[i.rm] & 0xffff, r = d + delta;
    setLazyKeepCF(cpu, op, d, r, 16);
    setReg16(cpu, i.rm, r);
  }
}
function stepRm32(cpu: Cpu, i: Insn, delta: number, op: LazyOp): void {
  if (i.mem) {
    const d = cpu.rmwRead32(i.seg, ea(cpu, i)), r = (d + delta) | 0;
    setLazyKeepCF(cpu, op, d, r, 32);
    cpu.rmwWrite32(r);
  } else {
    rejectLock(cpu, i);
    const d = cpu.regs[i.rm], r = (d + delta) | 0;
    setLazyKeepCF(cpu, op, d, r, 32);
    cpu.regs[i.rm] = r;
  }
}
function incEb(cpu: Cpu, i: Insn): void { stepRm8(cpu, i, 1, LazyOp.Inc); }
function incEw(cpu: Cpu, i: Insn): void { stepRm16(cpu, i, 1, LazyOp.Inc); }
function incEd(cpu: Cpu, i: Insn): void { stepRm32(cpu, i, 1, LazyOp.Inc); }
function decEb(cpu: Cpu, i: Insn): void { stepRm8(cpu, i, -1, LazyOp.Dec); }
function decEw(cpu: Cpu, i: Insn): void { stepRm16(cpu, i, -1, LazyOp.Dec); }
function decEd(cpu: Cpu, i: Insn): void { stepRm32(cpu, i, -1, LazyOp.Dec); }

// ---- TEST: AND that only sets flags -------------------------------------------------------

function test(cpu: Cpu, d: number, s: number, size: number): void {
  setLazy(cpu, LazyOp.Logic, d, s, d & s, size);
}
function testEbGb(cpu: Cpu, i: Insn): void { rejectLock(cpu, i); test(cpu, readRm8(cpu, i), getReg8(cpu, i.reg), 8); }
function testEwGw(cpu: Cpu, i: Insn): void { rejectLock(cpu, i); test(cpu, readRm16(cpu, i), cpu.regs[i.reg], 16); }
function testEdGd(cpu: Cpu, i: Insn): void { rejectLock(cpu, i); test(cpu, readRm32(cpu, i), cpu.regs[i.reg], 32); }
function testEbIb(cpu: Cpu, i: Insn): void { rejectLock(cpu, i); test(cpu, readRm8(cpu, i), i.imm, 8); }
function testEwIw(cpu: Cpu, i: Insn): void { rejectLock(cpu, i); test(cpu, readRm16(cpu, i), i.imm, 16); }
function testEdId(cpu: Cpu, i: Insn): void { rejectLock(cpu, i); test(cpu, readRm32(cpu, i), i.imm, 32); }
function testALIb(cpu: Cpu, i: Insn): void { rejectLock(cpu, i); test(cpu, cpu.regs[EAX], i.imm, 8); }
function testAXIw(cpu: Cpu, i: Insn): void { rejectLock(cpu, i); test(cpu, cpu.regs[EAX], i.imm, 16); }
function testEAXId(cpu: Cpu, i: Insn): void { rejectLock(cpu, i); test(cpu, cpu.regs[EAX], i.imm, 32); }

// ---- NOT (no flags), NEG (flags of 0 - d) -------------------------------------------------

function notEb(cpu: Cpu, i: Insn): void {
  if (i.mem) { cpu.rmwWrite8(~cpu.rmwRead8(i.seg, ea(cpu, i))); return; }
  rejectLock(cpu, i);
  setReg8(cpu, i.rm, ~getReg8(cpu, i.rm));
}
function notEw(cpu: Cpu, i: Insn): void {
  if (i.mem) { cpu.rmwWrite16(~cpu.rmwRead16(i.seg, ea(cpu, i))); return; }
  rejectLock(cpu, i);
  setReg16(cpu, i.rm, ~cpu.regs[i.rm]);
}
function notEd(cpu: Cpu, i: Insn): void {
  if (i.mem) { cpu.rmwWrite32(~cpu.rmwRead32(i.seg, ea(cpu, i))); return; }
  rejectLock(cpu, i);
  cpu.regs[i.rm] = ~cpu.regs[i.rm];
}

function negEb(cpu: Cpu, i: Insn): void {
  if (i.mem) {
    const d = cpu.rmwRead8(i.seg, ea(cpu, i)), r = -d;
    setLazy(cpu, LazyOp.Neg, 0, d, r, 8);
    cpu.rmwWrite8(r);
    return;
  }
  rejectLock(cpu, i);
  const d = getReg8(cpu, i.rm), r = -d;
  setLazy(cpu, LazyOp.Neg, 0, d, r, 8);
  setReg8(cpu, i.rm, r);
}
function negEw(cpu: Cpu, i: Insn): void {
  if (i.mem) {
    const d = cpu.rmwRead16(i.seg, ea(cpu, i)), r = -d;
    setLazy(cpu, LazyOp.Neg, 0, d, r, 16);
    cpu.rmwWrite16(r);
    return;
  }
  rejectLock(cpu, i);
  const d = cpu.regs[i.rm] & 0xffff, r = -d;
  setLazy(cpu, LazyOp.Neg, 0, d, r, 16);
  setReg16(cpu, i.rm, r);
}
function negEd(cpu: Cpu, i: Insn): void {
  if (i.mem) {
    const d = cpu.rmwRead32(i.seg, ea(cpu, i)), r = -d | 0;
    setLazy(cpu, LazyOp.Neg, 0, d, r, 32);
    cpu.rmwWrite32(r);
    return;
  }
  rejectLock(cpu, i);
  const d = cpu.regs[i.rm], r = -d | 0;
  setLazy(cpu, LazyOp.Neg, 0, d, r, 32);
  cpu.regs[i.rm] = r;
}

// ---- XADD: TEMP = SRC + DEST; SRC = DEST; DEST = TEMP ----------------------------------------

function xaddEbGb(cpu: Cpu, i: Insn): void {
  const s = getReg8(cpu, i.reg);
  if (i.mem) {
    const d = cpu.rmwRead8(i.seg, ea(cpu, i)), r = d + s;
    setLazy(cpu, LazyOp.Add, d, s, r, 8);
    cpu.rmwWrite8(r);
    setReg8(cpu, i.reg, d);
    return;
  }
  rejectLock(cpu, i);
  const d = getReg8(cpu, i.rm), r = d + s;
  setLazy(cpu, LazyOp.Add, d, s, r, 8);
  setReg8(cpu, i.reg, d);
  setReg8(cpu, i.rm, r);
}
function xaddEwGw(cpu: Cpu, i: Insn): void {
  const s = cpu.regs[i.reg] & 0xffff;
  if (i.mem) {
    const d = cpu.rmwRead16(i.seg, ea(cpu, i)), r = d + s;
    setLazy(cpu, LazyOp.Add, d, s, r, 16);
    cpu.rmwWrite16(r);
    setReg16(cpu, i.reg, d);
    return;
  }
  rejectLock(cpu, i);
  const d = cpu.regs[i.rm] & 0xffff, r = d + s;
  setLazy(cpu, LazyOp.Add, d, s, r, 16);
  setReg16(cpu, i.reg, d);
  setReg16(cpu, i.rm, r);
}
function xaddEdGd(cpu: Cpu, i: Insn): void {
  const s = cpu.regs[i.reg];
  if (i.mem) {
    const d = cpu.rmwRead32(i.seg, ea(cpu, i)), r = (d + s) | 0;
    setLazy(cpu, LazyOp.Add, d, s, r, 32);
    cpu.rmwWrite32(r);
    cpu.regs[i.reg] = d;
    return;
  }
  rejectLock(cpu, i);
  const d = cpu.regs[i.rm], r = (d + s) | 0;
  setLazy(cpu, LazyOp.Add, d, s, r, 32);
  cpu.regs[i.reg] = d;
  cpu.regs[i.rm] = r;
}

// ---- CMPXCHG: compare the accumulator with DEST; equal: DEST = SRC, else accumulator = DEST.
// The memory destination is written either way (with its own value on a mismatch).

function cmpxchgEbGb(cpu: Cpu, i: Insn): void {
  const acc = cpu.regs[EAX] & 0xff;
  if (i.mem) {
    const d = cpu.rmwRead8(i.seg, ea(cpu, i));
    setLazy(cpu, LazyOp.Sub, acc, d, acc - d, 8);
    if (acc === d) cpu.rmwWrite8(getReg8(cpu, i.reg));
    else { cpu.rmwWrite8(d); setReg8(cpu, EAX, d); }
    return;
  }
  rejectLock(cpu, i);
  const d = getReg8(cpu, i.rm);
  setLazy(cpu, LazyOp.Sub, acc, d, acc - d, 8);
  if (acc === d) setReg8(cpu, i.rm, getReg8(cpu, i.reg)); else setReg8(cpu, EAX, d);
}
function cmpxchgEwGw(cpu: Cpu, i: Insn): void {
  const acc = cpu.regs[EAX] & 0xffff;
  if (i.mem) {
    const d = cpu.rmwRead16(i.seg, ea(cpu, i));
    setLazy(cpu, LazyOp.Sub, acc, d, acc - d, 16);
    if (acc === d) cpu.rmwWrite16(cpu.regs[i.reg]);
    else { cpu.rmwWrite16(d); setReg16(cpu, EAX, d); }
    return;
  }
  rejectLock(cpu, i);
  const d = cpu.regs[i.rm] & 0xffff;
  setLazy(cpu, LazyOp.Sub, acc, d, acc - d, 16);
  if (acc === d) setReg16(cpu, i.rm, cpu.regs[i.reg]); else setReg16(cpu, EAX, d);
}
function cmpxchgEdGd(cpu: Cpu, i: Insn): void {
  const acc = cpu.regs[EAX];
  if (i.mem) {
    const d = cpu.rmwRead32(i.seg, ea(cpu, i));
    setLazy(cpu, LazyOp.Sub, acc, d, (acc - d) | 0, 32);
    if (acc === d) cpu.rmwWrite32(cpu.regs[i.reg]);
    else { cpu.rmwWrite32(d); cpu.regs[EAX] = d; }
    return;
  }
  rejectLock(cpu, i);
  const d = cpu.regs[i.rm];
  setLazy(cpu, LazyOp.Sub, acc, d, (acc - d) | 0, 32);
  if (acc === d) cpu.regs[i.rm] = cpu.regs[i.reg]; else cpu.regs[EAX] = d;
}

/** CMPXCHG8B m64: EDX:EAX against m64; equal: m64 = ECX:EBX, else EDX:EAX = m64. Only ZF changes. */
function cmpxchg8b(cpu: Cpu, i: Insn): void {
  const lin = cpu.linWrite(i.seg, ea(cpu, i), 8);
  cpu.probeWrite(lin, 8);
  const r = cpu.regs;
  const lo = cpu.readLin32(lin), hi = cpu.readLin32((lin + 4) | 0);
  if (lo === r[EAX] && hi === r[EDX]) {
    cpu.writeLin32(lin, r[EBX]);
    cpu.writeLin32((lin + 4) | 0, r[ECX]);
    setFlagBits(cpu, FLAG_ZF, FLAG_ZF);
  } else {
    cpu.writeLin32(lin, lo);
    cpu.writeLin32((lin + 4) | 0, hi);
    r[EAX] = lo;
    r[EDX] = hi;
    setFlagBits(cpu, FLAG_ZF, 0);
  }
}

// ---- sign extension of the accumulator, SALC ----------------------------------------------

function cbw(cpu: Cpu, i: Insn): void { rejectLock(cpu, i); setReg16(cpu, EAX, (cpu.regs[EAX] << 24) >> 24); }
function cwde(cpu: Cpu, i: Insn): void { rejectLock(cpu, i); cpu.regs[EAX] = (cpu.regs[EAX] << 16) >> 16; }
function cwd(cpu: Cpu, i: Insn): void { rejectLock(cpu, i); setReg16(cpu, EDX, (cpu.regs[EAX] << 16) >> 31); }
function cdq(cpu: Cpu, i: Insn): void { rejectLock(cpu, i); cpu.regs[EDX] = cpu.regs[EAX] >> 31; }
/** SALC (D6, undocumented; QEMU and Intel processors run it): AL = CF ? FF : 00, flags unchanged. */
function salc(cpu: Cpu, i: Insn): void { rejectLock(cpu, i); setReg8(cpu, EAX, getCF(cpu) !== 0 ? 0xff : 0); }

export function register(): void {
  for (let op = 0; op < 8; op++) {
    const base = op << 3, name = ALU_NAMES[op];
    defineOp(base, { name, operands: 'Eb,Gb', modrm: true, exec: aluEbGb });
    defineOp(base + 1, { name, operands: 'Ev,Gv', modrm: true, exec16: aluEwGw, exec32: aluEdGd });
    defineOp(base + 2, { name, operands: 'Gb,Eb', modrm: true, exec: aluGbEb });
    defineOp(base + 3, { name, operands: 'Gv,Ev', modrm: true, exec16: aluGwEw, exec32: aluGdEd });
    defineOp(base + 4, { name, operands: 'AL,Ib', imm: Imm.Ib, exec: aluALIb });
    defineOp(base + 5, { name, operands: 'rAX,Iz', imm: Imm.Iz, exec16: aluAXIw, exec32: aluEAXId });
    defineGroup(0x80, op, { name, operands: 'Eb,Ib', imm: Imm.Ib, exec: aluEbIb });
    defineGroup(0x81, op, { name, operands: 'Ev,Iz', imm: Imm.Iz, exec16: aluEwI, exec32: aluEdI });
    defineGroup(0x82, op, { name, operands: 'Eb,Ib', imm: Imm.Ib, exec: aluEbIb });
    defineGroup(0x83, op, { name, operands: 'Ev,Ib', imm: Imm.IbS, exec16: aluEwI, exec32: aluEdI });
  }
  for (let r = 0; r < 8; r++) {
    defineOp(0x40 + r, { name: 'inc', operands: 'Zv', exec16: incReg16, exec32: incReg32 });
    defineOp(0x48 + r, { name: 'dec', operands: 'Zv', exec16: decReg16, exec32: decReg32 });
  }
  defineGroup(0xfe, 0, { name: 'inc', operands: 'Eb', exec: incEb });
  defineGroup(0xfe, 1, { name: 'dec', operands: 'Eb', exec: decEb });
  defineGroup(0xff, 0, { name: 'inc', operands: 'Ev', exec16: incEw, exec32: incEd });
  defineGroup(0xff, 1, { name: 'dec', operands: 'Ev', exec16: decEw, exec32: decEd });

  defineOp(0x84, { name: 'test', operands: 'Eb,Gb', modrm: true, exec: testEbGb });
  defineOp(0x85, { name: 'test', operands: 'Ev,Gv', modrm: true, exec16: testEwGw, exec32: testEdGd });
  defineOp(0xa8, { name: 'test', operands: 'AL,Ib', imm: Imm.Ib, exec: testALIb });
  defineOp(0xa9, { name: 'test', operands: 'rAX,Iz', imm: Imm.Iz, exec16: testAXIw, exec32: testEAXId });
  // F6/F7 /1 is an undocumented alias of /0 that processors decode as TEST.
  for (const reg of [0, 1]) {
    defineGroup(0xf6, reg, { name: 'test', operands: 'Eb,Ib', imm: Imm.Ib, exec: testEbIb });
    defineGroup(0xf7, reg, { name: 'test', operands: 'Ev,Iz', imm: Imm.Iz, exec16: testEwIw, exec32: testEdId });
  }
  defineGroup(0xf6, 2, { name: 'not', operands: 'Eb', exec: notEb });
  defineGroup(0xf7, 2, { name: 'not', operands: 'Ev', exec16: notEw, exec32: notEd });
  defineGroup(0xf6, 3, { name: 'neg', operands: 'Eb', exec: negEb });
  defineGroup(0xf7, 3, { name: 'neg', operands: 'Ev', exec16: negEw, exec32: negEd });

  defineOp(0x1c0, { name: 'xadd', operands: 'Eb,Gb', modrm: true, exec: xaddEbGb });
  defineOp(0x1c1, { name: 'xadd', operands: 'Ev,Gv', modrm: true, exec16: xaddEwGw, exec32: xaddEdGd });
  defineOp(0x1b0, { name: 'cmpxchg', operands: 'Eb,Gb', modrm: true, exec: cmpxchgEbGb });
  defineOp(0x1b1, { name: 'cmpxchg', operands: 'Ev,Gv', modrm: true, exec16: cmpxchgEwGw, exec32: cmpxchgEdGd });
  defineGroup(0x1c7, 1, { name: 'cmpxchg8b', operands: 'Mq', memOnly: true, exec: cmpxchg8b });

  defineOp(0x98, { name: 'cbw', names: ['cbw', 'cwde'], exec16: cbw, exec32: cwde });
  defineOp(0x99, { name: 'cwd', names: ['cwd', 'cdq'], exec16: cwd, exec32: cdq });
  defineOp(0xd6, { name: 'salc', exec: salc });
}
