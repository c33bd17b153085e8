/**
 * MOV to and from CR0, CR2, CR3, CR4, CLTS and LMSW: the trap VMM's handling of control
 * registers. The guest reads and writes its own copies (virtualCpu.ts) with the checks ring 0
 * would meet (SDM Vol. 3A, 2.5); the processor keeps the VMM's: paging and write protection
 * always on (the shadow page tables), PSE and PGE off, and only the bits that concern the
 * guest's instructions (CR0.MP EM TS NE AM, CR4.TSD DE PCE OSFXSR OSXMMEXCPT) taken from the
 * guest. A CR3 load switches shadow roots; turning paging on or off switches between a
 * paged root and the one for paging off; a change of CR0.WP or CR4.PSE/PGE drops every shadow.
 */
import { GP } from '../../../cpu/exceptions';
import { cr4Writable } from '../../../cpu/ops/controlRegs';
import {
  CR0_AM, CR0_CD, CR0_EM, CR0_ET, CR0_MP, CR0_NE, CR0_NW, CR0_PE, CR0_PG, CR0_TS, CR0_WP, CR4_DE, CR4_OSFXSR,
  CR4_OSXMMEXCPT, CR4_PAE, CR4_PCE, CR4_PGE, CR4_PSE, CR4_TSD,
} from '../../../cpu/registers';
import { GuestFault, VmmStop } from '../../guestMemory';
import type { TrapMonitor } from '../trapMonitor';
import { hex, readRm16, REG32, ring0, type Emulator } from './emulator';

const CR0_DEFINED = CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_NE | CR0_WP | CR0_AM | CR0_NW | CR0_CD | CR0_PG;
/** CR0 as the processor holds it under trap, whatever the guest says... */
const CR0_VMM = CR0_PE | CR0_ET | CR0_PG | CR0_WP;
/** ...plus these bits of the guest's. */
const CR0_FROM_GUEST = CR0_MP | CR0_EM | CR0_TS | CR0_NE | CR0_AM;
const CR4_FROM_GUEST = CR4_TSD | CR4_DE | CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT;

export function writeGuestCr0(t: TrapMonitor, value: number): void {
  const v = (value & CR0_DEFINED) | CR0_ET;
  if ((v & CR0_PG) !== 0 && (v & CR0_PE) === 0) throw new GuestFault(GP, 0, true);
  if ((v & CR0_NW) !== 0 && (v & CR0_CD) === 0) throw new GuestFault(GP, 0, true);
  if ((v & CR0_PE) === 0) throw new VmmStop('the guest cleared CR0.PE: real-address mode cannot run deprivileged');
  const changed = t.vcpu.cr0 ^ v;
  t.vcpu.cr0 = v;
  t.cpu.cr0 = CR0_VMM | (v & CR0_FROM_GUEST);
  if ((changed & CR0_WP) !== 0) t.shadow.flushAll();
  else if ((changed & CR0_PG) !== 0) t.shadow.activate();
  if ((changed & CR0_PG) !== 0) t.guardDescriptorTables();
  t.cpu.leaveBlock = true;
}

export function writeGuestCr3(t: TrapMonitor, value: number): void {
  t.vcpu.cr3 = value;
  // Paging off: the value only matters once paging is turned on.
  if ((t.vcpu.cr0 & CR0_PG) === 0) return;
  t.shadow.activate();
  t.guardDescriptorTables();
}

export function writeGuestCr4(t: TrapMonitor, value: number): void {
  if ((value & ~cr4Writable(t.cpu.model)) !== 0) throw new GuestFault(GP, 0, true);
  if ((value & CR4_PAE) !== 0) throw new VmmStop('the guest set CR4.PAE: PAE paging is not shadowed');
  const changed = t.vcpu.cr4 ^ value;
  t.vcpu.cr4 = value;
  t.cpu.cr4 = value & CR4_FROM_GUEST;
  if ((changed & (CR4_PSE | CR4_PGE)) !== 0) t.shadow.flushAll();
  t.cpu.leaveBlock = true;
}

function readGuestCr(t: TrapMonitor, n: number): number {
  const v = t.vcpu;
  return n === 0 ? v.cr0 : n === 2 ? v.cr2 : n === 3 ? v.cr3 : v.cr4;
}

/** MOV r32, CRn (CR1 and CR5-CR7 are #UD before any privilege check, so they never get here). */
export const MOV_FROM_CR: Emulator = {
  name: (insn) => `MOV from CR${insn.reg}`,
  allowed: ring0,
  run(t, insn, q) {
    const v = readGuestCr(t, insn.reg);
    t.cpu.regs[insn.rm] = v;
    q[0] = insn.reg; q[1] = insn.rm; q[2] = v >>> 0;
  },
  qualify: (cr, gpr, v) => `MOV from CR${cr} to ${REG32[gpr]} = ${hex(v)}`,
};

export const MOV_TO_CR: Emulator = {
  name: (insn) => `MOV to CR${insn.reg}`,
  allowed: ring0,
  run(t, insn, q) {
    const v = t.cpu.regs[insn.rm];
    switch (insn.reg) {
      case 0: writeGuestCr0(t, v); break;
      case 2: t.vcpu.cr2 = v; break;
      case 3: writeGuestCr3(t, v); break;
      default: writeGuestCr4(t, v); break;
    }
    q[0] = insn.reg; q[1] = insn.rm; q[2] = v >>> 0;
  },
  qualify: (cr, gpr, v) => `MOV to CR${cr} from ${REG32[gpr]} = ${hex(v)}`,
};

export const CLTS: Emulator = {
  name: () => 'CLTS',
  allowed: ring0,
  run(t, _insn, q) {
    q[0] = t.vcpu.cr0 >>> 0;
    writeGuestCr0(t, t.vcpu.cr0 & ~CR0_TS);
  },
  qualify: (cr0) => `CR0 ${hex(cr0)}: TS cleared`,
};

/** LMSW loads CR0 bits 3:0; it can set PE but never clear it. */
export const LMSW: Emulator = {
  name: () => 'LMSW',
  allowed: ring0,
  run(t, insn, q) {
    const src = readRm16(t, insn);
    writeGuestCr0(t, (t.vcpu.cr0 & ~(CR0_MP | CR0_EM | CR0_TS)) | (src & (CR0_PE | CR0_MP | CR0_EM | CR0_TS)));
    q[0] = src;
  },
  qualify: (src) => `LMSW ${hex(src)}`,
};
