/**
 * Effective addresses: the address size an instruction needs (nasm's add_asp) and the
 * ModR/M, SIB and displacement of a memory operand (nasm's process_ea), with nasm's choices:
 * no displacement when it is a known 0 (except [ebp]/[bp]), disp8 when it is a known number
 * that fits, disp32/disp16 for labels and for values not known yet; [eax*2] becomes [eax+eax]
 * unless `nosplit`; ESP can only be a base.
 *
 * Base, index, scale and the hint are nasm's (request.ts turns the front end's form into them).
 */
import * as F from './opflags';
import { EAF_BYTEOFFS, EAF_TIMESTWO, EAF_WORDOFFS, EAH_MAKEBASE, EAH_NOTBASE, EAH_SUMMED, type Insn, type Opnd } from './operand';
import type { RegisterInfo } from './registers';

export interface EffectiveAddress {
  modrm: number;
  /** SIB byte, or -1. */
  sib: number;
  /** Displacement bytes: 0, 1, 2 or 4. */
  dispBytes: number;
  /** `[byte x]` / `[word x]` on a bare offset: nasm ignores the size, with a warning. */
  dispSizeIgnored?: boolean;
}

const ESP = 4;
const EBP = 5;

function isPureOffset(op: Opnd): boolean {
  return op.base === undefined && op.index === undefined;
}

/** The address sizes a register allows in an address: 16 for BX..DI, 32 for EAX..EDI. */
function registerAddressSizes(r: RegisterInfo | undefined): number {
  if (r === undefined) return 16 | 32;
  if (F.isClass(F.REG16, r.flags)) return 16;
  if (F.isClass(F.REG32, r.flags)) return 32;
  return 16 | 32;
}

/**
 * Works out the address size from the registers, a16/a32 and `[word x]`/`[dword x]`,
 * adding an address-size prefix when it differs from `bits`. Returns an error message or
 * undefined.
 */
export function chooseAddressSize(insn: Insn): string | undefined {
  const bits = insn.bits;
  let valid = 16 | 32;
  if (insn.prefixes.asize === 'a16') valid &= 16;
  else if (insn.prefixes.asize === 'a32') valid &= 32;

  for (const op of insn.ops) {
    if (!F.isClass(F.MEMORY, op.type)) continue;
    if (isPureOffset(op)) {
      if (op.dispSize > 8) valid &= op.dispSize;
    } else {
      valid &= registerAddressSizes(op.base) & registerAddressSizes(op.index);
    }
  }

  if (valid & bits) {
    insn.addrSize = bits;
  } else if (valid & (bits === 32 ? 16 : 32)) {
    insn.prefixes.asize = bits === 32 ? 'a16' : 'a32';
    insn.addrSize = bits === 32 ? 16 : 32;
  } else {
    insn.addrSize = bits;
    return 'impossible combination of address sizes';
  }

  // A moffs must have the address size; otherwise only the ModR/M forms can take it.
  for (const op of insn.ops) {
    if (F.isClass(F.MEM_OFFS, op.type) && (op.dispSize !== 0 ? op.dispSize : insn.addrSize) !== insn.addrSize) {
      op.type &= ~(F.MEM_OFFS & ~F.MEMORY);
    }
  }
  return undefined;
}

function modrm(mod: number, reg: number, rm: number): number {
  return (mod << 6) | ((reg & 7) << 3) | (rm & 7);
}

/** The displacement's mod field: 0 none, 1 disp8, 2 full. `value` is already truncated to the address size. */
function dispMod(op: Opnd, value: number, noneAllowed: boolean): number {
  const fixed = !op.reloc && !op.unknown;
  if (noneAllowed && value === 0 && fixed && (op.eaflags & (EAF_BYTEOFFS | EAF_WORDOFFS)) === 0) return 0;
  if ((op.eaflags & EAF_WORDOFFS) === 0
    && ((op.eaflags & EAF_BYTEOFFS) !== 0 || (value >= -128 && value <= 127 && fixed))) return 1;
  return 2;
}

const SCALE_BITS: Record<number, number> = { 1: 0, 2: 1, 4: 2, 8: 3 };

/**
 * ModR/M (and SIB) for operand `op` with `rfield` in the reg field. A register operand gives
 * mod = 3. Returns an error message for an address the CPU cannot encode.
 */
export function effectiveAddress(op: Opnd, rfield: number, insn: Insn): EffectiveAddress | string {
  const invalid = `invalid ${insn.bits}-bit effective address`;
  if (op.type & F.REGISTER) {
    const r = op.reg;
    if (r === undefined || (r.flags & F.CLASS_GPR) === 0) return invalid;
    return { modrm: modrm(3, rfield, r.num), sib: -1, dispBytes: 0 };
  }

  if (isPureOffset(op)) {
    const dispSizeIgnored = (op.eaflags & EAF_BYTEOFFS) !== 0
      || ((op.eaflags & EAF_WORDOFFS) !== 0 && op.dispSize !== insn.addrSize);
    return insn.addrSize === 16
      ? { modrm: modrm(0, rfield, 6), sib: -1, dispBytes: 2, dispSizeIgnored }
      : { modrm: modrm(0, rfield, 5), sib: -1, dispBytes: 4, dispSizeIgnored };
  }

  const base = op.base, index = op.index;
  const wide = (base !== undefined && (base.flags & F.BITS32) !== 0) || (index !== undefined && (index.flags & F.BITS32) !== 0);
  return wide ? ea32(op, rfield, insn, invalid) : ea16(op, rfield, insn, invalid);
}

function ea32(op: Opnd, rfield: number, insn: Insn, invalid: string): EffectiveAddress | string {
  let b: RegisterInfo | undefined = op.base;
  let i: RegisterInfo | undefined = op.index;
  let s = i === undefined ? 0 : op.scale;
  const hb = op.hintBase, ht = op.hintType;
  const nosplit = (op.eaflags & EAF_TIMESTWO) !== 0;

  if (i !== undefined && !F.isClass(F.REG32, i.flags)) return invalid;
  if (b !== undefined && !F.isClass(F.REG32, b.flags)) return invalid;
  if (op.dispSize === 16 || insn.addrSize === 16) return invalid;

  // The base/index reorganisation of nasm's process_ea, step by step.
  if (s === 1 && b !== undefined && i !== undefined && b !== i
    && ((hb === b && ht === EAH_NOTBASE) || (hb === i && ht === EAH_MAKEBASE))) {
    const t = b; b = i; i = t;                     // the hint says which one is the base
  }
  if (b === undefined && s === 1 && !(hb === i && ht === EAH_NOTBASE)) {
    b = i; i = undefined;                          // a single register is a base
  }
  if (b === undefined && i !== undefined
    && ((s === 2 && i.num !== ESP && (!nosplit || ht === EAH_SUMMED)) || s === 3 || s === 5 || s === 9)) {
    b = i; s--;                                    // [eax*2] -> [eax+eax], [eax*5] -> [eax+eax*4]
  }
  if (i === undefined && b !== undefined && b.num !== ESP && nosplit && hb === b && ht === EAH_NOTBASE) {
    i = b; b = undefined; s = 1;                   // [nosplit eax*1]: index with a disp32
  }
  if (s === 1 && i !== undefined && i.num === ESP) { const t = i; i = b; b = t; }
  if (i !== undefined && (i.num === ESP || SCALE_BITS[s] === undefined)) return invalid;

  const value = op.value | 0;
  if (i === undefined && b !== undefined && b.num !== ESP) {
    const mod = dispMod(op, value, b.num !== EBP);
    return { modrm: modrm(mod, rfield, b.num), sib: -1, dispBytes: mod === 2 ? 4 : mod };
  }
  const indexField = i === undefined ? 4 : i.num;
  const scaleField = i === undefined ? 0 : SCALE_BITS[s];
  if (b === undefined) {
    return { modrm: modrm(0, rfield, 4), sib: (scaleField << 6) | (indexField << 3) | EBP, dispBytes: 4 };
  }
  const mod = dispMod(op, value, b.num !== EBP);
  return {
    modrm: modrm(mod, rfield, 4),
    sib: (scaleField << 6) | (indexField << 3) | b.num,
    dispBytes: mod === 2 ? 4 : mod,
  };
}

/** The 16-bit r/m values by base and index (SDM Vol. 2, table 2-1). */
const RM16: Record<string, number> = {
  'bx+si': 0, 'bx+di': 1, 'bp+si': 2, 'bp+di': 3, 'si': 4, 'di': 5, 'bp': 6, 'bx': 7,
};

function ea16(op: Opnd, rfield: number, insn: Insn, invalid: string): EffectiveAddress | string {
  let b = op.base?.name;
  let i = op.index?.name;
  const usable = (r: string | undefined): boolean => r === undefined || r === 'bx' || r === 'bp' || r === 'si' || r === 'di';
  if (!usable(b) || !usable(i)) return invalid;
  if (op.dispSize === 32) return invalid;
  if (i !== undefined && op.scale !== 1) return invalid;
  if (b === undefined) { b = i; i = undefined; }
  if ((b === 'si' || b === 'di') && i !== undefined) { const t = b; b = i; i = t; }
  if (b === i) return invalid;
  if (i !== undefined && (i === 'bp' || i === 'bx' || b === 'si' || b === 'di')) return invalid;

  const rm = RM16[i === undefined ? b! : `${b}+${i}`];
  const value = (op.value << 16) >> 16;
  const mod = dispMod(op, value, rm !== 6);
  return { modrm: modrm(mod, rfield, rm), sib: -1, dispBytes: mod };
}
