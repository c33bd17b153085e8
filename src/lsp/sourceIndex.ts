/**
 * What one source file defines and refers to, found from its text alone: labels (local ones
 * resolved against their parent as nasm does), `equ` constants, `%define`s, `%macro`s with
 * their bodies, sections, `%include`s, the names each line uses, and the foldable regions.
 * Rebuilt on every edit; statements are reused for lines whose text did not change.
 */
import type { Token } from '../asm/lexer';
import { BLOCK_PAIRS } from './directives';
import { isAloneLabel, type MacroSignature, parseStatement, type Statement, type Word } from './statement';

export type SymbolKind = 'label' | 'equ' | 'define' | 'macro' | 'section';

export interface SymbolDef {
  /** Full name: a local label `.x` under `parent` is `parent.x`. */
  name: string;
  kind: SymbolKind;
  /** Written with a leading `.` (a local label). */
  local: boolean;
  parent?: string;
  line: number;
  start: number;
  end: number;
  /** A label without a colon alone on its line: a macro call if such a macro exists. */
  alone?: boolean;
  caseInsensitive?: boolean;
  /** A label of data (db, resb, ...) rather than code. */
  data?: boolean;
  macro?: MacroSignature & { bodyStart: number; bodyEnd: number };
  /** `equ`, `%define`, `%assign`: the value's tokens. */
  value?: Token[];
}

export interface SymbolRef {
  /** Full name it refers to. */
  name: string;
  /** As written (`.x`, `parent.x`, `x`). */
  written: string;
  line: number;
  start: number;
  end: number;
}

export type RegionKind = 'label' | 'block' | 'comment';

export interface Region {
  startLine: number;
  endLine: number;
  kind: RegionKind;
}

export interface IncludeDirective {
  name: string;
  line: number;
  start: number;
  end: number;
}

export interface FileIndex {
  path: string;
  text: string;
  lines: string[];
  statements: Statement[];
  defs: SymbolDef[];
  refs: SymbolRef[];
  includes: IncludeDirective[];
  regions: Region[];
  /** Lines inside a `%macro` body (expanded where the macro is called, not here). */
  inMacro: Uint8Array;
  /** The last non-local label before each line: the parent of `.x` there. */
  parents: string[];
  /** The code without comments: an edit that leaves it equal changes nothing the assembler sees. */
  fingerprint: string;
}

const DATA_OPS = /^(?:d[bwdqtoyz]|res[bwdqtoyz]|incbin|times)$/;

/** `.x` is local; `..x` names (`..@x`, `..start`) are special and not. */
export function isLocalName(name: string): boolean {
  return name.startsWith('.') && !name.startsWith('..');
}

export function resolveName(written: string, parent: string): string {
  return isLocalName(written) && parent !== '' ? parent + written : written;
}

function splitLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

export function buildIndex(path: string, text: string, previous?: FileIndex): FileIndex {
  const lines = splitLines(text);
  const reuse = new Map<string, Statement>();
  if (previous) previous.lines.forEach((l, i) => reuse.set(l, previous.statements[i]));
  const statements = lines.map((l) => reuse.get(l) ?? parseStatement(l));

  const index: FileIndex = {
    path, text, lines, statements, defs: [], refs: [], includes: [], regions: [],
    inMacro: new Uint8Array(lines.length), parents: new Array<string>(lines.length),
    fingerprint: lines.map((l, i) => l.slice(0, statements[i].codeEnd)).join('\n'),
  };
  collectSymbols(index);
  collectRegions(index);
  return index;
}

function collectSymbols(index: FileIndex): void {
  let parent = '';
  let openMacro: SymbolDef | undefined;
  let depth = 0;
  let pendingDataLabel: SymbolDef | undefined;
  index.statements.forEach((st, line) => {
    const op = st.op?.name;
    if (st.opKind === 'preprocessor' && (op === '%macro' || op === '%imacro')) {
      depth++;
    } else if (st.opKind === 'preprocessor' && op === '%endmacro' && depth > 0) {
      depth--;
      if (depth === 0 && openMacro?.macro) { openMacro.macro.bodyEnd = line; openMacro = undefined; }
    }
    const inBody = depth > 0 && !(depth === 1 && (op === '%macro' || op === '%imacro'));
    index.inMacro[line] = inBody ? 1 : 0;
    index.parents[line] = parent;

    if (pendingDataLabel && st.op) {
      pendingDataLabel.data = DATA_OPS.test(st.op.name);
      pendingDataLabel = undefined;
    }
    const def = st.definition;
    if (def && !(inBody && def.kind === 'label')) {
      const written = def.word.text;
      const local = (def.kind === 'label' || def.kind === 'equ') && isLocalName(written);
      if (def.kind === 'label' && !local && !inBody && !written.startsWith('..')) parent = written;
      const sym: SymbolDef = {
        name: def.kind === 'label' || def.kind === 'equ' ? resolveName(written, local ? index.parents[line] : parent) : written,
        kind: def.kind, local, line, start: def.word.start, end: def.word.end,
        parent: local ? index.parents[line] : undefined,
        caseInsensitive: def.caseInsensitive,
        alone: isAloneLabel(st) || undefined,
        value: st.value,
      };
      if (def.kind === 'label') {
        if (st.op) sym.data = DATA_OPS.test(st.op.name);
        else pendingDataLabel = sym;
      }
      if (def.kind === 'macro' && st.macro) {
        sym.macro = { ...st.macro, bodyStart: line + 1, bodyEnd: index.lines.length };
        if (depth === 1) openMacro = sym;
      }
      index.defs.push(sym);
      // Lines after a label on the same line see it as their parent too.
      index.parents[line] = local ? index.parents[line] : parent;
    }
    if (st.include) index.includes.push({ name: st.include.name, line, start: st.include.start, end: st.include.end });
    for (const w of st.words) addRef(index, w, st, line, inBody);
  });
}

function addRef(index: FileIndex, w: Word, st: Statement, line: number, inBody: boolean): void {
  if (w.role !== 'symbol' && w.role !== 'macro') return;
  if (st.definition?.word === w) return;
  // Inside a macro body a local label belongs to the caller's parent: unknown here.
  if (inBody && isLocalName(w.text)) return;
  index.refs.push({ name: resolveName(w.text, index.parents[line]), written: w.text, line, start: w.start, end: w.end });
}

function isBlank(st: Statement): boolean {
  return st.codeEnd === 0;
}

function collectRegions(index: FileIndex): void {
  const { statements, regions } = index;
  const n = statements.length;
  // Lines before `line` that are not blank or comments only.
  const lastCode = (from: number, to: number): number => {
    let e = to;
    while (e > from && isBlank(statements[e])) e--;
    return e;
  };
  // Blocks: %macro, %if, %rep, struc, istruc.
  const stack: { pair: number; line: number }[] = [];
  statements.forEach((st, line) => {
    const name = st.op?.name ?? '';
    const open = BLOCK_PAIRS.findIndex((p) => p.open.test(name));
    const close = BLOCK_PAIRS.findIndex((p) => p.close.test(name));
    if (close >= 0) {
      for (let k = stack.length - 1; k >= 0; k--) {
        if (stack[k].pair !== close) continue;
        if (line > stack[k].line) regions.push({ startLine: stack[k].line, endLine: line, kind: 'block' });
        stack.length = k;
        break;
      }
    } else if (open >= 0) {
      stack.push({ pair: open, line });
    }
  });
  // Labels: a global label up to the next global label or section; a local one up to the next label.
  const labels = index.defs.filter((d) => d.kind === 'label' && !index.inMacro[d.line]);
  const sections = index.defs.filter((d) => d.kind === 'section').map((d) => d.line);
  labels.forEach((d, k) => {
    let next = n;
    for (let j = k + 1; j < labels.length; j++) {
      if (labels[j].line > d.line && (d.local || !labels[j].local)) { next = labels[j].line; break; }
    }
    const section = sections.find((l) => l > d.line);
    if (section !== undefined && section < next) next = section;
    const end = lastCode(d.line, next - 1);
    if (end > d.line) regions.push({ startLine: d.line, endLine: end, kind: 'label' });
  });
  // Runs of comment lines.
  for (let line = 0; line < n;) {
    if (statements[line].commentStart !== undefined && isBlank(statements[line])) {
      let end = line;
      while (end + 1 < n && statements[end + 1].commentStart !== undefined && isBlank(statements[end + 1])) end++;
      if (end > line) regions.push({ startLine: line, endLine: end, kind: 'comment' });
      line = end + 1;
    } else {
      line++;
    }
  }
}
