/**
 * Bit instructions (SDM Vol. 2): BT BTS BTR BTC (0F A3 AB B3 BB, group 0F BA /4-/7), BSF
 * and BSR, SETcc and BSWAP.
 */
import type { Cpu } from '../cpu';
import { LazyOp, setFlagBits, setLazy, testCondition } from '../flags';
import { Imm, type Insn } from '../insn';
import { defineGroup, defineOp } from '../opcodeTable';
import { ea, readRm16, readRm32, setReg16, writeRm8 } from '../operands';
import { FLAG_CF } from '../registers';
import { rejectLock } from './lock';

/** BT family operation: bits 4:3 of 0F A3/AB/B3/BB, ModR/M.reg - 4 of 0F BA. */
const enum Bt { Test, Set, Reset, Complement }

/** `v` with bit `b` set, cleared or flipped; CF takes the bit's old value. */
function btModify(cpu: Cpu, kind: number, v: number, b: number): number {
  const m = 1 << b;
  setFlagBits(cpu, FLAG_CF, (v >>> b) & 1);
  switch (kind) {
    case Bt.Set: return v | m;
    case Bt.Reset: return v & ~m;
    case Bt.Complement: return v ^ m;
    default: return v;
  }
}

/**
 * The bit at offset `bit` (reduced to the operand width by the caller) of a register, or of
 * the memory word `wordOffset` bytes from the effective address. With 16-bit addressing the
 * sum wraps within 64 KiB like the effective address itself (as QEMU does; the SDM is silent).
 */
function bt16(cpu: Cpu, i: Insn, kind: number, bit: number, wordOffset: number): void {
  if (!i.mem) {
    rejectLock(cpu, i);
    const r = btModify(cpu, kind, cpu.regs[i.rm] & 0xffff, bit);
    if (kind !== Bt.Test) setReg16(cpu, i.rm, r);
    return;
  }
  let off = ea(cpu, i) + wordOffset;
  if (!i.a32) off &= 0xffff;
  if (kind === Bt.Test) { rejectLock(cpu, i); btModify(cpu, kind, cpu.read16(i.seg, off), bit); }
  else cpu.rmwWrite16(btModify(cpu, kind, cpu.rmwRead16(i.seg, off), bit));
}
function bt32(cpu: Cpu, i: Insn, kind: number, bit: number, wordOffset: number): void {
  if (!i.mem) {
    rejectLock(cpu, i);
    const r = btModify(cpu, kind, cpu.regs[i.rm], bit);
    if (kind !== Bt.Test) cpu.regs[i.rm] = r;
    return;
  }
  let off = ea(cpu, i) + wordOffset;
  if (!i.a32) off &= 0xffff;
  if (kind === Bt.Test) { rejectLock(cpu, i); btModify(cpu, kind, cpu.read32(i.seg, off), bit); }
  else cpu.rmwWrite32(btModify(cpu, kind, cpu.rmwRead32(i.seg, off), bit));
}

/**
 * Register bit offset: for a memory operand it is a signed index into a bit string starting
 * at the effective address, so it selects the word at EA + 2 * (offset >> 4) (or 4 * (offset
 * >> 5)); for a register operand it is taken modulo the operand size (SDM Vol. 2, "BT").
 */
function btEwGw(cpu: Cpu, i: Insn): void {
  const kind = (i.op >> 3) & 3;
  const offset = (cpu.regs[i.reg] << 16) >> 16;
  bt16(cpu, i, kind, offset & 15, (offset >> 4) * 2);
}
function btEdGd(cpu: Cpu, i: Insn): void {
  const kind = (i.op >> 3) & 3;
  const offset = cpu.regs[i.reg];
  bt32(cpu, i, kind, offset & 31, (offset >> 5) * 4);
}
/** Immediate bit offset: masked to the operand size, never leaves the addressed word. */
function btEwIb(cpu: Cpu, i: Insn): void {
  const kind = i.reg - 4;
  bt16(cpu, i, kind, i.imm & 15, 0);
}
function btEdIb(cpu: Cpu, i: Insn): void {
  const kind = i.reg - 4;
  bt32(cpu, i, kind, i.imm & 31, 0);
}

// ---- BSF / BSR: a zero source sets ZF and leaves the destination unchanged (Intel, AMD and
// QEMU all do; the SDM calls the destination undefined). The other flags are undefined; as in
// QEMU they are those of a logical operation on the source (CF = OF = AF = 0, SF and PF of it),
// which also gives ZF = (source = 0).

function bsf16(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  const v = readRm16(cpu, i);
  setLazy(cpu, LazyOp.Logic, v, v, v, 16);
  if (v !== 0) setReg16(cpu, i.reg, 31 - Math.clz32(v & -v));
}
function bsf32(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  const v = readRm32(cpu, i);
  setLazy(cpu, LazyOp.Logic, v, v, v, 32);
  if (v !== 0) cpu.regs[i.reg] = 31 - Math.clz32(v & -v);
}
function bsr16(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  const v = readRm16(cpu, i);
  setLazy(cpu, LazyOp.Logic, v, v, v, 16);
  if (v !== 0) setReg16(cpu, i.reg, 31 - Math.clz32(v));
}
function bsr32(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  const v = readRm32(cpu, i);
  setLazy(cpu, LazyOp.Logic, v, v, v, 32);
  if (v !== 0) cpu.regs[i.reg] = 31 - Math.clz32(v);
}

/** SETcc r/m8: 1 if condition tttn (opcode low nibble) holds, else 0. */
function setcc(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  writeRm8(cpu, i, testCondition(cpu, i.op & 0xf) ? 1 : 0);
}

function bswap32(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  const v = cpu.regs[i.reg];
  cpu.regs[i.reg] = (v << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}

export function register(): void {
  const names = ['bt', 'bts', 'btr', 'btc'];
  for (let kind = 0; kind < 4; kind++) {
    defineOp(0x1a3 + kind * 8, { name: names[kind], operands: 'Ev,Gv', modrm: true, exec16: btEwGw, exec32: btEdGd });
    defineGroup(0x1ba, 4 + kind, { name: names[kind], operands: 'Ev,Ib', imm: Imm.Ib, exec16: btEwIb, exec32: btEdIb });
  }
  defineOp(0x1bc, { name: 'bsf', operands: 'Gv,Ev', modrm: true, exec16: bsf16, exec32: bsf32 });
  defineOp(0x1bd, { name: 'bsr', operands: 'Gv,Ev', modrm: true, exec16: bsr16, exec32: bsr32 });
  for (let cc = 0; cc < 16; cc++) defineOp(0x190 + cc, { name: 'setcc', operands: 'Eb', modrm: true, exec: setcc });
  // BSWAP with a 16-bit operand is undefined (SDM); QEMU 7.2 ignores the 66 prefix and swaps
  // all 32 bits, and so does this.
  for (let r = 0; r < 8; r++) defineOp(0x1c8 + r, { name: 'bswap', operands: 'Zd', exec: bswap32 });
}
