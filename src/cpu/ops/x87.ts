/**
 * The x87 FPU instructions: the escape opcodes D8-DF (SDM Vol. 2, appendix A.4), WAIT/FWAIT
 * (9B) and FXSAVE/FXRSTOR (0F AE /0 /1). The ModR/M byte selects the instruction, by reg for
 * a memory operand and by reg and rm for a register operand. Every form nasm knows is
 * defined, so the disassembler names each one (src/cpu/disasm/x87.ts); FISTTP is SSE3 and
 * raises #UD, as do the reserved encodings, including the undocumented aliases processors
 * execute (FSTP1, FXCH4, FCOMP5 ...), which neither nasm nor the SDM name. FFREEP, also
 * undocumented, nasm does know, so it is executed.
 *
 * Arithmetic is fpu/float80.ts, the FPU's registers fpu/state.ts. Each instruction checks
 * CR0.EM/TS (#NM) and, unless it is one of the no-wait control instructions, a pending
 * unmasked exception (#MF). Every instruction but FNINIT, FNCLEX, FLDCW, FNSTCW, FNSTSW,
 * FLDENV, FNSTENV, FRSTOR, FNSAVE, FXSAVE, FXRSTOR and WAIT records its address, opcode and
 * memory operand for FNSTENV/FNSAVE/FXSAVE (FINCSTP, FDECSTP, FFREE and FNOP included, as the
 * host shows). A masked exception gets the SDM's masked response; an unmasked one leaves the
 * destination and the stack as they were, except overflow and underflow to a register, which
 * store the exponent-wrapped result, and loads, which an unmasked DE does not stop.
 */
import type { Cpu } from '../cpu';
import { CPUID_EDX_FXSR } from '../cpuid';
import { GP, UD } from '../exceptions';
import { setArithFlags, testCondition } from '../flags';
import type { Insn } from '../insn';
import { defineGroup, defineGroupMod3, defineOp } from '../opcodeTable';
import { ea } from '../operands';
import { CS, EAX, EBP, FLAG_CF, FLAG_PF, FLAG_ZF } from '../registers';
import { fromBcd, toBcd } from '../fpu/bcd';
import { fldenv, fnsave, fnstenv, frstor, fxrstor, fxsave, FXSAVE_SIZE } from '../fpu/environment';
import { beginWaiting, checkDevice, report, wait } from '../fpu/exceptions';
import * as fp from '../fpu/float80';
import { C1, DE, F80, IE, OE, SF, UE, ZE } from '../fpu/float80';
import { readAddress, readF80, writeAddress, writeF80 } from '../fpu/memory';
import { SW_C0, SW_C2, SW_C3, SW_CC, type FpuState } from '../fpu/state';
import { atan2, Fn, outOfRange, unary, ylog2x } from '../fpu/transcendental';
import { rejectLock } from './lock';

// Operands and results of the instruction executing (nothing is allocated per instruction).
const x = new F80(), y = new F80(), res = new F80(), res2 = new F80();
const bcd = new Uint8Array(10);

// ---- instruction bookkeeping -------------------------------------------------------------

/**
 * The ModR/M byte, for the opcode field FNSTENV stores. The decoder keeps reg and rm but not
 * mod: for a memory operand mod is taken to be the shortest encoding of the displacement,
 * which is what assemblers emit.
 */
function modrmByte(i: Insn): number {
  const low = (i.reg << 3) | i.rm;
  if (!i.mem) return 0xc0 | low;
  const disp = i.a32 ? i.disp : (i.disp << 16) >> 16;
  const bpAlone = i.a32 ? i.base === EBP : i.base === EBP && i.index < 0;
  if (i.base < 0 || (disp === 0 && !bpAlone)) return low;
  return (disp >= -128 && disp <= 127 ? 0x40 : 0x80) | low;
}

/** A non-control instruction starts: #NM, a pending #MF, then its address and opcode are recorded. */
function start(cpu: Cpu, i: Insn): FpuState {
  rejectLock(cpu, i);
  const f = beginWaiting(cpu);
  f.fip = cpu.eipStart;
  f.fcs = cpu.segSel[CS];
  f.fop = ((i.op & 7) << 8) | modrmByte(i);
  return f;
}

/** The memory operand's offset, recorded as the last data pointer. */
function operand(cpu: Cpu, f: FpuState, i: Insn): number {
  const off = ea(cpu, i);
  f.fdp = off >>> 0;
  f.fds = cpu.segSel[i.seg];
  return off;
}

/** A control instruction that waits (FLDCW, FLDENV, FRSTOR). */
function startControl(cpu: Cpu, i: Insn): FpuState {
  rejectLock(cpu, i);
  return beginWaiting(cpu);
}

/** A no-wait control instruction (FNINIT, FNCLEX, FNSTCW, FNSTSW, FNSTENV, FNSAVE). */
function startNoWait(cpu: Cpu, i: Insn): FpuState {
  rejectLock(cpu, i);
  checkDevice(cpu);
  return cpu.fpu;
}

/** Did an unmasked exception among `which` occur? Then the instruction stores nothing. */
function unmasked(f: FpuState, flags: number, which: number): boolean {
  return (flags & ~f.cw & which) !== 0;
}

/** Exceptions that stop an instruction from writing a register (SDM Vol. 1, 8.5). */
const STOP_REGISTER = IE | DE | ZE;
/** ... and memory. */
const STOP_MEMORY = IE | DE | ZE | OE | UE;

/**
 * Stack underflow: a source register is empty. Masked, ST(dst) (when there is one, dst >= 0)
 * gets the indefinite and a popping instruction pops; returns false when unmasked.
 */
function underflow(f: FpuState, dst: number, pops: number): boolean {
  report(f, IE | SF);
  if ((f.cw & IE) === 0) return false;
  if (dst >= 0) { fp.setIndefinite(res); f.setSt(dst, res); }
  for (let k = 0; k < pops; k++) f.pop();
  return true;
}

/** Stack overflow, ST(7) in use where a push would go (C1 = 1): masked, the indefinite is pushed. */
function overflow(f: FpuState): void {
  report(f, IE | SF | C1);
  if ((f.cw & IE) !== 0) { fp.setIndefinite(res); f.push(res); }
}

/**
 * Pushes `v` with the flags of loading it, unless the stack overflows or IE is unmasked. An
 * unmasked DE does not stop a load (the host loads the value).
 */
function push(f: FpuState, v: F80, flags: number): void {
  if (!f.isEmpty(7)) { overflow(f); return; }
  report(f, flags);
  if (!unmasked(f, flags, IE)) f.push(v);
}

/** Overflow of an instruction that replaces ST(0) and pushes: masked, both become the indefinite. */
function overflowBoth(f: FpuState): void {
  report(f, IE | SF | C1);
  if ((f.cw & IE) === 0) return;
  fp.setIndefinite(res);
  f.setSt(0, res);
  f.push(res);
}

// ---- arithmetic --------------------------------------------------------------------------

const enum Op { Add, Mul, Sub, SubR, Div, DivR }

/** dst op src into `res`; returns the flags. */
function compute(op: Op, dst: F80, src: F80, cw: number): number {
  switch (op) {
    case Op.Add: return fp.add(dst, src, false, cw, res);
    case Op.Mul: return fp.mul(dst, src, cw, res);
    case Op.Sub: return fp.add(dst, src, true, cw, res);
    case Op.SubR: return fp.add(src, dst, true, cw, res);
    case Op.Div: return fp.div(dst, src, cw, res);
    default: return fp.div(src, dst, cw, res);
  }
}

/** Writes `res` to ST(dst) and pops `pops` times unless an unmasked exception stops it; reports the flags. */
function complete(f: FpuState, flags: number, dst: number, pops: number): void {
  report(f, flags);
  if (unmasked(f, flags, STOP_REGISTER)) return;
  f.setSt(dst, res);
  for (let k = 0; k < pops; k++) f.pop();
}

/** ST(dst) = ST(dst) op ST(src), then `pops` pops. */
function arithRegister(op: Op, dstIsSt0: boolean, pops: number) {
  return (cpu: Cpu, i: Insn): void => {
    const f = start(cpu, i);
    const dst = dstIsSt0 ? 0 : i.rm, src = dstIsSt0 ? i.rm : 0;
    if (f.isEmpty(0) || f.isEmpty(i.rm)) { underflow(f, dst, pops); return; }
    complete(f, compute(op, f.st(dst, x), f.st(src, y), f.cw), dst, pops);
  };
}

/** Memory operand types: single, double, 16- and 32-bit integers. */
const enum Mem { F32, F64, I16, I32 }

/** Reads a memory operand as an extended value into `out`; returns the DE of a denormal float. */
function readMemory(cpu: Cpu, f: FpuState, i: Insn, type: Mem, out: F80): number {
  const off = operand(cpu, f, i);
  switch (type) {
    case Mem.F32: return fp.fromSingle(cpu.read32(i.seg, off), out);
    case Mem.F64: {
      const lin = readAddress(cpu, i.seg, off, 8);
      const lo = cpu.readLin32(lin);
      return fp.fromDouble(cpu.readLin32((lin + 4) | 0), lo, out);
    }
    case Mem.I16: { const v = (cpu.read16(i.seg, off) << 16) >> 16; fp.fromInteger(v >> 31, v, out); return 0; }
    default: { const v = cpu.read32(i.seg, off); fp.fromInteger(v >> 31, v, out); return 0; }
  }
}

/**
 * The flags of an operation on a memory operand that was a denormal single or double (`de`,
 * from readMemory): its DE counts unless ST(0) is a NaN or the operation met an exception of
 * higher priority, IE or ZE (SDM Vol. 1, 8.7). -1: DE is unmasked, the instruction stops with
 * nothing written.
 */
function withMemoryDenormal(f: FpuState, flags: number, de: number): number {
  if (de === 0 || (flags & (IE | ZE)) !== 0 || fp.classify(x) === fp.Class.QNaN) return flags;
  if (unmasked(f, DE, DE)) { report(f, DE); return -1; }
  return flags | DE;
}

/** ST(0) = ST(0) op m. */
function arithMemory(op: Op, type: Mem) {
  return (cpu: Cpu, i: Insn): void => {
    const f = start(cpu, i);
    const de = readMemory(cpu, f, i, type, y);
    if (f.isEmpty(0)) { underflow(f, 0, 0); return; }
    const flags = withMemoryDenormal(f, compute(op, f.st(0, x), y, f.cw), de);
    if (flags >= 0) complete(f, flags, 0, 0);
  };
}

// ---- comparisons -------------------------------------------------------------------------

/** Sets C3 C2 C0 from fp.compared and clears C1. */
function setCompared(f: FpuState): void {
  f.sw = (f.sw & ~SW_CC) | fp.compared;
}

/**
 * The end of a comparison: the outcome is set even when an exception is unmasked (as the host
 * does), but the pops only happen without one.
 */
function compareFinish(f: FpuState, flags: number, pops: number): void {
  report(f, flags);
  setCompared(f);
  if (unmasked(f, flags, IE | DE)) return;
  for (let k = 0; k < pops; k++) f.pop();
}

/** Underflow of a comparison: masked, the result is "unordered". */
function compareUnderflow(f: FpuState, pops: number): void {
  if (!underflow(f, -1, pops)) return;
  f.sw = (f.sw & ~SW_CC) | fp.UNORDERED;
}

function compareRegister(quiet: boolean, pops: number) {
  return (cpu: Cpu, i: Insn): void => {
    const f = start(cpu, i);
    if (f.isEmpty(0) || f.isEmpty(i.rm)) { compareUnderflow(f, pops); return; }
    compareFinish(f, fp.compare(f.st(0, x), f.st(i.rm, y), quiet), pops);
  };
}

/** FCOMPP and FUCOMPP: ST(0) with ST(1), two pops. */
function comparePop2(quiet: boolean) {
  return (cpu: Cpu, i: Insn): void => {
    const f = start(cpu, i);
    if (f.isEmpty(0) || f.isEmpty(1)) { compareUnderflow(f, 2); return; }
    compareFinish(f, fp.compare(f.st(0, x), f.st(1, y), quiet), 2);
  };
}

function compareMemory(type: Mem, pops: number) {
  return (cpu: Cpu, i: Insn): void => {
    const f = start(cpu, i);
    const de = readMemory(cpu, f, i, type, y);
    if (f.isEmpty(0)) { compareUnderflow(f, pops); return; }
    const flags = withMemoryDenormal(f, fp.compare(f.st(0, x), y, false), de);
    if (flags >= 0) compareFinish(f, flags, pops);
  };
}

/** FTST: ST(0) with +0.0. */
function ftst(cpu: Cpu, i: Insn): void {
  const f = start(cpu, i);
  if (f.isEmpty(0)) { compareUnderflow(f, 0); return; }
  compareFinish(f, fp.compare(f.st(0, x), y.set(0, 0, 0), false), 0);
}

/** FCOMI/FUCOMI(P): the outcome in ZF PF CF, OF SF AF cleared (SDM Vol. 2, FCOMI). */
function compareToEflags(quiet: boolean, pops: number) {
  return (cpu: Cpu, i: Insn): void => {
    const f = start(cpu, i);
    let outcome: number;
    if (f.isEmpty(0) || f.isEmpty(i.rm)) {
      if (!underflow(f, -1, pops)) return;
      outcome = fp.UNORDERED;
    } else {
      const flags = fp.compare(f.st(0, x), f.st(i.rm, y), quiet);
      report(f, flags);
      outcome = fp.compared;
      if (!unmasked(f, flags, IE | DE)) for (let k = 0; k < pops; k++) f.pop();
    }
    setArithFlags(cpu, ((outcome & SW_C3) !== 0 ? FLAG_ZF : 0) | ((outcome & SW_C2) !== 0 ? FLAG_PF : 0) |
      ((outcome & SW_C0) !== 0 ? FLAG_CF : 0));
  };
}

/** FXAM: the class of ST(0) in C3 C2 C0 (empty is 101B), its sign in C1. */
function fxam(cpu: Cpu, i: Insn): void {
  const f = start(cpu, i);
  const r = f.phys(0);
  const cls = f.isEmpty(0) ? SW_C3 | SW_C0 : fp.examine(f.value(r, x));
  f.sw = (f.sw & ~SW_CC) | cls | ((f.se[r] & 0x8000) !== 0 ? C1 : 0);
}

// ---- loads and stores --------------------------------------------------------------------

/** FLD m32fp / m64fp: an SNaN is quieted with IE, a denormal signals DE. */
function fldFloat(type: Mem) {
  return (cpu: Cpu, i: Insn): void => {
    const f = start(cpu, i);
    let flags = readMemory(cpu, f, i, type, y);
    if (fp.classify(y) === fp.Class.SNaN) { y.hi |= 0x40000000; flags |= IE; }
    push(f, y, flags);
  };
}

function fldInteger(type: Mem) {
  return (cpu: Cpu, i: Insn): void => {
    const f = start(cpu, i);
    readMemory(cpu, f, i, type, y);
    push(f, y, 0);
  };
}

/** FLD m80fp: loaded as it is, no exception for any encoding. */
function fldExtended(cpu: Cpu, i: Insn): void {
  const f = start(cpu, i);
  const off = operand(cpu, f, i);
  push(f, readF80(cpu, readAddress(cpu, i.seg, off, 10), y), 0);
}

function fildQword(cpu: Cpu, i: Insn): void {
  const f = start(cpu, i);
  const lin = readAddress(cpu, i.seg, operand(cpu, f, i), 8);
  const lo = cpu.readLin32(lin);
  fp.fromInteger(cpu.readLin32((lin + 4) | 0), lo, y);
  push(f, y, 0);
}

function fbld(cpu: Cpu, i: Insn): void {
  const f = start(cpu, i);
  const lin = readAddress(cpu, i.seg, operand(cpu, f, i), 10);
  for (let k = 0; k < 10; k++) bcd[k] = cpu.readLin8((lin + k) | 0);
  fromBcd(bcd, y);
  push(f, y, 0);
}

/** FLD ST(i): ST(i) is read before the push moves TOP. */
function fldRegister(cpu: Cpu, i: Insn): void {
  const f = start(cpu, i);
  if (f.isEmpty(i.rm)) {
    if (!f.isEmpty(7)) { overflow(f); return; }
    report(f, IE | SF);
    if ((f.cw & IE) !== 0) { fp.setIndefinite(y); f.push(y); }
    return;
  }
  push(f, f.st(i.rm, y), 0);
}

/**
 * The constants of D9 E8-EE, each as its first 64 significand bits and the next 32: the
 * ones that are not exact round by rounding control (SDM Vol. 1, 8.3.8).
 */
const CONSTANTS: readonly (readonly [se: number, hi: number, lo: number, below: number])[] = [
  [0x3fff, 0x80000000, 0x00000000, 0],            // FLD1
  [0x4000, 0xd49a784b, 0xcd1b8afe, 0x492bf6ff],   // FLDL2T log2(10)
  [0x3fff, 0xb8aa3b29, 0x5c17f0bb, 0xbe87fed0],   // FLDL2E log2(e)
  [0x4000, 0xc90fdaa2, 0x2168c234, 0xc4c6628b],   // FLDPI
  [0x3ffd, 0x9a209a84, 0xfbcff798, 0x8f8959ac],   // FLDLG2 log10(2)
  [0x3ffe, 0xb17217f7, 0xd1cf79ab, 0xc9e3b398],   // FLDLN2 ln(2)
  [0x0000, 0x00000000, 0x00000000, 0],            // FLDZ
];

function fldConstant(k: number) {
  const [se, hi, lo, below] = CONSTANTS[k];
  return (cpu: Cpu, i: Insn): void => {
    const f = start(cpu, i);
    // Rounding a constant is not an inexact result: PE stays clear (SDM Vol. 2, FLD1/FLDL2T...).
    fp.roundConstant(se, hi, lo, below, f.cw, y);
    push(f, y, 0);
  };
}

/** FST/FSTP m32fp and m64fp. */
function fstFloat(double: boolean, pops: number) {
  return (cpu: Cpu, i: Insn): void => {
    const f = start(cpu, i);
    const off = operand(cpu, f, i);
    let flags: number;
    if (f.isEmpty(0)) {
      flags = IE | SF;
      if ((f.cw & IE) === 0) { report(f, flags); return; }
      fp.setIndefinite(x);
      fp.toFloat(x, double ? fp.DOUBLE : fp.SINGLE, f.cw);
    } else {
      flags = fp.toFloat(f.st(0, x), double ? fp.DOUBLE : fp.SINGLE, f.cw);
      if (unmasked(f, flags, STOP_MEMORY)) { report(f, flags & ~(fp.PE | C1)); return; }
    }
    if (double) {
      const lin = writeAddress(cpu, i.seg, off, 8);
      cpu.writeLin32(lin, fp.packedLo);
      cpu.writeLin32((lin + 4) | 0, fp.packedHi);
    } else {
      cpu.write32(i.seg, off, fp.packedHi);
    }
    report(f, flags);
    for (let k = 0; k < pops; k++) f.pop();
  };
}

/** FSTP m80fp: stored as it is. */
function fstpExtended(cpu: Cpu, i: Insn): void {
  const f = start(cpu, i);
  const off = operand(cpu, f, i);
  let flags = 0;
  if (f.isEmpty(0)) {
    flags = IE | SF;
    if ((f.cw & IE) === 0) { report(f, flags); return; }
    fp.setIndefinite(x);
  } else f.st(0, x);
  writeF80(cpu, writeAddress(cpu, i.seg, off, 10), x);
  report(f, flags);
  f.pop();
}

/** FIST/FISTP m16, m32, m64: rounded by rounding control; out of range is IE (masked: the integer indefinite). */
function fist(bits: number, pops: number) {
  return (cpu: Cpu, i: Insn): void => {
    const f = start(cpu, i);
    const off = operand(cpu, f, i);
    let flags: number;
    if (f.isEmpty(0)) {
      flags = IE | SF;
      fp.setIndefinite(x);
      fp.toInteger(x, bits, f.cw);
    } else {
      flags = fp.toInteger(f.st(0, x), bits, f.cw);
    }
    if (unmasked(f, flags, IE)) { report(f, flags); return; }
    if (bits === 16) cpu.write16(i.seg, off, fp.intLo);
    else if (bits === 32) cpu.write32(i.seg, off, fp.intLo);
    else {
      const lin = writeAddress(cpu, i.seg, off, 8);
      cpu.writeLin32(lin, fp.intLo);
      cpu.writeLin32((lin + 4) | 0, fp.intHi);
    }
    report(f, flags);
    for (let k = 0; k < pops; k++) f.pop();
  };
}

function fbstp(cpu: Cpu, i: Insn): void {
  const f = start(cpu, i);
  const lin = writeAddress(cpu, i.seg, operand(cpu, f, i), 10);
  let flags: number;
  if (f.isEmpty(0)) {
    flags = IE | SF;
    fp.setIndefinite(x);
    toBcd(x, f.cw, bcd);
  } else {
    flags = toBcd(f.st(0, x), f.cw, bcd);
  }
  if (unmasked(f, flags, IE)) { report(f, flags); return; }
  for (let k = 0; k < 10; k++) cpu.writeLin8((lin + k) | 0, bcd[k]);
  report(f, flags);
  f.pop();
}

/** FST/FSTP ST(i): a copy, no exception but underflow. */
function fstRegister(pops: number) {
  return (cpu: Cpu, i: Insn): void => {
    const f = start(cpu, i);
    if (f.isEmpty(0)) { underflow(f, i.rm, pops); return; }
    report(f, 0);
    f.setSt(i.rm, f.st(0, x));
    for (let k = 0; k < pops; k++) f.pop();
  };
}

/** FXCH: an empty register takes part as the indefinite (masked underflow). */
function fxch(cpu: Cpu, i: Insn): void {
  const f = start(cpu, i);
  f.st(0, x); f.st(i.rm, y);
  if (f.isEmpty(0) || f.isEmpty(i.rm)) {
    report(f, IE | SF);
    if ((f.cw & IE) === 0) return;
    if (f.isEmpty(0)) fp.setIndefinite(x);
    if (f.isEmpty(i.rm)) fp.setIndefinite(y);
  } else {
    report(f, 0);
  }
  f.setSt(0, y);
  f.setSt(i.rm, x);
}

/** FCMOVcc: ST(0) = ST(i) when the EFLAGS condition `cc` (tttn) holds. */
function fcmov(cc: number) {
  return (cpu: Cpu, i: Insn): void => {
    const f = start(cpu, i);
    if (f.isEmpty(0) || f.isEmpty(i.rm)) { underflow(f, 0, 0); return; }
    report(f, 0);
    if (testCondition(cpu, cc)) f.setSt(0, f.st(i.rm, x));
  };
}

// ---- one-operand instructions on ST(0) ---------------------------------------------------

/** FCHS and FABS change the sign bit alone: no exception, not even for an SNaN. */
function signOp(change: (se: number) => number) {
  return (cpu: Cpu, i: Insn): void => {
    const f = start(cpu, i);
    if (f.isEmpty(0)) { underflow(f, 0, 0); return; }
    report(f, 0);
    const r = f.phys(0);
    f.se[r] = change(f.se[r]);
  };
}

/** ST(0) = fn(ST(0)): FSQRT, FRNDINT. */
function unaryOp(fn: (a: F80, cw: number, out: F80) => number) {
  return (cpu: Cpu, i: Insn): void => {
    const f = start(cpu, i);
    if (f.isEmpty(0)) { underflow(f, 0, 0); return; }
    complete(f, fn(f.st(0, x), f.cw, res), 0, 0);
  };
}

/** ST(0) = fn(ST(0), ST(1)): FSCALE. */
function fscale(cpu: Cpu, i: Insn): void {
  const f = start(cpu, i);
  if (f.isEmpty(0) || f.isEmpty(1)) { underflow(f, 0, 0); return; }
  complete(f, fp.scale(f.st(0, x), f.st(1, y), f.cw, res), 0, 0);
}

/** FPREM (`nearest` false) and FPREM1: C2 = incomplete reduction, C0 C3 C1 = quotient bits 2, 1, 0. */
function fprem(nearest: boolean) {
  return (cpu: Cpu, i: Insn): void => {
    const f = start(cpu, i);
    if (f.isEmpty(0) || f.isEmpty(1)) { underflow(f, 0, 0); return; }
    const flags = fp.remainder(f.st(0, x), f.st(1, y), nearest, f.cw, res);
    complete(f, flags & ~C1, 0, 0);
    if (unmasked(f, flags, STOP_REGISTER)) return;
    const q = fp.quotientLow;
    f.sw = (f.sw & ~SW_CC) | (fp.partial ? SW_C2 : 0) |
      ((q & 4) !== 0 ? SW_C0 : 0) | ((q & 2) !== 0 ? SW_C3 : 0) | ((q & 1) !== 0 ? C1 : 0);
  };
}

/** FXTRACT: ST(0) becomes the exponent, and the significand is pushed. */
function fxtract(cpu: Cpu, i: Insn): void {
  const f = start(cpu, i);
  if (f.isEmpty(0)) { underflow(f, 0, 0); return; }
  if (!f.isEmpty(7)) { overflowBoth(f); return; }
  const flags = fp.extract(f.st(0, x), f.cw, res, res2);
  report(f, flags);
  if (unmasked(f, flags, STOP_REGISTER)) return;
  f.setSt(0, res);
  f.push(res2);
}

// ---- transcendental instructions (transcendental.ts: 53-bit results) --------------------

/** FSIN, FCOS, F2XM1 on ST(0); FPTAN also pushes 1.0. Out of range (|x| >= 2^63): C2 set, nothing changes. */
function trig(fn: Fn, pushOne: boolean) {
  return (cpu: Cpu, i: Insn): void => {
    const f = start(cpu, i);
    f.sw &= ~SW_C2;
    if (f.isEmpty(0)) { underflow(f, 0, 0); return; }
    if (fn !== Fn.TwoXM1 && outOfRange(f.st(0, x))) { report(f, 0); f.sw |= SW_C2; return; }
    if (pushOne && !f.isEmpty(7)) { overflowBoth(f); return; }
    const flags = unary(fn, f.st(0, x), res);
    complete(f, flags, 0, 0);
    if (pushOne && !unmasked(f, flags, STOP_REGISTER)) f.push(y.set(0x3fff, 0x80000000, 0));
  };
}

/** FSINCOS: ST(0) = sin, then cos pushed. */
function fsincos(cpu: Cpu, i: Insn): void {
  const f = start(cpu, i);
  f.sw &= ~SW_C2;
  if (f.isEmpty(0)) { underflow(f, 0, 0); return; }
  if (outOfRange(f.st(0, x))) { report(f, 0); f.sw |= SW_C2; return; }
  if (!f.isEmpty(7)) { overflowBoth(f); return; }
  const flags = unary(Fn.Sin, x, res) | unary(Fn.Cos, x, res2);
  report(f, flags);
  if (unmasked(f, flags, STOP_REGISTER)) return;
  f.setSt(0, res);
  f.push(res2);
}

/** FPATAN, FYL2X, FYL2XP1: ST(1) = fn(ST(1), ST(0)), then pop. */
function binaryPop(fn: (y: F80, x: F80, out: F80) => number) {
  return (cpu: Cpu, i: Insn): void => {
    const f = start(cpu, i);
    if (f.isEmpty(0) || f.isEmpty(1)) { underflow(f, 1, 1); return; }
    complete(f, fn(f.st(1, y), f.st(0, x), res), 1, 1);
  };
}

// ---- control instructions ----------------------------------------------------------------

function fnstsw(cpu: Cpu, i: Insn): void {
  const f = startNoWait(cpu, i);
  if (i.mem) cpu.write16(i.seg, ea(cpu, i), f.statusWord());
  else cpu.regs[EAX] = (cpu.regs[EAX] & ~0xffff) | f.statusWord();
}

function fnstcw(cpu: Cpu, i: Insn): void {
  const f = startNoWait(cpu, i);
  cpu.write16(i.seg, ea(cpu, i), f.cw);
}

function fldcw(cpu: Cpu, i: Insn): void {
  const f = startControl(cpu, i);
  f.setControlWord(cpu.read16(i.seg, ea(cpu, i)));
}

/** FNCLEX: the exception flags, SF, ES and B. */
function fnclex(cpu: Cpu, i: Insn): void {
  startNoWait(cpu, i).clearExceptions();
}

function fninit(cpu: Cpu, i: Insn): void {
  startNoWait(cpu, i).init();
}

/** FNENI, FNDISI (8087 interrupt masks) and FSETPM (287 protected mode) do nothing on a 387 or later. */
function obsolete(cpu: Cpu, i: Insn): void {
  startNoWait(cpu, i);
}

function environment(op: (cpu: Cpu, seg: number, off: number, o32: boolean) => void, waits: boolean) {
  return (cpu: Cpu, i: Insn): void => {
    if (waits) startControl(cpu, i); else startNoWait(cpu, i);
    op(cpu, i.seg, ea(cpu, i), i.o32);
  };
}

/** FINCSTP, FDECSTP: TOP moves, tags stay; C1 = 0. */
function stackPointer(delta: number) {
  return (cpu: Cpu, i: Insn): void => {
    const f = start(cpu, i);
    f.top = (f.top + delta) & 7;
    f.sw &= ~C1;
  };
}

/** FFREE ST(i), and the undocumented FFREEP (then pops), which processors execute and nasm knows. */
function ffree(pops: number) {
  return (cpu: Cpu, i: Insn): void => {
    const f = start(cpu, i);
    f.empty |= 1 << f.phys(i.rm);
    for (let k = 0; k < pops; k++) f.pop();
  };
}

function fnop(cpu: Cpu, i: Insn): void {
  start(cpu, i);
}

/** An encoding that is no instruction on this processor (FISTTP: SSE3). */
function undefinedX87(cpu: Cpu): void {
  cpu.raise(UD);
}

// ---- FXSAVE / FXRSTOR --------------------------------------------------------------------

/** #UD without FXSR, #NM for CR0.EM/TS, #GP(0) unless the area is 16-byte aligned (SDM Vol. 2, FXSAVE). */
function fxArea(cpu: Cpu, i: Insn, write: boolean): number {
  rejectLock(cpu, i);
  if ((cpu.model.featuresEdx & CPUID_EDX_FXSR) === 0) cpu.raise(UD);
  checkDevice(cpu);
  const off = ea(cpu, i);
  if (((cpu.segBase[i.seg] + off) & 15) !== 0) cpu.raiseWithCode(GP, 0);
  return write ? writeAddress(cpu, i.seg, off, FXSAVE_SIZE) : readAddress(cpu, i.seg, off, FXSAVE_SIZE);
}

// ---- the opcode map ----------------------------------------------------------------------

const ARITH_OPS = [Op.Add, Op.Mul, -1, -1, Op.Sub, Op.SubR, Op.Div, Op.DivR];
/** In the DC and DE register forms the SDM swaps SUB with SUBR and DIV with DIVR. */
const ARITH_OPS_REVERSED = [Op.Add, Op.Mul, -1, -1, Op.SubR, Op.Sub, Op.DivR, Op.Div];
const ARITH_NAMES = ['fadd', 'fmul', 'fcom', 'fcomp', 'fsub', 'fsubr', 'fdiv', 'fdivr'];

function mem(op: number, reg: number, name: string, exec: (cpu: Cpu, i: Insn) => void): void {
  defineGroup(op, reg, { name, operands: 'x87', memOnly: true, exec });
}

/** One register form, or all eight ST(i) forms of ModR/M.reg when `rm` is omitted. */
function reg(op: number, r: number, name: string, exec: (cpu: Cpu, i: Insn) => void, rm?: number): void {
  for (let k = 0; k < 8; k++) {
    if (rm === undefined || rm === k) defineGroupMod3(op, r, k, { name, operands: 'x87', exec });
  }
}

export function register(): void {
  defineOp(0x9b, { name: 'wait', exec: wait });

  // D8 (m32fp), DC (m64fp), DA (m32int), DE (m16int): the arithmetic and compare groups.
  const memTypes: [number, Mem, string][] = [[0xd8, Mem.F32, 'f'], [0xdc, Mem.F64, 'f'], [0xda, Mem.I32, 'fi'], [0xde, Mem.I16, 'fi']];
  for (const [op, type, prefix] of memTypes) {
    for (let r = 0; r < 8; r++) {
      const name = prefix + ARITH_NAMES[r].slice(1);
      if (r === 2 || r === 3) mem(op, r, name, compareMemory(type, r - 2));
      else mem(op, r, name, arithMemory(ARITH_OPS[r], type));
    }
  }
  for (let r = 0; r < 8; r++) {
    if (r === 2 || r === 3) continue;
    reg(0xd8, r, ARITH_NAMES[r], arithRegister(ARITH_OPS[r], true, 0));
    reg(0xdc, r, ARITH_NAMES[r], arithRegister(ARITH_OPS_REVERSED[r], false, 0));
    reg(0xde, r, `${ARITH_NAMES[r]}p`, arithRegister(ARITH_OPS_REVERSED[r], false, 1));
  }
  reg(0xd8, 2, 'fcom', compareRegister(false, 0));
  reg(0xd8, 3, 'fcomp', compareRegister(false, 1));
  reg(0xde, 3, 'fcompp', comparePop2(false), 1);

  // D9: loads, stores, constants, control, and the one-operand functions.
  mem(0xd9, 0, 'fld', fldFloat(Mem.F32));
  mem(0xd9, 2, 'fst', fstFloat(false, 0));
  mem(0xd9, 3, 'fstp', fstFloat(false, 1));
  mem(0xd9, 4, 'fldenv', environment(fldenv, true));
  mem(0xd9, 5, 'fldcw', fldcw);
  mem(0xd9, 6, 'fnstenv', environment(fnstenv, false));
  mem(0xd9, 7, 'fnstcw', fnstcw);
  reg(0xd9, 0, 'fld', fldRegister);
  reg(0xd9, 1, 'fxch', fxch);
  reg(0xd9, 2, 'fnop', fnop, 0);
  reg(0xd9, 4, 'fchs', signOp((se) => se ^ 0x8000), 0);
  reg(0xd9, 4, 'fabs', signOp((se) => se & 0x7fff), 1);
  reg(0xd9, 4, 'ftst', ftst, 4);
  reg(0xd9, 4, 'fxam', fxam, 5);
  ['fld1', 'fldl2t', 'fldl2e', 'fldpi', 'fldlg2', 'fldln2', 'fldz'].forEach((name, k) => reg(0xd9, 5, name, fldConstant(k), k));
  reg(0xd9, 6, 'f2xm1', trig(Fn.TwoXM1, false), 0);
  reg(0xd9, 6, 'fyl2x', binaryPop((b, a, out) => ylog2x(b, a, false, out)), 1);
  reg(0xd9, 6, 'fptan', trig(Fn.Tan, true), 2);
  reg(0xd9, 6, 'fpatan', binaryPop(atan2), 3);
  reg(0xd9, 6, 'fxtract', fxtract, 4);
  reg(0xd9, 6, 'fprem1', fprem(true), 5);
  reg(0xd9, 6, 'fdecstp', stackPointer(-1), 6);
  reg(0xd9, 6, 'fincstp', stackPointer(1), 7);
  reg(0xd9, 7, 'fprem', fprem(false), 0);
  reg(0xd9, 7, 'fyl2xp1', binaryPop((b, a, out) => ylog2x(b, a, true, out)), 1);
  reg(0xd9, 7, 'fsqrt', unaryOp(fp.sqrt), 2);
  reg(0xd9, 7, 'fsincos', fsincos, 3);
  reg(0xd9, 7, 'frndint', unaryOp(fp.roundToInteger), 4);
  reg(0xd9, 7, 'fscale', fscale, 5);
  reg(0xd9, 7, 'fsin', trig(Fn.Sin, false), 6);
  reg(0xd9, 7, 'fcos', trig(Fn.Cos, false), 7);

  // DA, DB: FCMOVcc (tttn codes B E BE U, then their negations), FUCOMPP, FUCOMI, FCOMI.
  [0x2, 0x4, 0x6, 0xa].forEach((cc, r) => {
    reg(0xda, r, `fcmov${['b', 'e', 'be', 'u'][r]}`, fcmov(cc));
    reg(0xdb, r, `fcmov${['nb', 'ne', 'nbe', 'nu'][r]}`, fcmov(cc | 1));
  });
  reg(0xda, 5, 'fucompp', comparePop2(true), 1);
  reg(0xdb, 5, 'fucomi', compareToEflags(true, 0));
  reg(0xdb, 6, 'fcomi', compareToEflags(false, 0));
  reg(0xdb, 4, 'fneni', obsolete, 0);
  reg(0xdb, 4, 'fndisi', obsolete, 1);
  reg(0xdb, 4, 'fnclex', fnclex, 2);
  reg(0xdb, 4, 'fninit', fninit, 3);
  reg(0xdb, 4, 'fsetpm', obsolete, 4);
  mem(0xdb, 0, 'fild', fldInteger(Mem.I32));
  mem(0xdb, 1, 'fisttp', undefinedX87);
  mem(0xdb, 2, 'fist', fist(32, 0));
  mem(0xdb, 3, 'fistp', fist(32, 1));
  mem(0xdb, 5, 'fld', fldExtended);
  mem(0xdb, 7, 'fstp', fstpExtended);

  // DD: double loads and stores, FRSTOR/FNSAVE, FNSTSW m16; FFREE, FST(P) ST(i), FUCOM(P).
  mem(0xdd, 0, 'fld', fldFloat(Mem.F64));
  mem(0xdd, 1, 'fisttp', undefinedX87);
  mem(0xdd, 2, 'fst', fstFloat(true, 0));
  mem(0xdd, 3, 'fstp', fstFloat(true, 1));
  mem(0xdd, 4, 'frstor', environment(frstor, true));
  mem(0xdd, 6, 'fnsave', environment(fnsave, false));
  mem(0xdd, 7, 'fnstsw', fnstsw);
  reg(0xdd, 0, 'ffree', ffree(0));
  reg(0xdd, 2, 'fst', fstRegister(0));
  reg(0xdd, 3, 'fstp', fstRegister(1));
  reg(0xdd, 4, 'fucom', compareRegister(true, 0));
  reg(0xdd, 5, 'fucomp', compareRegister(true, 1));

  // DF: 16- and 64-bit integers, BCD, FNSTSW AX, FUCOMIP, FCOMIP, FFREEP.
  mem(0xdf, 0, 'fild', fldInteger(Mem.I16));
  mem(0xdf, 1, 'fisttp', undefinedX87);
  mem(0xdf, 2, 'fist', fist(16, 0));
  mem(0xdf, 3, 'fistp', fist(16, 1));
  mem(0xdf, 4, 'fbld', fbld);
  mem(0xdf, 5, 'fild', fildQword);
  mem(0xdf, 6, 'fbstp', fbstp);
  mem(0xdf, 7, 'fistp', fist(64, 1));
  reg(0xdf, 0, 'ffreep', ffree(1));
  reg(0xdf, 4, 'fnstsw', fnstsw, 0);
  reg(0xdf, 5, 'fucomip', compareToEflags(true, 1));
  reg(0xdf, 6, 'fcomip', compareToEflags(false, 1));

  // 0F AE /0 /1 (memory forms only; the register forms of 0F AE are SSE fences).
  defineGroup(0x1ae, 0, { name: 'fxsave', operands: 'M', memOnly: true, exec: (cpu, i) => fxsave(cpu, fxArea(cpu, i, true)) });
  defineGroup(0x1ae, 1, { name: 'fxrstor', operands: 'M', memOnly: true, exec: (cpu, i) => fxrstor(cpu, fxArea(cpu, i, false)) });
}
