/**
 * RDMSR and WRMSR: the guest reaches the processor's MSRs, except the SYSENTER ones, which
 * the VMM keeps for the guest: loaded into the processor they would send SYSENTER from user
 * code straight into ring 0, past the VMM. SYSENTER and SYSEXIT are emulated with them.
 */
import { CpuFault, GP } from '../../../cpu/exceptions';
import { findMsr, IA32_SYSENTER_CS, IA32_SYSENTER_EIP, IA32_SYSENTER_ESP, type MsrValue } from '../../../cpu/msrs';
import { CS, EAX, ECX, EDX, ESP, FLAG_IF, FLAG_RF, FLAG_VM, SS } from '../../../cpu/registers';
import { descriptor } from '../../systemTables';
import { loadCompressed, type Descriptor } from '../shadowGdt';
import { GuestFault } from '../../guestMemory';
import type { TrapMonitor } from '../trapMonitor';
import { hex, type Emulator, ring0 } from './emulator';

const value: MsrValue = { lo: 0, hi: 0 };

/** Runs an MSR access of the processor's, turning its #GP into the guest's. */
function processor(t: TrapMonitor, access: () => void): void {
  try {
    access();
  } catch (e) {
    if (!(e instanceof CpuFault)) throw e;
    throw new GuestFault(e.vector, e.errorCode, e.hasErrorCode);
  }
}

function sysenterField(index: number): 'sysenterCs' | 'sysenterEsp' | 'sysenterEip' | undefined {
  return index === IA32_SYSENTER_CS ? 'sysenterCs' : index === IA32_SYSENTER_ESP ? 'sysenterEsp'
    : index === IA32_SYSENTER_EIP ? 'sysenterEip' : undefined;
}

export const RDMSR: Emulator = {
  name: () => 'RDMSR',
  allowed: ring0,
  run(t, _insn, q) {
    const cpu = t.cpu, index = cpu.regs[ECX];
    const field = sysenterField(index);
    if (field !== undefined) {
      value.lo = t.vcpu[field]; value.hi = 0;
    } else {
      const def = findMsr(cpu.model, index);
      if (def === undefined) throw new GuestFault(GP, 0, true);
      processor(t, () => def.read(cpu, value));
    }
    cpu.regs[EAX] = value.lo; cpu.regs[EDX] = value.hi;
    q[0] = index >>> 0; q[1] = value.hi >>> 0; q[2] = value.lo >>> 0;
  },
  qualify: (index, hi, lo) => `RDMSR ${hex(index)} = ${hex(hi)}:${hex(lo)}`,
};

export const WRMSR: Emulator = {
  name: () => 'WRMSR',
  allowed: ring0,
  run(t, _insn, q) {
    const cpu = t.cpu, index = cpu.regs[ECX], lo = cpu.regs[EAX], hi = cpu.regs[EDX];
    const field = sysenterField(index);
    if (field !== undefined) {
      t.vcpu[field] = index === IA32_SYSENTER_CS ? lo & 0xffff : lo;
    } else {
      const def = findMsr(cpu.model, index);
      if (def === undefined) throw new GuestFault(GP, 0, true);
      processor(t, () => def.write(cpu, lo, hi));
    }
    q[0] = index >>> 0; q[1] = hi >>> 0; q[2] = lo >>> 0;
  },
  qualify: (index, hi, lo) => `WRMSR ${hex(index)} = ${hex(hi)}:${hex(lo)}`,
};

// SYSENTER and SYSEXIT load flat CS and SS without reading the GDT (SDM Vol. 2); ring
// compression gives them DPL 1 in place of 0 and the limit that stops below the VMM.
const [FLAT_CODE_LO, FLAT_CODE_HI] = descriptor(0, 0xfffff, 0x9b, 0xc);
const [FLAT_DATA_LO, FLAT_DATA_HI] = descriptor(0, 0xfffff, 0x93, 0xc);
const DPL3 = 3 << 13;
const flat: Descriptor = { lo: 0, hi: 0 };

function loadFlat(t: TrapMonitor, seg: number, sel: number, lo: number, hi: number): void {
  flat.lo = lo; flat.hi = hi;
  loadCompressed(t.cpu, seg, sel, flat);
}

/** IA32_SYSENTER_CS as the guest set it; #GP(0) while its bits 15:2 are 0. */
function guestSysenterCs(t: TrapMonitor): number {
  const cs = t.vcpu.sysenterCs & 0xffff;
  if ((cs & 0xfffc) === 0) throw new GuestFault(GP, 0, true);
  return cs;
}

/**
 * SYSENTER from user code faults (the processor's SYSENTER_CS is 0, so the guest's fast system
 * calls cannot reach ring 0 past the VMM); the VMM enters the guest's kernel as SYSENTER would,
 * in ring 1, with IF, VM and RF cleared.
 */
export const SYSENTER: Emulator = {
  name: () => 'SYSENTER',
  allowed: () => true,
  run(t, _insn, q) {
    const cpu = t.cpu, cs = guestSysenterCs(t) & 0xfffc;
    cpu.flags &= ~(FLAG_VM | FLAG_IF | FLAG_RF);
    loadFlat(t, CS, cs | 1, FLAT_CODE_LO, FLAT_CODE_HI);
    loadFlat(t, SS, (cs + 8) | 1, FLAT_DATA_LO, FLAT_DATA_HI);
    cpu.setCpl(1);
    cpu.regs[ESP] = t.vcpu.sysenterEsp;
    cpu.eip = t.vcpu.sysenterEip;
    cpu.leaveBlock = true;
    q[0] = cs; q[1] = t.vcpu.sysenterEip >>> 0; q[2] = t.vcpu.sysenterEsp >>> 0;
    return true;
  },
  qualify: (cs, eip, esp) => `SYSENTER to ${hex(cs)}:${hex(eip)} with ESP ${hex(esp)}`,
};

/** SYSEXIT, privileged: back to the guest's user code at EDX with ESP = ECX. */
export const SYSEXIT: Emulator = {
  name: () => 'SYSEXIT',
  allowed: ring0,
  run(t, _insn, q) {
    const cpu = t.cpu, base = guestSysenterCs(t);
    const cs = ((base + 16) | 3) & 0xffff;
    loadFlat(t, CS, cs, FLAT_CODE_LO, FLAT_CODE_HI | DPL3);
    loadFlat(t, SS, (cs + 8) & 0xffff, FLAT_DATA_LO, FLAT_DATA_HI | DPL3);
    cpu.setCpl(3);
    cpu.regs[ESP] = cpu.regs[ECX];
    cpu.eip = cpu.regs[EDX];
    cpu.leaveBlock = true;
    q[0] = cs; q[1] = cpu.regs[EDX] >>> 0; q[2] = cpu.regs[ECX] >>> 0;
    return true;
  },
  qualify: (cs, eip, esp) => `SYSEXIT to ${hex(cs)}:${hex(eip)} with ESP ${hex(esp)}`,
};
