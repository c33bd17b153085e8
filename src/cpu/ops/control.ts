/**
 * Near control transfers (SDM Vol. 2): JMP, CALL and RET within the code segment, Jcc,
 * LOOP/LOOPE/LOOPNE/JCXZ, the software interrupts INT n, INT3, INTO and INT1, and HLT.
 * A near target is truncated to 16 bits with a 16-bit operand size and must lie within the
 * CS limit (#GP(0), raised before anything changes).
 */
import type { Cpu } from '../cpu';
import { DB, GP, OF as OF_VECTOR } from '../exceptions';
import { getOF, getZF, testCondition } from '../flags';
import { Imm, type Insn } from '../insn';
import { deliver, EventKind, softwareInterrupt } from '../interrupts';
import { defineGroup, defineOp } from '../opcodeTable';
import { readRm16, readRm32 } from '../operands';
import { CS, ECX } from '../registers';
import { adjustSp, peek16, peek32, push16, push32 } from '../stack';

/** Sets EIP to a near target after the CS limit check. */
function jumpTo(cpu: Cpu, target: number): void {
  if ((target >>> 0) > cpu.segLimit[CS]) cpu.raiseWithCode(GP, 0);
  cpu.eip = target;
}

function relTarget32(cpu: Cpu, i: Insn): number { return (cpu.eip + i.imm) | 0; }
function relTarget16(cpu: Cpu, i: Insn): number { return (cpu.eip + i.imm) & 0xffff; }

// ---- CALL / RET --------------------------------------------------------------------------

/** CALL: the target is checked before the return address is pushed, and EIP changes last. */
function call32(cpu: Cpu, target: number): void {
  if ((target >>> 0) > cpu.segLimit[CS]) cpu.raiseWithCode(GP, 0);
  push32(cpu, cpu.eip);
  cpu.eip = target;
}

function call16(cpu: Cpu, target: number): void {
  if (target > cpu.segLimit[CS]) cpu.raiseWithCode(GP, 0);
  push16(cpu, cpu.eip);
  cpu.eip = target;
}

/** RET [imm16]: the return address is checked before the stack pointer moves. */
function ret32(cpu: Cpu, release: number): void {
  jumpTo(cpu, peek32(cpu, 0));
  adjustSp(cpu, 4 + release);
}

function ret16(cpu: Cpu, release: number): void {
  jumpTo(cpu, peek16(cpu, 0));
  adjustSp(cpu, 2 + release);
}

// ---- LOOP / JCXZ -------------------------------------------------------------------------

/**
 * LOOP, LOOPE, LOOPNE (`kind` 0xE2, 0xE1, 0xE0): the address size picks CX or ECX as the
 * counter, the operand size the width of the target. The counter is written only after the
 * target has passed the limit check.
 */
function loop(cpu: Cpu, i: Insn, kind: number): void {
  const count = i.a32 ? (cpu.regs[ECX] - 1) | 0 : (cpu.regs[ECX] - 1) & 0xffff;
  let taken = count !== 0;
  if (taken && kind === 0xe1) taken = getZF(cpu) !== 0;
  else if (taken && kind === 0xe0) taken = getZF(cpu) === 0;
  if (taken) jumpTo(cpu, i.o32 ? relTarget32(cpu, i) : relTarget16(cpu, i));
  if (i.a32) cpu.regs[ECX] = count; else cpu.regs[ECX] = (cpu.regs[ECX] & ~0xffff) | count;
}

function jcxz(cpu: Cpu, i: Insn): void {
  const count = i.a32 ? cpu.regs[ECX] : cpu.regs[ECX] & 0xffff;
  if (count === 0) jumpTo(cpu, i.o32 ? relTarget32(cpu, i) : relTarget16(cpu, i));
}

// ---- HLT ---------------------------------------------------------------------------------

/** HLT is privileged (#GP(0) above CPL 0); the run loop returns and the machine waits for an interrupt. */
function hlt(cpu: Cpu): void {
  if (cpu.protectedMode && cpu.cpl > 0) cpu.raiseWithCode(GP, 0);
  cpu.halted = true;
  cpu.leaveBlock = true;
}

// ---- opcodes -----------------------------------------------------------------------------

export function register(): void {
  const jmpRel = {
    exec16: (cpu: Cpu, i: Insn) => jumpTo(cpu, relTarget16(cpu, i)),
    exec32: (cpu: Cpu, i: Insn) => jumpTo(cpu, relTarget32(cpu, i)),
  };
  defineOp(0xe9, { name: 'jmp', operands: 'Jz', imm: Imm.Iz, endsBlock: true, ...jmpRel });
  defineOp(0xeb, { name: 'jmp', operands: 'Jb', imm: Imm.IbS, endsBlock: true, ...jmpRel });
  defineGroup(0xff, 4, {
    name: 'jmp', operands: 'Ev', endsBlock: true,
    exec16: (cpu, i) => jumpTo(cpu, readRm16(cpu, i)),
    exec32: (cpu, i) => jumpTo(cpu, readRm32(cpu, i)),
  });

  defineOp(0xe8, {
    name: 'call', operands: 'Jz', imm: Imm.Iz, endsBlock: true,
    exec16: (cpu, i) => call16(cpu, relTarget16(cpu, i)),
    exec32: (cpu, i) => call32(cpu, relTarget32(cpu, i)),
  });
  // A memory operand addressed through ESP is read before the return address is pushed.
  defineGroup(0xff, 2, {
    name: 'call', operands: 'Ev', endsBlock: true,
    exec16: (cpu, i) => call16(cpu, readRm16(cpu, i)),
    exec32: (cpu, i) => call32(cpu, readRm32(cpu, i)),
  });
  defineOp(0xc3, { name: 'ret', sizedNames: ['retw', 'retd'], endsBlock: true, exec16: (cpu) => ret16(cpu, 0), exec32: (cpu) => ret32(cpu, 0) });
  defineOp(0xc2, {
    name: 'ret', operands: 'Iw', sizedNames: ['retnw', 'retd'], imm: Imm.Iw, endsBlock: true,
    exec16: (cpu, i) => ret16(cpu, i.imm), exec32: (cpu, i) => ret32(cpu, i.imm),
  });

  const jcc = {
    exec16: (cpu: Cpu, i: Insn) => { if (testCondition(cpu, i.op & 0xf)) jumpTo(cpu, relTarget16(cpu, i)); },
    exec32: (cpu: Cpu, i: Insn) => { if (testCondition(cpu, i.op & 0xf)) jumpTo(cpu, relTarget32(cpu, i)); },
  };
  for (let cc = 0; cc < 16; cc++) {
    defineOp(0x70 + cc, { name: 'jcc', operands: 'Jb', imm: Imm.IbS, endsBlock: true, ...jcc });
    defineOp(0x180 + cc, { name: 'jcc', operands: 'Jz', imm: Imm.Iz, endsBlock: true, ...jcc });
  }

  defineOp(0xe2, { name: 'loop', operands: 'Jb', imm: Imm.IbS, endsBlock: true, exec: (cpu, i) => loop(cpu, i, 0xe2) });
  defineOp(0xe1, { name: 'loope', operands: 'Jb', imm: Imm.IbS, endsBlock: true, exec: (cpu, i) => loop(cpu, i, 0xe1) });
  defineOp(0xe0, { name: 'loopne', operands: 'Jb', imm: Imm.IbS, endsBlock: true, exec: (cpu, i) => loop(cpu, i, 0xe0) });
  defineOp(0xe3, { name: 'jcxz', operands: 'Jb', imm: Imm.IbS, endsBlock: true, exec: jcxz });

  // INT n, INT3 and INTO are traps: the return address is the next instruction, and the
  // gate's DPL must allow the CPL.
  defineOp(0xcd, { name: 'int', operands: 'Ib', imm: Imm.Ib, endsBlock: true, exec: (cpu, i) => softwareInterrupt(cpu, i.imm) });
  defineOp(0xcc, { name: 'int3', endsBlock: true, exec: (cpu) => softwareInterrupt(cpu, 3) });
  defineOp(0xce, {
    name: 'into', endsBlock: true,
    exec: (cpu) => { if (getOF(cpu) !== 0) softwareInterrupt(cpu, OF_VECTOR); },
  });
  // INT1 (ICEBP) raises #DB as a privileged software exception: no gate DPL check, and
  // error codes of faults during its delivery have EXT set (SDM Vol. 3A, 6.13; Vol. 2, INT n).
  defineOp(0xf1, {
    name: 'int1', endsBlock: true,
    exec: (cpu) => deliver(cpu, DB, EventKind.Exception, 0, false, cpu.eip),
  });

  defineOp(0xf4, { name: 'hlt', endsBlock: true, exec: hlt });
}
