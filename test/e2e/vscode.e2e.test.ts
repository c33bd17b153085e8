// The extension as users meet it: packaged into a .vsix with vsce, installed into code-server
// (VS Code 1.100), a folder of samples opened in headless Chromium. A breakpoint in hello.asm,
// F5, the stop shown in the editor and the call stack, a step over, continue to the guest's
// exit; a trap-mode run of holes.asm filling the VM Exits and Virtualization Holes views and
// the code lenses; the hypercall inlay hints of the PV sample; the mode comparison webview.
// Screenshots go to the work folder; set VTSCOPE_E2E_KEEP=1 to keep it.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CodeServer, missingTools } from './codeServer';

const missing = missingTools();
if (missing !== undefined) console.warn(`vscode.e2e: skipped: ${missing}`);

/** The 1-based number of the first line of samples/NAME that matches `pattern`. */
function sampleLine(name: string, pattern: RegExp): number {
  const k = readFileSync(join('samples', name), 'utf8').split('\n').findIndex((l) => pattern.test(l));
  if (k < 0) throw new Error(`samples/${name} has no line matching ${pattern}`);
  return k + 1;
}

/** hello.asm's `mov esi, msg_hello`, after the call to serial_init. */
const BREAKPOINT_LINE = sampleLine('hello.asm', /^\s*mov esi, msg_hello\b/);
/** holes.asm's POPF, the first hole. */
const POPF_LINE = sampleLine('holes.asm', /^\s*popfd?\b/);
/** pv-hello.asm's console_io hypercall, in `write`. */
const CONSOLE_IO_LINE = sampleLine('pv-hello.asm', /^\s*mov eax, HC_CONSOLE_IO\b/);

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

/**
 * Presses F9 on the cursor's line until its breakpoint shows. The editor takes breakpoints
 * once it knows a debugger for the language, a moment after the debugger is registered; a
 * press before that does nothing, so F9 is pressed again only when none has shown.
 */
async function toggleBreakpoint(page: Page): Promise<void> {
  const breakpoint = page.locator('.part.editor .codicon-debug-breakpoint').first();
  for (let attempt = 0; attempt < 10; attempt++) {
    await page.keyboard.press('F9');
    try {
      await breakpoint.waitFor({ timeout: 3_000 });
      return;
    } catch {
      // The editor did not take breakpoints yet.
    }
  }
  throw new Error('F9 set no breakpoint in 10 tries');
}

/** Runs a command from the palette, by its title. */
async function command(page: Page, title: string): Promise<void> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row').filter({ hasText: title }).first().click();
}

/** Moves the cursor of the active editor to a line, which scrolls it into view. */
async function goToLine(page: Page, line: number): Promise<void> {
  await page.keyboard.press('Control+G');
  await page.locator('.quick-input-widget input').fill(`:${line}`);
  await page.keyboard.press('Enter');
  await page.locator('.part.statusbar').getByText(`Ln ${line},`).waitFor();
}

/** Opens a file of the workspace by name through Quick Open. */
async function openFile(page: Page, name: string): Promise<void> {
  await page.keyboard.press('Control+P');
  await page.locator('.quick-input-widget input').fill(name);
  const label = page.locator('.label-name', { hasText: new RegExp(`^${name.replace(/[.]/g, '\\.')}$`) });
  await page.locator('.quick-input-list .monaco-list-row').filter({ has: label }).first().click();
  await page.locator('.part.editor .tab.active').getByText(name, { exact: true }).waitFor();
}

describe.skipIf(missing !== undefined)(`the extension in code-server${missing === undefined ? '' : ` (skipped: ${missing})`}`, () => {
  let work: string;
  let rig: CodeServer | undefined;
  let page: Page;
  /** Keeps the work folder for the post-mortem; cleared once the setup has succeeded, set again by a failed step. */
  let failed = true;
  let started = 0;

  beforeAll(async () => {
    started = Date.now();
    if (!existsSync('dist/extension.js') || !existsSync('dist/cli.js')) throw new Error('dist/ is not built: run npm run build first');
    work = mkdtempSync(join(tmpdir(), 'vtscope-e2e-'));
    const workspace = join(work, 'samples');
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
      'editor.inlayHints.enabled': 'on',
    });
    mkdirSync(join(workspace, '.vscode'), { recursive: true });
    for (const f of ['hello.asm', 'holes.asm', 'pv-hello.asm']) copyFileSync(join('samples', f), join(workspace, f));
    writeFileSync(join(workspace, '.vscode', 'launch.json'), JSON.stringify({
      version: '0.2.0',
      configurations: [
        { type: 'vtscope', request: 'launch', name: 'hello', program: '${workspaceFolder}/hello.asm' },
        { type: 'vtscope', request: 'launch', name: 'holes under trap', program: '${workspaceFolder}/holes.asm', mode: 'trap' },
      ],
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

  /** Runs a step of the test; a failure keeps the work folder and a screenshot of the moment. */
  const step = (name: string, f: () => Promise<void>) => async () => {
    try {
      await f();
    } catch (e) {
      failed = true;
      await shot(`failure-${name}`).catch(() => undefined);
      throw e;
    }
  };

  it('stops hello.asm at a breakpoint, steps over a line, and runs it to its exit', step('breakpoint', async () => {
    const statusBar = page.locator('.part.statusbar');
    const toolbar = page.locator('.debug-toolbar');
    const sidebar = page.locator('.part.sidebar');
    const callStack = sidebar.locator('.debug-call-stack');
    await page.locator('.explorer-folders-view').getByText('hello.asm', { exact: true }).click();
    await page.locator('.part.editor .view-lines').getByText('the smallest useful kernel').waitFor();

    await page.keyboard.press('Control+Shift+D');
    const configurations = page.locator('.start-debug-action-item select option');
    // Listed once the extension host has registered the debugger, which takes breakpoints in nasm sources.
    await configurations.getByText('vtscope: x86 kernel...').waitFor({ state: 'attached', timeout: 60_000 });
    expect(await configurations.allInnerTexts()).toEqual(expect.arrayContaining(['hello', 'holes under trap']));
    await page.locator('.part.editor .view-lines').click();
    await goToLine(page, BREAKPOINT_LINE);
    await toggleBreakpoint(page);
    await startDebugging(page);

    // Stopped at the breakpoint: the status bar item, the reason, the top frame at the line
    // in the call stack, and the editor's stopped-line arrow.
    await statusBar.getByText('vtscope: native').waitFor({ timeout: 60_000 });
    await sidebar.getByText(/^Paused on breakpoint/).waitFor();
    await callStack.getByText(`${BREAKPOINT_LINE}:1`, { exact: true }).waitFor();
    await page.locator('.part.editor .debug-top-stack-frame-line').waitFor();
    // serial_init has run; EBP still holds the Multiboot magic the loader left in EAX.
    await sidebar.locator('.debug-variables').getByText('0x2badb002').first().waitFor();
    await shot('1-breakpoint');

    // The step runs the MOV, and the top frame moves to the next line.
    await toolbar.locator('.codicon-debug-step-over').click();
    await callStack.getByText(`${BREAKPOINT_LINE + 1}:1`, { exact: true }).waitFor();
    await shot('2-stepped');

    await toolbar.locator('.codicon-debug-continue').click();
    const repl = page.locator('.repl');
    // What QEMU prints for this sample with 64 MiB (samples/README.md).
    await repl.getByText('Hello from vtscope!').waitFor();
    await repl.getByText('mem_lower: 639 KiB, mem_upper: 64384 KiB').waitFor();
    // The sample writes 0 to isa-debug-exit: status (0 << 1) | 1, as under QEMU.
    await repl.getByText(/guest exited with status 1 through isa-debug-exit/).waitFor();
    await toolbar.waitFor({ state: 'hidden' });
    await statusBar.getByText('vtscope: native').waitFor({ state: 'detached' });
    expect(await repl.innerText()).toContain('Multiboot magic 0x2BADB002: ok');
  }), 120_000);

  it('runs holes.asm under trap and lists its VM exits, its holes, and their code lenses', step('trap', async () => {
    const sidebar = page.locator('.part.sidebar');
    await command(page, 'Debug: Select and Start Debugging');
    await page.locator('.quick-input-list .monaco-list-row').filter({ hasText: 'holes under trap' }).first().click();
    await page.locator('.repl').getByText(/guest exited with status/).waitFor({ timeout: 60_000 });
    await page.locator('.debug-toolbar').waitFor({ state: 'hidden' });

    // The views keep the last session's data after it ended. samples/README.md: under trap,
    // POPF, SGDT, SMSW and PUSH CS each give a wrong answer once; I/O traps as #GP.
    const exits = sidebar.locator('.pane').filter({ has: page.getByRole('button', { name: /VM Exits/ }) });
    const holes = sidebar.locator('.pane').filter({ has: page.getByRole('button', { name: /Virtualization Holes/ }) });
    for (const pane of [exits, holes]) {
      const header = pane.locator('.pane-header');
      if (await header.getAttribute('aria-expanded') !== 'true') await header.click();
    }
    await exits.getByText('Totals by reason').waitFor();
    await exits.locator('.monaco-list-row').getByText(/^#\d+ /).first().waitFor();
    await exits.getByText('Totals by reason').click();
    await exits.locator('.monaco-list-row').getByText('#GP emulate OUT').first().waitFor();
    for (const instruction of ['popf', 'push cs', 'smsw eax']) await holes.locator('.monaco-list-row').getByText(instruction, { exact: true }).waitFor();

    await openFile(page, 'holes.asm');
    await goToLine(page, POPF_LINE);
    await page.locator('.part.editor .codelens-decoration').getByText(/^hole: 1 time: POPF at CPL 1 dropped a change of IF/).waitFor();
    await shot('3-trap-views');
  }), 120_000);

  it('annotates the hypercalls of the PV sample with inlay hints', step('inlay', async () => {
    await openFile(page, 'pv-hello.asm');
    await goToLine(page, CONSOLE_IO_LINE + 3);
    await page.locator('.part.editor .view-lines').getByText('console_io(cmd=write, count=ecx, str=edx)').waitFor();
    await shot('4-inlay-hints');
  }), 60_000);

  it('compares the modes on hello.asm in a webview with a table and a chart', step('compare', async () => {
    await page.locator('.part.editor .tab').filter({ has: page.locator('.label-name', { hasText: /^hello\.asm$/ }) }).click();
    await page.locator('.part.editor .tab.active').getByText('hello.asm', { exact: true }).waitFor();
    await command(page, 'vtscope: Compare Modes on Active Guest');
    const view = page.frameLocator('iframe.webview').frameLocator('#active-frame');
    // Native is the baseline of the table; the chart has a bar per mode that ran.
    await view.locator('tr').filter({ hasText: /^native/ }).getByText('1.00x').waitFor({ timeout: 60_000 });
    await view.locator('svg.chart rect').first().waitFor();
    expect(await view.locator('svg.chart > text[text-anchor="end"]').allTextContents()).toContain('native');
    await shot('5-mode-comparison');
  }), 90_000);
});
