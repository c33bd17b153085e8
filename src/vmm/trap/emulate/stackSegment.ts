/**
 * MOV SS, POP SS and LSS with a selector of RPL 0: ring 0 may load it, ring 1 may not (RPL
 * must equal CPL), so they fault under ring compression. The VMM checks the load as ring 0
 * would and loads SS with RPL 1, the only stack selector the ring-1 processor accepts. That
 * RPL is visible to the guest afterwards (MOV from SS, PUSH SS): a hole of ring compression.
 */
import type { Insn } from '../../../cpu/insn';
import { ESP, SS } from '../../../cpu/registers';
import { loadCompressed, type Descriptor } from '../shadowGdt';
import type { TrapMonitor } from '../trapMonitor';
import { checkStackSegment } from './guestSegments';
import { hex, operandAddress, readRm16, ring0, type Emulator } from './emulator';

const d: Descriptor = { lo: 0, hi: 0 };

/** Loads SS for the guest's ring 0, with the interrupt shadow of MOV/POP SS (SDM Vol. 3A, 6.8.3). */
function loadSs(t: TrapMonitor, sel: number): void {
  checkStackSegment(t, sel, 0, d);
  const cpu = t.cpu;
  loadCompressed(cpu, SS, (sel & ~3) | 1, d);
  cpu.inhibitUntil = cpu.icount + 1;
  cpu.movSsShadowUntil = cpu.icount + 1;
  cpu.leaveBlock = true;
}

export const MOV_SS: Emulator = {
  name: () => 'MOV SS',
  allowed: ring0,
  run(t, insn, q) {
    const sel = readRm16(t, insn);
    loadSs(t, sel);
    q[0] = sel;
  },
  qualify: (sel) => `MOV SS, ${hex(sel)}: loaded with RPL 1`,
};

export const POP_SS: Emulator = {
  name: () => 'POP SS',
  allowed: ring0,
  run(t, insn, q) {
    const cpu = t.cpu, size = insn.o32 ? 4 : 2;
    const top = cpu.stack32 ? cpu.regs[ESP] : cpu.regs[ESP] & 0xffff;
    const lin = t.mem.linear(SS, top, size, false);
    const sel = t.mem.read16(lin);
    const wide = cpu.stack32;
    loadSs(t, sel);
    const next = top + size;
    cpu.regs[ESP] = wide ? next | 0 : (cpu.regs[ESP] & ~0xffff) | (next & 0xffff);
    q[0] = sel;
  },
  qualify: (sel) => `POP SS ${hex(sel)}: loaded with RPL 1`,
};

export const LSS: Emulator = {
  name: () => 'LSS',
  allowed: ring0,
  run(t, insn: Insn, q) {
    const cpu = t.cpu, size = insn.o32 ? 4 : 2;
    const lin = operandAddress(t, insn, size + 2, false);
    const offset = size === 4 ? t.mem.read32(lin) : t.mem.read16(lin);
    const sel = t.mem.read16((lin + size) | 0);
    checkStackSegment(t, sel, 0, d);
    loadCompressed(cpu, SS, (sel & ~3) | 1, d);
    if (size === 4) cpu.regs[insn.reg] = offset; else cpu.regs[insn.reg] = (cpu.regs[insn.reg] & ~0xffff) | (offset & 0xffff);
    q[0] = sel; q[1] = offset >>> 0;
  },
  qualify: (sel, offset) => `LSS ${hex(sel)}:${hex(offset)}: loaded with RPL 1`,
};
