/**
 * String instructions (SDM Vol. 2; Vol. 1, 7.3.9): MOVS, CMPS, STOS, LODS, SCAS, INS and OUTS
 * with REP/REPE/REPNE. The source is DS:(E)SI unless overridden, the destination always
 * ES:(E)DI; the address size picks SI/DI/CX or ESI/EDI/ECX, and DF the direction.
 *
 * A REP instruction is restartable: every iteration commits ECX, ESI and EDI, so a fault
 * part way leaves them counting the iterations done, and the run loop restarts the same
 * instruction after the handler returns. One execution does at most REP_BATCH iterations and
 * then points EIP back at itself, so interrupts and stop requests get in between.
 *
 * Forward REP MOVS and REP STOS, what kernels use for memcpy and memset, copy or fill whole
 * runs within a page straight in RAM once the first element's page has been translated;
 * anything the fast path cannot do exactly (segment ends, device memory, overlap closer than
 * the run, elements crossing a page) goes one element at a time through the checked accessors.
 */
import type { AccessSize } from '../bus';
import type { Cpu } from '../cpu';
import { LazyOp, setLazy } from '../flags';
import { REP_E, REP_NONE, type Insn } from '../insn';
import { checkIoPermission } from '../ioPermission';
import { defineOp } from '../opcodeTable';
import { setReg16, setReg8 } from '../operands';
import { DS, EAX, ECX, EDI, EDX, ES, ESI, FLAG_DF } from '../registers';

/** Iterations one execution of a REP instruction may do before letting the run loop in. */
const REP_BATCH = 4096;

/** One iteration; returns whether a REPE/REPNE repetition goes on (ignored otherwise). */
type Step = (cpu: Cpu, i: Insn, size: AccessSize) => boolean;

function sourceSegment(i: Insn): number { return i.segOverride >= 0 ? i.segOverride : DS; }

function index(cpu: Cpu, r: number, a32: boolean): number { return a32 ? cpu.regs[r] : cpu.regs[r] & 0xffff; }

/** Steps ESI or EDI (SI or DI alone with a 16-bit address size) by `delta`. */
function advance(cpu: Cpu, r: number, delta: number, a32: boolean): void {
  const v = cpu.regs[r] + delta;
  cpu.regs[r] = a32 ? v : (cpu.regs[r] & ~0xffff) | (v & 0xffff);
}

function counter(cpu: Cpu, a32: boolean): number { return a32 ? cpu.regs[ECX] >>> 0 : cpu.regs[ECX] & 0xffff; }

function setCounter(cpu: Cpu, a32: boolean, n: number): void {
  if (a32) cpu.regs[ECX] = n; else setReg16(cpu, ECX, n);
}

function stride(cpu: Cpu, size: number): number { return (cpu.flags & FLAG_DF) !== 0 ? -size : size; }

function read(cpu: Cpu, seg: number, off: number, size: number): number {
  return size === 1 ? cpu.read8(seg, off) : size === 2 ? cpu.read16(seg, off) : cpu.read32(seg, off);
}

function write(cpu: Cpu, seg: number, off: number, size: number, v: number): void {
  if (size === 1) cpu.write8(seg, off, v); else if (size === 2) cpu.write16(seg, off, v); else cpu.write32(seg, off, v);
}

function accumulator(cpu: Cpu, size: number): number {
  const v = cpu.regs[EAX];
  return size === 1 ? v & 0xff : size === 2 ? v & 0xffff : v;
}

function setAccumulator(cpu: Cpu, size: number, v: number): void {
  if (size === 1) setReg8(cpu, EAX, v); else if (size === 2) setReg16(cpu, EAX, v); else cpu.regs[EAX] = v;
}

function isZero(v: number, size: number): boolean {
  return (size === 4 ? v : v & ((1 << (size * 8)) - 1)) === 0;
}

/** Leaves the remaining iterations to the next execution of this same instruction. */
function resume(cpu: Cpu): void {
  cpu.eip = cpu.eipStart;
  cpu.leaveBlock = true;
}

/** Runs `step` once, or under REP as long as the counter (and the REPE/REPNE condition) allow. */
function repeat(cpu: Cpu, i: Insn, size: AccessSize, step: Step): void {
  if (i.rep === REP_NONE) { step(cpu, i, size); return; }
  const a32 = i.a32;
  let n = counter(cpu, a32);
  for (let budget = REP_BATCH; n !== 0; budget--) {
    if (budget === 0) { resume(cpu); return; }
    const more = step(cpu, i, size);
    n--;
    setCounter(cpu, a32, n);
    if (!more) return;
  }
}

// ---- single iterations --------------------------------------------------------------------

function movsStep(cpu: Cpu, i: Insn, size: AccessSize): boolean {
  const a32 = i.a32, d = stride(cpu, size);
  const v = read(cpu, sourceSegment(i), index(cpu, ESI, a32), size);
  write(cpu, ES, index(cpu, EDI, a32), size, v);
  advance(cpu, ESI, d, a32);
  advance(cpu, EDI, d, a32);
  return true;
}

/** CMPS compares source with destination as CMP [ESI], [EDI] would. */
function cmpsStep(cpu: Cpu, i: Insn, size: AccessSize): boolean {
  const a32 = i.a32, d = stride(cpu, size);
  const a = read(cpu, sourceSegment(i), index(cpu, ESI, a32), size);
  const b = read(cpu, ES, index(cpu, EDI, a32), size);
  const res = (a - b) | 0;
  setLazy(cpu, LazyOp.Sub, a, b, res, size * 8);
  advance(cpu, ESI, d, a32);
  advance(cpu, EDI, d, a32);
  return isZero(res, size) === (i.rep === REP_E);
}

function scasStep(cpu: Cpu, i: Insn, size: AccessSize): boolean {
  const a32 = i.a32;
  const a = accumulator(cpu, size);
  const b = read(cpu, ES, index(cpu, EDI, a32), size);
  const res = (a - b) | 0;
  setLazy(cpu, LazyOp.Sub, a, b, res, size * 8);
  advance(cpu, EDI, stride(cpu, size), a32);
  return isZero(res, size) === (i.rep === REP_E);
}

function stosStep(cpu: Cpu, i: Insn, size: AccessSize): boolean {
  write(cpu, ES, index(cpu, EDI, i.a32), size, cpu.regs[EAX]);
  advance(cpu, EDI, stride(cpu, size), i.a32);
  return true;
}

function lodsStep(cpu: Cpu, i: Insn, size: AccessSize): boolean {
  setAccumulator(cpu, size, read(cpu, sourceSegment(i), index(cpu, ESI, i.a32), size));
  advance(cpu, ESI, stride(cpu, size), i.a32);
  return true;
}

/** INS: the destination is checked for a write before the port is read, so a fault loses no input. */
function insStep(cpu: Cpu, i: Insn, size: AccessSize): boolean {
  const lin = cpu.linWrite(ES, index(cpu, EDI, i.a32), size);
  cpu.probeWrite(lin, size);
  const v = cpu.bus.ioRead(cpu.regs[EDX] & 0xffff, size);
  if (size === 1) cpu.writeLin8(lin, v); else if (size === 2) cpu.writeLin16(lin, v); else cpu.writeLin32(lin, v);
  advance(cpu, EDI, stride(cpu, size), i.a32);
  return true;
}

function outsStep(cpu: Cpu, i: Insn, size: AccessSize): boolean {
  const v = read(cpu, sourceSegment(i), index(cpu, ESI, i.a32), size);
  cpu.bus.ioWrite(cpu.regs[EDX] & 0xffff, size, size === 4 ? v >>> 0 : v);
  advance(cpu, ESI, stride(cpu, size), i.a32);
  return true;
}

// ---- bulk REP MOVS / REP STOS -------------------------------------------------------------

/**
 * Bytes from offset `off` of `seg` that lie within the segment's valid range up to `hi`,
 * within the 64 KiB of a 16-bit address size, and within the page of linear address `lin`.
 */
function span(cpu: Cpu, seg: number, hi: number, off: number, a32: boolean, lin: number): number {
  if (off < cpu.segLo[seg]) return 0;
  const end = a32 ? hi : Math.min(hi, 0xffff);
  return Math.min(end - off + 1, 0x1000 - (lin & 0xfff));
}

/** Copies up to `max` elements forward within one source and one destination page; returns how many (0: take the slow path). */
function movsBulk(cpu: Cpu, i: Insn, size: AccessSize, max: number): number {
  const a32 = i.a32, seg = sourceSegment(i);
  const si = index(cpu, ESI, a32) >>> 0, di = index(cpu, EDI, a32) >>> 0;
  const linS = (cpu.segBase[seg] + si) | 0, linD = (cpu.segBase[ES] + di) | 0;
  let n = Math.min(max,
    Math.floor(span(cpu, seg, cpu.segHiRead[seg], si, a32, linS) / size),
    Math.floor(span(cpu, ES, cpu.segHiWrite[ES], di, a32, linD) / size));
  if (n <= 0) return 0;
  // Translate in the order the first element accesses memory: read, then write.
  const ps = cpu.physRead(linS);
  const pd = cpu.physWrite(linD);
  if (!cpu.isRamPage(ps >>> 12) || !cpu.isRamPage(pd >>> 12)) return 0;
  // Element by element, a destination just above the source re-reads bytes already written;
  // a block move does not, so the run stops short of the first such element.
  const gap = pd - ps;
  if (gap > 0 && gap < n * size) n = Math.floor(gap / size);
  if (n === 0) return 0;
  const bytes = n * size;
  if (cpu.codePages[pd >>> 12] !== 0) cpu.code.invalidatePage(pd >>> 12);
  cpu.ram.copyWithin(pd, ps, ps + bytes);
  advance(cpu, ESI, bytes, a32);
  advance(cpu, EDI, bytes, a32);
  return n;
}

/** Fills up to `max` elements forward within one page; returns how many (0: take the slow path). */
function stosBulk(cpu: Cpu, i: Insn, size: AccessSize, max: number): number {
  const a32 = i.a32;
  const di = index(cpu, EDI, a32) >>> 0;
  const linD = (cpu.segBase[ES] + di) | 0;
  const n = Math.min(max, Math.floor(span(cpu, ES, cpu.segHiWrite[ES], di, a32, linD) / size));
  if (n <= 0) return 0;
  const pd = cpu.physWrite(linD);
  if (!cpu.isRamPage(pd >>> 12)) return 0;
  if (cpu.codePages[pd >>> 12] !== 0) cpu.code.invalidatePage(pd >>> 12);
  const v = cpu.regs[EAX];
  const ram = cpu.ram;
  if (size === 1) ram.fill(v & 0xff, pd, pd + n);
  else if (size === 2 && (pd & 1) === 0) cpu.ram16.fill(v & 0xffff, pd >>> 1, (pd >>> 1) + n);
  else if (size === 4 && (pd & 3) === 0) cpu.ram32.fill(v, pd >>> 2, (pd >>> 2) + n);
  else for (let p = pd, end = pd + n * size; p < end; p++) ram[p] = v >> (8 * ((p - pd) % size));
  advance(cpu, EDI, n * size, a32);
  return n;
}

type Bulk = (cpu: Cpu, i: Insn, size: AccessSize, max: number) => number;

/**
 * REP MOVS/STOS: bulk runs when going forward, single checked steps where a run cannot go, and
 * while the debugger watches memory (bulk copies do not report their accesses).
 */
function repeatBulk(cpu: Cpu, i: Insn, size: AccessSize, step: Step, bulk: Bulk): void {
  if (i.rep === REP_NONE || (cpu.flags & FLAG_DF) !== 0 || cpu.watchedPages !== undefined) { repeat(cpu, i, size, step); return; }
  const a32 = i.a32;
  let n = counter(cpu, a32);
  let budget = REP_BATCH;
  while (n !== 0) {
    if (budget <= 0) { resume(cpu); return; }
    let done = bulk(cpu, i, size, Math.min(n, budget));
    if (done === 0) { step(cpu, i, size); done = 1; }
    n -= done;
    budget -= done;
    setCounter(cpu, a32, n);
  }
}

// ---- port string instructions ------------------------------------------------------------

/** INS/OUTS check the port once per execution, and not at all when a REP has nothing to do. */
function portString(cpu: Cpu, i: Insn, size: AccessSize, step: Step): void {
  if (i.rep !== REP_NONE && counter(cpu, i.a32) === 0) return;
  checkIoPermission(cpu, cpu.regs[EDX] & 0xffff, size);
  repeat(cpu, i, size, step);
}

// ---- opcodes -----------------------------------------------------------------------------

export function register(): void {
  defineOp(0xa4, { name: 'movs', operands: 'Yb,Xb', names: ['movsb', 'movsb'], exec: (cpu, i) => repeatBulk(cpu, i, 1, movsStep, movsBulk) });
  defineOp(0xa5, {
    name: 'movs', operands: 'Yv,Xv', names: ['movsw', 'movsd'],
    exec16: (cpu, i) => repeatBulk(cpu, i, 2, movsStep, movsBulk),
    exec32: (cpu, i) => repeatBulk(cpu, i, 4, movsStep, movsBulk),
  });
  defineOp(0xaa, { name: 'stos', operands: 'Yb,AL', names: ['stosb', 'stosb'], exec: (cpu, i) => repeatBulk(cpu, i, 1, stosStep, stosBulk) });
  defineOp(0xab, {
    name: 'stos', operands: 'Yv,rAX', names: ['stosw', 'stosd'],
    exec16: (cpu, i) => repeatBulk(cpu, i, 2, stosStep, stosBulk),
    exec32: (cpu, i) => repeatBulk(cpu, i, 4, stosStep, stosBulk),
  });
  const simple: [number, string, Step][] = [[0xa6, 'cmps', cmpsStep], [0xac, 'lods', lodsStep], [0xae, 'scas', scasStep]];
  for (const [op, name, step] of simple) {
    defineOp(op, { name, operands: name === 'cmps' ? 'Xb,Yb' : name === 'lods' ? 'AL,Xb' : 'AL,Yb', names: [`${name}b`, `${name}b`], exec: (cpu, i) => repeat(cpu, i, 1, step) });
    defineOp(op + 1, { name, operands: name === 'cmps' ? 'Xv,Yv' : name === 'lods' ? 'rAX,Xv' : 'rAX,Yv', names: [`${name}w`, `${name}d`], exec16: (cpu, i) => repeat(cpu, i, 2, step), exec32: (cpu, i) => repeat(cpu, i, 4, step) });
  }
  defineOp(0x6c, { name: 'ins', operands: 'Yb,DX', names: ['insb', 'insb'], exec: (cpu, i) => portString(cpu, i, 1, insStep) });
  defineOp(0x6d, { name: 'ins', operands: 'Yz,DX', names: ['insw', 'insd'], exec16: (cpu, i) => portString(cpu, i, 2, insStep), exec32: (cpu, i) => portString(cpu, i, 4, insStep) });
  // A device may raise an interrupt or stop the run on a write: the block ends after OUTS.
  const outs = (cpu: Cpu, i: Insn, size: AccessSize): void => { portString(cpu, i, size, outsStep); cpu.leaveBlock = true; };
  defineOp(0x6e, { name: 'outs', operands: 'DX,Xb', names: ['outsb', 'outsb'], exec: (cpu, i) => outs(cpu, i, 1) });
  defineOp(0x6f, { name: 'outs', operands: 'DX,Xz', names: ['outsw', 'outsd'], exec16: (cpu, i) => outs(cpu, i, 2), exec32: (cpu, i) => outs(cpu, i, 4) });
}
