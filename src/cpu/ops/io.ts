/**
 * Port I/O (SDM Vol. 2, IN and OUT): a port from an immediate byte or from DX, with AL, AX
 * or EAX, through the bus after the I/O permission check (ioPermission.ts).
 */
import type { AccessSize } from '../bus';
import type { Cpu } from '../cpu';
import { Imm } from '../insn';
import { checkIoPermission } from '../ioPermission';
import { defineOp } from '../opcodeTable';
import { setReg16, setReg8 } from '../operands';
import { EAX, EDX } from '../registers';

function portIn(cpu: Cpu, port: number, size: AccessSize): void {
  checkIoPermission(cpu, port, size);
  const v = cpu.bus.ioRead(port, size);
  if (size === 1) setReg8(cpu, EAX, v);
  else if (size === 2) setReg16(cpu, EAX, v);
  else cpu.regs[EAX] = v;
}

/** A device may raise an interrupt or stop the run on a write: the block ends after OUT. */
function portOut(cpu: Cpu, port: number, size: AccessSize): void {
  checkIoPermission(cpu, port, size);
  const v = cpu.regs[EAX];
  cpu.bus.ioWrite(port, size, size === 1 ? v & 0xff : size === 2 ? v & 0xffff : v >>> 0);
  cpu.leaveBlock = true;
}

function dx(cpu: Cpu): number { return cpu.regs[EDX] & 0xffff; }

export function register(): void {
  defineOp(0xe4, { name: 'in', operands: 'AL,Ib', imm: Imm.Ib, exec: (cpu, i) => portIn(cpu, i.imm, 1) });
  defineOp(0xe5, { name: 'in', operands: 'eAX,Ib', imm: Imm.Ib, exec16: (cpu, i) => portIn(cpu, i.imm, 2), exec32: (cpu, i) => portIn(cpu, i.imm, 4) });
  defineOp(0xec, { name: 'in', operands: 'AL,DX', exec: (cpu) => portIn(cpu, dx(cpu), 1) });
  defineOp(0xed, { name: 'in', operands: 'eAX,DX', exec16: (cpu) => portIn(cpu, dx(cpu), 2), exec32: (cpu) => portIn(cpu, dx(cpu), 4) });
  defineOp(0xe6, { name: 'out', operands: 'Ib,AL', imm: Imm.Ib, exec: (cpu, i) => portOut(cpu, i.imm, 1) });
  defineOp(0xe7, { name: 'out', operands: 'Ib,eAX', imm: Imm.Ib, exec16: (cpu, i) => portOut(cpu, i.imm, 2), exec32: (cpu, i) => portOut(cpu, i.imm, 4) });
  defineOp(0xee, { name: 'out', operands: 'DX,AL', exec: (cpu) => portOut(cpu, dx(cpu), 1) });
  defineOp(0xef, { name: 'out', operands: 'DX,eAX', exec16: (cpu) => portOut(cpu, dx(cpu), 2), exec32: (cpu) => portOut(cpu, dx(cpu), 4) });
}
