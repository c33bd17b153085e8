/**
 * Compiles the text table (table.ts) once, at load, into templates grouped by mnemonic: the
 * operand classes to match and a flat list of emit steps. Nothing here runs per instruction.
 */
import * as F from './opflags';
import { TABLE_LINES } from './table';

// Emit steps, each followed by its arguments in Template.code.
export const STEP_LIT = 0;        // n, byte x n
export const STEP_REG_ADD = 1;    // operand, base opcode: base + register number
export const STEP_MODRM_REG = 2;  // r/m operand, reg operand
export const STEP_MODRM_DIGIT = 3; // r/m operand, digit
export const STEP_IMM = 4;        // kind, operand
export const STEP_REL = 5;        // kind, operand (always the last step: it is relative to the end)
export const STEP_SEG = 6;        // operand
export const STEP_A16 = 7;        // a 67 prefix unless the address size is already 16
export const STEP_A32 = 8;        // a 67 prefix unless the address size is already 32

// Immediate kinds.
export const IMM_B = 0;       // ib: byte, any sign
export const IMM_BU = 1;      // ib,u: unsigned byte
export const IMM_BS = 2;      // ib,s: byte sign-extended by the CPU
export const IMM_W = 3;       // iw
export const IMM_WD = 4;      // iwd: word or dword by operand size
export const IMM_D = 5;       // id
export const IMM_WDQ = 6;     // iwdq: a moffs of the address size

// Relative kinds.
export const REL_8 = 0;
const REL_WD = 1;             // rel: 16 or 32 bits by operand size

/** The size a template gives to operands written without one (nasm's S* flags). */
export const SIZE_NONE = 0;
export const SIZE_BITS = -1;  // SIZE: the size of `bits`

export interface Template {
  mnemonic: string;
  ops: number[];
  /** Size for unsized operands: a BITS* flag, F.SIZE_MASK for ANYSIZE, SIZE_BITS, or SIZE_NONE. */
  size: number;
  /** The operand the size applies to (ARn), or -1 for all. */
  sizeArg: number;
  /** SM: how many leading operands share the size of the first sized one (0 = no SM flag). */
  sameSize: number;
  lock: boolean;
  /** A 64-bit-mode form: it matches, but only to be refused outside `bits 64`. */
  long: boolean;
  /** A near branch or return: nasm refuses REPNE/REPNZ on it (F2 is the BND prefix there). */
  bnd: boolean;
  /** nasm warns that the instruction is obsolete. */
  obsolete: boolean;
  /** o16 / o32 in the encoding: the form's operand size, or 0 for the default. */
  osize: 0 | 16 | 32;
  /** The form needs the WAIT byte (FWAIT). */
  wait: boolean;
  /** jmp8 / jcc8: valid only when the target fits a signed byte. */
  shortOnly: boolean;
  code: number[];
  /** Source line, for messages about the table itself. */
  line: string;
}

const CLASSES: Record<string, number> = {
  void: 0,
  mem: F.MEMORY, mem16: F.MEMORY | F.BITS16, mem32: F.MEMORY | F.BITS32, mem64: F.MEMORY | F.BITS64,
  rm64: F.RM_GPR | F.BITS64, imm64: F.IMMEDIATE | F.BITS64, sbytedword64: F.SBYTEDWORD | F.BITS64,
  mem_offs: F.MEM_OFFS,
  reg8: F.REG8, reg16: F.REG16, reg32: F.REG32, reg32na: F.REG32NA,
  rm8: F.RM_GPR | F.BITS8, rm16: F.RM_GPR | F.BITS16, rm32: F.RM_GPR | F.BITS32,
  imm: F.IMMEDIATE, imm8: F.IMMEDIATE | F.BITS8, imm16: F.IMMEDIATE | F.BITS16, imm32: F.IMMEDIATE | F.BITS32,
  sbyteword: F.SBYTEWORD, sbytedword: F.SBYTEDWORD,
  sbyteword16: F.SBYTEWORD | F.BITS16, sbytedword32: F.SBYTEDWORD | F.BITS32,
  unity: F.UNITY,
  reg_al: F.REG_AL, reg_ax: F.REG_AX, reg_eax: F.REG_EAX, reg_cl: F.REG_CL, reg_cx: F.REG_CX,
  reg_ecx: F.REG_ECX, reg_dx: F.REG_DX,
  reg_sreg: F.REG_SREG, reg_es: F.REG_ES, reg_cs: F.REG_CS, reg_ss: F.REG_SS, reg_ds: F.REG_DS,
  reg_fs: F.REG_FS, reg_gs: F.REG_GS, reg_creg: F.REG_CREG, reg_dreg: F.REG_DREG,
  near: F.NEAR, far: F.FAR, short: F.SHORT,
};

const SIZE_FLAGS: Record<string, number> = {
  SB: F.BITS8, SW: F.BITS16, SD: F.BITS32, SO: F.BITS128, ANYSIZE: F.SIZE_MASK, SIZE: SIZE_BITS,
};

const IMM_KINDS: Record<string, number> = {
  'ib': IMM_B, 'ib,u': IMM_BU, 'ib,s': IMM_BS, 'iw': IMM_W, 'iwd': IMM_WD, 'id': IMM_D, 'iwdq': IMM_WDQ,
};

function fail(line: string, why: string): never {
  throw new Error(`instruction table: ${why} in "${line.trim()}"`);
}

function parseOperands(text: string, line: string): number[] {
  if (text === 'void') return [];
  const ops: number[] = [];
  for (const part of text.split(',')) {
    const pieces = part.split(':');
    pieces.forEach((piece, k) => {
      let cls = k < pieces.length - 1 ? F.COLON : 0;
      for (const name of piece.split('|')) {
        const c = CLASSES[name];
        if (c === undefined) fail(line, `unknown operand class ${name}`);
        cls |= c;
      }
      ops.push(cls);
    });
  }
  return ops;
}

function compileLine(line: string): Template {
  const m = /^(\S+)\s+(\S+)\s+\[([^\]:]*:)?([^\]]*)\]\s*(\S*)$/.exec(line.trim());
  if (m === null) fail(line, 'cannot parse');
  const [, name, operandText, lettersText, codeText, flagText] = m;
  const ops = parseOperands(operandText, line);

  // Operand letters: r+m puts two roles on one operand.
  const role: Record<string, number> = {};
  let op = 0;
  for (const c of (lettersText ?? '').replace(/:$/, '')) {
    if (c === '+') op--;
    else role[c] = op++;
  }
  const operandOf = (letter: string): number => {
    const n = role[letter];
    if (n === undefined) fail(line, `no '${letter}' operand`);
    return n;
  };

  const t: Template = {
    mnemonic: name.toLowerCase(), ops, size: SIZE_NONE, sizeArg: -1, sameSize: 0,
    lock: false, long: false, bnd: false, obsolete: false, osize: 0, wait: false, shortOnly: false, code: [], line,
  };
  for (const flag of flagText.split(',').filter((f) => f !== '')) {
    if (SIZE_FLAGS[flag] !== undefined) t.size = SIZE_FLAGS[flag];
    // nasm computes the operand of ARn as (1 << n) - 1 (iflag.h), so AR2 names operand 3,
    // which no instruction has: `shld eax, ebx, byte 3` is a size mismatch in nasm.
    else if (/^AR\d$/.test(flag)) t.sizeArg = (1 << Number(flag.slice(2))) - 1;
    else if (flag === 'SM') t.sameSize = ops.length;
    else if (flag === 'SM2') t.sameSize = 2;
    else if (flag === 'OPT') { /* optimised-only form: nasm optimises by default */ }
    else if (flag === 'LOCK') t.lock = true;
    else if (flag === 'LONG') t.long = true;
    else if (flag === 'OBSOLETE') t.obsolete = true;
    else if (flag === 'BND') t.bnd = true;
    else fail(line, `unknown flag ${flag}`);
  }

  let immLetter = '';
  const code = t.code;
  let litAt = -1;
  let relAt = -1;
  for (const tok of codeText.trim().split(/\s+/).filter((s) => s !== '')) {
    if (/^[0-9a-f]{2}$/.test(tok)) {
      if (litAt >= 0) { code[litAt]++; code.push(parseInt(tok, 16)); }
      else { code.push(STEP_LIT); litAt = code.length; code.push(1, parseInt(tok, 16)); }
      continue;
    }
    litAt = -1;
    let mm: RegExpExecArray | null;
    if (tok === 'o16') t.osize = 16;
    else if (tok === 'o32') t.osize = 32;
    else if (tok === 'odf' || tok === 'adf') { /* default size: nothing to emit */ }
    else if (tok === 'a16') code.push(STEP_A16);
    else if (tok === 'a32') code.push(STEP_A32);
    else if (tok === 'jmp8' || tok === 'jcc8') t.shortOnly = true;
    else if (tok === 'wait') t.wait = true;
    else if (tok === '/r') code.push(STEP_MODRM_REG, operandOf('m'), operandOf('r'));
    else if ((mm = /^\/([0-7])$/.exec(tok)) !== null) code.push(STEP_MODRM_DIGIT, operandOf('m'), Number(mm[1]));
    else if ((mm = /^([0-9a-f]{2})\+r$/.exec(tok)) !== null) code.push(STEP_REG_ADD, operandOf('r'), parseInt(mm[1], 16));
    else if (IMM_KINDS[tok] !== undefined) {
      immLetter = immLetter === '' ? 'i' : 'j';
      code.push(STEP_IMM, IMM_KINDS[tok], operandOf(immLetter));
    } else if (tok === 'rel8' || tok === 'rel') {
      immLetter = immLetter === '' ? 'i' : 'j';
      relAt = code.length;
      code.push(STEP_REL, tok === 'rel8' ? REL_8 : REL_WD, operandOf(immLetter));
    } else if (tok === 'seg') code.push(STEP_SEG, operandOf(immLetter));
    else fail(line, `unknown encoding step ${tok}`);
  }
  if (relAt >= 0 && relAt !== code.length - 3) fail(line, 'a relative operand must come last');
  return t;
}

function compileTable(): Map<string, Template[]> {
  const byName = new Map<string, Template[]>();
  for (const chunk of TABLE_LINES) {
    for (const line of chunk.split('\n')) {
      if (line.trim() === '') continue;
      const t = compileLine(line);
      let list = byName.get(t.mnemonic);
      if (list === undefined) byName.set(t.mnemonic, list = []);
      list.push(t);
    }
  }
  return byName;
}

/** Templates by lower-case mnemonic, in match order. */
export const TEMPLATES: ReadonlyMap<string, readonly Template[]> = compileTable();
