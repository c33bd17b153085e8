/**
 * Operand classes as bit sets, after nasm's include/opflags.h: an operand belongs to a template's
 * class when every bit of the class is set in the operand (`(cls & ~op) === 0`). Only the part
 * of nasm's model that IA-32 integer and system instructions use is kept, packed into 25 bits so
 * the sets stay small integers.
 */

// Operand type (nasm's OPTYPE bits).
export const REGISTER = 1 << 0;
export const IMMEDIATE = 1 << 1;
export const REGMEM = 1 << 2;
export const MEMORY = (1 << 3) | REGMEM;

// Modifiers.
export const COLON = 1 << 4;
export const STRICT = 1 << 5;

// Register classes.
export const CLASS_CDT = 1 << 6;
export const CLASS_GPR = 1 << 7;
export const CLASS_SREG = 1 << 8;

/** Subclass bit n (0..7); its meaning depends on the operand type, as in nasm. */
export function sub(n: number): number { return 1 << (9 + n); }

// Sizes.
export const BITS8 = 1 << 17;
export const BITS16 = 1 << 18;
export const BITS32 = 1 << 19;
export const BITS64 = 1 << 20;
export const BITS80 = 1 << 21;
export const BITS128 = 1 << 22;
export const FAR = 1 << 23;
export const NEAR = 1 << 24;
export const SHORT = 1 << 25;
export const SIZE_MASK = BITS8 | BITS16 | BITS32 | BITS64 | BITS80 | BITS128 | FAR | NEAR | SHORT;

// General-purpose registers and their special members.
export const REG_GPR = CLASS_GPR | REGMEM | REGISTER;
export const RM_GPR = CLASS_GPR | REGMEM;
export const REG8 = REG_GPR | BITS8;
export const REG16 = REG_GPR | BITS16;
export const REG32 = REG_GPR | BITS32;
export const REG_AL = sub(1) | REG8;
export const REG_AX = sub(1) | REG16;
export const REG_EAX = sub(1) | REG32;
export const REG_CL = sub(5) | sub(2) | REG8;
export const REG_CX = sub(5) | sub(2) | REG16;
export const REG_ECX = sub(5) | sub(2) | REG32;
export const REG_DL = sub(5) | sub(3) | REG8;
export const REG_DX = sub(5) | sub(3) | REG16;
export const REG_EDX = sub(5) | sub(3) | REG32;
export const REG_HIGH = sub(5) | sub(4) | REG8;
export const REG8NA = sub(5) | REG8;
export const REG16NA = sub(5) | REG16;
export const REG32NA = sub(5) | REG32;

// Segment, control and debug registers.
export const REG_SREG = CLASS_SREG | BITS16 | REGISTER;
export const REG_ES = sub(0) | sub(2) | REG_SREG;
export const REG_CS = sub(1) | sub(2) | REG_SREG;
export const REG_SS = sub(0) | sub(3) | REG_SREG;
export const REG_DS = sub(1) | sub(3) | REG_SREG;
export const REG_FS = sub(0) | sub(4) | REG_SREG;
export const REG_GS = sub(1) | sub(4) | REG_SREG;
export const REG_CREG = sub(1) | CLASS_CDT | BITS32 | REGISTER;
export const REG_DREG = sub(2) | CLASS_CDT | BITS32 | REGISTER;

// Memory: a bracketed operand matches any r/m class; a bare offset also matches moffs.
export const MEMORY_ANY = MEMORY | RM_GPR;
export const MEM_OFFS = sub(1) | MEMORY;

// Immediates that nasm's parser tags by value (parser.c): these select the short forms.
export const UNITY = sub(0) | IMMEDIATE;
export const SBYTEWORD = sub(1) | IMMEDIATE;
export const SBYTEDWORD = sub(2) | IMMEDIATE;

/** Is every bit of `cls` set in `op`? */
export function isClass(cls: number, op: number): boolean {
  return (cls & ~op) === 0;
}
