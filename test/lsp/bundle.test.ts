// The bundled server as the editor runs it: `node dist/lsp.js --stdio` (built by `npm run
// build`, which `npm test` runs first), assembling in a worker thread. While a runaway
// assembly (`%rep 1000` inside `%rep 1000`: a million lines) is under way, requests are still
// answered, and a newer edit replaces it: its diagnostics are never published.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createProtocolConnection, type Diagnostic, DidChangeTextDocumentNotification, DidOpenTextDocumentNotification,
  HoverRequest, InitializedNotification, InitializeRequest, type MarkupContent, type ProtocolConnection,
  PublishDiagnosticsNotification, StreamMessageReader, StreamMessageWriter,
} from 'vscode-languageserver/node';
import { WorkerAssembler } from '../../src/lsp/assemblerWorker';

const SERVER = fileURLToPath(new URL('../../dist/lsp.js', import.meta.url));
const RUNAWAY = 'bits 32\nstart:\n%rep 1000\n%rep 1000\n    nop\n%endrep\n%endrep\n    hlt\n';

let server: ChildProcess;
let connection: ProtocolConnection;
let dir: string;
const events: string[] = [];
const published = new Map<string, Diagnostic[][]>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vtscope-lsp-bundle-'));
  server = spawn(process.execPath, [SERVER, '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
  connection = createProtocolConnection(new StreamMessageReader(server.stdout!), new StreamMessageWriter(server.stdin!));
  connection.onNotification(PublishDiagnosticsNotification.type, (p) => {
    events.push(`diagnostics ${p.uri.split('/').pop()}`);
    published.set(p.uri, [...(published.get(p.uri) ?? []), p.diagnostics]);
  });
  connection.listen();
  await connection.sendRequest(InitializeRequest.type, {
    processId: process.pid, rootUri: pathToFileURL(dir).href, capabilities: {}, initializationOptions: { debounceMs: 10 },
  });
  await connection.sendNotification(InitializedNotification.type, {});
});

afterAll(() => {
  connection.dispose();
  server.kill();
  rmSync(dir, { recursive: true, force: true });
});

const uri = (name: string): string => pathToFileURL(join(dir, name)).href;
const diagnosticsFor = (name: string): Promise<Diagnostic[]> => new Promise((resolve) => {
  const seen = published.get(uri(name))?.length ?? 0;
  const poll = setInterval(() => {
    const list = published.get(uri(name)) ?? [];
    if (list.length > seen) { clearInterval(poll); resolve(list[list.length - 1]); }
  }, 5);
});

describe('the bundled server', () => {
  it('assembles in its worker and publishes diagnostics; hovers work', async () => {
    const next = diagnosticsFor('a.asm');
    void connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri: uri('a.asm'), languageId: 'nasm', version: 1, text: 'bits 32\nstart:\n    jmp nowhere\n' },
    });
    const d = await next;
    expect(d.map((x) => `${x.range.start.line}:${x.range.start.character} ${x.message}`)).toEqual(['2:8 symbol `nowhere\' not defined']);
    const h = await connection.sendRequest(HoverRequest.type, { textDocument: { uri: uri('a.asm') }, position: { line: 2, character: 5 } });
    expect((h?.contents as MarkupContent).value).toContain('**JMP**');
  });

  it('answers while a runaway assembly runs, and drops it for a newer edit', async () => {
    events.length = 0;
    void connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri: uri('big.asm'), languageId: 'nasm', version: 1, text: RUNAWAY },
    });
    // Let the debounce pass so the assembly starts, then ask something.
    await new Promise((r) => setTimeout(r, 100));
    const h = await connection.sendRequest(HoverRequest.type, { textDocument: { uri: uri('big.asm') }, position: { line: 7, character: 5 } });
    events.push('hover');
    expect((h?.contents as MarkupContent).value).toContain('**HLT**');
    const next = diagnosticsFor('big.asm');
    void connection.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri: uri('big.asm'), version: 2 }, contentChanges: [{ text: 'bits 32\nstart:\n    hlt\n' }],
    });
    expect(await next).toEqual([]);
    // The hover came first; the only diagnostics for big.asm are those of the small version.
    expect(events).toEqual(['hover', 'diagnostics big.asm']);
  });
});

describe('WorkerAssembler', () => {
  it('stops an assembly that runs out of time and says so', async () => {
    writeFileSync(join(dir, 'runaway.asm'), RUNAWAY);
    const assembler = new WorkerAssembler(SERVER, 300);
    try {
      const root = join(dir, 'runaway.asm');
      const outcome = await assembler.assemble({ root, options: {}, overrides: {} });
      expect(outcome.diagnostics.map((d) => `${d.location.file}:${d.location.line} ${d.message}`)).toEqual([
        `${root}:1 assembly stopped after 0.3 s without finishing (a large %rep, or macros that expand without end?)`,
      ]);
      // The next request gets a fresh worker.
      writeFileSync(join(dir, 'ok.asm'), 'bits 32\nx: jmp x\n');
      const ok = await assembler.assemble({ root: join(dir, 'ok.asm'), options: {}, overrides: {} });
      expect(ok.diagnostics).toEqual([]);
      expect(ok.symbols.map((s) => `${s.name}=${s.value}`)).toEqual(['x=0']);
    } finally {
      assembler.dispose();
    }
  });
});
