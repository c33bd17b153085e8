/**
 * The value of an expression, as nasm's evaluator keeps it: a scalar, plus multiples of
 * section bases (a label is "its section's base + offset", so `a - b` in one section is a
 * plain number and `a` alone is relocatable), plus multiples of registers (inside effective
 * addresses), plus a multiple of "unknown" for symbols not defined yet in this pass. As in
 * nasm, unknowns cancel: `fw1 - fw2` is 0 in the first pass, not unknown.
 */
import * as i64 from './int64';
import type { I64 } from './int64';

/** Base ids: each section has its virtual start (labels) and its load start (`section.x.start`). */
export interface BaseTerm { id: number; k: I64 }
export interface RegTerm { reg: string; k: I64 }

export interface Value {
  c: I64;
  /**
   * nasm's vector has a scalar term (a number or a label was involved, even if it sums to
   * zero); adding two scalar terms marks an effective address as "summed" (see EaHint).
   */
  hasScalar: boolean;
  /**
   * The multiple of nasm's UNKNOWN term: not 0 for a forward reference, whose scalar and base
   * parts are then meaningless (registers are kept).
   */
  unknown: I64;
  bases?: BaseTerm[];
  regs?: RegTerm[];
}

/**
 * How the registers of an effective address were written: nasm's EA hints choose the base.
 * The first register written makes the hint 'makebase'; multiplying it, 'notbase'; adding two
 * terms of one kind (a register to itself, a number to a number, not to zero), 'summed'.
 */
export interface EaHint {
  type: 'none' | 'makebase' | 'notbase' | 'summed';
  reg?: string;
}

export const UNKNOWN: Value = { c: 0, hasScalar: false, unknown: 1 };

export function scalar(c: I64, hasScalar = true): Value {
  return { c, hasScalar, unknown: 0 };
}

export function isSimple(v: Value): boolean {
  return v.unknown === 0 && v.bases === undefined && v.regs === undefined;
}

export function isJustUnknown(v: Value): boolean {
  return v.unknown !== 0 && v.regs === undefined;
}

/**
 * nasm's is_reloc, for operands and EQU: a scalar plus at most one base, and possibly minus the
 * current section's base. Bases with other multipliers are ignored, as nasm ignores them
 * (`label * 2` counts as its scalar part).
 */
export function isReloc(v: Value, currentBase: number): boolean {
  if (v.regs !== undefined || v.unknown !== 0) return false;
  let plus = 0, minus = 0;
  for (const t of v.bases ?? []) {
    if (t.k === 1) plus++;
    else if (t.k === -1) {
      if (t.id !== currentBase) return false;
      minus++;
    }
  }
  return plus <= 1 && minus <= 1;
}

/** nasm's value_to_extop, for data: like isReloc, but any other multiple of a base is an error. */
export function isDataReloc(v: Value, currentBase: number): boolean {
  return isReloc(v, currentBase) && (v.bases ?? []).every((t) => t.k === 1 || t.k === -1);
}

/** The base with multiplier +1, or -1 for a plain number. */
export function relocBase(v: Value): number {
  for (const t of v.bases ?? []) if (t.k === 1) return t.id;
  return -1;
}

/** True when the current section's base is subtracted (`label - $`). */
export function isSelfRelative(v: Value, currentBase: number): boolean {
  return (v.bases ?? []).some((t) => t.k === -1 && t.id === currentBase);
}

function mergeBases(a: BaseTerm[] | undefined, b: BaseTerm[] | undefined, hint: EaHint | undefined): BaseTerm[] | undefined {
  if (b === undefined) return a;
  if (a === undefined) return b;
  const out: BaseTerm[] = [];
  let i = 0, j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i].id < b[j].id)) out.push(a[i++]);
    else if (i >= a.length || b[j].id < a[i].id) out.push(b[j++]);
    else {
      const k = i64.add(a[i].k, b[j].k);
      if (!i64.isZero(k)) {
        out.push({ id: a[i].id, k });
        if (hint) hint.type = 'summed';
      }
      i++; j++;
    }
  }
  return out.length ? out : undefined;
}

function mergeRegs(a: RegTerm[] | undefined, b: RegTerm[] | undefined, hint: EaHint | undefined): RegTerm[] | undefined {
  if (b === undefined) return a;
  if (a === undefined) return b;
  const out: RegTerm[] = [];
  let i = 0, j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i].reg < b[j].reg)) out.push(a[i++]);
    else if (i >= a.length || b[j].reg < a[i].reg) out.push(b[j++]);
    else {
      const k = i64.add(a[i].k, b[j].k);
      if (!i64.isZero(k)) {
        out.push({ reg: a[i].reg, k });
        if (hint) hint.type = 'summed';
      }
      i++; j++;
    }
  }
  return out.length ? out : undefined;
}

export function addValues(a: Value, b: Value, hint?: EaHint): Value {
  const regs = mergeRegs(a.regs, b.regs, hint);
  // nasm's add_vectors stops at the unknown term: what follows it (scalar, bases) is dropped.
  if (a.unknown !== 0 || b.unknown !== 0) {
    const unknown = i64.add(a.unknown, b.unknown);
    if (a.unknown !== 0 && b.unknown !== 0 && unknown !== 0 && hint) hint.type = 'summed';
    return { c: 0, hasScalar: false, unknown, regs };
  }
  const c = i64.add(a.c, b.c);
  let hasScalar = a.hasScalar || b.hasScalar;
  if (a.hasScalar && b.hasScalar) {
    hasScalar = !i64.isZero(c);
    if (hasScalar && hint) hint.type = 'summed';
  }
  return { c, hasScalar, unknown: 0, bases: mergeBases(a.bases, b.bases, hint), regs };
}

/** Multiplies every term; with `hint`, a register being multiplied stops being the preferred base. */
export function scaleValue(v: Value, k: I64, hint?: EaHint): Value {
  if (hint && hint.type === 'makebase' && v.regs?.some((r) => r.reg === hint.reg)) hint.type = 'notbase';
  if (k === 1) return v;
  const regs = v.regs?.map((r) => ({ reg: r.reg, k: i64.mul(r.k, k) })).filter((r) => !i64.isZero(r.k));
  const bases = v.bases?.map((t) => ({ id: t.id, k: i64.mul(t.k, k) })).filter((t) => !i64.isZero(t.k));
  return {
    c: i64.mul(v.c, k),
    hasScalar: v.hasScalar,
    unknown: i64.mul(v.unknown, k),
    bases: bases?.length ? bases : undefined,
    regs: regs?.length ? regs : undefined,
  };
}

export function regValue(reg: string): Value {
  return { c: 0, hasScalar: false, unknown: 0, regs: [{ reg, k: 1 }] };
}

export function baseValue(id: number, offset: I64): Value {
  return id < 0 ? scalar(offset) : { c: offset, hasScalar: true, unknown: 0, bases: [{ id, k: 1 }] };
}
