/**
 * The shape of a file: document symbols (sections, labels with their local labels, constants,
 * macros), workspace symbols over every known source file, and folding ranges (labels,
 * %macro, %if, %rep, struc blocks, comment runs).
 */
import {
  type DocumentSymbol, type FoldingRange, FoldingRangeKind, type SymbolInformation, SymbolKind,
} from 'vscode-languageserver';
import type { LanguageService } from './service';
import type { FileIndex, SymbolDef } from './sourceIndex';

function kindOf(d: SymbolDef): SymbolKind {
  switch (d.kind) {
    case 'macro': return SymbolKind.Function;
    case 'define': case 'equ': return SymbolKind.Constant;
    case 'section': return SymbolKind.Namespace;
    default: return d.local ? SymbolKind.Field : d.data ? SymbolKind.Variable : SymbolKind.Method;
  }
}

function detailOf(d: SymbolDef): string {
  switch (d.kind) {
    case 'macro': return 'macro';
    case 'define': return '%define';
    case 'equ': return 'equ';
    case 'section': return 'section';
    default: return d.data ? 'data' : 'code';
  }
}

/** The last line a definition's block reaches: up to the next definition of the same level. */
function lastLine(index: FileIndex, d: SymbolDef, next: number): number {
  if (d.kind === 'macro' && d.macro) return Math.min(d.macro.bodyEnd, index.lines.length - 1);
  let end = next - 1;
  while (end > d.line && index.statements[end].codeEnd === 0) end--;
  return Math.max(end, d.line);
}

function symbolOf(index: FileIndex, d: SymbolDef, end: number): DocumentSymbol {
  const name = d.local ? index.lines[d.line].slice(d.start, d.end) : d.name;
  return {
    name: name || d.name,
    detail: detailOf(d),
    kind: kindOf(d),
    range: { start: { line: d.line, character: 0 }, end: { line: end, character: index.lines[end]?.length ?? 0 } },
    selectionRange: { start: { line: d.line, character: d.start }, end: { line: d.line, character: d.end } },
  };
}

/** `isMacro`: a label alone on its line with a macro's name is a call of that macro. */
export function documentSymbols(index: FileIndex, isMacro: (name: string) => boolean): DocumentSymbol[] {
  const defs = index.defs.filter((d) => !(d.alone && isMacro(d.name)));
  const globals = defs.filter((d) => !d.local);
  const out: DocumentSymbol[] = [];
  const nextOf = (list: SymbolDef[], k: number, same: (d: SymbolDef) => boolean): number => {
    for (let j = k + 1; j < list.length; j++) if (same(list[j])) return list[j].line;
    return index.lines.length;
  };
  const localsOf = new Map<string, SymbolDef[]>();
  for (const d of defs) if (d.local) localsOf.set(d.parent ?? '', [...(localsOf.get(d.parent ?? '') ?? []), d]);
  const adopted = new Set<SymbolDef>();
  globals.forEach((d, k) => {
    const sameLevel = (e: SymbolDef): boolean => (d.kind === 'section' ? e.kind === 'section' : e.kind === 'label' || e.kind === 'section');
    const next = d.kind === 'label' || d.kind === 'section' ? nextOf(globals, k, sameLevel) : d.line + 1;
    const sym = symbolOf(index, d, lastLine(index, d, next));
    if (d.kind === 'label') {
      const locals = (localsOf.get(d.name) ?? []).filter((e) => e.line >= d.line && e.line < next);
      sym.children = locals.map((e, j) => symbolOf(index, e, lastLine(index, e, j + 1 < locals.length ? locals[j + 1].line : next)));
      for (const e of locals) adopted.add(e);
    }
    out.push(sym);
  });
  // Locals with no parent label in this file (a header's top, or a struc's fields).
  for (const d of defs) if (d.local && !adopted.has(d)) out.push(symbolOf(index, d, d.line));
  return out.sort((a, b) => a.range.start.line - b.range.start.line);
}

/** Does `name` contain the letters of `query` in order (case ignored)? */
function fuzzyMatch(name: string, query: string): boolean {
  const n = name.toLowerCase();
  let i = 0;
  for (const c of query.toLowerCase()) {
    i = n.indexOf(c, i);
    if (i < 0) return false;
    i++;
  }
  return true;
}

const MAX_WORKSPACE_SYMBOLS = 500;

export function workspaceSymbols(service: LanguageService, query: string): SymbolInformation[] {
  const out: SymbolInformation[] = [];
  for (const path of service.project.knownFiles()) {
    const index = service.index(path);
    if (index === undefined) continue;
    for (const d of index.defs) {
      if (d.local || d.alone || !fuzzyMatch(d.name, query)) continue;
      out.push({
        name: d.name,
        kind: kindOf(d),
        location: { uri: service.uriOf(path), range: { start: { line: d.line, character: d.start }, end: { line: d.line, character: d.end } } },
        containerName: path.split(/[\\/]/).pop(),
      });
      if (out.length >= MAX_WORKSPACE_SYMBOLS) return out;
    }
  }
  return out;
}

export function foldingRanges(index: FileIndex): FoldingRange[] {
  return index.regions.map((r) => ({
    startLine: r.startLine,
    endLine: r.endLine,
    kind: r.kind === 'comment' ? FoldingRangeKind.Comment : FoldingRangeKind.Region,
  }));
}
