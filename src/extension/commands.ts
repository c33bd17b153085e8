/** The palette commands that run the active guest in a mode and open the exit log. */
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { EXITS_VIEW } from './exitViews';
import { DEBUG_TYPE, isGuestSource } from './launchDefaults';
import { OPEN_EXIT_LOG } from './statusBar';

/** The modes, in the order of DESIGN.md, with the command that runs the active guest in each. */
export const RUN_COMMANDS = [
  { mode: 'native', command: 'vtscope.run.native' },
  { mode: 'trap', command: 'vtscope.run.trap' },
  { mode: 'bt', command: 'vtscope.run.bt' },
  { mode: 'pv', command: 'vtscope.run.pv' },
  { mode: 'hw', command: 'vtscope.run.hw' },
] as const;

/** Runs the guest source in the active editor without debugging (no breakpoints are sent). */
async function runActiveGuest(mode: string): Promise<void> {
  const doc = vscode.window.activeTextEditor?.document;
  const file = doc?.uri.scheme === 'file' ? doc.uri.fsPath : undefined;
  if (doc === undefined || !isGuestSource(file)) {
    void vscode.window.showErrorMessage('vtscope: open a guest .asm source in the editor to run it.');
    return;
  }
  const config = { type: DEBUG_TYPE, request: 'launch', name: `vtscope: ${basename(file)} (${mode})`, program: file, mode };
  await vscode.debug.startDebugging(vscode.workspace.getWorkspaceFolder(doc.uri), config, { noDebug: true });
}

export function registerCommands(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    ...RUN_COMMANDS.map(({ mode, command }) => vscode.commands.registerCommand(command, () => runActiveGuest(mode))),
    vscode.commands.registerCommand(OPEN_EXIT_LOG, () => vscode.commands.executeCommand(`${EXITS_VIEW}.focus`)),
  );
}
