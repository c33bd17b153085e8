/**
 * Data movement (SDM Vol. 2): MOV in all its forms (registers, memory, immediates, moffs,
 * segment registers), MOVZX/MOVSX, XCHG, LEA, XLAT, CMOVcc, LAHF/SAHF, the far pointer loads
 * LDS/LES/LSS/LFS/LGS, and BOUND.
 */
import type { Cpu } from '../cpu';
import { BR } from '../exceptions';
import { getEflags, setFlagBits, testCondition } from '../flags';
import { Imm, type Insn } from '../insn';
import { defineGroup, defineOp } from '../opcodeTable';
import {
  ea, getReg8, readRm16, readRm32, readRm8, rmwRead16, rmwRead32, rmwRead8, rmwWrite16, rmwWrite32,
  rmwWrite8, setReg16, setReg8, writeRm16, writeRm32, writeRm8,
} from '../operands';
import {
  DS, EAX, EBX, ES, FLAG_AF, FLAG_CF, FLAG_PF, FLAG_SF, FLAG_ZF, FS, GS, SS,
} from '../registers';
import { loadDataSegment } from '../segmentation';

/** The flags LAHF and SAHF move between AH and EFLAGS (bit 1 always reads as 1). */
const AH_FLAGS = FLAG_SF | FLAG_ZF | FLAG_AF | FLAG_PF | FLAG_CF;
/** AH as an 8-bit register number. */
const AH = 4;

/** MOV SS and POP SS block interrupts until the next instruction is done (SDM Vol. 3A, 6.8.3). */
export function loadStackSegmentShadowed(cpu: Cpu, sel: number): void {
  loadDataSegment(cpu, SS, sel);
  cpu.inhibitUntil = cpu.icount + 1;
  cpu.movSsShadowUntil = cpu.icount + 1;   // VMX reports this blocking apart from STI's
  cpu.leaveBlock = true;
}

// ---- MOV Sreg ----------------------------------------------------------------------------

/**
 * MOV r/m16, Sreg: memory gets 16 bits whatever the operand size; a 32-bit register gets
 * the selector zero-extended (what P6 and later processors do, SDM Vol. 2, MOV).
 */
function movFromSreg32(cpu: Cpu, i: Insn): void {
  const sel = cpu.segSel[i.reg];
  if (i.mem) cpu.write16(i.seg, ea(cpu, i), sel); else cpu.regs[i.rm] = sel;
}
function movFromSreg16(cpu: Cpu, i: Insn): void { writeRm16(cpu, i, cpu.segSel[i.reg]); }

function movToSreg(cpu: Cpu, i: Insn): void {
  const sel = readRm16(cpu, i);
  if (i.reg === SS) loadStackSegmentShadowed(cpu, sel); else loadDataSegment(cpu, i.reg, sel);
}

// ---- far pointer loads -------------------------------------------------------------------

/** LDS/LES/LSS/LFS/LGS r, m16:16 or m16:32: offset first, then the selector (loaded before the register changes). */
function loadFarPointer(seg: number): (cpu: Cpu, i: Insn) => void {
  return (cpu, i) => {
    const a = ea(cpu, i);
    const n = i.o32 ? 4 : 2;
    const offset = i.o32 ? cpu.read32(i.seg, a) : cpu.read16(i.seg, a);
    const sel = cpu.read16(i.seg, i.a32 ? (a + n) | 0 : (a + n) & 0xffff);
    loadDataSegment(cpu, seg, sel);
    if (i.o32) cpu.regs[i.reg] = offset; else setReg16(cpu, i.reg, offset);
  };
}

// ---- BOUND -------------------------------------------------------------------------------

/** BOUND r, m: #BR (a fault, so it returns to the BOUND) unless lower <= index <= upper, signed. */
function bound32(cpu: Cpu, i: Insn): void {
  const a = ea(cpu, i);
  const lower = cpu.read32(i.seg, a);
  const upper = cpu.read32(i.seg, i.a32 ? (a + 4) | 0 : (a + 4) & 0xffff);
  const index = cpu.regs[i.reg];
  if (index < lower || index > upper) cpu.raise(BR);
}

function bound16(cpu: Cpu, i: Insn): void {
  const a = ea(cpu, i);
  const lower = (cpu.read16(i.seg, a) << 16) >> 16;
  const upper = (cpu.read16(i.seg, i.a32 ? (a + 2) | 0 : (a + 2) & 0xffff) << 16) >> 16;
  const index = (cpu.regs[i.reg] << 16) >> 16;
  if (index < lower || index > upper) cpu.raise(BR);
}

// ---- XCHG --------------------------------------------------------------------------------

/** XCHG r/m, r: a memory operand is read and write-checked before either side changes. */
function xchg8(cpu: Cpu, i: Insn): void {
  const m = rmwRead8(cpu, i);
  rmwWrite8(cpu, i, getReg8(cpu, i.reg));
  setReg8(cpu, i.reg, m);
}
function xchg16(cpu: Cpu, i: Insn): void {
  const m = rmwRead16(cpu, i);
  rmwWrite16(cpu, i, cpu.regs[i.reg]);
  setReg16(cpu, i.reg, m);
}
function xchg32(cpu: Cpu, i: Insn): void {
  const m = rmwRead32(cpu, i);
  rmwWrite32(cpu, i, cpu.regs[i.reg]);
  cpu.regs[i.reg] = m;
}

function xchgEax32(cpu: Cpu, i: Insn): void {
  const r = cpu.regs, v = r[i.reg];
  r[i.reg] = r[EAX];
  r[EAX] = v;
}
function xchgEax16(cpu: Cpu, i: Insn): void {
  const v = cpu.regs[i.reg];
  setReg16(cpu, i.reg, cpu.regs[EAX]);
  setReg16(cpu, EAX, v);
}

// ---- opcodes -----------------------------------------------------------------------------

export function register(): void {
  defineOp(0x88, { name: 'mov', operands: 'Eb,Gb', modrm: true, exec: (cpu, i) => writeRm8(cpu, i, getReg8(cpu, i.reg)) });
  defineOp(0x89, {
    name: 'mov', operands: 'Ev,Gv', modrm: true,
    exec16: (cpu, i) => writeRm16(cpu, i, cpu.regs[i.reg]),
    exec32: (cpu, i) => writeRm32(cpu, i, cpu.regs[i.reg]),
  });
  defineOp(0x8a, { name: 'mov', operands: 'Gb,Eb', modrm: true, exec: (cpu, i) => setReg8(cpu, i.reg, readRm8(cpu, i)) });
  defineOp(0x8b, {
    name: 'mov', operands: 'Gv,Ev', modrm: true,
    exec16: (cpu, i) => setReg16(cpu, i.reg, readRm16(cpu, i)),
    exec32: (cpu, i) => { cpu.regs[i.reg] = readRm32(cpu, i); },
  });

  // Sreg numbers 6 and 7 do not exist, and CS cannot be loaded with MOV: those decode to #UD.
  for (let s = 0; s < 6; s++) {
    defineGroup(0x8c, s, { name: 'mov', operands: 'Mw/Rv,Sw', exec16: movFromSreg16, exec32: movFromSreg32 });
    if (s !== 1) defineGroup(0x8e, s, { name: 'mov', operands: 'Sw,Mw/Rv', exec: movToSreg });
  }

  // moffs: the address is an immediate of the address size, in DS unless overridden.
  defineOp(0xa0, { name: 'mov', operands: 'AL,Ob', imm: Imm.Moffs, exec: (cpu, i) => setReg8(cpu, EAX, cpu.read8(i.seg, ea(cpu, i))) });
  defineOp(0xa1, {
    name: 'mov', operands: 'rAX,Ov', imm: Imm.Moffs,
    exec16: (cpu, i) => setReg16(cpu, EAX, cpu.read16(i.seg, ea(cpu, i))),
    exec32: (cpu, i) => { cpu.regs[EAX] = cpu.read32(i.seg, ea(cpu, i)); },
  });
  defineOp(0xa2, { name: 'mov', operands: 'Ob,AL', imm: Imm.Moffs, exec: (cpu, i) => cpu.write8(i.seg, ea(cpu, i), cpu.regs[EAX]) });
  defineOp(0xa3, {
    name: 'mov', operands: 'Ov,rAX', imm: Imm.Moffs,
    exec16: (cpu, i) => cpu.write16(i.seg, ea(cpu, i), cpu.regs[EAX]),
    exec32: (cpu, i) => cpu.write32(i.seg, ea(cpu, i), cpu.regs[EAX]),
  });

  for (let r = 0; r < 8; r++) {
    defineOp(0xb0 + r, { name: 'mov', operands: 'Zb,Ib', imm: Imm.Ib, exec: (cpu, i) => setReg8(cpu, i.reg, i.imm) });
    defineOp(0xb8 + r, {
      name: 'mov', operands: 'Zv,Iv', imm: Imm.Iz,
      exec16: (cpu, i) => setReg16(cpu, i.reg, i.imm),
      exec32: (cpu, i) => { cpu.regs[i.reg] = i.imm; },
    });
  }
  defineGroup(0xc6, 0, { name: 'mov', operands: 'Eb,Ib', imm: Imm.Ib, exec: (cpu, i) => writeRm8(cpu, i, i.imm) }, Imm.Ib);
  defineGroup(0xc7, 0, {
    name: 'mov', operands: 'Ev,Iz', imm: Imm.Iz,
    exec16: (cpu, i) => writeRm16(cpu, i, i.imm),
    exec32: (cpu, i) => writeRm32(cpu, i, i.imm),
  }, Imm.Iz);

  defineOp(0x1b6, {
    name: 'movzx', operands: 'Gv,Eb', modrm: true,
    exec16: (cpu, i) => setReg16(cpu, i.reg, readRm8(cpu, i)),
    exec32: (cpu, i) => { cpu.regs[i.reg] = readRm8(cpu, i); },
  });
  defineOp(0x1b7, {
    name: 'movzx', operands: 'Gv,Ew', modrm: true,
    exec16: (cpu, i) => setReg16(cpu, i.reg, readRm16(cpu, i)),
    exec32: (cpu, i) => { cpu.regs[i.reg] = readRm16(cpu, i); },
  });
  defineOp(0x1be, {
    name: 'movsx', operands: 'Gv,Eb', modrm: true,
    exec16: (cpu, i) => setReg16(cpu, i.reg, (readRm8(cpu, i) << 24) >> 24),
    exec32: (cpu, i) => { cpu.regs[i.reg] = (readRm8(cpu, i) << 24) >> 24; },
  });
  defineOp(0x1bf, {
    name: 'movsx', operands: 'Gv,Ew', modrm: true,
    exec16: (cpu, i) => setReg16(cpu, i.reg, readRm16(cpu, i)),
    exec32: (cpu, i) => { cpu.regs[i.reg] = (readRm16(cpu, i) << 16) >> 16; },
  });

  defineOp(0x86, { name: 'xchg', operands: 'Gb,Eb', modrm: true, exec: xchg8 });
  defineOp(0x87, { name: 'xchg', operands: 'Gv,Ev', modrm: true, exec16: xchg16, exec32: xchg32 });
  for (let r = 1; r < 8; r++) defineOp(0x90 + r, { name: 'xchg', operands: 'rAX,Zv', exec16: xchgEax16, exec32: xchgEax32 });

  // LEA stores the offset itself: no segment, no access; ea() already wraps it to the address size.
  defineOp(0x8d, {
    name: 'lea', operands: 'Gv,M', modrm: true, memOnly: true,
    exec16: (cpu, i) => setReg16(cpu, i.reg, ea(cpu, i)),
    exec32: (cpu, i) => { cpu.regs[i.reg] = ea(cpu, i); },
  });

  defineOp(0xd7, {
    name: 'xlat', names: ['xlatb', 'xlatb'],
    exec: (cpu, i) => {
      const r = cpu.regs;
      const off = i.a32 ? (r[EBX] + (r[EAX] & 0xff)) | 0 : (r[EBX] + (r[EAX] & 0xff)) & 0xffff;
      setReg8(cpu, EAX, cpu.read8(i.seg, off));
    },
  });

  // CMOVcc reads its source (and may fault on it) whatever the condition; a false condition
  // leaves the destination as it was, also with a 32-bit operand (SDM Vol. 2, CMOVcc).
  for (let cc = 0; cc < 16; cc++) {
    defineOp(0x140 + cc, {
      name: 'cmovcc', operands: 'Gv,Ev', modrm: true,
      exec16: (cpu, i) => { const v = readRm16(cpu, i); if (testCondition(cpu, i.op & 0xf)) setReg16(cpu, i.reg, v); },
      exec32: (cpu, i) => { const v = readRm32(cpu, i); if (testCondition(cpu, i.op & 0xf)) cpu.regs[i.reg] = v; },
    });
  }

  defineOp(0x9f, { name: 'lahf', exec: (cpu) => setReg8(cpu, AH, (getEflags(cpu) & AH_FLAGS) | 2) });
  defineOp(0x9e, { name: 'sahf', exec: (cpu) => setFlagBits(cpu, AH_FLAGS, cpu.regs[EAX] >> 8) });

  defineOp(0xc4, { name: 'les', operands: 'Gz,Mp', modrm: true, memOnly: true, exec: loadFarPointer(ES) });
  defineOp(0xc5, { name: 'lds', operands: 'Gz,Mp', modrm: true, memOnly: true, exec: loadFarPointer(DS) });
  defineOp(0x1b2, { name: 'lss', operands: 'Gv,Mp', modrm: true, memOnly: true, exec: loadFarPointer(SS) });
  defineOp(0x1b4, { name: 'lfs', operands: 'Gv,Mp', modrm: true, memOnly: true, exec: loadFarPointer(FS) });
  defineOp(0x1b5, { name: 'lgs', operands: 'Gv,Mp', modrm: true, memOnly: true, exec: loadFarPointer(GS) });

  defineOp(0x62, { name: 'bound', operands: 'Gv,Ma', modrm: true, memOnly: true, exec16: bound16, exec32: bound32 });
}
