/**
 * The Debug Adapter Protocol checked without any DAP library: `vtscope dap --port 0` (dist/cli.js,
 * built by `npm run build`) driven over a TCP socket by a client that writes the
 * `Content-Length` frames itself and cuts the replies out of the byte stream itself, so what is
 * checked is the protocol on the wire, not a library's reading of it. The guest is a .asm
 * program written here; its bytes and addresses come from nasm's own output and listing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Workdir, run } from '../loader/toolchain';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
/** Long enough for a slow machine; only a hang reaches it. */
const LIMIT_MS = 20_000;

interface Message { seq: number; type: string; [key: string]: unknown }
interface Request extends Message { type: 'request'; command: string; arguments?: unknown }
interface Response extends Message {
  type: 'response'; request_seq: number; command: string; success: boolean; message?: string; body?: Record<string, unknown>;
}
interface Event extends Message { type: 'event'; event: string; body?: Record<string, unknown> }

/** A message as it goes on the wire: the header counts the bytes of the UTF-8 body, not its characters. */
function frame(message: object): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'ascii'), body]);
}

/** Cuts messages out of a byte stream that arrives in chunks of any size. */
class FrameReader {
  private pending = Buffer.alloc(0);

  push(chunk: Buffer): Message[] {
    this.pending = Buffer.concat([this.pending, chunk]);
    const out: Message[] = [];
    for (;;) {
      const end = this.pending.indexOf('\r\n\r\n');
      if (end < 0) return out;
      const header = this.pending.subarray(0, end).toString('ascii');
      const length = /^Content-Length: *(\d+)\r?$/im.exec(header);
      if (length === null) throw new Error(`a frame header without Content-Length: ${JSON.stringify(header)}`);
      const start = end + 4, stop = start + Number(length[1]);
      if (this.pending.length < stop) return out;
      out.push(JSON.parse(this.pending.subarray(start, stop).toString('utf8')) as Message);
      this.pending = this.pending.subarray(stop);
    }
  }

  get leftover(): number { return this.pending.length; }
}

/** One DAP connection: requests with their own seq numbers, and every message the adapter sent, in order. */
class RawClient {
  readonly sent: Request[] = [];
  readonly received: Message[] = [];
  /** The bytes as they arrived, chunk by chunk. */
  readonly chunks: Buffer[] = [];
  private readonly reader = new FrameReader();
  private nextSeq = 1;
  /** Events not yet waited for, oldest first. */
  private readonly events: Event[] = [];
  private readonly waiters: (() => void)[] = [];
  closedByAdapter = false;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      for (const m of this.reader.push(chunk)) {
        this.received.push(m);
        if (m.type === 'event') this.events.push(m as Event);
      }
      this.wake();
    });
    socket.on('end', () => { this.closedByAdapter = true; this.wake(); });
  }

  static async open(port: number): Promise<RawClient> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
    return new RawClient(socket);
  }

  private wake(): void { for (const w of this.waiters.splice(0)) w(); }

  /** Resolves once `found` gives a value, looking again after each chunk; fails after LIMIT_MS. */
  private until<T>(what: string, found: () => T | undefined): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} from the adapter in ${LIMIT_MS} ms`)), LIMIT_MS);
      const look = (): void => {
        const value = found();
        if (value !== undefined) { clearTimeout(timer); resolve(value); } else this.waiters.push(look);
      };
      look();
    });
  }

  /** A request with the next seq number; its bytes are written now or given to `write`. */
  prepare(command: string, args?: unknown): { request: Request; bytes: Buffer } {
    const request: Request = { seq: this.nextSeq++, type: 'request', command, ...(args === undefined ? {} : { arguments: args }) };
    this.sent.push(request);
    return { request, bytes: frame(request) };
  }

  responseTo(request: Request): Promise<Response> {
    return this.until(`response to ${request.command} (seq ${request.seq})`, () => this.received.find(
      (m): m is Response => m.type === 'response' && (m as Response).request_seq === request.seq));
  }

  request(command: string, args?: unknown): Promise<Response> {
    const { request, bytes } = this.prepare(command, args);
    this.socket.write(bytes);
    return this.responseTo(request);
  }

  /** The oldest event named `name` not waited for before. */
  event(name: string): Promise<Event> {
    return this.until(`${name} event`, () => {
      const k = this.events.findIndex((e) => e.event === name);
      return k < 0 ? undefined : this.events.splice(k, 1)[0];
    });
  }

  closed(): Promise<true> { return this.until('end of the connection', () => this.closedByAdapter || undefined); }
}

/** Adapters and connections of the current test, ended after it. */
const running: ChildProcess[] = [];
const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const p of running.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill();
});

/** `vtscope dap --port 0`, and the port it printed on stderr. */
async function startServer(): Promise<{ adapter: ChildProcess; port: number }> {
  const adapter = spawn(process.execPath, [CLI, 'dap', '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  running.push(adapter);
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    adapter.stderr!.on('data', (b: Buffer) => {
      text += b.toString();
      const m = /^vtscope dap: listening on 127\.0\.0\.1:(\d+)$/m.exec(text);
      if (m !== null) resolve(Number(m[1]));
    });
    adapter.on('exit', (code) => reject(new Error(`the adapter exited (${code}) before listening: ${text}`)));
  });
  return { adapter, port };
}

function exitOf(adapter: ChildProcess): Promise<number | null> {
  if (adapter.exitCode !== null) return Promise.resolve(adapter.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the adapter was still running ${LIMIT_MS} ms after disconnect`)), LIMIT_MS);
    adapter.once('exit', (code) => { clearTimeout(timer); resolve(code); });
  });
}

const work = new Workdir();
afterAll(() => work.remove());
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build (npm test does)`);
});

// EAX by hand: 0x1234 + 0x1234 = 0x2468; 0x2468 * 3 = 0x6D38 when the breakpoint line is reached.
const SOURCE = `bits 32
org 0x100000
MB_FLAGS equ 1 << 16
header:
    dd 0x1BADB002, MB_FLAGS, -(0x1BADB002 + MB_FLAGS)
    dd header, header, image_end, image_end, start
start: mov eax, 0x1234
    add eax, eax
    mov ebx, 3
    imul eax, ebx
    mov ecx, eax                ; @bp
    mov al, 0
    out 0xf4, al
msg: db "raw DAP", 0, 0xde, 0xad, 0xbe, 0xef
image_end:
`;
const EAX_AT_BP = 0x6d38;
const BP_LINE = SOURCE.split('\n').findIndex((l) => l.includes('@bp')) + 1;
// A name outside ASCII: its UTF-8 bytes outnumber its characters, so a frame length counted in characters shows.
const program = work.write('rawdap-ü.asm', SOURCE);

/** What nasm makes of the program: the flat image, and where `start` is by its listing. */
function nasmImage(): { bytes: Uint8Array; start: number } {
  const out = work.file('rawdap.bin'), list = work.file('rawdap.lst');
  run('nasm', ['-f', 'bin', '-l', list, program, '-o', out]);
  // "     7 00000020 B834120000              start: mov eax, 0x1234": the offset from the image's start.
  const m = /^\s*\d+ ([0-9A-F]{8}) [0-9A-F]+\s+start:/m.exec(readFileSync(list, 'utf8'));
  if (m === null) throw new Error(`no start label in ${list}`);
  return { bytes: new Uint8Array(readFileSync(out)), start: parseInt(m[1], 16) };
}

/** Connects a client to a fresh adapter. */
async function session(): Promise<{ adapter: ChildProcess; dap: RawClient }> {
  const { adapter, port } = await startServer();
  const dap = await RawClient.open(port);
  sockets.push(dap.socket);
  return { adapter, dap };
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('vtscope dap --port, spoken to in raw DAP', () => {
  it('launches, stops on entry and at a breakpoint, shows the state, and answers bad requests with errors', async () => {
    const { dap } = await session();

    const init = await dap.request('initialize', {
      clientID: 'raw-test', adapterID: 'vtscope', pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true,
    });
    expect(init.success).toBe(true);
    // The capabilities this test relies on.
    expect(init.body).toMatchObject({ supportsConfigurationDoneRequest: true, supportsReadMemoryRequest: true });

    const unknown = await dap.request('frobnicate', { x: 1 });
    expect(unknown).toMatchObject({ success: false, command: 'frobnicate' });
    expect(unknown.message).toMatch(/\S/);

    const launch = await dap.request('launch', { program, stopOnEntry: true });
    expect(launch.success, launch.message).toBe(true);
    await dap.event('initialized');

    // The adapter has to put a request together from pieces: header alone, then the body in two parts.
    const bp = dap.prepare('setBreakpoints', { source: { path: program }, breakpoints: [{ line: BP_LINE }] });
    const cut = bp.bytes.indexOf('\r\n\r\n') + 4;
    const middle = cut + Math.floor((bp.bytes.length - cut) / 2);
    dap.socket.write(bp.bytes.subarray(0, cut));
    await pause(20);
    dap.socket.write(bp.bytes.subarray(cut, middle));
    await pause(20);
    dap.socket.write(bp.bytes.subarray(middle));
    const set = await dap.responseTo(bp.request);
    expect(set.success, set.message).toBe(true);
    const [breakpoint] = set.body!.breakpoints as { id: number; verified: boolean; line: number; source: { path: string } }[];
    expect(breakpoint).toMatchObject({ verified: true, line: BP_LINE, source: { path: program } });

    expect((await dap.request('configurationDone')).success).toBe(true);
    const entry = await dap.event('stopped');
    expect(entry.body).toMatchObject({ reason: 'entry', threadId: 1 });

    // Broken requests: an error naming the missing argument, and the adapter goes on.
    const noExpression = await dap.request('evaluate');
    expect(noExpression).toMatchObject({ success: false, message: 'evaluate: missing argument expression' });
    const noReference = await dap.request('readMemory', { count: 4 });
    expect(noReference).toMatchObject({ success: false, message: 'readMemory: missing argument memoryReference' });

    expect((await dap.request('continue', { threadId: 1 })).success).toBe(true);
    const hit = await dap.event('stopped');
    expect(hit.body).toMatchObject({ reason: 'breakpoint', threadId: 1, hitBreakpointIds: [breakpoint.id] });

    // Two requests in one write.
    const threads = dap.prepare('threads');
    const trace = dap.prepare('stackTrace', { threadId: 1 });
    dap.socket.write(Buffer.concat([threads.bytes, trace.bytes]));
    expect((await dap.responseTo(threads.request)).body).toEqual({ threads: [{ id: 1, name: expect.any(String) }] });
    const frames = (await dap.responseTo(trace.request)).body!.stackFrames as { id: number; line: number; source?: { path: string } }[];
    expect(frames[0]).toMatchObject({ line: BP_LINE, source: { path: program } });

    const scopes = (await dap.request('scopes', { frameId: frames[0].id })).body!.scopes as { name: string; variablesReference: number }[];
    const registers = scopes.find((s) => s.name === 'Registers');
    expect(registers).toBeDefined();
    const vars = (await dap.request('variables', { variablesReference: registers!.variablesReference })).body!.variables as
      { name: string; value: string }[];
    const eax = vars.find((v) => v.name === 'eax')?.value ?? '';
    expect(eax).toMatch(/^0x[0-9a-f]{8}$/i);
    expect(parseInt(eax, 16)).toBe(EAX_AT_BP);

    const sum = await dap.request('evaluate', { expression: 'eax + 1', context: 'repl', frameId: frames[0].id });
    expect(sum.success, sum.message).toBe(true);
    expect(parseInt(/^0x([0-9a-f]+)\b/i.exec(sum.body!.result as string)?.[1] ?? 'NaN', 16)).toBe(EAX_AT_BP + 1);

    // The code and data from `start` to the end of the image (`image_end`), as nasm assembles them and where it puts them.
    const nasm = nasmImage();
    const start = 0x100000 + nasm.start;
    const where = await dap.request('evaluate', { expression: 'start', context: 'watch' });
    expect(where.body!.memoryReference).toBe(`0x${start.toString(16).padStart(8, '0')}`);
    const count = nasm.bytes.length - nasm.start;
    expect(count).toBeGreaterThan(20);
    const memory = await dap.request('readMemory', { memoryReference: where.body!.memoryReference, count });
    expect(memory.success, memory.message).toBe(true);
    expect(parseInt(memory.body!.address as string, 16)).toBe(start);
    expect([...Buffer.from(memory.body!.data as string, 'base64')]).toEqual([...nasm.bytes.subarray(nasm.start)]);

    const bye = await dap.request('disconnect', { terminateDebuggee: true });
    expect(bye.success).toBe(true);

    // The adapter numbers what it sends 1, 2, 3, ...; each request has exactly one response,
    // which names it by request_seq and command.
    expect(dap.received.map((m) => m.seq)).toEqual(dap.received.map((_, k) => k + 1));
    const responses = dap.received.filter((m): m is Response => m.type === 'response');
    expect(responses.map((r) => [r.request_seq, r.command]).sort((a, b) => Number(a[0]) - Number(b[0])))
      .toEqual(dap.sent.map((r) => [r.seq, r.command]));

    // The client's own framing, checked on the bytes of this session: cut into 7-byte pieces or
    // read in one piece, the stream gives the same messages as chunk by chunk.
    const stream = Buffer.concat(dap.chunks);
    for (const size of [7, stream.length]) {
      const reader = new FrameReader();
      const messages: Message[] = [];
      for (let k = 0; k < stream.length; k += size) messages.push(...reader.push(stream.subarray(k, k + size)));
      expect(messages).toEqual(dap.received);
      expect(reader.leftover).toBe(0);
    }
  });

  it('ends the session on disconnect: the adapter closes the connection and keeps serving new ones', async () => {
    const { adapter, dap } = await session();
    await dap.request('initialize', { adapterID: 'vtscope', pathFormat: 'path' });
    expect((await dap.request('launch', { program, stopOnEntry: true })).success).toBe(true);
    await dap.request('configurationDone');
    await dap.event('stopped');
    expect((await dap.request('disconnect', { terminateDebuggee: true })).success).toBe(true);
    await dap.closed();
    // A second session on the same server.
    const again = await RawClient.open(dap.socket.remotePort!);
    sockets.push(again.socket);
    expect((await again.request('initialize', { adapterID: 'vtscope', pathFormat: 'path' })).success).toBe(true);
    expect(adapter.exitCode).toBeNull();
  });

  it('on stdio, the process exits after disconnect', async () => {
    const adapter = spawn(process.execPath, [CLI, 'dap'], { stdio: ['pipe', 'pipe', 'ignore'] });
    running.push(adapter);
    adapter.stdin!.write(frame({ seq: 1, type: 'request', command: 'initialize', arguments: { adapterID: 'vtscope' } }));
    adapter.stdin!.write(frame({ seq: 2, type: 'request', command: 'disconnect', arguments: {} }));
    expect(await exitOf(adapter)).toBe(0);
  });
});
