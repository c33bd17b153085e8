/**
 * The descriptor-table registers and descriptor checks (SDM Vol. 2): SGDT SIDT LGDT LIDT,
 * SLDT STR LLDT LTR, VERR VERW, LAR LSL and ARPL.
 *
 * SGDT, SIDT, SLDT and STR are not privileged: at any CPL they reveal the real GDTR, IDTR,
 * LDTR and TR, the "sensitive but unprivileged" instructions that kept IA-32 from being
 * virtualizable by trap-and-emulate. LGDT, LIDT, LLDT and LTR are #GP(0) above CPL 0.
 */
import { AR_UNUSABLE, type Cpu } from '../cpu';
import { GP, NP, UD } from '../exceptions';
import { setFlagBits } from '../flags';
import type { Insn } from '../insn';
import { defineGroup, defineOp } from '../opcodeTable';
import { ea, readRm16, rmwRead16, rmwWrite16, setReg16 } from '../operands';
import { FLAG_VM, FLAG_ZF } from '../registers';
import { desc, descAR, descBase, descDpl, descLimit, readDescriptor } from '../segmentation';
import { rejectLock } from './lock';
import { requireCpl0 } from './system';

const DESC_S = 1 << 12;
const DESC_P = 1 << 15;
/** TSS busy flag: bit 1 of the type, bit 41 of the descriptor. */
const DESC_TSS_BUSY = 1 << 9;
/** System descriptor types (SDM Vol. 3A, table 3-2). */
const LDT = 0x2, TSS16_AVAILABLE = 0x1, TSS32_AVAILABLE = 0x9;

/** The instructions that exist only in protected mode: #UD in real-address and virtual-8086 mode. */
function requireProtectedMode(cpu: Cpu): void {
  if (!cpu.protectedMode || (cpu.flags & FLAG_VM) !== 0) cpu.raise(UD);
}

function offsetPlus2(i: Insn, off: number): number {
  return i.a32 ? (off + 2) | 0 : (off + 2) & 0xffff;
}

/**
 * SGDT/SIDT m: the 16-bit limit, then the base. With a 16-bit operand size only 24 bits of
 * base are stored and the sixth byte is 0, as the P6-era SDM's pseudocode says (DEST[40:47]
 * := 0) and QEMU does; the current SDM stores all 32 bits. Both destinations are checked
 * before either is written.
 */
function storeTableRegister(cpu: Cpu, i: Insn, limit: number, base: number): void {
  const off = ea(cpu, i);
  const linLimit = cpu.linWrite(i.seg, off, 2);
  const linBase = cpu.linWrite(i.seg, offsetPlus2(i, off), 4);
  cpu.probeWrite(linLimit, 2);
  cpu.probeWrite(linBase, 4);
  cpu.writeLin16(linLimit, limit);
  cpu.writeLin32(linBase, i.o32 ? base : base & 0xffffff);
}

function sgdt(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  storeTableRegister(cpu, i, cpu.gdtrLimit, cpu.gdtrBase);
}

function sidt(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  storeTableRegister(cpu, i, cpu.idtrLimit, cpu.idtrBase);
}

/** The operand of LGDT/LIDT after both reads, so that nothing changes if the second one faults. */
const table = { limit: 0, base: 0 };

/** LGDT/LIDT m16&32: with a 16-bit operand size only 24 bits of base are loaded, the top byte is 0. */
function readTableOperand(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  requireCpl0(cpu);
  const off = ea(cpu, i);
  const limit = cpu.read16(i.seg, off);
  const base = cpu.read32(i.seg, offsetPlus2(i, off));
  table.limit = limit;
  table.base = i.o32 ? base : base & 0xffffff;
}

function lgdt(cpu: Cpu, i: Insn): void {
  readTableOperand(cpu, i);
  cpu.gdtrLimit = table.limit;
  cpu.gdtrBase = table.base;
}

function lidt(cpu: Cpu, i: Insn): void {
  readTableOperand(cpu, i);
  cpu.idtrLimit = table.limit;
  cpu.idtrBase = table.base;
}

/**
 * SLDT/STR destination: 16 bits to memory whatever the operand size; a 32-bit register gets the
 * selector zero-extended (P6 and later clear the high half).
 */
function storeSelector(cpu: Cpu, i: Insn, sel: number): void {
  if (i.mem) cpu.write16(i.seg, ea(cpu, i), sel);
  else if (i.o32) cpu.regs[i.rm] = sel & 0xffff;
  else setReg16(cpu, i.rm, sel);
}

function sldt(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  requireProtectedMode(cpu);
  storeSelector(cpu, i, cpu.ldtrSel);
}

function str(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  requireProtectedMode(cpu);
  storeSelector(cpu, i, cpu.trSel);
}

/** The selector operand of LLDT/LTR, after the mode and privilege checks. */
function systemSelector(cpu: Cpu, i: Insn): number {
  rejectLock(cpu, i);
  requireProtectedMode(cpu);
  requireCpl0(cpu);
  return readRm16(cpu, i);
}

/**
 * Reads the GDT descriptor `sel` names for LLDT/LTR: #GP(selector) if it points into the LDT,
 * lies beyond the GDT limit or is not a system descriptor of type `type1` or `type2`;
 * #NP(selector) if it is not present.
 */
function readSystemDescriptor(cpu: Cpu, sel: number, type1: number, type2: number): void {
  const err = sel & 0xfffc;
  if ((sel & 4) !== 0 || !readDescriptor(cpu, sel)) cpu.raiseWithCode(GP, err);
  const type = (desc.hi >> 8) & 0xf;
  if ((desc.hi & DESC_S) !== 0 || (type !== type1 && type !== type2)) cpu.raiseWithCode(GP, err);
  if ((desc.hi & DESC_P) === 0) cpu.raiseWithCode(NP, err);
}

/** LLDT r/m16: a null selector leaves LDTR unusable (later LDT references fault). */
function lldt(cpu: Cpu, i: Insn): void {
  const sel = systemSelector(cpu, i);
  if ((sel & ~3) === 0) {
    cpu.ldtrSel = sel; cpu.ldtrBase = 0; cpu.ldtrLimit = 0; cpu.ldtrAR = AR_UNUSABLE;
    return;
  }
  readSystemDescriptor(cpu, sel, LDT, LDT);
  cpu.ldtrSel = sel;
  cpu.ldtrBase = descBase(desc.lo, desc.hi);
  cpu.ldtrLimit = descLimit(desc.lo, desc.hi);
  cpu.ldtrAR = descAR(desc.hi);
}

/** LTR r/m16: an available TSS (type 1 or 9), which becomes busy in the GDT; a null selector is #GP(0). */
function ltr(cpu: Cpu, i: Insn): void {
  const sel = systemSelector(cpu, i);
  if ((sel & ~3) === 0) cpu.raiseWithCode(GP, 0);
  readSystemDescriptor(cpu, sel, TSS16_AVAILABLE, TSS32_AVAILABLE);
  const busy = desc.hi | DESC_TSS_BUSY;
  cpu.writeSys32((desc.addr + 4) | 0, busy);
  cpu.trSel = sel;
  cpu.trBase = descBase(desc.lo, busy);
  cpu.trLimit = descLimit(desc.lo, busy);
  cpu.trAR = descAR(busy);
}

/**
 * The privilege rule of VERR, VERW, LAR and LSL: a conforming code segment is visible from
 * anywhere, everything else only when DPL >= CPL and DPL >= RPL. The P flag is not looked at.
 */
function privilegeAllows(cpu: Cpu, sel: number, hi: number): boolean {
  const conformingCode = (hi & DESC_S) !== 0 && ((hi >> 8) & 0xc) === 0xc;
  if (conformingCode) return true;
  const dpl = descDpl(hi);
  return dpl >= cpu.cpl && dpl >= (sel & 3);
}

/** VERR/VERW: could a data-segment load of `sel` at this CPL read (write) through it? */
function accessible(cpu: Cpu, sel: number, write: boolean): boolean {
  if ((sel & ~3) === 0 || !readDescriptor(cpu, sel)) return false;
  const hi = desc.hi;
  if ((hi & DESC_S) === 0) return false;
  const type = (hi >> 8) & 0xf;
  const isCode = (type & 8) !== 0;
  const usable = write ? !isCode && (type & 2) !== 0 : !isCode || (type & 2) !== 0;
  return usable && privilegeAllows(cpu, sel, hi);
}

function verr(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  requireProtectedMode(cpu);
  setFlagBits(cpu, FLAG_ZF, accessible(cpu, readRm16(cpu, i), false) ? FLAG_ZF : 0);
}

function verw(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  requireProtectedMode(cpu);
  setFlagBits(cpu, FLAG_ZF, accessible(cpu, readRm16(cpu, i), true) ? FLAG_ZF : 0);
}

/** System descriptor types LAR accepts: TSSs (1 3 9 B), LDT (2), call gates (4 C), task gate (5). */
const LAR_SYSTEM_TYPES = (1 << 0x1) | (1 << 0x2) | (1 << 0x3) | (1 << 0x4) | (1 << 0x5) | (1 << 0x9) | (1 << 0xb) | (1 << 0xc);
/** LSL accepts only the system descriptors that have a limit: TSSs and the LDT. */
const LSL_SYSTEM_TYPES = (1 << 0x1) | (1 << 0x2) | (1 << 0x3) | (1 << 0x9) | (1 << 0xb);

/** LAR/LSL: is `sel` a descriptor of an accepted type, visible at this CPL and RPL? Leaves it in `desc`. */
function visible(cpu: Cpu, sel: number, systemTypes: number): boolean {
  if ((sel & ~3) === 0 || !readDescriptor(cpu, sel)) return false;
  const hi = desc.hi;
  if ((hi & DESC_S) === 0 && ((systemTypes >> ((hi >> 8) & 0xf)) & 1) === 0) return false;
  return privilegeAllows(cpu, sel, hi);
}

/** The source selector of LAR/LSL after the mode check; ZF says whether the destination was written. */
function descriptorQuery(cpu: Cpu, i: Insn, systemTypes: number): boolean {
  rejectLock(cpu, i);
  requireProtectedMode(cpu);
  const ok = visible(cpu, readRm16(cpu, i), systemTypes);
  setFlagBits(cpu, FLAG_ZF, ok ? FLAG_ZF : 0);
  return ok;
}

/** LAR r16: descriptor bits 15:8 (type, S, DPL, P) in bits 15:8. */
function lar16(cpu: Cpu, i: Insn): void {
  if (descriptorQuery(cpu, i, LAR_SYSTEM_TYPES)) setReg16(cpu, i.reg, desc.hi & 0xff00);
}

/**
 * LAR r32: the second descriptor dword masked by 00FxFF00H. The SDM leaves x (the limit's bits
 * 19:16) undefined; vtscope clears them as QEMU does.
 */
function lar32(cpu: Cpu, i: Insn): void {
  if (descriptorQuery(cpu, i, LAR_SYSTEM_TYPES)) cpu.regs[i.reg] = desc.hi & 0x00f0ff00;
}

/** LSL: the segment limit in bytes (scaled by G). */
function lsl16(cpu: Cpu, i: Insn): void {
  if (descriptorQuery(cpu, i, LSL_SYSTEM_TYPES)) setReg16(cpu, i.reg, descLimit(desc.lo, desc.hi));
}

function lsl32(cpu: Cpu, i: Insn): void {
  if (descriptorQuery(cpu, i, LSL_SYSTEM_TYPES)) cpu.regs[i.reg] = descLimit(desc.lo, desc.hi);
}

/** ARPL r/m16, r16: raises the RPL of the destination to that of the source; ZF says it did. */
function arpl(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  requireProtectedMode(cpu);
  const dest = rmwRead16(cpu, i);
  const src = cpu.regs[i.reg];
  if ((dest & 3) < (src & 3)) {
    rmwWrite16(cpu, i, (dest & ~3) | (src & 3));
    setFlagBits(cpu, FLAG_ZF, FLAG_ZF);
  } else {
    setFlagBits(cpu, FLAG_ZF, 0);
  }
}

export function register(): void {
  defineGroup(0x100, 0, { name: 'sldt', operands: 'Rv/Mw', exec: sldt });
  defineGroup(0x100, 1, { name: 'str', operands: 'Rv/Mw', exec: str });
  defineGroup(0x100, 2, { name: 'lldt', operands: 'Ew', exec: lldt });
  defineGroup(0x100, 3, { name: 'ltr', operands: 'Ew', exec: ltr });
  defineGroup(0x100, 4, { name: 'verr', operands: 'Ew', exec: verr });
  defineGroup(0x100, 5, { name: 'verw', operands: 'Ew', exec: verw });
  defineGroup(0x101, 0, { name: 'sgdt', operands: 'Ms', memOnly: true, exec: sgdt });
  defineGroup(0x101, 1, { name: 'sidt', operands: 'Ms', memOnly: true, exec: sidt });
  defineGroup(0x101, 2, { name: 'lgdt', operands: 'Ms', memOnly: true, exec: lgdt });
  defineGroup(0x101, 3, { name: 'lidt', operands: 'Ms', memOnly: true, exec: lidt });
  defineOp(0x102, { name: 'lar', operands: 'Gv,Ew', modrm: true, exec16: lar16, exec32: lar32 });
  defineOp(0x103, { name: 'lsl', operands: 'Gv,Ew', modrm: true, exec16: lsl16, exec32: lsl32 });
  defineOp(0x63, { name: 'arpl', operands: 'Ew,Gw', modrm: true, exec: arpl });
}
