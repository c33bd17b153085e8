/**
 * Entry point of the bundled language server (dist/lsp.js): `node dist/lsp.js --stdio`, or
 * `--node-ipc` / `--socket=N` as vscode-languageclient starts it.
 */
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { startServer } from './server';

const connection = createConnection(ProposedFeatures.all);
startServer(connection);
connection.listen();
