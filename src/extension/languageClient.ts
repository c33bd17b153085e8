/**
 * The client of the bundled NASM language server (`dist/lsp.js`, run by the extension host's
 * Node over stdio) for documents of the `nasm` language. The assembler settings go to the
 * server in its initialization options and again whenever they change.
 */
import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import type { LanguageClient, ServerOptions } from 'vscode-languageclient/node';
import { type AsmSettings, asmSettingsWithProblems } from './asmSettings';

export const LANGUAGE_ID = 'nasm';

/** The settings as the server reads them, logging what had to be left out. */
function serverSettings(log: vscode.LogOutputChannel): AsmSettings {
  const { includePaths, defines, problems } = asmSettingsWithProblems();
  for (const p of problems) log.warn(`${p}; left out`);
  return { includePaths, defines };
}

/** Starts the client, or logs why not; the returned client is to be stopped on deactivation. */
export async function startLanguageClient(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): Promise<LanguageClient | undefined> {
  const server = context.asAbsolutePath('dist/lsp.js');
  if (!existsSync(server)) {
    log.warn(`language server not started: ${server} is not in this build, so .asm files get no diagnostics, hovers or symbols`);
    return undefined;
  }
  // Loaded only here: the client library is most of the bundle, and useless without a server.
  const { LanguageClient: Client, TransportKind } = await import('vscode-languageclient/node');
  const run = { module: server, transport: TransportKind.stdio };
  const serverOptions: ServerOptions = { run, debug: { ...run, options: { execArgv: ['--nolazy', '--inspect=6009'] } } };
  const client = new Client('vtscope', 'vtscope NASM language server', serverOptions, {
    documentSelector: [{ language: LANGUAGE_ID }],
    outputChannel: log,
    initializationOptions: serverSettings(log),
  });
  try {
    await client.start();
    log.info(`language server started: ${server}`);
  } catch (e) {
    log.error(`language server failed to start: ${e instanceof Error ? e.message : String(e)}`);
    return client;
  }
  context.subscriptions.push(vscode.workspace.onDidChangeConfiguration((e) => {
    if (!e.affectsConfiguration('vtscope.asm')) return;
    // The shape a client that synchronizes the section "vtscope.asm" sends.
    void client.sendNotification('workspace/didChangeConfiguration', { settings: { vtscope: { asm: serverSettings(log) } } })
      .catch((err: unknown) => log.error(`could not send the new assembler settings: ${err instanceof Error ? err.message : String(err)}`));
  }));
  return client;
}
