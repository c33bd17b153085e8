/**
 * Bounce frames: how the VMM enters the PV guest's handlers (an exception or INT handler
 * from its trap table, the event callback), as Xen does. The frame is an interrupt frame on
 * the guest kernel's stack (the one `stack_switch` named, when coming from user code) with
 * the guest's real ring-1 CS: a PV kernel knows it runs in ring 1. The saved EFLAGS.IF tells
 * whether events were unmasked; the guest returns with the `iret` hypercall.
 */
import { ESP, CS, SS, FLAG_IF, FLAG_NT, FLAG_RF, FLAG_TF, FLAG_VM } from '../../cpu/registers';
import { getEflags } from '../../cpu/flags';
import { descAR, descBase, descDpl, descLimit } from '../../cpu/segmentation';
import { hex8 } from '../exitLog';
import { VmmStop } from '../guestMemory';
import { GDT_PAGE } from '../vmmMemory';
import type { PvMonitor } from './pvMonitor';

const DESC_S = 1 << 12, DESC_P = 1 << 15;

/**
 * Loads `seg` from the VMM's GDT, which holds the flat ring-1 and ring-3 segments: a PV guest
 * names them by selector. `code` asks for a code segment; `dpl` is the ring it must belong to.
 */
export function loadVmmSegment(pv: PvMonitor, seg: number, sel: number, code: boolean, dpl: number): void {
  const at = pv.memory.page(GDT_PAGE) + (sel & ~7);
  const lo = pv.memory.read32(at), hi = pv.memory.read32(at + 4);
  const type = (hi >> 8) & 0xf;
  const ok = (sel & 4) === 0 && (sel & ~7) !== 0 && (hi & DESC_S) !== 0 && (hi & DESC_P) !== 0 &&
    ((type & 8) !== 0) === code && (code || (type & 2) !== 0) && descDpl(hi) === dpl && (sel & 3) === dpl;
  if (!ok) throw new VmmStop(`the guest named selector 0x${sel.toString(16)} as a ring-${dpl} ${code ? 'code' : 'stack'} segment; the VMM's GDT has none there`);
  pv.cpu.setSegmentCache(seg, sel, descBase(lo, hi), descLimit(lo, hi), descAR(hi));
}

/** Enters the guest at `cs:eip` with a frame returning to `returnEip`; `maskEvents` masks events on entry. */
export function bounce(pv: PvMonitor, cs: number, eip: number, errorCode: number, hasErrorCode: boolean,
  returnEip: number, maskEvents: boolean): void {
  const cpu = pv.cpu, mem = pv.mem;
  const fromUser = cpu.cpl === 3;
  if (fromUser && pv.kernelSs === 0) {
    throw new VmmStop(`an event from user code at ${hex8(cpu.eipStart)} needs the kernel stack, and the guest named none (stack_switch)`);
  }
  const image = (getEflags(cpu) & ~FLAG_IF) | (pv.events.masked() ? 0 : FLAG_IF);
  const words: number[] = fromUser ? [cpu.segSel[SS], cpu.regs[ESP]] : [];
  words.push(image, cpu.segSel[CS], returnEip);
  if (hasErrorCode) words.push(errorCode);
  let esp = fromUser ? pv.kernelEsp : cpu.regs[ESP];
  // Flat segments: the stack's linear addresses are its offsets. Check all slots, then write.
  const slots: number[] = [];
  for (let k = 0; k < words.length; k++) {
    esp = (esp - 4) | 0;
    mem.translate(esp, true, false);
    mem.translate((esp + 3) | 0, true, false);
    slots.push(esp);
  }
  for (let k = 0; k < words.length; k++) mem.write32(slots[k], words[k]);
  if (fromUser) {
    loadVmmSegment(pv, SS, pv.kernelSs, false, 1);
    cpu.setCpl(1);
  }
  loadVmmSegment(pv, CS, cs, true, 1);
  cpu.regs[ESP] = esp;
  cpu.flags &= ~(FLAG_TF | FLAG_NT | FLAG_RF | FLAG_VM);
  if (maskEvents) pv.events.setMasked(true);
  cpu.eip = eip;
  cpu.halted = false;
  cpu.leaveBlock = true;
}
