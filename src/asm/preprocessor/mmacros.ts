/**
 * Multi-line macros (%macro ... %endmacro): definitions, and how a call's parameters are
 * split, matched against the definitions and cleaned up (nasm's count_mmac_params,
 * is_mmacro and expand_mmacro), including nasm's legacy handling of empty trailing
 * parameters.
 */
import type { SourceLocation } from '../source';
import { T, type Token } from './tokens';

/**
 * The macro calls a line was produced inside, innermost last: `at` is the call (or, deeper,
 * the body line that made the call). Shared between lines, so a call costs O(1).
 */
export interface CallChain {
  at: SourceLocation;
  up: CallChain | null;
  /** The outermost call: where the user wrote the line. */
  outer: SourceLocation;
  depth: number;
}

export function extendChain(chain: CallChain | null, at: SourceLocation): CallChain {
  return { at, up: chain, outer: chain ? chain.outer : at, depth: chain ? chain.depth + 1 : 1 };
}

/** Levels of `expansion` kept for deeply nested calls: the outermost and innermost halves. */
const MAX_EXPANSION = 64;

/**
 * The `expansion` of a line at `where` produced inside `chain`: the body lines of the calls
 * below the outermost one, then `where`, outermost first (the middle of very deep recursion
 * is left out).
 */
export function expansionOf(chain: CallChain, where: SourceLocation): SourceLocation[] {
  const inner: SourceLocation[] = [where];
  for (let c: CallChain | null = chain; c && c.up; c = c.up) inner.push(c.at);
  inner.reverse();
  if (inner.length <= MAX_EXPANSION) return inner;
  return [...inner.slice(0, MAX_EXPANSION / 2), ...inner.slice(inner.length - MAX_EXPANSION / 2)];
}

/** A stored line of a macro or %rep body. */
export interface BodyLine {
  tokens: Token[];
  where: SourceLocation;
  /** Macro calls the line was read inside, for lines of a %rep body. */
  chain: CallChain | null;
  /** Cached output `expansion` of the line, shared by every line made from it. */
  expansion?: SourceLocation[];
}

export interface MMacro {
  name: string;
  casesense: boolean;
  nparamMin: number;
  nparamMax: number;
  /** The last parameter takes the rest of the line. */
  plus: boolean;
  /** `.nolist`: its lines count as written at the call. */
  nolist: boolean;
  /** Default parameters, as written (unsplit tokens per default). */
  defaults: Token[][];
  lines: BodyLine[];
  /** The body uses %00: a label before the call becomes that parameter. */
  captureLabel: boolean;
  /** 0 for %macro (no recursion); the depth limit for %rmacro. */
  maxDepth: number;
  inProgress: number;
  where: SourceLocation;
}

export interface SplitParams {
  /** Raw tokens of each parameter (whitespace included); for each, where it starts. */
  params: Token[][];
  starts: number[];
  /** The last parameter is empty and follows a comma (`foo a,`). */
  trailingEmpty: boolean;
  /** Index of the last comma (for dropping a trailing empty parameter). */
  lastComma: number;
  errors: { message: string; col: number }[];
}

/** Splits macro call arguments at commas outside braces (nasm's count_mmac_params). */
export function splitParams(tokens: readonly Token[], start: number): SplitParams {
  const params: Token[][] = [];
  const starts: number[] = [];
  const errors: { message: string; col: number }[] = [];
  let lastComma = -1;
  let empty = false;
  let t = skipW(tokens, start);
  if (t < tokens.length) {
    for (;;) {
      const pstart = t;
      empty = true;
      if (isOp(tokens[t], '{')) {
        empty = false;
        let brace = 1;
        while (brace && ++t < tokens.length) {
          if (isOp(tokens[t], '{')) brace++;
          else if (isOp(tokens[t], '}')) brace--;
        }
        if (t < tokens.length) {
          t = skipW(tokens, t + 1);
          if (t < tokens.length && !isOp(tokens[t], ',')) {
            errors.push({ message: 'braces do not enclose all of macro parameter', col: tokens[t].col });
          }
        } else {
          errors.push({ message: 'expecting closing brace in macro parameter', col: tokens[pstart].col });
        }
      }
      while (t < tokens.length && !isOp(tokens[t], ',')) {
        if (tokens[t].type !== T.Whitespace) empty = false;
        t++;
      }
      params.push(tokens.slice(pstart, t));
      starts.push(pstart);
      if (t >= tokens.length) break;
      lastComma = t;
      t = skipW(tokens, t + 1);
      if (t >= tokens.length) {
        params.push([]);
        starts.push(t);
        empty = true;
        break;
      }
    }
  }
  return { params, starts, trailingEmpty: params.length > 1 && empty, lastComma, errors };
}

/**
 * A parameter as the macro sees it: leading and trailing whitespace removed, and braces
 * `{...}` around the whole parameter stripped. `greedy` lets commas through (the last
 * parameter of a `+` macro).
 */
export function cleanParam(raw: readonly Token[], greedy: boolean): Token[] {
  let i = skipW(raw, 0);
  if (isOp(raw[i], '{')) {
    let brace = 1;
    const startIn = i + 1;
    for (i = startIn; i < raw.length; i++) {
      if (isOp(raw[i], '{')) brace++;
      else if (isOp(raw[i], '}') && --brace === 0) return raw.slice(startIn, i);
    }
    return trimEnd(raw.slice(startIn));
  }
  const start = i;
  let brace = 0;
  for (; i < raw.length; i++) {
    const t = raw[i];
    if (isOp(t, ',') && !greedy && !brace) break;
    if (isOp(t, '{')) brace++;
    else if (isOp(t, '}')) brace--;
  }
  return trimEnd(raw.slice(start, i));
}

export interface MacroCall {
  macro: MMacro;
  /** Parameters 1..n (index 0 is the captured label, if any), cleaned. */
  params: Token[][];
  nparam: number;
  warnings: string[];
}

/** The first definition from `list[from]` on that takes `nparam` parameters. */
function findIn(list: readonly MMacro[], from: number, nparam: number): MMacro | undefined {
  for (let i = from; i < list.length; i++) {
    const m = list[i];
    if (m.nparamMin <= nparam && (m.plus || nparam <= m.nparamMax)) return m;
  }
  return undefined;
}

/**
 * Matches a call against the macros of that name (most recent first) and builds its
 * parameters. `emptyArgs` is true when nothing at all followed the name. Without a `call`
 * the line is not a macro call; `mismatch` then says why when a macro of that name exists.
 */
export function matchCall(
  list: readonly MMacro[],
  tokens: readonly Token[],
  argStart: number,
  emptyArgs: boolean,
): { call?: MacroCall; mismatch?: string; errors: { message: string; col: number }[] } {
  const first = list.findIndex((m) => m.inProgress !== 1 || m.maxDepth > 0);
  if (first < 0) return { errors: [] };
  const split = splitParams(tokens, argStart);
  const raw = split.params.length;
  let path: 'direct' | 'whitespace' | 'dropped' = 'direct';
  let found = findIn(list, first, raw);
  if (!found && raw === 0 && !emptyArgs) {
    path = 'whitespace';
    found = findIn(list, first, 1);
  } else if (!found && raw > 1 && split.trailingEmpty) {
    path = 'dropped';
    found = findIn(list, first, raw - 1);
  }
  if (!found) {
    const takes = list.map(describe).join(' or ');
    return {
      mismatch: `macro \`${list[0].name}' expects ${takes}, got ${raw}; the line is left as it is`,
      errors: split.errors,
    };
  }
  const m = found;
  if (m.inProgress > m.maxDepth) return { errors: split.errors };

  const warnings: string[] = [];
  if (raw < m.nparamMin || (raw > m.nparamMax && !m.plus)) {
    warnings.push(`improperly calling macro \`${m.name}' with ${raw} parameter${raw === 1 ? '' : 's'} (nasm's legacy rule for empty parameters applied)`);
  } else if (split.trailingEmpty) {
    warnings.push(`dropping trailing empty parameter in call to macro \`${m.name}'`);
  }
  if (path === 'whitespace') {
    // nasm calls the one-parameter macro, but with %0 = 0 and no parameters.
    return { call: { macro: m, params: [[]], nparam: 0, warnings }, errors: split.errors };
  }

  const given = path === 'dropped' ? raw - 1 : raw;
  const lineEnd = split.trailingEmpty ? split.lastComma : tokens.length;
  const rawParams: (Token[] | undefined)[] = [undefined, ...split.params.slice(0, given)];
  const defaults: (Token[] | undefined)[] = [undefined];
  let nparam = given;
  const ndefs = m.defaults.length;
  if (nparam < m.nparamMin + ndefs) {
    for (let i = nparam + 1; i <= m.nparamMin + ndefs; i++) defaults[i] = m.defaults[i - m.nparamMin - 1];
    nparam = m.nparamMin + ndefs;
  }
  if (m.plus && nparam > m.nparamMax) nparam = m.nparamMax;
  if (path === 'direct' && split.trailingEmpty) {
    if (raw > m.nparamMin && raw <= m.nparamMin + ndefs) {
      rawParams[raw] = undefined;
      defaults[raw] = m.defaults[raw - m.nparamMin - 1];
    } else if (!(raw > m.nparamMax && m.plus)) {
      rawParams[raw] = undefined;
      nparam = raw - 1;
    }
  }

  const params: Token[][] = [[]];
  for (let i = 1; i <= nparam; i++) {
    const greedy = m.plus && i === nparam;
    const r = rawParams[i];
    if (r) params.push(cleanParam(greedy ? tokens.slice(split.starts[i - 1], lineEnd) : r, greedy));
    else params.push(defaults[i] ? cleanParam(defaults[i]!, greedy) : []);
  }
  return { call: { macro: m, params, nparam, warnings }, errors: split.errors };
}

function describe(m: MMacro): string {
  if (m.plus || m.nparamMax === Infinity) return `at least ${m.nparamMin} parameter${m.nparamMin === 1 ? '' : 's'}`;
  if (m.nparamMin !== m.nparamMax) return `${m.nparamMin} to ${m.nparamMax} parameters`;
  return `${m.nparamMin} parameter${m.nparamMin === 1 ? '' : 's'}`;
}

function skipW(tokens: readonly Token[], i: number): number {
  while (i < tokens.length && tokens[i].type === T.Whitespace) i++;
  return i;
}

function trimEnd(tokens: Token[]): Token[] {
  let e = tokens.length;
  while (e > 0 && tokens[e - 1].type === T.Whitespace) e--;
  return e === tokens.length ? tokens : tokens.slice(0, e);
}

function isOp(t: Token | undefined, text: string): boolean {
  return t !== undefined && t.type === T.Op && t.text === text;
}

/** Condition codes for %+1 / %-1 and their inverses (nasm's conditions[] and inverse_ccs[]). */
const CONDITIONS = [
  'a', 'ae', 'b', 'be', 'c', 'cxz', 'e', 'ecxz', 'g', 'ge', 'l', 'le', 'na', 'nae', 'nb', 'nbe', 'nc',
  'ne', 'ng', 'nge', 'nl', 'nle', 'no', 'np', 'ns', 'nz', 'o', 'p', 'pe', 'po', 'rcxz', 's', 'z',
];
const INVERSE: Record<string, string | undefined> = {
  a: 'na', ae: 'nae', b: 'nb', be: 'nbe', c: 'nc', e: 'ne', g: 'ng', ge: 'nge', l: 'nl', le: 'nle',
  na: 'a', nae: 'ae', nb: 'b', nbe: 'be', nc: 'c', ne: 'e', ng: 'g', nge: 'ge', nl: 'l', nle: 'le',
  no: 'o', np: 'p', ns: 's', nz: 'z', o: 'no', p: 'np', pe: 'po', po: 'pe', s: 'ns', z: 'nz',
};

/** The condition code a parameter holds (its only token), lower-cased, or undefined. */
export function conditionCode(param: readonly Token[]): string | undefined {
  const i = skipW(param, 0);
  if (param[i]?.type !== T.Id) return undefined;
  const j = skipW(param, i + 1);
  if (j < param.length && !isOp(param[j], ',')) return undefined;
  const cc = param[i].text.toLowerCase();
  return CONDITIONS.includes(cc) ? cc : undefined;
}

export function inverseCondition(cc: string): string | undefined {
  return INVERSE[cc];
}
