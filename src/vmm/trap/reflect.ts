/**
 * Reflection: delivering an exception or interrupt to the guest the way the processor would
 * if the guest really ran in ring 0 (SDM Vol. 3A, 6.12), through the guest's own IDT and GDT
 * and, from user code, onto the stack its TSS names for ring 0. The frame shows what ring 0
 * would see: the guest's EFLAGS (its IOPL) and its code selector with RPL 0. The handler
 * then runs in ring 1. Because the frame's CS has RPL 0, the handler's IRET faults in ring 1
 * and the VMM carries it out (iret.ts), restoring the guest's interrupt flag as ring 0 would.
 */
import { StopReason } from '../../cpu/cpu';
import { describeException, DF, FaultClass, faultClass, GP, NP, PF, SS_FAULT, TS } from '../../cpu/exceptions';
import { getEflags } from '../../cpu/flags';
import { EventKind } from '../../cpu/interrupts';
import {
  CS, ESP, FLAG_IF, FLAG_IOPL, FLAG_NT, FLAG_RF, FLAG_TF, FLAG_VM, SS,
} from '../../cpu/registers';
import { descBase, descDpl, descLimit } from '../../cpu/segmentation';
import { GuestFault, VmmStop } from '../guestMemory';
import { hex8 } from '../exitLog';
import { compress, loadCompressed, type Descriptor } from './shadowGdt';
import type { TrapMonitor } from './trapMonitor';
import { realCpl, virtualCpl } from './virtualCpu';

const DESC_P = 1 << 15;
const gate: Descriptor = { lo: 0, hi: 0 };
const code: Descriptor = { lo: 0, hi: 0 };
const stack: Descriptor = { lo: 0, hi: 0 };
const packed: Descriptor = { lo: 0, hi: 0 };

/** The guest's EFLAGS image: the processor's, with the guest's IOPL. */
export function guestEflags(t: TrapMonitor): number {
  return (getEflags(t.cpu) & ~FLAG_IOPL) | (t.vcpu.iopl << 12);
}

/** The selector the guest believes is in CS (or SS): RPL = its own CPL. */
export function guestSelector(t: TrapMonitor, sel: number): number {
  return (sel & ~3) | virtualCpl(t.cpu.cpl);
}

/** A stack the frame is written to: its segment's base and bounds and the stack pointer. */
interface FrameStack { base: number; lo: number; hi: number; esp: number; big: boolean }

/**
 * Delivers one event; returns the handler's address. A fault while delivering is thrown as
 * GuestFault, with nothing changed, for `deliverToGuest` to apply the double-fault rule.
 */
function reflectOnce(t: TrapMonitor, vector: number, kind: EventKind, errorCode: number, hasErrorCode: boolean,
  returnEip: number): number {
  const cpu = t.cpu, v = t.vcpu, mem = t.mem;
  const vcpl = virtualCpl(cpu.cpl);
  const ext = kind === EventKind.Software ? 0 : 1;
  const idtErr = vector * 8 + 2 + ext;
  if (vector * 8 + 7 > v.idtrLimit) throw new GuestFault(GP, idtErr, true);
  gate.lo = mem.read32((v.idtrBase + vector * 8) | 0);
  gate.hi = mem.read32((v.idtrBase + vector * 8 + 4) | 0);
  const type = (gate.hi >> 8) & 0x1f;
  if (type === 0x05) throw new VmmStop(`task gate in the guest's IDT at vector ${vector}: hardware task switches are not supported`);
  const gate32 = type === 0x0e || type === 0x0f;
  if (!(gate32 || type === 0x06 || type === 0x07)) throw new GuestFault(GP, idtErr, true);
  if (kind === EventKind.Software && descDpl(gate.hi) < vcpl) throw new GuestFault(GP, idtErr, true);
  if ((gate.hi & DESC_P) === 0) throw new GuestFault(NP, idtErr, true);
  const isTrap = type === 0x07 || type === 0x0f;
  const sel = gate.lo >>> 16;
  const offset = gate32 ? ((gate.lo & 0xffff) | (gate.hi & 0xffff_0000)) | 0 : gate.lo & 0xffff;

  if ((sel & ~3) === 0) throw new GuestFault(GP, ext, true);
  if (t.gdt.guestDescriptor(sel, code) === undefined) throw new GuestFault(GP, (sel & 0xfffc) + ext, true);
  const ctype = (code.hi >> 8) & 0x1f;
  const dpl = descDpl(code.hi);
  if ((ctype & 0x18) !== 0x18 || dpl > vcpl) throw new GuestFault(GP, (sel & 0xfffc) + ext, true);
  if ((code.hi & DESC_P) === 0) throw new GuestFault(NP, (sel & 0xfffc) + ext, true);
  const conforming = (ctype & 4) !== 0;
  const newVcpl = conforming ? vcpl : dpl;
  if (newVcpl === 1 || newVcpl === 2) throw new VmmStop(`the guest's handler for vector ${vector} runs in ring ${newVcpl}, which ring compression cannot tell from ring 0`);
  const limit = descLimit(compress(code, packed).lo, packed.hi);
  if ((offset >>> 0) > limit) throw new GuestFault(GP, ext, true);

  const size = gate32 ? 4 : 2;
  const image = guestEflags(t);
  const oldCs = guestSelector(t, cpu.segSel[CS]);
  const words: number[] = [];
  let frame: FrameStack;
  let ssSel = -1;
  if (newVcpl < vcpl) {
    // From user code: the stack for ring 0 from the guest's TSS (SDM Vol. 3A, 6.12.1).
    const { ss, esp } = guestRing0Stack(t, ext);
    if (t.gdt.guestDescriptor(ss, stack) === undefined) throw new GuestFault(TS, (ss & 0xfffc) + ext, true);
    const stype = (stack.hi >> 8) & 0x1f;
    if ((ss & 3) !== 0 || descDpl(stack.hi) !== 0 || (stype & 0x1a) !== 0x12) throw new GuestFault(TS, (ss & 0xfffc) + ext, true);
    if ((stack.hi & DESC_P) === 0) throw new GuestFault(SS_FAULT, (ss & 0xfffc) + ext, true);
    compress(stack, packed);
    frame = { base: descBase(packed.lo, packed.hi), lo: 0, hi: descLimit(packed.lo, packed.hi), esp, big: (packed.hi & (1 << 22)) !== 0 };
    ssSel = (ss & ~3) | realCpl(newVcpl);
    words.push(cpu.segSel[SS], cpu.regs[ESP]);
  } else {
    if (!conforming && dpl !== vcpl) throw new GuestFault(GP, (sel & 0xfffc) + ext, true);
    frame = { base: cpu.segBase[SS], lo: cpu.segLo[SS], hi: cpu.segHiWrite[SS], esp: cpu.regs[ESP], big: cpu.stack32 };
  }
  words.push(image, oldCs, returnEip);
  if (hasErrorCode) words.push(errorCode);

  // Check every slot before writing any, then write: nothing changes if delivery faults.
  const slots: number[] = [];
  let sp = frame.esp;
  for (let k = 0; k < words.length; k++) {
    sp = frame.big ? (sp - size) | 0 : (sp - size) & 0xffff;
    const off = sp >>> 0;
    if (off < frame.lo || off + size - 1 > frame.hi) throw new GuestFault(SS_FAULT, ssSel >= 0 ? (ssSel & 0xfffc) + ext : ext, true);
    const lin = (frame.base + off) | 0;
    mem.translate(lin, true, false);
    mem.translate((lin + size - 1) | 0, true, false);
    slots.push(lin);
  }
  for (let k = 0; k < words.length; k++) {
    if (size === 4) mem.write32(slots[k], words[k]); else mem.write16(slots[k], words[k]);
  }

  if (ssSel >= 0) loadCompressed(cpu, SS, ssSel, stack);
  cpu.regs[ESP] = frame.big ? sp : (cpu.regs[ESP] & ~0xffff) | (sp & 0xffff);
  loadCompressed(cpu, CS, (sel & ~3) | realCpl(newVcpl), code);
  cpu.setCpl(realCpl(newVcpl));
  cpu.flags &= ~(FLAG_TF | FLAG_NT | FLAG_RF | FLAG_VM);
  if (!isTrap) cpu.flags &= ~FLAG_IF;
  cpu.eip = offset;
  cpu.halted = false;
  cpu.leaveBlock = true;
  return offset;
}

/** SS0:ESP0 from the guest's TSS. */
function guestRing0Stack(t: TrapMonitor, ext: number): { ss: number; esp: number } {
  const v = t.vcpu;
  const err = (v.trSel & 0xfffc) + ext;
  const tss32 = (v.trAR & 0xf) === 0x9 || (v.trAR & 0xf) === 0xb;
  if (v.trSel === 0) throw new GuestFault(TS, err, true);
  if (tss32) {
    if (4 + 5 > v.trLimit) throw new GuestFault(TS, err, true);
    return { esp: t.mem.read32((v.trBase + 4) | 0), ss: t.mem.read16((v.trBase + 8) | 0) };
  }
  if (2 + 3 > v.trLimit) throw new GuestFault(TS, err, true);
  return { esp: t.mem.read16((v.trBase + 2) | 0), ss: t.mem.read16((v.trBase + 4) | 0) };
}

/**
 * Delivers an event to the guest with the processor's double-fault rule (SDM Vol. 3A, table
 * 6-5) for faults raised while delivering it; a fault while delivering #DF shuts the guest
 * down as a triple fault does. Returns the handler address of what was delivered.
 */
export function deliverToGuest(t: TrapMonitor, vector: number, kind: EventKind, errorCode: number,
  hasErrorCode: boolean, returnEip: number): number {
  const chain = [describeException(vector, errorCode, hasErrorCode)];
  let v = vector, k = kind, e = errorCode, h = hasErrorCode, ret = returnEip;
  for (;;) {
    try {
      return reflectOnce(t, v, k, e, h, ret);
    } catch (f) {
      if (!(f instanceof GuestFault)) throw f;
      chain.push(describeException(f.vector, f.errorCode, f.hasErrorCode));
      if (v === DF) {
        t.cpu.requestStop(StopReason.TripleFault, `triple fault at EIP ${hex8(t.cpu.eipStart)}: ${chain.join(' then ')}`);
        return 0;
      }
      if (f.vector === PF) t.vcpu.cr2 = f.address;
      const a = faultClass(v), b = faultClass(f.vector);
      if ((a === FaultClass.Contributory && b === FaultClass.Contributory) || (a === FaultClass.PageFault && b !== FaultClass.Benign)) {
        v = DF; e = 0; h = true;
        chain.push('#DF');
      } else {
        v = f.vector; e = f.errorCode; h = f.hasErrorCode;
      }
      k = EventKind.Exception;
      ret = t.cpu.eipStart;
    }
  }
}
