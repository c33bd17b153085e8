/**
 * The vtscope extension: the `vtscope` debugger, the NASM language client, the palette
 * commands (mode comparison, VMCS, VM exit breakpoints, the samples among them), the VM Exits
 * and Virtualization Holes views, the code lenses with live counts and the status bar item.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { registerCommands } from './commands';
import { registerCompareModes } from './compareModes';
import { registerDebugger } from './debugger';
import { registerExitBreakpoints } from './exitBreakpoints';
import { registerExitViews } from './exitViews';
import { startLanguageClient } from './languageClient';
import { registerOpenSample } from './openSample';
import { SessionTracker } from './sessions';
import { registerSiteLenses } from './siteLenses';
import { registerStatusBar } from './statusBar';
import { registerVmcsDocument } from './vmcsDocument';

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel('vtscope', { log: true });
  const tracker = new SessionTracker(log);
  context.subscriptions.push(log, tracker);
  registerDebugger(context);
  registerCommands(context);
  registerCompareModes(context);
  registerOpenSample(context);
  registerExitViews(context, tracker);
  registerSiteLenses(context, tracker);
  registerVmcsDocument(context, tracker);
  registerExitBreakpoints(context, log);
  registerStatusBar(context, tracker);
  client = await startLanguageClient(context, log);
}

export async function deactivate(): Promise<void> {
  // A server that never started cannot be stopped cleanly; there is nothing left to do then.
  await client?.stop().catch(() => undefined);
}
