/**
 * Segment descriptors and segment register loads (SDM Vol. 3A, chapter 3 and 5.4-5.8):
 * reading descriptors from the GDT/LDT, the checks of MOV/POP to a data or stack segment
 * register, and the real-mode rule (base = selector * 16).
 */
import { AR_P, AR_S, AR_UNUSABLE, type Cpu } from './cpu';
import { GP, NP, SS_FAULT } from './exceptions';
import { CS, DS, ES, FS, GS, SS } from './registers';

/** The last descriptor read by `readDescriptor` (two dwords), so reading allocates nothing. */
export const desc = { lo: 0, hi: 0, addr: 0 };

/** Reads the descriptor `sel` names into `desc`; false if it lies beyond the GDT or LDT limit. */
export function readDescriptor(cpu: Cpu, sel: number): boolean {
  const index = sel & ~7;
  let base: number, limit: number;
  if ((sel & 4) !== 0) {
    if ((cpu.ldtrAR & AR_UNUSABLE) !== 0) return false;
    base = cpu.ldtrBase; limit = cpu.ldtrLimit;
  } else {
    base = cpu.gdtrBase; limit = cpu.gdtrLimit;
  }
  if (index + 7 > limit) return false;
  desc.addr = (base + index) | 0;
  desc.lo = cpu.readSys32(desc.addr);
  desc.hi = cpu.readSys32((desc.addr + 4) | 0);
  return true;
}

export function descBase(lo: number, hi: number): number {
  return ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff00_0000)) | 0;
}

/** Limit in bytes, scaled by G (SDM Vol. 3A, 3.4.5). */
export function descLimit(lo: number, hi: number): number {
  const raw = (lo & 0xffff) | (hi & 0xf_0000);
  return (hi & (1 << 23)) !== 0 ? ((raw << 12) | 0xfff) >>> 0 : raw;
}

/** Access rights in VMCS layout: descriptor bits 40-47 and 52-55. */
export function descAR(hi: number): number { return (hi >> 8) & 0xf0ff; }

export function descDpl(hi: number): number { return (hi >> 13) & 3; }

/** Sets the accessed bit of the descriptor last read, as a segment load does. */
export function markAccessed(cpu: Cpu): void {
  if ((desc.hi & 0x100) === 0) {
    desc.hi |= 0x100;
    cpu.writeSys32((desc.addr + 4) | 0, desc.hi);
  }
}

/** Loads `seg` from the descriptor in `desc` without further checks. */
export function loadFromDesc(cpu: Cpu, seg: number, sel: number): void {
  cpu.setSegmentCache(seg, sel, descBase(desc.lo, desc.hi), descLimit(desc.lo, desc.hi), descAR(desc.hi));
}

/** A null selector in DS, ES, FS or GS: legal to load, faults on use. */
export function loadNull(cpu: Cpu, seg: number, sel: number): void {
  cpu.setSegmentCache(seg, sel, 0, 0, AR_UNUSABLE);
}

/**
 * MOV Sreg, POP Sreg, LDS/LES/LFS/LGS/LSS: load a data or stack segment register with the
 * checks of SDM Vol. 3A, 5.5 and 5.6 (and the MOV/POP pseudocode in Vol. 2).
 */
export function loadDataSegment(cpu: Cpu, seg: number, sel: number): void {
  sel &= 0xffff;
  if (!cpu.protectedMode) {
    cpu.setSegmentCache(seg, sel, sel << 4, cpu.segLimit[seg], cpu.segAR[seg] & ~AR_UNUSABLE | AR_P | AR_S);
    return;
  }
  const rpl = sel & 3, cpl = cpu.cpl;
  if ((sel & ~3) === 0) {
    if (seg === SS) cpu.raiseWithCode(GP, 0);
    loadNull(cpu, seg, sel);
    return;
  }
  if (!readDescriptor(cpu, sel)) cpu.raiseWithCode(GP, sel & 0xfffc);
  const hi = desc.hi;
  const type = (hi >> 8) & 0xf;
  const s = (hi & (1 << 12)) !== 0;
  const dpl = descDpl(hi);
  const isCode = (type & 8) !== 0;
  if (seg === SS) {
    // Writable data segment with RPL = DPL = CPL.
    if (!s || isCode || (type & 2) === 0 || rpl !== cpl || dpl !== cpl) cpu.raiseWithCode(GP, sel & 0xfffc);
    if ((hi & (1 << 15)) === 0) cpu.raiseWithCode(SS_FAULT, sel & 0xfffc);
  } else {
    // Data or readable code; unless conforming code, DPL >= max(CPL, RPL).
    if (!s || (isCode && (type & 2) === 0)) cpu.raiseWithCode(GP, sel & 0xfffc);
    const conforming = isCode && (type & 4) !== 0;
    if (!conforming && (rpl > dpl || cpl > dpl)) cpu.raiseWithCode(GP, sel & 0xfffc);
    if ((hi & (1 << 15)) === 0) cpu.raiseWithCode(NP, sel & 0xfffc);
  }
  markAccessed(cpu);
  loadFromDesc(cpu, seg, sel);
}

/** Real-mode and flat loads of CS after a far transfer whose checks are done. */
export function loadCodeSegmentReal(cpu: Cpu, sel: number): void {
  cpu.setSegmentCache(CS, sel & 0xffff, (sel & 0xffff) << 4, cpu.segLimit[CS], cpu.segAR[CS]);
}

/** After a privilege change to `cpl`, DS/ES/FS/GS that the new level may not use become null (SDM Vol. 3A, 5.8.6 / IRET). */
const DATA_SEGMENTS = [ES, DS, FS, GS] as const;

export function nullInaccessibleSegments(cpu: Cpu): void {
  for (const seg of DATA_SEGMENTS) {
    const ar = cpu.segAR[seg];
    if ((ar & AR_UNUSABLE) !== 0) continue;
    const isCode = (ar & 8) !== 0;
    const conforming = isCode && (ar & 4) !== 0;
    if (!conforming && ((ar >> 5) & 3) < cpu.cpl) loadNull(cpu, seg, 0);
  }
}
