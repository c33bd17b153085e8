/**
 * Parsed instruction operands: what the front end (parser, expressions, passes) hands to the
 * encoder. Values that are not known yet in an early pass (forward references) are
 * `undefined`; the encoder then picks the form nasm picks in its first pass (see
 * encoder/index.ts) so that the passes converge on nasm's choice.
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
  /** A second keyword besides `size`: `jmp near dword x` has size dword, distance near. */
  distance?: 'far' | 'near' | 'short';
  /** Relocatable against another section than the instruction's (nasm never makes such a jump short). */
  foreignSection?: boolean;
}

export interface MemoryOperand {
  kind: 'mem';
  /** Size keyword before the brackets (`dword [eax]`), if any. */
  size?: SizeKeyword;
  segment?: SegmentRegister;
  /**
   * Registers. With `hint`, these are nasm's parse_mref result: `base` the first general register
   * (in nasm's register-name order) whose multiplier is 1, `index`/`scale` the other register and
   * its multiplier (3, 5, 9 are valid: [eax*3] is [eax+eax*2]). Without `hint`: `base` is the
   * register written without a multiplier, `index`/`scale` the other one (`[eax*1]` is index eax,
   * scale 1); a register written twice is summed into the multiplier.
   */
  base?: string;
  index?: string;
  scale: number;
  /** nasm's effective-address hint (asm/eval.c): the first register written, and whether it was multiplied or summed. */
  hint?: { type: 'none' | 'makebase' | 'notbase' | 'summed'; reg?: string };
  /** The displacement is relocatable (contains a label): nasm then always uses a full-size displacement. */
  relocatable?: boolean;
  /** A second keyword besides `size`: `call far dword [x]` has size dword, distance far. */
  distance?: 'far' | 'near' | 'short';
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
  /** Size keyword before the segment (`jmp dword 0x08:x` in bits 16: 66 EA with a 32-bit offset). */
  size?: SizeKeyword;
  /** Size keyword before the offset (`jmp 0x08:dword x`). */
  offsetSize?: SizeKeyword;
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

/** `warnings` are nasm's warnings for the line (e.g. "byte data exceeds bounds"); errors are nasm's messages. */
export type EncodeResult = { ok: true; bytes: Uint8Array; warnings?: string[] } | { ok: false; error: string };
