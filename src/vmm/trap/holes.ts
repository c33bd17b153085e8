/**
 * The holes of trap-and-emulate on IA-32: the sensitive but unprivileged instructions of
 * fact sheet section 5 (Robin and Irvine, 2000) run in the deprivileged guest without
 * trapping, as real hardware runs them in ring 1 or 3. The code cache hands every decoded
 * instruction to the VMM (`translate`); for these the VMM keeps the real instruction and
 * wraps it: the wrapper runs it, compares what it did with what it would have done in the
 * guest's own ring (with the guest's descriptor tables, control registers and IOPL), and
 * records each difference as a hole. Nothing is corrected: that is what `bt` is for.
 */
import type { Cpu } from '../../cpu/cpu';
import { disassemble } from '../../cpu/disasm';
import { getZF } from '../../cpu/flags';
import type { Exec, Insn } from '../../cpu/insn';
import { ea } from '../../cpu/operands';
import { CS, ESP, FLAG_IF, FLAG_IOPL, SS } from '../../cpu/registers';
import { hex8 } from '../exitLog';
import { HoleKind } from '../holeLog';
import { guestEflags, guestSelector } from './reflect';
import { guestDescriptorQuery, type DescriptorAnswer } from './descriptorQuery';
import type { TrapMonitor } from './trapMonitor';
import { virtualCpl } from './virtualCpu';

const hex = (v: number, digits = 0): string => `0x${(v >>> 0).toString(16).padStart(digits, '0')}`;
const SEG_NAME = ['ES', 'CS', 'SS', 'DS', 'FS', 'GS'];

/** Where the instruction executing now is: taken before it runs, since a far transfer changes CS. */
interface Place { eip: number; csBase: number; code32: boolean; user: boolean }

function here(t: TrapMonitor, out: Place = { eip: 0, csBase: 0, code32: true, user: false }): Place {
  const cpu = t.cpu;
  out.eip = cpu.eipStart; out.csBase = cpu.segBase[CS]; out.code32 = cpu.code32; out.user = cpu.cpl === 3;
  return out;
}

/** An IRET's place, taken before it runs; HoleLog.record reads it at once, so one object serves. */
const iretPlace: Place = { eip: 0, csBase: 0, code32: true, user: false };

/** The instruction at `at` as the disassembler prints it. */
function text(t: TrapMonitor, at: Place): string {
  const read = (lin: number): number => {
    try { return t.mem.read8(lin | 0, at.user); } catch { return -1; }
  };
  return disassemble(read, (at.csBase + at.eip) >>> 0, { bits: at.code32 ? 32 : 16, csBase: at.csBase >>> 0 }).text;
}

function record(t: TrapMonitor, kind: HoleKind, effect: () => string, at: Place = here(t)): void {
  t.vmm.holes.record(at.eip, kind, () => ({ instruction: text(t, at), effect: effect() }));
}

/** Replaces `insn.exec` by a checking wrapper when the instruction is one of the sensitive ones. */
export function wrapSensitive(t: TrapMonitor, insn: Insn): void {
  const wrap = wrapperFor(t, insn);
  if (wrap !== undefined) insn.exec = wrap(insn.exec);
}

type Wrapper = (exec: Exec) => Exec;

function wrapperFor(t: TrapMonitor, insn: Insn): Wrapper | undefined {
  switch (insn.op) {
    case 0x9c: return pushf(t);
    case 0x9d: return popf(t);
    case 0xcf: return iret(t);
    case 0x0e: return pushSelector(t, CS, 'PUSH CS');
    case 0x16: return pushSelector(t, SS, 'PUSH SS');
    case 0x8c: return insn.reg === CS || insn.reg === SS ? pushSelector(t, insn.reg, `MOV from ${SEG_NAME[insn.reg]}`) : undefined;
    case 0x100: return insn.reg === 0 ? storeLdtr(t) : insn.reg === 1 ? storeTr(t) : undefined;
    case 0x101:
      if (!insn.mem && insn.reg !== 4) return undefined;   // the register forms of 0F 01 are other instructions
      return insn.reg === 0 ? storeTable(t, 'SGDT') : insn.reg === 1 ? storeTable(t, 'SIDT') : insn.reg === 4 ? smsw(t) : undefined;
    case 0x102: return descriptorQuery(t, 'LAR');
    case 0x103: return descriptorQuery(t, 'LSL');
    default: return undefined;
  }
}

function cplText(cpu: Cpu): string { return `CPL ${cpu.cpl}`; }

/** PUSHF pushes the processor's EFLAGS: IOPL 0, not the guest's. */
function pushf(t: TrapMonitor): Wrapper {
  return (exec) => (cpu, i) => {
    const real = cpu.flags, guest = guestEflags(t);
    exec(cpu, i);
    if (((real ^ guest) & FLAG_IOPL) !== 0) {
      record(t, HoleKind.Iopl, () => `PUSHF at ${cplText(cpu)} pushed IOPL ${(real >> 12) & 3} instead of the guest's ${(guest >> 12) & 3}`);
    }
  };
}

/** The EFLAGS bit changes a POPF or IRET image asks for, against what the guest's ring allows. */
function flagDrops(t: TrapMonitor, cpu: Cpu, cpl: number, image: number, ifBefore: number, what: string, at?: Place): void {
  const vcpl = virtualCpl(cpl);
  const wantIf = vcpl <= t.vcpu.iopl ? image & FLAG_IF : ifBefore;
  const wantIopl = vcpl === 0 ? (image >> 12) & 3 : t.vcpu.iopl;
  const gotIf = cpu.flags & FLAG_IF;
  if (wantIf !== gotIf) {
    record(t, HoleKind.InterruptFlag, () =>
      `${what} at CPL ${cpl} dropped a change of IF from ${ifBefore !== 0 ? 1 : 0} to ${wantIf !== 0 ? 1 : 0}`, at);
  }
  if (wantIopl !== t.vcpu.iopl) {
    record(t, HoleKind.Iopl, () => `${what} at CPL ${cpl} dropped a change of IOPL from ${t.vcpu.iopl} to ${wantIopl}`, at);
  }
}

function stackWord(cpu: Cpu, k: number, size: number): number {
  const top = cpu.stack32 ? cpu.regs[ESP] : cpu.regs[ESP] & 0xffff;
  const off = cpu.stack32 ? (top + k * size) | 0 : (top + k * size) & 0xffff;
  return size === 4 ? cpu.read32(SS, off) : cpu.read16(SS, off);
}

/** POPF in ring 1 or 3 at IOPL 0 keeps IF and IOPL, silently. */
function popf(t: TrapMonitor): Wrapper {
  return (exec) => (cpu, i) => {
    const image = stackWord(cpu, 0, i.o32 ? 4 : 2);
    const ifBefore = cpu.flags & FLAG_IF;
    exec(cpu, i);
    flagDrops(t, cpu, cpu.cpl, image, ifBefore, 'POPF');
  };
}

/** An IRET the hardware completes (not one the VMM emulates: those fault first) drops the same changes. */
function iret(t: TrapMonitor): Wrapper {
  return (exec) => (cpu, i) => {
    const size = i.o32 ? 4 : 2;
    const image = stackWord(cpu, 2, size);
    const ifBefore = cpu.flags & FLAG_IF;
    const cpl = cpu.cpl, at = here(t, iretPlace);
    exec(cpu, i);
    // The rules apply at the CPL the IRET ran at, and the hole is the IRET's place, not its target's.
    flagDrops(t, cpu, cpl, image, ifBefore, 'IRET', at);
  };
}

/** PUSH CS, PUSH SS and MOV from CS or SS give the selector with RPL = the real CPL. */
function pushSelector(t: TrapMonitor, seg: number, what: string): Wrapper {
  return (exec) => (cpu, i) => {
    const real = cpu.segSel[seg];
    const guest = guestSelector(t, real);
    exec(cpu, i);
    if (real !== guest) {
      record(t, HoleKind.Selector, () => `${what} ${what.startsWith('PUSH') ? 'pushed' : 'stored'} RPL ${real & 3}: selector ${hex(real, 4)} instead of the guest's ${hex(guest, 4)}`);
    }
  };
}

/** SGDT and SIDT store the VMM's table registers. */
function storeTable(t: TrapMonitor, what: 'SGDT' | 'SIDT'): Wrapper {
  const reg = what === 'SGDT' ? 'GDTR' : 'IDTR';
  return (exec) => (cpu, i) => {
    exec(cpu, i);
    const v = t.vcpu;
    const [base, limit, gbase, glimit] = what === 'SGDT'
      ? [cpu.gdtrBase, cpu.gdtrLimit, v.gdtrBase, v.gdtrLimit]
      : [cpu.idtrBase, cpu.idtrLimit, v.idtrBase, v.idtrLimit];
    if (base !== gbase || limit !== glimit) {
      record(t, HoleKind.TableRegister, () =>
        `${what} revealed the VMM's ${reg} base ${hex8(base)} limit ${hex(limit)} instead of the guest's base ${hex8(gbase)} limit ${hex(glimit)}`);
    }
  };
}

function storeLdtr(t: TrapMonitor): Wrapper {
  return (exec) => (cpu, i) => {
    exec(cpu, i);
    if (cpu.ldtrSel !== t.vcpu.ldtrSel) {
      record(t, HoleKind.TableRegister, () => `SLDT revealed the VMM's LDTR ${hex(cpu.ldtrSel, 4)} instead of the guest's ${hex(t.vcpu.ldtrSel, 4)}`);
    }
  };
}

function storeTr(t: TrapMonitor): Wrapper {
  return (exec) => (cpu, i) => {
    exec(cpu, i);
    if (cpu.trSel !== t.vcpu.trSel) {
      record(t, HoleKind.TableRegister, () => `STR revealed the VMM's TR ${hex(cpu.trSel, 4)} instead of the guest's ${hex(t.vcpu.trSel, 4)}`);
    }
  };
}

/** SMSW stores the real CR0 (all of it to a 32-bit register on P6 and later, the low 16 bits otherwise). */
function smsw(t: TrapMonitor): Wrapper {
  return (exec) => (cpu, i) => {
    exec(cpu, i);
    const full = !i.mem && i.o32;
    const mask = full ? -1 : 0xffff;
    const real = cpu.cr0 & mask, guest = t.vcpu.cr0 & mask;
    if (real !== guest) {
      const digits = full ? 8 : 4;
      record(t, HoleKind.ControlRegister, () =>
        `SMSW revealed the real CR0 ${hex(real, digits)} instead of the guest's ${hex(guest, digits)}`);
    }
  };
}

const answer: DescriptorAnswer = { zf: false, value: 0 };

/**
 * LAR and LSL report a descriptor's access rights and limit if the current CPL may see it:
 * under ring compression they see the shadow (DPL 1, the limit cut below the VMM) from CPL 1.
 * The guest's answer uses its own descriptor and its own CPL (SDM Vol. 2, LAR and LSL).
 */
function descriptorQuery(t: TrapMonitor, what: 'LAR' | 'LSL'): Wrapper {
  return (exec) => (cpu, i) => {
    const sel = i.mem ? cpu.read16(i.seg, ea(cpu, i)) : cpu.regs[i.rm] & 0xffff;
    exec(cpu, i);
    const gotZf = getZF(cpu) !== 0;
    const got = cpu.regs[i.reg];
    const { zf: wantZf, value: want } = guestDescriptorQuery(t, what, sel, i.o32, answer);
    const mask = i.o32 ? -1 : 0xffff;
    if (gotZf !== wantZf || (gotZf && ((got ^ want) & mask) !== 0)) {
      record(t, HoleKind.Descriptor, () => {
        if (gotZf !== wantZf) return `${what} of selector ${hex(sel, 4)} ${gotZf ? 'succeeded' : 'failed'} where the guest's ring would ${wantZf ? 'succeed' : 'fail'}`;
        const field = what === 'LAR' ? 'access rights' : 'limit';
        return `${what} revealed the ${field} ${hex(got & mask)} of the VMM's descriptor for selector ${hex(sel, 4)} instead of the guest's ${hex(want & mask)}`;
      });
    }
  };
}
