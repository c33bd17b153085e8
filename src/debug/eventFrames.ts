/**
 * Interrupt and exception frames in the stack trace. The processor tells the debugger of every
 * event it delivers through an IDT gate (Cpu.onDeliver); a record of each (the vector, the
 * interrupted code's CS:EIP, EBP, SS:ESP and CPL, and where the frame was pushed) lets the walk
 * recognise the frame when it reaches it, show it as a frame of its own ("<interrupt 0x20>",
 * "<#PF error 0x2>", "<int 0x80 from ring 3>"), and go on in the interrupted code from the
 * saved CS:EIP with the stack and frame pointers it had.
 *
 * Nothing tells the debugger when a handler returns (IRET pops the frame). A record is believed
 * while its frame is on the stack being walked: the same SS selector, at or above the stack
 * pointer, and the saved CS still in its slot. The saved EIP is read from the frame, since a
 * handler may change it (a #GP handler that skips the faulting instruction). A delivery onto a
 * stack drops the records of frames at or below it on that stack: those were popped.
 */
import type { Cpu } from '../cpu/cpu';
import { EXCEPTION_MNEMONICS } from '../cpu/exceptions';
import { EventKind, type DeliveredEvent } from '../cpu/interrupts';
import { ESP, SS } from '../cpu/registers';
import { hex8, type GuestMemory } from './guestMemory';
import type { RegisterNode } from './registers';
import { walkStack, type FrameState } from './stackTrace';
import type { SymbolTable } from './symbols';

export interface DeliveryRecord extends DeliveredEvent {
  /** Linear address of the lowest word of the pushed frame (the error code, or the saved EIP). */
  frame: number;
  /** SS selector of the stack the frame is on. */
  frameSs: number;
  /** CPL the handler runs at. */
  handlerCpl: number;
}

/** Records kept per processor: nesting deeper than this is not expected of a kernel. */
const MAX_RECORDS = 16;
/** Frames in a whole trace, all contexts together. */
const MAX_TRACE = 256;

/** The events one processor delivered whose frames may still be on a stack. */
export class DeliveryLog {
  private records: DeliveryRecord[] = [];

  constructor(cpu: Cpu) {
    cpu.onDeliver = (event) => {
      const frame = (cpu.segBase[SS] + cpu.regs[ESP]) >>> 0, frameSs = cpu.segSel[SS];
      this.records = this.records.filter((r) => r.frameSs !== frameSs || r.frame > frame);
      this.records.push({ ...event, frame, frameSs, handlerCpl: cpu.cpl });
      if (this.records.length > MAX_RECORDS) this.records.shift();
    };
  }

  /** The most recent delivery first. */
  newestFirst(): DeliveryRecord[] { return [...this.records].reverse(); }
}

/** "<int 0x80 from ring 3>", "<#PF error 0x2>", "<interrupt 0x20>". */
export function eventName(r: DeliveryRecord): string {
  const hex = `0x${r.vector.toString(16)}`;
  let what: string;
  if (r.kind === EventKind.External) what = `interrupt ${hex}`;
  else if (r.kind === EventKind.Software) what = r.vector === 3 ? 'int3' : r.vector === 4 ? 'into' : `int ${hex}`;
  else what = EXCEPTION_MNEMONICS[r.vector] ?? `exception ${hex}`;
  if (r.errorCode !== undefined) what += ` error 0x${r.errorCode.toString(16)}`;
  if (r.handlerCpl < r.cpl) what += ` from ring ${r.cpl}`;
  return `<${what}>`;
}

/** A frame walked through: code, or an event frame (a label between handler and interrupted code). */
export interface WalkedFrame {
  /** Linear address of the instruction (for an event frame, where the interrupted code resumes). */
  address: number;
  /** Where the frame's source line is looked up: a caller's call instruction, an INT n, or the address. */
  lineAddress: number;
  event?: DeliveryRecord;
  /** The registers of the code the frame belongs to, and the frame's place among that code's frames. */
  context: WalkContext;
  depth: number;
}

/** FrameState plus the SS selector, which tells which stack an event frame is on, and the CS base. */
export interface WalkContext extends FrameState {
  ss: number;
  codeBase: number;
}

/** The saved words of an event frame by name (32-bit gates), lowest address first. */
function frameSlots(r: DeliveryRecord): { name: string; address: number }[] {
  const names = [...(r.errorCode !== undefined ? ['error code'] : []), 'eip', 'cs', 'eflags', ...(r.handlerCpl < r.cpl ? ['esp', 'ss'] : [])];
  return names.map((name, k) => ({ name, address: (r.frame + 4 * k) >>> 0 }));
}

function word(memory: GuestMemory, address: number): number | undefined {
  try { return memory.readValue(address, 4) >>> 0; } catch { return undefined; }
}

/** Whether `r`'s frame is on the stack of `ctx`, still holding the CS it saved; then its saved EIP. */
function savedEip(r: DeliveryRecord, ctx: WalkContext, memory: GuestMemory): number | undefined {
  if (r.frameSs !== ctx.ss || r.frame < ctx.sp >>> 0) return undefined;
  const slots = frameSlots(r);
  const cs = word(memory, slots.find((s) => s.name === 'cs')!.address);
  if (cs === undefined || (cs & 0xffff) !== r.cs) return undefined;
  return word(memory, slots.find((s) => s.name === 'eip')!.address);
}

/**
 * The frames from the innermost outwards across event frames: each context (the processor's
 * registers, then each interrupted code) is walked by its EBP chain up to the event frame it
 * was interrupted by, if a record of one is found on its stack.
 */
export function walkWithEvents(start: WalkContext, records: readonly DeliveryRecord[], memory: GuestMemory,
  symbols: SymbolTable): WalkedFrame[] {
  const frames: WalkedFrame[] = [];
  let ctx = start, lineAddress = start.pc, pending = records;
  while (frames.length < MAX_TRACE) {
    let eip: number | undefined, k = 0;
    for (; k < pending.length && eip === undefined; k++) eip = savedEip(pending[k], ctx, memory);
    const r = eip === undefined ? undefined : pending[k - 1];
    walkStack(ctx, memory, symbols, ctx.codeBase, r?.frame).forEach((f, depth) => {
      frames.push({ address: f.address, lineAddress: depth === 0 ? lineAddress : (f.address - 1) >>> 0, context: ctx, depth });
    });
    if (r === undefined || eip === undefined) break;
    const pc = (r.csBase + eip) >>> 0;
    frames.push({ address: pc, lineAddress: pc, event: r, context: ctx, depth: -1 });
    ctx = {
      pc, sp: (r.ssBase + r.esp) >>> 0, fp: (r.ssBase + r.ebp) >>> 0, stackBase: r.ssBase, ss: r.ss, codeBase: r.csBase,
    };
    // INT n returns after itself: its line is that of the INT, as a caller's is that of its CALL.
    lineAddress = r.kind === EventKind.Software ? (pc - 1) >>> 0 : pc;
    pending = pending.slice(k);
  }
  return frames.slice(0, MAX_TRACE);
}

/** The words of an event frame for the Frame scope: saved EIP, CS, EFLAGS (ESP, SS) and error code, highest first. */
export function eventFrameNodes(r: DeliveryRecord, memory: GuestMemory): RegisterNode[] {
  return frameSlots(r).reverse().flatMap(({ name, address }) => {
    const value = word(memory, address);
    if (value === undefined) return [];
    return [{ name, value: `${hex8(value)} at ${hex8(address)}`, evaluateName: `dword [${hex8(address)}]`, memoryReference: address }];
  });
}
