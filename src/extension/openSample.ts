/**
 * "Open Sample...": a quick pick of the sample kernels shipped with the extension, which opens
 * the chosen source where it is installed, in the extension's own folder. Nothing is copied
 * into the user's workspace: F5 debugs the sample in place (the adapter only reads it, and a
 * micro benchmark finds its micro.inc beside it). The editor is made read-only for the
 * session, because the extension's folder is replaced on every update and an edit there
 * would be lost.
 */
import * as vscode from 'vscode';
import { listSamples, type Sample, SampleError, type SampleGroup } from './samples';

export const OPEN_SAMPLE = 'vtscope.openSample';
/** VS Code's own command (1.79+) that makes the active editor read-only until it is closed. */
export const READONLY_IN_SESSION = 'workbench.action.files.setActiveEditorReadonlyInSession';

const GROUP_TITLES: Record<SampleGroup, string> = {
  kernels: 'kernels',
  micro: 'microbenchmarks',
  c: 'C',
};

type SampleItem = vscode.QuickPickItem & { sample?: Sample };

/** The samples under a separator per group, each with its description on a line of its own. */
export function sampleItems(samples: Sample[]): SampleItem[] {
  const items: SampleItem[] = [];
  let group: SampleGroup | undefined;
  for (const s of samples) {
    if (s.group !== group) {
      group = s.group;
      items.push({ label: GROUP_TITLES[group], kind: vscode.QuickPickItemKind.Separator });
    }
    items.push({ label: s.name, detail: s.description, sample: s });
  }
  return items;
}

async function openSample(root: string): Promise<void> {
  let samples: Sample[];
  try {
    samples = listSamples(root);
  } catch (e) {
    if (!(e instanceof SampleError)) throw e;
    void vscode.window.showErrorMessage(e.message);
    return;
  }
  const picked = await vscode.window.showQuickPick(sampleItems(samples), {
    title: 'Open a vtscope sample kernel',
    placeHolder: 'Opens read-only from the extension; F5 runs it under the debugger',
    matchOnDetail: true,
  });
  if (picked?.sample === undefined) return;
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(picked.sample.file));
  await vscode.window.showTextDocument(doc, { preview: false });
  await vscode.commands.executeCommand(READONLY_IN_SESSION);
}

export function registerOpenSample(context: vscode.ExtensionContext): void {
  const root = context.asAbsolutePath('samples');
  context.subscriptions.push(vscode.commands.registerCommand(OPEN_SAMPLE, () => openSample(root)));
}
