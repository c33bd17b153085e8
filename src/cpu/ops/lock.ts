/**
 * The LOCK prefix rule (SDM Vol. 2, "LOCK—Assert LOCK# Signal Prefix"): LOCK is allowed only
 * on ADD, ADC, AND, BTC, BTR, BTS, CMPXCHG, CMPXCHG8B, DEC, INC, NEG, NOT, OR, SBB, SUB, XOR,
 * XADD and XCHG, and only when the destination is in memory; anywhere else it raises #UD.
 *
 * Instructions that never allow LOCK call `rejectLock` first thing; the lockable ones call it
 * on their register-destination path only. A single interpreter runs one instruction at a
 * time, so an accepted LOCK needs nothing more: the read-modify-write is already atomic.
 */
import type { Cpu } from '../cpu';
import { UD } from '../exceptions';
import type { Insn } from '../insn';

export function rejectLock(cpu: Cpu, i: Insn): void {
  if (i.lock) cpu.raise(UD);
}
