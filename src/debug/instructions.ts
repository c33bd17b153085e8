/**
 * Decoding guest instructions for the debugger without touching the guest: the CPU's own
 * decoder runs on a private scratch CPU whose memory holds a copy of the bytes, so the guest's
 * TLB, accessed bits and fault state stay as they are. Step over needs the kind and length of
 * the instruction at EIP; the disassembly needs lengths and names.
 */
import type { AccessSize, CpuBus } from '../cpu/bus';
import { createCpu, type Cpu } from '../cpu/index';
import { AR_DB, AR_G } from '../cpu/cpu';
import { decode } from '../cpu/decoder';
import { CpuFault } from '../cpu/exceptions';
import { Insn } from '../cpu/insn';
import { CS } from '../cpu/registers';

/** No IA-32 instruction is longer (SDM Vol. 2, 2.3.11). */
export const MAX_INSTRUCTION_LENGTH = 15;

export interface DecodedInstruction {
  length: number;
  /** The decoder's name for it ('mov', 'call far', ...); undefined for an invalid opcode (#UD). */
  mnemonic: string | undefined;
  /** Returns to the next instruction after running other code: CALL, INT n, INT3, INTO, INT1. */
  returnsToNext: boolean;
}

const RETURNS_TO_NEXT = new Set(['call', 'call far', 'int', 'int3', 'into', 'int1']);

class ScratchBus implements CpuBus {
  readonly ram = new Uint8Array(0x2000);
  readonly mmioPages = new Uint8Array(1 << 20);
  mmioRead(_addr: number, size: AccessSize): number { return size === 4 ? -1 : (1 << (8 * size)) - 1; }
  mmioWrite(): void { /* nothing there */ }
  ioRead(): number { return 0xff; }
  ioWrite(): void { /* nothing there */ }
  intrPending(): boolean { return false; }
  intrAcknowledge(): number { return 0; }
}

let scratch: Cpu | undefined;

/**
 * Decodes the instruction at the start of `bytes` as 32-bit (`code32`) or 16-bit code.
 * Returns undefined when `bytes` ends before the instruction does, or it is longer than 15 bytes.
 */
export function decodeInstruction(bytes: Uint8Array, code32: boolean): DecodedInstruction | undefined {
  if (bytes.length === 0) return undefined;
  if (scratch === undefined) {
    scratch = createCpu(new ScratchBus());
    scratch.resetToFlatProtectedMode();
  }
  const cpu = scratch;
  const ar = cpu.segAR[CS];
  cpu.setSegmentCache(CS, 0x08, 0, 0xffff_ffff, code32 ? ar | AR_DB | AR_G : ar & ~AR_DB);
  const n = Math.min(bytes.length, MAX_INSTRUCTION_LENGTH);
  cpu.ram.fill(0);
  cpu.ram.set(bytes.subarray(0, n));
  const insn = new Insn(() => {});
  try {
    decode(cpu, 0, insn);
  } catch (e) {
    if (e instanceof CpuFault) return undefined;
    throw e;
  }
  if (insn.len > n) return undefined;   // it read past the bytes it was given
  const mnemonic = insn.def?.name;
  return { length: insn.len, mnemonic, returnsToNext: mnemonic !== undefined && RETURNS_TO_NEXT.has(mnemonic) };
}
