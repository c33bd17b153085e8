/**
 * `vtscope dap`: the debug adapter on stdin/stdout (how an editor starts it), or with
 * `--port N` a server on 127.0.0.1 only that runs one debug session per connection
 * (`--port 0` picks a free port; the port is printed on stderr either way).
 */
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { VtscopeDebugSession } from '../debug/session';
import { writeAll } from './stdoutSink';
import { UsageError } from './usage';

function parseDapArgs(args: string[]): { port?: number } {
  let values: { port?: string };
  try {
    ({ values } = parseArgs({ args, strict: true, allowPositionals: false, options: { port: { type: 'string' } } }));
  } catch (e) {
    throw new UsageError(`dap: ${(e as Error).message.split('. ')[0]}`);
  }
  if (values.port === undefined) return {};
  const port = /^\d+$/.test(values.port) ? Number(values.port) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new UsageError(`dap: --port needs a TCP port number from 0 to 65535, not '${values.port}'`);
  return { port };
}

/**
 * Starts the adapter (returns 0 at once). On stdio the process ends with its session; a `--port`
 * server keeps listening for further sessions until it is stopped.
 */
export function dapCommand(args: string[]): number {
  const { port } = parseDapArgs(args);
  if (port === undefined) {
    const session = new VtscopeDebugSession();
    process.on('SIGTERM', () => session.shutdown());
    session.start(process.stdin, process.stdout);
    return 0;
  }
  const server = createServer((socket) => {
    const session = new VtscopeDebugSession();
    session.setRunAsServer(true);
    session.start(socket, socket);
  });
  server.on('error', (e) => {
    writeAll(2, Buffer.from(`vtscope: dap: cannot listen on 127.0.0.1:${port}: ${e.message}\n`));
    process.exitCode = 1;
  });
  server.listen(port, '127.0.0.1', () => {
    const address = server.address();
    const actual = typeof address === 'object' && address !== null ? address.port : port;
    writeAll(2, Buffer.from(`vtscope dap: listening on 127.0.0.1:${actual}\n`));
  });
  return 0;
}
