/**
 * Interrupt and exception delivery (SDM Vol. 3A, 6.12 - 6.15): the real-mode IVT, and in
 * protected mode the IDT's interrupt and trap gates with the privilege checks and the stack
 * switch through the TSS; the double-fault rule and the triple fault.
 */
import { AR_UNUSABLE, StopReason, type Cpu } from './cpu';
import {
  BP, CpuFault, DF, describeException, FaultClass, faultClass, GP, NP, OF, SS_FAULT, TS,
} from './exceptions';
import { getEflags } from './flags';
import { CS, EBP, ESP, FLAG_AC, FLAG_IF, FLAG_NT, FLAG_RF, FLAG_TF, FLAG_VM, SS } from './registers';
import {
  desc, descDpl, descLimit, loadFromDesc, markAccessed, nullInaccessibleSegments, readDescriptor,
} from './segmentation';
import { deliveryDone, deliveryStarts, doubleFaultExit, exceptionExit, tripleFaultExit } from './vmx/events';

/** What is being delivered: it decides the gate-DPL check and the EXT bit of error codes. */
export const enum EventKind {
  /** INTR from the interrupt controller. */
  External,
  /** A fault or trap the processor detected. */
  Exception,
  /** INT n, INT3, INTO: gate DPL is checked against CPL. */
  Software,
}

/**
 * An event the processor delivered through an IDT gate, for Cpu.onDeliver: the vector, how it
 * came, and the state of the interrupted code (CS:EIP, EFLAGS and SS:ESP as pushed, CPL, EBP,
 * and the segment bases the selectors had). The handler's SS:ESP and CPL are the processor's.
 */
export interface DeliveredEvent {
  vector: number;
  kind: EventKind;
  errorCode: number | undefined;
  eip: number;
  cs: number;
  csBase: number;
  eflags: number;
  ss: number;
  ssBase: number;
  esp: number;
  ebp: number;
  cpl: number;
}

/**
 * Delivers `vector` with the return address `returnEip` (the faulting instruction for faults,
 * the next instruction for traps and interrupts). Faults during delivery propagate as CpuFault.
 */
export function deliver(cpu: Cpu, vector: number, kind: EventKind, errorCode: number, hasErrorCode: boolean,
  returnEip: number): void {
  cpu.halted = false;
  // VMX non-root operation: INT3/INTO may exit; the event becomes IDT-vectoring information (vmx/events.ts).
  if (cpu.vmxNonRoot && deliveryStarts(cpu, vector, kind, errorCode, hasErrorCode)) return;
  if (!cpu.protectedMode) {
    deliverReal(cpu, vector, returnEip);
    if (cpu.vmxNonRoot) deliveryDone(cpu);
    return;
  }
  const ext = kind === EventKind.Software ? 0 : 1;
  const idtErr = vector * 8 + 2 + ext;
  if (vector * 8 + 7 > cpu.idtrLimit) cpu.raiseWithCode(GP, idtErr);
  const gateAddr = (cpu.idtrBase + vector * 8) | 0;
  const lo = cpu.readSys32(gateAddr), hi = cpu.readSys32((gateAddr + 4) | 0);
  const type = (hi >> 8) & 0x1f;
  const gate32 = type === 0x0e || type === 0x0f;
  const isTrap = type === 0x07 || type === 0x0f;
  if (type === 0x05) {
    cpu.requestStop(StopReason.TripleFault, `task gate in IDT vector ${vector}: hardware task switches are not supported`);
    return;
  }
  if (!(gate32 || type === 0x06 || type === 0x07)) cpu.raiseWithCode(GP, idtErr);
  if (kind === EventKind.Software && descDpl(hi) < cpu.cpl) cpu.raiseWithCode(GP, idtErr);
  if ((hi & (1 << 15)) === 0) cpu.raiseWithCode(NP, idtErr);

  const sel = lo >>> 16;
  const offset = gate32 ? ((lo & 0xffff) | (hi & 0xffff_0000)) | 0 : lo & 0xffff;
  if ((sel & ~3) === 0) cpu.raiseWithCode(GP, ext);
  if (!readDescriptor(cpu, sel)) cpu.raiseWithCode(GP, (sel & 0xfffc) + ext);
  const chi = desc.hi;
  const ctype = (chi >> 8) & 0x1f;
  const dpl = descDpl(chi);
  if ((ctype & 0x18) !== 0x18 || dpl > cpu.cpl) cpu.raiseWithCode(GP, (sel & 0xfffc) + ext);
  if ((chi & (1 << 15)) === 0) cpu.raiseWithCode(NP, (sel & 0xfffc) + ext);
  const conforming = (ctype & 4) !== 0;
  const codeLo = desc.lo, codeHi = desc.hi, codeAddr = desc.addr;

  const eflags = getEflags(cpu);
  const oldCs = cpu.segSel[CS], oldSs = cpu.segSel[SS], oldEsp = cpu.regs[ESP];
  const oldCpl = cpu.cpl, oldCsBase = cpu.segBase[CS], oldSsBase = cpu.segBase[SS];

  if (!conforming && dpl < cpu.cpl) {
    // Inter-privilege: switch to the stack for the new level from the TSS.
    const { ss, esp } = stackFromTss(cpu, dpl, ext);
    const savedSs = saveSeg(cpu, SS);
    try {
      loadStackSegment(cpu, ss, dpl, ext);
      cpu.setCpl(dpl);
      cpu.regs[ESP] = esp;
      const size = gate32 ? 4 : 2;
      if (!stackHasRoom(cpu, (hasErrorCode ? 6 : 5) * size, size)) cpu.raiseWithCode(SS_FAULT, (ss & 0xfffc) + ext);
      if ((offset >>> 0) > descLimit(codeLo, codeHi)) cpu.raiseWithCode(GP, ext);
      pushValue(cpu, gate32, oldSs);
      pushValue(cpu, gate32, oldEsp);
      pushValue(cpu, gate32, eflags);
      pushValue(cpu, gate32, oldCs);
      pushValue(cpu, gate32, returnEip);
      if (hasErrorCode) pushValue(cpu, gate32, errorCode);
    } catch (e) {
      restoreSeg(cpu, SS, savedSs);
      cpu.setCpl(oldCpl);
      cpu.regs[ESP] = oldEsp;
      throw e;
    }
  } else {
    if (!conforming && dpl !== cpu.cpl) cpu.raiseWithCode(GP, (sel & 0xfffc) + ext);
    const size = gate32 ? 4 : 2;
    if (!stackHasRoom(cpu, (hasErrorCode ? 4 : 3) * size, size)) cpu.raiseWithCode(SS_FAULT, ext);
    if ((offset >>> 0) > descLimit(codeLo, codeHi)) cpu.raiseWithCode(GP, ext);
    try {
      pushValue(cpu, gate32, eflags);
      pushValue(cpu, gate32, oldCs);
      pushValue(cpu, gate32, returnEip);
      if (hasErrorCode) pushValue(cpu, gate32, errorCode);
    } catch (e) {
      cpu.regs[ESP] = oldEsp;
      throw e;
    }
  }
  const newCpl = conforming ? cpu.cpl : dpl;
  desc.lo = codeLo; desc.hi = codeHi; desc.addr = codeAddr;
  markAccessed(cpu);
  loadFromDesc(cpu, CS, (sel & 0xfffc) | newCpl);
  cpu.setCpl(newCpl);
  if (newCpl < oldCpl) nullInaccessibleSegments(cpu);
  cpu.flags &= ~(FLAG_TF | FLAG_NT | FLAG_RF | FLAG_VM);
  if (!isTrap) cpu.flags &= ~FLAG_IF;
  cpu.eip = offset;
  cpu.leaveBlock = true;
  if (cpu.onDeliver !== undefined) {
    cpu.onDeliver({
      vector, kind, errorCode: hasErrorCode ? errorCode : undefined, eip: returnEip, cs: oldCs, csBase: oldCsBase, eflags,
      ss: oldSs, ssBase: oldSsBase, esp: oldEsp, ebp: cpu.regs[EBP], cpl: oldCpl,
    });
  }
  if (cpu.vmxNonRoot) deliveryDone(cpu);
}

function pushValue(cpu: Cpu, gate32: boolean, v: number): void {
  const size = gate32 ? 4 : 2;
  const sp = cpu.stack32 ? (cpu.regs[ESP] - size) | 0 : (cpu.regs[ESP] - size) & 0xffff;
  if (gate32) cpu.write32(SS, sp, v); else cpu.write16(SS, sp, v);
  cpu.regs[ESP] = cpu.stack32 ? sp : (cpu.regs[ESP] & ~0xffff) | sp;
}

/** Whether `bytes`, pushed in `size`-byte slots, fit below SS:ESP within the stack segment's limits. */
export function stackHasRoom(cpu: Cpu, bytes: number, size: number): boolean {
  for (let n = size; n <= bytes; n += size) {
    const sp = (cpu.stack32 ? cpu.regs[ESP] - n : (cpu.regs[ESP] - n) & 0xffff) >>> 0;
    if (sp < cpu.segLo[SS] || sp + size - 1 > cpu.segHiWrite[SS]) return false;
  }
  return true;
}

interface SavedSeg { sel: number; base: number; limit: number; ar: number }
function saveSeg(cpu: Cpu, seg: number): SavedSeg {
  return { sel: cpu.segSel[seg], base: cpu.segBase[seg], limit: cpu.segLimit[seg], ar: cpu.segAR[seg] };
}
function restoreSeg(cpu: Cpu, seg: number, s: SavedSeg): void {
  cpu.setSegmentCache(seg, s.sel, s.base, s.limit, s.ar);
}

/** SS:ESP for privilege level `dpl` from the current TSS (SDM Vol. 3A, 7.2.1). */
export function stackFromTss(cpu: Cpu, dpl: number, ext: number): { ss: number; esp: number } {
  const tss32 = (cpu.trAR & 0xf) === 0x9 || (cpu.trAR & 0xf) === 0xb;
  const trErr = (cpu.trSel & 0xfffc) + ext;
  if ((cpu.trAR & AR_UNUSABLE) !== 0) cpu.raiseWithCode(TS, trErr);
  if (tss32) {
    const off = 4 + dpl * 8;
    if (off + 5 > cpu.trLimit) cpu.raiseWithCode(TS, trErr);
    return { esp: cpu.readSys32((cpu.trBase + off) | 0), ss: cpu.readSys16((cpu.trBase + off + 4) | 0) };
  }
  const off = 2 + dpl * 4;
  if (off + 3 > cpu.trLimit) cpu.raiseWithCode(TS, trErr);
  return { esp: cpu.readSys16((cpu.trBase + off) | 0), ss: cpu.readSys16((cpu.trBase + off + 2) | 0) };
}

/** Loads the new stack segment of a privilege change, with the #TS checks (SDM Vol. 3A, 6.12.1). */
export function loadStackSegment(cpu: Cpu, ss: number, dpl: number, ext: number): void {
  const err = (ss & 0xfffc) + ext;
  if ((ss & ~3) === 0) cpu.raiseWithCode(TS, ext);
  if (!readDescriptor(cpu, ss)) cpu.raiseWithCode(TS, err);
  const hi = desc.hi;
  const type = (hi >> 8) & 0x1f;
  if ((ss & 3) !== dpl || descDpl(hi) !== dpl || (type & 0x1a) !== 0x12) cpu.raiseWithCode(TS, err);
  if ((hi & (1 << 15)) === 0) cpu.raiseWithCode(SS_FAULT, err);
  markAccessed(cpu);
  loadFromDesc(cpu, SS, ss);
}

/** Real-address mode: the IVT at IDTR.base, FLAGS/CS/IP pushed (SDM Vol. 3A, 20.1.4). */
function deliverReal(cpu: Cpu, vector: number, returnEip: number): void {
  if (vector * 4 + 3 > cpu.idtrLimit) cpu.raiseWithCode(GP, 0);
  const entry = cpu.readLin32((cpu.idtrBase + vector * 4) | 0);
  pushValue(cpu, false, getEflags(cpu));
  pushValue(cpu, false, cpu.segSel[CS]);
  pushValue(cpu, false, returnEip);
  cpu.flags &= ~(FLAG_IF | FLAG_TF | FLAG_AC);
  const sel = entry >>> 16;
  cpu.setSegmentCache(CS, sel, sel << 4, cpu.segLimit[CS], cpu.segAR[CS]);
  cpu.eip = entry & 0xffff;
  cpu.leaveBlock = true;
}

/**
 * Delivers the exception in `cpu.fault` (raised by the instruction at `cpu.eipStart`),
 * applying the double-fault rule (SDM Vol. 3A, table 6-5) when delivery itself faults, and
 * stopping with a triple fault when #DF delivery faults.
 */
export function deliverException(cpu: Cpu, kind: EventKind = EventKind.Exception): void {
  // VMX non-root operation: a VM exit raised inside an instruction, or the exception bitmap (vmx/events.ts).
  if (cpu.vmxNonRoot && exceptionExit(cpu)) return;
  const f = cpu.fault;
  // A monitor (src/vmm) may handle it: emulate the instruction, fix a shadow page, reflect it.
  if (cpu.monitor !== undefined && cpu.monitor.intercept(cpu, f.vector, kind, f.errorCode, f.hasErrorCode)) return;
  let vector = f.vector, code = f.errorCode, has = f.hasErrorCode;
  if (cpu.delivering < 0) cpu.faultChain.length = 0;
  cpu.faultChain.push(describeException(vector, code, has));
  if (cpu.faultChain.length > 8) cpu.faultChain.shift();
  const prev = cpu.delivering;
  if (prev >= 0) {
    if (prev === DF) { tripleFault(cpu); return; }
    const a = faultClass(prev), b = faultClass(vector);
    if ((a === FaultClass.Contributory && b === FaultClass.Contributory) ||
        (a === FaultClass.PageFault && b !== FaultClass.Benign)) {
      vector = DF; code = 0; has = true;
      cpu.faultChain.push('#DF');
      if (cpu.vmxNonRoot && doubleFaultExit(cpu)) return;
    }
  }
  // The debugger may stop here, before delivery (see Cpu.onException).
  if (cpu.onException !== undefined && cpu.onException(vector, has ? code : undefined)) {
    cpu.delivering = -1;
    cpu.requestStop(StopReason.Exception, describeException(vector, code, has));
    return;
  }
  cpu.delivering = vector;
  try {
    deliver(cpu, vector, kind, code, has, cpu.eipStart);
  } catch (e) {
    if (!(e instanceof CpuFault)) throw e;
    deliverException(cpu);
  }
  cpu.delivering = -1;
}

function tripleFault(cpu: Cpu): void {
  cpu.delivering = -1;
  // In VMX non-root operation a triple fault is a VM exit (reason 2), not a shutdown.
  if (cpu.vmxNonRoot) { tripleFaultExit(cpu); return; }
  const chain = cpu.faultChain.join(' then ');
  const eip = (cpu.eipStart >>> 0).toString(16).padStart(8, '0');
  cpu.requestStop(StopReason.TripleFault, `triple fault at EIP 0x${eip}: ${chain}`);
}

/**
 * An event raised by an instruction (INT n, INT3, INTO, BOUND's #BR is a fault instead):
 * delivered with the next instruction as return address; faults during delivery go through
 * the double-fault rule as exceptions.
 */
export function softwareInterrupt(cpu: Cpu, vector: number): void {
  // INT3 and INTO raise the exceptions #BP and #OF: the debugger may stop before delivery as for
  // faults. The instruction is then undone (EIP back on it; the run loop counts every executed
  // instruction as retired, so the count is taken back first) and runs again on resume.
  if ((vector === BP || vector === OF) && cpu.onException !== undefined && cpu.onException(vector, undefined)) {
    cpu.eip = cpu.eipStart;
    cpu.icount--;
    cpu.leaveBlock = true;
    cpu.requestStop(StopReason.Exception, describeException(vector, 0, false));
    return;
  }
  if (cpu.monitor !== undefined && cpu.monitor.intercept(cpu, vector, EventKind.Software, 0, false)) return;
  deliver(cpu, vector, EventKind.Software, 0, false, cpu.eip);
}

/** Delivers an external interrupt from the interrupt controller. */
export function externalInterrupt(cpu: Cpu, vector: number): void {
  cpu.eipStart = cpu.eip;
  if (cpu.monitor !== undefined && cpu.monitor.intercept(cpu, vector, EventKind.External, 0, false)) return;
  try {
    deliver(cpu, vector, EventKind.External, 0, false, cpu.eip);
  } catch (e) {
    if (!(e instanceof CpuFault)) throw e;
    deliverException(cpu);
  }
}
