/**
 * From the front end's InstructionRequest to the encoder's Insn: prefix words into nasm's
 * prefix slots, and operands into operand classes the way nasm's parser tags them. In
 * particular an immediate that is a plain number gets the "fits in a sign-extended byte" and
 * "is 1" classes that select the short forms, and an immediate not known yet gets all of them
 * (nasm's parser: "Be optimistic"), unless `strict`. A label address (relocatable) gets none,
 * so `push label` is always 68 id and `add eax, label` always 05 id, as in nasm.
 */
import type { EncodeContext, InstructionRequest, Operand, SizeKeyword } from '../operand';
import * as F from './opflags';
import {
  EAF_BYTEOFFS, EAF_TIMESTWO, EAF_WORDOFFS, EAH_MAKEBASE, EAH_NOHINT, EAH_NOTBASE, EAH_SUMMED,
  emptyOperand, type Insn, type Opnd, type PrefixSlots,
} from './operand';
import { isLongModeRegister, isRegisterName, registerInfo, type RegisterInfo } from './registers';

const SIZE_FLAG = new Map<string, number>([
  ['byte', F.BITS8], ['word', F.BITS16], ['dword', F.BITS32], ['qword', F.BITS64], ['tword', F.BITS80],
  ['far', F.FAR], ['near', F.NEAR], ['short', F.SHORT],
]);

const PREFIX_SLOT = new Map<string, keyof PrefixSlots>([
  ['wait', 'wait'],
  ['rep', 'rep'], ['repe', 'rep'], ['repz', 'rep'], ['repne', 'rep'], ['repnz', 'rep'],
  ['lock', 'lock'],
  ['o16', 'osize'], ['o32', 'osize'],
  ['a16', 'asize'], ['a32', 'asize'],
  ['es', 'seg'], ['cs', 'seg'], ['ss', 'seg'], ['ds', 'seg'], ['fs', 'seg'], ['gs', 'seg'],
]);

/** The words InstructionRequest.prefixes may hold (WAIT is accepted too, but is a mnemonic to the front end). */
export const PREFIX_NAMES: readonly string[] = [...PREFIX_SLOT.keys()].filter((w) => w !== 'wait');

function sizeFlags(size: SizeKeyword | undefined, distance: SizeKeyword | undefined): number {
  return (size === undefined ? 0 : SIZE_FLAG.get(size) ?? 0) | (distance === undefined ? 0 : SIZE_FLAG.get(distance) ?? 0);
}

/** The classes nasm's parser gives an immediate by its value. */
function immediateClasses(value: number | undefined, strict: boolean, relocatable: boolean): number {
  if (value === undefined) return strict ? 0 : F.UNITY | F.SBYTEWORD | F.SBYTEDWORD;
  if (relocatable) return 0;
  let cls = value === 1 ? F.UNITY : 0;
  if (!strict) {
    if (((value + 128) >>> 0) <= 255) cls |= F.SBYTEDWORD;
    if (((value + 128) & 0xffff) <= 255) cls |= F.SBYTEWORD;
  }
  return cls;
}

const SEGMENTS = new Set(['es', 'cs', 'ss', 'ds', 'fs', 'gs']);

/** A value the encoder can write: an integer, or undefined while not known. */
function validValue(v: number | undefined): boolean {
  return v === undefined || Number.isSafeInteger(v);
}

function registerError(name: string, bits: number): string {
  if (isLongModeRegister(name)) return `instruction not supported in ${bits}-bit mode`;
  if (isRegisterName(name)) return 'invalid combination of opcode and operands';
  return `unknown register \`${name}'`;
}

function immediate(value: number | undefined, size: number, strict: boolean, relocatable: boolean, foreign: boolean): Opnd {
  const op = emptyOperand(F.IMMEDIATE | size | (strict ? F.STRICT : 0) | immediateClasses(value, strict, relocatable));
  op.value = value ?? 0;
  op.unknown = value === undefined;
  op.reloc = relocatable && value !== undefined;
  op.foreign = foreign;
  return op;
}

function addressRegister(name: string | undefined, bits: number): RegisterInfo | undefined | string {
  if (name === undefined) return undefined;
  const r = registerInfo(name);
  if (r !== undefined) return r;
  return isLongModeRegister(name) ? `instruction not supported in ${bits}-bit mode` : `invalid ${bits}-bit effective address`;
}

const HINT_TYPE = new Map([['none', EAH_NOHINT], ['makebase', EAH_MAKEBASE], ['notbase', EAH_NOTBASE], ['summed', EAH_SUMMED]]);

/**
 * Registers as written (no hint from the front end) to nasm's form: the plain register is the
 * base and the first one written; a lone `reg*1` is nasm's base with a "not base" hint, which
 * only `nosplit` acts on.
 */
function naturalHint(op: Opnd): void {
  if (op.base !== undefined) {
    op.hintBase = op.base;
    op.hintType = EAH_MAKEBASE;
  } else if (op.index !== undefined) {
    op.hintBase = op.index;
    op.hintType = EAH_NOTBASE;
    if (op.scale === 1) { op.base = op.index; op.index = undefined; op.scale = 0; }
  }
}

function convertOperand(o: Operand, insn: Insn): string | undefined {
  const bits = insn.bits;
  const valid = o.kind === 'imm' ? validValue(o.value) : o.kind === 'mem' ? validValue(o.disp)
    : o.kind === 'farptr' ? validValue(o.segment) && validValue(o.offset) : true;
  if (!valid) return 'invalid operand value: not an integer';
  switch (o.kind) {
    case 'reg': {
      const r = registerInfo(o.name);
      if (r === undefined) return registerError(o.name, bits);
      const op = emptyOperand(r.flags);
      op.reg = r;
      insn.ops.push(op);
      return undefined;
    }
    case 'imm': {
      const size = sizeFlags(o.size, o.distance);
      // nasm's parser: only JMP and CALL take a far immediate.
      if ((size & F.FAR) !== 0 && insn.mnemonic !== 'jmp' && insn.mnemonic !== 'call') return 'invalid use of FAR operand specifier';
      insn.ops.push(immediate(o.value, size, o.strict === true, o.relocatable === true, o.foreignSection === true));
      return undefined;
    }
    case 'farptr':
      // nasm's parser reads `a:b` as a segment:offset pair for JMP and CALL only.
      if (insn.mnemonic !== 'jmp' && insn.mnemonic !== 'call') return 'invalid segment override';
      insn.ops.push(immediate(o.segment, sizeFlags(o.size, undefined), false, false, false));
      insn.ops[insn.ops.length - 1].type |= F.COLON;
      insn.ops.push(immediate(o.offset, sizeFlags(o.offsetSize, undefined), false, false, false));
      return undefined;
    case 'mem': {
      const base = addressRegister(o.base, bits);
      const index = addressRegister(o.index, bits);
      if (typeof base === 'string') return base;
      if (typeof index === 'string') return index;
      const pure = base === undefined && (index === undefined || o.scale === 0);
      const op = emptyOperand(F.MEMORY_ANY | (pure ? F.MEM_OFFS : 0) | sizeFlags(o.size, o.distance));
      op.base = base;
      op.index = o.scale === 0 ? undefined : index;   // a register multiplied by 0 is no register
      op.scale = op.index === undefined ? 0 : o.scale;
      if (o.hint !== undefined) {
        op.hintType = HINT_TYPE.get(o.hint.type) ?? EAH_NOHINT;
        op.hintBase = o.hint.reg === undefined ? undefined : registerInfo(o.hint.reg);
      } else {
        naturalHint(op);
      }
      op.value = o.disp ?? 0;
      op.unknown = o.disp === undefined;
      op.reloc = o.relocatable === true && o.disp !== undefined;
      if (o.dispSize !== undefined) {
        op.dispSize = o.dispSize === 'byte' ? 8 : o.dispSize === 'word' ? 16 : 32;
        op.eaflags |= o.dispSize === 'byte' ? EAF_BYTEOFFS : EAF_WORDOFFS;
      }
      if (o.nosplit === true) op.eaflags |= EAF_TIMESTWO;
      if (o.segment !== undefined) {
        if (!SEGMENTS.has(o.segment)) return 'invalid segment override';
        if (insn.prefixes.seg !== '') return 'instruction has conflicting segment overrides';
        insn.prefixes.seg = o.segment;
      }
      insn.ops.push(op);
      return undefined;
    }
  }
}

/** Builds the encoder's view of `req`, or returns an error message. */
export function buildInsn(req: InstructionRequest, ctx: EncodeContext): Insn | string {
  const insn: Insn = {
    mnemonic: req.mnemonic, bits: ctx.bits, address: ctx.address, ops: [],
    prefixes: { wait: '', rep: '', lock: '', seg: '', osize: '', asize: '' },
    addrSize: ctx.bits, warnings: [],
  };
  for (const word of req.prefixes) {
    const slot = PREFIX_SLOT.get(word);
    if (slot === undefined) return `unknown prefix \`${word}'`;
    const old = insn.prefixes[slot];
    if (old === word) insn.warnings.push('instruction has redundant prefixes');
    else if (old !== '') return 'instruction has conflicting prefixes';
    insn.prefixes[slot] = word;
  }
  for (const o of req.operands) {
    const err = convertOperand(o, insn);
    if (err !== undefined) return err;
  }
  if (insn.ops.length > 3) return 'invalid combination of opcode and operands';
  if (ctx.final) {
    for (const op of insn.ops) if (op.unknown) return 'operand value not known in the final pass';
  }
  return insn;
}
