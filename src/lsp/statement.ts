/**
 * One source line as the language server sees it, before preprocessing: the name it defines
 * (label, `equ` constant, `%define`, `%macro`, section), its instruction, directive or macro
 * call, the operands, and every word with its role and column, so that hovers, references and
 * constant propagation can work on the text the user wrote. It follows the rules of the
 * assembler's statement parser (a first word that is not an instruction is a label, with or
 * without a colon), except that a first word followed by operands instead of an instruction
 * is taken as a macro call, since macros are expanded before the assembler sees the line.
 */
import { isMnemonic, isRegister, PREFIX_WORDS } from '../asm/encoder';
import { tokenize, type Token } from '../asm/lexer';
import { KEYWORDS } from './directives';

export type WordRole =
  | 'label' | 'mnemonic' | 'prefix' | 'directive' | 'preprocessor' | 'macro'
  | 'register' | 'keyword' | 'symbol' | 'section' | 'number' | 'string' | 'param';

export interface Word {
  /** The name as written, without a `$` that forces an identifier. */
  text: string;
  /** Columns, 0-based, end exclusive (a forcing `$` included). */
  start: number;
  end: number;
  role: WordRole;
  /** Numbers: the value. */
  value?: bigint;
}

export type DefinitionKind = 'label' | 'equ' | 'define' | 'macro' | 'section';

export interface Definition {
  word: Word;
  kind: DefinitionKind;
  /** `%idefine`, `%imacro`: used in any case. */
  caseInsensitive?: boolean;
}

export interface Operand {
  start: number;
  end: number;
  tokens: Token[];
}

export type OpKind = 'instruction' | 'directive' | 'macro' | 'preprocessor';

export interface MacroSignature {
  min: number;
  max: number;
  /** The last parameter takes the rest of the line (`+`). */
  greedy: boolean;
}

export interface Statement {
  definition?: Definition;
  /** The label had a colon (a label alone without one is more likely a macro call). */
  labelColon?: boolean;
  /** Instruction, directive, macro name or `%directive`; `name` is lower case except for macros. */
  op?: Word & { name: string };
  opKind?: OpKind;
  prefixes: Word[];
  operands: Operand[];
  /** Every word on the line, left to right. */
  words: Word[];
  /** `equ`, `%define`, `%assign`: the tokens of the value. */
  value?: Token[];
  /** `%macro`: how many parameters. */
  macro?: MacroSignature;
  /** `%include "name"`: the name. */
  include?: { name: string; start: number; end: number };
  /** End of the code, before the comment and trailing blanks. */
  codeEnd: number;
  commentStart?: number;
}

const DATA_WORDS = new Set(['db', 'dw', 'dd', 'dq', 'dt', 'do', 'dy', 'dz', 'resb', 'resw', 'resd', 'resq', 'rest', 'reso', 'resy', 'resz', 'incbin', 'equ']);
/** Directives the assembler accepts at the start of a line without brackets. */
const LINE_DIRECTIVES = new Set([
  'section', 'segment', 'bits', 'use16', 'use32', 'org', 'absolute', 'sectalign',
  'global', 'extern', 'static', 'common', 'required', 'cpu', 'default', 'float',
]);
/** Directives nasm's standard macros provide (they look like macro calls to the assembler). */
const MACRO_DIRECTIVES = new Set(['struc', 'endstruc', 'istruc', 'at', 'iend', 'align', 'alignb']);
const SEGMENT_REGISTERS = new Set(['es', 'cs', 'ss', 'ds', 'fs', 'gs']);
const DEFINE_DIRECTIVES = new Set([
  '%define', '%xdefine', '%idefine', '%xidefine', '%assign', '%iassign', '%defstr', '%idefstr',
  '%deftok', '%ideftok', '%strlen', '%substr', '%strcat',
]);

type WordClass = 'insn' | 'data' | 'times' | 'prefix' | 'segreg' | 'reg' | 'keyword' | 'directive' | 'id';

function classify(t: Token): WordClass {
  if (t.kind !== 'id' || t.forcedId) return 'id';
  const w = t.text.toLowerCase();
  if (DATA_WORDS.has(w)) return 'data';
  if (w === 'times') return 'times';
  if (SEGMENT_REGISTERS.has(w)) return 'segreg';
  if (PREFIX_WORDS.has(w)) return 'prefix';
  if (isRegister(w)) return 'reg';
  if (isMnemonic(w)) return 'insn';
  if (w in KEYWORDS) return 'keyword';
  if (MACRO_DIRECTIVES.has(w)) return 'directive';
  return 'id';
}

/** Merges `%` with the name after it: `%define`, `%1`, `%%local`, `%$context`. */
function mergePercent(tokens: Token[]): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    const next = tokens[i + 1];
    if (t.kind === 'op' && (t.text === '%' || t.text === '%%') && next !== undefined && next.start === t.end
      && (next.kind === 'id' || next.kind === 'num')) {
      out.push({ kind: 'op', text: t.text + text(next), start: t.start, end: next.end });
      i++;
    } else {
      out.push(t);
    }
  }
  return out;
}

function text(t: Token): string {
  return t.kind === 'id' && t.forcedId ? `$${t.text}` : t.text;
}

function isPercentWord(t: Token | undefined): boolean {
  return t !== undefined && t.kind === 'op' && t.text.length > 1 && t.text[0] === '%';
}

function isOp(t: Token | undefined, op: string): boolean {
  return t !== undefined && t.kind === 'op' && t.text === op;
}

function toBigInt(v: number | bigint | undefined): bigint | undefined {
  if (v === undefined) return undefined;
  return typeof v === 'bigint' ? v : BigInt(v);
}

/** The word for a token, with the role its place and spelling give it. */
function wordOf(t: Token, role?: WordRole): Word | undefined {
  if (t.kind === 'num') return { text: t.text, start: t.start, end: t.end, role: 'number', value: toBigInt(t.value) };
  if (t.kind === 'str') return { text: t.text, start: t.start, end: t.end, role: 'string' };
  if (isPercentWord(t)) return { text: t.text, start: t.start, end: t.end, role: role ?? 'param' };
  if (t.kind !== 'id') return undefined;
  if (role !== undefined) return { text: t.text, start: t.start, end: t.end, role };
  switch (classify(t)) {
    case 'reg': case 'segreg': return { text: t.text, start: t.start, end: t.end, role: 'register' };
    case 'keyword': return { text: t.text, start: t.start, end: t.end, role: 'keyword' };
    case 'insn': return { text: t.text, start: t.start, end: t.end, role: 'mnemonic' };
    case 'prefix': return { text: t.text, start: t.start, end: t.end, role: 'prefix' };
    case 'data': case 'times': case 'directive': return { text: t.text, start: t.start, end: t.end, role: 'directive' };
    default: return { text: t.text, start: t.start, end: t.end, role: 'symbol' };
  }
}

/** Splits tokens at commas outside brackets and parentheses. */
function splitOperands(tokens: Token[]): Operand[] {
  const out: Operand[] = [];
  let current: Token[] = [];
  let depth = 0;
  const flush = (): void => {
    if (current.length > 0) out.push({ start: current[0].start, end: current[current.length - 1].end, tokens: current });
    current = [];
  };
  for (const t of tokens) {
    if (t.kind === 'op' && (t.text === '[' || t.text === '(')) depth++;
    else if (t.kind === 'op' && (t.text === ']' || t.text === ')')) depth = Math.max(0, depth - 1);
    if (depth === 0 && isOp(t, ',')) flush();
    else current.push(t);
  }
  flush();
  return out;
}

function quotedName(t: Token): string {
  if (t.kind === 'str') return t.text.slice(1, -1);
  return t.text;
}

/** `%macro name 1-3+ .nolist`: the parameter counts. */
function macroSignature(rest: Token[]): MacroSignature {
  const sig: MacroSignature = { min: 0, max: 0, greedy: false };
  const first = rest[0];
  if (first?.kind !== 'num') return sig;
  sig.min = sig.max = Number(first.value ?? 0);
  let i = 1;
  if (isOp(rest[i], '-')) {
    const m = rest[i + 1];
    if (m?.kind === 'num') { sig.max = Number(m.value ?? 0); i += 2; } else if (isOp(m, '*')) { sig.max = Infinity; i += 2; }
  }
  if (isOp(rest[i], '+')) sig.greedy = true;
  return sig;
}

function preprocessorLine(st: Statement, tokens: Token[]): void {
  const head = tokens[0];
  const name = head.text.toLowerCase();
  st.op = { text: head.text, start: head.start, end: head.end, role: 'preprocessor', name };
  st.opKind = 'preprocessor';
  st.words.push(st.op);
  const rest = tokens.slice(1);
  st.operands = splitOperands(rest);
  let from = 0;
  if ((DEFINE_DIRECTIVES.has(name) || name === '%macro' || name === '%imacro') && rest[0]?.kind === 'id') {
    const n = rest[0];
    const word: Word = { text: n.text, start: n.start, end: n.end, role: name.endsWith('macro') ? 'macro' : 'symbol' };
    st.definition = { word, kind: name.endsWith('macro') ? 'macro' : 'define', caseInsensitive: /^%i/.test(name) || undefined };
    st.words.push(word);
    from = 1;
    if (st.definition.kind === 'macro') {
      st.macro = macroSignature(rest.slice(1));
      return;
    }
    // %define NAME(a, b): the parameters are not symbols.
    if (isOp(rest[1], '(') && rest[1].start === n.end) {
      let k = 2;
      while (k < rest.length && !isOp(rest[k], ')')) k++;
      for (let j = 2; j < k; j++) if (rest[j].kind === 'id') st.words.push({ text: rest[j].text, start: rest[j].start, end: rest[j].end, role: 'param' });
      from = k + 1;
    }
    st.value = rest.slice(from);
  } else if ((name === '%include' || name === '%require') && rest[0] !== undefined) {
    st.include = { name: quotedName(rest[0]), start: rest[0].start, end: rest[0].end };
  }
  for (const t of rest.slice(from)) {
    const w = wordOf(t);
    if (w !== undefined) st.words.push(w);
  }
}

function directiveLine(st: Statement, head: Token, rest: Token[]): void {
  const name = head.text.toLowerCase();
  st.op = { text: head.text, start: head.start, end: head.end, role: 'directive', name };
  st.opKind = 'directive';
  st.words.push(st.op);
  st.operands = splitOperands(rest);
  rest.forEach((t, i) => {
    if (i === 0 && (name === 'section' || name === 'segment') && t.kind === 'id') {
      const word: Word = { text: t.text, start: t.start, end: t.end, role: 'section' };
      st.definition = { word, kind: 'section' };
      st.words.push(word);
      return;
    }
    const w = wordOf(t);
    if (w !== undefined) st.words.push(w);
  });
}

function instructionLine(st: Statement, tokens: Token[]): void {
  let i = 0;
  const t0 = tokens[0];
  const c0 = classify(t0);
  const colon = isOp(tokens[1], ':');
  if (t0.kind === 'op' && t0.text.startsWith('%%') && colon) {
    st.words.push({ text: t0.text, start: t0.start, end: t0.end, role: 'param' });
    i = 2;
  } else if (t0.kind === 'id' && (c0 === 'id' || colon)) {
    const c1 = tokens[1] === undefined ? 'none' : classify(tokens[1]);
    const startsStatement = c1 === 'insn' || c1 === 'data' || c1 === 'times' || c1 === 'prefix' || c1 === 'segreg' || c1 === 'directive';
    if (!colon && c1 !== 'none' && !startsStatement && c0 === 'id') {
      // `name args`: a macro call.
      st.op = { text: t0.text, start: t0.start, end: t0.end, role: 'macro', name: t0.text };
      st.opKind = 'macro';
      st.words.push(st.op);
      st.operands = splitOperands(tokens.slice(1));
      for (const t of tokens.slice(1)) {
        const w = wordOf(t);
        if (w !== undefined) st.words.push(w);
      }
      return;
    }
    const word: Word = { text: t0.text, start: t0.start, end: t0.end, role: 'label' };
    st.definition = { word, kind: 'label' };
    st.labelColon = colon || undefined;
    st.words.push(word);
    i = colon ? 2 : 1;
  }
  // Prefixes and `times`; the `times` count is an operand-like expression.
  for (; i < tokens.length; i++) {
    const t = tokens[i];
    const c = classify(t);
    if (c === 'prefix' || c === 'segreg') {
      const w: Word = { text: t.text, start: t.start, end: t.end, role: 'prefix' };
      st.prefixes.push(w);
      st.words.push(w);
    } else if (c === 'times') {
      st.words.push({ text: t.text, start: t.start, end: t.end, role: 'directive' });
      let k = i + 1;
      while (k < tokens.length && !['insn', 'data', 'prefix', 'segreg'].includes(classify(tokens[k]))) {
        const w = wordOf(tokens[k]);
        if (w !== undefined) st.words.push(w);
        k++;
      }
      i = k - 1;
    } else {
      break;
    }
  }
  const opToken = tokens[i];
  if (opToken === undefined) return;
  const c = classify(opToken);
  if (opToken.kind === 'id' && (c === 'insn' || c === 'data' || c === 'directive' || c === 'id')) {
    const name = c === 'id' ? opToken.text : opToken.text.toLowerCase();
    const role: WordRole = c === 'insn' ? 'mnemonic' : c === 'id' ? 'macro' : 'directive';
    st.op = { text: opToken.text, start: opToken.start, end: opToken.end, role, name };
    st.opKind = c === 'insn' ? 'instruction' : c === 'id' ? 'macro' : 'directive';
    st.words.push(st.op);
    i++;
    if (name === 'equ' && st.definition?.kind === 'label') {
      st.definition.kind = 'equ';
      st.value = tokens.slice(i);
    }
  }
  const rest = tokens.slice(i);
  st.operands = splitOperands(rest);
  rest.forEach((t, k) => {
    // `struc NAME` defines NAME, the parent of the field labels that follow.
    const defines = k === 0 && st.op?.name === 'struc' && t.kind === 'id' && st.definition === undefined;
    const w = wordOf(t, defines ? 'label' : undefined);
    if (w === undefined) return;
    if (defines) st.definition = { word: w, kind: 'label' };
    st.words.push(w);
  });
}

export function parseStatement(line: string): Statement {
  const raw = tokenize(line);
  const eos = raw[raw.length - 1];
  const commentStart = eos.start < line.length && line[eos.start] === ';' ? eos.start : undefined;
  let codeEnd = commentStart ?? line.length;
  while (codeEnd > 0 && line.charCodeAt(codeEnd - 1) <= 0x20) codeEnd--;
  const st: Statement = { prefixes: [], operands: [], words: [], codeEnd, commentStart };
  const tokens = mergePercent(raw.slice(0, -1));
  if (tokens.length === 0) return st;
  const head = tokens[0];
  if (isPercentWord(head) && /^%[a-z]/i.test(head.text)) {
    preprocessorLine(st, tokens);
  } else if (isOp(head, '[') && tokens[1]?.kind === 'id') {
    const close = tokens.findIndex((t) => isOp(t, ']'));
    directiveLine(st, tokens[1], tokens.slice(2, close < 0 ? undefined : close));
  } else if (head.kind === 'id' && !head.forcedId && LINE_DIRECTIVES.has(head.text.toLowerCase()) && !isOp(tokens[1], ':')) {
    directiveLine(st, head, tokens.slice(1));
  } else {
    instructionLine(st, tokens);
  }
  return st;
}

/** A label without a colon alone on its line: a call if a macro of that name exists. */
export function isAloneLabel(st: Statement): boolean {
  return st.definition?.kind === 'label' && !st.labelColon && st.op === undefined && st.words.length === 1;
}

/** The word covering column `col` (0-based; a cursor just after a word counts). */
export function wordAt(st: Statement, col: number): Word | undefined {
  return st.words.find((w) => col >= w.start && col < w.end) ?? st.words.find((w) => col === w.end);
}

