/**
 * The FPU's state in memory: the environment of FNSTENV/FLDENV, the save area of FNSAVE/
 * FRSTOR (environment, then ST(0)-ST(7)), in their 16- and 32-bit, protected- and real-mode
 * layouts (SDM Vol. 1, figures 8-9 to 8-12), and the FXSAVE/FXRSTOR area (SDM Vol. 2, FXSAVE,
 * table 3-53). Reserved words of the environment are stored as ones, as processors do.
 *
 * vtscope's CPU has no SSE: FXSAVE writes only the x87 part of the area (bytes 0-23 and the
 * registers at 32-159) and leaves MXCSR, MXCSR_MASK and the XMM registers' bytes as they were.
 */
import type { Cpu } from '../cpu';
import { FLAG_VM } from '../registers';
import { F80 } from './float80';
import { readAddress, readF80, writeAddress, writeF80 } from './memory';
import { EXCEPTIONS, type FpuState } from './state';

/** Sizes of the environment and of the save area, by operand size. */
const ENV_SIZE_16 = 14, ENV_SIZE_32 = 28;
const SAVE_SIZE_16 = 94, SAVE_SIZE_32 = 108;
export const FXSAVE_SIZE = 512;

/** Protected-mode layouts store offsets and selectors; real and virtual-8086 mode store linear (20- or 32-bit) pointers. */
function realLayout(cpu: Cpu): boolean {
  return !cpu.protectedMode || (cpu.flags & FLAG_VM) !== 0;
}

function put16(cpu: Cpu, lin: number, k: number, v: number): void { cpu.writeLin16((lin + k) | 0, v); }
function put32(cpu: Cpu, lin: number, k: number, v: number): void { cpu.writeLin32((lin + k) | 0, v); }
function get16(cpu: Cpu, lin: number, k: number): number { return cpu.readLin16((lin + k) | 0); }
function get32(cpu: Cpu, lin: number, k: number): number { return cpu.readLin32((lin + k) | 0); }

/** Writes the environment at linear `lin`. */
function storeEnvironment(cpu: Cpu, f: FpuState, lin: number, o32: boolean): void {
  const sw = f.statusWord(), tw = f.tagWord();
  if (realLayout(cpu)) {
    const ip = (f.fcs << 4) + f.fip, dp = (f.fds << 4) + f.fdp;
    if (o32) {
      put32(cpu, lin, 0, 0xffff0000 | f.cw); put32(cpu, lin, 4, 0xffff0000 | sw); put32(cpu, lin, 8, 0xffff0000 | tw);
      put32(cpu, lin, 12, 0xffff0000 | (ip & 0xffff)); put32(cpu, lin, 16, ((ip >>> 16) << 12) | f.fop);
      put32(cpu, lin, 20, 0xffff0000 | (dp & 0xffff)); put32(cpu, lin, 24, (dp >>> 16) << 12);
    } else {
      put16(cpu, lin, 0, f.cw); put16(cpu, lin, 2, sw); put16(cpu, lin, 4, tw);
      put16(cpu, lin, 6, ip); put16(cpu, lin, 8, (((ip >>> 16) & 0xf) << 12) | f.fop);
      put16(cpu, lin, 10, dp); put16(cpu, lin, 12, ((dp >>> 16) & 0xf) << 12);
    }
  } else if (o32) {
    put32(cpu, lin, 0, 0xffff0000 | f.cw); put32(cpu, lin, 4, 0xffff0000 | sw); put32(cpu, lin, 8, 0xffff0000 | tw);
    put32(cpu, lin, 12, f.fip); put32(cpu, lin, 16, (f.fop << 16) | f.fcs);
    put32(cpu, lin, 20, f.fdp); put32(cpu, lin, 24, 0xffff0000 | f.fds);
  } else {
    put16(cpu, lin, 0, f.cw); put16(cpu, lin, 2, sw); put16(cpu, lin, 4, tw);
    put16(cpu, lin, 6, f.fip); put16(cpu, lin, 8, f.fcs); put16(cpu, lin, 10, f.fdp); put16(cpu, lin, 12, f.fds);
  }
}

/** Reads the environment at linear `lin` into `f`. */
function loadEnvironment(cpu: Cpu, f: FpuState, lin: number, o32: boolean): void {
  const step = o32 ? 4 : 2;
  const cw = get16(cpu, lin, 0), sw = get16(cpu, lin, step), tw = get16(cpu, lin, 2 * step);
  if (realLayout(cpu)) {
    const ipHigh = o32 ? get32(cpu, lin, 16) : get16(cpu, lin, 8);
    const dpHigh = o32 ? get32(cpu, lin, 24) : get16(cpu, lin, 12);
    f.fcs = 0; f.fds = 0;
    f.fip = (get16(cpu, lin, 3 * step) | ((ipHigh >>> 12) << 16)) >>> 0;
    f.fdp = (get16(cpu, lin, 5 * step) | ((dpHigh >>> 12) << 16)) >>> 0;
    f.fop = ipHigh & 0x7ff;
  } else if (o32) {
    f.fip = get32(cpu, lin, 12) >>> 0;
    const csOp = get32(cpu, lin, 16);
    f.fcs = csOp & 0xffff; f.fop = (csOp >>> 16) & 0x7ff;
    f.fdp = get32(cpu, lin, 20) >>> 0; f.fds = get16(cpu, lin, 24);
  } else {
    f.fip = get16(cpu, lin, 6); f.fcs = get16(cpu, lin, 8); f.fdp = get16(cpu, lin, 10); f.fds = get16(cpu, lin, 12);
  }
  f.setControlWord(cw);
  f.setTagWord(tw);
  f.setStatusWord(sw);
}

/** FNSTENV: stores the environment, then masks every exception. */
export function fnstenv(cpu: Cpu, seg: number, off: number, o32: boolean): void {
  const f = cpu.fpu;
  storeEnvironment(cpu, f, writeAddress(cpu, seg, off, o32 ? ENV_SIZE_32 : ENV_SIZE_16), o32);
  f.setControlWord(f.cw | EXCEPTIONS);
}

export function fldenv(cpu: Cpu, seg: number, off: number, o32: boolean): void {
  loadEnvironment(cpu, cpu.fpu, readAddress(cpu, seg, off, o32 ? ENV_SIZE_32 : ENV_SIZE_16), o32);
}

const reg = new F80();

/** FNSAVE: the environment and the eight registers in stack order, then FNINIT. */
export function fnsave(cpu: Cpu, seg: number, off: number, o32: boolean): void {
  const f = cpu.fpu;
  const lin = writeAddress(cpu, seg, off, o32 ? SAVE_SIZE_32 : SAVE_SIZE_16);
  storeEnvironment(cpu, f, lin, o32);
  const regs = (lin + (o32 ? ENV_SIZE_32 : ENV_SIZE_16)) | 0;
  for (let i = 0; i < 8; i++) writeF80(cpu, (regs + 10 * i) | 0, f.st(i, reg));
  f.init();
}

/** FRSTOR: everything read before anything changes, so a fault leaves the FPU as it was. */
export function frstor(cpu: Cpu, seg: number, off: number, o32: boolean): void {
  const f = cpu.fpu;
  const lin = readAddress(cpu, seg, off, o32 ? SAVE_SIZE_32 : SAVE_SIZE_16);
  const regs = (lin + (o32 ? ENV_SIZE_32 : ENV_SIZE_16)) | 0;
  for (let i = 0; i < 8; i++) readF80(cpu, (regs + 10 * i) | 0, loaded[i]);
  loadEnvironment(cpu, f, lin, o32);
  for (let i = 0; i < 8; i++) {
    const r = f.phys(i);
    f.se[r] = loaded[i].se; f.hi[r] = loaded[i].hi; f.lo[r] = loaded[i].lo;
  }
}
const loaded = Array.from({ length: 8 }, () => new F80());

/** FXSAVE's x87 part (SDM Vol. 2, table 3-53): the abridged tag word has one bit per physical register, 1 = in use. */
export function fxsave(cpu: Cpu, lin: number): void {
  const f = cpu.fpu;
  cpu.writeLin16(lin, f.cw);
  cpu.writeLin16((lin + 2) | 0, f.statusWord());
  cpu.writeLin16((lin + 4) | 0, ~f.empty & 0xff);
  cpu.writeLin16((lin + 6) | 0, f.fop);
  cpu.writeLin32((lin + 8) | 0, f.fip);
  cpu.writeLin32((lin + 12) | 0, f.fcs);
  cpu.writeLin32((lin + 16) | 0, f.fdp);
  cpu.writeLin32((lin + 20) | 0, f.fds);
  for (let i = 0; i < 8; i++) {
    const at = (lin + 32 + 16 * i) | 0;
    writeF80(cpu, at, f.st(i, reg));
    cpu.writeLin16((at + 10) | 0, 0);
    cpu.writeLin32((at + 12) | 0, 0);
  }
}

export function fxrstor(cpu: Cpu, lin: number): void {
  const f = cpu.fpu;
  for (let i = 0; i < 8; i++) readF80(cpu, (lin + 32 + 16 * i) | 0, loaded[i]);
  const cw = cpu.readLin16(lin), sw = cpu.readLin16((lin + 2) | 0), ftw = cpu.readLin16((lin + 4) | 0) & 0xff;
  f.fop = cpu.readLin16((lin + 6) | 0) & 0x7ff;
  f.fip = cpu.readLin32((lin + 8) | 0) >>> 0;
  f.fcs = cpu.readLin16((lin + 12) | 0);
  f.fdp = cpu.readLin32((lin + 16) | 0) >>> 0;
  f.fds = cpu.readLin16((lin + 20) | 0);
  f.empty = ~ftw & 0xff;
  f.setControlWord(cw);
  f.setStatusWord(sw);
  for (let i = 0; i < 8; i++) {
    const r = f.phys(i);
    f.se[r] = loaded[i].se; f.hi[r] = loaded[i].hi; f.lo[r] = loaded[i].lo;
  }
}
