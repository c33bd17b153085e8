/**
 * "Break on VM Exit Reason...": a quick pick of the VM exit reasons (SDM numbers and names)
 * and the VMM events of the software modes, whose choice becomes exception breakpoint
 * filters of the adapter (`vmexit-<number>`, `vmm-*`, `hole`).
 *
 * VS Code has no API to tick an exception filter in its Breakpoints view, and it sends the
 * view's filters in every `setExceptionBreakpoints` it makes. So the extension keeps the
 * chosen filters itself, watches the requests VS Code sends to each vtscope adapter (a debug
 * adapter tracker), and after each one sends the union of the view's filters and the chosen
 * ones; the command sends that union at once to the running sessions. The choice lasts for
 * the editor session and applies to every vtscope session started meanwhile.
 */
import type { DebugProtocol } from '@vscode/debugprotocol';
import * as vscode from 'vscode';
import { EXIT_REASON } from '../cpu/vmx/exitReasons';
import { DEBUG_TYPE } from './launchDefaults';

export const SET_EXCEPTION_BREAKPOINTS = 'setExceptionBreakpoints';

export interface FilterChoice {
  id: string;
  label: string;
  description: string;
}

/** One filter per basic exit reason, by number (x86-virt-facts.md, section 1). */
export const VM_EXIT_FILTERS: readonly FilterChoice[] = Object.entries(EXIT_REASON)
  .sort((a, b) => a[1] - b[1])
  .map(([name, n]) => ({ id: `vmexit-${n}`, label: `${n} ${name}`, description: 'hw' }));

export const VMM_EVENT_FILTERS: readonly FilterChoice[] = [
  { id: 'vmm-privileged', label: 'privileged instruction trap', description: 'trap, bt' },
  { id: 'vmm-shadow-pf', label: 'shadow page fault or page-table write', description: 'trap, bt, pv, hw with shadow paging' },
  { id: 'vmm-translate', label: 'block translation', description: 'bt' },
  { id: 'vmm-hypercall', label: 'hypercall', description: 'pv' },
  { id: 'hole', label: 'virtualization hole', description: 'trap' },
];

/** The arguments to send: the filters VS Code's view asked for, and the chosen ones. */
export function mergedArguments(view: DebugProtocol.SetExceptionBreakpointsArguments | undefined, chosen: ReadonlySet<string>): DebugProtocol.SetExceptionBreakpointsArguments {
  const filters = [...(view?.filters ?? [])];
  for (const id of chosen) if (!filters.includes(id)) filters.push(id);
  return { ...view, filters };
}

type PickItem = vscode.QuickPickItem & { id?: string };

export function pickItems(chosen: ReadonlySet<string>): PickItem[] {
  const item = (f: FilterChoice): PickItem => ({ id: f.id, label: f.label, description: f.description, picked: chosen.has(f.id) });
  return [
    { label: 'VM exits (hw mode)', kind: vscode.QuickPickItemKind.Separator },
    ...VM_EXIT_FILTERS.map(item),
    { label: 'VMM events (software modes)', kind: vscode.QuickPickItemKind.Separator },
    ...VMM_EVENT_FILTERS.map(item),
  ];
}

export class ExitBreakpoints {
  readonly chosen = new Set<string>();
  /** The last arguments VS Code itself sent, by session id. */
  private readonly view = new Map<string, DebugProtocol.SetExceptionBreakpointsArguments>();
  /** Requests this extension sent and the tracker has not seen yet, as JSON, by session id. */
  private readonly own = new Map<string, string[]>();
  private readonly sessions = new Map<string, vscode.DebugSession>();

  constructor(private readonly log: vscode.LogOutputChannel) {}

  /** Sends the merged filters to `session`; rejects with the adapter's message. */
  async apply(session: vscode.DebugSession): Promise<void> {
    const args = mergedArguments(this.view.get(session.id), this.chosen);
    this.own.set(session.id, [...(this.own.get(session.id) ?? []), JSON.stringify(args)]);
    await session.customRequest(SET_EXCEPTION_BREAKPOINTS, args);
  }

  /** A request on its way to the adapter of `session`. */
  observe(session: vscode.DebugSession, message: DebugProtocol.ProtocolMessage): void {
    const m = message as DebugProtocol.Request;
    if (m.type !== 'request' || m.command !== SET_EXCEPTION_BREAKPOINTS) return;
    const json = JSON.stringify(m.arguments);
    const own = this.own.get(session.id) ?? [];
    const k = own.indexOf(json);
    if (k >= 0) {
      own.splice(k, 1);
      return;
    }
    const view = (m.arguments ?? { filters: [] }) as DebugProtocol.SetExceptionBreakpointsArguments;
    this.view.set(session.id, view);
    this.sessions.set(session.id, session);
    // Nothing to add (which also ends the exchange if a request of ours came back changed).
    if ([...this.chosen].every((id) => view.filters?.includes(id))) return;
    // After VS Code's request, so that the adapter ends with the union.
    setTimeout(() => this.apply(session).catch((e: unknown) => this.log.error(`could not set the VM exit breakpoints: ${e instanceof Error ? e.message : String(e)}`)), 0);
  }

  ended(session: vscode.DebugSession): void {
    this.view.delete(session.id);
    this.own.delete(session.id);
    this.sessions.delete(session.id);
  }

  running(): vscode.DebugSession[] {
    return [...this.sessions.values()];
  }
}

async function pickFilters(state: ExitBreakpoints): Promise<void> {
  const picked = await vscode.window.showQuickPick(pickItems(state.chosen), {
    canPickMany: true,
    title: 'Stop the guest when the VMM handles these events',
    placeHolder: 'VM exit reasons stop a guest under hw; the VMM events, one under a software mode',
  });
  if (picked === undefined) return;
  state.chosen.clear();
  for (const p of picked) if (p.id !== undefined) state.chosen.add(p.id);
  const sessions = state.running();
  const names = picked.map((p) => p.label).join(', ');
  if (sessions.length === 0) {
    void vscode.window.showInformationMessage(state.chosen.size === 0
      ? 'vtscope: no VM exit breakpoints.'
      : `vtscope: the next vtscope debug session stops on ${names}.`);
    return;
  }
  for (const s of sessions) {
    try {
      await state.apply(s);
    } catch (e) {
      void vscode.window.showErrorMessage(`vtscope: the debug adapter refused the VM exit breakpoints: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
  }
  void vscode.window.showInformationMessage(state.chosen.size === 0 ? 'vtscope: no VM exit breakpoints.' : `vtscope: stopping on ${names}.`);
}

export function registerExitBreakpoints(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): void {
  const state = new ExitBreakpoints(log);
  context.subscriptions.push(
    vscode.debug.registerDebugAdapterTrackerFactory(DEBUG_TYPE, {
      createDebugAdapterTracker: (session) => ({ onWillReceiveMessage: (m: DebugProtocol.ProtocolMessage) => state.observe(session, m) }),
    }),
    vscode.debug.onDidTerminateDebugSession((s) => state.ended(s)),
    vscode.commands.registerCommand('vtscope.breakOnExitReason', () => pickFilters(state)),
  );
}
