/**
 * "Compare Modes on Active Guest": runs the bundled `vtscope compare --json` on the guest
 * source in the editor, in its own process (it runs the guest once per mode), with a
 * cancellable progress notification, and shows the report in the "Mode Comparison" webview.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import * as vscode from 'vscode';
import { type AsmSettings, asmSettings } from './asmSettings';
import { comparisonModel, CompareReportError, parseCompareReport } from './compareReport';
import { comparisonHtml } from './comparisonPage';
import { isGuestSource } from './launchDefaults';
import { guestSettings } from './settings';

export const COMPARISON_VIEW = 'vtscope.comparison';

/** The command line of `vtscope compare` for `file` with the user's cost model, memory size and assembler options. */
export function compareArgs(cli: string, file: string, json: string, settings: { costModel: string; memoryMiB: number }, asm: AsmSettings): string[] {
  return [
    cli, 'compare', file, '--json', json, '--cost-model', settings.costModel, '--mem', String(settings.memoryMiB),
    ...asm.includePaths.flatMap((dir) => ['-I', dir]),
    ...Object.entries(asm.defines).map(([name, value]) => `-D${name}=${value}`),
  ];
}

interface Run { stderr: string; failed: boolean }

/** Runs the CLI; undefined when the user cancelled. */
function runCli(args: string[], cancel: vscode.CancellationToken): Promise<Run | undefined> {
  return new Promise((done) => {
    // The extension host's own Node; in desktop VS Code that binary is Electron, which runs as plain Node with ELECTRON_RUN_AS_NODE.
    const child = execFile(process.execPath, args, { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, maxBuffer: 16 << 20 },
      (error, _stdout, stderr) => done(cancel.isCancellationRequested ? undefined : { stderr, failed: error !== null }));
    cancel.onCancellationRequested(() => child.kill());
  });
}

export function registerCompareModes(context: vscode.ExtensionContext): void {
  const cli = context.asAbsolutePath('dist/cli.js');
  let panel: vscode.WebviewPanel | undefined;
  const show = (title: string, html: string): void => {
    if (panel === undefined) {
      panel = vscode.window.createWebviewPanel(COMPARISON_VIEW, title, vscode.ViewColumn.Active, { enableScripts: false, localResourceRoots: [] });
      panel.onDidDispose(() => { panel = undefined; });
    } else {
      panel.title = title;
      panel.reveal();
    }
    panel.webview.html = html;
  };
  context.subscriptions.push(
    { dispose: () => panel?.dispose() },
    vscode.commands.registerCommand('vtscope.compareModes', async () => {
      const doc = vscode.window.activeTextEditor?.document;
      const file = doc?.uri.scheme === 'file' ? doc.uri.fsPath : undefined;
      if (doc === undefined || !isGuestSource(file)) {
        void vscode.window.showErrorMessage('vtscope: open a guest .asm source in the editor to compare the modes on it.');
        return;
      }
      if (doc.isDirty) await doc.save();
      const dir = mkdtempSync(join(tmpdir(), 'vtscope-compare-'));
      try {
        const json = join(dir, 'compare.json');
        const args = compareArgs(cli, file, json, guestSettings(doc.uri), asmSettings(doc.uri));
        const run = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: `vtscope: comparing the modes on ${vscode.workspace.asRelativePath(doc.uri)}`, cancellable: true },
          (_progress, cancel) => runCli(args, cancel),
        );
        if (run === undefined) return;
        if (run.failed) {
          const first = run.stderr.split('\n').find((l) => l.trim() !== '') ?? 'no message';
          void vscode.window.showErrorMessage(`vtscope compare failed: ${first}`);
          return;
        }
        // The guest named as the Explorer names it, not by the absolute path the CLI was given.
        const report = { ...parseCompareReport(readFileSync(json, 'utf8'), json), image: vscode.workspace.asRelativePath(doc.uri) };
        const model = comparisonModel(report);
        show(`Mode Comparison: ${basename(file)}`, comparisonHtml(model, randomBytes(16).toString('base64')));
      } catch (e) {
        if (!(e instanceof CompareReportError) && !(e instanceof Error && 'code' in e)) throw e;
        void vscode.window.showErrorMessage(`vtscope compare gave no usable report: ${e.message}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }),
  );
}
