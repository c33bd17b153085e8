/**
 * The encoder's working form of one instruction: operands as nasm's operand classes plus their
 * values, the prefix slots, and the address size. Built from an InstructionRequest by
 * request.ts, read by the matcher and the emitter.
 */
import type { Bits } from '../operand';
import type { RegisterInfo } from './registers';

// Effective-address flags (nasm's EAF_*).
export const EAF_BYTEOFFS = 1;   // [byte ...]: 8-bit displacement
export const EAF_WORDOFFS = 2;   // [word ...] / [dword ...]: full displacement
export const EAF_TIMESTWO = 4;   // [nosplit ...]

// Effective-address hints (nasm's EAH_*): how the registers were written.
export const EAH_NOHINT = 0;
export const EAH_MAKEBASE = 1;   // the first register, written plainly: make it the base
export const EAH_NOTBASE = 2;    // the first register was multiplied: keep it an index
export const EAH_SUMMED = 3;     // a register was added to itself

export interface Opnd {
  /** Operand class bits (opflags.ts). */
  type: number;
  /** The register of a register operand. */
  reg: RegisterInfo | undefined;
  /** Immediate value, memory displacement, or the segment of a far pointer. 0 when unknown. */
  value: number;
  /** Not known yet (a forward reference in an early pass). */
  unknown: boolean;
  /** Relative to a section (a label address) rather than a plain number. */
  reloc: boolean;
  /** Relative to a section other than the instruction's. */
  foreign: boolean;
  base: RegisterInfo | undefined;
  index: RegisterInfo | undefined;
  scale: number;
  hintBase: RegisterInfo | undefined;
  hintType: number;
  eaflags: number;
  /** Displacement size written inside the brackets: 0, 8, 16 or 32. */
  dispSize: number;
}

/** Prefix slots in nasm's emission order: WAIT, REP, LOCK, segment, operand size, address size. */
export interface PrefixSlots {
  wait: string;
  rep: string;
  lock: string;
  seg: string;
  osize: string;
  asize: string;
}

export interface Insn {
  mnemonic: string;
  bits: Bits;
  /** Address of the instruction's first byte. */
  address: number;
  ops: Opnd[];
  prefixes: PrefixSlots;
  /** Address size after the registers and a16/a32 are taken into account. */
  addrSize: Bits;
  warnings: string[];
}

export function emptyOperand(type: number): Opnd {
  return {
    type, reg: undefined, value: 0, unknown: false, reloc: false, foreign: false,
    base: undefined, index: undefined, scale: 0, hintBase: undefined, hintType: 0, eaflags: 0, dispSize: 0,
  };
}
