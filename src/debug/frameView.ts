/**
 * The memory of each call frame, for the debugger's Frame scope: the stack words a function's
 * locals, saved registers and arguments live in, named by their offset from the frame
 * pointer as gcc addresses them (i386 System V layout, frame pointers kept): arguments at
 * [ebp+8] and up, the return address at [ebp+4], the caller's EBP at [ebp], locals and
 * spilled values from [ebp-4] down to the stack pointer.
 *
 * The innermost frame may not have set up EBP yet (at the entry, after `push ebp`) or may
 * have torn it down (at `ret`); stackTrace.ts finds its return address all the same, and the
 * frame base is the word below it. A caller's frame reaches down to the word above its
 * callee's return address (its outgoing arguments are its own memory).
 */
import type { GuestMemory } from './guestMemory';
import { hex8 } from './guestMemory';
import type { RegisterNode } from './registers';
import { innermostExit, type FrameState } from './stackTrace';
import type { SymbolTable } from './symbols';

/** Arguments shown above the return address: without type information the count is unknown. */
const MAX_ARGUMENT_WORDS = 4;
/** Words shown below the frame base, so a runaway stack pointer shows a bounded list. */
const MAX_LOCAL_WORDS = 64;

export interface FrameSpan {
  /** Linear address of the frame base, where EBP points once the prologue has run. */
  base: number;
  /** Lowest linear address of the frame's own words. */
  low: number;
  /** Whether the word at `base` holds the caller's EBP yet. */
  savedEbp: boolean;
  /** Linear address above which the arguments end: the caller's frame base, when known. */
  argumentsEnd: number;
}

/** The spans of the frames walkStack lists, innermost first (as many as can be found). */
export function frameSpans(s: FrameState, memory: GuestMemory, symbols: SymbolTable, count: number): FrameSpan[] {
  const exit = innermostExit(s, memory, symbols);
  if (exit === undefined) return [];
  const spans: FrameSpan[] = [];
  let base = (exit.returnSlot - 4) >>> 0;
  let low = s.sp >>> 0;
  let savedEbp = low <= base;
  let callerEbp = exit.callerEbp >>> 0;
  while (spans.length < count) {
    const callerBase = (s.stackBase + callerEbp) >>> 0;
    const callerKnown = callerEbp !== 0 && callerBase > base;
    spans.push({ base, low, savedEbp, argumentsEnd: callerKnown ? callerBase : (base + 8 + 4 * MAX_ARGUMENT_WORDS) >>> 0 });
    if (!callerKnown) break;
    low = (base + 8) >>> 0;
    base = callerBase;
    savedEbp = true;
    try {
      callerEbp = memory.readValue(base, 4) >>> 0;
    } catch {
      break;
    }
  }
  return spans;
}

function word(memory: GuestMemory, address: number): number | undefined {
  try { return memory.readValue(address, 4) >>> 0; } catch { return undefined; }
}

function offsetName(offset: number): string {
  return offset === 0 ? '[ebp]' : offset > 0 ? `[ebp+${offset}]` : `[ebp-${-offset}]`;
}

/**
 * The frame's words, highest address first as a stack diagram is drawn: arguments, return
 * address, saved EBP, then locals. Each names its address and shows its value; its
 * evaluateName (`dword [address]`) lets a watch change it, and its memory reference opens it
 * in a memory view.
 */
export function frameNodes(span: FrameSpan, memory: GuestMemory, describe: (address: number) => string | undefined): RegisterNode[] {
  const nodes: RegisterNode[] = [];
  const node = (role: string, offset: number): void => {
    const address = (span.base + offset) >>> 0;
    const value = word(memory, address);
    if (value === undefined) return;
    const label = role === 'return address' ? describe(value) : undefined;
    const operand = `dword [${hex8(address)}]`;
    nodes.push({
      name: `${role === '' ? '' : `${role} `}${offsetName(offset)}`,
      value: `${hex8(value)} (${value | 0})${label === undefined ? '' : ` <${label}>`} at ${hex8(address)}`,
      evaluateName: operand, memoryReference: address,
    });
  };
  const argumentWords = Math.min(MAX_ARGUMENT_WORDS, Math.max(0, Math.floor((span.argumentsEnd - span.base - 8) / 4)));
  for (let k = argumentWords; k >= 1; k--) node(`arg ${k}`, 4 + 4 * k);
  node('return address', 4);
  if (span.savedEbp) node('saved ebp', 0);
  const localWords = Math.min(MAX_LOCAL_WORDS, Math.max(0, Math.floor((span.base - span.low) / 4)));
  for (let k = 1; k <= localWords; k++) node('', -4 * k);
  return nodes;
}
