/**
 * Entry point of the bundled language server (dist/lsp.js): `node dist/lsp.js --stdio`, or
 * `--node-ipc` / `--socket=N` as vscode-languageclient starts it. The same script, started as
 * a worker thread, is the server's assembler (assemblerWorker.ts).
 */
import { isMainThread, workerData } from 'node:worker_threads';
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { ASSEMBLER_WORKER, serveAssemblyRequests, WorkerAssembler } from './assemblerWorker';
import { startServer } from './server';

/** An assembly that takes longer than this is stopped and reported. */
const ASSEMBLY_TIMEOUT_MS = 10_000;

if (!isMainThread && workerData === ASSEMBLER_WORKER) {
  serveAssemblyRequests();
} else {
  const connection = createConnection(ProposedFeatures.all);
  startServer(connection, { assembler: new WorkerAssembler(__filename, ASSEMBLY_TIMEOUT_MS) });
  connection.listen();
}
