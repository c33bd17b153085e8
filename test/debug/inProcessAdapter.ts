/**
 * The debug adapter of this source tree served on a loopback port in the test's process, for
 * @vscode/debugadapter-testsupport's DebugClient: the real protocol, without a built CLI.
 */
import { createServer, type Server } from 'node:net';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import { VtscopeDebugSession } from '../../src/debug/session';

export async function inProcessClient(): Promise<{ dc: DebugClient; close(): Promise<void> }> {
  const server: Server = createServer((socket) => {
    const session = new VtscopeDebugSession();
    session.setRunAsServer(true);
    session.start(socket, socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const dc = new DebugClient('node', '', 'vtscope');
  await dc.start(port);
  return {
    dc,
    async close() {
      await dc.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
