/**
 * RETF to a CS of RPL 0 within the guest's ring 0 (a kernel reloading CS with `push cs_sel;
 * push target; retf`): a return to an inner ring for the ring-1 processor, so it faults; the
 * VMM performs the same-privilege return ring 0 would (SDM Vol. 2, RET).
 */
import { GP } from '../../../cpu/exceptions';
import { CS, ESP, SS } from '../../../cpu/registers';
import { GuestFault } from '../../guestMemory';
import { loadCompressed, type Descriptor } from '../shadowGdt';
import type { TrapMonitor } from '../trapMonitor';
import { guestCpl, hex, type Emulator } from './emulator';
import { checkReturnCode } from './guestSegments';

const code: Descriptor = { lo: 0, hi: 0 };

/** The CS the RETF would pop. */
function poppedCs(t: TrapMonitor, size: number): number {
  const cpu = t.cpu;
  const top = cpu.stack32 ? cpu.regs[ESP] : cpu.regs[ESP] & 0xffff;
  const off = cpu.stack32 ? (top + size) | 0 : (top + size) & 0xffff;
  return t.mem.read16(t.mem.linear(SS, off, 2, false));
}

export const RETF: Emulator = {
  name: () => 'RETF',
  allowed: (t, insn) => guestCpl(t) === 0 && (poppedCs(t, insn.o32 ? 4 : 2) & 3) === 0,
  run(t, insn, q) {
    const cpu = t.cpu, mem = t.mem, size = insn.o32 ? 4 : 2;
    const release = insn.op === 0xca ? insn.imm & 0xffff : 0;
    const top = cpu.stack32 ? cpu.regs[ESP] : cpu.regs[ESP] & 0xffff;
    const lin = mem.linear(SS, top, 2 * size, false);
    const eip = size === 4 ? mem.read32(lin) : mem.read16(lin);
    const cs = poppedCs(t, size);
    const limit = checkReturnCode(t, cs, 0, code);
    if ((eip >>> 0) > limit) throw new GuestFault(GP, 0, true);
    loadCompressed(cpu, CS, (cs & ~3) | 1, code);
    const next = top + 2 * size + release;
    cpu.regs[ESP] = cpu.stack32 ? next | 0 : (cpu.regs[ESP] & ~0xffff) | (next & 0xffff);
    cpu.eip = eip;
    cpu.leaveBlock = true;
    q[0] = cs; q[1] = eip >>> 0;
    return true;
  },
  qualify: (cs, eip) => `RETF to ${hex(cs)}:${hex(eip)}`,
};
