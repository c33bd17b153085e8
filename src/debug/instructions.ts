/**
 * Decoding guest instructions for the debugger without touching the guest: the CPU's own
 * decoder reading from a copy of the bytes (decodeFrom), so the guest's TLB, accessed bits and
 * fault state stay as they are. Step over needs the kind and length of the instruction at EIP.
 */
import { decodeFrom } from '../cpu/decoder';
import { Insn } from '../cpu/insn';

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
const insn = new Insn(() => undefined);

/**
 * Decodes the instruction at the start of `bytes` as 32-bit (`code32`) or 16-bit code.
 * Returns undefined when `bytes` ends before the instruction does, or it is longer than 15 bytes.
 */
export function decodeInstruction(bytes: Uint8Array, code32: boolean): DecodedInstruction | undefined {
  const n = Math.min(bytes.length, MAX_INSTRUCTION_LENGTH);
  let complete = true;
  decodeFrom((a) => {
    if (a < n) return bytes[a];
    complete = false;
    return 0;
  }, 0, code32, insn);
  if (!complete || insn.len > n) return undefined;
  const mnemonic = insn.def?.name;
  return { length: insn.len, mnemonic, returnsToNext: mnemonic !== undefined && RETURNS_TO_NEXT.has(mnemonic) };
}
