/**
 * `bt`'s translations of the sensitive but unprivileged instructions (fact sheet section 5):
 * in translated guest-kernel code each one still runs on the processor, and the callout then
 * gives the guest what ring 0 would have seen: its own EFLAGS.IF and IOPL, selectors with
 * RPL 0, its own GDTR/IDTR/LDTR/TR and CR0, its own descriptors. These are exactly the
 * instructions trap/holes.ts reports as holes; here they are closed.
 */
import type { Cpu } from '../../cpu/cpu';
import type { Exec, Insn } from '../../cpu/insn';
import { ea } from '../../cpu/operands';
import { CS, ESP, FLAG_IF, FLAG_IOPL, FLAG_ZF, SS } from '../../cpu/registers';
import { setFlagBits } from '../../cpu/flags';
import { hex, hex8, type Qualifier } from '../exitLog';
import { guestDescriptorQuery, type DescriptorAnswer } from '../trap/descriptorQuery';
import { guestSelector } from '../trap/reflect';
import type { TrapMonitor } from '../trap/trapMonitor';

/** A sensitive instruction's translation: `wrap` turns the processor's instruction into the guest's. */
export interface SensitiveTranslation {
  name: string;
  qualify: Qualifier;
  /** The wrapped execution; it puts the qualification's numbers into `q`. */
  wrap(t: TrapMonitor, exec: Exec, q: Float64Array): Exec;
}

const SEG_NAME = ['ES', 'CS', 'SS', 'DS', 'FS', 'GS'];
const answer: DescriptorAnswer = { zf: false, value: 0 };

function stackTop(cpu: Cpu): number { return cpu.stack32 ? cpu.regs[ESP] : cpu.regs[ESP] & 0xffff; }

function readStack(cpu: Cpu, k: number, size: number): number {
  const top = stackTop(cpu);
  const off = cpu.stack32 ? (top + k * size) | 0 : (top + k * size) & 0xffff;
  return size === 4 ? cpu.read32(SS, off) : cpu.read16(SS, off);
}

/** Writes the low 16 bits of a r/m16 destination whose address (if memory) was taken before the instruction ran. */
function patchRm16(cpu: Cpu, i: Insn, address: number, value: number): void {
  if (i.mem) cpu.write16(i.seg, address, value);
  else cpu.regs[i.rm] = (cpu.regs[i.rm] & ~0xffff) | (value & 0xffff);
}

/** PUSHF: the image carries the guest's IOPL. */
const PUSHF: SensitiveTranslation = {
  name: 'PUSHF',
  qualify: (iopl) => `pushed EFLAGS with the guest's IOPL ${iopl}`,
  wrap: (t, exec, q) => (cpu, i) => {
    exec(cpu, i);
    const top = stackTop(cpu), iopl = t.vcpu.iopl;
    if (i.o32) cpu.write32(SS, top, (cpu.read32(SS, top) & ~FLAG_IOPL) | (iopl << 12));
    else cpu.write16(SS, top, (cpu.read16(SS, top) & ~FLAG_IOPL) | (iopl << 12));
    q[0] = iopl;
  },
};

/** POPF in ring 0 changes IF and IOPL as the image says. */
const POPF: SensitiveTranslation = {
  name: 'POPF',
  qualify: (was, now, iopl) => `guest IF ${was} -> ${now}, IOPL ${iopl}`,
  wrap: (t, exec, q) => (cpu, i) => {
    const image = readStack(cpu, 0, i.o32 ? 4 : 2);
    q[0] = (cpu.flags & FLAG_IF) !== 0 ? 1 : 0;
    exec(cpu, i);
    cpu.flags = (cpu.flags & ~FLAG_IF) | (image & FLAG_IF);
    t.vcpu.iopl = (image & FLAG_IOPL) >> 12;
    q[1] = (image & FLAG_IF) !== 0 ? 1 : 0;
    q[2] = t.vcpu.iopl;
    cpu.leaveBlock = true;   // an interrupt may be due now
  },
};

/** PUSH CS, PUSH SS: the selector with the guest's RPL 0. */
function pushSelector(seg: number): SensitiveTranslation {
  return {
    name: `PUSH ${SEG_NAME[seg]}`,
    qualify: (sel) => `pushed selector ${hex(sel)}`,
    wrap: (t, exec, q) => (cpu, i) => {
      const sel = guestSelector(t, cpu.segSel[seg]);
      exec(cpu, i);
      cpu.write16(SS, stackTop(cpu), sel);
      q[0] = sel;
    },
  };
}

/** MOV r/m16, CS or SS: the selector with the guest's RPL 0. */
function movFromSelector(seg: number): SensitiveTranslation {
  return {
    name: `MOV from ${SEG_NAME[seg]}`,
    qualify: (sel) => `stored selector ${hex(sel)}`,
    wrap: (t, exec, q) => (cpu, i) => {
      const address = i.mem ? ea(cpu, i) : 0;
      const sel = guestSelector(t, cpu.segSel[seg]);
      exec(cpu, i);
      patchRm16(cpu, i, address, sel);
      q[0] = sel;
    },
  };
}

/** SGDT, SIDT: the guest's table register (a 16-bit operand stores a 24-bit base, SDM Vol. 2). */
function storeTable(what: 'SGDT' | 'SIDT'): SensitiveTranslation {
  return {
    name: what,
    qualify: (base, limit) => `stored the guest's base ${hex8(base)} limit ${hex(limit)}`,
    wrap: (t, exec, q) => (cpu, i) => {
      const address = ea(cpu, i);
      exec(cpu, i);
      const v = t.vcpu;
      const [base, limit] = what === 'SGDT' ? [v.gdtrBase, v.gdtrLimit] : [v.idtrBase, v.idtrLimit];
      cpu.write16(i.seg, address, limit);
      cpu.write32(i.seg, (address + 2) | 0, i.o32 ? base : base & 0xffffff);
      q[0] = base; q[1] = limit;
    },
  };
}

/** SLDT, STR, SMSW: the guest's LDTR, TR or CR0 (SMSW to a 32-bit register stores all of CR0). */
function storeRegister(name: string, value: (t: TrapMonitor) => number): SensitiveTranslation {
  return {
    name,
    qualify: (v) => `stored the guest's ${hex(v)}`,
    wrap: (t, exec, q) => (cpu, i) => {
      const address = i.mem ? ea(cpu, i) : 0;
      exec(cpu, i);
      const v = value(t);
      if (!i.mem && i.o32 && name === 'SMSW') cpu.regs[i.rm] = v;
      else patchRm16(cpu, i, address, v);
      q[0] = i.mem || !i.o32 ? v & 0xffff : v;
    },
  };
}

/** LAR, LSL: answered from the guest's descriptor at its own CPL. */
function descriptorQuery(what: 'LAR' | 'LSL'): SensitiveTranslation {
  return {
    name: what,
    qualify: (sel, zf, value) => `selector ${hex(sel)}: ${zf !== 0 ? `${what === 'LAR' ? 'access rights' : 'limit'} ${hex(value)}` : 'not visible (ZF = 0)'}`,
    wrap: (t, exec, q) => (cpu, i) => {
      const sel = i.mem ? cpu.read16(i.seg, ea(cpu, i)) : cpu.regs[i.rm] & 0xffff;
      const before = cpu.regs[i.reg];
      exec(cpu, i);
      const a = guestDescriptorQuery(t, what, sel, i.o32, answer);
      setFlagBits(cpu, FLAG_ZF, a.zf ? FLAG_ZF : 0);
      cpu.regs[i.reg] = !a.zf ? before : i.o32 ? a.value : (before & ~0xffff) | (a.value & 0xffff);
      q[0] = sel; q[1] = a.zf ? 1 : 0; q[2] = a.value;
    },
  };
}

const PUSH_CS = pushSelector(CS), PUSH_SS = pushSelector(SS);
const MOV_FROM_CS = movFromSelector(CS), MOV_FROM_SS = movFromSelector(SS);
const SGDT = storeTable('SGDT'), SIDT = storeTable('SIDT');
const SLDT = storeRegister('SLDT', (t) => t.vcpu.ldtrSel);
const STR = storeRegister('STR', (t) => t.vcpu.trSel);
const SMSW = storeRegister('SMSW', (t) => t.vcpu.cr0);
const LAR = descriptorQuery('LAR'), LSL = descriptorQuery('LSL');

/** The translation of `insn` if it is one of the sensitive instructions (IRET is privileged-emulated instead). */
export function sensitiveTranslation(insn: Insn): SensitiveTranslation | undefined {
  switch (insn.op) {
    case 0x9c: return PUSHF;
    case 0x9d: return POPF;
    case 0x0e: return PUSH_CS;
    case 0x16: return PUSH_SS;
    case 0x8c: return insn.reg === CS ? MOV_FROM_CS : insn.reg === SS ? MOV_FROM_SS : undefined;
    case 0x100: return insn.reg === 0 ? SLDT : insn.reg === 1 ? STR : undefined;
    case 0x101:
      if (!insn.mem && insn.reg !== 4) return undefined;   // the register forms of 0F 01 are other instructions
      return insn.reg === 0 ? SGDT : insn.reg === 1 ? SIDT : insn.reg === 4 ? SMSW : undefined;
    case 0x102: return LAR;
    case 0x103: return LSL;
    default: return undefined;
  }
}
