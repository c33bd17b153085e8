/**
 * Code lenses with live counts over a guest source, while or after a debug session: above
 * each line where the VMM handled events (a hypercall site, a privileged instruction that
 * trapped, an instruction that caused a VM exit) its count and share of the run's emulated
 * cycles, and above each sensitive instruction that ran without trapping its hole. They come
 * from the session's ExitStore, whose records the adapter maps to source lines.
 */
import * as vscode from 'vscode';
import { type ExitStore, formatCount, type LineEvents, percent } from './exitStore';
import { EXITS_VIEW, HOLES_VIEW } from './exitViews';
import { LANGUAGE_ID } from './languageClient';
import type { SessionTracker } from './sessions';

export interface SiteLens {
  /** 0-based line. */
  line: number;
  title: string;
  /** The view that lists what the lens counts. */
  view: typeof EXITS_VIEW | typeof HOLES_VIEW;
}

const REFRESH_MS = 250;

function plural(n: number, one: string, many: string): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

function eventTitle(e: LineEvents, runCycles: number, exact: boolean): string {
  const label = e.kind === 'vm exit' && e.reasonNumber !== null ? `VM exit ${e.reason} (${e.reasonNumber})` : e.reason;
  const what = e.kind === 'hypercall' ? plural(e.count, 'call', 'calls') : e.kind === 'vm exit' ? plural(e.count, 'exit', 'exits') : plural(e.count, 'time', 'times');
  // Counted from the records received: when the adapter left some out, these are lower bounds.
  const share = runCycles === 0 ? '' : `, ${percent(e.cycles, runCycles)} of cycles`;
  return `${label}: ${exact ? '' : 'at least '}${what}${share}`;
}

/** The lenses of the source file `path` from what `store` holds. */
export function siteLenses(path: string, store: ExitStore): SiteLens[] {
  const out: SiteLens[] = [];
  for (const [line, events] of store.eventsByLine(path)) {
    for (const e of events) out.push({ line: line - 1, title: eventTitle(e, store.runCycles, store.complete), view: EXITS_VIEW });
  }
  for (const h of store.holes()) {
    if (h.source?.path !== path) continue;
    out.push({ line: h.source.line - 1, title: `hole: ${plural(h.count, 'time', 'times')}: ${h.effect}`, view: HOLES_VIEW });
  }
  return out.sort((a, b) => a.line - b.line);
}

export class SiteLensProvider implements vscode.CodeLensProvider {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;

  constructor(private readonly tracker: SessionTracker) {}

  refresh(): void {
    this.changed.fire();
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const store = this.tracker.current?.store;
    if (store === undefined || doc.uri.scheme !== 'file') return [];
    return siteLenses(doc.uri.fsPath, store).map((l) =>
      new vscode.CodeLens(new vscode.Range(l.line, 0, l.line, 0), { title: l.title, command: `${l.view}.focus` }));
  }
}

export function registerSiteLenses(context: vscode.ExtensionContext, tracker: SessionTracker): void {
  const provider = new SiteLensProvider(tracker);
  let pending: ReturnType<typeof setTimeout> | undefined;
  context.subscriptions.push(
    vscode.languages.registerCodeLensProvider({ language: LANGUAGE_ID }, provider),
    tracker.onDidChange(() => { pending ??= setTimeout(() => { pending = undefined; provider.refresh(); }, REFRESH_MS); }),
    { dispose: () => { if (pending !== undefined) clearTimeout(pending); } },
  );
}
