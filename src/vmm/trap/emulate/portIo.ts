/**
 * IN, OUT, INS and OUTS: with the processor's IOPL at 0 and no I/O bitmap in the VMM's TSS,
 * every port access from the guest faults, and the VMM performs it on the machine's port
 * bus, where the device models live. The guest's own permission is checked first: its IOPL,
 * then the I/O bitmap of its TSS (SDM Vol. 1, 19.5).
 */
import type { AccessSize } from '../../../cpu/bus';
import type { Insn } from '../../../cpu/insn';
import { setReg16, setReg8 } from '../../../cpu/operands';
import { EAX, ECX, EDI, EDX, ES, ESI, FLAG_DF } from '../../../cpu/registers';
import type { TrapMonitor } from '../trapMonitor';
import { guestCpl, hex, type Emulator } from './emulator';

const TSS_IO_MAP_BASE = 0x66;

/** The port and access size of an IN/OUT/INS/OUTS. */
function portOf(t: TrapMonitor, insn: Insn): { port: number; size: AccessSize; imm: boolean } {
  const op = insn.op;
  const size: AccessSize = (op & 1) === 0 ? 1 : insn.o32 ? 4 : 2;
  const imm = op === 0xe4 || op === 0xe5 || op === 0xe6 || op === 0xe7;
  return { port: imm ? insn.imm & 0xff : t.cpu.regs[EDX] & 0xffff, size, imm };
}

/** The bitmap check of SDM Vol. 1, 19.5.2, on the guest's TSS. */
function guestBitmapAllows(t: TrapMonitor, port: number, size: number): boolean {
  const v = t.vcpu;
  const type = v.trAR & 0xf;
  if (v.trSel === 0 || (type !== 0x9 && type !== 0xb) || TSS_IO_MAP_BASE + 1 > v.trLimit) return false;
  // The processor reads the TSS with supervisor rights.
  const at = t.mem.read16((v.trBase + TSS_IO_MAP_BASE) | 0) + (port >>> 3);
  if (at + 1 > v.trLimit) return false;
  const bits = t.mem.read16((v.trBase + at) | 0);
  return (bits & (((1 << size) - 1) << (port & 7))) === 0;
}

function ioAllowed(t: TrapMonitor, insn: Insn): boolean {
  if (guestCpl(t) <= t.vcpu.iopl) return true;
  const { port, size } = portOf(t, insn);
  return guestBitmapAllows(t, port, size);
}

const mask = (size: number): number => (size === 4 ? -1 : (1 << (size * 8)) - 1);

function inOut(out: boolean): Emulator {
  return {
    name: () => (out ? 'OUT' : 'IN'),
    allowed: ioAllowed,
    run(t, insn, q) {
      const cpu = t.cpu;
      const { port, size, imm } = portOf(t, insn);
      let value: number;
      if (out) {
        value = cpu.regs[EAX] & mask(size);
        cpu.bus.ioWrite(port, size, value >>> 0);
      } else {
        value = cpu.bus.ioRead(port, size);
        if (size === 1) setReg8(cpu, EAX, value); else if (size === 2) setReg16(cpu, EAX, value); else cpu.regs[EAX] = value;
      }
      q[0] = port; q[1] = size; q[2] = value >>> 0; q[3] = imm ? 1 : 0;
    },
    qualify: (port, size, value, imm) =>
      `${out ? 'OUT' : 'IN'} ${imm ? 'imm' : 'dx'}=${hex(port)} size ${size} value ${hex(value)}`,
  };
}

export const IN = inOut(false);
export const OUT = inOut(true);

/** INS/OUTS, with REP all iterations at once; registers move as each one completes, as on hardware. */
function string(out: boolean): Emulator {
  return {
    name: () => (out ? 'OUTS' : 'INS'),
    allowed: ioAllowed,
    run(t, insn, q) {
      const cpu = t.cpu, mem = t.mem, user = cpu.cpl === 3;
      const { port, size } = portOf(t, insn);
      const a32 = insn.a32;
      const count = insn.rep !== 0 ? (a32 ? cpu.regs[ECX] >>> 0 : cpu.regs[ECX] & 0xffff) : 1;
      const step = (cpu.flags & FLAG_DF) !== 0 ? -size : size;
      const index = out ? ESI : EDI;
      const seg = out ? (insn.segOverride >= 0 ? insn.segOverride : 3) : ES;
      let done = 0;
      for (; done < count; done++) {
        const off = a32 ? cpu.regs[index] : cpu.regs[index] & 0xffff;
        const lin = mem.linear(seg, off, size, !out);
        if (out) {
          const v = size === 1 ? mem.read8(lin, user) : size === 2 ? mem.read16(lin, user) : mem.read32(lin, user);
          cpu.bus.ioWrite(port, size as AccessSize, v >>> 0);
        } else {
          mem.translate((lin + size - 1) | 0, true, user);
          const v = cpu.bus.ioRead(port, size as AccessSize);
          if (size === 1) mem.write8(lin, v, user); else if (size === 2) mem.write16(lin, v, user); else mem.write32(lin, v, user);
        }
        const next = off + step;
        cpu.regs[index] = a32 ? next | 0 : (cpu.regs[index] & ~0xffff) | (next & 0xffff);
        if (insn.rep !== 0) cpu.regs[ECX] = a32 ? (cpu.regs[ECX] - 1) | 0 : (cpu.regs[ECX] & ~0xffff) | ((cpu.regs[ECX] - 1) & 0xffff);
      }
      q[0] = port; q[1] = size; q[2] = done;
    },
    qualify: (port, size, count) => `${out ? 'OUTS' : 'INS'} dx=${hex(port)} size ${size}, ${count} transfer${count === 1 ? '' : 's'}`,
  };
}

export const INS = string(false);
export const OUTS = string(true);
