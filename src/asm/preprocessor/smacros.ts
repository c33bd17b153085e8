/**
 * Single-line macros (%define and friends): their definitions and the table that finds them.
 * Names are looked up the way nasm does: case-sensitive macros by exact name, %idefine'd ones
 * ignoring case, and the most recent definition first.
 */
import { T, tok, type Token } from './tokens';
import { NameFilter } from './nameFilter';

/** Parameter flags of a single-line macro (nasm's SPARM_*). */
export const P = {
  /** `=x`: evaluated as a number. */
  Eval: 1,
  /** `&x`: turned into a quoted string. */
  Str: 2,
  /** `!x`: braces and whitespace kept. */
  NoStrip: 4,
  /** `x+`: takes the rest of the arguments, commas included. */
  Greedy: 8,
  /** Built-in functions only: any number of separate arguments. */
  Varadic: 16,
  Optional: 32,
  /** `&&x`: like `&x`, but a single string argument stays as it is. */
  CondQuote: 64,
} as const;

export interface SMacroParam { name: string; flags: number; def?: Token[] }

/** What a built-in macro or function expands to, given its (processed) arguments. */
export type MagicExpander = (args: Token[][], call: Token) => Token[];

export interface SMacro {
  name: string;
  casesense: boolean;
  /** Empty for a macro defined without parentheses. */
  params: SMacroParam[];
  nparamMin: number;
  /** The last parameter is greedy or varadic. */
  varadic: boolean;
  /** The replacement, with parameters as SmacParam tokens. For an alias: the target name. */
  expansion: Token[];
  magic?: MagicExpander;
  /** Built-in functions may call themselves. */
  recursive: boolean;
  alias: boolean;
  inProgress: number;
}

export class SMacroTable {
  /** Lists by lower-cased name, most recent first. */
  private readonly byName = new Map<string, SMacro[]>();
  /** Rules out most names that are not macros before any string work. */
  readonly filter = new NameFilter();

  /** The macros that might match `name`, most recent first (undefined when none). */
  candidates(name: string): SMacro[] | undefined {
    if (!this.filter.mayHave(name, 0, name.length)) return undefined;
    const list = this.byName.get(name.toLowerCase());
    if (!list) return undefined;
    let found: SMacro[] | undefined;
    for (const m of list) {
      if (m.casesense ? m.name === name : true) (found ??= []).push(m);
    }
    return found;
  }

  /** All macros whose name matches ignoring case (for redefinition and %undef). */
  all(name: string): SMacro[] {
    return this.byName.get(name.toLowerCase()) ?? [];
  }

  add(m: SMacro): void {
    const key = m.name.toLowerCase();
    let list = this.byName.get(key);
    if (!list) this.byName.set(key, (list = []));
    list.unshift(m);
    this.count(m, 1);
  }

  remove(m: SMacro): void {
    const key = m.name.toLowerCase();
    const list = this.byName.get(key);
    if (!list) return;
    const i = list.indexOf(m);
    if (i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.byName.delete(key);
    this.count(m, -1);
  }

  /** Replaces `old` in place (a redefinition keeps its position, as in nasm). */
  replace(old: SMacro, m: SMacro): void {
    const list = this.byName.get(old.name.toLowerCase());
    const i = list ? list.indexOf(old) : -1;
    if (!list || i < 0) { this.add(m); return; }
    this.count(old, -1);
    list[i] = m;
    this.count(m, 1);
  }

  clear(filter: (m: SMacro) => boolean): void {
    for (const [key, list] of this.byName) {
      for (const m of list.filter(filter)) {
        list.splice(list.indexOf(m), 1);
        this.count(m, -1);
      }
      if (list.length === 0) this.byName.delete(key);
    }
  }

  private count(m: SMacro, d: number): void {
    this.filter.add(m.name, !m.casesense, d);
  }
}

export interface TemplateResult { params: SMacroParam[]; next: number; errors: { message: string; col: number }[] }

/**
 * Parses the parameter list of `%define name(a, b)`; `start` is the index just after the
 * name. A parameter list only counts when `(` follows the name directly: `%define f (a)`
 * defines f as `(a)`. `next` is the index where the expansion starts (whitespace skipped).
 */
export function parseTemplate(tokens: readonly Token[], start: number): TemplateResult {
  const params: SMacroParam[] = [];
  const errors: { message: string; col: number }[] = [];
  let i = start;
  const first = tokens[i];
  if (first && first.type === T.Op && first.text === '(') {
    i++;
    let name: string | undefined;
    let flags = 0;
    let greedy = false;
    let bad = false;
    let done = false;
    while (!done) {
      const t = tokens[i];
      if (!t) {
        errors.push({
          message: name || flags ? "`)' expected to terminate macro template" : 'parameter identifier expected',
          col: tokens[tokens.length - 1]?.col ?? first.col,
        });
        break;
      }
      if (t.type === T.Id) {
        if (name !== undefined) {
          if (!bad) errors.push({ message: `garbage \`${t.text}' in macro parameter list`, col: t.col });
          bad = true;
        } else {
          name = t.text;
        }
      } else if (t.type === T.Whitespace) {
        // ignored
      } else if (t.type === T.Op && (t.text === ',' || t.text === ')')) {
        if (t.text === ',' && greedy) errors.push({ message: 'greedy parameter must be last', col: t.col });
        params.push({ name: name ?? '', flags });
        name = undefined;
        flags = 0;
        done = t.text === ')';
      } else if (t.type === T.Op && t.text === '=') flags |= P.Eval;
      else if (t.type === T.Op && t.text === '&') flags |= P.Str;
      else if (t.type === T.Op && t.text === '&&') flags |= P.Str | P.CondQuote;
      else if (t.type === T.Op && t.text === '!') flags |= P.NoStrip;
      else if (t.type === T.Op && t.text === '+') { flags |= P.Greedy | P.Optional; greedy = true; }
      else {
        if (!bad) errors.push({ message: `garbage \`${t.text}' in macro parameter list`, col: t.col });
        bad = true;
      }
      i++;
    }
  }
  while (i < tokens.length && tokens[i].type === T.Whitespace) i++;
  return { params, next: i, errors };
}

/** Marks the parameter names in an expansion as SmacParam (or XdefParam) tokens. */
export function markParams(expansion: readonly Token[], params: readonly SMacroParam[], asXdef = false): Token[] {
  if (params.length === 0) return expansion.slice();
  return expansion.map((t) => {
    if (t.type !== T.Id && t.type !== T.XdefParam) return t;
    let index = -1;
    for (let i = 0; i < params.length; i++) if (params[i].name !== '' && params[i].name === t.text) index = i;
    if (index < 0) return t;
    return asXdef ? tok(T.XdefParam, t.text, t.col) : tok(T.SmacParam, t.text, t.col, index);
  });
}

/** The smallest argument count a macro accepts: trailing optional parameters may be left out. */
export function minParams(params: readonly SMacroParam[]): number {
  let n = params.length;
  while (n > 1 && (params[n - 1].flags & P.Optional) !== 0) n--;
  return n;
}

export function makeSMacro(name: string, casesense: boolean, params: SMacroParam[], expansion: Token[], extra?: Partial<SMacro>): SMacro {
  const last = params[params.length - 1];
  return {
    name,
    casesense,
    params,
    nparamMin: minParams(params),
    varadic: last !== undefined && (last.flags & (P.Greedy | P.Varadic)) !== 0,
    expansion,
    recursive: false,
    alias: false,
    inProgress: 0,
    ...extra,
  };
}
