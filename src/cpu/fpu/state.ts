/**
 * The x87 FPU's registers (SDM Vol. 1, 8.1): eight 80-bit data registers R0-R7 used as a
 * stack from TOP, the control, status and tag words, and the pointers to the last non-control
 * instruction and its memory operand.
 */
import { classify, Class, F80 } from './float80';

/** Status word bits (SDM Vol. 1, figure 8-4); the exception flags are float80's IE..PE and SF. */
export const SW_ES = 0x80, SW_C0 = 0x100, SW_C1 = 0x200, SW_C2 = 0x400, SW_C3 = 0x4000, SW_B = 0x8000;
export const SW_CC = SW_C0 | SW_C1 | SW_C2 | SW_C3;
export const SW_TOP_SHIFT = 11;
/** The six exception flags, and with the stack fault bit. */
export const EXCEPTIONS = 0x3f;
export const EXCEPTIONS_SF = 0x7f;
/** Control word after FNINIT: every exception masked, 64-bit precision, round to nearest. */
export const CW_INIT = 0x037f;
/** Tag word codes (SDM Vol. 1, figure 8-7). */
const TAG_VALID = 0, TAG_ZERO = 1, TAG_SPECIAL = 2, TAG_EMPTY = 3;

export interface FpuSavedState {
  cw: number; sw: number; top: number; empty: number;
  fip: number; fcs: number; fop: number; fdp: number; fds: number;
  regs: number[];
  ignne: boolean;
}

export class FpuState {
  cw = CW_INIT;
  /** The status word but for TOP, which is `top`. */
  sw = 0;
  top = 0;
  /**
   * Bit i set: physical register Ri is empty. Processors since the P6 keep only this much of
   * the tag word and derive the rest from the register's contents when they store it (the
   * host shows the same), so FLDENV's tag values other than empty are not kept.
   */
  empty = 0xff;
  readonly se = new Uint16Array(8);
  readonly hi = new Uint32Array(8);
  readonly lo = new Uint32Array(8);
  /** Last non-control instruction: offset, CS selector and opcode (low 11 bits). */
  fip = 0;
  fcs = 0;
  fop = 0;
  /** Memory operand of that instruction: offset and selector. */
  fdp = 0;
  fds = 0;
  /** The IGNNE# input: the chipset asserts it after IRQ 13 is acknowledged; it drops when the error is cleared. */
  ignne = false;

  /** Power-on state as QEMU leaves it for a Multiboot kernel: FNINIT, with every register +0. */
  reset(): void {
    this.init();
    this.se.fill(0); this.hi.fill(0); this.lo.fill(0);
  }

  /** FNINIT: the registers keep their contents but are all empty. */
  init(): void {
    this.cw = CW_INIT;
    this.sw = 0;
    this.top = 0;
    this.empty = 0xff;
    this.fip = 0; this.fcs = 0; this.fop = 0; this.fdp = 0; this.fds = 0;
    this.ignne = false;
  }

  /** FNCLEX: the exception flags, SF, ES and B go, and FERR# (so IGNNE#) with them. */
  clearExceptions(): void {
    this.sw &= ~0x80ff;
    this.ignne = false;
  }

  statusWord(): number { return (this.sw & ~(7 << SW_TOP_SHIFT)) | (this.top << SW_TOP_SHIFT); }

  /** Loads the status word (FLDENV, FRSTOR, FXRSTOR): TOP included, ES and B follow the flags and masks. */
  setStatusWord(v: number): void {
    this.top = (v >> SW_TOP_SHIFT) & 7;
    this.sw = v & ~(7 << SW_TOP_SHIFT) & 0xffff;
    this.updateSummary();
  }

  /** Loads the control word: bits 15:13 and 7 read as 0, bit 6 as 1 (checked on the host). */
  setControlWord(v: number): void {
    this.cw = (v & 0x1f3f) | 0x40;
    this.updateSummary();
  }

  /** ES (and B, its copy since the 387) is set while some flagged exception is unmasked. */
  updateSummary(): void {
    if ((this.sw & ~this.cw & EXCEPTIONS) !== 0) {
      this.sw |= SW_ES | SW_B;
    } else {
      this.sw &= ~(SW_ES | SW_B);
      this.ignne = false;
    }
  }

  /** The full tag word, each non-empty register classified by its contents. */
  tagWord(): number {
    let tw = 0;
    for (let r = 0; r < 8; r++) tw |= this.tagOf(r) << (2 * r);
    return tw;
  }

  private tagOf(r: number): number {
    if ((this.empty & (1 << r)) !== 0) return TAG_EMPTY;
    switch (classify(this.value(r, tagScratch))) {
      case Class.Normal: return TAG_VALID;
      case Class.Zero: return TAG_ZERO;
      default: return TAG_SPECIAL;
    }
  }

  /** Loads a tag word: only "empty" (11B) is kept. */
  setTagWord(tw: number): void {
    let empty = 0;
    for (let r = 0; r < 8; r++) if (((tw >> (2 * r)) & 3) === TAG_EMPTY) empty |= 1 << r;
    this.empty = empty;
  }

  /** Physical register number of ST(i). */
  phys(i: number): number { return (this.top + i) & 7; }
  isEmpty(i: number): boolean { return (this.empty & (1 << ((this.top + i) & 7))) !== 0; }

  /** Physical register r into `out`. */
  value(r: number, out: F80): F80 { return out.set(this.se[r], this.hi[r], this.lo[r]); }
  /** ST(i) into `out`. */
  st(i: number, out: F80): F80 { return this.value((this.top + i) & 7, out); }

  /** Writes physical register r and marks it in use. */
  setReg(r: number, v: F80): void {
    this.se[r] = v.se; this.hi[r] = v.hi; this.lo[r] = v.lo;
    this.empty &= ~(1 << r);
  }
  setSt(i: number, v: F80): void { this.setReg((this.top + i) & 7, v); }

  /** TOP - 1, the new ST(0) written with `v`. */
  push(v: F80): void {
    this.top = (this.top - 1) & 7;
    this.setReg(this.top, v);
  }

  /** Marks ST(0) empty and moves TOP up. */
  pop(): void {
    this.empty |= 1 << this.top;
    this.top = (this.top + 1) & 7;
  }

  saveState(): FpuSavedState {
    const regs: number[] = [];
    for (let r = 0; r < 8; r++) regs.push(this.se[r], this.hi[r], this.lo[r]);
    const { cw, sw, top, empty, fip, fcs, fop, fdp, fds, ignne } = this;
    return { cw, sw, top, empty, fip, fcs, fop, fdp, fds, regs, ignne };
  }

  loadState(s: FpuSavedState): void {
    this.cw = s.cw; this.sw = s.sw; this.top = s.top; this.empty = s.empty;
    this.fip = s.fip; this.fcs = s.fcs; this.fop = s.fop; this.fdp = s.fdp; this.fds = s.fds;
    this.ignne = s.ignne;
    for (let r = 0; r < 8; r++) {
      this.se[r] = s.regs[3 * r]; this.hi[r] = s.regs[3 * r + 1]; this.lo[r] = s.regs[3 * r + 2];
    }
  }
}

const tagScratch = new F80();
