/** The status bar item while a vtscope guest is being debugged: its mode and the live exit count. */
import * as vscode from 'vscode';
import { formatCount } from './exitStore';
import type { SessionTracker } from './sessions';

export const OPEN_EXIT_LOG = 'vtscope.openExitLog';

export function statusBarText(mode: string, exits: number | undefined): string {
  return `$(vm-running) vtscope: ${mode}${exits === undefined ? '' : ` · ${formatCount(exits)} exits`}`;
}

export function registerStatusBar(context: vscode.ExtensionContext, tracker: SessionTracker): void {
  const item = vscode.window.createStatusBarItem('vtscope.session', vscode.StatusBarAlignment.Left, 10);
  item.name = 'vtscope session';
  item.command = OPEN_EXIT_LOG;
  const update = (): void => {
    const t = tracker.current;
    if (t === undefined || !t.running) {
      item.hide();
      return;
    }
    item.text = statusBarText(t.mode, t.reportsExits ? t.store.total : undefined);
    item.tooltip = t.reportsExits
      ? `Guest running under ${t.mode}: ${formatCount(t.store.total)} VM exits so far. Click for the exit log.`
      : `Guest running under ${t.mode}. Click for the exit log.`;
    item.show();
  };
  context.subscriptions.push(item, tracker.onDidChange(update));
  update();
}
