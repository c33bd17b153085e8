/**
 * A decoded instruction. Decoding happens once per instruction per code block (decoder.ts);
 * executing it calls `exec` with the fields below, so nothing is allocated per execution.
 */
import type { Cpu } from './cpu';

export type Exec = (cpu: Cpu, i: Insn) => void;

/** Immediate operand kinds of the opcode map (SDM Vol. 2, appendix A.2). */
export const enum Imm {
  None,
  /** Ib: one byte, zero-extended. */
  Ib,
  /** Ib sign-extended to the operand size (Jb, the 6B/83 forms). */
  IbS,
  /** Iw: two bytes. */
  Iw,
  /** Iz: two or four bytes by operand size; Jz is the same, kept signed. */
  Iz,
  /** Iw then Ib (ENTER). */
  IwIb,
  /** Ap: far pointer, offset (2 or 4 bytes by operand size) then a 16-bit selector in imm2. */
  Ap,
  /** Ob/Ov: a memory offset of the address size (MOV moffs). */
  Moffs,
}

export interface OpDef {
  /** Mnemonic (lower case), for disassembly and diagnostics. */
  name: string;
  /**
   * Operands for the disassembler (src/cpu/disasm), in the notation of the SDM opcode maps
   * (Vol. 2, appendix A.2): addressing method + operand type, e.g. 'Eb,Gb', 'Gv,Ev,Ib',
   * 'rAX,Iz', 'Jz', 'Ap', 'Ob', 'Mw/Rv,Sw', 'Rd,Cd', 'Yb,Xb', or a register ('AL', 'DX',
   * 'CL', 'ES', '1'). Two additions: 'Zb'/'Zv'/'Zd' is the register in the opcode's low three
   * bits (the map's "rAX/r8" cells), and 'x87' is an escape to the x87 maps (appendix A.4).
   * Absent: no operands.
   */
  operands?: string;
  /** Mnemonics at operand size 16 and 32 where the size changes the name (cbw/cwde, movsw/movsd). */
  names?: readonly [string, string];
  /**
   * Mnemonics at operand size 16 and 32, written only where the size is not the code's
   * default, as nasm spells them (pusha/pushaw, iret/iretd, ret/retw).
   */
  sizedNames?: readonly [string, string];
  /** Has a ModR/M byte. */
  modrm?: boolean;
  imm?: Imm;
  /** One handler for every operand size (it reads `i.o32`), or one per size below. */
  exec?: Exec;
  exec16?: Exec;
  exec32?: Exec;
  /** Opcode extension by ModR/M.reg; entries inherit `imm` from the parent unless they set their own. */
  group?: (OpDef | undefined)[];
  /** With mod = 3, selection by ModR/M.rm instead (0F 01 /0-/3 system forms, VMX instructions). */
  groupMod3?: (OpDef | undefined)[];
  /** Only the memory form is valid (mod = 3 is #UD), e.g. LEA, LGDT, BOUND. */
  memOnly?: boolean;
  /** Only the register form is valid. */
  regOnly?: boolean;
  /** The ModR/M byte always names registers, whatever its mod field (MOV CRn/DRn, SDM Vol. 2: "mod is ignored"). */
  modIgnored?: boolean;
  /** Control may leave the straight line (jumps, calls, mode changes): the code block ends here. */
  endsBlock?: boolean;
}

export class Insn {
  exec: Exec;
  def: OpDef | undefined = undefined;
  /** Opcode: 0x00-0xFF, or 0x100 + second byte after 0F. */
  op = 0;
  /** Length in bytes, prefixes included. */
  len = 0;
  /** Operand size 32 (else 16), after 66. */
  o32 = true;
  /** Address size 32 (else 16), after 67. */
  a32 = true;
  /** ModR/M.reg, or the register in the low three opcode bits. */
  reg = 0;
  /** ModR/M.rm when mod = 3. */
  rm = 0;
  /** The r/m operand is in memory. */
  mem = false;
  /** Segment of the memory operand (override, or the default for the base register). */
  seg = 3;
  /** An explicit segment override prefix, or -1 (string instructions need to know). */
  segOverride = -1;
  base = -1;
  index = -1;
  scale = 0;
  disp = 0;
  imm = 0;
  imm2 = 0;
  /** 0 none, 1 REP/REPE (F3), 2 REPNE (F2). */
  rep = 0;
  lock = false;

  constructor(exec: Exec) { this.exec = exec; }
}

export const REP_NONE = 0, REP_E = 1, REP_NE = 2;
