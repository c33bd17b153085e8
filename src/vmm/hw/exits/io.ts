/**
 * I/O instructions (exit 30): IN, OUT, INS and OUTS performed on the machine's port bus,
 * where the device models are, from the exit qualification (fact sheet, section 3: size - 1
 * in 2:0, direction 3, string 4, REP 5, immediate operand 6, port 31:16). INS and OUTS move
 * their data through the guest's paging, one element at a time as the processor does, so a
 * page fault leaves the registers at the element that faulted.
 */
import type { AccessSize } from '../../../cpu/bus';
import { PF } from '../../../cpu/exceptions';
import { setReg16, setReg8 } from '../../../cpu/operands';
import { DS, EAX, ECX, EDI, ES, ESI, FLAG_DF } from '../../../cpu/registers';
import { VMCS } from '../../../cpu/vmx/index';
import { hex } from '../../exitLog';
import { GuestFault } from '../../guestMemory';
import type { ExitHandler } from '../exitHandler';
import type { HwMonitor } from '../hwMonitor';

const IO_IN = 1 << 3, IO_STRING = 1 << 4, IO_REP = 1 << 5, IO_IMMEDIATE = 1 << 6;

function ioPort(qualification: number): number { return qualification >>> 16; }
function ioSize(qualification: number): AccessSize { return ((qualification & 7) + 1) as AccessSize; }

const SEGMENT_BASES = [
  VMCS.GUEST_ES_BASE, VMCS.GUEST_CS_BASE, VMCS.GUEST_SS_BASE, VMCS.GUEST_DS_BASE, VMCS.GUEST_FS_BASE, VMCS.GUEST_GS_BASE,
];

const mask = (size: number): number => (size === 4 ? -1 : (1 << (size * 8)) - 1);

/** IN or OUT: one access to the port; returns the value moved. */
function single(hw: HwMonitor, qual: number): number {
  const cpu = hw.cpu, port = ioPort(qual), size = ioSize(qual);
  if ((qual & IO_IN) === 0) {
    const value = cpu.regs[EAX] & mask(size);
    hw.machine.ioWrite(port, size, value >>> 0);
    return value >>> 0;
  }
  const value = hw.machine.ioRead(port, size);
  if (size === 1) setReg8(cpu, EAX, value); else if (size === 2) setReg16(cpu, EAX, value); else cpu.regs[EAX] = value;
  return value >>> 0;
}

/**
 * INS or OUTS, all REP iterations at once. Returns the number of elements moved; true in
 * `done` unless a page fault stopped it (the fault is then injected and RIP stays put).
 */
function string(hw: HwMonitor, qual: number, result: { moved: number; done: boolean }): void {
  const cpu = hw.cpu, vcpu = hw.vcpu, port = ioPort(qual), size = ioSize(qual), input = (qual & IO_IN) !== 0;
  const i = hw.decodeGuest();
  const mem = hw.guestMem(), user = vcpu.cpl === 3;
  const a32 = i.a32;
  const addrMask = a32 ? -1 : 0xffff;
  const rep = (qual & IO_REP) !== 0;
  let count = rep ? cpu.regs[ECX] & addrMask : 1;
  const step = (vcpu.rflags & FLAG_DF) !== 0 ? -size : size;
  const indexReg = input ? EDI : ESI;
  const base = vcpu.read(SEGMENT_BASES[input ? ES : i.segOverride >= 0 ? i.segOverride : DS]);
  result.moved = 0;
  result.done = true;
  while (count !== 0) {
    const index = cpu.regs[indexReg];
    const lin = (base + (index & addrMask)) | 0;
    try {
      if (input) {
        // Both ends are checked before the port is read: a read has side effects on the device.
        mem.translate(lin, true, user);
        mem.translate((lin + size - 1) | 0, true, user);
        const v = hw.machine.ioRead(port, size);
        for (let k = 0; k < size; k++) mem.write8((lin + k) | 0, v >>> (8 * k), user);
      } else {
        let v = 0;
        for (let k = 0; k < size; k++) v |= mem.read8((lin + k) | 0, user) << (8 * k);
        hw.machine.ioWrite(port, size, (v & mask(size)) >>> 0);
      }
    } catch (e) {
      if (!(e instanceof GuestFault)) throw e;
      if (e.vector === PF) cpu.cr2 = e.address;
      vcpu.injectException(e.vector, e.errorCode);
      result.done = false;
      return;
    }
    cpu.regs[indexReg] = a32 ? (index + step) | 0 : (index & ~0xffff) | ((index + step) & 0xffff);
    count = (count - 1) & addrMask;
    if (rep) cpu.regs[ECX] = a32 ? count : (cpu.regs[ECX] & ~0xffff) | count;
    result.moved++;
  }
}

const stringResult = { moved: 0, done: true };

export const io: ExitHandler = {
  handle(hw, q) {
    const qual = hw.vcpu.read(VMCS.EXIT_QUALIFICATION);
    q[0] = qual >>> 0;
    if ((qual & IO_STRING) === 0) {
      q[1] = single(hw, qual);
      hw.vcpu.skipInstruction();
      return;
    }
    string(hw, qual, stringResult);
    q[1] = stringResult.moved;
    if (stringResult.done) hw.vcpu.skipInstruction();
  },
  work: (costs) => costs.emulateInstruction.cycles,
  qualify(qual, value) {
    const input = (qual & IO_IN) !== 0, size = ioSize(qual);
    const port = `${(qual & IO_IMMEDIATE) !== 0 ? 'imm' : 'dx'}=${hex(ioPort(qual))}`;
    if ((qual & IO_STRING) === 0) return `${input ? 'IN' : 'OUT'} ${port} size ${size} value ${hex(value)}`;
    const name = `${(qual & IO_REP) !== 0 ? 'REP ' : ''}${input ? 'INS' : 'OUTS'}`;
    return `${name} ${port} size ${size}, ${value} element${value === 1 ? '' : 's'}`;
  },
};
