/**
 * Decimal arithmetic adjustments (SDM Vol. 2, "DAA", "DAS", "AAA", "AAS", "AAM", "AAD"),
 * following the Operation sections. Flags the SDM leaves undefined are set as QEMU sets them:
 * DAA and DAS clear OF; AAA and AAS leave OF, SF, ZF and PF unchanged; AAM and AAD clear CF,
 * AF and OF.
 */
import type { Cpu } from '../cpu';
import { DE } from '../exceptions';
import { getAF, getCF, parityFlag, setArithFlags, setFlagBits } from '../flags';
import { Imm, type Insn } from '../insn';
import { defineOp } from '../opcodeTable';
import { setReg16, setReg8 } from '../operands';
import { EAX, FLAG_AF, FLAG_CF, FLAG_SF, FLAG_ZF } from '../registers';
import { rejectLock } from './lock';

/** SF, ZF and PF of an 8-bit result. */
function szp8(v: number): number {
  return ((v & 0xff) === 0 ? FLAG_ZF : 0) | (v & FLAG_SF) | parityFlag(v);
}

function daa(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  const oldAL = cpu.regs[EAX] & 0xff, oldCF = getCF(cpu);
  let al = oldAL, cf = 0, af = 0;
  if ((al & 0x0f) > 9 || getAF(cpu) !== 0) {
    al += 6;
    cf = oldCF | (al > 0xff ? 1 : 0);
    af = FLAG_AF;
  }
  if (oldAL > 0x99 || oldCF !== 0) { al += 0x60; cf = 1; } else cf = 0;
  setReg8(cpu, EAX, al);
  setArithFlags(cpu, cf | af | szp8(al & 0xff));
}

function das(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  const oldAL = cpu.regs[EAX] & 0xff, oldCF = getCF(cpu);
  let al = oldAL, cf = 0, af = 0;
  if ((al & 0x0f) > 9 || getAF(cpu) !== 0) {
    al -= 6;
    cf = oldCF | (al < 0 ? 1 : 0);
    af = FLAG_AF;
  }
  if (oldAL > 0x99 || oldCF !== 0) { al -= 0x60; cf = 1; }
  setReg8(cpu, EAX, al);
  setArithFlags(cpu, cf | af | szp8(al & 0xff));
}

/** AAA: AX + 106H and CF = AF = 1 when AL's low digit is above 9 or AF is set; AL keeps its low digit. */
function aaa(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  let ax = cpu.regs[EAX] & 0xffff, adjust = 0;
  if ((ax & 0x0f) > 9 || getAF(cpu) !== 0) { ax += 0x106; adjust = FLAG_CF | FLAG_AF; }
  setReg16(cpu, EAX, ax & 0xff0f);
  setFlagBits(cpu, FLAG_CF | FLAG_AF, adjust);
}

/** AAS: AX - 6, AH - 1 and CF = AF = 1 when AL's low digit is above 9 or AF is set; AL keeps its low digit. */
function aas(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  let ax = cpu.regs[EAX] & 0xffff, adjust = 0;
  if ((ax & 0x0f) > 9 || getAF(cpu) !== 0) { ax -= 0x106; adjust = FLAG_CF | FLAG_AF; }
  setReg16(cpu, EAX, ax & 0xff0f);
  setFlagBits(cpu, FLAG_CF | FLAG_AF, adjust);
}

/** AAM imm8: AH = AL / imm8, AL = AL mod imm8; #DE when imm8 is 0. */
function aam(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  const base = i.imm;
  if (base === 0) cpu.raise(DE);
  const al = cpu.regs[EAX] & 0xff;
  const q = Math.floor(al / base), r = al - q * base;
  setReg16(cpu, EAX, (q << 8) | r);
  setArithFlags(cpu, szp8(r));
}

/** AAD imm8: AL = (AL + AH * imm8) AND FFH, AH = 0. */
function aad(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  const ax = cpu.regs[EAX];
  const al = ((ax & 0xff) + ((ax >> 8) & 0xff) * i.imm) & 0xff;
  setReg16(cpu, EAX, al);
  setArithFlags(cpu, szp8(al));
}

export function register(): void {
  defineOp(0x27, { name: 'daa', exec: daa });
  defineOp(0x2f, { name: 'das', exec: das });
  defineOp(0x37, { name: 'aaa', exec: aaa });
  defineOp(0x3f, { name: 'aas', exec: aas });
  defineOp(0xd4, { name: 'aam', operands: 'Ib', imm: Imm.Ib, exec: aam });
  defineOp(0xd5, { name: 'aad', operands: 'Ib', imm: Imm.Ib, exec: aad });
}
