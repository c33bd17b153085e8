// The extension activated against a stand-in for the editor (vscodeStub.ts): what it
// registers matches package.json, its debug adapter descriptor starts a working adapter, and
// the status bar and views follow the debug sessions and the adapter's custom events.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { MODES } from '../../src/debug/launchConfig';
import { editorOn, host, type DebugSessionStub, sessionStub, Uri, type TreeItem } from './vscodeStub';

vi.mock('vscode', () => import('./vscodeStub'));

/** The language clients the extension made: the real library needs a real editor. */
const clients = vi.hoisted(() => [] as { args: unknown[]; started: boolean; notifications: [string, unknown][] }[]);
vi.mock('vscode-languageclient/node', () => ({
  TransportKind: { stdio: 0, ipc: 1 },
  LanguageClient: class {
    private readonly record: { args: unknown[]; started: boolean; notifications: [string, unknown][] };
    constructor(...args: unknown[]) { this.record = { args, started: false, notifications: [] }; clients.push(this.record); }
    start(): Promise<void> { this.record.started = true; return Promise.resolve(); }
    sendNotification(method: string, params: unknown): Promise<void> { this.record.notifications.push([method, params]); return Promise.resolve(); }
  },
}));

const { activate } = await import('../../src/extension/extension');
const { RUN_COMMANDS } = await import('../../src/extension/commands');
const { compareArgs } = await import('../../src/extension/compareModes');

interface Manifest {
  contributes: {
    commands: { command: string }[];
    views: Record<string, { id: string; name: string }[]>;
  };
}
const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as Manifest;
const cli = resolve('dist/cli.js');

/** An installed extension's folder: the real dist/cli.js and no language server. */
let extensionPath: string;

beforeAll(async () => {
  if (!existsSync(cli)) throw new Error(`${cli} is not built: run npm run build first`);
  extensionPath = mkdtempSync(join(tmpdir(), 'vtscope-ext-'));
  mkdirSync(join(extensionPath, 'dist'));
  symlinkSync(cli, join(extensionPath, 'dist', 'cli.js'));
});

afterAll(() => rmSync(extensionPath, { recursive: true, force: true }));

async function activated(folder = extensionPath): Promise<void> {
  host.reset();
  sessions.clear();
  const subscriptions: { dispose(): void }[] = [];
  await activate({ subscriptions, asAbsolutePath: (p: string) => join(folder, p) } as never);
}

/** One session object per id, as VS Code passes the same object to every event. */
const sessions = new Map<string, DebugSessionStub>();
function session(mode: string, id = 's1'): DebugSessionStub {
  const key = `${id}/${mode}`;
  if (!sessions.has(key)) sessions.set(key, sessionStub(id, { type: 'vtscope', request: 'launch', name: 'k', program: '/k.asm', mode }));
  return sessions.get(key)!;
}

/** The views refresh at most every 250 ms. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 300));

function view(id: string) {
  const v = host.treeViews.get(id);
  if (v === undefined) throw new Error(`no view ${id}`);
  return { ...v, children: async (node?: unknown) => v.provider.getChildren(node), item: (node: unknown): TreeItem => v.provider.getTreeItem(node), message: v.message };
}

describe('activation', () => {
  beforeEach(() => activated());

  it('registers every command package.json contributes, and no other', () => {
    expect([...host.commands.keys()].sort()).toEqual(manifest.contributes.commands.map((c) => c.command).sort());
    expect(RUN_COMMANDS.map((r) => r.mode)).toEqual([...MODES]);
  });

  it('creates the views package.json puts in the Run and Debug container', () => {
    expect(manifest.contributes.views.debug.map((v) => [v.id, v.name])).toEqual([['vtscope.exits', 'VM Exits'], ['vtscope.holes', 'Virtualization Holes']]);
    expect([...host.treeViews.keys()].sort()).toEqual(manifest.contributes.views.debug.map((v) => v.id).sort());
  });

  it('says in its log that it starts no language server when dist/lsp.js is missing', () => {
    expect(host.log).toContainEqual({ level: 'warn', text: expect.stringMatching(/language server not started: .*dist\/lsp\.js is not in this build/) });
  });

  it('starts the language server dist/lsp.js over stdio for nasm documents when the build has it', async () => {
    const withServer = mkdtempSync(join(tmpdir(), 'vtscope-ext-'));
    try {
      mkdirSync(join(withServer, 'dist'));
      writeFileSync(join(withServer, 'dist', 'lsp.js'), '');
      clients.length = 0;
      await activated(withServer);
      const server = join(withServer, 'dist', 'lsp.js');
      expect(clients).toHaveLength(1);
      expect(clients[0].started).toBe(true);
      const [id, , serverOptions, clientOptions] = clients[0].args as [string, string, { run: unknown }, { documentSelector: unknown }];
      expect(id).toBe('vtscope');
      expect(serverOptions.run).toEqual({ module: server, transport: 0 });
      expect(clientOptions.documentSelector).toEqual([{ language: 'nasm' }]);
      expect(host.log).toContainEqual({ level: 'info', text: `language server started: ${server}` });
    } finally {
      rmSync(withServer, { recursive: true, force: true });
    }
  });

  it('gives the language server the assembler settings, and sends them again when they change', async () => {
    const withServer = mkdtempSync(join(tmpdir(), 'vtscope-ext-'));
    try {
      mkdirSync(join(withServer, 'dist'));
      writeFileSync(join(withServer, 'dist', 'lsp.js'), '');
      clients.length = 0;
      host.reset();
      host.settings['vtscope.asm.includePaths'] = ['/opt/kernel/include', 'include'];
      host.settings['vtscope.asm.defines'] = { GREETING: '65', 'not a name': '1' };
      await activate({ subscriptions: [], asAbsolutePath: (p: string) => join(withServer, p) } as never);
      const [, , , clientOptions] = clients[0].args as [string, string, unknown, { initializationOptions: unknown }];
      // No workspace folder here, so the relative path cannot be resolved.
      expect(clientOptions.initializationOptions).toEqual({ includePaths: ['/opt/kernel/include'], defines: { GREETING: '65' } });
      expect(host.log.filter((l) => l.level === 'warn').map((l) => l.text)).toEqual([
        'vtscope.asm.includePaths: "include" is relative, and there is no workspace folder to resolve it against; left out',
        'vtscope.asm.defines: "not a name" is not a macro name; left out',
      ]);
      host.settings['vtscope.asm.includePaths'] = ['/srv/inc'];
      host.settings['vtscope.asm.defines'] = {};
      host.configurationChange.fire({ affectsConfiguration: (section) => section === 'editor' });
      host.configurationChange.fire({ affectsConfiguration: (section) => section === 'vtscope.asm' });
      expect(clients[0].notifications).toEqual([
        ['workspace/didChangeConfiguration', { settings: { vtscope: { asm: { includePaths: ['/srv/inc'], defines: {} } } } }],
      ]);
    } finally {
      rmSync(withServer, { recursive: true, force: true });
    }
  });

  it('registers configuration providers for new launch.json files and for the Run and Debug drop-down', () => {
    expect(host.configurationProviders.map((p) => [p.type, p.trigger])).toEqual([['vtscope', 1], ['vtscope', 2]]);
  });
});

describe('the debug adapter descriptor', () => {
  beforeEach(() => activated());

  it('runs the bundled `vtscope dap` with the extension host\'s Node, and that adapter runs a guest', async () => {
    const d = host.adapterFactories.get('vtscope')!.createDebugAdapterDescriptor() as { command: string; args: string[]; options?: { env?: Record<string, string> } };
    expect(d.command).toBe(process.execPath);
    expect(d.args).toEqual([join(extensionPath, 'dist', 'cli.js'), 'dap']);

    const adapter = spawn(d.command, d.args, { env: { ...process.env, ...d.options?.env }, stdio: ['pipe', 'pipe', 'inherit'] });
    const messages: { type: string; command?: string; event?: string; body?: { output?: string } }[] = [];
    let buffer = Buffer.alloc(0);
    const ended = new Promise<void>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`no terminated event in 20 s; got ${JSON.stringify(messages)}`)), 20_000);
      adapter.stdout.on('data', (chunk: Buffer) => {
        buffer = Buffer.concat([buffer, chunk]);
        for (;;) {
          const header = /^Content-Length: (\d+)\r\n\r\n/.exec(buffer.toString('latin1', 0, Math.min(buffer.length, 64)));
          if (header === null || buffer.length < header[0].length + Number(header[1])) break;
          const message = JSON.parse(buffer.toString('utf8', header[0].length, header[0].length + Number(header[1])));
          buffer = buffer.subarray(header[0].length + Number(header[1]));
          messages.push(message);
          if (message.event === 'terminated') { clearTimeout(timer); done(); }
        }
      });
    });
    let seq = 1;
    const send = (command: string, args: unknown): void => {
      const json = JSON.stringify({ seq: seq++, type: 'request', command, arguments: args });
      adapter.stdin.write(`Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`);
    };
    send('initialize', { adapterID: 'vtscope', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
    send('launch', { program: resolve('samples/hello.asm') });
    send('configurationDone', {});
    try {
      await ended;
    } finally {
      adapter.kill();
    }
    const stdout = messages.filter((m) => m.event === 'output').map((m) => m.body?.output ?? '').join('');
    // What QEMU prints for this sample with 64 MiB (samples/README.md).
    expect(stdout).toContain('Hello from vtscope!\nMultiboot magic 0x2BADB002: ok\nmem_lower: 639 KiB, mem_upper: 64384 KiB\n');
    expect(messages.find((m) => m.command === 'initialize')).toMatchObject({ type: 'response', success: true });
  });
});

describe('configuration provider', () => {
  beforeEach(() => activated());
  const provider = () => host.configurationProviders.find((p) => p.trigger === 1)!.provider;

  it('fills in the program from the active editor and the mode from the settings (F5 without launch.json)', () => {
    host.activeTextEditor = editorOn('/ws/boot.asm');
    host.settings['vtscope.defaultMode'] = 'pv';
    host.settings['vtscope.costModel'] = 'core-2006';
    const c = provider().resolveDebugConfiguration(undefined as never, {} as never);
    expect(c).toEqual({ type: 'vtscope', request: 'launch', name: 'vtscope: boot.asm', program: '/ws/boot.asm', mode: 'pv', memoryMiB: 64, costModel: 'core-2006' });
  });

  it('cancels the launch with an error message when there is nothing to launch', () => {
    expect(provider().resolveDebugConfiguration(undefined as never, {} as never)).toBeUndefined();
    expect(host.messages).toEqual([{ severity: 'error', text: expect.stringContaining('open a guest .asm source') }]);
  });
});

describe('commands', () => {
  beforeEach(() => activated());

  it('run the active guest in a mode without debugging', async () => {
    host.activeTextEditor = editorOn('/ws/boot.asm');
    await host.commands.get('vtscope.run.trap')!();
    expect(host.started).toEqual([{
      folder: undefined,
      config: { type: 'vtscope', request: 'launch', name: 'vtscope: boot.asm (trap)', program: '/ws/boot.asm', mode: 'trap' },
      options: { noDebug: true },
    }]);
  });

  it('refuse to run when no guest source is open', async () => {
    await host.commands.get('vtscope.run.native')!();
    expect(host.started).toEqual([]);
    expect(host.messages[0]).toMatchObject({ severity: 'error', text: expect.stringContaining('open a guest .asm source') });
  });

  it('compare the modes on the active guest with the bundled `vtscope compare` and show the report in a webview', async () => {
    const sample = resolve('samples/hello.asm');
    host.activeTextEditor = editorOn(sample);
    host.settings['vtscope.costModel'] = 'core-2006';
    await host.commands.get('vtscope.compareModes')!();
    expect(host.progress).toEqual([`vtscope: comparing the modes on ${sample}`]);
    expect(host.messages).toEqual([]);
    expect(host.webviews).toHaveLength(1);
    const [panel] = host.webviews;
    expect(panel).toMatchObject({ viewType: 'vtscope.comparison', title: 'Mode Comparison: hello.asm', options: { enableScripts: false, localResourceRoots: [] } });
    // The CLI's own text table, run the same way, is the truth for every number in the page.
    const text = execFileSync(process.execPath, [cli, 'compare', sample, '--cost-model', 'core-2006', '--mem', '64'], { encoding: 'utf8' });
    expect(panel.webview.html).toContain(`<h2>${sample} (cost model core-2006)</h2>`);
    const cells = (html: string) => [...html.matchAll(/<tr><td>([^<]+)<\/td>((?:<td[^>]*>[^<]*<\/td>)+)<\/tr>/g)]
      .map((m) => [m[1], ...[...m[2].matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((c) => c[1].replace(/,/g, ''))]);
    const fromCli = text.split('\n').filter((l) => /^(native|trap|bt|pv|hw) /.test(l)).map((l) => l.split(/\s{2,}/));
    expect(cells(panel.webview.html).map((c) => c.slice(0, 7))).toEqual(fromCli);
    expect(new Set(cells(panel.webview.html).map((c) => c[0].split(' ')[0]))).toEqual(new Set(MODES));
    // A second comparison reuses the panel.
    await host.commands.get('vtscope.compareModes')!();
    expect(host.webviews).toHaveLength(1);
  });

  it('pass the assembler settings to `vtscope compare`', () => {
    expect(compareArgs('/x/cli.js', '/ws/k.asm', '/tmp/o.json', { costModel: 'p4-2006', memoryMiB: 32 },
      { includePaths: ['/ws/inc', '/opt/inc'], defines: { GREETING: '65', DEBUG: '' } })).toEqual([
      '/x/cli.js', 'compare', '/ws/k.asm', '--json', '/tmp/o.json', '--cost-model', 'p4-2006', '--mem', '32',
      '-I', '/ws/inc', '-I', '/opt/inc', '-DGREETING=65', '-DDEBUG=',
    ]);
  });

  it('report a guest that does not assemble with the assembler\'s message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vtscope-ext-'));
    try {
      const bad = join(dir, 'bad.asm');
      writeFileSync(bad, 'bits 32\n  mov eax,\n');
      host.activeTextEditor = editorOn(bad);
      await host.commands.get('vtscope.compareModes')!();
      expect(host.messages).toEqual([{ severity: 'error', text: expect.stringMatching(new RegExp(`^vtscope compare failed: ${bad}:2:\\d+: error: `)) }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('status bar and views', () => {
  beforeEach(() => activated());

  it('show the mode while a session runs, and nothing after', async () => {
    const item = host.statusBarItems[0];
    expect(item.visible).toBe(false);
    host.startSession(session('native'));
    expect(item).toMatchObject({ visible: true, text: '$(vm-running) vtscope: native' });
    await settle();
    expect(view('vtscope.exits').message).toBe('native mode runs the guest without a VMM, so there are no VM exits.');
    expect(view('vtscope.holes').message).toBe('Virtualization holes exist only under trap mode; this session runs native.');
    expect(await view('vtscope.exits').children()).toEqual([]);
    host.sessionEnd.fire(session('native'));
    expect(item.visible).toBe(false);
  });

  it('show the records and counters of vtscope.exits events, newest first, each linked to its source line', async () => {
    host.startSession(session('hw'));
    await settle();
    expect(view('vtscope.exits').message).toBe('No VM exits reported by the debug adapter in hw mode yet.');
    const rec = (seq: number, reason: string, reasonNumber: number, line: number) => ({
      seq, icount: 100 * seq, vcpu: 0, cycles: 2_000 * seq, mode: 'hw', kind: 'vm exit', reason, reasonNumber, eip: 0x100010 + seq, cpl: 0,
      qualification: 'port 0x3f8 out size 1', cost: 2_400, source: { path: '/ws/k.asm', line },
    });
    host.customEvent.fire({ session: session('hw'), event: 'vtscope.exits', body: {
      total: 1234, records: [rec(1232, 'IO_INSTRUCTION', 30, 40), rec(1233, 'CPUID', 10, 41)],
      totals: [{ reason: 'CPUID', reasonNumber: 10, kind: 'vm exit', count: 4, cycles: 9_600 }, { reason: 'IO_INSTRUCTION', reasonNumber: 30, kind: 'vm exit', count: 1230, cycles: 2_952_000 }],
    } });
    expect(host.statusBarItems[0].text).toBe('$(vm-running) vtscope: hw · 1,234 exits');
    await settle();
    const v = view('vtscope.exits');
    expect(v.message).toBeUndefined();
    const [totals, newest, older] = await v.children() as unknown[];
    expect(v.item(newest)).toMatchObject({
      label: '#1233 CPUID (10)',
      description: '@2,466,000 · 0x001004e1 k.asm:41 · port 0x3f8 out size 1 · 2,400 cyc',
      command: { command: 'vscode.open', arguments: [Uri.file('/ws/k.asm'), { selection: { startLine: 40, startCharacter: 0, endLine: 40, endCharacter: 0 } }] },
    });
    expect(v.item(older).label).toBe('#1232 IO_INSTRUCTION (30)');
    expect(v.item(totals)).toMatchObject({ label: 'Totals by reason', description: '1,234 exits' });
    const reasons = (await v.children(totals)).map((n) => v.item(n));
    // 1230 of 1234 = 99.7%; 2,952,000 of 2,961,600 cycles = 99.7%.
    expect(reasons.map((r) => [r.label, r.description])).toEqual([
      ['IO_INSTRUCTION (30)', '1,230 (99.7%) · 2,952,000 cycles (99.7%)'],
      ['CPUID (10)', '4 (0.3%) · 9,600 cycles (0.3%)'],
    ]);
  });

  it('log a malformed event and keep the view as it was', async () => {
    host.startSession(session('hw'));
    host.customEvent.fire({ session: session('hw'), event: 'vtscope.exits', body: { total: 'many' } });
    await settle();
    expect(host.log).toContainEqual({ level: 'error', text: 'debug adapter sent a malformed event: vtscope.exits.total must be a whole number, not "many"' });
    expect(view('vtscope.exits').message).toBe('No VM exits reported by the debug adapter in hw mode yet.');
  });

  it('list the holes of a trap session from vtscope.holes events', async () => {
    host.startSession(session('trap'));
    await settle();
    expect(view('vtscope.holes').message).toBe('No virtualization holes reported by the debug adapter yet.');
    host.customEvent.fire({ session: session('trap'), event: 'vtscope.holes', body: {
      holes: [{ instruction: 'popf', eip: 0x100042, count: 3, effect: 'POPF at CPL 1 dropped a change of IF from 0 to 1', source: { path: '/ws/k.asm', line: 7 } }],
    } });
    await settle();
    const v = view('vtscope.holes');
    expect(v.message).toBeUndefined();
    const [hole] = await v.children();
    expect(v.item(hole)).toMatchObject({ label: 'popf', description: '×3 · 0x00100042 k.asm:7' });
  });
});
