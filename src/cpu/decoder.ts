/**
 * The instruction decoder: prefixes, the one- and two-byte opcode maps (opcodeMap.ts),
 * ModR/M and SIB in 32- and 16-bit addressing, displacements and immediates
 * (SDM Vol. 2, chapter 2 and appendix A).
 */
import type { Cpu } from './cpu';
import { GP, UD } from './exceptions';
import { Imm, Insn, type OpDef } from './insn';
import { OPCODE_MAP } from './opcodeMap';
import { CS, DS, EBP, ESP, SS } from './registers';

/** No instruction may be longer than 15 bytes (SDM Vol. 2, 2.3.11). */
const MAX_LENGTH = 15;

/** Raised by an instruction the decoder could not make sense of. */
export function execUD(cpu: Cpu): void { cpu.raise(UD); }
/** An instruction longer than 15 bytes, or running past the CS limit. */
function execGP0(cpu: Cpu): void { cpu.raiseWithCode(GP, 0); }

/** 16-bit addressing: base and index registers for each rm value (SDM Vol. 2, table 2-1). */
const EA16_BASE = [3, 3, 5, 5, -1, -1, 5, 3];   // BX BX BP BP - - BP BX
const EA16_INDEX = [6, 7, 6, 7, 6, 7, -1, -1];  // SI DI SI DI SI DI - -

/**
 * Code bytes for decoding without a CPU (the disassembler): returns the byte at `address`,
 * 0-255. It decides what an unreadable byte or an overlong instruction gives.
 */
export type CodeReader = (address: number) => number;

/**
 * Fetch state for one instruction: reads code bytes at CS:EIP through the CS limit and the
 * TLB. A fault while fetching is raised as the instruction's own fault.
 */
class CpuFetch {
  cpu!: Cpu;
  start = 0;
  pos = 0;
  limit = 0;

  byte(): number {
    const off = this.pos;
    const cpu = this.cpu;
    if ((off >>> 0) > this.limit) cpu.raiseWithCode(GP, 0);
    if (off - this.start >= MAX_LENGTH) cpu.raiseWithCode(GP, 0);
    this.pos = cpu.code32 ? (off + 1) | 0 : (off + 1) & 0xffff;
    return cpu.readLin8((cpu.segBase[CS] + off) | 0);
  }
  word(): number { const lo = this.byte(); return lo | (this.byte() << 8); }
  dword(): number { const lo = this.word(); return lo | (this.word() << 16); }
}

/**
 * Fetch state on a CodeReader. A class of its own rather than a branch in CpuFetch: the
 * CPU's fetch stays as short as it was, and once both are in use the decoder's calls see
 * two shapes, which measured cheaper than a branch on every byte.
 */
class ReaderFetch {
  reader: CodeReader = () => 0;
  start = 0;
  pos = 0;

  byte(): number { const off = this.pos; this.pos = off + 1; return this.reader(off); }
  word(): number { const lo = this.byte(); return lo | (this.byte() << 8); }
  dword(): number { const lo = this.word(); return lo | (this.word() << 16); }
}

const cpuFetch = new CpuFetch();
const readerFetch = new ReaderFetch();
/** The fetch of the instruction being decoded. */
let fetch: CpuFetch | ReaderFetch = cpuFetch;

/**
 * Decodes the instruction at CS:`eip` into `i`. Faults (#PF on the fetch, #GP past the limit
 * or beyond 15 bytes) propagate; an undefined opcode decodes to an instruction raising #UD.
 */
export function decode(cpu: Cpu, eip: number, i: Insn): void {
  cpuFetch.cpu = cpu;
  cpuFetch.start = eip;
  cpuFetch.pos = eip;
  cpuFetch.limit = cpu.segLimit[CS];
  fetch = cpuFetch;
  decodeInsn(cpu.code32, i);
}

/**
 * Decodes the instruction at `address` as 32-bit code (CS.D = 1) or 16-bit code, reading
 * its bytes through `reader`: the CPU's decoder without a CPU.
 */
export function decodeFrom(reader: CodeReader, address: number, code32: boolean, i: Insn): void {
  readerFetch.reader = reader;
  readerFetch.start = address;
  readerFetch.pos = address;
  fetch = readerFetch;
  decodeInsn(code32, i);
}

function decodeInsn(code32: boolean, i: Insn): void {
  const start = fetch.start;
  let o32 = code32, a32 = code32;
  let segOverride = -1, rep = 0, lock = false;
  let b: number;
  for (;;) {
    b = fetch.byte();
    switch (b) {
      case 0x66: o32 = !code32; continue;
      case 0x67: a32 = !code32; continue;
      case 0x26: segOverride = 0; continue;
      case 0x2e: segOverride = 1; continue;
      case 0x36: segOverride = 2; continue;
      case 0x3e: segOverride = 3; continue;
      case 0x64: segOverride = 4; continue;
      case 0x65: segOverride = 5; continue;
      case 0xf0: lock = true; continue;
      case 0xf2: rep = 2; continue;
      case 0xf3: rep = 1; continue;
    }
    break;
  }
  let op = b;
  if (b === 0x0f) op = 0x100 | fetch.byte();
  i.op = op;
  i.o32 = o32; i.a32 = a32;
  i.segOverride = segOverride; i.rep = rep; i.lock = lock;
  i.mem = false; i.base = -1; i.index = -1; i.scale = 0; i.disp = 0; i.imm = 0; i.imm2 = 0;
  i.reg = op & 7; i.rm = 0;
  i.seg = segOverride >= 0 ? segOverride : DS;

  let def: OpDef | undefined = OPCODE_MAP[op];
  let imm = def?.imm ?? Imm.None;
  if (def !== undefined && (def.modrm || def.group !== undefined)) {
    const modrm = fetch.byte();
    const mod = modrm >> 6;
    i.reg = (modrm >> 3) & 7;
    i.rm = modrm & 7;
    if (def.group !== undefined) {
      const parentImm = imm;
      const sub: OpDef | undefined = mod === 3 && def.groupMod3 !== undefined
        ? (def.groupMod3[i.reg * 8 + i.rm] ?? def.group[i.reg]) : def.group[i.reg];
      def = sub;
      imm = sub?.imm ?? parentImm;
    }
    if (mod !== 3 && def?.modIgnored !== true) {
      i.mem = true;
      if (a32) decodeEa32(i, mod, segOverride); else decodeEa16(i, mod, segOverride);
      if (def?.regOnly) def = undefined;
    } else if (def?.memOnly) {
      def = undefined;
    }
  }
  i.def = def;

  switch (imm) {
    case Imm.None: break;
    case Imm.Ib: i.imm = fetch.byte(); break;
    case Imm.IbS: i.imm = (fetch.byte() << 24) >> 24; break;
    case Imm.Iw: i.imm = fetch.word(); break;
    case Imm.Iz: i.imm = o32 ? fetch.dword() : (fetch.word() << 16) >> 16; break;
    case Imm.IwIb: i.imm = fetch.word(); i.imm2 = fetch.byte(); break;
    case Imm.Ap: i.imm = o32 ? fetch.dword() : fetch.word(); i.imm2 = fetch.word(); break;
    case Imm.Moffs: i.mem = true; i.disp = a32 ? fetch.dword() : fetch.word(); break;
  }
  i.len = (fetch.pos - start) & (code32 ? -1 : 0xffff);
  if (def === undefined) { i.exec = execUD; return; }
  const exec = (o32 ? def.exec32 : def.exec16) ?? def.exec;
  i.exec = exec ?? execUD;
}

function decodeEa32(i: Insn, mod: number, segOverride: number): void {
  let rm = i.rm;
  let base = rm;
  if (rm === 4) {
    const sib = fetch.byte();
    base = sib & 7;
    const index = (sib >> 3) & 7;
    if (index !== 4) { i.index = index; i.scale = sib >> 6; }
    rm = base;
  }
  if (mod === 0 && base === 5) {
    i.base = -1;
    i.disp = fetch.dword();
  } else {
    i.base = base;
    if (mod === 1) i.disp = (fetch.byte() << 24) >> 24;
    else if (mod === 2) i.disp = fetch.dword();
  }
  if (segOverride < 0) i.seg = i.base === ESP || i.base === EBP ? SS : DS;
}

function decodeEa16(i: Insn, mod: number, segOverride: number): void {
  const rm = i.rm;
  if (mod === 0 && rm === 6) {
    i.disp = fetch.word();
  } else {
    i.base = EA16_BASE[rm];
    i.index = EA16_INDEX[rm];
    if (mod === 1) i.disp = (fetch.byte() << 24) >> 24;
    else if (mod === 2) i.disp = fetch.word();
  }
  if (segOverride < 0) i.seg = i.base === EBP ? SS : DS;
}

/** Does `def` end a code block (see insn.ts)? */
export function endsBlock(i: Insn): boolean {
  return i.def === undefined || i.def.endsBlock === true;
}

export { execGP0 };
