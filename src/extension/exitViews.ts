/**
 * The "VM Exits" and "Virtualization Holes" views in the Run and Debug container, fed by the
 * adapter's custom events through the SessionTracker. Tree views render only the visible
 * rows and the store keeps a bounded ring, so a long run neither grows memory nor freezes
 * the view; refreshes are batched to a few per second.
 */
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { formatCount, hex8, percent, reasonLabel, type ExitStore } from './exitStore';
import type { ExitRecordBody, HoleBody, ReasonTotalBody, SourceLine } from '../debug/protocol';
import type { SessionTracker, TrackedSession } from './sessions';

export const EXITS_VIEW = 'vtscope.exits';
export const HOLES_VIEW = 'vtscope.holes';
const FILTERED_CONTEXT = 'vtscope.exitsFiltered';
const REFRESH_MS = 250;

type ExitNode =
  | { kind: 'totals'; store: ExitStore }
  | { kind: 'reason'; total: ReasonTotalBody; all: { count: number; cycles: number } }
  | { kind: 'record'; record: ExitRecordBody };

function openSource(item: vscode.TreeItem, source: SourceLine | undefined): void {
  if (source === undefined) return;
  const line = new vscode.Range(source.line - 1, 0, source.line - 1, 0);
  item.command = { title: 'Open Source Line', command: 'vscode.open', arguments: [vscode.Uri.file(source.path), { selection: line }] };
}

function where(source: SourceLine | undefined): string {
  return source === undefined ? '' : ` ${basename(source.path)}:${source.line}`;
}

function exitsMessage(t: TrackedSession | undefined): string | undefined {
  if (t === undefined) return 'Start a vtscope debug session to see its VM exits.';
  const filter = t.store.filter;
  const filtered = filter === undefined ? '' : ` Showing ${[...filter].join(', ')} only.`;
  if (t.reportsExits) return filtered === '' ? undefined : filtered.trim();
  if (t.mode === 'native') return 'native mode runs the guest without a VMM, so there are no VM exits.';
  return `No VM exits reported by the debug adapter in ${t.mode} mode${t.running ? ' yet' : ''}.`;
}

export class ExitsProvider implements vscode.TreeDataProvider<ExitNode> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly tracker: SessionTracker) {}

  refresh(): void {
    this.changed.fire();
  }

  getChildren(node?: ExitNode): ExitNode[] {
    const t = this.tracker.current;
    if (t === undefined || !t.reportsExits) return [];
    if (node === undefined) {
      const records = t.store.newestFirst().map((record): ExitNode => ({ kind: 'record', record }));
      return [{ kind: 'totals', store: t.store }, ...records];
    }
    if (node.kind !== 'totals') return [];
    const totals = node.store.reasonTotals();
    const all = totals.reduce((a, r) => ({ count: a.count + r.count, cycles: a.cycles + r.cycles }), { count: 0, cycles: 0 });
    return totals.map((total): ExitNode => ({ kind: 'reason', total, all }));
  }

  getTreeItem(node: ExitNode): vscode.TreeItem {
    if (node.kind === 'totals') {
      const item = new vscode.TreeItem('Totals by reason', vscode.TreeItemCollapsibleState.Collapsed);
      item.description = `${formatCount(node.store.total)} exits`;
      item.iconPath = new vscode.ThemeIcon('graph');
      return item;
    }
    if (node.kind === 'reason') {
      const r = node.total;
      const item = new vscode.TreeItem(reasonLabel(r.reason, r.reasonNumber));
      item.description = `${formatCount(r.count)} (${percent(r.count, node.all.count)}) · ${formatCount(r.cycles)} cycles (${percent(r.cycles, node.all.cycles)})`;
      item.tooltip = `${r.kind}: ${formatCount(r.count)} events, ${formatCount(r.cycles)} emulated cycles`;
      return item;
    }
    const r = node.record;
    const item = new vscode.TreeItem(`#${r.seq} ${reasonLabel(r.reason, r.reasonNumber)}`);
    item.description = `@${formatCount(r.cycles)} · ${hex8(r.eip)}${where(r.source)} · ${r.qualification} · ${formatCount(r.cost)} cyc`;
    item.tooltip = new vscode.MarkdownString([
      `**${reasonLabel(r.reason, r.reasonNumber)}** (${r.kind}, ${r.mode})`,
      `- sequence ${r.seq}, emulated cycle ${formatCount(r.cycles)}, vCPU ${r.vcpu} after ${formatCount(r.icount)} instructions`,
      `- guest EIP ${hex8(r.eip)} at CPL ${r.cpl}${where(r.source)}`,
      `- qualification: ${r.qualification}`,
      `- cost: ${formatCount(r.cost)} cycles`,
    ].join('\n'));
    openSource(item, r.source);
    return item;
  }
}

function holesMessage(t: TrackedSession | undefined): string | undefined {
  if (t === undefined) return 'Virtualization holes show here when a guest runs under trap mode.';
  if (t.mode !== 'trap') return `Virtualization holes exist only under trap mode; this session runs ${t.mode}.`;
  if (!t.reportsHoles) return `No virtualization holes reported by the debug adapter${t.running ? ' yet' : ''}.`;
  return t.store.holes().length === 0 ? 'No sensitive instruction has run without trapping.' : undefined;
}

export class HolesProvider implements vscode.TreeDataProvider<HoleBody> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly tracker: SessionTracker) {}

  refresh(): void {
    this.changed.fire();
  }

  getChildren(node?: HoleBody): HoleBody[] {
    return node === undefined ? this.tracker.current?.store.holes() ?? [] : [];
  }

  getTreeItem(h: HoleBody): vscode.TreeItem {
    const item = new vscode.TreeItem(h.instruction);
    item.description = `×${formatCount(h.count)} · ${hex8(h.eip)}${where(h.source)}`;
    item.tooltip = `${h.effect}\n(${formatCount(h.count)} times at ${hex8(h.eip)})`;
    item.iconPath = new vscode.ThemeIcon('warning');
    openSource(item, h.source);
    return item;
  }
}

async function pickReasons(tracker: SessionTracker, provider: ExitsProvider): Promise<void> {
  const store = tracker.current?.store;
  const totals = store?.reasonTotals() ?? [];
  if (store === undefined || totals.length === 0) {
    void vscode.window.showInformationMessage('vtscope: there are no VM exits to filter yet.');
    return;
  }
  const picked = await vscode.window.showQuickPick(
    totals.map((r) => ({ label: r.reason, description: `${r.reasonNumber === null ? '' : `#${r.reasonNumber} · `}${formatCount(r.count)} exits`, picked: store.filter?.has(r.reason) ?? true })),
    { canPickMany: true, title: 'Show the VM exits of these reasons' },
  );
  if (picked === undefined) return;
  store.filter = picked.length === 0 || picked.length === totals.length ? undefined : new Set(picked.map((p) => p.label));
  void vscode.commands.executeCommand('setContext', FILTERED_CONTEXT, store.filter !== undefined);
  provider.refresh();
}

export function registerExitViews(context: vscode.ExtensionContext, tracker: SessionTracker): void {
  const exits = new ExitsProvider(tracker);
  const holes = new HolesProvider(tracker);
  const exitsView = vscode.window.createTreeView(EXITS_VIEW, { treeDataProvider: exits });
  const holesView = vscode.window.createTreeView(HOLES_VIEW, { treeDataProvider: holes });
  let pending: ReturnType<typeof setTimeout> | undefined;
  const refresh = (): void => {
    pending = undefined;
    const t = tracker.current;
    exitsView.message = exitsMessage(t);
    holesView.message = holesMessage(t);
    void vscode.commands.executeCommand('setContext', FILTERED_CONTEXT, t?.store.filter !== undefined);
    exits.refresh();
    holes.refresh();
  };
  context.subscriptions.push(
    exitsView,
    holesView,
    tracker.onDidChange(() => { pending ??= setTimeout(refresh, REFRESH_MS); }),
    { dispose: () => { if (pending !== undefined) clearTimeout(pending); } },
    vscode.commands.registerCommand('vtscope.exits.filter', () => pickReasons(tracker, exits)),
    vscode.commands.registerCommand('vtscope.exits.clearFilter', () => {
      const store = tracker.current?.store;
      if (store !== undefined) store.filter = undefined;
      refresh();
    }),
  );
  refresh();
}
