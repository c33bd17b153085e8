/**
 * Far JMP, CALL and RET (SDM Vol. 2, JMP/CALL/RET pseudocode; Vol. 3A, 5.8): real mode,
 * direct transfers to conforming and non-conforming code segments, call gates with the
 * parameter copy and the stack switch to an inner ring, and far returns to the same or an
 * outer ring. Every check runs before anything changes, so a fault restarts the instruction.
 */
import type { Cpu } from '../cpu';
import { GP, NP, SS_FAULT } from '../exceptions';
import { loadStackSegment, stackFromTss, stackHasRoom } from '../interrupts';
import { Imm, type Insn } from '../insn';
import { defineGroup, defineOp } from '../opcodeTable';
import { ea } from '../operands';
import { CS, ESP, SS } from '../registers';
import {
  desc, descDpl, descLimit, loadCodeSegmentReal, loadFromDesc, markAccessed, nullInaccessibleSegments,
  readDescriptor,
} from '../segmentation';
import { adjustSp, peek16, peek32, stackTop } from '../stack';

const DESC_P = 1 << 15;
const DESC_S = 1 << 12;
const TYPE_CODE = 8, TYPE_CONFORMING = 4, TYPE_WRITABLE = 2;
const CALL_GATE16 = 0x4, CALL_GATE32 = 0xc;

/** A descriptor kept across further `readDescriptor` calls (which reuse `desc`). */
class KeptDescriptor {
  lo = 0; hi = 0; addr = 0;
  keep(): void { this.lo = desc.lo; this.hi = desc.hi; this.addr = desc.addr; }
  /** Sets the accessed bit in the table, as loading a segment register does. */
  markAccessed(cpu: Cpu): void {
    desc.lo = this.lo; desc.hi = this.hi; desc.addr = this.addr;
    markAccessed(cpu);
    this.hi = desc.hi;
  }
  /** Loads `seg` from this descriptor (after `markAccessed`). */
  load(cpu: Cpu, seg: number, sel: number): void {
    desc.lo = this.lo; desc.hi = this.hi; desc.addr = this.addr;
    loadFromDesc(cpu, seg, sel);
  }
  get limit(): number { return descLimit(this.lo, this.hi); }
}

const target = new KeptDescriptor();
const gateCode = new KeptDescriptor();
export const returnCode = new KeptDescriptor();
export const returnStack = new KeptDescriptor();
/** Parameters a call gate copies to the inner stack (at most 31, the count is 5 bits). */
const params = new Int32Array(32);
/** The far pointer operand of JMP/CALL m16:16 or m16:32. */
const farPtr = { sel: 0, offset: 0 };

function isCode(hi: number): boolean { return (hi & DESC_S) !== 0 && (hi & (TYPE_CODE << 8)) !== 0; }
function isConforming(hi: number): boolean { return (hi & (TYPE_CONFORMING << 8)) !== 0; }
function present(hi: number): boolean { return (hi & DESC_P) !== 0; }

/** Stack offset `n` bytes below the top, wrapped to the stack's address size. */
function below(cpu: Cpu, n: number): number {
  const sp = stackTop(cpu) - n;
  return cpu.stack32 ? sp | 0 : sp & 0xffff;
}

/** #GP(0) unless `eip` lies within a code segment limit. */
function checkEip(cpu: Cpu, eip: number, limit: number): void {
  if ((eip >>> 0) > limit) cpu.raiseWithCode(GP, 0);
}

/**
 * Pushes the return CS:EIP (`size` bytes each) on the current stack for a call at the same
 * privilege level: room on the stack (#SS(0)) and the target EIP (#GP(0)) are checked first.
 */
function pushReturnAddress(cpu: Cpu, size: number, newEip: number, newLimit: number): void {
  const linCs = cpu.linWrite(SS, below(cpu, size), size);
  const linEip = cpu.linWrite(SS, below(cpu, 2 * size), size);
  checkEip(cpu, newEip, newLimit);
  if (size === 4) {
    cpu.writeLin32(linCs, cpu.segSel[CS]);
    cpu.writeLin32(linEip, cpu.eip);
  } else {
    cpu.writeLin16(linCs, cpu.segSel[CS]);
    cpu.writeLin16(linEip, cpu.eip);
  }
  adjustSp(cpu, -2 * size);
}

/** Reads a far pointer m16:16 or m16:32 (offset first, then the selector) into `farPtr`. */
function readFarPointer(cpu: Cpu, i: Insn): void {
  const a = ea(cpu, i);
  const n = i.o32 ? 4 : 2;
  const selAt = i.a32 ? (a + n) | 0 : (a + n) & 0xffff;
  farPtr.offset = i.o32 ? cpu.read32(i.seg, a) : cpu.read16(i.seg, a);
  farPtr.sel = cpu.read16(i.seg, selAt);
}

/**
 * Reads the descriptor a far JMP or CALL names into `target`; #GP(0) for a null selector,
 * #GP(sel) beyond the table or for anything but code segments and call gates. Task gates and
 * TSS descriptors (hardware task switches) are out of scope here and also raise #GP(sel).
 */
function readTarget(cpu: Cpu, sel: number): void {
  if ((sel & 0xfffc) === 0) cpu.raiseWithCode(GP, 0);
  if (!readDescriptor(cpu, sel)) cpu.raiseWithCode(GP, sel & 0xfffc);
  target.keep();
  const hi = target.hi;
  if ((hi & DESC_S) !== 0) {
    if (!isCode(hi)) cpu.raiseWithCode(GP, sel & 0xfffc);
    return;
  }
  const type = (hi >> 8) & 0xf;
  if (type !== CALL_GATE16 && type !== CALL_GATE32) cpu.raiseWithCode(GP, sel & 0xfffc);
}

/** Direct transfer checks (SDM JMP/CALL: CONFORMING- and NONCONFORMING-CODE-SEGMENT). */
function checkDirectCode(cpu: Cpu, sel: number): void {
  const hi = target.hi, dpl = descDpl(hi), rpl = sel & 3;
  if (isConforming(hi) ? dpl > cpu.cpl : rpl > cpu.cpl || dpl !== cpu.cpl) cpu.raiseWithCode(GP, sel & 0xfffc);
  if (!present(hi)) cpu.raiseWithCode(NP, sel & 0xfffc);
}

/**
 * The gate checks JMP and CALL share: gate DPL against CPL and RPL, presence, then the code
 * segment the gate names, read into `gateCode`. Returns the code segment selector.
 */
function enterCallGate(cpu: Cpu, gateSel: number): number {
  const gateHi = target.hi, gateDpl = descDpl(gateHi);
  if (gateDpl < cpu.cpl || gateDpl < (gateSel & 3)) cpu.raiseWithCode(GP, gateSel & 0xfffc);
  if (!present(gateHi)) cpu.raiseWithCode(NP, gateSel & 0xfffc);
  const codeSel = target.lo >>> 16;
  if ((codeSel & 0xfffc) === 0) cpu.raiseWithCode(GP, 0);
  if (!readDescriptor(cpu, codeSel)) cpu.raiseWithCode(GP, codeSel & 0xfffc);
  gateCode.keep();
  return codeSel;
}

function gateOffset(lo: number, hi: number): number {
  return ((hi >> 8) & 0xf) === CALL_GATE32 ? (lo & 0xffff) | (hi & 0xffff_0000) : lo & 0xffff;
}

function loadCs(cpu: Cpu, d: KeptDescriptor, sel: number, eip: number): void {
  d.markAccessed(cpu);
  d.load(cpu, CS, (sel & 0xfffc) | cpu.cpl);
  cpu.eip = eip;
}

// ---- JMP far ---------------------------------------------------------------------------

export function jmpFar(cpu: Cpu, sel: number, offset: number, o32: boolean): void {
  const eip = o32 ? offset : offset & 0xffff;
  if (!cpu.protectedMode) {
    checkEip(cpu, eip, cpu.segLimit[CS]);
    loadCodeSegmentReal(cpu, sel);
    cpu.eip = eip;
    return;
  }
  readTarget(cpu, sel);
  if ((target.hi & DESC_S) !== 0) {
    checkDirectCode(cpu, sel);
    checkEip(cpu, eip, target.limit);
    loadCs(cpu, target, sel, eip);
    return;
  }
  // Through a call gate: the gate's offset replaces the instruction's; no privilege change.
  const codeSel = enterCallGate(cpu, sel);
  const hi = gateCode.hi, dpl = descDpl(hi);
  if (!isCode(hi) || (isConforming(hi) ? dpl > cpu.cpl : dpl !== cpu.cpl)) cpu.raiseWithCode(GP, codeSel & 0xfffc);
  if (!present(hi)) cpu.raiseWithCode(NP, codeSel & 0xfffc);
  const gateEip = gateOffset(target.lo, target.hi);
  checkEip(cpu, gateEip, gateCode.limit);
  loadCs(cpu, gateCode, codeSel, gateEip);
}

// ---- CALL far --------------------------------------------------------------------------

export function callFar(cpu: Cpu, sel: number, offset: number, o32: boolean): void {
  const size = o32 ? 4 : 2;
  const eip = o32 ? offset : offset & 0xffff;
  if (!cpu.protectedMode) {
    pushReturnAddress(cpu, size, eip, cpu.segLimit[CS]);
    loadCodeSegmentReal(cpu, sel);
    cpu.eip = eip;
    return;
  }
  readTarget(cpu, sel);
  if ((target.hi & DESC_S) !== 0) {
    checkDirectCode(cpu, sel);
    pushReturnAddress(cpu, size, eip, target.limit);
    loadCs(cpu, target, sel, eip);
    return;
  }
  const codeSel = enterCallGate(cpu, sel);
  const hi = gateCode.hi, dpl = descDpl(hi);
  if (!isCode(hi) || dpl > cpu.cpl) cpu.raiseWithCode(GP, codeSel & 0xfffc);
  if (!present(hi)) cpu.raiseWithCode(NP, codeSel & 0xfffc);
  const gate32 = ((target.hi >> 8) & 0xf) === CALL_GATE32;
  const gateEip = gateOffset(target.lo, target.hi);
  if (!isConforming(hi) && dpl < cpu.cpl) {
    callGateMorePrivilege(cpu, codeSel, gateEip, gate32, target.hi & 0x1f);
    return;
  }
  pushReturnAddress(cpu, gate32 ? 4 : 2, gateEip, gateCode.limit);
  loadCs(cpu, gateCode, codeSel, gateEip);
}

/**
 * CALL through a gate to a more privileged non-conforming segment (SDM CALL, MORE-PRIVILEGE):
 * the inner stack comes from the TSS, and the caller's SS:ESP, `count` parameters copied from
 * its stack and its CS:EIP are pushed there, each of the gate's size.
 */
function callGateMorePrivilege(cpu: Cpu, codeSel: number, gateEip: number, gate32: boolean, count: number): void {
  const size = gate32 ? 4 : 2;
  const newCpl = descDpl(gateCode.hi);
  // The parameters are read first, from the caller's stack at the caller's privilege.
  for (let k = 0; k < count; k++) params[k] = gate32 ? peek32(cpu, 4 * k) : peek16(cpu, 2 * k);
  const { ss, esp } = stackFromTss(cpu, newCpl, 0);

  const oldCpl = cpu.cpl, oldEsp = cpu.regs[ESP], oldEip = cpu.eip, oldCs = cpu.segSel[CS];
  const oldSs = cpu.segSel[SS], oldSsBase = cpu.segBase[SS], oldSsLimit = cpu.segLimit[SS], oldSsAR = cpu.segAR[SS];
  // Nothing below may stay changed if a later check or a push faults: restore, then rethrow.
  try {
    loadStackSegment(cpu, ss, newCpl, 0);
    cpu.regs[ESP] = esp;
    if (!stackHasRoom(cpu, (4 + count) * size, size)) cpu.raiseWithCode(SS_FAULT, ss & 0xfffc);
    checkEip(cpu, gateEip, gateCode.limit);
    gateCode.markAccessed(cpu);
    cpu.setCpl(newCpl);
    push(cpu, size, oldSs);
    push(cpu, size, oldEsp);
    for (let k = count - 1; k >= 0; k--) push(cpu, size, params[k]);
    push(cpu, size, oldCs);
    push(cpu, size, oldEip);
  } catch (e) {
    cpu.setSegmentCache(SS, oldSs, oldSsBase, oldSsLimit, oldSsAR);
    cpu.setCpl(oldCpl);
    cpu.regs[ESP] = oldEsp;
    throw e;
  }
  gateCode.load(cpu, CS, (codeSel & 0xfffc) | newCpl);
  cpu.eip = gateEip;
}

function push(cpu: Cpu, size: number, v: number): void {
  const off = below(cpu, size);
  if (size === 4) cpu.write32(SS, off, v); else cpu.write16(SS, off, v);
  adjustSp(cpu, -size);
}

// ---- RETF ------------------------------------------------------------------------------

/**
 * The return code segment checks RETF and IRET share (SDM RET/IRET, PROTECTED-MODE-RETURN):
 * reads the descriptor into `returnCode`.
 */
export function checkReturnCode(cpu: Cpu, sel: number): void {
  if ((sel & 0xfffc) === 0) cpu.raiseWithCode(GP, 0);
  if (!readDescriptor(cpu, sel)) cpu.raiseWithCode(GP, sel & 0xfffc);
  returnCode.keep();
  const hi = returnCode.hi, dpl = descDpl(hi), rpl = sel & 3;
  if (!isCode(hi) || rpl < cpu.cpl) cpu.raiseWithCode(GP, sel & 0xfffc);
  if (isConforming(hi) ? dpl > rpl : dpl !== rpl) cpu.raiseWithCode(GP, sel & 0xfffc);
  if (!present(hi)) cpu.raiseWithCode(NP, sel & 0xfffc);
}

/**
 * The stack segment checks of a return to an outer ring (RETF and IRET): a writable data
 * segment with RPL = DPL = the return CS's RPL; reads the descriptor into `returnStack`.
 */
export function checkReturnStack(cpu: Cpu, ss: number, rpl: number): void {
  if ((ss & 0xfffc) === 0) cpu.raiseWithCode(GP, 0);
  if (!readDescriptor(cpu, ss)) cpu.raiseWithCode(GP, ss & 0xfffc);
  returnStack.keep();
  const hi = returnStack.hi;
  const writableData = (hi & DESC_S) !== 0 && (hi & (TYPE_CODE << 8)) === 0 && (hi & (TYPE_WRITABLE << 8)) !== 0;
  if ((ss & 3) !== rpl || !writableData || descDpl(hi) !== rpl) cpu.raiseWithCode(GP, ss & 0xfffc);
  if (!present(hi)) cpu.raiseWithCode(SS_FAULT, ss & 0xfffc);
}

/**
 * Commits a return to the outer ring `rpl` whose checks are done: CS, CPL, then SS:ESP
 * (`esp`, plus `release` bytes of parameters on the outer stack), and data segment registers
 * the outer ring may not use become null (SDM Vol. 3A, 5.8.6).
 */
export function returnToOuterRing(cpu: Cpu, csSel: number, eip: number, ssSel: number, esp: number, release: number): void {
  returnCode.markAccessed(cpu);
  returnStack.markAccessed(cpu);
  returnCode.load(cpu, CS, csSel);
  cpu.setCpl(csSel & 3);
  returnStack.load(cpu, SS, ssSel);
  cpu.regs[ESP] = cpu.stack32 ? (esp + release) | 0 : (esp & ~0xffff) | ((esp + release) & 0xffff);
  cpu.eip = eip;
  nullInaccessibleSegments(cpu);
}

export function retFar(cpu: Cpu, o32: boolean, release: number): void {
  const size = o32 ? 4 : 2;
  const eip = o32 ? peek32(cpu, 0) : peek16(cpu, 0);
  const csSel = (o32 ? peek32(cpu, 4) : peek16(cpu, 2)) & 0xffff;
  if (!cpu.protectedMode) {
    checkEip(cpu, eip, cpu.segLimit[CS]);
    loadCodeSegmentReal(cpu, csSel);
    cpu.eip = eip;
    adjustSp(cpu, 2 * size + release);
    return;
  }
  checkReturnCode(cpu, csSel);
  const rpl = csSel & 3;
  if (rpl > cpu.cpl) {
    const esp = o32 ? peek32(cpu, 8 + release) : peek16(cpu, 4 + release);
    const ssSel = (o32 ? peek32(cpu, 12 + release) : peek16(cpu, 6 + release)) & 0xffff;
    checkReturnStack(cpu, ssSel, rpl);
    checkEip(cpu, eip, returnCode.limit);
    returnToOuterRing(cpu, csSel, eip, ssSel, esp, release);
    return;
  }
  checkEip(cpu, eip, returnCode.limit);
  returnCode.markAccessed(cpu);
  returnCode.load(cpu, CS, csSel);
  cpu.eip = eip;
  adjustSp(cpu, 2 * size + release);
}

// ---- opcodes ---------------------------------------------------------------------------

export function register(): void {
  defineOp(0xea, { name: 'jmp far', operands: 'Ap', imm: Imm.Ap, endsBlock: true, exec: (cpu, i) => jmpFar(cpu, i.imm2, i.imm, i.o32) });
  defineOp(0x9a, { name: 'call far', operands: 'Ap', imm: Imm.Ap, endsBlock: true, exec: (cpu, i) => callFar(cpu, i.imm2, i.imm, i.o32) });
  defineGroup(0xff, 5, {
    name: 'jmp far', operands: 'Mp', memOnly: true, endsBlock: true,
    exec: (cpu, i) => { readFarPointer(cpu, i); jmpFar(cpu, farPtr.sel, farPtr.offset, i.o32); },
  });
  defineGroup(0xff, 3, {
    name: 'call far', operands: 'Mp', memOnly: true, endsBlock: true,
    exec: (cpu, i) => { readFarPointer(cpu, i); callFar(cpu, farPtr.sel, farPtr.offset, i.o32); },
  });
  defineOp(0xcb, { name: 'retf', sizedNames: ['retfw', 'retfd'], endsBlock: true, exec: (cpu, i) => retFar(cpu, i.o32, 0) });
  defineOp(0xca, { name: 'retf', operands: 'Iw', sizedNames: ['retfw', 'retfd'], imm: Imm.Iw, endsBlock: true, exec: (cpu, i) => retFar(cpu, i.o32, i.imm) });
}
