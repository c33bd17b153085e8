/**
 * Single-line macro expansion (nasm's expand_smacro). The expansion of a macro is processed
 * from its last token to its first, each identifier in it being expanded at once with the
 * tokens after it already in place, so a macro at the end of an expansion can take its
 * arguments from the rest of the line, exactly as in nasm. A macro is not expanded again
 * inside its own expansion unless it is a built-in function.
 */
import { T, tok, retokenize, type Token } from './tokens';
import { isIdChar } from './chars';
import { P, type SMacro } from './smacros';
import { evaluate } from './expr';
import { quote, toByteString } from './strings';

export interface ExpandEnv {
  /** The macros `t` may name (global, or in the right context for `%$name`). */
  candidates(t: Token): SMacro[] | undefined;
  /** The `%$$`-style prefix of a context-local name (for `%??`). */
  contextPrefix(t: Token): string;
  error(message: string, col: number): void;
  warning(message: string, col: number): void;
  /** Bytes of a character constant that count in expressions. */
  charWidth(): number;
}

/** Limits: macro expansions in one line, nesting of macros within macros, and nesting of
 * arguments that are expanded on their own (`=` and `&` parameters, as in %eval(%eval(...))). */
const MAX_EXPANSIONS = 50_000;
const MAX_LEVELS = 1000;
const MAX_ARG_LEVELS = 100;

interface Node { t: Token; next: Node | null }

const SENTINEL: Token = tok(T.Whitespace, '', 0);

/** Token classes for pasting (nasm's CONCAT_*). */
const C_ID = 1, C_LOCAL = 2, C_ENV = 4, C_PREPROC = 8, C_NUM = 16, C_OP = 64;

function concatClass(t: Token): number {
  switch (t.type) {
    case T.Id: case T.QMark: return C_ID;
    case T.LocalMacro: return C_LOCAL;
    case T.Environ: return C_ENV;
    case T.PreprocId: return C_PREPROC;
    case T.Num: case T.Float: return C_NUM;
    case T.Op: case T.Here: case T.Base: return C_OP;
    default: return 0;
  }
}

export interface PasteMask { head: number; tail: number }

/** Pasting after single-line macro expansion: adjacent identifiers, and `%+`. */
export const SMACRO_PASTE: readonly PasteMask[] = [
  { head: C_ID | C_LOCAL | C_ENV | C_PREPROC, tail: C_ID | C_LOCAL | C_ENV | C_PREPROC | C_NUM },
];
/** Pasting after multi-line macro parameters are substituted (`foo%1`, `%1bar`). */
export const MMACRO_PASTE: readonly PasteMask[] = [
  { head: C_ID, tail: C_ID | C_NUM | C_OP },
  { head: C_NUM, tail: C_NUM },
];

function maskFor(masks: readonly PasteMask[], t: Token): PasteMask | undefined {
  const cls = concatClass(t);
  if (cls === 0) return undefined;
  for (const m of masks) if ((m.head & cls) !== 0) return m;
  return undefined;
}

/**
 * Whether writing `b` right after `a` and reading the text again could give other tokens
 * than `a` and `b` (`foo` `bar` -> `foobar`; `foo` `(` stays as it is).
 */
function mayMerge(a: Token, b: Token): boolean {
  const last = a.text.charCodeAt(a.text.length - 1);
  if (last === 0x25 /* % */) return true;
  if (a.type === T.Op && b.type === T.Op) return true;
  return isIdChar(last) && b.text.length > 0 && isIdChar(b.text.charCodeAt(0));
}

/** Where the run of tokens pasted onto `tokens[i]` ends (exclusive), and whether any join in it changes tokens. */
function pasteRun(tokens: readonly Token[], i: number, mask: PasteMask): { end: number; merges: boolean } {
  let j = i + 1;
  let merges = false;
  while (j < tokens.length && (concatClass(tokens[j]) & mask.tail) !== 0) {
    if (!merges && mayMerge(tokens[j - 1], tokens[j])) merges = true;
    j++;
  }
  return { end: j, merges };
}

/**
 * Joins tokens the way nasm's paste_tokens() does: runs of adjacent tokens matching a mask
 * (no whitespace between them), and the tokens on both sides of `%+` when `explicit`. Runs
 * whose text reads back as the same tokens are left alone. Returns undefined when nothing
 * changed.
 */
export function pasteTokens(tokens: readonly Token[], masks: readonly PasteMask[], explicit: boolean): Token[] | undefined {
  if (!needsPaste(tokens, masks, explicit)) return undefined;
  const out: Token[] = [];
  let input = tokens;
  let i = 0;
  for (;;) {
    const t = input[i++];
    if (!t) break;
    if (t.type === T.Whitespace) {
      out.push(t);
      while (input[i]?.type === T.Whitespace) i++;
      continue;
    }
    if (t.type === T.Paste && explicit) {
      let left = -1;
      for (let k = out.length - 1; k >= 0; k--) {
        if (out[k].type !== T.Whitespace && out[k].type !== T.Paste) { left = k; break; }
      }
      while (i < input.length && (input[i].type === T.Paste || input[i].type === T.Whitespace)) i++;
      out.length = left + 1;
      const right = input[i];
      if (!right || left < 0) continue;
      const l = out.pop()!;
      // The joined token is read again from the start, so it can paste on to what follows.
      input = [...retokenize(l.text + right.text, l.col), ...input.slice(i + 1)];
      i = 0;
      continue;
    }
    const mask = maskFor(masks, t);
    if (mask) {
      const run = pasteRun(input, i - 1, mask);
      if (run.end > i) {
        if (run.merges) {
          let text = '';
          for (let k = i - 1; k < run.end; k++) text += input[k].text;
          for (const r of retokenize(text, t.col)) out.push(r);
        } else {
          for (let k = i - 1; k < run.end; k++) out.push(input[k]);
        }
        i = run.end;
        continue;
      }
    }
    out.push(t);
  }
  return out;
}

function needsPaste(tokens: readonly Token[], masks: readonly PasteMask[], explicit: boolean): boolean {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.type === T.Paste && explicit) return true;
    if (t.type === T.Whitespace) {
      if (tokens[i + 1]?.type === T.Whitespace) return true;
      continue;
    }
    const mask = maskFor(masks, t);
    if (mask) {
      const run = pasteRun(tokens, i, mask);
      if (run.merges) return true;
      i = run.end - 1;
    }
  }
  return false;
}

/** make_tok_num(): a number token, with a separate `-` token when negative. */
export function numberTokens(v: bigint, col: number): Token[] {
  if (v < 0n) return [tok(T.Op, '-', col), tok(T.Num, (-v).toString(), col)];
  return [tok(T.Num, v.toString(), col)];
}

export class SMacroExpander {
  private total = 0;
  private levels = 0;
  private argLevels = 0;
  /** The last line hit the expansion limit (its result is incomplete). */
  triggered = false;
  /** Macro expansions done so far, over all lines (the preprocessor's work budget counts them). */
  expansions = 0;

  constructor(private readonly env: ExpandEnv) {}

  /** Expands every single-line macro call in a line. */
  expand(tokens: readonly Token[]): Token[] {
    this.total = MAX_EXPANSIONS;
    this.levels = MAX_LEVELS;
    this.argLevels = 0;
    this.triggered = false;
    return this.expandNoReset(tokens);
  }

  /** Expansion within an expansion (arguments of `=` and `&` parameters): limits are shared. */
  private expandNoReset(tokens: readonly Token[]): Token[] {
    let line = tokens as Token[];
    let expanded = true; // the first round always pastes, so that %+ is handled
    for (;;) {
      const head: Node = { t: SENTINEL, next: null };
      let tail = head;
      for (const t of line) tail = tail.next = { t, next: null };
      let slot: Node = head;
      while (slot.next) {
        const r = this.expandOne(slot);
        if (r.expanded) expanded = true;
        slot = r.last;
      }
      const result: Token[] = [];
      for (let n = head.next; n; n = n.next) result.push(n.t);
      line = result;
      if (!expanded) break;
      const pasted = pasteTokens(line, SMACRO_PASTE, true);
      if (!pasted) break;
      line = pasted;
      expanded = false;
    }
    return line;
  }

  /**
   * Expands the macro call starting at `slot.next`, if it is one. Returns the node after which
   * scanning continues: the last node of the expansion, or the token itself when it was not
   * a macro call.
   */
  private expandOne(slot: Node): { expanded: boolean; last: Node } {
    const mstart = slot.next!;
    const notAMacro = { expanded: false, last: mstart };
    const st = mstart.t;
    if (st.type !== T.Id && st.type !== T.PreprocId && st.type !== T.LocalMacro) return notAMacro;
    this.expansions++;
    if (this.triggered) return notAMacro;
    if (--this.total < 0 || this.levels <= 0 || this.argLevels > MAX_ARG_LEVELS) {
      if (!this.triggered) {
        this.env.error('interminable macro recursion: single-line macro expansion exceeded its limit (a macro that expands to itself through another?)', st.col);
        this.triggered = true;
      }
      return notAMacro;
    }
    const cands = this.env.candidates(st);
    if (!cands || cands.length === 0) return notAMacro;

    let m = cands[0];
    let callEnd: Node = mstart;
    let open: Node | undefined;
    let nparam = 0;
    if (m.params.length > 0) {
      let n = mstart.next;
      while (n && n.t.type === T.Whitespace) n = n.next;
      if (!n || n.t.type !== T.Op || n.t.text !== '(') return notAMacro;
      open = n;
      let paren = 1;
      let brackets = 0;
      nparam = 1;
      let t: Node = n;
      while (paren) {
        const nx = t.next;
        if (!nx) {
          this.error(`macro call \`${st.text}(' expects a terminating \`)'`, st.col);
          return notAMacro;
        }
        t = nx;
        if (t.t.type !== T.Op) continue;
        switch (t.t.text) {
          case ',': if (!brackets && paren === 1) nparam++; break;
          case '{': brackets++; break;
          case '}': if (brackets > 0) brackets--; break;
          case '(': if (!brackets) paren++; break;
          case ')': if (!brackets) paren--; break;
        }
      }
      callEnd = t;
      const fit = cands.find((c) => c.params.length > 0 && nparam >= c.nparamMin && (c.varadic || nparam <= c.params.length));
      if (!fit) {
        const takes = cands.filter((c) => c.params.length > 0).map((c) => describeCount(c)).join(' or ');
        this.env.warning(`single-line macro \`${st.text}' takes ${takes}, not ${nparam}; left unexpanded`, st.col);
        return notAMacro;
      }
      m = fit;
    }
    if (m.inProgress && !m.recursive) return notAMacro;

    m.inProgress++;
    this.levels--;
    try {
      const args = open ? this.collectArgs(m, open, callEnd, nparam) : [];
      const expansion = m.magic ? m.magic(args, st) : m.expansion;
      const tafter = callEnd.next;
      let tline: Node | null = tafter;
      let condComma = false;
      // The last node of the expansion, known as soon as the first (rightmost) token is
      // placed, unless a macro inside took arguments from what follows it.
      let lastNode: Node | null = null;
      let mustWalk = false;
      const work = expansion.slice();
      while (work.length) {
        const tt = work.pop()!;
        let head: Node | null = null;
        let endt: Node | null = tline;
        switch (tt.type) {
          case T.Q: case T.SQ:
            head = { t: st, next: tline };
            break;
          case T.QQ: case T.SQQ: {
            const prefix = st.type === T.LocalMacro ? this.env.contextPrefix(st) : '';
            head = { t: tok(st.type, prefix + m.name, st.col), next: tline };
            break;
          }
          case T.CondComma:
            if (condComma) head = { t: tok(T.Op, ',', st.col), next: tline };
            break;
          case T.Id: case T.PreprocId: case T.LocalMacro: {
            const tmp: Node = { t: SENTINEL, next: { t: tt, next: tline } };
            const r = this.expandOne(tmp);
            head = tmp.next;
            endt = r.last.next;
            if (endt !== tline) mustWalk = true; // it took arguments from what follows
            else if (!lastNode && r.last !== tmp) lastNode = r.last;
            break;
          }
          case T.SmacParam: {
            const p = args[tt.n] ?? [];
            for (const x of p) work.push(x);
            condComma = false;
            continue;
          }
          default:
            head = { t: tt, next: tline };
        }
        if (head) {
          if (!lastNode && head !== tline && head.next === tline) lastNode = head;
          for (let n: Node | null = head; !condComma && n && n !== endt; n = n.next) condComma = n.t.type !== T.Whitespace;
          tline = head;
        }
      }
      slot.next = tline;
      let last: Node = lastNode ?? slot;
      if (mustWalk) {
        last = slot;
        for (let n = tline; n && n !== tafter; n = n.next) last = n;
      }
      return { expanded: true, last };
    } finally {
      m.inProgress--;
      this.levels++;
    }
  }

  /** Expands an argument on its own (for `=` and `&` parameters). */
  private expandArg(tokens: Token[]): Token[] {
    this.argLevels++;
    try {
      return this.expandNoReset(tokens);
    } finally {
      this.argLevels--;
    }
  }

  /** Errors after the line hit the expansion limit would only be echoes of it. */
  private error(message: string, col: number): void {
    if (!this.triggered) this.env.error(message, col);
  }

  /** Splits the arguments between `open` and `close`, then applies `=` and `&` conversions. */
  private collectArgs(m: SMacro, open: Node, close: Node, counted: number): Token[][] {
    let nparam = counted;
    const nformal = m.params.length;
    if (nparam > nformal) {
      if (m.params[nformal - 1].flags & P.Greedy) nparam = nformal;
    } else if (nparam < nformal) {
      nparam = nformal;
    }
    const args: Token[][] = [[]];
    let mi = 0;
    let flags = m.params[0].flags;
    let white = false;
    let brackets = 0;
    let paren = 1;
    let bracketed = false;
    let cur = args[0];
    for (let n = open.next; n && n !== close; n = n.next) {
      const t = n.t;
      let skip = false;
      if (t.type === T.Whitespace) {
        if (!(flags & P.NoStrip)) {
          if (brackets || cur.length) white = true;
          skip = true;
        }
      } else if (t.type === T.Op) {
        switch (t.text) {
          case ',':
            if (!brackets && paren === 1 && !(flags & P.Greedy)) {
              // As in nasm, whitespace before the comma is still pending and shows up at the
              // start of the next argument if that begins with something kept.
              args.push((cur = []));
              bracketed = false;
              skip = true;
              if (!(flags & P.Varadic)) {
                mi = Math.min(mi + 1, nformal - 1);
                flags = m.params[mi].flags;
              }
            }
            break;
          case '{':
            if (!bracketed) {
              bracketed = cur.length === 0 && !(flags & P.NoStrip);
              skip = bracketed;
            }
            brackets++;
            break;
          case '}':
            if (brackets > 0 && --brackets === 0) skip = bracketed;
            break;
          case '(':
            if (!brackets) paren++;
            break;
          case ')':
            if (!brackets) paren--;
            break;
        }
      }
      if (!skip) {
        if (white) { cur.push(tok(T.Whitespace, ' ', t.col)); white = false; }
        cur.push(t);
      }
    }
    while (args.length < nparam) args.push([]);

    // As in nasm, the parameter specs advance unless the flags in effect at the end of the
    // split are varadic (which makes %sel() evaluate all its arguments).
    const advance = (flags & P.Varadic) === 0;
    for (let i = 0, pi = 0; i < args.length; i++, pi += advance ? 1 : 0) {
      const spec = m.params[Math.min(pi, nformal - 1)];
      const f = spec.flags;
      if (f & P.Eval) {
        const expanded = this.expandArg(args[i]).filter((t) => t.type !== T.Whitespace);
        if (expanded.length === 0) {
          if (spec.def) { args[i] = spec.def; continue; }
          if (f & P.Optional) { args[i] = []; continue; }
        }
        const warnings: { message: string; col: number }[] = [];
        const col = expanded[0]?.col ?? open.t.col;
        const r = evaluate(expanded, 0, warnings, col, this.env.charWidth());
        for (const w of warnings) this.env.warning(w.message, w.col);
        if (!r.ok) {
          this.error(`${r.message} (in argument ${i + 1} of \`${m.name}')`, r.col);
          args[i] = [];
        } else if (r.next < expanded.length) {
          this.error(`invalid expression in argument ${i + 1} of \`${m.name}': unexpected \`${expanded[r.next].text}'`, expanded[r.next].col);
          args[i] = [];
        } else {
          args[i] = numberTokens(r.value, col);
        }
      }
      if (f & P.Str) {
        const qs = this.expandArg(args[i]);
        if ((f & P.CondQuote) && qs.length === 1 && qs[0].type === T.Str) args[i] = qs;
        else args[i] = [tok(T.Str, quote(detokenBytes(qs)), qs[0]?.col ?? open.t.col)];
      }
    }
    return args;
  }
}

/** Text of tokens as a byte string for quoting (whitespace runs become one space). */
function detokenBytes(tokens: readonly Token[]): string {
  let s = '';
  for (const t of tokens) s += t.type === T.Whitespace ? ' ' : t.text;
  return toByteString(s);
}

function describeCount(m: SMacro): string {
  const n = m.params.length;
  if (m.varadic) return `at least ${m.nparamMin} parameter${m.nparamMin === 1 ? '' : 's'}`;
  if (m.nparamMin !== n) return `${m.nparamMin} to ${n} parameters`;
  return `${n} parameter${n === 1 ? '' : 's'}`;
}
