/**
 * "Compare Modes on Active Guest": runs the bundled `vtscope compare` on the guest source in
 * the editor, in its own process (it runs the guest once per mode), with a cancellable
 * progress notification, and shows its table in the "vtscope: Mode Comparison" output.
 */
import { execFile } from 'node:child_process';
import * as vscode from 'vscode';
import { isGuestSource } from './launchDefaults';
import { guestSettings } from './settings';

/** The command line of `vtscope compare` for `file` with the user's cost model and memory size. */
export function compareArgs(cli: string, file: string, settings: { costModel: string; memoryMiB: number }): string[] {
  return [cli, 'compare', file, '--cost-model', settings.costModel, '--mem', String(settings.memoryMiB)];
}

export function registerCompareModes(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel('vtscope: Mode Comparison');
  const cli = context.asAbsolutePath('dist/cli.js');
  context.subscriptions.push(output, vscode.commands.registerCommand('vtscope.compareModes', async () => {
    const doc = vscode.window.activeTextEditor?.document;
    const file = doc?.uri.scheme === 'file' ? doc.uri.fsPath : undefined;
    if (doc === undefined || !isGuestSource(file)) {
      void vscode.window.showErrorMessage('vtscope: open a guest .asm source in the editor to compare the modes on it.');
      return;
    }
    if (doc.isDirty) await doc.save();
    const args = compareArgs(cli, file, guestSettings(doc.uri));
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `vtscope: comparing the modes on ${vscode.workspace.asRelativePath(doc.uri)}`, cancellable: true },
      (_progress, cancel) => new Promise<{ stdout: string; stderr: string; failed: boolean } | undefined>((done) => {
        const child = execFile(process.execPath, args, { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, maxBuffer: 16 << 20 },
          (error, stdout, stderr) => done(cancel.isCancellationRequested ? undefined : { stdout, stderr, failed: error !== null }));
        cancel.onCancellationRequested(() => child.kill());
      }),
    );
    if (result === undefined) return;
    output.clear();
    output.append(result.stdout);
    if (result.stderr !== '') output.append(result.stderr);
    output.show(true);
    if (result.failed) {
      const first = result.stderr.split('\n').find((l) => l.trim() !== '') ?? 'no message';
      void vscode.window.showErrorMessage(`vtscope compare failed: ${first}`);
    }
  }));
}
