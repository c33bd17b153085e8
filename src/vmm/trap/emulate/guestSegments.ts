/**
 * The segment checks of ring 0, made against the guest's descriptors at the guest's CPL,
 * for the instructions that fault only because ring compression put the guest in ring 1:
 * loads of SS and returns whose selector has RPL 0 (SDM Vol. 2, MOV, POP, IRET, RET).
 */
import { GP, NP, SS_FAULT } from '../../../cpu/exceptions';
import { descDpl, descLimit } from '../../../cpu/segmentation';
import { GuestFault } from '../../guestMemory';
import { compress, selectorFault, type Descriptor } from '../shadowGdt';
import type { TrapMonitor } from '../trapMonitor';

const DESC_S = 1 << 12;
const DESC_P = 1 << 15;

/** The guest's descriptor for `sel`, or #GP(selector). */
function lookup(t: TrapMonitor, sel: number, out: Descriptor): Descriptor {
  if ((sel & 0xfffc) === 0) throw new GuestFault(GP, 0, true);
  if (t.gdt.guestDescriptor(sel, out) === undefined) throw selectorFault(sel);
  return out;
}

/** A stack segment for privilege `cpl`: writable data with RPL = DPL = cpl, present. */
export function checkStackSegment(t: TrapMonitor, sel: number, cpl: number, out: Descriptor): Descriptor {
  const d = lookup(t, sel, out);
  const type = (d.hi >> 8) & 0xf;
  const writableData = (d.hi & DESC_S) !== 0 && (type & 0x8) === 0 && (type & 0x2) !== 0;
  if ((sel & 3) !== cpl || !writableData || descDpl(d.hi) !== cpl) throw selectorFault(sel);
  if ((d.hi & DESC_P) === 0) throw new GuestFault(SS_FAULT, sel & 0xfffc, true);
  return d;
}

/** The code segment of a return from the guest's ring `cpl` (RETF and IRET); returns its limit as the processor holds it. */
export function checkReturnCode(t: TrapMonitor, sel: number, cpl: number, out: Descriptor): number {
  const d = lookup(t, sel, out);
  const type = (d.hi >> 8) & 0xf;
  const isCode = (d.hi & DESC_S) !== 0 && (type & 0x8) !== 0;
  const dpl = descDpl(d.hi), rpl = sel & 3;
  if (!isCode || rpl < cpl) throw selectorFault(sel);
  if ((type & 0x4) !== 0 ? dpl > rpl : dpl !== rpl) throw selectorFault(sel);
  if ((d.hi & DESC_P) === 0) throw new GuestFault(NP, sel & 0xfffc, true);
  const c = compress(d, { lo: 0, hi: 0 });
  return descLimit(c.lo, c.hi);
}
