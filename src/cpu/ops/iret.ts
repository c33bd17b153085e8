/**
 * IRET/IRETD (SDM Vol. 2, IRET pseudocode): real mode, and in protected mode the return to the
 * same ring or to an outer one, with the EFLAGS rules that depend on CPL and IOPL. Returns to
 * virtual-8086 mode and nested-task returns are not supported (#GP(0)).
 */
import type { Cpu } from '../cpu';
import { GP } from '../exceptions';
import { getEflags } from '../flags';
import { defineOp } from '../opcodeTable';
import {
  CS, FLAG_AC, FLAG_AF, FLAG_CF, FLAG_DF, FLAG_ID, FLAG_IF, FLAG_IOPL, FLAG_NT, FLAG_OF, FLAG_PF, FLAG_RF,
  FLAG_SF, FLAG_TF, FLAG_VIF, FLAG_VIP, FLAG_VM, FLAG_ZF, FLAGS_FIXED_ONE, FLAGS_WRITABLE,
} from '../registers';
import { loadCodeSegmentReal } from '../segmentation';
import { adjustSp, peek16, peek32 } from '../stack';
import { checkReturnCode, checkReturnStack, returnCode, returnToOuterRing } from './farTransfer';

/** Flags every protected-mode IRET restores. */
const ALWAYS = FLAG_CF | FLAG_PF | FLAG_AF | FLAG_ZF | FLAG_SF | FLAG_TF | FLAG_DF | FLAG_OF | FLAG_NT;
/** Real-mode IRETD: EFLAGS ← (tempEFLAGS AND 257FD5H) OR (EFLAGS AND 1A0000H). */
const REAL_FROM_STACK = 0x257fd5;
const REAL_KEPT = 0x1a0000;

/**
 * EFLAGS after a protected-mode IRET at privilege `cpl` (the CPL before the return): IF only
 * when CPL <= IOPL, IOPL (and VIF/VIP) only at CPL 0, RF/AC/ID only with a 32-bit operand.
 */
function iretEflags(cpu: Cpu, temp: number, o32: boolean, cpl: number): number {
  const cur = getEflags(cpu);
  let mask = ALWAYS;
  if (o32) mask |= FLAG_RF | FLAG_AC | FLAG_ID;
  if (cpl <= (cur & FLAG_IOPL) >> 12) mask |= FLAG_IF;
  if (cpl === 0) {
    mask |= FLAG_IOPL;
    if (o32) mask |= FLAG_VIF | FLAG_VIP;
  }
  return (cur & ~mask) | (temp & mask);
}

function setEflags(cpu: Cpu, v: number): void {
  cpu.flags = (v & FLAGS_WRITABLE) | FLAGS_FIXED_ONE;
  cpu.lzMask = 0;
}

export function iret(cpu: Cpu, o32: boolean): void {
  // NT = 1 asks for a return to the previous task, a hardware task switch: not supported.
  if (cpu.protectedMode && (cpu.flags & FLAG_NT) !== 0) cpu.raiseWithCode(GP, 0);
  const size = o32 ? 4 : 2;
  const eip = o32 ? peek32(cpu, 0) : peek16(cpu, 0);
  const csSel = (o32 ? peek32(cpu, 4) : peek16(cpu, 2)) & 0xffff;
  const temp = o32 ? peek32(cpu, 8) : peek16(cpu, 4);
  if (!cpu.protectedMode) {
    if ((eip >>> 0) > cpu.segLimit[CS]) cpu.raiseWithCode(GP, 0);
    const cur = getEflags(cpu);
    setEflags(cpu, o32 ? (temp & REAL_FROM_STACK) | (cur & REAL_KEPT) : (cur & ~0xffff) | temp);
    loadCodeSegmentReal(cpu, csSel);
    cpu.eip = eip;
    adjustSp(cpu, 3 * size);
    return;
  }
  // VM = 1 in the image at CPL 0 asks for a return to virtual-8086 mode: not supported.
  if (o32 && (temp & FLAG_VM) !== 0 && cpu.cpl === 0) cpu.raiseWithCode(GP, 0);

  checkReturnCode(cpu, csSel);
  const rpl = csSel & 3;
  const eflags = iretEflags(cpu, temp, o32, cpu.cpl);
  if (rpl > cpu.cpl) {
    const esp = o32 ? peek32(cpu, 12) : peek16(cpu, 6);
    const ssSel = (o32 ? peek32(cpu, 16) : peek16(cpu, 8)) & 0xffff;
    checkReturnStack(cpu, ssSel, rpl);
    if ((eip >>> 0) > returnCode.limit) cpu.raiseWithCode(GP, 0);
    returnToOuterRing(cpu, csSel, eip, ssSel, esp, 0);
    setEflags(cpu, eflags);
    return;
  }
  if ((eip >>> 0) > returnCode.limit) cpu.raiseWithCode(GP, 0);
  returnCode.markAccessed(cpu);
  returnCode.load(cpu, CS, csSel);
  setEflags(cpu, eflags);
  cpu.eip = eip;
  adjustSp(cpu, 3 * size);
}

export function register(): void {
  // Ends the block: IF may have changed, and interrupts can be taken right after IRET.
  defineOp(0xcf, { name: 'iret', sizedNames: ['iretw', 'iretd'], endsBlock: true, exec: (cpu, i) => iret(cpu, i.o32) });
}
