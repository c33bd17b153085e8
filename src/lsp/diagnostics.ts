/**
 * Assembler diagnostics as LSP diagnostics: the 1-based file:line:column of the assembler
 * becomes a range over the word at that column (or the rest of the code on the line), macro
 * expansions become related information, and hypercall sites whose number is unknown or not
 * in the ABI become warnings.
 */
import { type Diagnostic, DiagnosticSeverity, type Range } from 'vscode-languageserver';
import type { Diagnostic as AsmDiagnostic, SourceLocation } from '../asm';
import { type HypercallSite, siteProblem } from './hypercallSites';
import type { FileIndex } from './sourceIndex';

export const ASSEMBLER_SOURCE = 'vtscope asm';
export const HYPERCALL_SOURCE = 'vtscope hypercall';

/** The range a diagnostic at 0-based (line, column) covers in `index`. */
function rangeAt(index: FileIndex | undefined, line: number, column: number): Range {
  const st = index?.statements[line];
  const text = index?.lines[line] ?? '';
  if (st === undefined) return { start: { line, character: column }, end: { line, character: column } };
  const word = st.words.find((w) => column >= w.start && column < w.end);
  if (word !== undefined) return { start: { line, character: word.start }, end: { line, character: word.end } };
  let start = column;
  if (start === 0) while (start < st.codeEnd && text.charCodeAt(start) <= 0x20) start++;
  const end = Math.max(st.codeEnd, start);
  return { start: { line, character: Math.min(start, end) }, end: { line, character: end } };
}

export function toLspDiagnostic(d: AsmDiagnostic, index: FileIndex | undefined, uriOf: (path: string) => string): Diagnostic {
  const at = (l: SourceLocation): Range => rangeAt(l.file === d.location.file ? index : undefined, l.line - 1, Math.max(0, l.column - 1));
  return {
    range: at(d.location),
    severity: d.severity === 'error' ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
    source: ASSEMBLER_SOURCE,
    message: d.message,
    relatedInformation: d.expansion?.map((e) => ({
      location: { uri: uriOf(e.file), range: { start: { line: e.line - 1, character: e.column - 1 }, end: { line: e.line - 1, character: e.column - 1 } } },
      message: 'expanded from this macro line',
    })),
  };
}

export function hypercallDiagnostic(site: HypercallSite): Diagnostic | undefined {
  const message = siteProblem(site);
  if (message === undefined) return undefined;
  return {
    range: { start: { line: site.line, character: site.start }, end: { line: site.line, character: site.end } },
    severity: DiagnosticSeverity.Warning,
    source: HYPERCALL_SOURCE,
    message,
  };
}

/** Drops repeats (a header assembled by two kernels reports its problems twice). */
export function dedupe(list: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return list.filter((d) => {
    const key = `${d.range.start.line}:${d.range.start.character}:${d.severity}:${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
