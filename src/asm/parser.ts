/**
 * The statement parser: one preprocessed line becomes a Statement, the way nasm's parse_line
 * reads it: an optional label (with or without a colon), prefixes and `times`, then an
 * instruction with its operands, a data or reserve pseudo-instruction, `incbin`, `equ`, or a
 * directive (`[section .data]` or its user-level form `section .data`). Statements are parsed
 * once and evaluated in every pass.
 */
import type { SegmentRegister, SizeKeyword } from './operand';
import { floatBytes } from './numbers';
import { type Token, tokenize } from './lexer';
import { type Expr, parseExpression, TokenStream } from './expression';

/** Words the parser has to tell apart; the instruction set comes from the encoder. */
export interface Vocabulary {
  isMnemonic(name: string): boolean;
  isRegister(name: string): boolean;
  isPrefix(name: string): boolean;
}

export type DataItem =
  | { kind: 'expr'; expr: Expr; pos: number }
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'reserve' };

export interface MemorySyntax {
  segment?: SegmentRegister;
  dispSize?: 'byte' | 'word' | 'dword';
  nosplit?: boolean;
  /** a16/a32 written inside the brackets. */
  addressSize?: 'a16' | 'a32';
}

export interface OperandSyntax {
  pos: number;
  /** byte, word, dword, qword or tword, the first one written. */
  size?: SizeKeyword;
  distance?: 'far' | 'near' | 'short';
  strict?: boolean;
  expr: Expr;
  /** Present for a memory reference. */
  mem?: MemorySyntax;
  /** Followed by `:`: the segment half of a far pointer (`jmp 0x08:start`). */
  colon?: boolean;
}

export interface SectionAttribute { key: string; pos: number; expr?: Expr; name?: string }

export type Directive =
  | { name: 'section'; section: string; attributes: SectionAttribute[] }
  | { name: 'bits'; bits: number | undefined; text: string }
  | { name: 'org' | 'absolute' | 'sectalign'; expr: Expr | undefined }
  | { name: 'warning'; spec: string }
  | { name: 'global' | 'extern' | 'static' | 'common' | 'required'; symbols: string[] }
  | { name: 'list'; on: boolean | undefined }
  | { name: 'ignored' };

export type Body =
  | { kind: 'empty' }
  | { kind: 'insn'; mnemonic: string; prefixes: string[]; operands: OperandSyntax[]; pos: number }
  /** Prefixes without an instruction: nasm emits them as `resb 0` with prefixes. */
  | { kind: 'prefixes'; prefixes: string[]; pos: number }
  | { kind: 'data'; unit: number; items: DataItem[]; pos: number }
  | { kind: 'reserve'; unit: number; count: Expr; pos: number }
  | { kind: 'incbin'; file: string; skip?: Expr; length?: Expr; pos: number }
  | { kind: 'equ'; value: Expr; pos: number }
  | { kind: 'directive'; directive: Directive; pos: number };

export interface Statement {
  label?: { name: string; pos: number };
  times?: { expr: Expr; pos: number };
  body: Body;
  /** No expression refers to a symbol, `$` or `$$`: the values are the same in every pass. */
  constant: boolean;
  /** The symbols the expressions refer to, and whether they use `$` or `$$`. */
  symbols: string[];
  usesHere: boolean;
}

/** A problem found while parsing; warnings carry nasm's warning class (for `[warning -class]`). */
export interface ParseMessage { severity: 'error' | 'warning'; message: string; pos: number; category?: string }

type WordClass = 'id' | 'insn' | 'data' | 'reserve' | 'prefix' | 'times' | 'segreg' | 'reg' | 'keyword' | 'other';

const SIZE_BYTES: Record<string, number> = { byte: 1, word: 2, dword: 4, qword: 8, tword: 10, oword: 16, yword: 32, zword: 64 };
const SPECIAL_WORDS = new Set(['far', 'near', 'short', 'strict', 'to', 'nosplit', 'rel', 'abs']);
const DATA_UNITS: Record<string, number> = { db: 1, dw: 2, dd: 4, dq: 8, dt: 10, do: 16, dy: 32, dz: 64 };
const RESERVE_UNITS: Record<string, number> = { resb: 1, resw: 2, resd: 4, resq: 8, rest: 10, reso: 16, resy: 32, resz: 64 };
const SEGMENT_REGISTERS = new Set(['es', 'cs', 'ss', 'ds', 'fs', 'gs']);
const OTHER_KEYWORDS = new Set(['seg', 'wrt']);
/** Directives that nasm's standard macros also accept without brackets. */
const USER_DIRECTIVES = new Set([
  'section', 'segment', 'bits', 'use16', 'use32', 'org', 'absolute', 'sectalign',
  'global', 'extern', 'static', 'common', 'required', 'cpu', 'default', 'float',
]);

class LineFailed extends Error {}

/** A parsed line; statements are never modified once parsed, so lines may share them. */
export interface ParsedText { statement: Statement; messages: ParseMessage[] }

/** Parses the lines of one assembly, keeping the local-label scope from line to line. */
export class StatementParser {
  /** The last non-local label: `.x` means `${scope}.x`. */
  private scope = '';
  private messages: ParseMessage[] = [];
  private constant = true;
  private symbols = new Set<string>();
  private usesHere = false;

  /** Lines parsed so far that name no local label, by text. */
  private readonly seen = new Map<string, ParsedText>();

  constructor(private readonly vocabulary: Vocabulary) {}

  /**
   * Parses one line. A line without `.` names no local label, so its statement does not depend
   * on the scope: a line seen before (`push ebp`, `ret`) shares that statement, and only its
   * effect on the scope is redone.
   */
  parse(text: string): ParsedText {
    const shareable = !text.includes('.');
    if (shareable) {
      const seen = this.seen.get(text);
      if (seen !== undefined) {
        const st = seen.statement;
        if (st.label !== undefined && st.body.kind !== 'equ') this.scope = st.label.name;
        return seen;
      }
    }
    const parsed = this.parseText(text);
    if (shareable) this.seen.set(text, parsed);
    return parsed;
  }

  private parseText(text: string): ParsedText {
    this.messages = [];
    this.constant = true;
    this.symbols = new Set();
    this.usesHere = false;
    const tokens = tokenize(text);
    const ts = new TokenStream(tokens);
    let statement: Statement;
    try {
      statement = this.statement(ts, text);
    } catch (e) {
      if (!(e instanceof LineFailed)) throw e;
      statement = { label: this.pendingLabel, body: { kind: 'empty' }, constant: false, symbols: [], usesHere: false };
    }
    this.pendingLabel = undefined;
    statement.constant = this.constant;
    statement.symbols = [...this.symbols];
    statement.usesHere = this.usesHere;
    return { statement, messages: this.messages };
  }

  /** The label of a line that failed after it: nasm defines it anyway. */
  private pendingLabel: Statement['label'];

  private error(message: string, pos: number): never {
    this.messages.push({ severity: 'error', message, pos });
    throw new LineFailed();
  }

  private warn(message: string, pos: number, category = 'other'): void {
    this.messages.push({ severity: 'warning', message, pos, category });
  }

  /** The name a symbol reference or definition stands for. */
  private fullName(text: string): string {
    return text.charCodeAt(0) === 0x2e && text.charCodeAt(1) !== 0x2e ? this.scope + text : text;
  }

  private defineScope(name: string): void {
    if (name.charCodeAt(0) !== 0x2e) this.scope = name;
  }

  private readonly syntax = {
    register: (t: Token): string | undefined => {
      const c = this.wordClass(t);
      return c === 'reg' || c === 'segreg' ? t.text.toLowerCase() : undefined;
    },
    // Instruction words are symbol names inside an expression, as in nasm.
    reserved: (t: Token): boolean => {
      const c = this.wordClass(t);
      return c === 'keyword' || c === 'prefix' || c === 'times';
    },
    symbolName: (text: string): string => this.fullName(text),
    error: (message: string, pos: number): void => { this.messages.push({ severity: 'error', message, pos }); },
    warn: (message: string, pos: number): void => this.warn(message, pos, message.startsWith('numeric constant') ? 'number-overflow' : 'other'),
  };

  private expression(ts: TokenStream): Expr {
    const e = parseExpression(ts, this.syntax);
    if (e === undefined) throw new LineFailed();
    if (e.op !== 'num' && e.op !== 'reg' && this.references(e)) this.constant = false;
    return e;
  }

  private readonly wordClasses = new Map<string, WordClass>();

  private wordClass(t: Token): WordClass {
    if (t.kind !== 'id') return 'other';
    if (t.forcedId) return 'id';
    let c = this.wordClasses.get(t.text);
    if (c === undefined) {
      c = this.classify(t.text.toLowerCase());
      this.wordClasses.set(t.text, c);
    }
    return c;
  }

  private classify(w: string): WordClass {
    if (w in DATA_UNITS || w === 'incbin' || w === 'equ') return 'data';
    if (w in RESERVE_UNITS) return 'reserve';
    if (w === 'times') return 'times';
    if (SEGMENT_REGISTERS.has(w)) return 'segreg';
    if (this.vocabulary.isPrefix(w)) return 'prefix';
    if (this.vocabulary.isRegister(w)) return 'reg';
    if (this.vocabulary.isMnemonic(w)) return 'insn';
    if (w in SIZE_BYTES || SPECIAL_WORDS.has(w) || OTHER_KEYWORDS.has(w)) return 'keyword';
    return 'id';
  }

  private statement(ts: TokenStream, text: string): Statement {
    const first = ts.peek;
    if (first.kind === 'eos') return { body: { kind: 'empty' }, constant: true, symbols: [], usesHere: false };
    if (first.kind === 'op' && first.text === '[') return { body: this.bracketDirective(text, first.start), constant: true, symbols: [], usesHere: false };
    if (first.kind === 'id' && !first.forcedId && USER_DIRECTIVES.has(first.text.toLowerCase()) && !isLabelColon(ts.tokens[1])) {
      return { body: this.directive(first.text.toLowerCase(), restOfLine(text, first.end), first.end, first.start), constant: true, symbols: [], usesHere: false };
    }
    return this.instructionLine(ts, false);
  }

  private instructionLine(ts: TokenStream, insnIsLabel: boolean): Statement {
    const start = ts.i;
    let t = ts.peek;
    let cls = this.wordClass(t);
    let label: Statement['label'];
    let first = true;
    if (!(cls === 'id' || cls === 'insn' || cls === 'data' || cls === 'reserve' || cls === 'prefix' || cls === 'times' || cls === 'segreg')) {
      this.error('label or instruction expected at start of line', t.start);
    }
    if (cls === 'id' || (insnIsLabel && (cls === 'insn' || cls === 'data' || cls === 'reserve'))) {
      first = false;
      ts.next();
      label = { name: this.fullName(t.text), pos: t.start };
      if (ts.isOp(':')) ts.next();
      else if (ts.atEnd) this.warn('label alone on a line without a colon might be in error', t.start, 'label-orphan');
      const isEqu = ts.peek.kind === 'id' && ts.peek.text.toLowerCase() === 'equ';
      if (!isEqu) this.defineScope(t.text);
      this.pendingLabel = label;
      t = ts.peek;
      cls = this.wordClass(t);
    }
    if (ts.atEnd) return { label, body: { kind: 'empty' }, constant: true, symbols: [], usesHere: false };

    const prefixes: string[] = [];
    let times: Statement['times'];
    for (;;) {
      if (cls === 'times') {
        ts.next();
        times = { expr: this.expression(ts), pos: t.start };
      } else if (cls === 'prefix' || cls === 'segreg') {
        ts.next();
        prefixes.push(t.text.toLowerCase());
      } else {
        break;
      }
      first = false;
      t = ts.peek;
      cls = this.wordClass(t);
    }

    if (cls !== 'insn' && cls !== 'data' && cls !== 'reserve') {
      if (t.kind === 'eos' && prefixes.length > 0) return { label, times, body: { kind: 'prefixes', prefixes, pos: ts.tokens[start].start }, constant: true, symbols: [], usesHere: false };
      this.error('parser: instruction expected', t.start);
    }
    ts.next();
    // `nop: ...` and `db: ...` are labels, not instructions.
    if (first && ts.isOp(':')) {
      ts.i = start;
      return this.instructionLine(ts, true);
    }
    const mnemonic = t.text.toLowerCase();
    const body = this.body(ts, mnemonic, prefixes, t.start);
    return { label, times, body, constant: true, symbols: [], usesHere: false };
  }

  private body(ts: TokenStream, mnemonic: string, prefixes: string[], pos: number): Body {
    if (mnemonic in DATA_UNITS) {
      const items = this.dataItems(ts, DATA_UNITS[mnemonic]);
      if (items.length === 0) this.warn('no operand for data declaration', pos, 'db-empty');
      return { kind: 'data', unit: DATA_UNITS[mnemonic], items, pos };
    }
    if (mnemonic === 'incbin') return this.incbin(ts, pos);
    if (mnemonic === 'equ') {
      if (ts.atEnd) this.error('bad syntax for EQU', pos);
      const value = this.expression(ts);
      if (!ts.atEnd) this.error('bad syntax for EQU', ts.peek.start);
      return { kind: 'equ', value, pos };
    }
    if (mnemonic in RESERVE_UNITS) {
      if (ts.atEnd) this.error('invalid combination of opcode and operands', pos);
      const count = this.expression(ts);
      if (!ts.atEnd) this.error('comma, colon, decorator or end of line expected after operand', ts.peek.start);
      return { kind: 'reserve', unit: RESERVE_UNITS[mnemonic], count, pos };
    }
    return { kind: 'insn', mnemonic, prefixes, operands: this.operands(ts, mnemonic === 'jmp' || mnemonic === 'call'), pos };
  }

  /** db-style operands: expressions, strings, floating-point constants and `?`. */
  private dataItems(ts: TokenStream, unit: number): DataItem[] {
    const items: DataItem[] = [];
    while (!ts.atEnd) {
      const t = ts.peek;
      const next = ts.tokens[ts.i + 1];
      if (t.kind === 'op' && t.text === '?' && endsItem(next)) {
        ts.next();
        items.push({ kind: 'reserve' });
      } else if (t.kind === 'str' && endsItem(next)) {
        ts.next();
        items.push({ kind: 'bytes', bytes: padded(t.bytes!, unit) });
      } else if (t.kind === 'float' || (t.kind === 'op' && (t.text === '-' || t.text === '+') && next.kind === 'float')) {
        const sign = t.kind === 'op' && t.text === '-' ? -1 : 1;
        const f = t.kind === 'float' ? t : next;
        ts.next();
        if (f !== t) ts.next();
        const bytes = floatBytes(f.text, sign, unit);
        if (typeof bytes === 'string') this.error(bytes, f.start);
        items.push({ kind: 'bytes', bytes });
      } else {
        items.push({ kind: 'expr', expr: this.expression(ts), pos: t.start });
      }
      if (ts.atEnd) break;
      // nasm eats one token after an operand when it is not a comma, then wants a comma or the end.
      if (!ts.isOp(',')) {
        ts.next();
        if (ts.atEnd) break;
        if (!ts.isOp(',')) this.error('comma expected after operand', ts.peek.start);
      }
      ts.next(); // a trailing comma is allowed
    }
    return items;
  }

  private incbin(ts: TokenStream, pos: number): Body {
    const t = ts.peek;
    if (t.kind !== 'str') this.error("`incbin' expects a file name", t.start);
    ts.next();
    const file = new TextDecoder().decode(t.bytes);
    const numbers: Expr[] = [];
    while (ts.isOp(',')) {
      ts.next();
      const n = ts.peek;
      if (n.kind === 'str') this.error(`\`incbin': ${numbers.length === 0 ? 'second' : 'third'} parameter is non-numeric`, n.start);
      numbers.push(this.expression(ts));
      if (numbers.length > 2) this.error("`incbin': more than three parameters", n.start);
    }
    if (!ts.atEnd) this.error('comma expected after operand', ts.peek.start);
    return { kind: 'incbin', file, skip: numbers[0], length: numbers[1], pos };
  }

  private operands(ts: TokenStream, farJumpOk: boolean): OperandSyntax[] {
    const operands: OperandSyntax[] = [];
    while (!ts.atEnd) {
      operands.push(this.operand(ts, farJumpOk));
      if (ts.isOp(',') || (ts.isOp(':') && operands[operands.length - 1].colon)) {
        ts.next();
        if (ts.atEnd) this.error('expression syntax error', ts.peek.start);
      } else if (!ts.atEnd) {
        this.error('comma, colon, decorator or end of line expected after operand', ts.peek.start);
      }
    }
    return operands;
  }

  private operand(ts: TokenStream, farJumpOk: boolean): OperandSyntax {
    const pos = ts.peek.start;
    let size: SizeKeyword | undefined;
    let distance: 'far' | 'near' | 'short' | undefined;
    let strict = false;
    for (;;) {
      const t = ts.peek;
      if (t.kind !== 'id' || t.forcedId) break;
      const w = t.text.toLowerCase();
      if (w in SIZE_BYTES) {
        if (w === 'oword' || w === 'yword' || w === 'zword') this.error('invalid operand size specification', t.start);
        size ??= w as SizeKeyword; // the first size keyword counts
      } else if (w === 'strict') {
        strict = true;
      } else if (w === 'far' || w === 'near' || w === 'short') {
        distance = w;
      } else if (w !== 'to' && w !== 'rel' && w !== 'abs') {
        break; // `to` matters only for FPU registers, `rel`/`abs` only in 64-bit mode
      }
      ts.next();
    }

    let mem: MemorySyntax | undefined;
    let bracket = false;
    if (ts.isOp('[')) {
      ts.next();
      mem = {};
      bracket = true;
      this.memoryOverrides(ts, mem);
    }
    let expr = this.expression(ts);
    // A segment override: `[es:bx]`, `es:[bx]`, or (not for jmp/call) `es:bx`.
    while (ts.isOp(':') && (mem !== undefined || !farJumpOk)) {
      const segPos = ts.peek.start;
      if (expr.op !== 'reg' || !SEGMENT_REGISTERS.has(expr.name)) this.error('invalid segment override', segPos);
      mem ??= {};
      if (mem.segment !== undefined) this.error('instruction has conflicting segment overrides', segPos);
      mem.segment = expr.name as SegmentRegister;
      ts.next();
      if (!bracket && ts.isOp('[')) {
        ts.next();
        bracket = true;
      }
      if (bracket) this.memoryOverrides(ts, mem);
      expr = this.expression(ts);
    }
    if (bracket) {
      if (!ts.isOp(']')) this.error('expecting ] at end of memory operand', ts.peek.start);
      ts.next();
      if (!ts.atEnd && !ts.isOp(',')) this.error('comma, decorator or end of line expected after operand', ts.peek.start);
    }
    const colon = mem === undefined && farJumpOk && ts.isOp(':');
    if (distance === 'far' && mem === undefined && !farJumpOk) this.error('invalid use of FAR operand specifier', pos);
    return { pos, size, distance, strict: strict || undefined, expr, mem, colon: colon || undefined };
  }

  /** Notes the symbols and `$`/`$$` an expression uses; true when it uses any. */
  private references(root: Expr): boolean {
    let found = false;
    const stack: Expr[] = [root];
    while (stack.length) {
      const e = stack.pop()!;
      switch (e.op) {
        case 'num': case 'reg': break;
        case 'sym': this.symbols.add(e.name); found = true; break;
        case 'here': case 'base': this.usesHere = true; found = true; break;
        case 'neg': case 'plus': case 'not': case 'lnot': stack.push(e.arg); break;
        case '?': stack.push(e.cond, e.a, e.b); break;
        default: stack.push(e.a, e.b);
      }
    }
    return found;
  }

  /** Size keywords and prefixes written just inside the brackets: `[byte eax+1]`, `[nosplit eax*2]`. */
  private memoryOverrides(ts: TokenStream, mem: MemorySyntax): void {
    for (;;) {
      const t = ts.peek;
      if (t.kind !== 'id' || t.forcedId) return;
      const w = t.text.toLowerCase();
      if (w === 'byte' || w === 'word' || w === 'dword') mem.dispSize = w;
      else if (w === 'nosplit') mem.nosplit = true;
      else if (w === 'a16' || w === 'a32') {
        if (mem.addressSize !== undefined && mem.addressSize !== w) this.error('conflicting address size specifications', t.start);
        mem.addressSize = w;
      } else if (w === 'rel' || w === 'abs') {
        // RIP-relative addressing exists only in 64-bit mode
      } else if (w in SIZE_BYTES) this.error('invalid size specification in effective address', t.start);
      else return;
      ts.next();
    }
  }

  private bracketDirective(text: string, open: number): Body {
    const close = text.indexOf(']', open);
    const semicolon = text.indexOf(';', open);
    if (close < 0 || (semicolon >= 0 && semicolon < close)) this.error('invalid directive line', open);
    const inner = text.slice(open + 1, close);
    const m = /^\s*(\S+)\s*/.exec(inner);
    if (!m) this.error('invalid directive line', open);
    const wordStart = open + 1 + inner.indexOf(m[1]);
    const argsStart = open + 1 + m[0].length;
    return this.directive(m[1].toLowerCase(), text.slice(argsStart, close).trimEnd(), argsStart, wordStart, m[1]);
  }

  private directive(name: string, args: string, argsPos: number, pos: number, written = name): Body {
    const d = (directive: Directive): Body => ({ kind: 'directive', directive, pos });
    switch (name) {
      case 'section':
      case 'segment':
        return d(this.sectionDirective(args, argsPos));
      case 'bits':
        return d({ name: 'bits', bits: bitsValue(args), text: args });
      case 'use16':
      case 'use32':
        return d({ name: 'bits', bits: name === 'use16' ? 16 : 32, text: name.slice(3) });
      case 'org':
      case 'absolute':
      case 'sectalign':
        return d({ name, expr: this.argumentExpression(args, argsPos) });
      case 'warning':
        return d({ name: 'warning', spec: args.trim() });
      case 'global':
      case 'extern':
      case 'static':
      case 'common':
      case 'required':
        return d({ name, symbols: args.split(/[\s,]+/).filter((s) => s !== '') });
      case 'list':
        return d({ name: 'list', on: args.trim() === '+' ? true : args.trim() === '-' ? false : undefined });
      case 'cpu':
      case 'default':
      case 'float':
      case 'map':
      case 'debug':
      case 'pragma':
        return d({ name: 'ignored' });
      default:
        this.error(`unrecognized directive [${written}]`, pos);
    }
  }

  /** An expression argument of a directive, positioned in the line; undefined when empty. */
  private argumentExpression(args: string, argsPos: number): Expr | undefined {
    if (args.trim() === '') return undefined;
    const tokens = tokenize(' '.repeat(argsPos) + args);
    const ts = new TokenStream(tokens);
    const e = this.expression(ts);
    if (!ts.atEnd) this.error('expression syntax error', ts.peek.start);
    return e;
  }

  /** `section NAME attr=value...`, as outbin.c's bin_read_attribute reads the attributes. */
  private sectionDirective(args: string, argsPos: number): Directive {
    const m = /^\s*(\S*)/.exec(args)!;
    const section = m[1];
    if (section === '') this.error('segment name `\' not recognized', argsPos);
    const attributes: SectionAttribute[] = [];
    const re = /\S+/g;
    re.lastIndex = m[0].length;
    let w: RegExpExecArray | null;
    while ((w = re.exec(args)) !== null) {
      let word = w[0];
      const at = argsPos + w.index;
      const eq = word.indexOf('=');
      const key = (eq >= 0 ? word.slice(0, eq + 1) : word).toLowerCase();
      if (key === 'follows=' || key === 'vfollows=') {
        attributes.push({ key: key.slice(0, -1), pos: at, name: word.slice(eq + 1) });
      } else if (key === 'align=' || key === 'start=' || key === 'vstart=' || key === 'valign=') {
        // A parenthesized value may contain spaces: take up to the matching parenthesis.
        if (word[eq + 1] === '(') {
          let depth = 0, k = w.index + eq + 1;
          for (; k < args.length; k++) {
            if (args[k] === '(') depth++;
            else if (args[k] === ')' && --depth === 0) break;
          }
          if (k >= args.length) this.error("expecting `)'", at);
          word = args.slice(w.index, k + 1);
          re.lastIndex = k + 1;
        }
        const valueText = word.slice(eq + 1);
        if (valueText === '') {
          this.warn("No value given to attribute in `section' directive", at);
          continue;
        }
        attributes.push({ key: key.slice(0, -1), pos: at, expr: this.argumentExpression(valueText, at + eq + 1) });
      } else if (key === 'nobits' || key === 'progbits') {
        attributes.push({ key, pos: at });
      } else {
        this.warn(`ignoring unknown section attribute: "${word}"`, at);
      }
    }
    return { name: 'section', section, attributes };
  }
}

function isLabelColon(t: Token | undefined): boolean {
  return t !== undefined && t.kind === 'op' && t.text === ':';
}

function endsItem(t: Token): boolean {
  return t.kind === 'eos' || (t.kind === 'op' && (t.text === ',' || t.text === ')'));
}

/** A string in dw/dd/dq is padded with zeros to a whole number of elements. */
function padded(bytes: Uint8Array, unit: number): Uint8Array {
  const rem = bytes.length % unit;
  if (rem === 0) return bytes;
  const out = new Uint8Array(bytes.length + unit - rem);
  out.set(bytes);
  return out;
}

function restOfLine(text: string, from: number): string {
  // Cut a trailing comment, minding quotes.
  let quote = '';
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = '';
      else if (c === '\\' && quote === '`') i++;
    } else if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === ';') return text.slice(from, i).trim();
  }
  return text.slice(from).trim();
}

/** nasm reads the argument of BITS with atoi. */
function bitsValue(args: string): number | undefined {
  const m = /^\s*[+-]?\d+/.exec(args);
  const n = m ? parseInt(m[0], 10) : 0;
  return n === 16 || n === 32 ? n : undefined;
}

