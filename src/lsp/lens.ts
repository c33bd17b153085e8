/**
 * The extension point for code lenses over a file's virtualization sites: hypercall sites and
 * instructions that trap, exit or misbehave when deprivileged. The language server lists the
 * sites; a provider (later: the debug session's exit log) turns them into lenses such as a
 * live count and share of emulated cycles. Without a provider there are no lenses.
 */
import type { CodeLens } from 'vscode-languageserver';
import type { HypercallSite } from './hypercallSites';
import { instructionInfo } from './instructionInfo';
import type { FileIndex } from './sourceIndex';

export interface LensSite {
  kind: 'hypercall' | 'privileged' | 'sensitive';
  /** The hypercall's name, or the instruction's mnemonic. */
  name: string;
  line: number;
  start: number;
  end: number;
}

export interface LensProvider {
  /** Lenses for the sites of one file (`uri`), or none. */
  lenses(uri: string, sites: readonly LensSite[]): CodeLens[] | Promise<CodeLens[]>;
}

/** The sites of a file, in line order. */
export function lensSites(index: FileIndex, hypercalls: readonly HypercallSite[]): LensSite[] {
  const sites: LensSite[] = hypercalls.map((h) => ({
    kind: 'hypercall' as const, name: h.hypercall?.name ?? h.instruction, line: h.line, start: h.start, end: h.end,
  }));
  index.statements.forEach((st, line) => {
    if (st.opKind !== 'instruction' || index.inMacro[line] || hypercalls.some((h) => h.line === line)) return;
    const text = index.lines[line];
    const info = instructionInfo(st.op!.name, st.operands.map((o) => text.slice(o.start, o.end)));
    if (info === undefined) return;
    const kind = info.privileged === 'cpl0' || info.privileged === 'iopl' ? 'privileged' : info.sensitive !== undefined ? 'sensitive' : undefined;
    if (kind !== undefined) sites.push({ kind, name: st.op!.name, line, start: st.op!.start, end: st.codeEnd });
  });
  return sites.sort((a, b) => a.line - b.line || a.start - b.start);
}
