/**
 * Data breakpoints on guest memory by linear address and length, as x86 debug registers and
 * gdb watchpoints behave: the run stops after the instruction that read or wrote the range
 * has completed, and a write reports the value before and after it.
 *
 * The CPU does the watching (cpu.watchedPages): pages holding a watched range leave the TLB
 * fast path, and every data access that reaches one is reported, before it is made, to
 * `access` here, which notes it and asks the run loop to stop at the end of the instruction.
 * With no data breakpoint set the CPU runs as it does without a debugger.
 */
import { StopReason, type Cpu } from '../cpu/cpu';
import { CS } from '../cpu/registers';
import { Expression, type ExpressionContext } from './expression';
import { DebugRequestError, hex8, type GuestMemory } from './guestMemory';

export const ACCESS_TYPES = ['read', 'write', 'readWrite'] as const;
export type AccessType = (typeof ACCESS_TYPES)[number];

/** The longest range one data breakpoint watches. */
export const MAX_WATCH_BYTES = 0x10000;
const PAGE_COUNT = 1 << 20;

export interface DataTarget {
  address: number;
  length: number;
}

export interface Watch extends DataTarget {
  id: number;
  accessType: AccessType;
}

/** What one instruction did to one watched range. */
export interface DataHit {
  watch: Watch;
  /** 'write' when the instruction wrote the range (it may have read it too). */
  access: 'read' | 'write';
  /** Linear address of the instruction that made the access. */
  pc: number;
  /** The range's bytes before the instruction's first access to it. */
  before: Uint8Array;
  /** The processor (index) that made the access. */
  cpu: number;
}

/** The identifier `dataBreakpointInfo` gives and `setDataBreakpoints` takes: "0x00100200/4". */
export function dataId(t: DataTarget): string {
  return `${hex8(t.address)}/${t.length}`;
}

export function parseDataId(id: string): DataTarget {
  const m = /^0x([0-9a-f]{1,8})\/([0-9]+)$/i.exec(id);
  const length = m === null ? NaN : Number(m[2]);
  if (m === null || !(length >= 1 && length <= MAX_WATCH_BYTES)) {
    throw new DebugRequestError(`'${id}' is not a data breakpoint id of this adapter (ADDRESS/LENGTH, LENGTH 1 to ${MAX_WATCH_BYTES})`);
  }
  return { address: parseInt(m[1], 16), length };
}

/** How many bytes a memory operand or a bare address watches unless told. */
const DEFAULT_LENGTH = 4;

/**
 * The memory `name` stands for, as an expression of the Debug Console: a memory operand
 * (`dword [counter]`, `[esp+4]`, `byte [0x100200]`) is the bytes it reads; a symbol or a number
 * (`counter`, `0x100200`) is the bytes at that address. Anything else (a register's value, a
 * sum read from memory) is not a place in memory, and the message says so.
 */
export function resolveDataTarget(name: string, bytes: number | undefined, ctx: ExpressionContext): DataTarget {
  const expression = Expression.parse(name);
  const operand = expression.memoryOperand();
  let target: DataTarget;
  if (operand !== undefined) {
    target = { address: operand.address.evaluate(ctx).value, length: bytes ?? operand.size };
  } else {
    const r = expression.evaluate(ctx);
    if (!r.isSymbolic && !/^\s*(0x[0-9a-f]+|[0-9][0-9a-f]*h|[0-9]+)\s*$/i.test(name)) {
      throw new DebugRequestError(`'${name}' is a value, not a place in memory: watch a memory operand such as [${name.trim()}] or dword [symbol]`);
    }
    target = { address: r.value, length: bytes ?? DEFAULT_LENGTH };
  }
  checkLength(target.length);
  return target;
}

export function checkLength(length: number): void {
  if (!(Number.isInteger(length) && length >= 1 && length <= MAX_WATCH_BYTES)) {
    throw new DebugRequestError(`a data breakpoint watches 1 to ${MAX_WATCH_BYTES} bytes, not ${length}`);
  }
}

/** "dword at counter (0x00100200)", "12 bytes at 0x00100200". */
export function describeTarget(t: DataTarget, symbol: (address: number) => string | undefined): string {
  const sizeName = t.length === 1 ? 'byte' : t.length === 2 ? 'word' : t.length === 4 ? 'dword' : `${t.length} bytes`;
  const name = symbol(t.address);
  return `${sizeName} at ${name === undefined ? hex8(t.address) : `${name} (${hex8(t.address)})`}`;
}

/** A value of 1, 2 or 4 bytes as a little-endian number, longer ranges as bytes (the first 16). */
export function formatBytes(bytes: Uint8Array): string {
  if (bytes.length === 1 || bytes.length === 2 || bytes.length === 4) {
    let v = 0;
    for (let k = bytes.length - 1; k >= 0; k--) v = v * 256 + bytes[k];
    return `0x${v.toString(16).padStart(bytes.length * 2, '0')}`;
  }
  const shown = [...bytes.subarray(0, 16)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return bytes.length > 16 ? `${shown} ...` : shown;
}

export class DataBreakpoints {
  private watches: Watch[] = [];
  /** Accesses since the last `take`, by watch id (first access of each). */
  private readonly pending = new Map<number, DataHit>();

  /** Every processor's accesses are watched; `memories[k]` is processor k's view of memory. */
  constructor(private readonly cpus: readonly Cpu[], private readonly memories: readonly GuestMemory[]) {}

  /** Replaces the watched ranges. */
  set(watches: readonly Watch[]): void {
    const before = this.pages();
    this.watches = watches.map((w) => ({ ...w, address: w.address >>> 0 }));
    const after = this.pages();
    const marks = after.size === 0 ? undefined : new Uint8Array(PAGE_COUNT);
    for (const page of after) marks![page] = 1;
    this.cpus.forEach((cpu, k) => {
      cpu.watchedPages = marks;
      if (marks !== undefined) cpu.onWatchedAccess = (lin, size, write) => this.access(k, lin, size, write);
      // Pages that changed sides must be translated again to take (or leave) the fast path.
      for (const page of new Set([...before, ...after])) cpu.tlb.invalidate(page);
    });
    this.pending.clear();
  }

  /** After the TLB was reloaded (a snapshot restored): watched pages leave the fast path again. */
  refresh(): void {
    for (const cpu of this.cpus) for (const page of this.pages()) cpu.tlb.invalidate(page);
  }

  /** The accesses made since the last call, and forgets them. */
  take(): DataHit[] {
    if (this.pending.size === 0) return [];
    const hits = [...this.pending.values()];
    this.pending.clear();
    return hits;
  }

  /** The range's bytes now (the readable prefix), as processor `k` sees them. */
  read(w: DataTarget, k = 0): Uint8Array {
    return this.memories[k].read(w.address, w.length).data;
  }

  private pages(): Set<number> {
    const pages = new Set<number>();
    for (const w of this.watches) {
      for (let p = w.address >>> 12; p <= ((w.address + w.length - 1) >>> 12) && p < PAGE_COUNT; p++) pages.add(p);
    }
    return pages;
  }

  private access(k: number, lin: number, size: number, write: boolean): void {
    const start = lin >>> 0;
    const cpu = this.cpus[k];
    for (const w of this.watches) {
      if (start >= w.address + w.length || w.address >= start + size) continue;
      if (w.accessType === (write ? 'read' : 'write')) continue;
      const seen = this.pending.get(w.id);
      if (seen === undefined) {
        const pc = (cpu.segBase[CS] + cpu.eipStart) >>> 0;
        this.pending.set(w.id, { watch: w, access: write ? 'write' : 'read', pc, before: this.read(w, k), cpu: k });
      } else if (write) {
        seen.access = 'write';
      }
      // Stop once this instruction has completed.
      cpu.leaveBlock = true;
      cpu.requestStop(StopReason.Requested);
    }
  }
}
