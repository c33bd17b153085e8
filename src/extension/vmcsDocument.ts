/**
 * "Show VMCS": asks the active vtscope session for its VMCS (`vtscope.vmcs`, answered under
 * hw only) and shows the fields grouped as the adapter groups them (guest state, host state,
 * controls, exit information) in a read-only document that the command refreshes.
 */
import * as vscode from 'vscode';
import { parseVmcsResponse, VMCS_REQUEST, type VmcsFieldBody } from '../debug/protocol';
import type { SessionTracker } from './sessions';

export const VMCS_SCHEME = 'vtscope-vmcs';

/** The fields as text: one block per group in the order the adapter sent them, columns aligned. */
export function formatVmcs(heading: string, fields: readonly VmcsFieldBody[]): string {
  const groups = new Map<string, VmcsFieldBody[]>();
  for (const f of fields) groups.set(f.group, [...(groups.get(f.group) ?? []), f]);
  const nameWidth = Math.max(0, ...fields.map((f) => f.name.length));
  const valueWidth = Math.max(0, ...fields.map((f) => f.value.length));
  const lines = [heading, ''];
  if (fields.length === 0) lines.push('The adapter sent no fields.');
  for (const [group, list] of groups) {
    lines.push(group);
    for (const f of list) {
      const encoding = f.encoding.toString(16).toUpperCase().padStart(4, '0');
      lines.push(`  ${f.name.padEnd(nameWidth)}  ${encoding}  ${f.value.padEnd(valueWidth)}${f.decoded === undefined ? '' : `  ${f.decoded}`}`.trimEnd());
    }
    lines.push('');
  }
  return lines.join('\n');
}

class VmcsContent implements vscode.TextDocumentContentProvider {
  private readonly texts = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  set(uri: vscode.Uri, text: string): void {
    this.texts.set(uri.toString(), text);
    this.changed.fire(uri);
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? 'This VMCS snapshot is gone: run "vtscope: Show VMCS" again.';
  }
}

async function showVmcs(tracker: SessionTracker, content: VmcsContent): Promise<void> {
  const t = tracker.current;
  if (t === undefined || !t.running) {
    void vscode.window.showInformationMessage('vtscope: Show VMCS needs a vtscope debug session running a guest in hw mode.');
    return;
  }
  if (t.mode !== 'hw') {
    void vscode.window.showInformationMessage(`vtscope: this session runs the guest in ${t.mode} mode, which has no VMCS: only hw mode runs it in VMX non-root operation.`);
    return;
  }
  let fields: VmcsFieldBody[];
  try {
    fields = parseVmcsResponse(await t.session.customRequest(VMCS_REQUEST)).fields;
  } catch (e) {
    void vscode.window.showErrorMessage(`vtscope: could not read the VMCS: ${e instanceof Error ? e.message : String(e)}`);
    return;
  }
  const uri = vscode.Uri.from({ scheme: VMCS_SCHEME, path: `/${t.session.id}/VMCS` });
  content.set(uri, formatVmcs(`VMCS of "${t.session.name}" (read when the command ran)`, fields));
  const doc = await vscode.workspace.openTextDocument(uri);
  await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
}

export function registerVmcsDocument(context: vscode.ExtensionContext, tracker: SessionTracker): void {
  const content = new VmcsContent();
  context.subscriptions.push(
    vscode.workspace.registerTextDocumentContentProvider(VMCS_SCHEME, content),
    vscode.commands.registerCommand('vtscope.showVmcs', () => showVmcs(tracker, content)),
  );
}
