/**
 * Lazy arithmetic flags. An ALU instruction records its operation, operands and result;
 * CF, PF, AF, ZF, SF and OF are computed only when something reads them (Jcc, PUSHF, ...).
 * `lzMask` says which of the six come from the record; the others are in `cpu.flags`.
 */
import type { Cpu } from './cpu';
import {
  FLAG_AF, FLAG_CF, FLAG_OF, FLAG_PF, FLAG_SF, FLAG_ZF, FLAGS_ARITH, FLAGS_FIXED_ONE,
} from './registers';

export const enum LazyOp { Add, Adc, Sub, Sbb, Logic, Inc, Dec, Neg }

/** PF: set when the low byte of the result has an even number of 1 bits. */
const PARITY = new Uint8Array(256);
for (let v = 0; v < 256; v++) {
  let bits = 0;
  for (let b = v; b !== 0; b >>= 1) bits += b & 1;
  PARITY[v] = (bits & 1) === 0 ? FLAG_PF : 0;
}
export function parityFlag(v: number): number { return PARITY[v & 0xff]; }

function sizeMask(size: number): number { return size === 32 ? -1 : (1 << size) - 1; }

/** Records an operation; `size` is 8, 16 or 32. */
export function setLazy(cpu: Cpu, op: LazyOp, dst: number, src: number, res: number, size: number): void {
  cpu.lzOp = op; cpu.lzDst = dst; cpu.lzSrc = src; cpu.lzRes = res; cpu.lzSize = size;
  cpu.lzMask = FLAGS_ARITH;
}

/** INC and DEC leave CF alone: fold the current CF into `flags` and keep it out of the record. */
export function setLazyKeepCF(cpu: Cpu, op: LazyOp, dst: number, res: number, size: number): void {
  const cf = getCF(cpu);
  cpu.flags = (cpu.flags & ~FLAG_CF) | cf;
  cpu.lzOp = op; cpu.lzDst = dst; cpu.lzSrc = 1; cpu.lzRes = res; cpu.lzSize = size;
  cpu.lzMask = FLAGS_ARITH & ~FLAG_CF;
}

export function getCF(cpu: Cpu): number {
  if ((cpu.lzMask & FLAG_CF) === 0) return cpu.flags & FLAG_CF;
  const m = sizeMask(cpu.lzSize);
  const d = (cpu.lzDst & m) >>> 0, s = (cpu.lzSrc & m) >>> 0, r = (cpu.lzRes & m) >>> 0;
  switch (cpu.lzOp) {
    case LazyOp.Add: return r < d ? 1 : 0;
    case LazyOp.Adc: return (cpu.lzCarryIn ? r <= d : r < d) ? 1 : 0;
    case LazyOp.Sub: return d < s ? 1 : 0;
    case LazyOp.Sbb: return (cpu.lzCarryIn ? d <= s : d < s) ? 1 : 0;
    case LazyOp.Neg: return s !== 0 ? 1 : 0;
    default: return 0;
  }
}

export function getZF(cpu: Cpu): number {
  if ((cpu.lzMask & FLAG_ZF) === 0) return cpu.flags & FLAG_ZF;
  return (cpu.lzRes & sizeMask(cpu.lzSize)) === 0 ? FLAG_ZF : 0;
}

export function getSF(cpu: Cpu): number {
  if ((cpu.lzMask & FLAG_SF) === 0) return cpu.flags & FLAG_SF;
  return (cpu.lzRes >>> (cpu.lzSize - 1)) & 1 ? FLAG_SF : 0;
}

export function getPF(cpu: Cpu): number {
  if ((cpu.lzMask & FLAG_PF) === 0) return cpu.flags & FLAG_PF;
  return PARITY[cpu.lzRes & 0xff];
}

export function getAF(cpu: Cpu): number {
  if ((cpu.lzMask & FLAG_AF) === 0) return cpu.flags & FLAG_AF;
  if (cpu.lzOp === LazyOp.Logic) return 0;
  return (cpu.lzDst ^ cpu.lzSrc ^ cpu.lzRes) & FLAG_AF;
}

export function getOF(cpu: Cpu): number {
  if ((cpu.lzMask & FLAG_OF) === 0) return cpu.flags & FLAG_OF;
  const top = cpu.lzSize - 1;
  const d = cpu.lzDst, s = cpu.lzSrc, r = cpu.lzRes;
  switch (cpu.lzOp) {
    case LazyOp.Add: case LazyOp.Adc: case LazyOp.Inc:
      return ((d ^ r) & (s ^ r)) >>> top & 1 ? FLAG_OF : 0;
    case LazyOp.Sub: case LazyOp.Sbb: case LazyOp.Dec:
      return ((d ^ s) & (d ^ r)) >>> top & 1 ? FLAG_OF : 0;
    case LazyOp.Neg:
      return ((s & r) >>> top) & 1 ? FLAG_OF : 0;
    default: return 0;
  }
}

/** The full EFLAGS value; materializes the lazy flags. */
export function getEflags(cpu: Cpu): number {
  if (cpu.lzMask !== 0) {
    const arith = getCF(cpu) | getPF(cpu) | getAF(cpu) | getZF(cpu) | getSF(cpu) | getOF(cpu);
    cpu.flags = (cpu.flags & ~FLAGS_ARITH) | arith;
    cpu.lzMask = 0;
  }
  return cpu.flags | FLAGS_FIXED_ONE;
}

/** Sets the six status flags from `value`, leaving the others. */
export function setArithFlags(cpu: Cpu, value: number): void {
  cpu.flags = (cpu.flags & ~FLAGS_ARITH) | (value & FLAGS_ARITH);
  cpu.lzMask = 0;
}

/** Sets or clears some status flags eagerly (shifts, BT, MUL, ...); the rest stay as they are. */
export function setFlagBits(cpu: Cpu, mask: number, value: number): void {
  getEflags(cpu);
  cpu.flags = (cpu.flags & ~mask) | (value & mask);
}

/** Condition codes tttn of Jcc/SETcc/CMOVcc (SDM Vol. 1, appendix B). */
export function testCondition(cpu: Cpu, cc: number): boolean {
  let r: boolean;
  switch (cc >> 1) {
    case 0: r = getOF(cpu) !== 0; break;                           // O
    case 1: r = getCF(cpu) !== 0; break;                           // B/C
    case 2: r = getZF(cpu) !== 0; break;                           // E/Z
    case 3: r = getCF(cpu) !== 0 || getZF(cpu) !== 0; break;       // BE
    case 4: r = getSF(cpu) !== 0; break;                           // S
    case 5: r = getPF(cpu) !== 0; break;                           // P
    case 6: r = (getSF(cpu) !== 0) !== (getOF(cpu) !== 0); break;  // L
    default: r = getZF(cpu) !== 0 || (getSF(cpu) !== 0) !== (getOF(cpu) !== 0); // LE
  }
  return (cc & 1) !== 0 ? !r : r;
}
