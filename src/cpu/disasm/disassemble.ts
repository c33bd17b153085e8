/**
 * The disassembler: the CPU's own decoder (decodeFrom, on a byte reader instead of the CPU)
 * and the operand notation of its opcode map, printed in nasm syntax the way ndisasm prints
 * it. It reads memory only through the reader it is given and touches no CPU state.
 */
import { decodeFrom, type CodeReader } from '../decoder';
import { Insn } from '../insn';
import { OPCODE_MAP } from '../opcodeMap';
import { formatOperands, hex, memoryOperand, Shown, type Decoded } from './operands';
import { x87Memory, x87Register } from './x87';
import { CONDITIONS, SREG } from './registers';

export interface DisassembledInstruction {
  address: number;
  length: number;
  /** The instruction's bytes (empty for an unreadable byte). */
  bytes: Uint8Array;
  text: string;
  /** Target address of a relative jump/call, for the debugger to link. */
  target?: number;
}

export interface DisassembleOptions {
  bits: 16 | 32;
  /** A name for an address (`kmain`, `kmain+0x1a`), written after a relative target. */
  symbolize?: (addr: number) => string | undefined;
  /** CS base, for 16-bit relative targets, which wrap within the segment (default 0). */
  csBase?: number;
}

/** No instruction is longer (SDM Vol. 2, 2.3.11). */
const MAX_LENGTH = 15;
const PREFIXES = new Set([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]);
const PREFETCH = ['prefetchnta', 'prefetcht0', 'prefetcht1', 'prefetcht2'];
const CONDITIONAL = new Set(['jcc', 'setcc', 'cmovcc']);
const LOOPS = new Set(['loop', 'loope', 'loopne']);

/**
 * The bytes of the instruction being disassembled, each read once through the caller's
 * reader. One reader function serves every call, so the decoder's call to it stays
 * monomorphic and the CPU's own decoding keeps its speed.
 */
class FetchedBytes {
  private read: (linear: number) => number = () => -1;
  private address = 0;
  bytes: number[] = [];
  /** A byte could not be read, or the instruction ran past 15 bytes. */
  unreadable = false;

  start(read: (linear: number) => number, address: number): void {
    this.read = read;
    this.address = address;
    this.bytes = [];
    this.unreadable = false;
  }

  readonly reader: CodeReader = (a) => {
    const k = a - this.address;
    const b = k < MAX_LENGTH ? this.read(a % 0x1_0000_0000) : -1;
    if (!(b >= 0 && b <= 0xff)) { this.unreadable = true; return 0; }
    this.bytes[k] = b;
    return b;
  };
}

const fetched = new FetchedBytes();
const insn = new Insn(() => undefined);

/**
 * Disassembles the instruction at linear `address` of 16- or 32-bit code. `read` gives the
 * byte at a linear address, or -1 where memory cannot be read. An undefined opcode, an
 * unreadable byte or an instruction longer than 15 bytes gives `db` of its first byte.
 */
export function disassemble(read: (linear: number) => number, address: number,
  opts: DisassembleOptions): DisassembledInstruction {
  if (opts.bits !== 16 && opts.bits !== 32) throw new Error(`disassemble: bits must be 16 or 32, not ${String(opts.bits)}`);
  if (!Number.isInteger(address) || address < 0 || address > 0xffffffff) {
    throw new Error(`disassemble: address ${String(address)} is not a linear address`);
  }
  const code32 = opts.bits === 32;
  fetched.start(read, address);
  decodeFrom(fetched.reader, address, code32, insn);
  const { bytes, unreadable } = fetched;
  const def = insn.def;
  if (unreadable || def === undefined) return dataByte(address, bytes[0]);

  // The ModR/M byte follows the prefixes and the opcode; the Insn keeps its reg and rm, not mod.
  let p = 0;
  while (PREFIXES.has(bytes[p])) p++;
  const entry = OPCODE_MAP[insn.op]!;
  const modrm = entry.modrm === true || entry.group !== undefined ? bytes[p + (insn.op >= 0x100 ? 2 : 1)] : undefined;
  const d: Decoded = { insn, def, code32, address, csBase: opts.csBase ?? 0, mod: (modrm ?? 0) >> 6 };
  const shown = new Shown();
  const body = instructionText(d, shown, modrm);
  if (body === undefined) return dataByte(address, bytes[0]);

  let text = prefixText(d, shown) + body;
  const symbol = shown.target !== undefined ? opts.symbolize?.(shown.target) : undefined;
  if (symbol !== undefined) text += ` ; ${symbol}`;
  const result: DisassembledInstruction = { address, length: insn.len, bytes: Uint8Array.from(bytes.slice(0, insn.len)), text };
  if (shown.target !== undefined) result.target = shown.target;
  return result;
}

function dataByte(address: number, byte: number | undefined): DisassembledInstruction {
  return byte === undefined
    ? { address, length: 1, bytes: new Uint8Array(0), text: 'db ?' }
    : { address, length: 1, bytes: Uint8Array.of(byte), text: `db 0x${byte.toString(16).padStart(2, '0')}` };
}

/** Mnemonic and operands; undefined for an encoding with no nasm spelling (an x87 hole). */
function instructionText(d: Decoded, shown: Shown, modrm: number | undefined): string | undefined {
  const { insn: i, def } = d;
  const withOperands = (mnemonic: string, operands: string[]): string =>
    operands.length === 0 ? mnemonic : `${mnemonic} ${operands.join(',')}`;

  if (def.operands === 'x87') {
    if (!i.mem) return x87Register(i.op, i.reg, i.rm);
    const form = x87Memory(i.op, i.reg);
    return form === undefined ? undefined : `${form[0]} ${memoryOperand(d, shown, form[1])}`;
  }
  switch (i.op) {
    case 0x90:
      if (i.rep === 1) { shown.rep = true; return 'pause'; }
      if (i.o32 !== d.code32) { shown.opSize = true; return i.o32 ? 'xchg eax,eax' : 'xchg ax,ax'; }
      return 'nop';
    case 0xd4: case 0xd5:   // AAM and AAD: base 10 goes without saying
      return i.imm === 10 ? def.name : `${def.name} ${hex(i.imm)}`;
  }
  if (i.op >= 0x118 && i.op <= 0x11f) {
    // The hint NOPs: nasm names them by their ModR/M.reg, except the prefetches, NOP and ENDBR.
    if (i.op === 0x11e && i.rep === 1 && (modrm === 0xfb || modrm === 0xfa)) {
      shown.rep = true;
      return modrm === 0xfb ? 'endbr32' : 'endbr64';
    }
    if (i.op === 0x118 && i.mem && i.reg < 4 && i.o32 === d.code32) return `${PREFETCH[i.reg]} ${memoryOperand(d, shown, 'byte')}`;
    const name = i.op === 0x11f && i.reg === 0 ? 'nop' : `hint_nop${(i.op - 0x118) * 8 + i.reg}`;
    return withOperands(name, formatOperands(d, shown));
  }
  const operands = formatOperands(d, shown);
  if (LOOPS.has(def.name) && i.a32 !== d.code32) {
    // nasm names the count register where it is not the default one.
    shown.addrSize = true;
    operands.push(i.a32 ? 'ecx' : 'cx');
  }
  return withOperands(mnemonic(d, shown), operands);
}

function mnemonic(d: Decoded, shown: Shown): string {
  const { insn: i, def } = d;
  if (def.names !== undefined) {
    if (def.names[0] !== def.names[1]) shown.opSize = true;
    return def.names[i.o32 ? 1 : 0];
  }
  if (def.sizedNames !== undefined && i.o32 !== d.code32) {
    shown.opSize = true;
    return def.sizedNames[i.o32 ? 1 : 0];
  }
  if (CONDITIONAL.has(def.name)) return def.name.slice(0, -2) + CONDITIONS[i.op & 0xf];
  if (def.name === 'jcxz') {
    shown.addrSize = true;
    return i.a32 ? 'jecxz' : 'jcxz';
  }
  return def.name.split(' ')[0];   // 'jmp far': the far pointer operand says far
}

/** Prefixes the text has not shown, in ndisasm's order: segment, repeat, lock, o16/o32, a16/a32. */
function prefixText(d: Decoded, shown: Shown): string {
  const { insn: i, def } = d;
  const parts: string[] = [];
  if (i.segOverride >= 0 && !shown.segment) parts.push(SREG[i.segOverride]);
  if (i.rep !== 0 && !shown.rep) {
    if (i.lock) parts.push(i.rep === 1 ? 'xrelease' : 'xacquire');
    else if (def.name === 'cmps' || def.name === 'scas') parts.push(i.rep === 1 ? 'repe' : 'repne');
    else parts.push(i.rep === 1 ? 'rep' : 'repne');
  }
  if (i.lock) parts.push('lock');
  if (i.o32 !== d.code32 && !shown.opSize) parts.push(i.o32 ? 'o32' : 'o16');
  if (i.a32 !== d.code32 && !shown.addrSize) parts.push(i.a32 ? 'a32' : 'a16');
  return parts.length === 0 ? '' : `${parts.join(' ')} `;
}
