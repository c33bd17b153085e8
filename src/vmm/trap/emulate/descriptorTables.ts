/**
 * LGDT, LIDT, LLDT and LTR: the guest loads its own descriptor-table registers, which the
 * VMM keeps (virtualCpu.ts) while the processor keeps the VMM's. LGDT also rebuilds the
 * shadow GDT from the guest's table, LLDT the shadow LDT; LTR checks the descriptor and marks it busy in the
 * guest's GDT as the processor would (SDM Vol. 2, LTR), and tells the VMM where the guest's
 * TSS is, whose ring-0 stack it uses to reflect events from user code.
 */
import { GP, NP } from '../../../cpu/exceptions';
import type { Insn } from '../../../cpu/insn';
import { descAR, descBase, descLimit } from '../../../cpu/segmentation';
import { GuestFault } from '../../guestMemory';
import { selectorFault, type Descriptor } from '../shadowGdt';
import type { TrapMonitor } from '../trapMonitor';
import { hex, operandAddress, readRm16, ring0, type Emulator } from './emulator';

const DESC_S = 1 << 12;
const DESC_P = 1 << 15;
const TSS_BUSY = 1 << 9;
const LDT_TYPE = 0x2;

/** The limit and base of an LGDT/LIDT operand (24 bits of base with a 16-bit operand size). */
function tableOperand(t: TrapMonitor, insn: Insn): { limit: number; base: number } {
  const lin = operandAddress(t, insn, 6, false);
  const limit = t.mem.read16(lin);
  const base = t.mem.read32((lin + 2) | 0);
  return { limit, base: insn.o32 ? base : base & 0xffffff };
}

export const LGDT: Emulator = {
  name: () => 'LGDT',
  allowed: ring0,
  run(t, insn, q) {
    const { limit, base } = tableOperand(t, insn);
    t.gdt.load(t.mem, base, limit);
    t.vcpu.gdtrBase = base; t.vcpu.gdtrLimit = limit;
    t.guardDescriptorTables();
    q[0] = base >>> 0; q[1] = limit;
  },
  qualify: (base, limit) => `LGDT base ${hex(base)} limit ${hex(limit)}`,
};

export const LIDT: Emulator = {
  name: () => 'LIDT',
  allowed: ring0,
  run(t, insn, q) {
    const { limit, base } = tableOperand(t, insn);
    t.vcpu.idtrBase = base; t.vcpu.idtrLimit = limit;
    q[0] = base >>> 0; q[1] = limit;
  },
  qualify: (base, limit) => `LIDT base ${hex(base)} limit ${hex(limit)}`,
};

const d: Descriptor = { lo: 0, hi: 0 };

/** LLDT: the guest's LDT (an LDT descriptor in its GDT, SDM Vol. 2) is shadowed like its GDT. */
export const LLDT: Emulator = {
  name: () => 'LLDT',
  allowed: ring0,
  run(t, insn, q) {
    const sel = readRm16(t, insn);
    q[0] = sel;
    if ((sel & ~3) === 0) {
      t.ldt.clear();
    } else {
      if ((sel & 4) !== 0 || t.gdt.guestDescriptor(sel, d) === undefined) throw selectorFault(sel);
      if ((d.hi & DESC_S) !== 0 || ((d.hi >> 8) & 0xf) !== LDT_TYPE) throw selectorFault(sel);
      if ((d.hi & DESC_P) === 0) throw new GuestFault(NP, sel & 0xfffc, true);
      const base = descBase(d.lo, d.hi), limit = descLimit(d.lo, d.hi);
      t.ldt.load(t.mem, base, limit);
      q[1] = base >>> 0; q[2] = limit;
    }
    t.vcpu.ldtrSel = sel;
    t.guardDescriptorTables();
  },
  qualify: (sel, base, limit) => ((sel & ~3) === 0 ? `LLDT ${hex(sel)} (no LDT)` : `LLDT ${hex(sel)}: LDT at ${hex(base)} limit ${hex(limit)}`),
};

export const LTR: Emulator = {
  name: () => 'LTR',
  allowed: ring0,
  run(t, insn, q) {
    const sel = readRm16(t, insn);
    if ((sel & ~3) === 0) throw new GuestFault(GP, 0, true);
    if (t.gdt.guestDescriptor(sel, d) === undefined) throw selectorFault(sel);
    const type = (d.hi >> 8) & 0xf;
    if ((d.hi & DESC_S) !== 0 || (type !== 0x1 && type !== 0x9)) throw selectorFault(sel);
    if ((d.hi & DESC_P) === 0) throw new GuestFault(NP, sel & 0xfffc, true);
    const busy = d.hi | TSS_BUSY;
    t.mem.write32((t.vcpu.gdtrBase + (sel & ~7) + 4) | 0, busy);
    t.gdt.setGuestHigh(sel, busy);
    const v = t.vcpu;
    v.trSel = sel; v.trBase = descBase(d.lo, busy); v.trLimit = descLimit(d.lo, busy); v.trAR = descAR(busy);
    q[0] = sel; q[1] = v.trBase >>> 0; q[2] = v.trLimit;
  },
  qualify: (sel, base, limit) => `LTR ${hex(sel)}: TSS at ${hex(base)} limit ${hex(limit)}`,
};
