/**
 * Numbers under the cursor: hex, decimal, signed and binary, and what the code does with them
 * where it says so: a value that reaches `mov cr0/cr3/cr4, reg` is shown as that register's
 * named bits; one that reaches a segment register (`mov ax, N` then `mov ds, ax`), the
 * selector of a far jump or call (`jmp 0x08:start`) or of a far pointer (`dd offset` then
 * `dw N`), or of `ltr`/`lldt`, is shown as a selector: index, table indicator and RPL.
 */
import { type NamedBit, CR0_BITS, CR3_BITS, CR4_BITS, decodeBits, fieldValue } from './registerInfo';
import { type Environment, type GeneralRegister, blockStart, registerOf, walk } from './propagation';
import type { Value } from './evaluate';
import type { FileIndex } from './sourceIndex';
import type { Statement } from './statement';

export type Width = 8 | 16 | 32 | 64;

function group4(bits: string): string {
  return bits.replace(/\B(?=(\d{4})+(?!\d))/g, ' ');
}

/** Hex, decimal, signed and binary forms of a value of `width` bits. */
export function describeNumber(value: bigint, width: Width): string[] {
  const w = value >= 1n << 32n || value < -(1n << 31n) ? 64 : width;
  const unsigned = BigInt.asUintN(w, value);
  const signed = BigInt.asIntN(w, value);
  const minBits = Math.max(8, Math.ceil(unsigned.toString(2).length / 8) * 8);
  const lines = [
    `hex \`0x${unsigned.toString(16).toUpperCase()}\` · decimal \`${unsigned}\``,
    `signed (${w}-bit) \`${signed}\``,
    `binary \`${group4(unsigned.toString(2).padStart(Math.min(minBits, w), '0'))}\``,
  ];
  if (w <= 32 && unsigned >= 0x20n && unsigned < 0x7fn) lines.push(`character \`'${String.fromCharCode(Number(unsigned))}'\``);
  return lines;
}

const CR_BITS: Record<string, readonly NamedBit[]> = { cr0: CR0_BITS, cr3: CR3_BITS, cr4: CR4_BITS };

/** Named bits of a CR0/CR3/CR4 value, one per line. */
export function describeControlRegister(register: 'cr0' | 'cr3' | 'cr4', value: number): string[] {
  const bits = CR_BITS[register];
  const { set, unnamed } = decodeBits(value, bits);
  const lines = set.map((f) => {
    const width = f.width ?? 1;
    const where = width === 1 ? `bit ${f.bit}` : `bits ${f.bit + width - 1}:${f.bit}`;
    const v = width === 1 ? '' : width === 20 ? ` = 0x${((value >>> 0) & 0xfffff000).toString(16).toUpperCase().padStart(8, '0')}` : ` = ${fieldValue(value, f)}`;
    return `- **${f.name}**${v} (${where}): ${f.meaning}`;
  });
  if (set.length === 0) lines.push('- no named bits set');
  if (unnamed !== 0) lines.push(`- reserved bits set: 0x${unnamed.toString(16).toUpperCase()}`);
  return lines;
}

/** Index, table indicator and RPL of a segment selector. */
export function describeSelector(value: number): string {
  const v = value & 0xffff;
  const index = v >> 3;
  const ti = (v >> 2) & 1;
  const rpl = v & 3;
  return `selector: index ${index} in the ${ti ? 'LDT' : 'GDT'} (TI = ${ti}, descriptor at offset 0x${(index * 8).toString(16).toUpperCase()}), RPL ${rpl}`;
}

/** A value as a number (labels at their assembled address). */
export type Numeric = (v: Value | undefined) => number | undefined;

export type ValueUse =
  | { kind: 'control'; register: 'cr0' | 'cr3' | 'cr4'; line: number; /** The whole register value there, if known. */ value?: number }
  | { kind: 'selector'; line: number; register?: string; value?: number };

const SEGMENT_REGISTERS = new Set(['es', 'cs', 'ss', 'ds', 'fs', 'gs']);
/** Instructions that combine an immediate into a register whose value then travels on. */
const COMBINING = new Set(['mov', 'or', 'and', 'xor', 'add', 'sub']);
const LOOKAHEAD_LINES = 64;

function singleRegister(st: Statement, k: number): string | undefined {
  const o = st.operands[k];
  if (o === undefined || o.tokens.length !== 1 || o.tokens[0].kind !== 'id') return undefined;
  return o.tokens[0].text.toLowerCase();
}

function endsBlock(st: Statement): boolean {
  const op = st.op?.name ?? '';
  return st.definition?.kind === 'label' || /^(?:jmp|call|ret\w*|iret\w*)$/.test(op);
}

/** The register value just before the instruction on `line`, from the propagation. */
function registerBefore(index: FileIndex, env: Environment, line: number, reg: GeneralRegister, numeric: Numeric): number | undefined {
  let value: number | undefined;
  walk(index, env, (v) => { if (v.line === line && v.viaMacro === undefined) value = numeric(v.before.get(reg)); }, blockStart(index, line), line + 1);
  return value;
}

/**
 * Where the value of the expression at (`line`, `column`) goes: into a control register or a
 * segment register, or it is the selector of a far transfer or far pointer.
 */
export function valueUse(index: FileIndex, env: Environment, line: number, column: number,
  numeric: Numeric): ValueUse | undefined {
  const st = index.statements[line];
  const op = st.op?.name ?? '';
  const operand = st.operands.findIndex((o) => column >= o.start && column <= o.end);
  if (operand < 0) return undefined;
  const tokens = st.operands[operand].tokens;

  // jmp 0x08:label / call SEL:label: the part before the colon is a selector.
  if ((op === 'jmp' || op === 'call') && operand === 0) {
    const colon = tokens.findIndex((t) => t.kind === 'op' && t.text === ':');
    if (colon > 0 && column < tokens[colon].start) return { kind: 'selector', line };
  }
  // dd offset / dw selector: a far pointer (m16:32).
  if (op === 'dw' && st.operands.length === 1) {
    for (let l = line - 1; l >= 0 && l >= line - 4; l--) {
      const prev = index.statements[l].op;
      if (prev === undefined) continue;
      if (prev.name === 'dd') return { kind: 'selector', line };
      break;
    }
  }
  // mov/or/... reg, value: follow the register to the instruction that uses it.
  if (!COMBINING.has(op) || operand !== 1) return undefined;
  const dest = singleRegister(st, 0);
  const sub = dest === undefined ? undefined : registerOf(dest);
  if (sub === undefined) {
    if (dest !== undefined && SEGMENT_REGISTERS.has(dest)) return { kind: 'selector', line };
    return undefined;
  }
  for (let l = line + 1; l < index.lines.length && l <= line + LOOKAHEAD_LINES; l++) {
    if (index.inMacro[l]) continue;
    const next = index.statements[l];
    if (endsBlock(next)) return undefined;
    if (next.opKind !== 'instruction') continue;
    const nop = next.op!.name;
    const d = singleRegister(next, 0);
    const s = singleRegister(next, 1);
    const sreg = s === undefined ? undefined : registerOf(s);
    if (nop === 'mov' && sreg?.reg === sub.reg && (d === 'cr0' || d === 'cr3' || d === 'cr4')) {
      return { kind: 'control', register: d, line: l, value: registerBefore(index, env, l, sub.reg, numeric) };
    }
    if (nop === 'mov' && sreg?.reg === sub.reg && d !== undefined && SEGMENT_REGISTERS.has(d)) {
      const v = registerBefore(index, env, l, sub.reg, numeric);
      return { kind: 'selector', line: l, register: d, value: v === undefined ? undefined : v & 0xffff };
    }
    // LTR / LLDT take the selector of a TSS or LDT descriptor.
    if ((nop === 'ltr' || nop === 'lldt') && d !== undefined && registerOf(d)?.reg === sub.reg) {
      const v = registerBefore(index, env, l, sub.reg, numeric);
      return { kind: 'selector', line: l, register: nop === 'ltr' ? 'tr' : 'ldtr', value: v === undefined ? undefined : v & 0xffff };
    }
    const writes = d !== undefined && registerOf(d)?.reg === sub.reg;
    if (writes && !(COMBINING.has(nop) && nop !== 'mov')) return undefined;
  }
  return undefined;
}
