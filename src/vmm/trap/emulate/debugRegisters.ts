/**
 * MOV to and from DR0-DR7: the VMM uses no debug registers, so the guest's live in the
 * processor's (DR4 and DR5 are DR6 and DR7 unless CR4.DE makes them #UD, SDM Vol. 3A, 17.2.2).
 */
import { UD } from '../../../cpu/exceptions';
import { CR4_DE } from '../../../cpu/registers';
import type { Insn } from '../../../cpu/insn';
import { GuestFault } from '../../guestMemory';
import type { TrapMonitor } from '../trapMonitor';
import { hex, REG32, ring0, type Emulator } from './emulator';

const DR6_WRITABLE = 0xe00f;
const DR6_FIXED_ONE = 0xffff0ff0 | 0;
const DR7_WRITABLE = 0xffff23ff | 0;
const DR7_FIXED_ONE = 0x400;

function register(t: TrapMonitor, insn: Insn): number {
  const n = insn.reg;
  if (n !== 4 && n !== 5) return n;
  if ((t.vcpu.cr4 & CR4_DE) !== 0) throw new GuestFault(UD, 0, false);
  return n + 2;
}

function fixed(n: number, v: number): number {
  return n === 6 ? (v & DR6_WRITABLE) | DR6_FIXED_ONE : n === 7 ? (v & DR7_WRITABLE) | DR7_FIXED_ONE : v;
}

export const MOV_FROM_DR: Emulator = {
  name: () => 'MOV from DR',
  allowed: ring0,
  run(t, insn, q) {
    const n = register(t, insn);
    const v = fixed(n, t.cpu.dr[n]);
    t.cpu.regs[insn.rm] = v;
    q[0] = n; q[1] = insn.rm; q[2] = v >>> 0;
  },
  qualify: (n, gpr, v) => `MOV from DR${n} to ${REG32[gpr]} = ${hex(v)}`,
};

export const MOV_TO_DR: Emulator = {
  name: () => 'MOV to DR',
  allowed: ring0,
  run(t, insn, q) {
    const n = register(t, insn);
    const v = fixed(n, t.cpu.regs[insn.rm]);
    t.cpu.dr[n] = v;
    q[0] = n; q[1] = insn.rm; q[2] = v >>> 0;
  },
  qualify: (n, gpr, v) => `MOV to DR${n} from ${REG32[gpr]} = ${hex(v)}`,
};
