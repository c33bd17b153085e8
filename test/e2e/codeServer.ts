/**
 * code-server (a real VS Code) with its own user and extension folders, started on 127.0.0.1
 * and driven by headless Chromium through playwright-core: the rig of test-rigs.md. Every
 * wait has a bound, and `stop` ends everything that was started.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Where scripts/setup.sh installs code-server (a project-local npm prefix). */
export const CODE_SERVER = resolve('.cache/code-server/node_modules/.bin/code-server');

const CHROMIUM_FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** Where the shell finds the program `name`, or undefined. */
function programPath(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

export function chromiumPath(): string | undefined {
  return programPath('chromium');
}

/** Why the rig cannot run here, or undefined when it can. */
export function missingTools(): string | undefined {
  const missing = [
    existsSync(CODE_SERVER) ? undefined : 'code-server (bash scripts/setup.sh installs it in .cache/code-server)',
    chromiumPath() === undefined ? 'chromium (apt-get install chromium)' : undefined,
    // The test reads instruction addresses from nasm's listings.
    programPath('nasm') === undefined ? 'nasm (apt-get install nasm)' : undefined,
  ].filter((m) => m !== undefined);
  return missing.length === 0 ? undefined : `not installed: ${missing.join(', ')}`;
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? done(address.port) : fail(new Error('no port'))));
    });
  });
}

export class CodeServer {
  private process: ChildProcess | undefined;
  private browser: Browser | undefined;
  private port = 0;

  /** `dir` holds the user data, extensions, config and log; nothing is written elsewhere. */
  constructor(private readonly dir: string) {
    for (const sub of ['user/User', 'extensions']) mkdirSync(join(dir, sub), { recursive: true });
    writeFileSync(join(dir, 'config.yaml'), 'auth: none\n');
  }

  private get dirArgs(): string[] {
    return ['--config', join(this.dir, 'config.yaml'), '--user-data-dir', join(this.dir, 'user'), '--extensions-dir', join(this.dir, 'extensions')];
  }

  get log(): string {
    return join(this.dir, 'code-server.log');
  }

  /** User settings.json: a quiet workbench with nothing opened unasked. */
  settings(values: Record<string, unknown>): void {
    writeFileSync(join(this.dir, 'user', 'User', 'settings.json'), JSON.stringify(values, null, 2));
  }

  installExtension(vsix: string): void {
    const r = spawnSync(CODE_SERVER, [...this.dirArgs, '--install-extension', vsix], { encoding: 'utf8', timeout: 90_000 });
    if (r.status !== 0) throw new Error(`code-server --install-extension ${vsix} failed (${r.error?.message ?? `status ${r.status}`}):\n${r.stdout}${r.stderr}`);
  }

  /** Starts the server on a free port of 127.0.0.1 and waits until /healthz answers. */
  async start(): Promise<void> {
    this.port = await freePort();
    const log = openSync(this.log, 'a');
    this.process = spawn(CODE_SERVER, [
      ...this.dirArgs, '--auth', 'none', '--bind-addr', `127.0.0.1:${this.port}`,
      '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
    ], { stdio: ['ignore', log, log], detached: true });
    closeSync(log);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (this.process.exitCode !== null) throw new Error(`code-server exited with status ${this.process.exitCode}; see ${this.log}`);
      try {
        if ((await fetch(`http://127.0.0.1:${this.port}/healthz`)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`code-server did not answer on 127.0.0.1:${this.port}/healthz within 60 s; see ${this.log}`);
  }

  /** A Chromium page showing the workbench on `folder`, once the workbench is ready. */
  async open(folder: string): Promise<Page> {
    this.browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_FLAGS, headless: true, timeout: 60_000 });
    // The size of the screenshots in README.md.
    const page = await this.browser.newPage({ viewport: { width: 1280, height: 800 } });
    // The workbench's console, for the post-mortem of a failed run.
    page.on('console', (m) => appendFileSync(join(this.dir, 'browser-console.log'), `${m.type()}: ${m.text()}\n`));
    page.setDefaultTimeout(30_000);
    await page.goto(`http://127.0.0.1:${this.port}/?folder=${encodeURIComponent(folder)}`, { timeout: 60_000 });
    await page.waitForSelector('.monaco-workbench .part.statusbar', { timeout: 60_000 });
    return page;
  }

  /** Closes the browser and ends the server with everything it started (its process group). */
  async stop(): Promise<void> {
    await this.browser?.close().catch(() => undefined);
    const p = this.process;
    if (p?.pid === undefined || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((done) => p.once('exit', () => done()));
    process.kill(-p.pid, 'SIGTERM');
    const timer = setTimeout(() => { try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* already gone */ } }, 5_000);
    await exited;
    clearTimeout(timer);
  }
}
