/**
 * Parsed instruction operands: what the front end (parser, expressions, passes) hands to the
 * encoder. Values that are not known yet in an early pass (forward references) are
 * `undefined`; the encoder must then pick the form the front end's pass logic expects (see
 * encoder.ts) so that the passes converge on nasm's choice.
 */
export type Bits = 16 | 32;

/** Size keywords: byte word dword qword tword, plus far pointers (m16:16 / m16:32). */
export type SizeKeyword = 'byte' | 'word' | 'dword' | 'qword' | 'tword' | 'far' | 'near' | 'short';

export type SegmentRegister = 'es' | 'cs' | 'ss' | 'ds' | 'fs' | 'gs';

export interface RegisterOperand {
  kind: 'reg';
  /** Lower-case register name: al..bh, ax..di, eax..edi, es..gs, cr0..cr4, dr0..dr7. */
  name: string;
}

export interface ImmediateOperand {
  kind: 'imm';
  /** The value (wrapped to 32 bits by the front end), or undefined when not yet known. */
  value: number | undefined;
  /** An explicit size keyword written before it (`push dword 1`, `jmp short x`, `jmp near x`). */
  size?: SizeKeyword;
  /** `strict` was written: do not optimize the size. */
  strict?: boolean;
  /** The expression is relocatable relative to a section (a label address, not a plain number). */
  relocatable?: boolean;
}

export interface MemoryOperand {
  kind: 'mem';
  /** Size keyword before the brackets (`dword [eax]`), if any. */
  size?: SizeKeyword;
  segment?: SegmentRegister;
  base?: string;
  index?: string;
  scale: 1 | 2 | 4 | 8;
  /** Displacement value, or undefined while unknown. 0 when absent. */
  disp: number | undefined;
  /** Whether a displacement was written at all (`[eax]` vs `[eax+0]`: nasm emits no disp for both unless sized). */
  hasDisp: boolean;
  /** A size keyword inside the brackets for the displacement (`[byte eax+1]`, `[dword eax]`). */
  dispSize?: 'byte' | 'word' | 'dword';
  /** `[nosplit ...]` was written. */
  nosplit?: boolean;
  /** Address size forced by a register choice or `a16`/`a32`; otherwise the current bits. */
}

/** `jmp 0x08:label` / `call far seg:off` direct far pointer. */
export interface FarPointerOperand {
  kind: 'farptr';
  segment: number | undefined;
  offset: number | undefined;
}

export type Operand = RegisterOperand | ImmediateOperand | MemoryOperand | FarPointerOperand;

/** One instruction line after macro expansion and expression evaluation. */
export interface InstructionRequest {
  /** Lower-case mnemonic, e.g. `mov`, `rep movsb` is mnemonic `movsb` with prefix `rep`. */
  mnemonic: string;
  /** Prefix words in source order: rep repe repz repne repnz lock o16 o32 a16 a32, and segment overrides written as prefixes (`es movsb`). */
  prefixes: string[];
  operands: Operand[];
}

export interface EncodeContext {
  bits: Bits;
  /** Address of the first byte of this instruction (for relative branches). */
  address: number;
  /** True in the final pass: unknown values are then errors, not guesses. */
  final: boolean;
}

export type EncodeResult = { ok: true; bytes: Uint8Array } | { ok: false; error: string };
