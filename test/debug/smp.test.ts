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
import { buildSamples } from '../../scripts/samples.mjs';
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

  it('debugs samples/smp under hw with a vCPU per thread: a breakpoint on each, and each thread\'s own VMCS', async () => {
    const image = buildSamples({ outDir: dir, names: ['smp'] })[0].image;
    const dap = adapter();
    await dap.request('initialize', { adapterID: 'vtscope' });
    expect((await dap.request('launch', { program: image, cpus: 2, mode: 'hw', memVirt: 'ept', serial: 'none' })).success).toBe(true);
    await dap.request('setFunctionBreakpoints', { breakpoints: [{ name: 'cpu_main' }] });
    await dap.request('configurationDone');
    const vmcsOf = async (threadId: number): Promise<Map<string, string>> => {
      const frames = (await dap.request('stackTrace', { threadId })).body!.stackFrames as { id: number; name: string }[];
      const scopes = (await dap.request('scopes', { frameId: frames[0].id })).body!.scopes as { name: string; variablesReference: number }[];
      const values = new Map<string, string>();
      const walk = async (ref: number): Promise<void> => {
        for (const v of (await dap.request('variables', { variablesReference: ref })).body!.variables as { name: string; value: string; variablesReference: number }[]) {
          values.set(v.name, v.value);
          if (v.variablesReference !== 0) await walk(v.variablesReference);
        }
      };
      await walk(scopes.find((s) => s.name === 'VMCS')!.variablesReference);
      return values;
    };
    // The application processor reaches cpu_main first: the bootstrap processor waits for it.
    const first = await dap.event('stopped');
    expect(first.body).toMatchObject({ reason: 'function breakpoint', threadId: 2 });
    const ap = await vmcsOf(2);
    // ap_main reads its APIC ID (0xFEE00020) just before cpu_main: its last exit, an EPT violation (48).
    expect(ap.get('EXIT_REASON')).toMatch(/^0x00000030/);
    expect(ap.get('GUEST_PHYSICAL_ADDR')).toBe('0x00000000fee00020');
    await dap.request('continue', { threadId: 2 });
    const second = await dap.event('stopped');
    expect(second.body).toMatchObject({ reason: 'function breakpoint', threadId: 1 });
    const bsp = await vmcsOf(1);
    // The bootstrap processor's own VMCS: elsewhere in memory, its last exit an I/O exit (30) for COM1's LSR.
    expect(bsp.get('current VMCS')).not.toBe(ap.get('current VMCS'));
    expect(bsp.get('EXIT_REASON')).toMatch(/^0x0000001e/);
    await dap.request('continue', { threadId: 1 });
    await dap.event('terminated');
  });
});
