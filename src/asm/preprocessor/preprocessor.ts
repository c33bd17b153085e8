/**
 * The preprocessor's driver (nasm's pp_tokline and do_directive): reads lines from the
 * include stack and from macro expansions, runs directives, keeps conditional state, and
 * emits expanded lines with the place the user wrote them.
 */
import type { Diagnostic, ExpandedLine, SourceHost, SourceLocation } from '../source';
import {
  T, tok, tokenize, retokenize, skipWhite, isOp, detoken, detokenNormalized,
  type Token, type TokenizeWarning,
} from './tokens';
import { LineReader } from './lines';
import { NameFilter } from './nameFilter';
import { CLASS, DIGIT, ID_CHAR, ID_START, QUOTE, SPACE, isIdStart, isNumChar, isSpace } from './chars';
import { SMacroTable, parseTemplate, markParams, makeSMacro, type SMacro, type SMacroParam } from './smacros';
import { SMacroExpander, pasteTokens, numberTokens, MMACRO_PASTE, type ExpandEnv } from './expand';
import { evaluate } from './expr';
import { readNumber } from './numbers';
import { quote, unquote, toByteString, fromByteString, skipString } from './strings';
import { builtinMacros, substr, CONDITION_KINDS } from './functions';
import {
  splitParams, matchCall, conditionCode, inverseCondition, extendChain, expansionOf,
  type MMacro, type BodyLine, type CallChain,
} from './mmacros';
import { STANDARD_MACROS, STANDARD_MACROS_FILE } from './standardMacros';

export interface PreprocessLimits {
  /** Lines read or generated before preprocessing stops (runaway %rep or recursion). */
  maxLines: number;
  /** Tokens in processed lines plus single-line macro expansions, in total: bounds the work
   * of macros whose lines grow with each repetition or recursion. */
  maxWork: number;
  /** Largest %rep count. */
  maxRep: number;
  /** Nesting of multi-line macro calls. */
  maxMacroDepth: number;
  /** Multi-line macro calls before returning to the top level. */
  maxMacroCalls: number;
  /** Nesting of %include. */
  maxIncludeDepth: number;
}

export const DEFAULT_LIMITS: PreprocessLimits = {
  maxLines: 2_000_000,
  maxWork: 20_000_000,
  maxRep: 1_000_000,
  maxMacroDepth: 1000,
  maxMacroCalls: 100_000,
  maxIncludeDepth: 50,
};

export interface PreprocessorOptions {
  defines?: Record<string, string>;
  includePaths?: string[];
  limits?: Partial<PreprocessLimits>;
}

const enum Cond { IfTrue, IfFalse, ElseTrue, ElseFalse, Done, Never }
const emitting = (c: Cond) => c === Cond.IfTrue || c === Cond.ElseTrue;

interface CondEntry { state: Cond; where: SourceLocation; directive: string }

/** A running multi-line macro call. */
interface Invocation {
  kind: 'macro';
  macro: MMacro;
  params: Token[][];
  nparam: number;
  rotate: number;
  unique: number;
  /** The name as written at the call (for %?). */
  iname: string;
  /** %if blocks opened inside the call (closed by %exitmacro). */
  condcnt: number;
  saved: MStk;
}

/** A running %rep block. */
interface RepRun {
  kind: 'rep';
  lines: BodyLine[];
  /** Passes left, plus one; 0 once %exitrep ran. */
  remaining: number;
  saved: MStk;
}

type Running = Invocation | RepRun;
interface MStk { mstk: Running | null; mmac: Invocation | null }

interface PendingLine {
  tokens: Token[];
  where: SourceLocation;
  chain: CallChain | null;
  /** The output `expansion` for this line when already known (shared between lines). */
  expansion?: SourceLocation[];
  end?: undefined;
}
interface EndMarker { end: Running }
type Pending = PendingLine | EndMarker;

interface Frame {
  file: string;
  /** File name reported in locations (changed by %line). */
  display: string;
  reader: LineReader;
  /** %line mapping: physical line `lineAt` is reported as `lineBase`, then `lineInc` per line. */
  lineAt: number;
  lineBase: number;
  lineInc: number;
  conds: CondEntry[];
  expansion: Pending[];
  mstk: MStk;
  parent: Frame | null;
  depth: number;
}

type Defining =
  | { kind: 'macro'; macro: MMacro; startedIn: Running | null; where: SourceLocation }
  | { kind: 'rep'; lines: BodyLine[]; count: number; startedIn: Running | null; where: SourceLocation };

interface Context { name: string | undefined; number: number; smacros: SMacroTable }

/** Handled directive; `output` is a line it produces (%pragma). */
type DirectiveResult = { output?: Token[] } | undefined;

/** Lines whose single-line macro expansion hit its limit before preprocessing gives up. */
const MAX_RUNAWAY_LINES = 20;

/** Nesting of %[...] within %[...]. */
const MAX_INDIRECTION = 100;

export class Preprocessor {
  readonly lines: ExpandedLine[] = [];
  readonly diagnostics: Diagnostic[] = [];
  readonly includedFiles: string[] = [];

  private readonly limits: PreprocessLimits;
  private readonly includePaths: string[];
  private readonly smacros = new SMacroTable();
  private readonly mmacros = new Map<string, MMacro[]>();
  private readonly mmacroNames = new NameFilter();
  private readonly contexts: Context[] = [];
  private readonly expander: SMacroExpander;
  private frame: Frame | null = null;
  private defining: Defining | null = null;
  private nestedMacros = 0;
  private nestedReps = 0;
  private unique = 0;
  private noAliases = false;
  private bits = 16;
  private linesSeen = 0;
  private tokensSeen = 0;
  private runaways = 0;
  private stopped = false;
  private mmacroDepth = 0;
  private mmacroCalls = 0;
  private mmacroTriggered = false;
  private readonly required = new Set<string>();

  /** The line being processed. */
  private where: SourceLocation = { file: '', line: 0, column: 1 };
  /** Physical line number of the current source line (for %line). */
  private physical = 0;
  private chain: CallChain | null = null;
  /** `expansion` for lines emitted from the current line, if precomputed. */
  private lineExpansion: SourceLocation[] | undefined;
  private quiet = false;

  constructor(private readonly host: SourceHost, opts: PreprocessorOptions = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.includePaths = opts.includePaths ?? [];
    this.expander = new SMacroExpander(this.expandEnv());
    for (const m of builtinMacros({
      currentFile: () => this.where.file,
      currentLine: () => this.where.line,
      bits: () => this.bits,
      condition: (kind, tokens) => this.condition(kind, tokens, `%if${kind}`) === true,
      warning: (message, col) => this.warning(message, col),
      error: (message, col) => this.error(message, col),
    })) this.smacros.add(m);
    this.runText(STANDARD_MACROS_FILE, STANDARD_MACROS.replace(/^[ \t]+/gm, ''));
    for (const [name, value] of Object.entries(opts.defines ?? {})) {
      this.runText('<command line>', `%define ${name} ${value}`);
    }
  }

  /** Preprocesses a whole file (the entry point). */
  run(entryFile: string): void {
    const text = this.host.readFile(entryFile);
    if (text === undefined) {
      this.diagnostics.push({
        severity: 'error',
        message: `cannot read input file \`${entryFile}'`,
        location: { file: entryFile, line: 1, column: 1 },
      });
      return;
    }
    this.pushFrame(entryFile, text);
    this.loop();
    this.finish();
  }

  // ---------------------------------------------------------------- reading

  private runText(file: string, text: string): void {
    this.pushFrame(file, text);
    this.loop();
  }

  private pushFrame(file: string, text: string): void {
    const parent = this.frame;
    this.frame = {
      file,
      display: file,
      reader: new LineReader(text),
      lineAt: 0,
      lineBase: 0,
      lineInc: 1,
      conds: [],
      expansion: [],
      mstk: { mstk: null, mmac: null },
      parent,
      depth: parent ? parent.depth + 1 : 0,
    };
  }

  private loop(): void {
    const warnings: TokenizeWarning[] = [];
    while (this.frame && !this.stopped) {
      const f = this.frame;
      if (++this.linesSeen > this.limits.maxLines) {
        this.stop(`preprocessing stopped after ${this.limits.maxLines} lines: a %rep or a recursive macro produces too many lines`);
        this.stopped = true;
        break;
      }
      if (this.tokensSeen + this.expander.expansions > this.limits.maxWork) {
        this.stop(`preprocessing stopped: macro expansion went on too long (more than ${this.limits.maxWork} tokens and expansions; a recursive macro whose lines keep growing?)`);
        this.stopped = true;
        break;
      }
      const top = f.expansion[f.expansion.length - 1];
      if (top && top.end) {
        this.endOfExpansion(f, top);
        continue;
      }
      let tokens: Token[];
      let source: string | undefined;
      warnings.length = 0;
      if (top) {
        f.expansion.pop();
        tokens = top.tokens;
        this.where = top.where;
        this.chain = top.chain;
        this.lineExpansion = top.expansion;
      } else {
        const l = f.reader.next();
        if (!l) {
          this.endOfFile(f);
          continue;
        }
        const line = f.lineAt ? f.lineBase + (l.line - f.lineAt) * f.lineInc : l.line;
        this.physical = l.line;
        this.where = { file: f.display, line, column: 1 };
        this.chain = null;
        this.lineExpansion = undefined;
        if (this.plainLine(f, l.text)) continue;
        const r = tokenize(l.text, 1, warnings);
        tokens = r.tokens;
        source = l.text.slice(0, r.end);
      }
      this.processLine(tokens, source, warnings);
    }
  }

  private endOfFile(f: Frame): void {
    for (const c of f.conds) {
      this.diagnostics.push({
        severity: 'error',
        message: `unterminated \`${c.directive}' started at ${c.where.file}:${c.where.line}: expected \`%endif' before the end of ${f.display}`,
        location: c.where,
      });
    }
    this.frame = f.parent;
  }

  private finish(): void {
    const d = this.defining;
    if (d && !this.stopped) {
      const what = d.kind === 'macro' ? `\`%macro ${d.macro.name}'` : '`%rep\'';
      const end = d.kind === 'macro' ? '%endmacro' : '%endrep';
      this.diagnostics.push({
        severity: 'error',
        message: `unterminated ${what} started at ${d.where.file}:${d.where.line}: expected \`${end}' before the end of the input`,
        location: d.where,
      });
    }
    this.defining = null;
  }

  private endOfExpansion(f: Frame, marker: EndMarker): void {
    const e = marker.end;
    if (e.kind === 'rep' && e.remaining > 1) {
      e.remaining--;
      for (let i = e.lines.length - 1; i >= 0; i--) {
        const l = e.lines[i];
        if (l.chain) l.expansion ??= expansionOf(l.chain, l.where);
        f.expansion.push({ tokens: l.tokens, where: l.where, chain: l.chain, expansion: l.expansion });
      }
      return;
    }
    f.expansion.pop();
    const d = this.defining;
    if (d && d.startedIn === e) {
      const name = e.kind === 'macro' ? `macro \`${e.macro.name}'` : '%rep block';
      this.diagnostics.push({
        severity: 'error',
        message: `\`${d.kind === 'macro' ? '%macro' : '%rep'}' without \`${d.kind === 'macro' ? '%endmacro' : '%endrep'}' within the expansion of ${name}`,
        location: d.where,
      });
      this.defining = null;
      this.nestedMacros = 0;
      this.nestedReps = 0;
    }
    f.mstk = e.saved;
    if (e.kind === 'macro') {
      e.macro.inProgress--;
      if (--this.mmacroDepth === 0) {
        this.mmacroCalls = 0;
        this.mmacroTriggered = false;
      }
    }
  }

  // ---------------------------------------------------------------- lines

  private processLine(tokens: Token[], source: string | undefined, warnings: TokenizeWarning[]): void {
    const f = this.frame!;
    const cond = f.conds.length ? f.conds[f.conds.length - 1].state : Cond.IfTrue;
    const active = emitting(cond);
    const dead = f.mstk.mstk !== null && !isRunning(f.mstk.mstk);
    this.quiet = !active || dead;
    for (const w of warnings) this.warning(w.message, w.col);

    let line = tokens;
    // As in nasm, parameters are substituted even in a %rep that %exitrep ended.
    if (!this.defining && active) line = this.expandMacroParams(line);
    this.tokensSeen += line.length;
    if (this.directive(line, active && !dead)) return;

    if (this.defining) {
      this.storeDefinitionLine(line);
      return;
    }
    if (!active || dead) return;

    const expanded = this.needsExpansion(line) ? this.expander.expand(line) : line;
    if (expanded !== line) {
      this.tokensSeen += expanded.length;
      if (this.expander.triggered) {
        // Reported; what is left of the line is garbage. A %rep of such a line would repeat
        // the costly failure, so a few of them end preprocessing.
        if (++this.runaways >= MAX_RUNAWAY_LINES) {
          this.stop(`preprocessing stopped: ${MAX_RUNAWAY_LINES} lines hit the single-line macro expansion limit`);
          this.stopped = true;
        }
        return;
      }
    }
    if (this.callMultiLineMacro(expanded)) return;
    this.emit(expanded, expanded === tokens ? source : undefined);
  }

  /**
   * The fast path for source lines the preprocessor has nothing to do with: no `%`, no
   * identifier naming a macro, outside any definition. Emits or skips the line and returns
   * true; false sends the line through tokenizing and full processing.
   */
  private plainLine(f: Frame, text: string): boolean {
    if (this.defining) return false;
    const active = f.conds.length === 0 || emitting(f.conds[f.conds.length - 1].state);
    if (!active || (f.mstk.mstk !== null && !isRunning(f.mstk.mstk))) {
      // Only a conditional directive can matter here.
      let i = 0;
      while (i < text.length && isSpace(text.charCodeAt(i))) i++;
      return text.charCodeAt(i) !== 0x25;
    }
    const len = text.length;
    let i = 0;
    let idents = 0;
    let end = len;
    while (i < len) {
      const c = text.charCodeAt(i);
      const k = c < 128 ? CLASS[c] : ID_START | ID_CHAR;
      if (k & ID_START || (c === 0x24 && i + 1 < len && isIdStart(text.charCodeAt(i + 1)))) {
        const start = i++;
        for (; i < len; i++) {
          const d = text.charCodeAt(i);
          if (d < 128 && !(CLASS[d] & ID_CHAR)) break;
        }
        if (this.smacros.filter.mayHave(text, start, i) && this.smacros.candidates(text.slice(start, i))) return false;
        if (++idents <= 2 && this.mmacroNames.mayHave(text, start, i) && this.mmacros.has(text.slice(start, i).toLowerCase())) return false;
      } else if (k & (SPACE | DIGIT) || c === 0x24) {
        i++;
        if (k & DIGIT) while (i < len && isNumChar(text.charCodeAt(i))) i++;
      } else if (c === 0x25 /* % */) {
        return false;
      } else if (c === 0x3b /* ; */) {
        end = i;
        break;
      } else if (k & QUOTE) {
        const close = skipString(text, i);
        if (close >= len) return false;
        i = close + 1;
      } else if (c === 0x5b /* [ */ && idents === 0) {
        return false; // maybe `[bits N]`
      } else {
        i++;
      }
    }
    while (end > 0 && isSpace(text.charCodeAt(end - 1))) end--;
    if (end === 0) return true;
    this.lines.push({ text: end === len ? text : text.slice(0, end), location: this.where });
    return true;
  }

  private storeDefinitionLine(tokens: Token[]): void {
    const d = this.defining!;
    const line: BodyLine = { tokens, where: this.where, chain: this.chain };
    if (d.kind === 'rep') {
      d.lines.push(line);
      return;
    }
    d.macro.lines.push(line);
    if (tokens.some((t) => t.type === T.MacroParam && t.text === '%00')) d.macro.captureLabel = true;
  }

  /** Whether single-line expansion could change the line (the common answer is no). */
  private needsExpansion(tokens: readonly Token[]): boolean {
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      switch (t.type) {
        case T.Id: case T.PreprocId:
          if (this.smacros.candidates(t.text)) return true;
          break;
        case T.LocalMacro: case T.Paste: case T.Environ:
          return true;
        default:
          break;
      }
    }
    return false;
  }

  /** Adds a line to the output; `source` is its text as read when no token of it changed. */
  private emit(tokens: readonly Token[], source: string | undefined): void {
    const first = tokens[skipWhite(tokens, 0)];
    if (!first) return;
    if (first.type === T.PreprocId && /^%[a-z]/i.test(first.text)) {
      this.error(`unknown preprocessor directive \`${first.text}'`, first.col);
      return;
    }
    let text = source;
    if (text === undefined || tokens.some((t) => t.type === T.LocalMacro || t.type === T.Environ)) {
      text = '';
      for (const t of tokens) {
        if (t.type === T.LocalMacro) text += this.contextLocal(t);
        else if (t.type === T.Environ) text += this.environ(t);
        else text += t.type === T.Indirect ? `%[${t.text}]` : t.text;
      }
      text = text.trimEnd();
      if (text === '') return;
    }
    if (first.type === T.Op && first.text === '[') this.trackBits(tokens);
    const chain = this.chain;
    this.lines.push(chain === null
      ? { text, location: this.where }
      : { text, location: chain.outer, expansion: this.lineExpansion ?? expansionOf(chain, this.where) });
  }

  /** `[bits N]` sets what __?BITS?__ says for the lines after it. */
  private trackBits(tokens: readonly Token[]): void {
    let i = skipWhite(tokens, 0) + 1;
    i = skipWhite(tokens, i);
    if (tokens[i]?.type !== T.Id || tokens[i].text.toLowerCase() !== 'bits') return;
    i = skipWhite(tokens, i + 1);
    const n = tokens[i]?.type === T.Num ? readNumber(tokens[i].text) : undefined;
    if (n && (n.value === 16n || n.value === 32n || n.value === 64n)) this.bits = Number(n.value);
  }

  /** `%$name` in output: the context-local label `..@N.name`. */
  private contextLocal(t: Token): string {
    const c = this.context(t.text, t.col);
    return c ? `..@${c.ctx.number}.${c.name}` : t.text;
  }

  private environ(t: Token): string {
    this.warning(`environment variable \`${t.text.slice(2)}' is not available: the preprocessor does not read the environment`, t.col);
    return '';
  }

  // ---------------------------------------------------------------- diagnostics

  private location(col?: number): { location: SourceLocation; expansion?: SourceLocation[] } {
    const where = col === undefined || col === this.where.column ? this.where : { ...this.where, column: col };
    if (this.chain === null) return { location: where };
    return { location: this.chain.outer, expansion: expansionOf(this.chain, where) };
  }

  private error(message: string, col?: number): void {
    if (this.quiet) return;
    this.diagnostics.push({ severity: 'error', message, ...this.location(col) });
  }

  /** An error that ends preprocessing, reported wherever the current line is. */
  private stop(message: string): void {
    this.diagnostics.push({ severity: 'error', message, ...this.location() });
  }

  private warning(message: string, col?: number): void {
    if (this.quiet) return;
    this.diagnostics.push({ severity: 'warning', message, ...this.location(col) });
  }

  // ---------------------------------------------------------------- macro parameters

  /** Substitutes %1, %0, %00, %%label, %+1/%-1, %{1:3}, %?, %?? and %[...] (expand_mmac_params). */
  private expandMacroParams(tokens: Token[], depth = 0): Token[] {
    let out: Token[] | undefined;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      let repl: Token[] | undefined;
      switch (t.type) {
        case T.LocalSymbol: case T.MacroParam: {
          const mac = this.frame!.mstk.mmac;
          if (!mac) {
            this.error(`\`${t.text}': not in a macro call (macro parameters and %%labels only work inside %macro)`, t.col);
            repl = [];
          } else if (t.type === T.LocalSymbol) {
            repl = [tok(T.Id, `..@${mac.unique}.${t.text.slice(2)}`, t.col)];
          } else {
            repl = this.macroParam(mac, t);
          }
          break;
        }
        case T.Q: case T.QQ: {
          const mac = this.frame!.mstk.mmac;
          if (mac) repl = [tok(T.Id, t.type === T.Q ? mac.iname : mac.macro.name, t.col)];
          break;
        }
        case T.Indirect: {
          if (depth >= MAX_INDIRECTION) {
            this.error(`\`%[...]' nested more than ${MAX_INDIRECTION} deep`, t.col);
            repl = [];
            break;
          }
          const inner = this.expandMacroParams(retokenize(t.text, t.col), depth + 1);
          repl = this.expander.expand(inner);
          break;
        }
        default:
          break;
      }
      if (repl) {
        out ??= tokens.slice(0, i);
        for (const r of repl) out.push(r);
      } else if (out) {
        out.push(t);
      }
    }
    if (!out) return tokens;
    return pasteTokens(out, MMACRO_PASTE, false) ?? out;
  }

  private macroParam(mac: Invocation, t: Token): Token[] {
    const text = t.text;
    const rotated = (n: number) => (n - 1 < mac.nparam ? ((n - 1 + mac.rotate) % mac.nparam) + 1 : n);
    if (text.includes(':')) return this.paramRange(mac, t, rotated);
    const c1 = text[1];
    if (c1 === '-' || c1 === '+') {
      const digits = text.slice(2);
      if (!/^\d+$/.test(digits)) return this.invalidParam(t);
      const n = Number(digits);
      const param = n && n <= mac.nparam ? mac.params[rotated(n)] : undefined;
      const cc = param ? conditionCode(param) : undefined;
      if (!cc) {
        this.error(`macro parameter \`${text}' is not a condition code`, t.col);
        return [];
      }
      if (c1 === '+') return [tok(T.Id, cc, t.col)];
      const inv = inverseCondition(cc);
      if (!inv) {
        this.error(`condition code \`${cc}' is not invertible`, t.col);
        return [];
      }
      return [tok(T.Id, inv, t.col)];
    }
    if (text === '%0') return [tok(T.Num, String(mac.nparam), t.col)];
    if (text === '%00') return mac.params[0] ?? [];
    const digits = text.slice(1);
    if (!/^\d+$/.test(digits) || digits[0] === '0') return this.invalidParam(t);
    const n = Number(digits);
    return n <= mac.nparam ? mac.params[rotated(n)] ?? [] : [];
  }

  private paramRange(mac: Invocation, t: Token, rotated: (n: number) => number): Token[] {
    const m = /^%(-?\d+):(-?\d+)$/.exec(t.text);
    const np = mac.nparam;
    let fst = m ? Number(m[1]) : 0;
    let lst = m ? Number(m[2]) : 0;
    if (!m || fst === 0 || lst === 0 || fst > np || fst < -np || lst > np || lst < -np) {
      this.error(`\`%{${t.text.slice(1)}}': macro parameters out of range (the macro has ${np})`, t.col);
      return [];
    }
    if (fst < 0) fst += np + 1;
    if (lst < 0) lst += np + 1;
    const incr = fst < lst ? 1 : -1;
    const out: Token[] = [];
    for (;;) {
      out.push(...(mac.params[rotated(fst)] ?? []));
      if (fst === lst) break;
      out.push(tok(T.Op, ',', t.col));
      fst += incr;
    }
    return out;
  }

  private invalidParam(t: Token): Token[] {
    this.error(`invalid macro parameter: \`${t.text}'`, t.col);
    return [];
  }

  // ---------------------------------------------------------------- multi-line macro calls

  private mmacroList(name: string): MMacro[] | undefined {
    if (!this.mmacroNames.mayHave(name, 0, name.length)) return undefined;
    const list = this.mmacros.get(name.toLowerCase());
    if (!list) return undefined;
    const found = list.filter((m) => (m.casesense ? m.name === name : true));
    return found.length ? found : undefined;
  }

  /** Starts a multi-line macro call if the line is one (expand_mmacro); false otherwise. */
  private callMultiLineMacro(tokens: Token[]): boolean {
    if (this.mmacros.size === 0) return false;
    const i = skipWhite(tokens, 0);
    const t = tokens[i];
    if (!t || (t.type !== T.Id && t.type !== T.LocalMacro)) return false;
    let nameIndex = i;
    let list = this.mmacroList(t.text);
    let r = list ? matchCall(list, tokens, i + 1, i + 1 >= tokens.length) : undefined;
    let label: Token[] | undefined;
    let colon = false;
    if (!r?.call) {
      if (r?.mismatch) this.warning(r.mismatch, t.col);
      let j = i + 1;
      if (tokens[j]?.type === T.Whitespace) j++;
      if (isOp(tokens[j], ':')) {
        colon = true;
        j++;
        if (tokens[j]?.type === T.Whitespace) j++;
      }
      const n = tokens[j];
      if (!n || n.type !== T.Id) return false;
      list = this.mmacroList(n.text);
      if (!list) return false;
      r = matchCall(list, tokens, j + 1, j + 1 >= tokens.length);
      if (!r.call) {
        if (r.mismatch) this.warning(r.mismatch, n.col);
        return false;
      }
      nameIndex = j;
      label = tokens.slice(0, j);
    }
    for (const e of r.errors) this.error(e.message, e.col);
    for (const w of r.call.warnings) this.warning(w, tokens[nameIndex].col);

    if (this.mmacroCalls >= this.limits.maxMacroCalls || this.mmacroDepth >= this.limits.maxMacroDepth) {
      if (!this.mmacroTriggered) {
        this.error(`interminable multi-line macro recursion: more than ${this.mmacroDepth >= this.limits.maxMacroDepth ? `${this.limits.maxMacroDepth} nested calls` : `${this.limits.maxMacroCalls} calls`} (a %rmacro that never stops?)`, tokens[nameIndex].col);
        this.mmacroTriggered = true;
      }
      return false;
    }
    this.mmacroCalls++;
    this.mmacroDepth++;

    const f = this.frame!;
    const call = r.call;
    const m = call.macro;
    const inv: Invocation = {
      kind: 'macro',
      macro: m,
      params: call.params,
      nparam: call.nparam,
      rotate: 0,
      unique: this.unique++,
      iname: tokens[nameIndex].text,
      condcnt: 0,
      saved: f.mstk,
    };
    m.inProgress++;
    f.expansion.push({ end: inv });
    const callWhere = { ...this.where, column: tokens[nameIndex].col };
    const bodyChain = m.nolist ? this.chain : extendChain(this.chain, callWhere);
    for (let k = m.lines.length - 1; k >= 0; k--) {
      const l = m.lines[k];
      const where = m.nolist ? this.where : l.where;
      let expansion: SourceLocation[] | undefined;
      if (bodyChain && bodyChain.depth === 1 && !m.nolist) expansion = l.expansion ??= [l.where];
      f.expansion.push({ tokens: l.tokens, where, chain: bodyChain, expansion });
    }
    if (label) {
      if (m.captureLabel) {
        inv.params[0] = [label[skipWhite(label, 0)]];
      } else {
        const labelLine = colon ? label : [...label, tok(T.Op, ':', tokens[nameIndex].col)];
        f.expansion.push({ tokens: labelLine, where: this.where, chain: this.chain });
      }
    }
    f.mstk = { mstk: inv, mmac: inv };
    return true;
  }

  // ---------------------------------------------------------------- single-line macros

  private expandEnv(): ExpandEnv {
    return {
      candidates: (t) => {
        let list: SMacro[] | undefined;
        if (t.type === T.LocalMacro) {
          const c = this.context(t.text, t.col, true);
          list = c ? c.ctx.smacros.candidates(c.name) : undefined;
        } else {
          list = this.smacros.candidates(t.text);
        }
        if (list && this.noAliases) list = list.filter((m) => !m.alias);
        return list;
      },
      contextPrefix: (t) => {
        const m = /^%\$+/.exec(t.text);
        return m ? m[0] : '';
      },
      error: (message, col) => this.error(message, col),
      warning: (message, col) => this.warning(message, col),
      charWidth: () => this.charWidth(),
    };
  }

  private charWidth(): number {
    return this.bits === 64 ? 8 : 4;
  }

  /** The context a `%$name` refers to and the bare name (get_ctx). */
  private context(text: string, col: number, silent = false): { ctx: Context; name: string } | undefined {
    if (!text.startsWith('%$')) return undefined;
    if (this.contexts.length === 0) {
      if (!silent) this.error(`\`${text}': context stack is empty (context-local names need a %push first)`, col);
      return undefined;
    }
    let i = 2;
    let depth = 0;
    while (text[i] === '$') { i++; depth++; }
    if (depth >= this.contexts.length) {
      if (!silent) this.error(`\`${text}': context stack is only ${this.contexts.length} level${this.contexts.length === 1 ? '' : 's'} deep`, col);
      return undefined;
    }
    return { ctx: this.contexts[this.contexts.length - 1 - depth], name: text.slice(i) };
  }

  /** The table and bare name a macro name lives under (global, or a context for `%$name`). */
  private smacroHome(name: string, col: number): { table: SMacroTable; name: string } | undefined {
    if (!name.startsWith('%$')) return { table: this.smacros, name };
    const c = this.context(name, col);
    return c ? { table: c.ctx.smacros, name: c.name } : undefined;
  }

  /** define_smacro(): defines or redefines a single-line macro. */
  private defineSMacro(nameTok: Token, casesense: boolean, params: SMacroParam[], expansion: Token[], alias = false, depth = 0): void {
    const home = this.smacroHome(nameTok.text, nameTok.col);
    if (!home) return;
    const nparam = params.length;
    const existing = home.table.all(home.name).find((m) =>
      (m.casesense && casesense ? m.name === home.name : m.name.toLowerCase() === home.name.toLowerCase()) &&
      (nparam === 0 || m.params.length === 0 || (nparam >= m.nparamMin && (m.varadic || nparam <= m.params.length))));
    const created = makeSMacro(home.name, casesense, params, markParams(expansion, params), { alias });
    if (existing) {
      if (existing.alias && !this.noAliases && !alias) {
        if (existing.inProgress || depth > 50) {
          this.error(`macro alias loop defining \`${nameTok.text}'`, nameTok.col);
          return;
        }
        existing.inProgress++;
        try {
          this.defineSMacro(tok(T.Id, existing.expansion[0]?.text ?? '', nameTok.col), casesense, params, expansion, false, depth + 1);
        } finally {
          existing.inProgress--;
        }
        return;
      }
      if (casesense !== existing.casesense) {
        this.warning(`case-${casesense ? '' : 'in'}sensitive definition of macro \`${home.name}' will shadow case-${existing.casesense ? '' : 'in'}sensitive macro \`${existing.name}'`, nameTok.col);
      } else if ((nparam !== 0) !== (existing.params.length !== 0)) {
        this.error(`macro \`${home.name}' defined both with and without parameters`, nameTok.col);
      } else if (existing.params.length < nparam) {
        this.warning(`defining macro \`${home.name}' shadows previous greedy definition`, nameTok.col);
      } else {
        home.table.replace(existing, created);
        return;
      }
    }
    home.table.add(created);
  }

  private undefSMacro(nameTok: Token, undefAlias: boolean, depth = 0): void {
    const home = this.smacroHome(nameTok.text, nameTok.col);
    if (!home) return;
    for (const m of home.table.all(home.name).slice()) {
      if (m.casesense ? m.name !== home.name : m.name.toLowerCase() !== home.name.toLowerCase()) continue;
      if (m.alias && !undefAlias) {
        if (this.noAliases) continue;
        if (m.inProgress || depth > 50) {
          this.error(`macro alias loop undefining \`${nameTok.text}'`, nameTok.col);
          continue;
        }
        m.inProgress++;
        try {
          this.undefSMacro(tok(T.Id, m.expansion[0]?.text ?? '', nameTok.col), false, depth + 1);
        } finally {
          m.inProgress--;
        }
      } else {
        home.table.remove(m);
      }
    }
  }

  /** Whether a single-line macro of that name is defined (smacro_defined with any count). */
  private smacroDefined(nameTok: Token, wantAlias: boolean): boolean {
    const c = nameTok.type === T.LocalMacro ? this.context(nameTok.text, nameTok.col) : undefined;
    if (nameTok.type === T.LocalMacro && !c) return false;
    const table = c ? c.ctx.smacros : this.smacros;
    let name = c ? c.name : nameTok.text;
    for (let hops = 0; hops < 50; hops++) {
      const m = table.all(name).find((x) => (x.casesense ? x.name === name : x.name.toLowerCase() === name.toLowerCase()));
      if (!m) return false;
      if (m.alias && !wantAlias && !this.noAliases) {
        name = m.expansion[0]?.text ?? '';
        continue;
      }
      return m.alias === wantAlias;
    }
    return false;
  }

  // ---------------------------------------------------------------- directives

  /**
   * Runs the line as a directive if it is one; false when it is not (or when it must be left
   * alone: in a false %if branch or while a macro or %rep body is being collected).
   */
  private directive(tokens: Token[], live: boolean): boolean {
    const i = skipWhite(tokens, 0);
    const t = tokens[i];
    if (!t || t.type !== T.PreprocId) return false;
    const dname = t.text.toLowerCase();
    if (!/^%[a-z]/.test(dname)) return false;
    const info = DIRECTIVES.get(dname);
    if (!info) return false;
    const op = info.op;
    if (op === 'line') {
      this.lineDirective(tokens, i + 1, t);
      return true;
    }
    const isCond = op === 'if' || op === 'elif' || op === 'else' || op === 'endif';
    if (!live && !isCond) return false;
    const d = this.defining;
    if (d) {
      const macroOp = op === 'macro' || op === 'endmacro';
      if (!macroOp && (d.kind === 'macro' || (op !== 'endrep' && op !== 'rep'))) return false;
      if (op === 'macro') { this.nestedMacros++; return false; }
      if (this.nestedMacros > 0 && op === 'endmacro') { this.nestedMacros--; return false; }
      if (d.kind === 'rep') {
        if (op === 'rep') { this.nestedReps++; return false; }
        if (this.nestedReps > 0 && op === 'endrep') { this.nestedReps--; return false; }
      }
    }
    if (info.fn && isOp(tokens[skipWhite(tokens, i + 1)], '(')) return false;

    const r = this.runDirective(op, info, tokens, i + 1, t);
    if (r?.output) this.emit(r.output, undefined);
    return true;
  }

  private runDirective(op: string, info: DirectiveInfo, tokens: Token[], at: number, dtok: Token): DirectiveResult {
    const name = dtok.text;
    const cs = !info.insensitive;
    switch (op) {
      case 'if': this.ifDirective(info, tokens, at, dtok); return {};
      case 'elif': this.elifDirective(info, tokens, at, dtok); return {};
      case 'else': this.elseDirective(tokens, at, dtok); return {};
      case 'endif': this.endifDirective(tokens, at, dtok); return {};
      case 'define': this.defineDirective(tokens, at, dtok, cs, info.variant === 'x'); return {};
      case 'defalias': this.defaliasDirective(tokens, at, dtok, cs); return {};
      case 'undef': case 'undefalias': {
        const id = this.getIdWithRest(tokens, at, dtok);
        if (!id) return {};
        const extra = skipWhite(id.rest, 0);
        if (extra < id.rest.length) this.warning('trailing garbage after macro name ignored', id.rest[extra].col);
        this.undefSMacro(id.tok, op === 'undefalias');
        return {};
      }
      case 'assign': {
        const id = this.getIdWithRest(tokens, at, dtok);
        if (!id) return {};
        const v = this.evalDirective(id.rest, name, dtok.col);
        if (v !== undefined) this.defineSMacro(id.tok, cs, [], numberTokens(v, id.tok.col));
        return {};
      }
      case 'defstr': case 'deftok': case 'strlen': case 'strcat': case 'substr': case 'pathsearch':
        this.stringDirective(op, tokens, at, dtok, cs);
        return {};
      case 'macro': this.macroDirective(tokens, at, dtok, cs, info.variant === 'r'); return {};
      case 'endmacro':
        if (!this.defining || this.defining.kind !== 'macro') {
          this.error(`\`${name}' without \`%macro': no macro definition is open`, dtok.col);
          return {};
        }
        this.addMMacro(this.defining.macro);
        this.defining = null;
        return {};
      case 'exitmacro': this.exitMacro(dtok); return {};
      case 'unmacro': this.unmacroDirective(tokens, at, dtok, cs); return {};
      case 'rotate': this.rotateDirective(tokens, at, dtok); return {};
      case 'rep': this.repDirective(tokens, at, dtok); return {};
      case 'endrep': this.endrepDirective(dtok); return {};
      case 'exitrep': this.exitRep(dtok); return {};
      case 'include': case 'require': this.includeDirective(tokens, at, dtok, op === 'require'); return {};
      case 'depend': return {};
      case 'push': case 'pop': case 'repl': this.contextDirective(op, tokens, at, dtok); return {};
      case 'error': case 'warning': case 'fatal': this.userMessage(op, tokens, at); return {};
      case 'pragma': return this.pragma(tokens, at);
      case 'clear': this.clearDirective(tokens, at, dtok); return {};
      case 'aliases': this.aliasesDirective(tokens, at, dtok); return {};
      case 'null': return {};
      default:
        this.error(`\`${name}' is not supported by this preprocessor`, dtok.col);
        return {};
    }
  }

  private badId(dtok: Token, t: Token | undefined): undefined {
    this.error(`\`${dtok.text}' expects a macro identifier${t ? `, not \`${t.text}'` : ''}`, t?.col ?? dtok.col);
    return undefined;
  }

  private defineDirective(tokens: Token[], at: number, dtok: Token, cs: boolean, x: boolean): void {
    const id = this.getIdWithRest(tokens, at, dtok);
    if (!id) return;
    const tmpl = parseTemplate(id.rest, 0);
    for (const e of tmpl.errors) this.error(e.message, e.col);
    let expansion = id.rest.slice(tmpl.next);
    if (x) {
      if (tmpl.params.length) expansion = markParams(expansion, tmpl.params, true);
      expansion = this.expander.expand(expansion);
    }
    this.defineSMacro(id.tok, cs, tmpl.params, expansion);
  }

  /**
   * get_id(): the macro name after a directive, and the tokens after it. A name written in
   * several adjacent parts (`_%$name`, `foo%[bar]`) is expanded and pasted first.
   */
  private getIdWithRest(tokens: Token[], at: number, dtok: Token): { tok: Token; rest: Token[] } | undefined {
    const i = skipWhite(tokens, at);
    let j = i + 1;
    while (j < tokens.length && isIdPart(tokens[j])) j++;
    if (j > i + 1) {
      const joined = this.expander.expand(tokens.slice(i, j));
      const k = skipWhite(joined, 0);
      const t = joined[k];
      if (!t || (t.type !== T.Id && t.type !== T.LocalMacro)) return this.badId(dtok, t);
      return { tok: t, rest: [...joined.slice(k + 1), ...tokens.slice(j)] };
    }
    const t = tokens[i];
    if (!t || (t.type !== T.Id && t.type !== T.LocalMacro)) return this.badId(dtok, t);
    return { tok: t, rest: tokens.slice(i + 1) };
  }

  private defaliasDirective(tokens: Token[], at: number, dtok: Token, cs: boolean): void {
    const id = this.getIdWithRest(tokens, at, dtok);
    if (!id) return;
    const k = skipWhite(id.rest, 0);
    const target = id.rest[k];
    if (!target || (target.type !== T.Id && target.type !== T.LocalMacro)) {
      this.error(`\`${dtok.text}' expects a macro identifier to alias`, target?.col ?? dtok.col);
      return;
    }
    if (skipWhite(id.rest, k + 1) < id.rest.length) this.warning('trailing garbage after aliasing identifier ignored', id.rest[skipWhite(id.rest, k + 1)].col);
    this.defineSMacro(id.tok, cs, [], [target], true);
  }

  private stringDirective(op: string, tokens: Token[], at: number, dtok: Token, cs: boolean): void {
    const id = this.getIdWithRest(tokens, at, dtok);
    if (!id) return;
    const rest = this.expander.expand(id.rest);
    const col = id.tok.col;
    const k = skipWhite(rest, 0);
    const first = rest[k];
    const needString = (): boolean => {
      if (first?.type === T.Str) return true;
      this.error(`\`${dtok.text}' requires a string as its second parameter${first ? `, not \`${first.text}'` : ''}`, first?.col ?? col);
      return false;
    };
    let value: Token[];
    switch (op) {
      case 'defstr':
        value = [tok(T.Str, quote(toByteString(detokenNormalized(rest.slice(k)))), col)];
        break;
      case 'deftok':
        if (!needString()) return;
        value = retokenize(fromByteString(unquote(first.text)), col);
        break;
      case 'strlen':
        if (!needString()) return;
        value = [tok(T.Num, String(unquote(first.text).length), col)];
        break;
      case 'strcat': {
        let s = '';
        for (const t of rest) {
          if (t.type === T.Whitespace || isOp(t, ',')) continue;
          if (t.type !== T.Str) {
            this.error(`non-string passed to \`${dtok.text}': \`${t.text}'`, t.col);
            return;
          }
          s += unquote(t.text);
        }
        value = [tok(T.Str, quote(s), col)];
        break;
      }
      case 'substr': {
        if (!needString()) return;
        let p = skipWhite(rest, k + 1);
        if (isOp(rest[p], ',')) p = skipWhite(rest, p + 1);
        if (p >= rest.length) {
          this.error(`\`${dtok.text}' requires a starting index`, col);
          return;
        }
        const start = this.evalPart(rest, p, dtok);
        if (!start) return;
        let count = 1n;
        // As in nasm, the token that ends the first expression (normally the comma) is skipped.
        const q = skipWhite(rest, skipWhite(rest, start.next) + 1);
        if (skipWhite(rest, start.next) < rest.length && q < rest.length) {
          const c = this.evalPart(rest, q, dtok);
          if (!c) return;
          count = c.value;
        }
        value = [tok(T.Str, quote(substr(unquote(first.text), start.value, count)), col)];
        break;
      }
      default: { // pathsearch
        if (!first || first.type !== T.Str) {
          this.error(`\`${dtok.text}' expects a file name`, first?.col ?? col);
          return;
        }
        const name = fromByteString(unquote(first.text));
        const found = this.findInclude(name).path ?? name;
        value = [tok(T.Str, quote(toByteString(found)), col)];
        break;
      }
    }
    this.defineSMacro(id.tok, cs, [], value);
  }

  private evalPart(tokens: Token[], at: number, dtok: Token): { value: bigint; next: number } | undefined {
    const warnings: { message: string; col: number }[] = [];
    const r = evaluate(tokens, at, warnings, dtok.col, this.charWidth());
    for (const w of warnings) this.warning(w.message, w.col);
    if (!r.ok) {
      this.error(`${r.message} (in \`${dtok.text}')`, r.col);
      return undefined;
    }
    return { value: r.value, next: r.next };
  }

  /** Expands and evaluates a directive's expression, with nasm's messages. */
  private evalDirective(tokens: Token[], dname: string, col: number): bigint | undefined {
    const expanded = this.expander.expand(tokens);
    const i = skipWhite(expanded, 0);
    if (i >= expanded.length) {
      this.error(`\`${dname}' expects an expression`, col);
      return undefined;
    }
    const warnings: { message: string; col: number }[] = [];
    const r = evaluate(expanded, i, warnings, col, this.charWidth());
    for (const w of warnings) this.warning(w.message, w.col);
    if (!r.ok) {
      this.error(`${r.message} (in \`${dname}')`, r.col);
      return undefined;
    }
    const rest = skipWhite(expanded, r.next);
    if (rest < expanded.length) this.warning(`trailing garbage after expression ignored: \`${detoken(expanded.slice(rest)).trim()}'`, expanded[rest].col);
    return r.value;
  }

  // ------------------------------------------------ conditionals

  private pushCond(state: Cond, dtok: Token): void {
    const f = this.frame!;
    f.conds.push({ state, where: { ...this.where, column: dtok.col }, directive: dtok.text });
    if (f.mstk.mstk && f.mstk.mstk.kind === 'macro') f.mstk.mstk.condcnt++;
  }

  private ifDirective(info: DirectiveInfo, tokens: Token[], at: number, dtok: Token): void {
    const f = this.frame!;
    const top = f.conds[f.conds.length - 1];
    if (top && !emitting(top.state)) {
      this.pushCond(Cond.Never, dtok);
      return;
    }
    const r = this.condition(info.variant ?? '', tokens.slice(at), dtok.text);
    this.pushCond(r === undefined ? Cond.Never : r !== (info.negate === true) ? Cond.IfTrue : Cond.IfFalse, dtok);
  }

  /**
   * %elif, %else and %endif speak for their own block, so their diagnostics show unless that
   * block can never be assembled (nasm's ERR_PP_PRECOND).
   */
  private conditionalBlock(): CondEntry | undefined {
    const f = this.frame!;
    const c = f.conds[f.conds.length - 1];
    this.quiet = c !== undefined && c.state === Cond.Never;
    return c;
  }

  private elifDirective(info: DirectiveInfo, tokens: Token[], at: number, dtok: Token): void {
    const c = this.conditionalBlock();
    if (!c) {
      this.error(`\`${dtok.text}' without \`%if': no conditional block is open`, dtok.col);
      return;
    }
    switch (c.state) {
      case Cond.IfTrue: c.state = Cond.Done; break;
      case Cond.Done: case Cond.Never: break;
      case Cond.ElseTrue: case Cond.ElseFalse:
        this.warning(`\`${dtok.text}' after \`%else': its content is ignored`, dtok.col);
        c.state = Cond.Never;
        break;
      case Cond.IfFalse: {
        const r = this.condition(info.variant ?? '', this.expandMacroParams(tokens.slice(at)), dtok.text);
        c.state = r === undefined ? Cond.Never : r !== (info.negate === true) ? Cond.IfTrue : Cond.IfFalse;
        break;
      }
    }
  }

  private elseDirective(tokens: Token[], at: number, dtok: Token): void {
    const c = this.conditionalBlock();
    if (skipWhite(tokens, at) < tokens.length) this.warning(`trailing garbage after \`${dtok.text}' ignored`, tokens[skipWhite(tokens, at)].col);
    if (!c) {
      this.error(`\`${dtok.text}' without \`%if': no conditional block is open`, dtok.col);
      return;
    }
    switch (c.state) {
      case Cond.IfTrue: case Cond.Done: c.state = Cond.ElseFalse; break;
      case Cond.Never: break;
      case Cond.IfFalse: c.state = Cond.ElseTrue; break;
      default:
        this.warning(`\`${dtok.text}' after \`%else': its content is ignored`, dtok.col);
        c.state = Cond.Never;
    }
  }

  private endifDirective(tokens: Token[], at: number, dtok: Token): void {
    const f = this.frame!;
    this.conditionalBlock();
    if (skipWhite(tokens, at) < tokens.length) this.warning(`trailing garbage after \`${dtok.text}' ignored`, tokens[skipWhite(tokens, at)].col);
    if (!f.conds.length) {
      this.error(`\`${dtok.text}' without \`%if': no conditional block is open`, dtok.col);
      return;
    }
    f.conds.pop();
    if (f.mstk.mstk && f.mstk.mstk.kind === 'macro') f.mstk.mstk.condcnt--;
  }

  /**
   * Evaluates a %if condition (if_condition). undefined means an error: the whole
   * %if ... %endif block is then skipped, as in nasm.
   */
  private condition(kind: string, tokens: Token[], dname: string): boolean | undefined {
    const col = tokens[0]?.col ?? this.where.column;
    switch (kind) {
      case '': {
        const v = this.evalDirective(tokens, dname, col);
        return v === undefined ? undefined : v !== 0n;
      }
      case 'ctx': {
        let j = false;
        for (const t of tokens) {
          if (t.type === T.Whitespace) continue;
          if (t.type !== T.Id) {
            this.error(`\`${dname}' expects context identifiers`, t.col);
            return undefined;
          }
          const top = this.contexts[this.contexts.length - 1];
          if (top?.name !== undefined && top.name.toLowerCase() === t.text.toLowerCase()) j = true;
        }
        return j;
      }
      case 'def': case 'defalias': {
        let any = false;
        for (const t of tokens) {
          if (t.type === T.Whitespace) continue;
          if (t.type !== T.Id && t.type !== T.LocalMacro) {
            this.error(`\`${dname}' expects macro identifiers, not \`${t.text}'`, t.col);
            return undefined;
          }
          if (this.smacroDefined(t, kind === 'defalias')) { any = true; break; }
        }
        return any;
      }
      case 'difi':
        return undefined;
      case 'env': {
        const ex = this.expander.expand(tokens);
        for (const t of ex) {
          if (t.type === T.Whitespace) continue;
          if (t.type !== T.Id && t.type !== T.Str && t.type !== T.Environ) {
            this.error(`\`${dname}' expects environment variable names`, t.col);
            return undefined;
          }
        }
        return false;
      }
      case 'idn': case 'idni':
        return this.identical(this.expander.expand(tokens), kind === 'idn', dname, col);
      case 'macro':
        return this.ifMacro(tokens, dname, col);
      case 'id': case 'num': case 'str': {
        const ex = this.expander.expand(tokens);
        let i = 0;
        while (i < ex.length && (ex[i].type === T.Whitespace || (kind === 'num' && (isOp(ex[i], '-') || isOp(ex[i], '+'))))) i++;
        const want = kind === 'id' ? T.Id : kind === 'num' ? T.Num : T.Str;
        return ex[i]?.type === want;
      }
      case 'token': {
        const ex = this.expander.expand(tokens);
        const i = skipWhite(ex, 0);
        return i < ex.length && skipWhite(ex, i + 1) >= ex.length;
      }
      case 'empty': {
        const ex = this.expander.expand(tokens);
        return skipWhite(ex, 0) >= ex.length;
      }
      default: // usable, using: no %use packages here
        return false;
    }
  }

  /** %ifidn: the two comma-separated token lists are the same, ignoring whitespace. */
  private identical(tokens: Token[], cs: boolean, dname: string, col: number): boolean | undefined {
    const comma = tokens.findIndex((t) => isOp(t, ','));
    if (comma < 0) {
      this.error(`\`${dname}' expects two comma-separated arguments`, col);
      return undefined;
    }
    const a = tokens.slice(0, comma).filter((t) => t.type !== T.Whitespace);
    const b = tokens.slice(comma + 1).filter((t) => t.type !== T.Whitespace);
    let i = 0;
    for (; i < a.length && i < b.length; i++) {
      const x = a[i];
      const y = b[i];
      if (isOp(y, ',')) {
        this.error(`\`${dname}': more than one comma on line`, y.col);
        return undefined;
      }
      if (x.type !== y.type) return false;
      let tx = x.type === T.Str ? unquote(x.text) : x.text;
      let ty = y.type === T.Str ? unquote(y.text) : y.text;
      if (!cs) { tx = tx.toLowerCase(); ty = ty.toLowerCase(); }
      if (tx !== ty) return false;
    }
    return i === a.length && i === b.length;
  }

  private ifMacro(tokens: Token[], dname: string, col: number): boolean | undefined {
    const spec = this.parseMacroSpec(tokens, 0, dname, col, true);
    if (!spec) return undefined;
    const list = this.mmacros.get(spec.name.toLowerCase()) ?? [];
    return list.some((m) => m.name === spec.name &&
      (m.nparamMin <= spec.max || spec.plus) && (spec.min <= m.nparamMax || m.plus));
  }

  // ------------------------------------------------ multi-line macro definitions

  private parseMacroSpec(tokens: Token[], at: number, dname: string, col: number, optionalCount = false):
    { name: string; nameTok: Token; min: number; max: number; plus: boolean; nolist: boolean; defaults: Token[]; } | undefined {
    let i = skipWhite(tokens, at);
    let j = i + 1;
    while (j < tokens.length && isIdPart(tokens[j])) j++;
    let rest: Token[];
    let nameTok = tokens[i];
    if (j > i + 1) {
      const joined = this.expander.expand(tokens.slice(i, j));
      const k = skipWhite(joined, 0);
      nameTok = joined[k];
      rest = [...joined.slice(k + 1), ...tokens.slice(j)];
    } else {
      rest = tokens.slice(i + 1);
    }
    if (!nameTok || nameTok.type !== T.Id) {
      this.error(`\`${dname}' expects a macro name${nameTok ? `, not \`${nameTok.text}'` : ''}`, nameTok?.col ?? col);
      return undefined;
    }
    const ex = this.expander.expand(rest);
    i = skipWhite(ex, 0);
    let min = 0;
    let max = 0;
    let plus = false;
    let nolist = false;
    const count = (t: Token | undefined): number | undefined => {
      const n = t && t.type === T.Num ? readNumber(t.text) : undefined;
      if (!n) return undefined;
      if (n.value < 0n || n.value > 0x7fffffffn) {
        this.error(`parameter count \`${t!.text}' is out of bounds [0; 2147483647]`, t!.col);
        return 0;
      }
      return Number(n.value);
    };
    const c = count(ex[i]);
    if (c === undefined) {
      if (!(optionalCount && i >= ex.length)) {
        this.error(`\`${dname}' expects a parameter count${ex[i] ? `, not \`${ex[i].text}'` : ''}`, ex[i]?.col ?? nameTok.col);
      }
      if (optionalCount) { min = 0; max = Infinity; }
    } else {
      min = max = c;
    }
    if (i < ex.length && isOp(ex[i + 1], '-')) {
      i += 2;
      if (isOp(ex[i], '*')) max = Infinity;
      else {
        const m2 = count(ex[i]);
        if (m2 === undefined) this.error(`\`${dname}' expects a parameter count after \`-'`, ex[i]?.col ?? nameTok.col);
        else if (min > m2) {
          this.error('minimum parameter count exceeds maximum', ex[i].col);
          max = min;
        } else max = m2;
      }
    }
    if (i < ex.length && isOp(ex[i + 1], '+')) { i++; plus = true; }
    if (i < ex.length && ex[i + 1]?.type === T.Id && ex[i + 1].text.toLowerCase() === '.nolist') { i++; nolist = true; }
    const defaults = i < ex.length ? ex.slice(i + 1) : [];
    return { name: nameTok.text, nameTok, min, max, plus, nolist, defaults };
  }

  private macroDirective(tokens: Token[], at: number, dtok: Token, cs: boolean, recursive: boolean): void {
    const spec = this.parseMacroSpec(tokens, at, dtok.text, dtok.col);
    if (!spec) return;
    let defaults: Token[][] = [];
    if (spec.defaults.length) {
      const split = splitParams(spec.defaults, 0);
      for (const e of split.errors) this.error(e.message, e.col);
      defaults = split.params;
      if (split.trailingEmpty) {
        defaults = defaults.slice(0, -1);
        this.warning(`dropping trailing empty default parameter in definition of macro \`${spec.name}'`, spec.nameTok.col);
      }
    }
    if (defaults.length && defaults.length > spec.max - spec.min && !spec.plus) {
      this.warning(`too many default macro parameters in macro \`${spec.name}'`, spec.nameTok.col);
    }
    const where = this.location(dtok.col).location;
    const macro: MMacro = {
      name: spec.name,
      casesense: cs,
      nparamMin: spec.min,
      nparamMax: spec.max,
      plus: spec.plus,
      nolist: spec.nolist,
      defaults,
      lines: [],
      captureLabel: false,
      maxDepth: recursive ? this.limits.maxMacroDepth : 0,
      inProgress: 0,
      where,
    };
    const old = (this.mmacros.get(spec.name.toLowerCase()) ?? []).find((m) => m.name === spec.name &&
      (m.nparamMin <= macro.nparamMax || macro.plus) && (macro.nparamMin <= m.nparamMax || m.plus));
    if (old) this.warning(`redefining multi-line macro \`${spec.name}' (defined at ${old.where.file}:${old.where.line})`, spec.nameTok.col);
    this.defining = { kind: 'macro', macro, startedIn: this.frame!.mstk.mstk, where };
  }

  private clearMMacros(): void {
    this.mmacros.clear();
    this.mmacroNames.clear();
  }

  private addMMacro(m: MMacro): void {
    const key = m.name.toLowerCase();
    let list = this.mmacros.get(key);
    if (!list) this.mmacros.set(key, (list = []));
    list.unshift(m);
    this.mmacroNames.add(m.name, true);
  }

  private exitMacro(dtok: Token): void {
    const f = this.frame!;
    for (let i = f.expansion.length - 1; i >= 0; i--) {
      const p = f.expansion[i];
      if (p.end && p.end.kind === 'macro') {
        const inv = p.end;
        for (; inv.condcnt > 0 && f.conds.length; inv.condcnt--) f.conds.pop();
        inv.condcnt = 0;
        f.expansion.length = i + 1;
        return;
      }
    }
    this.error(`\`${dtok.text}' not within a \`%macro' expansion`, dtok.col);
  }

  private unmacroDirective(tokens: Token[], at: number, dtok: Token, cs: boolean): void {
    const spec = this.parseMacroSpec(tokens, at, dtok.text, dtok.col);
    if (!spec) return;
    const key = spec.name.toLowerCase();
    const list = this.mmacros.get(key);
    if (!list) return;
    const f = this.frame!;
    if (f.expansion.some((p) => p.end && p.end.kind === 'macro' && p.end.macro === list[0])) {
      this.error(`\`${dtok.text}' can't undefine the macro being expanded`, dtok.col);
      return;
    }
    const keep = list.filter((m) => !(m.casesense === cs &&
      (cs ? m.name === spec.name : m.name.toLowerCase() === key) &&
      m.nparamMin === spec.min && m.nparamMax === spec.max && m.plus === spec.plus));
    for (const m of list) if (!keep.includes(m)) this.mmacroNames.remove(m.name, true);
    if (keep.length) this.mmacros.set(key, keep);
    else this.mmacros.delete(key);
  }

  private rotateDirective(tokens: Token[], at: number, dtok: Token): void {
    if (skipWhite(tokens, at) >= tokens.length) {
      this.error(`\`${dtok.text}' missing rotate count`, dtok.col);
      return;
    }
    const v = this.evalDirective(tokens.slice(at), dtok.text, dtok.col);
    if (v === undefined) return;
    const mac = this.frame!.mstk.mmac;
    if (!mac) {
      this.error(`\`${dtok.text}' invoked outside a macro call`, dtok.col);
    } else if (mac.nparam === 0) {
      this.error(`\`${dtok.text}' invoked within macro without parameters`, dtok.col);
    } else {
      const n = BigInt(mac.nparam);
      let r = (BigInt(mac.rotate) + v) % n;
      if (r < 0n) r += n;
      mac.rotate = Number(r);
    }
  }

  private repDirective(tokens: Token[], at: number, dtok: Token): void {
    let i = skipWhite(tokens, at);
    if (tokens[i]?.type === T.Id && tokens[i].text.toLowerCase() === '.nolist') i = skipWhite(tokens, i + 1);
    let count = 0;
    if (i < tokens.length) {
      const v = this.evalDirective(tokens.slice(i), dtok.text, dtok.col);
      if (v !== undefined) {
        if (v > BigInt(this.limits.maxRep)) {
          this.error(`\`${dtok.text}' count ${v} exceeds the limit of ${this.limits.maxRep}`, dtok.col);
        } else if (v < 0n) {
          this.warning(`negative \`${dtok.text}' count: ${v}`, dtok.col);
        } else {
          count = Number(v) + 1;
        }
      }
    } else {
      this.error(`\`${dtok.text}' expects a repeat count`, dtok.col);
    }
    this.defining = { kind: 'rep', lines: [], count, startedIn: this.frame!.mstk.mstk, where: this.location(dtok.col).location };
  }

  private endrepDirective(dtok: Token): void {
    const d = this.defining;
    if (!d || d.kind !== 'rep') {
      this.error(`\`${dtok.text}' without \`%rep': no %rep block is open`, dtok.col);
      return;
    }
    this.defining = null;
    const f = this.frame!;
    const rep: RepRun = { kind: 'rep', lines: d.lines, remaining: d.count, saved: f.mstk };
    f.expansion.push({ end: rep });
    f.mstk = { mstk: rep, mmac: f.mstk.mmac };
  }

  private exitRep(dtok: Token): void {
    const f = this.frame!;
    for (let i = f.expansion.length - 1; i >= 0; i--) {
      const p = f.expansion[i];
      if (p.end && p.end.kind === 'rep') {
        p.end.remaining = 0;
        return;
      }
    }
    this.error(`\`${dtok.text}' not within a \`%rep' block`, dtok.col);
  }

  // ------------------------------------------------ files

  /** Where an included file is: next to the including file, then in the include paths. */
  private findInclude(name: string): { path?: string; text?: string; tried: string[] } {
    const from = this.frame?.file ?? '';
    const tried: string[] = [];
    const candidates = [this.host.resolve(from, name), ...this.includePaths.map((dir) => joinPath(dir, name))];
    for (const c of candidates) {
      tried.push(c);
      const text = this.host.readFile(c);
      if (text !== undefined) return { path: c, text, tried };
    }
    return { tried };
  }

  private includeDirective(tokens: Token[], at: number, dtok: Token, once: boolean): void {
    const ex = this.expander.expand(tokens.slice(at));
    const i = skipWhite(ex, 0);
    const t = ex[i];
    if (!t || t.type !== T.Str) {
      this.error(`\`${dtok.text}' expects a file name in quotes${t ? `, not \`${t.text}'` : ''}`, t?.col ?? dtok.col);
      return;
    }
    if (skipWhite(ex, i + 1) < ex.length) this.warning(`trailing garbage after \`${dtok.text}' ignored`, ex[skipWhite(ex, i + 1)].col);
    const name = fromByteString(unquote(t.text));
    const found = this.findInclude(name);
    if (found.path === undefined || found.text === undefined) {
      this.error(`unable to open include file \`${name}' (looked for ${found.tried.map((p) => `\`${p}'`).join(', ')})`, t.col);
      return;
    }
    if (once && this.required.has(found.path)) return;
    this.required.add(found.path);
    if (this.frame!.depth >= this.limits.maxIncludeDepth) {
      this.error(`\`${dtok.text}' nested more than ${this.limits.maxIncludeDepth} levels deep: does \`${name}' include itself?`, t.col);
      return;
    }
    if (!this.includedFiles.includes(found.path)) this.includedFiles.push(found.path);
    this.pushFrame(found.path, found.text);
  }

  private lineDirective(tokens: Token[], at: number, dtok: Token): void {
    const f = this.frame!;
    if (f.mstk.mstk || this.chain) return;
    let i = skipWhite(tokens, at);
    const n = tokens[i]?.type === T.Num ? readNumber(tokens[i].text) : undefined;
    if (!n) {
      this.error(`\`${dtok.text}' expects a line number`, tokens[i]?.col ?? dtok.col);
      return;
    }
    let inc = 1;
    i++;
    if (isOp(tokens[i], '+') || isOp(tokens[i], '-')) {
      const minus = tokens[i].text === '-';
      const m = tokens[i + 1]?.type === T.Num ? readNumber(tokens[i + 1].text) : undefined;
      if (!m) {
        this.error(`\`${dtok.text}' expects a line increment`, tokens[i].col);
        return;
      }
      inc = Number(m.value) * (minus ? -1 : 1);
      i += 2;
    }
    i = skipWhite(tokens, i);
    if (i < tokens.length) {
      f.display = tokens[i].type === T.Str ? fromByteString(unquote(tokens[i].text)) : detoken(tokens.slice(i));
    }
    // nasm reports the line after `%line k+m` as k+m, and counts m per line from there.
    f.lineAt = this.physical;
    f.lineBase = Number(n.value);
    f.lineInc = inc;
  }

  // ------------------------------------------------ contexts, messages, misc

  private contextDirective(op: string, tokens: Token[], at: number, dtok: Token): void {
    const i = skipWhite(tokens, at);
    let name: string | undefined;
    if (i < tokens.length) {
      const t = tokens[i];
      if (t.type !== T.Id) {
        this.error(`\`${dtok.text}' expects a context identifier, not \`${t.text}'`, t.col);
        return;
      }
      if (skipWhite(tokens, i + 1) < tokens.length) this.warning(`trailing garbage after \`${dtok.text}' ignored`, tokens[skipWhite(tokens, i + 1)].col);
      name = t.text;
    }
    if (op === 'push') {
      this.contexts.push({ name, number: this.unique++, smacros: new SMacroTable() });
      return;
    }
    const top = this.contexts[this.contexts.length - 1];
    if (!top) {
      this.error(`\`${dtok.text}': context stack is empty`, dtok.col);
    } else if (op === 'pop') {
      if (name !== undefined && (top.name === undefined || top.name.toLowerCase() !== name.toLowerCase())) {
        this.error(`\`${dtok.text}' in wrong context: ${top.name ?? 'anonymous'}, expected ${name}`, dtok.col);
      } else {
        this.contexts.pop();
      }
    } else {
      top.name = name;
    }
  }

  private userMessage(op: string, tokens: Token[], at: number): void {
    const ex = this.expander.expand(tokens.slice(at));
    const i = skipWhite(ex, 0);
    const only = ex[i]?.type === T.Str && skipWhite(ex, i + 1) >= ex.length;
    const given = only ? fromByteString(unquote(ex[i].text)) : detoken(ex.slice(i));
    const text = given.trim() === '' ? `\`%${op}' with no message` : given;
    const col = ex[i]?.col;
    if (op === 'warning') this.warning(text, col);
    else this.error(text, col);
    if (op === 'fatal') this.stopped = true;
  }

  private pragma(tokens: Token[], at: number): DirectiveResult {
    const ex = this.expander.expand(tokens.slice(at));
    const i = skipWhite(ex, 0);
    if (ex[i]?.type !== T.Id) return {};
    if (ex[i].text.toLowerCase() === 'preproc') return {};
    const col = ex[i].col;
    return { output: [tok(T.Op, '[', col), tok(T.Id, 'pragma', col), tok(T.Whitespace, ' ', col), ...ex.slice(i), tok(T.Op, ']', col)] };
  }

  private clearDirective(tokens: Token[], at: number, dtok: Token): void {
    const ex = this.expander.expand(tokens.slice(at));
    let context = false;
    const clearSm = (all: boolean, aliases: boolean) => {
      const filter = (m: SMacro) => (all || m.alias === aliases) && !m.magic;
      if (context) for (const c of this.contexts) c.smacros.clear(filter);
      else this.smacros.clear(filter);
    };
    const words = ex.filter((t) => t.type !== T.Whitespace);
    if (words.length === 0) {
      clearSm(false, false);
      this.clearMMacros();
      return;
    }
    for (const t of words) {
      const w = t.text.toLowerCase();
      if (t.type !== T.Id && !(t.type === T.Op && (w === '-' || w === '--'))) {
        this.warning(`trailing garbage after \`${dtok.text}' ignored`, t.col);
        return;
      }
      if (w === 'all') { clearSm(true, false); if (!context) this.clearMMacros(); }
      else if (w === 'define' || w === 'def' || w === 'smacro') clearSm(false, false);
      else if (w === 'defalias' || w === 'alias' || w === 'salias') clearSm(false, true);
      else if (w === 'alldef' || w === 'alldefine') clearSm(true, false);
      else if (w === 'macro' || w === 'mmacro') { if (!context) this.clearMMacros(); }
      else if (w === 'context' || w === 'ctx') context = true;
      else if (w === 'global') context = false;
      else if (!['nothing', 'none', 'ignore', '-', '--'].includes(w)) {
        this.error(`invalid option to \`${dtok.text}': \`${t.text}'`, t.col);
        return;
      }
    }
  }

  private aliasesDirective(tokens: Token[], at: number, dtok: Token): void {
    const ex = this.expander.expand(tokens.slice(at));
    const i = skipWhite(ex, 0);
    if (i >= ex.length) { this.noAliases = false; return; }
    const w = ex[i].text.toLowerCase();
    if (['on', 'yes', 'true'].includes(w)) this.noAliases = false;
    else if (['off', 'no', 'false'].includes(w)) this.noAliases = true;
    else {
      const v = this.evalDirective(ex.slice(i), dtok.text, dtok.col);
      if (v !== undefined) this.noAliases = v === 0n;
    }
  }
}

function isRunning(r: Running): boolean {
  return r.kind === 'macro' || r.remaining > 0;
}

/** Tokens that continue a multi-part macro name (expand_id). */
function isIdPart(t: Token): boolean {
  return t.type === T.Id || t.type === T.PreprocId || t.type === T.LocalMacro || t.type === T.Num;
}

function joinPath(dir: string, name: string): string {
  if (name.startsWith('/') || /^[a-zA-Z]:[\\/]/.test(name)) return name;
  if (dir === '' || dir.endsWith('/') || dir.endsWith('\\')) return dir + name;
  return `${dir}/${name}`;
}

interface DirectiveInfo {
  op: string;
  insensitive?: boolean;
  /** `x` for %xdefine, `r` for %rmacro, the condition kind for %if/%elif. */
  variant?: string;
  negate?: boolean;
  /** Also a preprocessor function: `%strlen(` is the function. */
  fn?: boolean;
}

const DIRECTIVES = new Map<string, DirectiveInfo>();
{
  const add = (name: string, info: DirectiveInfo) => DIRECTIVES.set(name, info);
  for (const kind of CONDITION_KINDS) {
    for (const negate of [false, true]) {
      add(`%if${negate ? 'n' : ''}${kind}`, { op: 'if', variant: kind, negate });
      add(`%elif${negate ? 'n' : ''}${kind}`, { op: 'elif', variant: kind, negate });
    }
  }
  for (const [name, op, variant] of [
    ['define', 'define', ''], ['xdefine', 'define', 'x'], ['defalias', 'defalias', ''], ['assign', 'assign', ''],
    ['defstr', 'defstr', ''], ['deftok', 'deftok', ''], ['strlen', 'strlen', ''], ['strcat', 'strcat', ''],
    ['substr', 'substr', ''], ['pathsearch', 'pathsearch', ''], ['macro', 'macro', ''], ['rmacro', 'macro', 'r'],
  ] as const) {
    const fn = name === 'strlen' || name === 'strcat' || name === 'substr';
    add(`%${name}`, { op, variant, fn });
    add(`%i${name}`, { op, variant, fn, insensitive: true });
  }
  add('%unmacro', { op: 'unmacro' });
  add('%unimacro', { op: 'unmacro', insensitive: true });
  for (const name of ['else', 'endif', 'undef', 'undefalias', 'endmacro', 'exitmacro', 'rotate', 'rep', 'endrep',
    'exitrep', 'include', 'require', 'depend', 'push', 'pop', 'repl', 'error', 'warning', 'fatal', 'pragma', 'clear',
    'aliases', 'null', 'line', 'use', 'arg', 'local', 'stacksize']) {
    add(`%${name}`, { op: name });
  }
  add('%endm', { op: 'endmacro' });
}
