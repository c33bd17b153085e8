/** Register names as nasm writes them, indexed by the ModR/M register numbers. */

export const REG8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'];
export const REG16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
export const REG32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
/** Segment registers in the order of Insn.seg and the Sreg field (ES CS SS DS FS GS). */
export const SREG = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];

/** A general register of `bits` (8, 16 or 32). */
export function generalRegister(bits: number, n: number): string {
  return (bits === 8 ? REG8 : bits === 16 ? REG16 : REG32)[n];
}

/** Condition codes by the low nibble of Jcc/SETcc/CMOVcc, in nasm's (and ndisasm's) spelling. */
export const CONDITIONS = ['o', 'no', 'c', 'nc', 'z', 'nz', 'na', 'a', 's', 'ns', 'pe', 'po', 'l', 'nl', 'ng', 'g'];
