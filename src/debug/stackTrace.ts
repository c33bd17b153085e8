/**
 * Call frames from the EBP chain: each frame's EBP points at the caller's saved EBP, with the
 * return address above it (the i386 System V frame layout gcc uses without
 * -fomit-frame-pointer). At the first instructions of a function, before `push ebp; mov ebp, esp`
 * has run, and at its `ret`, the return address is found through ESP instead.
 */
import type { GuestMemory } from './guestMemory';
import type { SymbolTable } from './symbols';

export interface Frame {
  /** Linear address of the instruction: EIP for the innermost frame, the return address for callers. */
  address: number;
}

/** Where the innermost frame's return address is, and the frame pointer of its caller. */
export interface FrameExit {
  returnSlot: number;
  returnAddress: number;
  callerEbp: number;
}

const MAX_FRAMES = 64;
const PUSH_EBP = 0x55, RET = 0xc3, RET_IMM = 0xc2;

export interface FrameState {
  /** Linear address of the next instruction (CS.base + EIP). */
  pc: number;
  /** Linear addresses of the stack and frame pointers (SS.base + ESP/EBP). */
  sp: number;
  fp: number;
  /** SS.base, to turn saved EBP values into linear addresses. */
  stackBase: number;
}

/** How the innermost frame returns, from where `pc` is within its function. */
export function innermostExit(s: FrameState, memory: GuestMemory, symbols: SymbolTable): FrameExit | undefined {
  const read = (lin: number): number | undefined => {
    try { return memory.readValue(lin, 4); } catch { return undefined; }
  };
  const byteAt = (lin: number): number | undefined => {
    const { data } = memory.read(lin, 1);
    return data.length === 1 ? data[0] : undefined;
  };
  const fn = symbols.containing(s.pc);
  const op = byteAt(s.pc);
  let slot: number;
  let callerEbp: number | undefined;
  if ((fn !== undefined && fn.address === s.pc) || op === RET || op === RET_IMM) {
    slot = s.sp;                       // at the entry, or at the ret after leave / pop ebp
    callerEbp = s.fp - s.stackBase;
  } else if (fn !== undefined && s.pc === fn.address + 1 && byteAt(fn.address) === PUSH_EBP) {
    slot = s.sp + 4;                   // after push ebp
    callerEbp = read(s.sp);
  } else {
    slot = s.fp + 4;                   // after mov ebp, esp: the usual frame
    callerEbp = read(s.fp);
  }
  const returnAddress = read(slot);
  if (returnAddress === undefined || callerEbp === undefined) return undefined;
  return { returnSlot: slot >>> 0, returnAddress, callerEbp };
}

/**
 * The frames from the innermost outwards. The walk stops at a zero or unreadable frame pointer,
 * one that does not move up the stack, a zero return address, or after MAX_FRAMES. A return
 * address is never below the stack pointer (EBP is not a frame pointer there), nor at or above
 * `limit`, where the frame of an interrupt or exception begins (eventFrames.ts).
 */
export function walkStack(s: FrameState, memory: GuestMemory, symbols: SymbolTable, codeBase: number, limit = 2 ** 32): Frame[] {
  const frames: Frame[] = [{ address: s.pc >>> 0 }];
  const exit = innermostExit(s, memory, symbols);
  if (exit === undefined || exit.returnAddress === 0 || exit.returnSlot < s.sp >>> 0 || exit.returnSlot >= limit) return frames;
  frames.push({ address: (codeBase + exit.returnAddress) >>> 0 });
  let ebp = exit.callerEbp >>> 0;
  let lastSlot = exit.returnSlot;
  while (frames.length < MAX_FRAMES && ebp !== 0) {
    const fp = (s.stackBase + ebp) >>> 0;
    if (fp + 4 <= lastSlot || fp + 4 >= limit) break;     // frames live at increasing addresses, below an event's frame
    let savedEbp: number, ret: number;
    try {
      savedEbp = memory.readValue(fp, 4);
      ret = memory.readValue(fp + 4, 4);
    } catch {
      break;
    }
    if (ret === 0) break;
    frames.push({ address: (codeBase + ret) >>> 0 });
    lastSlot = fp + 4;
    ebp = savedEbp >>> 0;
  }
  return frames;
}
