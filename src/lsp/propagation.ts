/**
 * Constant propagation over the basic blocks of a source file: the values the general
 * registers hold before each instruction, as far as the code before it in the same block
 * shows them (`mov eax, N`, `xor eax, eax`, arithmetic on known values, `%define`d and `equ`
 * constants, push/pop pairs). A label starts a block; so does code after an unconditional
 * transfer; a call leaves every register unknown. Macro calls are expanded with their
 * arguments, and what the body does is attributed to the line of the call.
 */
import type { Token } from '../asm/lexer';
import { evaluate, num, type Resolver, type Value } from './evaluate';
import type { FileIndex, SymbolDef } from './sourceIndex';
import { isAloneLabel, parseStatement, type Operand, type Statement } from './statement';

const GENERAL_REGISTERS = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'] as const;
export type GeneralRegister = typeof GENERAL_REGISTERS[number];

/** Known register values; a register that is absent is unknown. */
export type RegisterState = Map<GeneralRegister, Value>;

interface SubRegister { reg: GeneralRegister; shift: number; bits: number }

const SUB_REGISTERS: Record<string, SubRegister> = {};
for (const [r, full] of [['a', 'eax'], ['c', 'ecx'], ['d', 'edx'], ['b', 'ebx']] as const) {
  SUB_REGISTERS[`${r}l`] = { reg: full, shift: 0, bits: 8 };
  SUB_REGISTERS[`${r}h`] = { reg: full, shift: 8, bits: 8 };
  SUB_REGISTERS[`${r}x`] = { reg: full, shift: 0, bits: 16 };
  SUB_REGISTERS[full] = { reg: full, shift: 0, bits: 32 };
}
for (const full of ['esp', 'ebp', 'esi', 'edi'] as const) {
  SUB_REGISTERS[full.slice(1)] = { reg: full, shift: 0, bits: 16 };
  SUB_REGISTERS[full] = { reg: full, shift: 0, bits: 32 };
}

export function registerOf(name: string): SubRegister | undefined {
  return SUB_REGISTERS[name.toLowerCase()];
}

/** Registers an instruction writes without naming them. */
const IMPLICIT_WRITES: Record<string, readonly GeneralRegister[]> = {
  cpuid: ['eax', 'ebx', 'ecx', 'edx'], rdmsr: ['eax', 'edx'], rdtsc: ['eax', 'edx'], rdpmc: ['eax', 'edx'],
  mul: ['eax', 'edx'], div: ['eax', 'edx'], idiv: ['eax', 'edx'], cdq: ['edx'], cwd: ['edx'], cwde: ['eax'], cbw: ['eax'],
  lodsb: ['eax', 'esi'], lodsw: ['eax', 'esi'], lodsd: ['eax', 'esi'], stosb: ['edi'], stosw: ['edi'], stosd: ['edi'],
  movsb: ['esi', 'edi'], movsw: ['esi', 'edi'], movsd: ['esi', 'edi'], cmpsb: ['esi', 'edi'], cmpsw: ['esi', 'edi'], cmpsd: ['esi', 'edi'],
  scasb: ['edi'], scasw: ['edi'], scasd: ['edi'], insb: ['edi'], insw: ['edi'], insd: ['edi'], outsb: ['esi'], outsw: ['esi'], outsd: ['esi'],
  in: ['eax'], xlat: ['eax'], xlatb: ['eax'], lahf: ['eax'], salc: ['eax'], aaa: ['eax'], aas: ['eax'], aam: ['eax'], aad: ['eax'],
  daa: ['eax'], das: ['eax'], loop: ['ecx'], loope: ['ecx'], loopz: ['ecx'], loopne: ['ecx'], loopnz: ['ecx'],
  cmpxchg: ['eax'], cmpxchg8b: ['eax', 'edx'], leave: ['esp', 'ebp'], enter: ['esp', 'ebp'], pusha: ['esp'], pushad: ['esp'], pushaw: ['esp'],
  popa: ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'], popad: ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'],
  popaw: ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'], pushf: ['esp'], pushfd: ['esp'], pushfw: ['esp'], popf: ['esp'], popfd: ['esp'], popfw: ['esp'],
};

/** Instructions that write no general register they name. */
const NO_WRITES = new Set([
  'cmp', 'test', 'out', 'outsb', 'nop', 'cli', 'sti', 'cld', 'std', 'clc', 'stc', 'cmc', 'hlt', 'bt', 'lgdt', 'lidt', 'lldt', 'ltr',
  'lmsw', 'invlpg', 'wrmsr', 'wbinvd', 'invd', 'clts', 'verr', 'verw', 'pause', 'wait', 'fwait', 'sgdt', 'sidt', 'vmwrite', 'vmxon',
  'vmptrld', 'vmptrst', 'vmclear', 'vmxoff', 'invept', 'invvpid', 'ud2', 'int3', 'into', 'bound', 'sahf',
]);

/** Control never falls through: what follows starts a new block. */
const ENDS_BLOCK = new Set(['jmp', 'ret', 'retn', 'retf', 'retw', 'retd', 'retnw', 'retnd', 'retfw', 'retfd', 'iret', 'iretd', 'iretw', 'sysexit', 'sysenter', 'vmlaunch', 'vmresume', 'ud2']);
const CALLS = new Set(['call']);

/** Where a name's value comes from, for the propagation. */
export interface Environment {
  /** A name as written on `line` of the file being walked. */
  resolve(name: string, parent: string): Value | undefined;
  /** The multi-line macro called `name`, and the file that defines it. */
  macro(name: string): { def: SymbolDef; index: FileIndex } | undefined;
}

/** One instruction reached by the walk. */
export interface Visit {
  statement: Statement;
  /** Line in the walked file: the instruction's own, or that of the macro call it came from. */
  line: number;
  /** The macro call this came from, outermost. */
  viaMacro?: Statement;
  before: RegisterState;
  /** Resolves names as they were at this point (`%define`s seen so far win). */
  resolve: Resolver;
}

const MAX_MACRO_DEPTH = 8;
/** Macro body lines one walk may expand, so that macros calling macros stay cheap. */
const MAX_EXPANDED_LINES = 20_000;

function operandText(line: string, o: Operand | undefined): string {
  return o === undefined ? '' : line.slice(o.start, o.end).trim();
}

function isMemory(o: Operand): boolean {
  return o.tokens.some((t) => t.kind === 'op' && t.text === '[');
}

function registerOperand(o: Operand | undefined): SubRegister | undefined {
  if (o === undefined || o.tokens.length !== 1 || o.tokens[0].kind !== 'id' || o.tokens[0].forcedId) return undefined;
  return registerOf(o.tokens[0].text);
}

function read(state: RegisterState, r: SubRegister): Value | undefined {
  const v = state.get(r.reg);
  if (v === undefined) return undefined;
  if (r.bits === 32) return v;
  if (v.kind !== 'num') return undefined;
  return num((v.n >>> r.shift) & ((1 << r.bits) - 1));
}

function write(state: RegisterState, r: SubRegister, v: Value | undefined): void {
  if (r.bits === 32 || v === undefined) {
    if (v === undefined) state.delete(r.reg); else state.set(r.reg, v);
    return;
  }
  const old = state.get(r.reg);
  if (old?.kind !== 'num' || v.kind !== 'num') { state.delete(r.reg); return; }
  const mask = ((1 << r.bits) - 1) << r.shift;
  state.set(r.reg, num((old.n & ~mask) | ((v.n << r.shift) & mask)));
}

/** Value of a non-memory source operand: a register or an immediate expression. */
function sourceValue(state: RegisterState, o: Operand | undefined, resolve: Resolver): Value | undefined {
  if (o === undefined || isMemory(o)) return undefined;
  const r = registerOperand(o);
  if (r !== undefined) return read(state, r);
  return evaluate(o.tokens, resolve);
}

/** The expression inside `[...]`, for LEA of a constant address. */
function addressValue(o: Operand | undefined, resolve: Resolver): Value | undefined {
  if (o === undefined) return undefined;
  const open = o.tokens.findIndex((t) => t.kind === 'op' && t.text === '[');
  const close = o.tokens.findIndex((t) => t.kind === 'op' && t.text === ']');
  if (open < 0 || close < open) return undefined;
  const inner = o.tokens.slice(open + 1, close);
  if (inner.some((t) => t.kind === 'id' && registerOf(t.text) !== undefined)) return undefined;
  return evaluate(inner, resolve);
}

function arithmetic(op: string, a: Value | undefined, b: Value | undefined): Value | undefined {
  if (a === undefined || b === undefined) return undefined;
  if (a.kind === 'sym' || b.kind === 'sym') {
    if (a.kind === 'sym' && b.kind === 'num' && (op === 'add' || op === 'sub')) {
      return { kind: 'sym', name: a.name, offset: (a.offset + (op === 'add' ? b.n : -b.n)) | 0 };
    }
    return undefined;
  }
  const x = a.n, y = b.n;
  switch (op) {
    case 'add': return num(x + y);
    case 'sub': return num(x - y);
    case 'and': return num(x & y);
    case 'or': return num(x | y);
    case 'xor': return num(x ^ y);
    case 'shl': case 'sal': return num((y & 31) === 0 ? x : x << (y & 31));
    case 'shr': return num(x >>> (y & 31));
    case 'sar': return num((x | 0) >> (y & 31));
    case 'imul': return num(Math.imul(x, y));
    default: return undefined;
  }
}

/** Applies one instruction to the state. */
export function step(st: Statement, state: RegisterState, stack: (Value | undefined)[], resolve: Resolver): void {
  const op = st.op?.name ?? '';
  const [a, b] = st.operands;
  const dst = registerOperand(a);
  if (st.prefixes.some((p) => /^rep/i.test(p.text))) state.delete('ecx');
  switch (op) {
    case 'mov':
      if (dst) write(state, dst, sourceValue(state, b, resolve));
      return;
    case 'movzx':
      if (dst) write(state, dst, sourceValue(state, b, resolve));
      return;
    case 'lea':
      if (dst) write(state, dst, addressValue(b, resolve));
      return;
    case 'xor': case 'sub':
      if (dst && registerOperand(b)?.reg === dst.reg && registerOperand(b)?.bits === dst.bits) { write(state, dst, num(0)); return; }
      if (dst) write(state, dst, arithmetic(op, read(state, dst), sourceValue(state, b, resolve)));
      return;
    case 'add': case 'and': case 'or': case 'shl': case 'sal': case 'shr': case 'sar':
      if (dst) write(state, dst, arithmetic(op, read(state, dst), b === undefined ? num(1) : sourceValue(state, b, resolve)));
      return;
    case 'inc': case 'dec':
      if (dst) write(state, dst, arithmetic(op === 'inc' ? 'add' : 'sub', read(state, dst), num(1)));
      return;
    case 'neg': case 'not': {
      const v = dst ? read(state, dst) : undefined;
      if (dst) write(state, dst, v?.kind === 'num' ? num(op === 'neg' ? -v.n : ~v.n) : undefined);
      return;
    }
    case 'xchg': {
      const r2 = registerOperand(b);
      if (dst && r2) {
        const va = read(state, dst), vb = read(state, r2);
        write(state, dst, vb);
        write(state, r2, va);
      } else if (dst) {
        write(state, dst, undefined);
      } else if (r2) {
        write(state, r2, undefined);
      }
      return;
    }
    case 'push':
      stack.push(sourceValue(state, a, resolve));
      return;
    case 'pop':
      if (dst) write(state, dst, stack.pop()); else stack.pop();
      return;
    case 'imul':
      if (st.operands.length >= 2 && dst) {
        const factors = st.operands.length === 3 ? [sourceValue(state, b, resolve), sourceValue(state, st.operands[2], resolve)] : [read(state, dst), sourceValue(state, b, resolve)];
        write(state, dst, arithmetic('imul', factors[0], factors[1]));
        return;
      }
      break;
    default:
      break;
  }
  for (const r of IMPLICIT_WRITES[op] ?? []) state.delete(r);
  const source = registerOperand(b);
  if (op === 'xadd' && source) write(state, source, undefined);
  if (!NO_WRITES.has(op) && dst) write(state, dst, undefined);
}

/** Does the line start a new block (a label, a section change)? */
function startsBlock(st: Statement): boolean {
  return st.definition?.kind === 'label' || st.op?.name === 'section' || st.op?.name === 'segment' || st.op?.name === 'absolute';
}

function substitute(body: string, args: string[]): string {
  return body.replace(/%(%?)(\d+)/g, (m, local: string, n: string) => {
    if (local) return m;
    const k = Number(n);
    return k === 0 ? String(args.length) : args[k - 1] ?? '';
  });
}

/** The arguments of a macro call, the last taking the rest of the line if the macro is greedy. */
function macroArguments(line: string, call: Statement, def: SymbolDef): string[] {
  const args = call.operands.map((o) => operandText(line, o));
  const max = def.macro?.max ?? args.length;
  if (def.macro?.greedy && args.length > max && max > 0) {
    const first = call.operands[max - 1];
    return [...args.slice(0, max - 1), line.slice(first.start, call.operands[call.operands.length - 1].end).trim()];
  }
  return args;
}

/** Walks lines [from, to) of a file in order, calling `visit` before every instruction. */
export function walk(index: FileIndex, env: Environment, visit: (v: Visit) => void, from = 0, to = index.lines.length): void {
  const defines = new Map<string, Token[]>();
  let expansionBudget = MAX_EXPANDED_LINES;
  let state: RegisterState = new Map();
  let stack: (Value | undefined)[] = [];
  const reset = (): void => { state = new Map(); stack = []; };

  const resolverFor = (parent: string): Resolver => {
    const seen = new Set<string>();
    const resolve: Resolver = (name) => {
      const local = defines.get(name);
      if (local !== undefined) {
        if (seen.has(name)) return undefined;
        seen.add(name);
        const v = evaluate(local, resolve);
        seen.delete(name);
        return v;
      }
      return env.resolve(name, parent);
    };
    return resolve;
  };

  const run = (st: Statement, text: string, line: number, parent: string, depth: number, via: Statement | undefined): void => {
    const callsMacro = st.opKind === 'macro' || (isAloneLabel(st) && env.macro(st.definition!.word.text) !== undefined);
    if (startsBlock(st) && !(callsMacro && st.opKind !== 'macro')) reset();
    if (st.opKind === 'preprocessor' && st.definition?.kind === 'define' && st.value) {
      defines.set(st.definition.word.text, st.value);
      return;
    }
    if (callsMacro) {
      const name = st.op?.name ?? st.definition?.word.text ?? '';
      const m = depth < MAX_MACRO_DEPTH ? env.macro(name) : undefined;
      const body = m?.def.macro;
      if (m === undefined || body === undefined || expansionBudget < body.bodyEnd - body.bodyStart) { reset(); return; }
      expansionBudget -= body.bodyEnd - body.bodyStart;
      const args = macroArguments(text, st, m.def);
      for (let l = body.bodyStart; l < body.bodyEnd; l++) {
        const expanded = substitute(m.index.lines[l], args);
        run(parseStatement(expanded), expanded, line, parent, depth + 1, via ?? st);
      }
      return;
    }
    if (st.opKind !== 'instruction') return;
    const resolve = resolverFor(parent);
    visit({ statement: st, line, viaMacro: via, before: new Map(state), resolve });
    const op = st.op!.name;
    if (CALLS.has(op)) { reset(); return; }
    step(st, state, stack, resolve);
    if (op === 'int' || op === 'vmcall') state.delete('eax');
    if (ENDS_BLOCK.has(op)) reset();
  };

  for (let line = from; line < to; line++) {
    if (index.inMacro[line]) continue;
    const st = index.statements[line];
    if (st.opKind === 'preprocessor' && /^%i?macro$/.test(st.op!.name)) continue;
    run(st, index.lines[line], line, index.parents[line], 0, undefined);
  }
}

/** The first line of the block holding `line`: the nearest label at or above it. */
export function blockStart(index: FileIndex, line: number): number {
  for (let l = line; l > 0; l--) {
    if (index.inMacro[l]) continue;
    const st = index.statements[l];
    if (startsBlock(st)) return l;
  }
  return 0;
}
