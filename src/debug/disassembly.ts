/**
 * Disassembly for the debugger: a window of instructions around an address, each with its
 * bytes, nasm-syntax text (src/cpu/disasm, relative targets named by the image's labels),
 * label and source line.
 */
import { disassemble as disassembleOne } from '../cpu/disasm/index';
import { MAX_INSTRUCTION_LENGTH } from './instructions';
import type { GuestMemory } from './guestMemory';
import type { SourceMap } from './sourceMap';
import type { SymbolTable } from './symbols';

export interface DisassembledLine {
  address: number;
  /** Hex bytes separated by spaces; empty for unreadable memory. */
  bytes: string;
  text: string;
  /** A label starts here. */
  symbol?: string;
  /** The source line this instruction starts, when it starts one. */
  location?: { file: string; line: number };
  invalid: boolean;
}

export interface DisassemblyContext {
  memory: GuestMemory;
  symbols: SymbolTable;
  sourceMap?: SourceMap;
  code32: boolean;
  /** CS.base: 16-bit relative targets wrap within the segment. */
  csBase: number;
}

/** How far back to start decoding to find the instructions before an address. */
const BACKTRACK = 256;

/**
 * `count` instructions starting `offset` instructions from `address` (negative: before it).
 * Always exactly `count` lines, as the DAP disassemble request requires; memory that cannot be
 * read or decoded gives one-byte lines marked invalid.
 */
export function disassemble(ctx: DisassemblyContext, address: number, offset: number, count: number): DisassembledLine[] {
  let start = address >>> 0;
  const lines: DisassembledLine[] = [];
  if (offset < 0) {
    const before = linesBefore(ctx, start, -offset).slice(offset);
    while (before.length < -offset) before.unshift(invalidLine((before[0]?.address ?? start) - 1));
    lines.push(...before);
    offset = 0;
  }
  // Skip forward `offset` instructions, then decode.
  for (let k = 0; k < offset; k++) start = (start + decodeAt(ctx, start).length) >>> 0;
  while (lines.length < count) {
    const line = decodeAt(ctx, start);
    lines.push(line.line);
    start = (start + line.length) >>> 0;
  }
  return lines.slice(0, count);
}

/**
 * The `n` instructions ending at `address`. x86 code cannot be decoded backwards: decode
 * forward from a label or from BACKTRACK bytes before, and keep a run that lands exactly on
 * `address` with valid instructions (decoding usually resynchronizes within a few).
 */
function linesBefore(ctx: DisassemblyContext, address: number, n: number): DisassembledLine[] {
  const reach = Math.max(BACKTRACK, n * MAX_INSTRUCTION_LENGTH);
  const starts: number[] = [];
  const first = Math.max(0, address - reach);
  for (let a = first; a < first + 16 && a < address; a++) starts.push(a);
  const label = ctx.symbols.containing(address - 1);
  if (label !== undefined) starts.push(label.address);
  for (const from of starts) {
    const run: DisassembledLine[] = [];
    let a = from;
    while (a < address) {
      const d = decodeAt(ctx, a);
      run.push(d.line);
      a += d.length;
    }
    if (a === address && run.slice(-n).every((l) => !l.invalid)) return run;
  }
  return [];
}

function decodeAt(ctx: DisassemblyContext, address: number): { line: DisassembledLine; length: number } {
  const d = disassembleOne((lin) => ctx.memory.byteAt(lin), address, {
    bits: ctx.code32 ? 32 : 16, csBase: ctx.csBase, symbolize: (target) => ctx.symbols.describe(target),
  });
  if (d.bytes.length === 0) return { line: invalidLine(address), length: 1 };
  const line: DisassembledLine = { address, bytes: hexBytes(d.bytes), text: d.text, invalid: false };
  const label = ctx.symbols.containing(address);
  if (label !== undefined && label.address === address) line.symbol = label.name;
  const loc = ctx.sourceMap?.lookup(address);
  if (loc !== undefined && loc.start === address) line.location = { file: loc.file, line: loc.line };
  return { line, length: d.length };
}

function invalidLine(address: number): DisassembledLine {
  return { address: address >>> 0, bytes: '', text: '??', invalid: true };
}

function hexBytes(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');
}
