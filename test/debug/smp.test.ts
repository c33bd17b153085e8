/**
 * Several processors in the debug adapter: the launch attribute `cpus` and one thread per
 * processor. The adapter runs in process, spoken to in DAP frames over a pair of streams.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { parseLaunchConfig } from '../../src/debug/launchConfig';
import { VtscopeDebugSession } from '../../src/debug/session';
import { probeImage } from '../machine/probeKernel';

const dir = mkdtempSync(join(tmpdir(), 'vtscope-dap-smp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const program = join(dir, 'exit.bin');
writeFileSync(program, probeImage('main:\n  jmp exit\n'));

interface Message { type: string; command?: string; event?: string; success?: boolean; message?: string; body?: Record<string, unknown> }

/** An adapter in this process, with the messages it sends. */
function adapter() {
  const toAdapter = new PassThrough(), fromAdapter = new PassThrough();
  new VtscopeDebugSession().start(toAdapter, fromAdapter);
  const received: Message[] = [];
  const waiters: (() => void)[] = [];
  let pending = Buffer.alloc(0);
  fromAdapter.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      const end = pending.indexOf('\r\n\r\n');
      if (end < 0) break;
      const length = Number(/Content-Length: (\d+)/.exec(pending.subarray(0, end).toString())![1]);
      if (pending.length < end + 4 + length) break;
      received.push(JSON.parse(pending.subarray(end + 4, end + 4 + length).toString()) as Message);
      pending = pending.subarray(end + 4 + length);
    }
    for (const w of waiters.splice(0)) w();
  });
  let seq = 1;
  const until = (found: (m: Message) => boolean): Promise<Message> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no such message; got ${JSON.stringify(received)}`)), 10_000);
    const look = (): void => {
      const m = received.find(found);
      if (m !== undefined) { clearTimeout(timer); received.splice(received.indexOf(m), 1); resolve(m); } else waiters.push(look);
    };
    look();
  });
  return {
    request(command: string, args: unknown = {}): Promise<Message> {
      const body = Buffer.from(JSON.stringify({ seq: seq++, type: 'request', command, arguments: args }));
      toAdapter.write(Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]));
      return until((m) => m.type === 'response' && m.command === command);
    },
    event: (name: string) => until((m) => m.type === 'event' && m.event === name),
  };
}

describe('the debug adapter with several processors', () => {
  it('shows one thread per processor', async () => {
    const dap = adapter();
    await dap.request('initialize', { adapterID: 'vtscope' });
    expect((await dap.request('launch', { program, cpus: 4, stopOnEntry: true })).success).toBe(true);
    await dap.request('configurationDone');
    await dap.event('stopped');
    const threads = await dap.request('threads');
    // The application processors are parked in HLT, as SeaBIOS leaves them (smp.ts).
    expect(threads.body?.threads).toEqual([
      { id: 1, name: 'vCPU 0 (APIC ID 0)' }, { id: 2, name: 'vCPU 1 (APIC ID 1): halted' },
      { id: 3, name: 'vCPU 2 (APIC ID 2): halted' }, { id: 4, name: 'vCPU 3 (APIC ID 3): halted' },
    ]);
    await dap.request('continue', { threadId: 1 });
    await dap.event('terminated');
  });

  it('checks the cpus attribute', () => {
    expect(parseLaunchConfig({ program, cpus: 2 }).cpus).toBe(2);
    expect(() => parseLaunchConfig({ program, cpus: 9 })).toThrow(/'cpus' must be a whole number of processors from 1 to 8, not 9/);
    expect(parseLaunchConfig({ program, cpus: 2, mode: 'hw' }).cpus).toBe(2);
    expect(() => parseLaunchConfig({ program, cpus: 2, mode: 'pv' })).toThrow(/mode 'pv' runs one virtual CPU/);
  });
});
