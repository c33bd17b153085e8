/**
 * Choosing the template, as nasm's assemble.c does (matches, find_match, jmp_match): the first
 * template whose operand classes and sizes fit wins; if none fits only because sizes are
 * missing and every candidate agrees on one size per operand, that size is taken and the
 * search repeats ("fuzzy" operand sizes, e.g. `shl eax, 3` finds `rm32,imm8`).
 */
import * as F from './opflags';
import type { Insn } from './operand';
import { SIZE_BITS, type Template } from './templates';

// Match results, from least to most specific (nasm's enum match_result order).
const MERR_INVALOP = 0;
const MERR_OPSIZEMISSING = 1;
const MERR_OPSIZEMISMATCH = 2;
const MERR_BADMODE = 3;
const MERR_BADREPNE = 4;
const MOK_JUMP = 5;
const MOK_GOOD = 6;

const MATCH_ERRORS: Record<number, string> = {
  [MERR_INVALOP]: 'invalid combination of opcode and operands',
  [MERR_OPSIZEMISSING]: 'operation size not specified',
  [MERR_OPSIZEMISMATCH]: 'mismatch in operand sizes',
};

/** nasm's message for a match result. */
export function matchError(m: number, insn: Insn): string {
  if (m === MERR_BADMODE) return `instruction not supported in ${insn.bits}-bit mode`;
  if (m === MERR_BADREPNE) return `${insn.prefixes.rep} prefix is not allowed`;
  return MATCH_ERRORS[m];
}

/** Returns the short form's length when a jump template applies; used by jmp_match. */
export type ShortLength = (t: Template) => number;

/** Size each operand takes when written without one; index 3 exists for nasm's AR2 quirk. */
const sizes = [0, 0, 0, 0];

function matches(t: Template, insn: Insn): number {
  const ops = insn.ops;
  const n = t.ops.length;
  if (n !== ops.length) return MERR_INVALOP;
  for (let i = 0; i < n; i++) if (ops[i].type & ~t.ops[i] & F.COLON) return MERR_INVALOP;

  let asize = t.size;
  if (asize === SIZE_BITS) asize = insn.bits === 16 ? F.BITS16 : F.BITS32;
  if (t.sizeArg >= 0) {
    sizes[0] = sizes[1] = sizes[2] = sizes[3] = 0;
    sizes[t.sizeArg] = asize;
  } else {
    sizes[0] = sizes[1] = sizes[2] = asize;
  }

  let sizeMissing = false;
  for (let i = 0; i < n; i++) {
    let type = ops[i].type;
    if ((type & F.SIZE_MASK) === 0) type |= sizes[i];
    const want = t.ops[i];
    if (want & ~type & ~F.SIZE_MASK) return MERR_INVALOP;
    const wantSize = want & F.SIZE_MASK;
    if (wantSize !== 0 && wantSize !== (type & F.SIZE_MASK)) {
      if ((type & F.SIZE_MASK) !== 0) return MERR_INVALOP;
      // A register's size is intrinsic: a missing size only counts for other operands.
      if ((type & F.REGISTER) === 0) sizeMissing = true;
    }
  }
  if (sizeMissing) return MERR_OPSIZEMISSING;

  if (t.sameSize > 0) {
    for (let i = 0; i < t.sameSize; i++) {
      const s = t.ops[i] & F.SIZE_MASK;
      if (s !== 0) {
        for (let k = 0; k < t.sameSize; k++) sizes[k] = s;
        break;
      }
    }
  }
  for (let i = 0; i < n; i++) {
    if ((t.ops[i] & F.SIZE_MASK) === 0 && (ops[i].type & F.SIZE_MASK & ~sizes[i]) !== 0) return MERR_OPSIZEMISMATCH;
  }
  if (t.long) return MERR_BADMODE;
  if (t.shortOnly) return MOK_JUMP;
  if (t.bnd && (insn.prefixes.rep === 'repne' || insn.prefixes.rep === 'repnz')) return MERR_BADREPNE;
  return MOK_GOOD;
}

/**
 * May the short (rel8) form be used? Optimistic for a target not known yet, exactly as nasm:
 * the first pass assumes short, and later passes grow the jump if the target is too far.
 * A plain number or a label in another section never gets the short form.
 */
function jumpFits(t: Template, insn: Insn, shortLength: ShortLength): boolean {
  const target = insn.ops[0];
  if (target.type & F.STRICT) return false;
  if (target.unknown) return true;
  if (!target.reloc || target.foreign) return false;
  const delta = target.value - (insn.address + shortLength(t));
  return delta >= -128 && delta <= 127;
}

function search(list: readonly Template[], insn: Insn, shortLength: ShortLength, fuzzy: number[] | undefined): Template | number {
  let best = MERR_INVALOP;
  for (const t of list) {
    let m = matches(t, insn);
    if (m === MOK_JUMP) m = jumpFits(t, insn, shortLength) ? MOK_GOOD : MERR_INVALOP;
    else if (m === MERR_OPSIZEMISSING && fuzzy !== undefined) {
      for (let i = 0; i < t.ops.length; i++) fuzzy[i] |= t.ops[i] & F.SIZE_MASK;
      fuzzy[3] = 1;
    }
    if (m === MOK_GOOD) return t;
    if (m > best) best = m;
  }
  return best;
}

/** The template for `insn`, or the most specific match error. May give sizes to operands. */
export function findTemplate(list: readonly Template[], insn: Insn, shortLength: ShortLength): Template | number {
  const ops = insn.ops;
  // Sizes the failing candidates wanted, per operand; [3] marks that one was missing a size.
  const fuzzy = [0, 0, 0, 0];
  for (let i = 0; i < ops.length && i < 3; i++) fuzzy[i] = ops[i].type & F.SIZE_MASK;
  const first = search(list, insn, shortLength, fuzzy);
  if (typeof first !== 'number' || fuzzy[3] === 0) return first;

  for (let i = 0; i < ops.length; i++) {
    if (ops[i].type & F.REGISTER) continue;
    const s = fuzzy[i];
    if (s & (s - 1)) return first;   // candidates disagree on the size
    ops[i].type |= s;
  }
  const second = search(list, insn, shortLength, undefined);
  return typeof second === 'number' ? Math.max(first, second) : second;
}
