/**
 * The IA-32 processor state and its memory access paths (segmentation, then paging through
 * the TLB, then physical RAM or device memory). Instruction semantics live in `ops/`, the
 * decoder in `decoder.ts`, the run loop in `execute.ts`.
 */
import type { AccessSize, CpuBus } from './bus';
import { CpuFault, GP, SS_FAULT } from './exceptions';
import { LazyOp } from './flags';
import { translateSlow } from './paging';
import {
  CR0_ET, CR0_PE, CR0_PG, CS, DS, ES, FLAG_IF, FLAGS_FIXED_ONE, FS, GS, SS,
} from './registers';
import { TLB_DEVICE, TLB_SUP_WRITE, TLB_USER_READ, TLB_USER_WRITE, TLB_VALID, Tlb } from './tlb';
import type { CodeCache } from './codeCache';
import type { CpuModel } from './cpuid';
import type { Monitor } from './monitor';
import type { DeliveredEvent } from './interrupts';
import { QEMU32 } from './cpuid';
import { MsrBank } from './msrs';
import { VmxState } from './vmx/state';
import { FpuState } from './fpu/state';

/** Access rights as the VMCS stores them (SDM Vol. 3C, 24.4.1): type, S, DPL, P, AVL, D/B, G, unusable. */
export const AR_TYPE_ACCESSED = 1;
export const AR_S = 1 << 4;
export const AR_P = 1 << 7;
export const AR_DB = 1 << 14;
export const AR_G = 1 << 15;
export const AR_UNUSABLE = 1 << 16;
export function arDpl(ar: number): number { return (ar >> 5) & 3; }

/** Why `run` returned before its budget was spent. */
export const enum StopReason {
  None, Halted, TripleFault, Requested, Breakpoint, Exception,
  /** A VM exit with `cpu.vmx.exitToHost` set: host state is loaded and the VMM takes over (vmx/index.ts). */
  VmExit,
}

/** First byte of the page after the one holding `lin`: where a page-crossing access faults (CR2). */
function nextPage(lin: number): number { return ((lin | 0xfff) + 1) | 0; }

export class Cpu {
  readonly bus: CpuBus;
  readonly ram: Uint8Array;
  readonly ram16: Uint16Array;
  readonly ram32: Int32Array;
  readonly mmioPages: Uint8Array;
  readonly ramPages: number;
  model: CpuModel = QEMU32;

  /** General registers in ModR/M order (EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI). */
  readonly regs = new Int32Array(8);
  /** EIP of the next instruction to execute. */
  eip = 0;
  /** EIP of the instruction executing now: faults report it and restart there. */
  eipStart = 0;

  /** EFLAGS; the six status flags named in `lzMask` are stale and computed from the record below. */
  flags = FLAGS_FIXED_ONE;
  lzOp: LazyOp = LazyOp.Logic;
  lzDst = 0;
  lzSrc = 0;
  lzRes = 0;
  lzSize = 32;
  lzCarryIn = 0;
  lzMask = 0;

  /** Segment registers and their descriptor caches, indexed ES, CS, SS, DS, FS, GS. */
  readonly segSel = new Uint16Array(6);
  readonly segBase = new Int32Array(6);
  readonly segLimit = new Float64Array(6);
  readonly segAR = new Int32Array(6);
  /** Offsets valid for reads are [segLo, segHiRead], for writes [segLo, segHiWrite] (derived from limit, type, E, B). */
  readonly segLo = new Float64Array(6);
  readonly segHiRead = new Float64Array(6);
  readonly segHiWrite = new Float64Array(6);
  cpl = 0;
  /** CS.D: default operand and address size 32. */
  code32 = true;
  /** SS.B: the stack pointer is ESP (else SP). */
  stack32 = true;

  gdtrBase = 0; gdtrLimit = 0xffff;
  idtrBase = 0; idtrLimit = 0x3ff;
  ldtrSel = 0; ldtrBase = 0; ldtrLimit = 0; ldtrAR = AR_UNUSABLE;
  trSel = 0; trBase = 0; trLimit = 0; trAR = 0x8b;

  cr0 = CR0_ET | CR0_PE;
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  readonly dr = new Int32Array(8);

  sysenterCs = 0; sysenterEsp = 0; sysenterEip = 0;
  /** Added to the instruction count to form the TSC (WRMSR to IA32_TIME_STAMP_COUNTER sets it). */
  tscOffset = 0;
  apicBase = 0xfee00900;
  readonly msrBank = new MsrBank();
  /** The x87 FPU (fpu/state.ts). */
  readonly fpu = new FpuState();

  /** Guest instructions retired. */
  icount = 0;
  /** The run loop stops when `icount` (plus exceptions delivered) reaches this (execute.ts). */
  runUntil = 0;
  halted = false;
  /** Interrupts stay blocked until `icount` passes this (STI and MOV/POP SS shadows, SDM Vol. 3A, 6.8.3). */
  inhibitUntil = -1;
  /** The same for the MOV/POP SS shadow alone, which VMX tells apart from STI's (interruptibility state). */
  movSsShadowUntil = -1;
  /** Set by an instruction that changed something the current block was decoded under (or wrote to it). */
  leaveBlock = false;
  stopReason = StopReason.None;
  stopMessage = '';
  /** A breakpoint at EIP is not taken while `icount` equals this: set it to resume from a breakpoint. */
  resumeIcount = -1;
  /**
   * The debugger's exception breakpoints: asked before an exception is delivered (errorCode
   * undefined when it has none). Returning true stops the run loop with StopReason.Exception
   * and the exception not delivered, EIP at the instruction that raised it; resuming executes
   * that instruction again, which raises the exception again.
   */
  onException: ((vector: number, errorCode: number | undefined) => boolean) | undefined = undefined;
  /** Told of every event delivered through a protected-mode IDT gate, once the handler's frame is pushed (the debugger's stack walk). */
  onDeliver: ((event: DeliveredEvent) => void) | undefined = undefined;
  /** The virtual machine monitor running this CPU's guest (monitor.ts), or undefined on bare metal. */
  monitor: Monitor | undefined = undefined;

  readonly tlb = new Tlb();
  /** Permission bits a TLB entry needs for the fast path at the current CPL. */
  tlbReadNeed = TLB_VALID;
  tlbWriteNeed = TLB_SUP_WRITE;
  /**
   * Pages that hold decoded code: writes to them invalidate the decoded blocks (self-modifying
   * code). Processors sharing RAM share this map (index.ts createCpu).
   */
  readonly codePages: Uint8Array;
  code!: CodeCache;

  /** The one exception object raising throws. */
  readonly fault = new CpuFault();
  /** Exception being delivered, for the double- and triple-fault rules (-1 when none). */
  delivering = -1;
  /** The exceptions that led to a triple fault, for the report. */
  faultChain: string[] = [];

  /** Linear address of the last read-modify-write operand (see `rmwRead*`). */
  rmwLin = 0;

  /** VMX operation (vmx/): VMXON and VMCS pointers, and the controls in force in non-root operation. */
  readonly vmx = new VmxState();
  /** In VMX non-root operation: the run loop checks every instruction for a VM exit (vmx/exits.ts). */
  vmxNonRoot = false;
  /** An instruction fetch is translating: EPT tells execute from read permission (vmx/ept.ts). */
  fetching = false;

  /**
   * Linear pages holding debugger watchpoints (non-zero: watched), or undefined when there are
   * none. Their TLB entries never take the fast path (paging.ts), so every data access to them
   * reaches `onWatchedAccess` on the slow path, before it is made.
   */
  watchedPages: Uint8Array | undefined = undefined;
  onWatchedAccess: (lin: number, size: number, write: boolean) => void = () => {};

  constructor(bus: CpuBus, codePages: Uint8Array = new Uint8Array(1 << 20)) {
    this.bus = bus;
    this.codePages = codePages;
    this.ram = bus.ram;
    this.ram16 = new Uint16Array(bus.ram.buffer, bus.ram.byteOffset, bus.ram.length >> 1);
    this.ram32 = new Int32Array(bus.ram.buffer, bus.ram.byteOffset, bus.ram.length >> 2);
    this.mmioPages = bus.mmioPages;
    this.ramPages = bus.ram.length >>> 12;
  }

  // ---- raising exceptions ---------------------------------------------------------------

  raise(vector: number): never {
    const f = this.fault;
    f.vector = vector; f.errorCode = 0; f.hasErrorCode = false;
    throw f;
  }

  raiseWithCode(vector: number, errorCode: number): never {
    const f = this.fault;
    f.vector = vector; f.errorCode = errorCode & 0xffff_ffff; f.hasErrorCode = true;
    throw f;
  }

  // ---- segmented access -----------------------------------------------------------------

  /** Linear address of seg:offset for a read of `size` bytes, after the limit and type checks. */
  linRead(seg: number, offset: number, size: number): number {
    const off = offset >>> 0;
    if (off < this.segLo[seg] || off + size - 1 > this.segHiRead[seg]) this.segmentFault(seg);
    return (this.segBase[seg] + off) | 0;
  }

  linWrite(seg: number, offset: number, size: number): number {
    const off = offset >>> 0;
    if (off < this.segLo[seg] || off + size - 1 > this.segHiWrite[seg]) this.segmentFault(seg);
    return (this.segBase[seg] + off) | 0;
  }

  /** #SS(0) for the stack segment, #GP(0) otherwise (SDM Vol. 3A, 5.3). */
  segmentFault(seg: number): never {
    return this.raiseWithCode(seg === SS ? SS_FAULT : GP, 0);
  }

  read8(seg: number, off: number): number { return this.readLin8(this.linRead(seg, off, 1)); }
  read16(seg: number, off: number): number { return this.readLin16(this.linRead(seg, off, 2)); }
  read32(seg: number, off: number): number { return this.readLin32(this.linRead(seg, off, 4)); }
  write8(seg: number, off: number, v: number): void { this.writeLin8(this.linWrite(seg, off, 1), v); }
  write16(seg: number, off: number, v: number): void { this.writeLin16(this.linWrite(seg, off, 2), v); }
  write32(seg: number, off: number, v: number): void { this.writeLin32(this.linWrite(seg, off, 4), v); }

  /** Read of a read-modify-write operand: checks write access too, so the write cannot fault. */
  rmwRead8(seg: number, off: number): number {
    const lin = this.linWrite(seg, off, 1);
    this.probeWrite(lin, 1);
    this.rmwLin = lin;
    return this.readLin8(lin);
  }
  rmwRead16(seg: number, off: number): number {
    const lin = this.linWrite(seg, off, 2);
    this.probeWrite(lin, 2);
    this.rmwLin = lin;
    return this.readLin16(lin);
  }
  rmwRead32(seg: number, off: number): number {
    const lin = this.linWrite(seg, off, 4);
    this.probeWrite(lin, 4);
    this.rmwLin = lin;
    return this.readLin32(lin);
  }
  rmwWrite8(v: number): void { this.writeLin8(this.rmwLin, v); }
  rmwWrite16(v: number): void { this.writeLin16(this.rmwLin, v); }
  rmwWrite32(v: number): void { this.writeLin32(this.rmwLin, v); }

  // ---- linear access (paging through the TLB) -------------------------------------------

  /** Physical address for a read at `lin` from the current CPL (#PF if not allowed). */
  physRead(lin: number): number {
    const e = this.tlb.entries[lin >>> 12];
    if ((e & this.tlbReadNeed) !== 0) return (e & ~0xfff) | (lin & 0xfff);
    return translateSlow(this, lin, false, this.cpl === 3);
  }

  physWrite(lin: number): number {
    const e = this.tlb.entries[lin >>> 12];
    if ((e & this.tlbWriteNeed) !== 0) return (e & ~0xfff) | (lin & 0xfff);
    return translateSlow(this, lin, true, this.cpl === 3);
  }

  /** Makes sure a write of `size` bytes at `lin` would not fault (both pages if it crosses one). */
  probeWrite(lin: number, size: number): void {
    this.physWrite(lin);
    if ((lin & 0xfff) + size > 0x1000) this.physWrite(nextPage(lin));
  }

  readLin8(lin: number): number {
    const e = this.tlb.entries[lin >>> 12];
    if ((e & this.tlbReadNeed) !== 0 && (e & TLB_DEVICE) === 0) return this.ram[(e & ~0xfff) | (lin & 0xfff)];
    const p = this.physRead(lin);
    this.watch(lin, 1, false);
    return this.readPhys8(p);
  }

  readLin16(lin: number): number {
    const e = this.tlb.entries[lin >>> 12];
    if ((e & this.tlbReadNeed) !== 0 && (e & TLB_DEVICE) === 0 && (lin & 0xfff) !== 0xfff) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      return (p & 1) === 0 ? this.ram16[p >>> 1] : this.ram[p] | (this.ram[p + 1] << 8);
    }
    return this.readLin16Slow(lin);
  }

  readLin32(lin: number): number {
    const e = this.tlb.entries[lin >>> 12];
    if ((e & this.tlbReadNeed) !== 0 && (e & TLB_DEVICE) === 0 && (lin & 0xfff) <= 0xffc) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      if ((p & 3) === 0) return this.ram32[p >>> 2];
      const r = this.ram;
      return r[p] | (r[p + 1] << 8) | (r[p + 2] << 16) | (r[p + 3] << 24);
    }
    return this.readLin32Slow(lin);
  }

  writeLin8(lin: number, v: number): void {
    const e = this.tlb.entries[lin >>> 12];
    if ((e & this.tlbWriteNeed) !== 0 && (e & TLB_DEVICE) === 0) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      if (this.codePages[p >>> 12] !== 0) this.code.invalidatePage(p >>> 12);
      this.ram[p] = v;
      return;
    }
    const p = this.physWrite(lin);
    this.watch(lin, 1, true);
    this.writePhys8(p, v);
  }

  writeLin16(lin: number, v: number): void {
    const e = this.tlb.entries[lin >>> 12];
    if ((e & this.tlbWriteNeed) !== 0 && (e & TLB_DEVICE) === 0 && (lin & 0xfff) !== 0xfff) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      if (this.codePages[p >>> 12] !== 0) this.code.invalidatePage(p >>> 12);
      if ((p & 1) === 0) this.ram16[p >>> 1] = v;
      else { this.ram[p] = v; this.ram[p + 1] = v >> 8; }
      return;
    }
    this.writeLin16Slow(lin, v);
  }

  writeLin32(lin: number, v: number): void {
    const e = this.tlb.entries[lin >>> 12];
    if ((e & this.tlbWriteNeed) !== 0 && (e & TLB_DEVICE) === 0 && (lin & 0xfff) <= 0xffc) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      if (this.codePages[p >>> 12] !== 0) this.code.invalidatePage(p >>> 12);
      if ((p & 3) === 0) this.ram32[p >>> 2] = v;
      else { const r = this.ram; r[p] = v; r[p + 1] = v >> 8; r[p + 2] = v >> 16; r[p + 3] = v >> 24; }
      return;
    }
    this.writeLin32Slow(lin, v);
  }

  private readLin16Slow(lin: number): number {
    if ((lin & 0xfff) !== 0xfff) {
      const p = this.physRead(lin);
      this.watch(lin, 2, false);
      return this.readPhys(p, 2);
    }
    // Crossing a page: translate both pages before reading either.
    const p0 = this.physRead(lin), p1 = this.physRead(nextPage(lin));
    this.watch(lin, 2, false);
    return this.readPhys8(p0) | (this.readPhys8(p1) << 8);
  }

  private readLin32Slow(lin: number): number {
    if ((lin & 0xfff) <= 0xffc) {
      const p = this.physRead(lin);
      this.watch(lin, 4, false);
      return this.readPhys(p, 4);
    }
    const p0 = this.physRead(lin), p1 = this.physRead(nextPage(lin));
    this.watch(lin, 4, false);
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const a = (lin + k) & 0xfff;
      v |= this.readPhys8(a >= (lin & 0xfff) ? p0 + k : (p1 & ~0xfff) | a) << (8 * k);
    }
    return v;
  }

  private writeLin16Slow(lin: number, v: number): void {
    if ((lin & 0xfff) !== 0xfff) {
      const p = this.physWrite(lin);
      this.watch(lin, 2, true);
      this.writePhys(p, 2, v);
      return;
    }
    const p0 = this.physWrite(lin), p1 = this.physWrite(nextPage(lin));
    this.watch(lin, 2, true);
    this.writePhys8(p0, v);
    this.writePhys8(p1, v >> 8);
  }

  private writeLin32Slow(lin: number, v: number): void {
    if ((lin & 0xfff) <= 0xffc) {
      const p = this.physWrite(lin);
      this.watch(lin, 4, true);
      this.writePhys(p, 4, v);
      return;
    }
    const p0 = this.physWrite(lin), p1 = this.physWrite(nextPage(lin));
    this.watch(lin, 4, true);
    for (let k = 0; k < 4; k++) {
      const a = (lin + k) & 0xfff;
      this.writePhys8(a >= (lin & 0xfff) ? p0 + k : (p1 & ~0xfff) | a, v >> (8 * k));
    }
  }

  /** Tells the debugger of a data access (not an instruction fetch) touching a watched page; it has been translated, not yet made. */
  private watch(lin: number, size: number, write: boolean): void {
    const pages = this.watchedPages;
    if (pages === undefined || this.fetching) return;
    if (pages[lin >>> 12] !== 0 || pages[((lin + size - 1) | 0) >>> 12] !== 0) this.onWatchedAccess(lin, size, write);
  }

  // ---- physical access ------------------------------------------------------------------

  isRamPage(page: number): boolean { return page < this.ramPages && this.mmioPages[page] === 0; }

  readPhys8(p: number): number {
    return this.isRamPage(p >>> 12) ? this.ram[p] : this.bus.mmioRead(p >>> 0, 1) & 0xff;
  }

  writePhys8(p: number, v: number): void {
    const page = p >>> 12;
    if (!this.isRamPage(page)) { this.bus.mmioWrite(p >>> 0, 1, v & 0xff); return; }
    if (this.codePages[page] !== 0) this.code.invalidatePage(page);
    this.ram[p] = v;
  }

  /** A naturally contained access (does not cross a page). */
  readPhys(p: number, size: AccessSize): number {
    if (!this.isRamPage(p >>> 12)) {
      const v = this.bus.mmioRead(p >>> 0, size);
      return size === 4 ? v | 0 : v & (size === 1 ? 0xff : 0xffff);
    }
    const r = this.ram;
    if (size === 1) return r[p];
    if (size === 2) return r[p] | (r[p + 1] << 8);
    return r[p] | (r[p + 1] << 8) | (r[p + 2] << 16) | (r[p + 3] << 24);
  }

  writePhys(p: number, size: AccessSize, v: number): void {
    const page = p >>> 12;
    if (!this.isRamPage(page)) {
      this.bus.mmioWrite(p >>> 0, size, size === 4 ? v >>> 0 : v & (size === 1 ? 0xff : 0xffff));
      return;
    }
    if (this.codePages[page] !== 0) this.code.invalidatePage(page);
    const r = this.ram;
    r[p] = v;
    if (size >= 2) r[p + 1] = v >> 8;
    if (size === 4) { r[p + 2] = v >> 16; r[p + 3] = v >> 24; }
  }

  /** 32-bit physical read for page walks and descriptor tables (always little-endian RAM or device). */
  readPhys32(p: number): number { return this.readPhys(p, 4); }
  writePhys32(p: number, v: number): void { this.writePhys(p, 4, v); }

  // ---- system-level reads that bypass segmentation (GDT, IDT, TSS are linear) -----------

  /** Reads at a linear address with supervisor rights, as the processor does for system tables. */
  readSys32(lin: number): number {
    const saved = this.cpl;
    if (saved === 3) this.setCplForSystemAccess(0);
    try { return this.readLin32(lin); } finally { if (saved === 3) this.setCplForSystemAccess(3); }
  }

  readSys16(lin: number): number {
    const saved = this.cpl;
    if (saved === 3) this.setCplForSystemAccess(0);
    try { return this.readLin16(lin); } finally { if (saved === 3) this.setCplForSystemAccess(3); }
  }

  writeSys32(lin: number, v: number): void {
    const saved = this.cpl;
    if (saved === 3) this.setCplForSystemAccess(0);
    try { this.writeLin32(lin, v); } finally { if (saved === 3) this.setCplForSystemAccess(3); }
  }

  writeSys16(lin: number, v: number): void {
    const saved = this.cpl;
    if (saved === 3) this.setCplForSystemAccess(0);
    try { this.writeLin16(lin, v); } finally { if (saved === 3) this.setCplForSystemAccess(3); }
  }

  private setCplForSystemAccess(cpl: number): void {
    this.cpl = cpl;
    this.updateTlbNeeds();
  }

  // ---- mode bookkeeping -----------------------------------------------------------------

  setCpl(cpl: number): void {
    this.cpl = cpl;
    this.updateTlbNeeds();
  }

  /** Which TLB bits the fast paths require: CPL 3 needs user rights. */
  updateTlbNeeds(): void {
    const user = this.cpl === 3;
    this.tlbReadNeed = user ? TLB_USER_READ : TLB_VALID;
    this.tlbWriteNeed = user ? TLB_USER_WRITE : TLB_SUP_WRITE;
  }

  get pagingEnabled(): boolean { return (this.cr0 & CR0_PG) !== 0; }
  get protectedMode(): boolean { return (this.cr0 & CR0_PE) !== 0; }
  get interruptsEnabled(): boolean { return (this.flags & FLAG_IF) !== 0; }

  /**
   * Loads a segment register's hidden part directly (reset, Multiboot hand-off, VM entry,
   * and the descriptor loads in segmentation.ts after their checks).
   */
  setSegmentCache(seg: number, sel: number, base: number, limit: number, ar: number): void {
    this.segSel[seg] = sel;
    this.segBase[seg] = base | 0;
    this.segLimit[seg] = limit >>> 0;
    this.segAR[seg] = ar;
    this.updateSegmentBounds(seg);
    if (seg === CS) { this.code32 = (ar & AR_DB) !== 0; this.tlb.epoch++; }
    else if (seg === SS) this.stack32 = (ar & AR_DB) !== 0;
  }

  /** Derives the valid offset ranges from limit and type (SDM Vol. 3A, 5.3 and 3.4.5.1). */
  updateSegmentBounds(seg: number): void {
    const ar = this.segAR[seg];
    const limit = this.segLimit[seg];
    if ((ar & AR_UNUSABLE) !== 0 || (ar & AR_P) === 0) {
      // Null or unusable selector: any access faults (#GP(0); #SS(0) cannot happen as SS is never null at CPL 3).
      this.segLo[seg] = 1; this.segHiRead[seg] = -1; this.segHiWrite[seg] = -1;
      return;
    }
    const type = ar & 0xf;
    const isCode = (type & 8) !== 0;
    const expandDown = !isCode && (type & 4) !== 0;
    let lo = 0, hi = limit;
    if (expandDown) { lo = limit + 1; hi = (ar & AR_DB) !== 0 ? 0xffff_ffff : 0xffff; }
    if (!this.protectedMode) { lo = 0; hi = limit; }
    this.segLo[seg] = lo;
    const readable = !isCode || (type & 2) !== 0;
    const writable = !isCode && (type & 2) !== 0;
    this.segHiRead[seg] = readable || !this.protectedMode ? hi : -1;
    this.segHiWrite[seg] = writable || !this.protectedMode ? hi : -1;
  }

  /** The state a Multiboot loader leaves (flat 4 GiB ring-0 segments, paging and interrupts off). */
  resetToFlatProtectedMode(): void {
    this.cr0 = CR0_ET | CR0_PE;
    this.cr2 = 0; this.cr3 = 0; this.cr4 = 0;
    this.flags = FLAGS_FIXED_ONE;
    this.lzMask = 0;
    this.setCpl(0);
    const code = 0x9b | AR_DB | AR_G;   // type 0xb: execute/read, accessed
    const data = 0x93 | AR_DB | AR_G;   // type 0x3: read/write, accessed
    this.setSegmentCache(CS, 0x08, 0, 0xffff_ffff, code);
    for (const s of [ES, SS, DS, FS, GS]) this.setSegmentCache(s, 0x10, 0, 0xffff_ffff, data);
    this.tlb.flush(false);
    this.halted = false;
    this.inhibitUntil = -1;
    this.movSsShadowUntil = -1;
    this.delivering = -1;
    this.vmx.reset();
    this.vmxNonRoot = false;
    this.fpu.reset();
  }

  /** Stops the run loop at the next instruction boundary. */
  requestStop(reason: StopReason, message = ''): void {
    this.stopReason = reason;
    this.stopMessage = message;
  }
}

export { SS, CS, DS, ES, FS, GS };
