/**
 * Code generation for a chosen template (nasm's calcsize + gencode): legacy prefixes in nasm's
 * order (WAIT, REP, LOCK, segment, 66, 67), then the template's steps. Immediates are written
 * truncated to their field, with nasm's overflow warnings; relative operands are measured from
 * the end of the instruction.
 */
import { effectiveAddress } from './ea';
import * as F from './opflags';
import type { Insn, Opnd } from './operand';
import {
  IMM_B, IMM_BS, IMM_BU, IMM_D, IMM_W, IMM_WD, IMM_WDQ, REL_8,
  STEP_A16, STEP_A32, STEP_IMM, STEP_LIT, STEP_MODRM_DIGIT, STEP_MODRM_REG, STEP_REG_ADD, STEP_REL, STEP_SEG,
  type Template,
} from './templates';

const SEGMENT_PREFIX: Record<string, number> = { es: 0x26, cs: 0x2e, ss: 0x36, ds: 0x3e, fs: 0x64, gs: 0x65 };
const SIZE_NAME = ['', 'byte', 'word', '', 'dword'];

/** Output of one emission: bytes in `buf[0..length)`. */
export interface Emission {
  length: number;
  /** An error nasm reports only when it writes the code (its final pass). */
  lateError: string | undefined;
}

const buf = new Uint8Array(32);
let pos = 0;
/** When set, the emission only measures (a jump form being tried): no warnings. */
let probing = false;
let warnings: string[] = [];

function put(b: number): void { buf[pos++] = b; }

function putLE(v: number, bytes: number): void {
  for (let k = 0; k < bytes; k++) buf[pos++] = v >>> (k * 8);
}

/** Records a warning once; nasm sometimes prints the same one twice (it computes an address twice). */
function warn(message: string): void {
  if (!probing && !warnings.includes(message)) warnings.push(message);
}

/** 2^(8 * bytes), by field size. */
const RANGE = [1, 0x100, 0x10000, 0, 0x100000000];

/** nasm's overflow_general: outside both the signed and the unsigned range of `bytes`. */
function overflowGeneral(v: number, bytes: number): boolean {
  return v < -RANGE[bytes] || v > RANGE[bytes] - 1;
}

function overflowUnsigned(v: number, bytes: number): boolean {
  return v < 0 || v > RANGE[bytes] - 1;
}

/** An immediate field: value truncated to `bytes`, warning as nasm's out() does for fixed data. */
function immediate(op: Opnd, bytes: number, unsigned: boolean, bits: number): void {
  if (!op.reloc && !op.unknown) {
    const bad = unsigned && bytes < bits / 8 ? overflowUnsigned(op.value, bytes) : overflowGeneral(op.value, bytes);
    if (bad) warn(`${SIZE_NAME[bytes]} data exceeds bounds`);
  }
  putLE(op.value, bytes);
}

/** ib,s: the byte the CPU sign-extends to the operand size `s`. */
function signedByte(op: Opnd, s: number): void {
  const v = op.value;
  if (!op.reloc && !op.unknown) {
    const um = 2 ** s;
    if (v < -128 || (v > 127 && (v < um - 128 || v > um - 1))) {
      warn(`${(op.type & F.BITS8) !== 0 ? 'signed byte' : s === 16 ? 'word' : 'dword'} value exceeds bounds`);
    }
  }
  put(v);
}

function operandBytes(op: Opnd, bits: number): number {
  if (op.type & F.BITS16) return 2;
  if (op.type & F.BITS32) return 4;
  return bits === 16 ? 2 : 4;
}

/**
 * Encodes `insn` with template `t` into the shared buffer. Returns an error message for an
 * operand the template cannot encode (an invalid effective address), else the emission.
 */
export function emit(t: Template, insn: Insn, probe: boolean, out: string[]): Emission | string {
  pos = 0;
  probing = probe;
  warnings = out;
  const bits = insn.bits;
  const p = insn.prefixes;
  let lateError: string | undefined;

  // Operand size: the form's o16/o32 becomes the 66 prefix unless o16/o32 was written.
  let osize = p.osize;
  if (t.osize !== 0) {
    const want = t.osize === 16 ? 'o16' : 'o32';
    if (osize === '') osize = want;
    else if (osize !== want) warn(`invalid operand size prefix, must be ${want}`);
  }
  if (t.obsolete) warn('instruction obsolete and removed from the target CPU');
  if (p.lock !== '' && (!t.lock || !F.isClass(F.MEMORY, insn.ops[0]?.type ?? 0))) warn('instruction is not lockable');

  if (p.wait !== '' || t.wait) put(0x9b);
  if (p.rep !== '') put(p.rep === 'repne' || p.rep === 'repnz' ? 0xf2 : 0xf3);
  if (p.lock !== '') put(0xf0);
  if (p.seg !== '') put(SEGMENT_PREFIX[p.seg]);
  if ((osize === 'o16' && bits !== 16) || (osize === 'o32' && bits === 16)) put(0x66);
  if ((p.asize === 'a16' && bits !== 16) || (p.asize === 'a32' && bits !== 32)) put(0x67);

  const code = t.code;
  const ops = insn.ops;
  let k = 0;
  while (k < code.length) {
    switch (code[k]) {
      case STEP_LIT: {
        const n = code[k + 1];
        for (let j = 0; j < n; j++) put(code[k + 2 + j]);
        k += 2 + n;
        break;
      }
      case STEP_REG_ADD:
        put(code[k + 2] + ((ops[code[k + 1]].reg?.num ?? 0) & 7));
        k += 3;
        break;
      case STEP_MODRM_REG:
      case STEP_MODRM_DIGIT: {
        const m = ops[code[k + 1]];
        const rfield = code[k] === STEP_MODRM_REG ? ops[code[k + 2]].reg?.num ?? 0 : code[k + 2];
        const ea = effectiveAddress(m, rfield, insn);
        if (typeof ea === 'string') return ea;
        if (ea.dispSizeIgnored === true) warn('displacement size ignored on absolute address');
        put(ea.modrm);
        if (ea.sib >= 0) put(ea.sib);
        if (ea.dispBytes > 0) displacement(m, ea.dispBytes, insn.addrSize, bits);
        k += 3;
        break;
      }
      case STEP_IMM: {
        const op = ops[code[k + 2]];
        switch (code[k + 1]) {
          case IMM_B: immediate(op, 1, false, bits); break;
          case IMM_BU: immediate(op, 1, true, bits); break;
          case IMM_BS: signedByte(op, osize === 'o16' ? 16 : osize === 'o32' ? 32 : bits); break;
          case IMM_W: immediate(op, 2, false, bits); break;
          case IMM_WD: immediate(op, operandBytes(op, bits), false, bits); break;
          case IMM_D: immediate(op, 4, false, bits); break;
          case IMM_WDQ: immediate(op, insn.addrSize / 8, false, bits); break;
        }
        k += 3;
        break;
      }
      case STEP_REL: {
        const op = ops[code[k + 2]];
        const bytes = code[k + 1] === REL_8 ? 1 : operandBytes(op, bits);
        const delta = op.unknown ? 0 : op.value - (insn.address + pos + bytes);
        if (op.reloc && !op.foreign && !op.unknown) {
          // Within the section the displacement is fixed data: nasm range-checks it.
          if (bytes === 1 && (delta < -128 || delta > 127)) lateError = 'short jump is out of range';
          else if (bytes < bits / 8 ? overflowSigned(delta, bytes) : overflowGeneral(delta, bytes)) warn(`${SIZE_NAME[bytes]} data exceeds bounds`);
        }
        putLE(delta, bytes);
        k += 3;
        break;
      }
      case STEP_SEG: {
        const op = ops[code[k + 1]];
        if (!op.unknown) {
          lateError = op.reloc
            ? 'binary output format does not support segment base references'
            : 'value referenced by FAR is not relocatable';
        }
        putLE(0, 2);
        k += 2;
        break;
      }
      case STEP_A16:
        if (bits === 32 && p.asize !== 'a16') put(0x67);
        k += 1;
        break;
      case STEP_A32:
        if (bits !== 32 && p.asize !== 'a32') put(0x67);
        k += 1;
        break;
      default:
        throw new Error(`instruction table: bad step ${code[k]} in "${t.line}"`);
    }
  }
  return { length: pos, lateError };
}

/** nasm's signed_bits: the low `bits` of v, sign-extended. */
function signedBits(v: number, bits: number): number {
  return bits === 32 ? v | 0 : bits === 16 ? (v << 16) >> 16 : (v << 24) >> 24;
}

function overflowSigned(v: number, bytes: number): boolean {
  const half = RANGE[bytes] / 2;
  return v < -half || v > half - 1;
}

/**
 * A displacement field, with nasm's two checks: process_ea's (does the value survive
 * truncation to the field?) and out()'s check of the field itself.
 */
function displacement(m: Opnd, bytes: number, addrSize: number, bits: number): void {
  if (!m.reloc && !m.unknown) {
    const v = m.value;
    const message = `${SIZE_NAME[bytes]} data exceeds bounds`;
    if (overflowGeneral(v, addrSize / 8) || signedBits(v, addrSize) !== signedBits(v, bytes * 8)) warn(message);
    const signed = addrSize / 8 > bytes && bytes < bits / 8;
    if (signed ? overflowSigned(v, bytes) : overflowGeneral(v, bytes)) warn(message);
  }
  putLE(m.value, bytes);
}

/** A copy of the last emission's bytes. */
export function emittedBytes(length: number): Uint8Array {
  return buf.slice(0, length);
}
