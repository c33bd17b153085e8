/**
 * The `vtscope` debugger: configurations completed from the active editor and the settings,
 * and the adapter started as its own process (`dist/cli.js dap` on stdio), so a guest that
 * runs flat out never blocks the extension host.
 */
import * as vscode from 'vscode';
import { DEBUG_TYPE, initialConfiguration, isGuestSource, resolveLaunch, type LaunchAttributes } from './launchDefaults';
import { guestSettings } from './settings';

function activeFile(): string | undefined {
  const doc = vscode.window.activeTextEditor?.document;
  return doc?.uri.scheme === 'file' ? doc.uri.fsPath : undefined;
}

export class GuestConfigurationProvider implements vscode.DebugConfigurationProvider {
  provideDebugConfigurations(folder: vscode.WorkspaceFolder | undefined): vscode.DebugConfiguration[] {
    return [initialConfiguration(activeFile(), folder?.uri.fsPath)];
  }

  resolveDebugConfiguration(folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): vscode.DebugConfiguration | undefined {
    const r = resolveLaunch(config as Partial<LaunchAttributes>, activeFile(), guestSettings(folder?.uri));
    if ('error' in r) {
      void vscode.window.showErrorMessage(r.error);
      return undefined; // cancels the launch
    }
    return r.config as vscode.DebugConfiguration;
  }
}

/** The entry under "vtscope: x86 kernel..." in the Run and Debug drop-down: the active guest source. */
export class ActiveGuestProvider implements vscode.DebugConfigurationProvider {
  provideDebugConfigurations(folder: vscode.WorkspaceFolder | undefined): vscode.DebugConfiguration[] {
    const file = activeFile();
    return isGuestSource(file) ? [initialConfiguration(file, folder?.uri.fsPath)] : [];
  }
}

export class AdapterProcessFactory implements vscode.DebugAdapterDescriptorFactory {
  constructor(private readonly cliPath: string) {}

  createDebugAdapterDescriptor(): vscode.DebugAdapterDescriptor {
    // The extension host's own Node; in desktop VS Code that binary is Electron, which runs
    // as plain Node with ELECTRON_RUN_AS_NODE.
    return new vscode.DebugAdapterExecutable(process.execPath, [this.cliPath, 'dap'], { env: { ELECTRON_RUN_AS_NODE: '1' } });
  }
}

export function registerDebugger(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, new GuestConfigurationProvider(), vscode.DebugConfigurationProviderTriggerKind.Initial),
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, new ActiveGuestProvider(), vscode.DebugConfigurationProviderTriggerKind.Dynamic),
    vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, new AdapterProcessFactory(context.asAbsolutePath('dist/cli.js'))),
  );
}
