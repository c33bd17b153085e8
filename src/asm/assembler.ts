/**
 * The assembler proper: runs the parsed statements pass after pass the way nasm 2.16.01 does
 * with its default optimisation. The first pass sees forward references as unknown; every
 * later pass sees the values the previous one left; when a pass moves no label the sizes are
 * final, the sections are placed (sections.ts) and a last pass produces the bytes with real
 * addresses. Errors found by the first pass are reported from it (nasm stops after such a
 * pass); everything else comes from the final pass, so one run reports all problems.
 */
import type { Diagnostic, ExpandedLine, SourceLocation } from './source';
import type {
  Bits, EncodeContext, EncodeResult, FarPointerOperand, ImmediateOperand, InstructionRequest,
  MemoryOperand, Operand, SegmentRegister,
} from './operand';
import * as i64 from './int64';
import type { I64 } from './int64';
import { evaluate, type EvalEnv, type Expr, type SymbolValue } from './expression';
import {
  type DataItem, type Directive, type OperandSyntax, type ParseMessage, type Statement,
  StatementParser, type Vocabulary,
} from './parser';
import {
  assignAttribute, baseAddress, buildImage, imageSize, type Layout, layoutSections, raiseAlignment, Section,
} from './sections';
import { lineMap, type MapEntry, symbolList, type SymbolInfo } from './sourceMap';
import { SymbolTable } from './symbols';
import {
  type EaHint, isDataReloc, isJustUnknown, isReloc, isSelfRelative, isSimple, relocBase, type Value,
} from './value';

/** The instruction set: the encoder, and the words the parser must recognize. */
export interface InstructionSet extends Vocabulary {
  encode(req: InstructionRequest, ctx: EncodeContext): EncodeResult;
}

/** Reads the file an `incbin` in `fromFile` names: its bytes, or why not. */
export type BinaryReader = (fromFile: string, name: string) => Uint8Array | { error: string };

export interface CoreOptions {
  instructionSet: InstructionSet;
  readBinary: BinaryReader;
  /** The text of a source line as the user wrote it, to put columns on the user's tokens. */
  sourceLine?: (file: string, line: number) => string | undefined;
}

/** What the listing shows for a piece of output (nasm's list_output cases). */
export type ListChunk =
  | { kind: 'raw'; bytes: Uint8Array }
  /** An address relative to a section: `[offset]`. */
  | { kind: 'addr'; value: I64; size: number }
  /** A relative branch or `x - $` across sections, or to an absolute address: `(value)`. */
  | { kind: 'rel'; value: I64; size: number }
  | { kind: 'reserve'; size: number };

/** For the listing: an operand whose field is shown as `[...]` or `(...)` instead of bytes. */
export interface ListedField {
  operand: number;
  kind: 'addr' | 'rel';
  /** The section-relative value nasm lists. */
  value: I64;
}

/** One statement's output in the final pass. */
export interface Emission {
  statement: number;
  section: Section | undefined;
  /** Offset in the section (or in absolute space): the listing's address column. */
  offset: number;
  length: number;
  /** Bytes or reserved space, for the listing; instructions are listed from `instruction`. */
  chunks: ListChunk[];
  instruction?: { request: InstructionRequest; context: EncodeContext; bytes: Uint8Array; fields: ListedField[] };
  /** `times` count when above one: the listing shows the first copy and `<rep N>`. */
  repeat?: number;
  incbin?: number;
}

export interface CoreResult {
  ok: boolean;
  image: Uint8Array;
  diagnostics: Diagnostic[];
  symbols: SymbolInfo[];
  map: MapEntry[];
  lines: readonly ExpandedLine[];
  emissions: Emission[];
  /** Diagnostics by statement, for the listing. */
  lineDiagnostics: Map<number, Diagnostic[]>;
  /** Statements inside `[list -]`. */
  unlisted: Set<number>;
  instructionSet: InstructionSet;
}

interface ParsedLine {
  line: ExpandedLine;
  statement: Statement;
  messages: ParseMessage[];
}

const EMPTY = new Uint8Array(0);

/** A kernel image is far smaller; more would only exhaust the memory of an editor. */
const MAX_IMAGE = 1 << 30;

/** nasm's pass limits are far larger; an editor needs an answer sooner. */
const MAX_PASSES = 60;
const MAX_STALLED_PASSES = 20;

const RELATIVE_BRANCHES = new Set([
  'jmp', 'call', 'loop', 'loope', 'loopz', 'loopne', 'loopnz', 'jcxz', 'jecxz',
  ...['o', 'no', 'b', 'c', 'nae', 'ae', 'nb', 'nc', 'e', 'z', 'ne', 'nz', 'be', 'na', 'a', 'nbe',
    's', 'ns', 'p', 'pe', 'np', 'po', 'l', 'nge', 'ge', 'nl', 'le', 'ng', 'g', 'nle'].map((cc) => `j${cc}`),
]);

/** An instruction's last encoding, and what it was made from. */
interface Encoding {
  bits: Bits;
  address: number;
  section: Section | undefined;
  /** The symbol table's serial when the operands were evaluated. */
  serial: number;
  built: { request: InstructionRequest; fields: ListedField[] };
  result: EncodeResult;
}

/** A relative branch: encoded again whenever its address moves. */
const RELATIVE = 1;
/** Operands without symbols or `$`: encoded once for every pass. */
const CONSTANT = 2;

const GENERAL_REGISTER = /^(?:e?(?:[abcd]x|sp|bp|si|di)|[abcd][lh])$/;
const SIZE_NAMES: Record<number, string> = { 1: 'byte', 2: 'word', 4: 'dword', 8: 'qword' };

/** A growing byte array for a section's contents in the final pass. */
class ByteBuffer {
  bytes = new Uint8Array(256);
  length = 0;

  reserve(n: number): number {
    const at = this.length;
    const need = at + n;
    if (need > this.bytes.length) {
      let cap = this.bytes.length * 2;
      while (cap < need) cap *= 2;
      const b = new Uint8Array(cap);
      b.set(this.bytes.subarray(0, at));
      this.bytes = b;
    }
    this.length = need;
    return at;
  }

  /** Appends `count` copies of `pattern`. */
  appendRepeated(pattern: Uint8Array, count: number): void {
    const at = this.reserve(pattern.length * count); // may replace this.bytes
    if (count === 0 || pattern.length === 0) return;
    this.bytes.set(pattern, at);
    const end = at + pattern.length * count;
    for (let filled = at + pattern.length; filled < end; filled += filled - at) {
      this.bytes.copyWithin(filled, at, Math.min(filled, at + (end - filled)));
    }
  }

  view(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}

interface PassDiagnostic { statement: number; diagnostic: Diagnostic }

export function assembleLines(lines: readonly ExpandedLine[], options: CoreOptions): CoreResult {
  return new Assembler(lines, options).run();
}

class Assembler implements EvalEnv {
  private readonly parsed: ParsedLine[];
  private readonly symbols = new SymbolTable();
  private readonly sections: Section[] = [];
  private readonly set: InstructionSet;
  private layout: Layout | undefined;

  // State of the current pass.
  private final = false;
  critical = false;
  firstPass = true;
  private bits: Bits = 16;
  private section!: Section;
  private inAbsolute = false;
  private absBase = -1;
  private absOffset: I64 = 0;
  private origin: number | undefined;
  private disabledWarnings = new Set<string>();
  private warningStack: Set<string>[] = [];
  private listing = true;
  private current = 0;

  // Diagnostics: first-pass errors by statement, and the final pass's messages.
  private readonly firstPassErrors = new Map<number, Diagnostic[]>();
  private finalDiagnostics: PassDiagnostic[] = [];
  private readonly globalDiagnostics: Diagnostic[] = [];

  // What the first pass learned.
  private readonly forwardStatements = new Set<number>();
  private readonly externs = new Set<string>();
  private readonly binaries = new Map<number, Uint8Array | { error: string }>();

  // Output of the final pass.
  private contents = new Map<Section, ByteBuffer>();
  private emissions: Emission[] = [];
  private readonly unlisted = new Set<number>();
  /** Size each statement had in the previous pass, kept for an instruction that fails in the final one. */
  private readonly lastSize: number[];
  /** The last encoding of each instruction, by statement. */
  private readonly encodings: (Encoding | undefined)[] = [];
  /** RELATIVE and CONSTANT for instruction statements. */
  private readonly traits: Uint8Array;

  constructor(lines: readonly ExpandedLine[], private readonly options: CoreOptions) {
    this.set = options.instructionSet;
    const parser = new StatementParser(this.set);
    this.parsed = lines.map((line) => {
      const { statement, messages } = parser.parse(line.text);
      return { line, statement, messages };
    });
    this.lastSize = new Array<number>(lines.length).fill(0);
    this.traits = Uint8Array.from(this.parsed, ({ statement: st }) => {
      const body = st.body;
      if (body.kind === 'prefixes') return CONSTANT;
      if (body.kind !== 'insn') return 0;
      if (RELATIVE_BRANCHES.has(body.mnemonic)) return RELATIVE;
      // Far operands are checked only in the final pass, so they are encoded again there.
      return st.constant && body.operands.every((o) => o.distance !== 'far' && !o.colon) ? CONSTANT : 0;
    });
    const origin = lines[0]?.location ?? { file: '', line: 1, column: 1 };
    this.sections.push(new Section('.text', 0, undefined, origin));
    this.sections[0].type = 'progbits';
  }

  run(): CoreResult {
    this.runPass(1);
    let passes = 1, stalled = 0, fewest = Infinity;
    for (;;) {
      this.runPass(++passes);
      const changes = this.symbols.changes;
      if (changes === 0) break;
      if (changes < fewest) { fewest = changes; stalled = 0; } else stalled++;
      if (stalled > MAX_STALLED_PASSES || passes >= MAX_PASSES) {
        this.globalError(`unable to find valid values for all labels after ${passes} passes; stalled for ${stalled}, giving up.`);
        this.globalError('Possible causes: recursive EQUs, macro abuse.');
        break;
      }
    }
    this.layout = layoutSections(this.sections, this.origin);
    for (const p of this.layout.problems) {
      this.globalDiagnostics.push({ severity: 'error', message: p.message, location: p.section.location });
    }
    this.final = true;
    this.runPass(passes + 1);
    return this.result();
  }

  // --- passes -------------------------------------------------------------------------------

  private runPass(pass: number): void {
    this.firstPass = pass === 1;
    this.symbols.startPass(pass);
    this.bits = 16;
    for (const s of this.sections) s.resetForPass();
    this.section = this.sections[0];
    this.inAbsolute = false;
    this.absBase = -1;
    this.absOffset = 0;
    this.origin = undefined;
    this.disabledWarnings = new Set();
    this.warningStack = [];
    this.listing = true;
    if (pass > 1) {
      for (const s of this.sections) {
        this.symbols.define(`section.${s.name}.start`, s.lbase, 0, 'label', -1, 0, true);
        this.symbols.define(`section.${s.name}.vstart`, s.vbase, 0, 'label', -1, 0, true);
      }
    }
    if (this.final) {
      this.contents = new Map(this.sections.map((s) => [s, new ByteBuffer()]));
      this.emissions = [];
      this.finalDiagnostics = [];
    }
    const changesBefore = this.symbols.changes;
    for (let i = 0; i < this.parsed.length; i++) {
      this.current = i;
      this.execute(this.parsed[i]);
    }
    if (this.final && this.symbols.changes !== changesBefore) {
      this.globalError('phase error during code generation pass');
    }
  }

  private execute(p: ParsedLine): void {
    const messages = p.messages;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i];
      if (m.severity === 'error') this.error(m.message, m.pos);
      else this.warn(m.message, m.pos, m.category);
    }
    if (this.final && !this.listing) this.unlisted.add(this.current);
    const st = p.statement;
    const body = st.body;
    if (st.label !== undefined && body.kind !== 'equ') {
      const here = this.here();
      this.defineSymbol(st.label.name, here.base, here.offset, 'label', st.label.pos);
    }
    switch (body.kind) {
      case 'empty':
        return;
      case 'directive':
        this.directive(body.directive, body.pos);
        return;
      case 'equ':
        this.equ(st, body.value, body.pos);
        return;
      default:
        this.emitting(st);
    }
  }

  // --- diagnostics --------------------------------------------------------------------------

  /**
   * Where a problem is: the column of the token at `pos` in the line the user wrote. A line a
   * macro produced (`org x` arrives as `[org x]`) is matched against the source line; when
   * the token is not in it, the place of the line (the macro call) is the answer.
   */
  private location(pos: number | undefined): SourceLocation {
    const line = this.parsed[this.current].line;
    const loc = line.location;
    if (pos === undefined || line.expansion) return loc;
    const source = this.options.sourceLine?.(loc.file, loc.line);
    if (source === undefined || source.slice(loc.column - 1) === line.text) {
      return { file: loc.file, line: loc.line, column: loc.column + pos };
    }
    const word = /^(?:[\w.$?@#~]+|\S)/.exec(line.text.slice(pos))?.[0];
    if (word === undefined) return loc;
    const candidates: number[] = [];
    for (let i = source.indexOf(word); i >= 0; i = source.indexOf(word, i + 1)) candidates.push(i);
    if (candidates.length === 0) return loc;
    const nearest = candidates.reduce((a, b) => (Math.abs(b - pos) < Math.abs(a - pos) ? b : a));
    return { file: loc.file, line: loc.line, column: nearest + 1 };
  }

  private diagnostic(severity: 'error' | 'warning', message: string, pos: number | undefined): Diagnostic {
    const line = this.parsed[this.current].line;
    const d: Diagnostic = { severity, message, location: this.location(pos) };
    if (line.expansion) d.expansion = line.expansion;
    return d;
  }

  error(message: string, pos?: number): void {
    if (this.firstPass) {
      const list = this.firstPassErrors.get(this.current) ?? [];
      if (!list.some((d) => d.message === message)) list.push(this.diagnostic('error', message, pos));
      this.firstPassErrors.set(this.current, list);
    } else if (this.final) {
      this.finalDiagnostics.push({ statement: this.current, diagnostic: this.diagnostic('error', message, pos) });
    }
  }

  private warn(message: string, pos?: number, category = 'other'): void {
    if (!this.final || this.disabledWarnings.has(category)) return;
    this.finalDiagnostics.push({ statement: this.current, diagnostic: this.diagnostic('warning', message, pos) });
  }

  private globalError(message: string): void {
    const loc = this.parsed[this.parsed.length - 1]?.line.location ?? { file: '', line: 1, column: 1 };
    if (!this.globalDiagnostics.some((d) => d.message === message)) {
      this.globalDiagnostics.push({ severity: 'error', message, location: { file: loc.file, line: loc.line, column: 1 } });
    }
  }

  // --- symbols and evaluation ---------------------------------------------------------------

  symbol(name: string, pos: number): SymbolValue | undefined {
    const s = this.symbols.lookup(name);
    if (s === undefined && this.externs.has(name)) {
      if (this.final) this.error('binary output format does not support external references', pos);
      return { base: -1, offset: 0 };
    }
    return s;
  }

  here(): SymbolValue {
    return this.inAbsolute ? { base: this.absBase, offset: this.absOffset } : { base: this.section.vbase, offset: this.section.length };
  }

  forwardReference(): void {
    if (this.firstPass) this.forwardStatements.add(this.current);
  }

  /** Evaluates with nasm's rule: undefined symbols are errors in critical expressions and in the final pass. */
  private eval(e: Expr, critical = false, hint?: EaHint): Value | undefined {
    this.critical = critical || this.final;
    return evaluate(e, this, hint);
  }

  private defineSymbol(name: string, base: number, offset: I64, kind: 'label' | 'equ', pos: number): void {
    if (this.symbols.define(name, base, offset, kind, this.current, pos) === 'redefined') {
      this.error(`label \`${name}' inconsistently redefined`, pos);
    }
  }

  /**
   * A relocatable value as a number: its base's address is added (and the current section's
   * subtracted for `x - $`) in the final pass, when the sections are placed; before that the
   * bases count as zero, which gives the same sizes. Other multiples of bases do not count.
   */
  private absolute(v: Value): I64 {
    let c = v.c;
    if (v.bases !== undefined && this.layout !== undefined && this.final) {
      for (const t of v.bases) {
        if (t.k === 1 || t.k === -1) c = i64.add(c, i64.mul(t.k, baseAddress(this.layout, t.id)));
      }
    }
    return c;
  }

  private currentBase(): number {
    return this.inAbsolute ? this.absBase : this.section.vbase;
  }

  // --- directives and equ -------------------------------------------------------------------

  private equ(st: Statement, value: Expr, pos: number): void {
    if (st.label === undefined) {
      this.error('EQU not preceded by label', pos);
      return;
    }
    const v = this.eval(value);
    if (v === undefined) return;
    // nasm defines an EQU of a value not known yet as 0 and corrects it in the next pass; of
    // `a - b` with b in the current section it keeps a's base and the difference of offsets.
    if (isJustUnknown(v)) this.defineSymbol(st.label.name, -1, 0, 'equ', st.label.pos);
    else if (isReloc(v, this.currentBase())) this.defineSymbol(st.label.name, relocBase(v), v.c, 'equ', st.label.pos);
    else this.error('bad syntax for EQU', pos);
  }

  private directive(d: Directive, pos: number): void {
    switch (d.name) {
      case 'section':
        this.sectionDirective(d.section, d.attributes, pos);
        return;
      case 'bits':
        if (d.bits === undefined) {
          const n = parseInt(d.text, 10);
          this.error(n === 64 ? 'bits 64 is not supported by the built-in assembler' : `\`${d.text}' is not a valid segment size; must be 16, 32 or 64`, pos);
          this.bits = 16;
        } else {
          this.bits = d.bits as Bits;
        }
        return;
      case 'org': {
        const v = d.expr && this.eval(d.expr, true);
        if (v === undefined) { this.error('No or invalid offset specified in ORG directive.', pos); return; }
        if (!isSimple(v)) { this.error('org value must be a critical expression', pos); return; }
        const value = i64.toNumber(v.c);
        if (this.origin !== undefined && value !== this.origin) this.error('program origin redefined', pos);
        else this.origin = value;
        return;
      }
      case 'absolute': {
        const v = d.expr && this.eval(d.expr, true);
        if (v === undefined) {
          if (!this.firstPass) this.error('invalid ABSOLUTE address', pos);
          this.absBase = -1;
          this.absOffset = 0x100;
        } else if (!isReloc(v, this.currentBase())) {
          this.error('cannot use non-relocatable expression as ABSOLUTE address', pos);
        } else {
          this.absBase = relocBase(v);
          this.absOffset = v.c;
        }
        this.inAbsolute = true;
        return;
      }
      case 'sectalign': {
        if (d.expr === undefined) return;
        const v = this.eval(d.expr, true);
        if (v === undefined) return;
        const a = i64.toNumber(v.c);
        if (!isSimple(v) || a <= 0 || !Number.isInteger(Math.log2(a))) {
          this.error(`segment alignment \`${i64.toNumber(v.c)}' is not power of two`, pos);
        } else if (!this.inAbsolute) {
          raiseAlignment(this.section, a);
        }
        return;
      }
      case 'warning':
        this.warningDirective(d.spec);
        return;
      case 'extern':
        for (const s of d.symbols) this.externs.add(s);
        return;
      case 'common':
        this.error('binary output format does not support common variables', pos);
        return;
      case 'list':
        if (d.on === undefined) this.error('invalid parameter to [list] directive', pos);
        else this.listing = d.on;
        return;
      default:
        return;
    }
  }

  private warningDirective(spec: string): void {
    const s = spec.toLowerCase();
    if (s === 'push') { this.warningStack.push(new Set(this.disabledWarnings)); return; }
    if (s === 'pop') { this.disabledWarnings = this.warningStack.pop() ?? new Set(); return; }
    const m = /^([+\-*]?)(?:error=)?([\w-]+)$/.exec(s);
    if (!m) return;
    if (m[1] === '-') this.disabledWarnings.add(m[2]);
    else this.disabledWarnings.delete(m[2]);
  }

  private sectionDirective(name: string, attributes: { key: string; pos: number; expr?: Expr; name?: string }[], pos: number): void {
    let sec = this.sections.find((s) => s.name === name);
    if (sec === undefined) {
      const isBss = name === '.bss';
      sec = new Section(name, this.sections.length, isBss ? undefined : this.sections[this.sections.length - 1], this.location(pos));
      if (name === '.data') sec.type = 'progbits';
      if (isBss) sec.type = 'nobits';
      this.sections.push(sec);
    }
    // Like outbin.c, attributes are read from the second pass on.
    if (!this.firstPass) {
      for (const a of attributes) {
        let value: number | undefined;
        if (a.expr !== undefined) {
          const v = this.eval(a.expr, true);
          if (v === undefined) continue;
          if (!isSimple(v)) { this.error('section attribute value must be a critical expression', a.pos); continue; }
          value = i64.toNumber(v.c);
        }
        const problem = assignAttribute(sec, a.key, value, a.name);
        if (problem !== undefined) this.error(problem, a.pos);
      }
      sec.type ??= 'progbits';
    }
    this.section = sec;
    this.inAbsolute = false;
  }

  // --- statements that produce bytes --------------------------------------------------------

  private emitting(st: Statement): void {
    let count = 1;
    if (st.times !== undefined) {
      const v = this.eval(st.times.expr, this.final);
      if (v === undefined) return;
      if (!isSimple(v)) {
        this.error('non-constant argument supplied to TIMES', st.times.pos);
      } else if (i64.compare(v.c, 0) < 0) {
        if (this.final) this.error(`TIMES value ${v.c} is negative`, st.times.pos);
        count = 0;
      } else if (i64.compare(v.c, MAX_IMAGE) > 0) {
        this.error(`TIMES value ${v.c} would make the image larger than ${MAX_IMAGE} bytes`, st.times.pos);
        count = 0;
      } else {
        count = i64.toNumber(v.c);
      }
    }
    const startOffset = this.offsetNow();
    const emission: Emission | undefined = this.final
      ? { statement: this.current, section: this.inAbsolute ? undefined : this.section, offset: startOffset, length: 0, chunks: [] }
      : undefined;
    const body = st.body;
    switch (body.kind) {
      case 'data': this.data(body.unit, body.items, count, emission); break;
      case 'reserve': this.reserve(body.unit, body.count, count, body.pos, emission); break;
      case 'incbin': this.incbin(body, count, emission); break;
      case 'insn':
      case 'prefixes': this.instruction(st, count, emission); break;
      default: break;
    }
    const size = this.offsetNow() - startOffset;
    this.lastSize[this.current] = size;
    if (emission) {
      emission.length = size;
      if (count > 1 && body.kind !== 'reserve' && body.kind !== 'incbin') emission.repeat = count;
      this.emissions.push(emission);
    }
  }

  private offsetNow(): number {
    return this.inAbsolute ? i64.toNumber(this.absOffset) : this.section.length;
  }

  /**
   * Adds `repeat` copies of `size` bytes at the current position. `bytes` undefined is reserved
   * space (zeros in a progbits section); `withReserved` marks data with reserved parts (`db 1, ?`).
   */
  private output(size: number, bytes: Uint8Array | undefined, repeat = 1, withReserved = false): void {
    const total = size * repeat;
    if (this.inAbsolute) {
      if (bytes !== undefined && total > 0) this.error('attempt to assemble code in [ABSOLUTE] space');
      this.absOffset = i64.add(this.absOffset, total);
      return;
    }
    const sec = this.section;
    if (this.final && total > 0) {
      if (sec.nobits) {
        if (bytes !== undefined) this.warn('attempt to initialize memory in a nobits section: ignored');
      } else {
        if (bytes === undefined || withReserved) this.warn(`uninitialized space declared in ${sec.name} section: zeroing`, undefined, 'zeroing');
        const buf = this.contents.get(sec)!;
        // Beyond the limit nothing is kept: the image size is reported as an error.
        if (buf.length + total <= MAX_IMAGE) {
          if (bytes === undefined) buf.reserve(total);
          else buf.appendRepeated(bytes.length === size ? bytes : bytes.subarray(0, size), repeat);
        }
      }
    }
    sec.length += total;
  }

  /** Data is evaluated once, like every statement in nasm, and repeated `times` times. */
  private data(unit: number, items: DataItem[], count: number, emission: Emission | undefined): void {
    let size = 0;
    for (const it of items) size += it.kind === 'bytes' ? it.bytes.length : unit;
    const reserved = items.filter((it) => it.kind === 'reserve').length;
    if (!emission || count === 0) {
      this.output(size, reserved === items.length ? undefined : EMPTY, count);
      return;
    }
    const copy = this.dataBytes(unit, items, size);
    emission.chunks = copy.chunks;
    if (reserved === items.length) this.output(size, undefined, count);
    else this.output(size, copy.bytes, count, reserved > 0);
  }

  private dataBytes(unit: number, items: DataItem[], size: number): { bytes: Uint8Array; chunks: ListChunk[] } {
    const bytes = new Uint8Array(size);
    const chunks: ListChunk[] = [];
    let at = 0;
    let raw = 0; // start of the pending raw run
    const flushRaw = (): void => { if (at > raw) chunks.push({ kind: 'raw', bytes: bytes.subarray(raw, at) }); };
    for (const it of items) {
      if (it.kind === 'bytes') {
        bytes.set(it.bytes, at);
        at += it.bytes.length;
        continue;
      }
      if (it.kind === 'reserve') {
        flushRaw();
        chunks.push({ kind: 'reserve', size: unit });
        at += unit;
        raw = at;
        continue;
      }
      const special = this.dataValue(it.expr, it.pos, unit, bytes, at);
      if (special !== undefined) {
        flushRaw();
        chunks.push(special);
        raw = at + unit;
      }
      at += unit;
    }
    flushRaw();
    return { bytes, chunks };
  }

  /** One numeric data element into bytes at `at`; returns its listing chunk when it is an address. */
  private dataValue(e: Expr, pos: number, unit: number, bytes: Uint8Array, at: number): ListChunk | undefined {
    const v = this.eval(e);
    if (v === undefined) return undefined;
    if (unit > 8) { this.error(`integer supplied as ${unit * 8}-bit data`, pos); return undefined; }
    if (isJustUnknown(v)) return undefined; // nasm writes 0
    const base = this.currentBase();
    if (!isDataReloc(v, base)) { this.error('expression is not simple or relocatable', pos); return undefined; }
    const value = this.absolute(v);
    i64.writeLE(bytes, at, value, unit);
    if (v.bases === undefined) {
      if (i64.overflowsGeneral(value, unit)) this.warn(`${SIZE_NAMES[unit] ?? `${unit * 8}-bit`} data exceeds bounds`, pos, 'number-overflow');
      return undefined;
    }
    return { kind: isSelfRelative(v, base) ? 'rel' : 'addr', value: v.c, size: unit };
  }

  private reserve(unit: number, countExpr: Expr, times: number, pos: number, emission: Emission | undefined): void {
    const v = this.eval(countExpr);
    let count = 0;
    if (v !== undefined) {
      if (isJustUnknown(v)) count = 0;
      else if (!isSimple(v)) this.error('attempt to reserve non-constant quantity of BSS space', pos);
      else if (i64.compare(v.c, 0) < 0) this.error(`attempt to reserve a negative quantity (${v.c}) of space`, pos);
      else count = i64.toNumber(v.c);
    }
    if (this.forwardStatements.has(this.current)) this.warn('forward reference in RESx can have unpredictable results', pos, 'forward');
    const size = Math.max(0, count * unit * times);
    this.output(size, undefined);
    if (emission) emission.chunks = [{ kind: 'reserve', size }];
  }

  private incbin(body: { file: string; skip?: Expr; length?: Expr; pos: number }, times: number, emission: Emission | undefined): void {
    let data = this.binaries.get(this.current);
    if (data === undefined) {
      data = this.options.readBinary(this.parsed[this.current].line.location.file, body.file);
      this.binaries.set(this.current, data);
    }
    if (!(data instanceof Uint8Array)) {
      this.error(data.error, body.pos);
      return;
    }
    let start = 0, length = data.length;
    for (const [e, isSkip] of [[body.skip, true], [body.length, false]] as const) {
      if (e === undefined) continue;
      const v = this.eval(e, true);
      if (v === undefined) return;
      if (!isSimple(v)) { this.error(`\`incbin': ${isSkip ? 'second' : 'third'} parameter is non-numeric`, body.pos); return; }
      const n = Math.max(0, i64.toNumber(v.c));
      if (isSkip) { start = Math.min(n, data.length); length = data.length - start; } else length = Math.min(length, n);
    }
    const part = data.subarray(start, start + length);
    this.output(part.length, part, times);
    if (emission) emission.incbin = part.length;
  }

  // --- instructions -------------------------------------------------------------------------

  /**
   * Operands are evaluated once (`$` is the address of the first copy under `times`); a
   * relative branch is encoded again for each copy, at its own address. An instruction whose
   * operands are constants is encoded once for all passes (far pointers aside: only the final
   * pass checks them); in the other passes an instruction whose operands have the values of
   * the previous pass keeps its encoding.
   */
  private instruction(st: Statement, count: number, emission: Emission | undefined): void {
    const body = st.body;
    const traits = this.traits[this.current];
    const relative = (traits & RELATIVE) !== 0;
    const constant = (traits & CONSTANT) !== 0;
    const previous = this.encodings[this.current];
    const reuseAll = previous !== undefined && previous.bits === this.bits && (constant || this.inputsUnchanged(st, previous));
    const serial = this.symbols.serial;
    const built = reuseAll ? previous.built
      : body.kind === 'insn' ? this.request(body.mnemonic, body.prefixes, body.operands)
        : { request: { mnemonic: '', prefixes: body.kind === 'prefixes' ? body.prefixes : [], operands: [] }, fields: [] };
    if (built === undefined) {
      // Keep the addresses of the previous pass so later lines stay where they were.
      if (this.final) this.output(this.lastSize[this.current] * count, new Uint8Array(this.lastSize[this.current] * count));
      return;
    }
    const pos = body.kind === 'insn' ? body.pos : undefined;
    for (let n = 0; n < count; n++) {
      const context: EncodeContext = { bits: this.bits, address: this.addressNow(), final: this.final };
      let r: EncodeResult;
      if (n === 0 && (reuseAll || (previous !== undefined && !this.final && previous.bits === this.bits &&
          (!relative || previous.address === context.address) && sameOperands(previous.built.request.operands, built.request.operands)))) {
        r = previous!.result;
        if (!reuseAll) Object.assign(previous!, { serial, address: context.address, section: this.inAbsolute ? undefined : this.section });
      } else {
        r = this.set.encode(built.request, context);
        if (n === 0 && !this.final) {
          this.encodings[this.current] = { bits: this.bits, address: context.address, built, result: r, serial, section: this.inAbsolute ? undefined : this.section };
        }
      }
      if (!r.ok) {
        this.error(r.error, pos);
        if (this.final) this.output(this.lastSize[this.current] * (count - n), new Uint8Array(this.lastSize[this.current] * (count - n)));
        return;
      }
      if (n === 0) {
        for (const w of r.warnings ?? []) this.warn(w, pos, warningCategory(w));
        if (emission) emission.instruction = { request: built.request, context, bytes: r.bytes, fields: built.fields };
      }
      if (!relative) {
        this.output(r.bytes.length, r.bytes, count);
        return;
      }
      this.output(r.bytes.length, r.bytes);
    }
  }

  /**
   * Whether an instruction would be built from the same values as last time: none of the
   * symbols it uses has moved since, and it is where it was if it uses `$` or is a branch.
   * Only the passes between the first and the final one take this shortcut.
   */
  private inputsUnchanged(st: Statement, previous: Encoding): boolean {
    if (this.final || this.firstPass) return false;
    if ((st.usesHere || (this.traits[this.current] & RELATIVE) !== 0) &&
        (previous.section !== (this.inAbsolute ? undefined : this.section) || previous.address !== this.addressNow())) return false;
    for (const name of st.symbols) {
      const e = this.symbols.lookup(name);
      if (e === undefined || e.changed > previous.serial) return false;
    }
    return true;
  }

  /** The address an instruction is encoded at: its section offset, plus the section's place in the final pass. */
  private addressNow(): number {
    const offset = this.offsetNow();
    return this.final && this.layout && !this.inAbsolute ? offset + this.layout.vstart[this.section.index] : offset;
  }

  private request(mnemonic: string, prefixes: string[], syntax: OperandSyntax[]): { request: InstructionRequest; fields: ListedField[] } | undefined {
    const operands: Operand[] = [];
    const fields: ListedField[] = [];
    const allPrefixes = [...prefixes];
    const branch = RELATIVE_BRANCHES.has(mnemonic);
    for (let i = 0; i < syntax.length; i++) {
      const o = syntax[i];
      if (o.mem !== undefined) {
        const m = this.memory(o, fields, operands.length);
        if (m === undefined) return undefined;
        if (o.mem.addressSize !== undefined && !allPrefixes.includes(o.mem.addressSize)) allPrefixes.push(o.mem.addressSize);
        operands.push(m);
        continue;
      }
      const v = this.eval(o.expr);
      if (v === undefined) return undefined;
      if (v.regs !== undefined) {
        const r = v.regs[0];
        if (v.regs.length !== 1 || r.k !== 1 || v.unknown !== 0 || v.bases !== undefined || !i64.isZero(v.c)) {
          // nasm reads `reg+n` as an AVX-512 register set.
          const set = v.regs.length === 1 && r.k === 1 && v.unknown === 0 && v.bases === undefined;
          this.error(set ? 'register set not valid for operand' : 'invalid operand type', o.pos);
          return undefined;
        }
        operands.push({ kind: 'reg', name: r.reg });
        continue;
      }
      // The segment of a far pointer is a plain number; only its offset can be an address.
      const far = o.colon === true && i + 1 < syntax.length;
      const imm = this.immediate(o, v, branch && !far, far ? [] : fields, operands.length);
      if (imm === undefined) return undefined;
      if (far) {
        const off = syntax[++i];
        const w = off.mem === undefined ? this.eval(off.expr) : undefined;
        if (w === undefined || w.regs !== undefined) {
          if (w !== undefined) this.error('invalid operand type', off.pos);
          return undefined;
        }
        const offset = this.immediate(off, w, false, fields, operands.length);
        if (offset === undefined) return undefined;
        const pointer: FarPointerOperand = { kind: 'farptr', segment: imm.value, offset: offset.value, size: o.size, offsetSize: off.size };
        operands.push(pointer);
        continue;
      }
      operands.push(imm);
    }
    return { request: { mnemonic, prefixes: allPrefixes, operands }, fields };
  }

  private immediate(o: OperandSyntax, v: Value, branch: boolean, fields: ListedField[], index: number): ImmediateOperand | undefined {
    if (isJustUnknown(v)) return { kind: 'imm', value: undefined, size: o.size, distance: o.distance, strict: o.strict };
    const cur = this.currentBase();
    if (!isReloc(v, cur)) {
      this.error('invalid operand type', o.pos);
      return undefined;
    }
    // Not a plain number: nasm gives it no short forms, even when nothing is left to relocate (`label * 2`).
    const relocatable = v.bases !== undefined;
    const base = relocBase(v);
    const foreign = base >= 0 && base !== this.section.vbase;
    if (this.final) {
      const selfRelative = isSelfRelative(v, cur);
      if (branch && (base < 0 || foreign)) fields.push({ operand: index, kind: 'rel', value: v.c });
      else if (!branch && (base >= 0 || selfRelative)) fields.push({ operand: index, kind: selfRelative ? 'rel' : 'addr', value: v.c });
    }
    const imm: ImmediateOperand = { kind: 'imm', value: i64.toInt32(this.absolute(v)), size: o.size, distance: o.distance, strict: o.strict };
    if (relocatable) imm.relocatable = true;
    if (foreign) imm.foreignSection = true;
    return imm;
  }

  /** A memory operand: registers as nasm's parse_mref sorts them, plus the displacement. */
  private memory(o: OperandSyntax, fields: ListedField[], index: number): MemoryOperand | undefined {
    const hint: EaHint = { type: 'none' };
    const v = this.eval(o.expr, false, hint);
    if (v === undefined) return undefined;
    let base: string | undefined, indexReg: string | undefined, scale = 0;
    for (const r of v.regs ?? []) {
      const gpr = GENERAL_REGISTER.test(r.reg);
      if (gpr && r.k === 1 && base === undefined) {
        base = r.reg;
      } else if (indexReg === undefined) {
        indexReg = r.reg;
        scale = i64.toNumber(r.k);
      } else {
        this.error(base === undefined ? 'invalid effective address: two index registers'
          : !gpr ? 'invalid effective address: impossible register' : 'invalid effective address: too many registers', o.pos);
        return undefined;
      }
    }
    const cur = this.currentBase();
    let plus = 0;
    for (const t of v.bases ?? []) {
      if (t.k === 1) plus++;
      else if (!(t.k === -1 && t.id === cur)) {
        this.error('invalid effective address: impossible segment base multiplier', o.pos);
        return undefined;
      }
    }
    if (plus > 1) {
      this.error('invalid effective address: multiple base segments', o.pos);
      return undefined;
    }
    const relocatable = v.bases !== undefined && v.unknown === 0;
    if (relocatable && this.final) fields.push({ operand: index, kind: isSelfRelative(v, cur) ? 'rel' : 'addr', value: v.c });
    const mem: MemoryOperand = {
      kind: 'mem',
      size: o.size,
      distance: o.distance,
      segment: o.mem!.segment as SegmentRegister | undefined,
      base,
      index: indexReg,
      scale,
      hint: hint.reg === undefined ? { type: hint.type } : { type: hint.type, reg: hint.reg },
      disp: v.unknown !== 0 ? undefined : i64.toInt32(this.absolute(v)),
      hasDisp: v.unknown !== 0 || v.bases !== undefined || !i64.isZero(v.c),
    };
    if (relocatable) mem.relocatable = true;
    if (o.mem!.dispSize !== undefined) mem.dispSize = o.mem!.dispSize;
    if (o.mem!.nosplit) mem.nosplit = true;
    return mem;
  }

  // --- results ------------------------------------------------------------------------------

  private result(): CoreResult {
    const layout = this.layout!;
    const size = imageSize(layout);
    if (size > MAX_IMAGE) this.globalError(`the flat image would be ${size} bytes; the built-in assembler writes at most ${MAX_IMAGE} bytes`);
    const diagnostics: Diagnostic[] = [...this.globalDiagnostics];
    const lineDiagnostics = new Map<number, Diagnostic[]>();
    const add = (statement: number, d: Diagnostic): void => {
      diagnostics.push(d);
      const list = lineDiagnostics.get(statement) ?? [];
      list.push(d);
      lineDiagnostics.set(statement, list);
    };
    for (const [statement, list] of this.firstPassErrors) for (const d of list) add(statement, d);
    for (const { statement, diagnostic } of this.finalDiagnostics) {
      if (!this.firstPassErrors.has(statement)) add(statement, diagnostic);
    }
    const ok = !diagnostics.some((d) => d.severity === 'error');
    const image = ok ? buildImage(layout, (s) => this.contents.get(s)?.view() ?? new Uint8Array(0)) : new Uint8Array(0);

    const lines = this.parsed.map((p) => p.line);
    const symbols = symbolList(this.symbols.all(), this.sections, layout, (statement, pos) => {
      this.current = statement;
      return this.location(pos);
    });
    const map = lineMap(this.emissions, lines, layout);

    return {
      ok, image, diagnostics: sortDiagnostics(diagnostics, lines), symbols, map,
      lines, emissions: this.emissions, lineDiagnostics,
      unlisted: this.unlisted, instructionSet: this.set,
    };
  }
}

/** Operands with the same fields and values (one level of nesting: the EA hint). */
function sameOperands(a: Operand[], b: Operand[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as unknown as Record<string, unknown>, y = b[i] as unknown as Record<string, unknown>;
    const keys = Object.keys(x);
    if (keys.length !== Object.keys(y).length) return false;
    for (const k of keys) {
      const u = x[k], v = y[k];
      if (u === v) continue;
      if (typeof u !== 'object' || typeof v !== 'object' || u === null || v === null) return false;
      const p = u as Record<string, unknown>, q = v as Record<string, unknown>;
      if (p.type !== q.type || p.reg !== q.reg) return false;
    }
  }
  return true;
}

function warningCategory(message: string): string {
  return /exceeds bounds/.test(message) ? 'number-overflow' : 'other';
}

/** Sorts by file (in the order the files were first read), line and column. */
export function sortDiagnostics(list: Diagnostic[], lines: readonly ExpandedLine[]): Diagnostic[] {
  const fileOrder = new Map<string, number>();
  for (const l of lines) if (!fileOrder.has(l.location.file)) fileOrder.set(l.location.file, fileOrder.size);
  const rank = (f: string): number => fileOrder.get(f) ?? fileOrder.size;
  return list
    .map((d, i) => ({ d, i }))
    .sort((a, b) => {
      const x = a.d.location, y = b.d.location;
      return rank(x.file) - rank(y.file) || (x.file < y.file ? -1 : x.file > y.file ? 1 : 0) ||
        x.line - y.line || x.column - y.column || a.i - b.i;
    })
    .map((e) => e.d);
}
