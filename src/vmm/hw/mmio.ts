/**
 * Emulation of a guest instruction whose memory operand is device memory (an EPT violation
 * outside RAM), against the machine's MMIO bus, as KVM's emulator does for MMIO: the MOV
 * forms that drivers use to reach device registers. The address is the guest-physical one
 * the violation reports.
 */
import type { AccessSize } from '../../cpu/bus';
import type { Insn } from '../../cpu/insn';
import { getReg8, setReg8 } from '../../cpu/operands';
import { EAX } from '../../cpu/registers';
import type { HwMonitor } from './hwMonitor';

export interface MmioAccess {
  write: boolean;
  size: AccessSize;
  value: number;
}

const access: MmioAccess = { write: false, size: 1, value: 0 };

function wordSize(i: Insn): AccessSize { return i.o32 ? 4 : 2; }

/** Sets a 16- or 32-bit register as MOV does (a 16-bit load keeps the upper half). */
function setWide(hw: HwMonitor, reg: number, size: AccessSize, v: number): void {
  const old = hw.vcpu.gpr(reg);
  hw.vcpu.setGpr(reg, size === 4 ? v : (old & ~0xffff) | (v & 0xffff));
}

function store(hw: HwMonitor, gpa: number, size: AccessSize, value: number): MmioAccess {
  const v = size === 4 ? value >>> 0 : value & (size === 1 ? 0xff : 0xffff);
  hw.cpu.bus.mmioWrite(gpa, size, v);
  access.write = true; access.size = size; access.value = v;
  return access;
}

function load(hw: HwMonitor, gpa: number, size: AccessSize): MmioAccess {
  const v = (hw.cpu.bus.mmioRead(gpa, size) & (size === 4 ? -1 : size === 1 ? 0xff : 0xffff)) >>> 0;
  access.write = false; access.size = size; access.value = v;
  return access;
}

/**
 * Performs `i`'s access at `gpa` and its effect on the registers; undefined for an
 * instruction this emulator does not know (the caller stops the guest, naming it).
 */
export function emulateMmio(hw: HwMonitor, i: Insn, gpa: number): MmioAccess | undefined {
  const cpu = hw.cpu;
  switch (i.op) {
    case 0x88: return store(hw, gpa, 1, getReg8(cpu, i.reg));                        // MOV r/m8, r8
    case 0x89: return store(hw, gpa, wordSize(i), hw.vcpu.gpr(i.reg));               // MOV r/m, r
    case 0xa2: return store(hw, gpa, 1, cpu.regs[EAX]);                              // MOV moffs8, AL
    case 0xa3: return store(hw, gpa, wordSize(i), cpu.regs[EAX]);                    // MOV moffs, eAX
    case 0xc6: return i.reg === 0 ? store(hw, gpa, 1, i.imm) : undefined;            // MOV r/m8, imm8
    case 0xc7: return i.reg === 0 ? store(hw, gpa, wordSize(i), i.imm) : undefined;  // MOV r/m, imm
    case 0x8a: case 0xa0: {                                                          // MOV r8, r/m8; MOV AL, moffs8
      const a = load(hw, gpa, 1);
      setReg8(cpu, i.op === 0xa0 ? EAX : i.reg, a.value);
      return a;
    }
    case 0x8b: case 0xa1: {                                                          // MOV r, r/m; MOV eAX, moffs
      const size = wordSize(i), a = load(hw, gpa, size);
      setWide(hw, i.op === 0xa1 ? EAX : i.reg, size, a.value);
      return a;
    }
    case 0x1b6: case 0x1b7: case 0x1be: case 0x1bf: {                                // MOVZX, MOVSX
      const byte = (i.op & 1) === 0, a = load(hw, gpa, byte ? 1 : 2);
      const signed = i.op >= 0x1be;
      const v = byte ? (signed ? (a.value << 24) >> 24 : a.value) : (signed ? (a.value << 16) >> 16 : a.value);
      setWide(hw, i.reg, wordSize(i), v);
      return a;
    }
    default: return undefined;
  }
}
