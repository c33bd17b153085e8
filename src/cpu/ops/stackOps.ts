/**
 * Stack instructions (SDM Vol. 2): PUSH and POP of registers, memory, immediates and segment
 * registers, PUSHA/POPA, PUSHF/POPF with their privilege rules, ENTER and LEAVE. Each one
 * reads and checks everything it needs before it changes a register, so a fault restarts it.
 */
import type { Cpu } from '../cpu';
import { GP } from '../exceptions';
import { getEflags, setFlagBits } from '../flags';
import { Imm, type Insn } from '../insn';
import { iopl } from '../ioPermission';
import { defineGroup, defineOp } from '../opcodeTable';
import { ea, readRm16, readRm32, setReg16 } from '../operands';
import {
  CS, DS, EBP, ES, ESP, FLAG_AC, FLAG_DF, FLAG_ID, FLAG_IF, FLAG_IOPL, FLAG_NT, FLAG_RF, FLAG_TF, FLAG_VM,
  FLAGS_ARITH, FS, GS, SS,
} from '../registers';
import { loadDataSegment } from '../segmentation';
import { adjustSp, peek16, peek32, pop16, pop32, push16, push32, pushOp, stackTop } from '../stack';
import { loadStackSegmentShadowed } from './move';

/** Flags POPF can change at CPL 0: VM, VIP and VIF never; RF is cleared (SDM Vol. 2, POPF). */
const POPF_MASK32 = FLAGS_ARITH | FLAG_TF | FLAG_IF | FLAG_DF | FLAG_IOPL | FLAG_NT | FLAG_AC | FLAG_ID;
const POPF_MASK16 = POPF_MASK32 & 0xffff;

/** A stack offset wrapped to the stack's address size (SS.B). */
function wrapSp(cpu: Cpu, v: number): number { return cpu.stack32 ? v | 0 : v & 0xffff; }

/** Sets ESP, or SP alone for a 16-bit stack. */
function setSp(cpu: Cpu, v: number): void {
  if (cpu.stack32) cpu.regs[ESP] = v; else setReg16(cpu, ESP, v);
}

function readStack(cpu: Cpu, off: number, size: number): number {
  return size === 4 ? cpu.read32(SS, off) : cpu.read16(SS, off);
}

function writeStack(cpu: Cpu, off: number, size: number, v: number): void {
  if (size === 4) cpu.write32(SS, off, v); else cpu.write16(SS, off, v);
}

// ---- PUSH / POP of memory and segment registers -----------------------------------------

/**
 * POP r/m: the address of a memory destination is computed with ESP already incremented
 * (SDM Vol. 2, POP), but ESP only changes once the store has succeeded.
 */
function popRm32(cpu: Cpu, i: Insn): void {
  if (!i.mem) { cpu.regs[i.rm] = pop32(cpu); return; }
  const v = peek32(cpu, 0);
  const esp = cpu.regs[ESP];
  adjustSp(cpu, 4);
  const a = ea(cpu, i);
  cpu.regs[ESP] = esp;
  cpu.write32(i.seg, a, v);
  adjustSp(cpu, 4);
}

function popRm16(cpu: Cpu, i: Insn): void {
  if (!i.mem) { setReg16(cpu, i.rm, pop16(cpu)); return; }
  const v = peek16(cpu, 0);
  const esp = cpu.regs[ESP];
  adjustSp(cpu, 2);
  const a = ea(cpu, i);
  cpu.regs[ESP] = esp;
  cpu.write16(i.seg, a, v);
  adjustSp(cpu, 2);
}

/**
 * PUSH Sreg with a 32-bit operand size moves ESP by 4 but stores only the 16-bit selector,
 * leaving the upper half of the slot as it was. The SDM allows this or a zero-extended
 * store; recent Intel processors and Bochs do this one (QEMU 7.2 stores zero-extended).
 */
function pushSelector32(cpu: Cpu, sel: number): void {
  const sp = wrapSp(cpu, stackTop(cpu) - 4);
  cpu.write16(SS, sp, sel);
  setSp(cpu, sp);
}

/** POP Sreg: the selector is loaded (and checked) before the stack pointer moves. */
function popSegment(cpu: Cpu, seg: number, size: number): void {
  const sel = size === 4 ? peek32(cpu, 0) : peek16(cpu, 0);
  // The increment follows the stack size in force before SS is replaced.
  const next = wrapSp(cpu, stackTop(cpu) + size);
  const wide = cpu.stack32;
  if (seg === SS) loadStackSegmentShadowed(cpu, sel); else loadDataSegment(cpu, seg, sel);
  if (wide) cpu.regs[ESP] = next; else setReg16(cpu, ESP, next);
}

// ---- PUSHA / POPA ------------------------------------------------------------------------

/** PUSHA/PUSHAD: EAX, ECX, EDX, EBX, the original ESP, EBP, ESI, EDI; all eight slots are checked first. */
function pusha(cpu: Cpu, i: Insn): void {
  const size = i.o32 ? 4 : 2;
  const top = stackTop(cpu);
  for (let k = 1; k <= 8; k++) cpu.probeWrite(cpu.linWrite(SS, wrapSp(cpu, top - k * size), size), size);
  const esp = cpu.regs[ESP];
  for (let r = 0; r < 8; r++) pushOp(cpu, i.o32, r === ESP ? esp : cpu.regs[r]);
}

/** Values POPA read, so that no register changes before the last read. */
const popped = new Int32Array(8);

/** POPA/POPAD: EDI, ESI, EBP, (the ESP slot is skipped), EBX, EDX, ECX, EAX. */
function popa(cpu: Cpu, i: Insn): void {
  const size = i.o32 ? 4 : 2;
  const top = stackTop(cpu);
  for (let k = 0; k < 8; k++) {
    if (k === 3) continue;
    popped[7 - k] = readStack(cpu, wrapSp(cpu, top + k * size), size);
  }
  for (let r = 0; r < 8; r++) {
    if (r === ESP) continue;
    if (i.o32) cpu.regs[r] = popped[r]; else setReg16(cpu, r, popped[r]);
  }
  adjustSp(cpu, 8 * size);
}

// ---- PUSHF / POPF ------------------------------------------------------------------------

/** PUSHF/PUSHFD: the pushed image has VM and RF clear; virtual-8086 mode needs IOPL 3 (no VME). */
function pushf(cpu: Cpu, i: Insn): void {
  if ((cpu.flags & FLAG_VM) !== 0 && iopl(cpu) < 3) cpu.raiseWithCode(GP, 0);
  const f = getEflags(cpu);
  if (i.o32) push32(cpu, f & ~(FLAG_VM | FLAG_RF)); else push16(cpu, f);
}

/**
 * POPF/POPFD (SDM Vol. 2, POPF): never faults in protected mode, but silently keeps IOPL
 * unless CPL is 0, and IF when CPL > IOPL. VM, VIP and VIF are never changed, and the 32-bit
 * form clears RF. These are the "sensitive but unprivileged" behaviours a deprivileged guest
 * kernel trips over. Virtual-8086 mode needs IOPL 3 (no VME).
 */
function popf(cpu: Cpu, i: Insn): void {
  const pl = iopl(cpu);
  if ((cpu.flags & FLAG_VM) !== 0 && pl < 3) cpu.raiseWithCode(GP, 0);
  const v = i.o32 ? peek32(cpu, 0) : peek16(cpu, 0);
  let mask = i.o32 ? POPF_MASK32 : POPF_MASK16;
  if (cpu.protectedMode) {
    if (cpu.cpl > 0) mask &= ~FLAG_IOPL;
    if (cpu.cpl > pl) mask &= ~FLAG_IF;
  }
  setFlagBits(cpu, mask, v);
  if (i.o32) cpu.flags &= ~FLAG_RF;
  adjustSp(cpu, i.o32 ? 4 : 2);
  cpu.leaveBlock = true;   // IF or TF may have changed
}

// ---- ENTER / LEAVE -----------------------------------------------------------------------

/**
 * ENTER imm16, imm8 (SDM Vol. 2, ENTER): pushes EBP, copies level - 1 frame pointers from
 * the enclosing frame, pushes the new frame pointer, then allocates. Stack addresses follow
 * SS.B, values the operand size. Registers change only at the end, after the new top of
 * stack has been checked for a write, so a fault part way leaves them as they were.
 */
function enter(cpu: Cpu, i: Insn): void {
  const size = i.o32 ? 4 : 2;
  const alloc = i.imm & 0xffff, level = i.imm2 & 31;
  let sp = wrapSp(cpu, stackTop(cpu) - size);
  writeStack(cpu, sp, size, cpu.regs[EBP]);
  const frame = cpu.stack32 ? sp : (cpu.regs[ESP] & ~0xffff) | sp;
  if (level > 0) {
    let bp = cpu.stack32 ? cpu.regs[EBP] : cpu.regs[EBP] & 0xffff;
    for (let k = 1; k < level; k++) {
      bp = wrapSp(cpu, bp - size);
      const v = readStack(cpu, bp, size);
      sp = wrapSp(cpu, sp - size);
      writeStack(cpu, sp, size, v);
    }
    sp = wrapSp(cpu, sp - size);
    writeStack(cpu, sp, size, frame);
  }
  sp = wrapSp(cpu, sp - alloc);
  cpu.probeWrite(cpu.linWrite(SS, sp, size), size);
  if (i.o32) cpu.regs[EBP] = frame; else setReg16(cpu, EBP, frame);
  setSp(cpu, sp);
}

/** LEAVE: ESP <- EBP (by stack size), then pop EBP (by operand size). */
function leave(cpu: Cpu, i: Insn): void {
  const bp = cpu.stack32 ? cpu.regs[EBP] : cpu.regs[EBP] & 0xffff;
  const size = i.o32 ? 4 : 2;
  const v = readStack(cpu, bp, size);
  setSp(cpu, wrapSp(cpu, bp + size));
  if (i.o32) cpu.regs[EBP] = v; else setReg16(cpu, EBP, v);
}

// ---- opcodes -----------------------------------------------------------------------------

export function register(): void {
  for (let r = 0; r < 8; r++) {
    // PUSH ESP pushes the value ESP had before the instruction.
    defineOp(0x50 + r, {
      name: 'push', operands: 'Zv',
      exec16: (cpu, i) => push16(cpu, cpu.regs[i.reg]),
      exec32: (cpu, i) => push32(cpu, cpu.regs[i.reg]),
    });
    // POP ESP: the increment is overwritten by the value popped.
    defineOp(0x58 + r, {
      name: 'pop', operands: 'Zv',
      exec16: (cpu, i) => setReg16(cpu, i.reg, pop16(cpu)),
      exec32: (cpu, i) => { cpu.regs[i.reg] = pop32(cpu); },
    });
  }
  defineOp(0x68, { name: 'push', operands: 'Iz', imm: Imm.Iz, exec16: (cpu, i) => push16(cpu, i.imm), exec32: (cpu, i) => push32(cpu, i.imm) });
  defineOp(0x6a, { name: 'push', operands: 'Ib', imm: Imm.IbS, exec16: (cpu, i) => push16(cpu, i.imm), exec32: (cpu, i) => push32(cpu, i.imm) });
  // A memory source addressed through ESP uses ESP before the push.
  defineGroup(0xff, 6, {
    name: 'push', operands: 'Ev',
    exec16: (cpu, i) => push16(cpu, readRm16(cpu, i)),
    exec32: (cpu, i) => push32(cpu, readRm32(cpu, i)),
  });
  defineGroup(0x8f, 0, { name: 'pop', operands: 'Ev', exec16: popRm16, exec32: popRm32 });

  const segPushes: [number, number][] = [[0x06, ES], [0x0e, CS], [0x16, SS], [0x1e, DS], [0x1a0, FS], [0x1a8, GS]];
  for (const [op, seg] of segPushes) {
    defineOp(op, {
      name: 'push', operands: ['ES', 'CS', 'SS', 'DS', 'FS', 'GS'][seg],
      exec16: (cpu) => push16(cpu, cpu.segSel[seg]),
      exec32: (cpu) => pushSelector32(cpu, cpu.segSel[seg]),
    });
  }
  const segPops: [number, number][] = [[0x07, ES], [0x17, SS], [0x1f, DS], [0x1a1, FS], [0x1a9, GS]];
  for (const [op, seg] of segPops) {
    defineOp(op, { name: 'pop', operands: ['ES', 'CS', 'SS', 'DS', 'FS', 'GS'][seg], exec16: (cpu) => popSegment(cpu, seg, 2), exec32: (cpu) => popSegment(cpu, seg, 4) });
  }

  defineOp(0x60, { name: 'pusha', sizedNames: ['pushaw', 'pushad'], exec: pusha });
  defineOp(0x61, { name: 'popa', sizedNames: ['popaw', 'popad'], exec: popa });
  defineOp(0x9c, { name: 'pushf', sizedNames: ['pushfw', 'pushfd'], exec: pushf });
  defineOp(0x9d, { name: 'popf', sizedNames: ['popfw', 'popfd'], exec: popf });
  defineOp(0xc8, { name: 'enter', operands: 'Iw,Ib', imm: Imm.IwIb, exec: enter });
  defineOp(0xc9, { name: 'leave', exec: leave });
}
