/**
 * Operand text in nasm syntax from the SDM notation of OpDef.operands (insn.ts), the way
 * ndisasm writes it: registers by size, memory operands with the size keyword nasm needs,
 * immediates in hex, relative targets as absolute addresses.
 */
import { Imm, type Insn, type OpDef } from '../insn';
import { hasSeveralMemorySizes } from './memorySizes';
import { generalRegister, REG16, REG32, SREG } from './registers';

/** One decoded instruction and where it is. */
export interface Decoded {
  readonly insn: Insn;
  readonly def: OpDef;
  /** CS.D: the default operand and address size is 32. */
  readonly code32: boolean;
  /** ModR/M.mod, which tells the displacement size the Insn does not keep. */
  readonly mod: number;
  /** Linear address of the first byte. */
  readonly address: number;
  /** CS base: a 16-bit relative target wraps within its segment. */
  readonly csBase: number;
}

/** What the text shows, so that prefixes it does not show are written as prefixes. */
export class Shown {
  opSize = false;
  addrSize = false;
  segment = false;
  /** F3 is part of the instruction (PAUSE, ENDBR32). */
  rep = false;
  /** Linear target of a relative jump or call. */
  target: number | undefined = undefined;
}

export function hex(v: number): string {
  return `0x${(v >>> 0).toString(16)}`;
}

function signedHex(v: number): string {
  return v < 0 ? `-${hex(-v)}` : `+${hex(v)}`;
}

const KEYWORD: Record<number, string> = { 8: 'byte ', 16: 'word ', 32: 'dword ', 64: 'qword ' };

/** The operand-size keyword of a 16- or 32-bit operand. */
function sizeKeyword(o32: boolean): string {
  return o32 ? 'dword ' : 'word ';
}

/**
 * ALU eAX/r/m with Iz, PUSH Iz and IMUL Iz have a sign-extended Ib twin (83, 6A, 6B): nasm
 * picks the short one for a small value unless told `strict`.
 */
const HAS_SHORT_IMMEDIATE = new Set([0x05, 0x0d, 0x15, 0x1d, 0x25, 0x2d, 0x35, 0x3d, 0x81, 0x68, 0x69]);
/** nasm writes PUSH Iz and IMUL Iz with their size keyword (ndisasm does). */
const SIZED_IMMEDIATE = new Set([0x68, 0x69]);
/**
 * Shift counts (C0, C1) and bit offsets (0F BA) are imm8 in nasm's templates and ndisasm
 * writes them `byte`; for the shifts it also keeps nasm from choosing D0/D1 for a count of 1.
 */
const BYTE_COUNT = new Set([0xc0, 0xc1, 0x1ba]);

function operandBits(type: string, o32: boolean): number {
  switch (type) {
    case 'b': return 8;
    case 'w': return 16;
    case 'd': return 32;
    case 'q': return 64;
    default: return o32 ? 32 : 16;   // v, z
  }
}

const sizedByOperandSize = (type: string): boolean => type === 'v' || type === 'z';

/** Widths of the register operands that show a memory operand's size (G, Z, Sreg, AL, eAX). */
function registerWidths(tokens: string[], o32: boolean): number[] {
  const widths: number[] = [];
  for (const t of tokens) {
    if (t[0] === 'G' || t[0] === 'Z') widths.push(operandBits(t.slice(1), o32));
    else if (t === 'Sw' || t === 'AL') widths.push(t === 'AL' ? 8 : 16);
    else if (t === 'rAX' || t === 'eAX') widths.push(o32 ? 32 : 16);
  }
  return widths;
}

/** The address expression of a ModR/M memory operand, ndisasm's way (`[ebp+0x0]`, `[dword 0x1234]`). */
function address(d: Decoded, shown: Shown): string {
  const i = d.insn;
  shown.addrSize = true;
  let seg = '';
  if (i.segOverride >= 0) { seg = `${SREG[i.segOverride]}:`; shown.segment = true; }
  const regs = i.a32 ? REG32 : REG16;
  let expr = '';
  if (i.base >= 0) expr = regs[i.base];
  if (i.index >= 0) expr += `${expr === '' ? '' : '+'}${regs[i.index]}${i.scale > 0 ? `*${1 << i.scale}` : ''}`;
  let hint = '';
  if (d.mod === 1) {
    expr += signedHex(i.disp);
  } else if (!i.a32) {
    if (expr === '') { expr = hex(i.disp & 0xffff); if (d.code32) hint = 'word '; }
    else if (d.mod === 2) expr += signedHex((i.disp << 16) >> 16);
  } else if (d.mod === 2 || i.base < 0) {
    if (expr !== '') expr += signedHex(i.disp | 0);
    else {
      expr = hex(i.disp);
      if (i.rm === 5) hint = 'dword ';   // mod 0, rm 5: disp32 without SIB
    }
  }
  return `[${hint}${seg}${expr}]`;
}

/** The size keyword of a memory operand of SDM type `type`, where nasm needs one. */
function memoryKeyword(d: Decoded, shown: Shown, type: string, registers: number[]): string {
  const { insn: i, def } = d;
  const nonDefault = i.o32 !== d.code32;
  if (type === 'p') {
    if (!def.name.endsWith(' far')) return '';
    if (nonDefault) shown.opSize = true;
    return `${nonDefault ? sizeKeyword(i.o32) : ''}far `;
  }
  if (type === 'q') return 'qword ';
  if (type === 's' || type === 'a' || type === '') return '';
  const bits = operandBits(type, i.o32);
  // Near JMP and CALL default to the code's operand size in nasm.
  if (def.name === 'jmp' || def.name === 'call') {
    if (!nonDefault) return '';
    shown.opSize = true;
    return sizeKeyword(i.o32);
  }
  // A register of the same size shows it, and so does a 16-bit one beside a byte (MOVZX r16 takes only m8).
  if (registers.some((r) => r === bits || (r === 16 && bits === 8))) return '';
  if (!hasSeveralMemorySizes(def.name)) return '';
  if (sizedByOperandSize(type)) shown.opSize = true;
  return KEYWORD[bits];
}

function immediate(d: Decoded, shown: Shown, type: string, value: number): string {
  const { insn: i, def } = d;
  if (type === 'b') {
    if (def.imm === Imm.IbS) return `byte ${signedHex(value)}`;
    return `${BYTE_COUNT.has(i.op) ? 'byte ' : ''}${hex(value & 0xff)}`;
  }
  if (type === 'w') return hex(value & 0xffff);
  shown.opSize = true;
  const v = i.o32 ? value : (value << 16) >> 16;
  let keyword = SIZED_IMMEDIATE.has(i.op) ? sizeKeyword(i.o32) : '';
  if (HAS_SHORT_IMMEDIATE.has(i.op) && v >= -128 && v <= 127) keyword = `strict ${sizeKeyword(i.o32)}`;
  return keyword + hex(i.o32 ? value : value & 0xffff);
}

function relative(d: Decoded, shown: Shown, type: string): string {
  const { insn: i, def } = d;
  const next = d.address + i.len;
  const target = (d.csBase + ((next - d.csBase + i.imm) & (i.o32 ? -1 : 0xffff))) >>> 0;
  shown.target = target;
  let keyword = '';
  if (type === 'b') {
    // nasm would pick the near form of a Jcc to a plain address: say short.
    if (def.name === 'jmp' || def.name === 'jcc') keyword = 'short ';
  } else {
    // nasm takes `jz near word`, not ndisasm's `jz word`.
    if (def.name === 'jcc') keyword = 'near ';
    if (i.o32 !== d.code32) {
      keyword += sizeKeyword(i.o32);
      shown.opSize = true;
    }
  }
  return keyword + hex(target);
}

/** A memory offset (moffs, A0-A3): the address size shows only where it is not the default. */
function offset(d: Decoded, shown: Shown): string {
  const i = d.insn;
  shown.addrSize = true;
  let seg = '';
  if (i.segOverride >= 0) { seg = `${SREG[i.segOverride]}:`; shown.segment = true; }
  const hint = i.a32 !== d.code32 ? sizeKeyword(i.a32) : '';
  return `[${seg}${hint}${hex(i.a32 ? i.disp : i.disp & 0xffff)}]`;
}

/**
 * The operands of `d` as text, or an empty list for string instructions (their operands are
 * implicit in nasm's movsb/stosd/... names).
 */
export function formatOperands(d: Decoded, shown: Shown): string[] {
  const { insn: i, def } = d;
  if (def.operands === undefined) return [];
  const tokens = def.operands.split(',');
  if (tokens.some((t) => t[0] === 'X' || t[0] === 'Y')) return [];
  const registers = registerWidths(tokens, i.o32);
  const out: string[] = [];
  let immediates = 0;
  for (const token of tokens) {
    // Mw/Rv and Rv/Mw: the memory or the register form.
    const t = token.includes('/') ? token.split('/').find((p) => (p[0] === 'M') === i.mem)! : token;
    const method = t[0], type = t.slice(1);
    const reg = (n: number): string => {
      if (sizedByOperandSize(type)) shown.opSize = true;
      return generalRegister(operandBits(type, i.o32), n);
    };
    switch (t) {
      case 'AL': case 'CL': case 'DX': case 'ES': case 'CS': case 'SS': case 'DS': case 'FS': case 'GS': case '1':
        out.push(t.toLowerCase()); continue;
      case 'rAX': case 'eAX':
        shown.opSize = true;
        out.push(i.o32 ? 'eax' : 'ax'); continue;
    }
    switch (method) {
      case 'E': case 'M':
        if (i.mem) out.push(memoryKeyword(d, shown, type, registers) + address(d, shown));
        else out.push(reg(i.rm));
        break;
      case 'R': out.push(reg(i.rm)); break;
      case 'G': case 'Z': out.push(reg(i.reg)); break;
      case 'S': out.push(SREG[i.reg]); break;
      case 'C': out.push(`cr${i.reg}`); break;
      case 'D': out.push(`dr${i.reg}`); break;
      case 'I': out.push(immediate(d, shown, type, immediates++ === 0 ? i.imm : i.imm2)); break;
      case 'J': out.push(relative(d, shown, type)); break;
      case 'O': out.push(offset(d, shown)); break;
      case 'A': {
        const nonDefault = i.o32 !== d.code32;
        if (nonDefault) shown.opSize = true;
        out.push(`${nonDefault ? sizeKeyword(i.o32) : ''}${hex(i.imm2)}:${hex(i.o32 ? i.imm : i.imm & 0xffff)}`);
        break;
      }
      default: throw new Error(`opcode ${i.op.toString(16)}: operand '${token}' of '${def.name}' is not SDM notation`);
    }
  }
  return out;
}

/** A memory operand with a given size keyword (x87 forms, PREFETCHh). */
export function memoryOperand(d: Decoded, shown: Shown, keyword: string): string {
  return (keyword === '' ? '' : `${keyword} `) + address(d, shown);
}
