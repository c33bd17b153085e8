// The extension as users meet it: packaged into a .vsix with vsce, installed into code-server
// (VS Code 1.100), a sample folder opened in headless Chromium, a debug session started with
// F5 from its launch.json. The guest's serial output must reach the Debug Console, and the
// session must end when the guest exits. Screenshots go to the work folder; set
// VTSCOPE_E2E_KEEP=1 to keep it.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CodeServer, missingTools } from './codeServer';

const missing = missingTools();
if (missing !== undefined) console.warn(`vscode.e2e: skipped: ${missing}`);

/**
 * Presses F5 until a session starts. Until the extension host has registered the debug
 * types, VS Code binds F5 to opening the Run and Debug view (already open here), so an early
 * press does nothing; once a session is starting, the debug toolbar shows and F5 is not
 * pressed again (in a stopped session it would mean Continue).
 */
async function startDebugging(page: Page): Promise<void> {
  const toolbar = page.locator('.debug-toolbar');
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    await page.keyboard.press('F5');
    try {
      await toolbar.waitFor({ state: 'visible', timeout: 5_000 });
      return;
    } catch {
      // F5 came before the debuggers were registered.
    }
  }
  throw new Error('F5 started no debug session within 60 s');
}

describe.skipIf(missing !== undefined)(`the extension in code-server${missing === undefined ? '' : ` (skipped: ${missing})`}`, () => {
  let work: string;
  let rig: CodeServer | undefined;
  let page: Page;
  /** Keeps the work folder for the post-mortem; cleared once the setup has succeeded. */
  let failed = true;
  let started = 0;

  beforeAll(async () => {
    started = Date.now();
    if (!existsSync('dist/extension.js') || !existsSync('dist/cli.js')) throw new Error('dist/ is not built: run npm run build first');
    work = mkdtempSync(join(tmpdir(), 'vtscope-e2e-'));
    const workspace = join(work, 'hello');
    rig = new CodeServer(join(work, 'code-server'));
    const vsix = join(work, 'vtscope.vsix');
    // Everything the extension runs is bundled in dist/, so the package needs no node_modules.
    execFileSync(resolve('node_modules/.bin/vsce'), ['package', '--no-dependencies', '--skip-license', '--allow-missing-repository', '--out', vsix],
      { stdio: 'pipe', timeout: 90_000 });
    rig.installExtension(vsix);
    rig.settings({
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'extensions.ignoreRecommendations': true,
      'telemetry.telemetryLevel': 'off',
      'debug.internalConsoleOptions': 'openOnSessionStart',
    });
    mkdirSync(join(workspace, '.vscode'), { recursive: true });
    copyFileSync('samples/hello.asm', join(workspace, 'hello.asm'));
    writeFileSync(join(workspace, '.vscode', 'launch.json'), JSON.stringify({
      version: '0.2.0',
      configurations: [{ type: 'vtscope', request: 'launch', name: 'hello', program: '${workspaceFolder}/hello.asm', stopOnEntry: true }],
    }, null, 2));
    await rig.start();
    page = await rig.open(workspace);
    failed = false;
  }, 240_000);

  afterAll(async () => {
    if (rig === undefined) return;
    await rig.stop();
    const keep = failed || process.env.VTSCOPE_E2E_KEEP === '1';
    if (keep) console.warn(`vscode.e2e: screenshots and logs kept in ${work}`);
    else rmSync(work, { recursive: true, force: true });
    console.warn(`vscode.e2e: ${((Date.now() - started) / 1000).toFixed(1)} s from packaging to shutdown`);
  }, 30_000);

  const shot = (name: string) => page.screenshot({ path: join(work, `${name}.png`) });

  it('runs the sample from launch.json: stops on entry, prints on COM1 into the Debug Console, and ends', async () => {
    try {
      const statusBar = page.locator('.part.statusbar');
      const toolbar = page.locator('.debug-toolbar');
      await page.locator('.explorer-folders-view').getByText('hello.asm').click();
      await page.locator('.part.editor .view-lines').getByText('the smallest useful kernel').waitFor();
      await page.keyboard.press('Control+Shift+D');
      const configurations = page.locator('.start-debug-action-item select option');
      await configurations.getByText('vtscope: x86 kernel...').waitFor({ state: 'attached', timeout: 60_000 });
      expect(await configurations.allInnerTexts()).toContain('hello');
      await startDebugging(page);

      // Stopped on the entry point: the session's status bar item, the debug toolbar, and
      // the registers a Multiboot loader leaves (EAX = 0x2BADB002).
      await statusBar.getByText('vtscope: native').waitFor({ timeout: 60_000 });
      await toolbar.waitFor({ state: 'visible' });
      await page.locator('.part.sidebar').getByText(/^Paused at the entry point/).waitFor();
      await page.locator('.debug-variables').getByText('0x2badb002').first().waitFor();
      // The views in the Run and Debug container.
      const sidebar = page.locator('.part.sidebar');
      await sidebar.getByRole('button', { name: /Virtualization Holes/ }).waitFor();
      // Collapsed at first; expanded, it says why it is empty.
      await sidebar.getByRole('button', { name: /VM Exits/ }).click();
      await sidebar.getByText('native mode runs the guest without a VMM, so there are no VM exits.').waitFor();
      await shot('1-stopped-on-entry');

      await toolbar.locator('.codicon-debug-continue').click();
      const repl = page.locator('.repl');
      // What QEMU prints for this sample with 64 MiB (samples/README.md).
      await repl.getByText('Hello from vtscope!').waitFor();
      await repl.getByText('mem_lower: 639 KiB, mem_upper: 64384 KiB').waitFor();
      // The sample writes 0 to isa-debug-exit: status (0 << 1) | 1, as under QEMU.
      await repl.getByText(/guest exited with status 1 through isa-debug-exit/).waitFor();
      await toolbar.waitFor({ state: 'hidden' });
      await statusBar.getByText('vtscope: native').waitFor({ state: 'detached' });
      await shot('2-ended');
      expect(await repl.innerText()).toContain('Multiboot magic 0x2BADB002: ok');
    } catch (e) {
      failed = true;
      await shot('failure').catch(() => undefined);
      throw e;
    }
  }, 180_000);
});
