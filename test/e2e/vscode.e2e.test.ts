// The extension as users meet it: packaged into a .vsix with vsce, installed into code-server
// (VS Code 1.100), a folder of samples opened in headless Chromium. A breakpoint in hello.asm,
// F5, the stop shown in the editor, the call stack and the registers, a step over, continue to
// the guest's exit; a trap-mode run of holes.asm filling the VM Exits and Virtualization Holes
// views and the code lenses; the hypercall inlay hints of the PV sample; the mode comparison
// webview; a sample opened from the installed extension with "Open Sample" and run there.
// Each run rewrites the screenshots in media/screenshots (shown in README.md). A failed step
// keeps the work folder with a screenshot of the moment and the logs; VTSCOPE_E2E_KEEP=1
// keeps it always.
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

/** holes.asm's OUT to isa-debug-exit, which ends its run. */
const EXIT_OUT_LINE = sampleLine('holes.asm', /^\s*out EXIT_PORT\b/);

/** The side bar's width: room for the registers and the holes with their source lines. */
const SIDE_BAR_WIDTH = 360;

/** Where the screenshots of README.md's "In VS Code" section live. */
const SCREENSHOTS = resolve('media/screenshots');

/**
 * The address of the instruction on `line` of samples/NAME, a flat binary assembled at
 * `origin`: nasm's own listing gives the offset. (For hello.asm's breakpoint: the 32-byte
 * Multiboot header, then MOV ESP (5 bytes), two register MOVs (2 each) and a CALL (5): 0x2E.)
 */
function nasmAddress(name: string, line: number, origin: number, dir: string): number {
  const listing = join(dir, `${name}.lst`);
  execFileSync('nasm', ['-f', 'bin', '-l', listing, '-o', join(dir, `${name}.bin`), join('samples', name)], { stdio: 'pipe' });
  for (const l of readFileSync(listing, 'utf8').split('\n')) {
    const m = /^\s*(\d+) ([0-9A-F]{8}) /.exec(l);
    if (m !== null && Number(m[1]) === line) return origin + parseInt(m[2], 16);
  }
  throw new Error(`nasm's listing of samples/${name} has no instruction on line ${line}`);
}

/** The Variables view's row of a register, by the name and value the adapter gives it. */
const registerRow = (page: Page, name: string, value: number) =>
  page.locator(`.debug-variables .monaco-list-row[aria-label="${name}, value 0x${value.toString(16).padStart(8, '0')}"]`);

/** Expands or collapses a view of the side bar, by its title. */
async function setPane(page: Page, title: string, expanded: boolean): Promise<void> {
  const header = page.locator(`.part.sidebar .pane-header[aria-label="${title} Section"]`);
  if ((await header.getAttribute('aria-expanded') === 'true') !== expanded) await header.click();
  await page.locator(`.part.sidebar .pane-header[aria-label="${title} Section"][aria-expanded="${expanded}"]`).waitFor();
}

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

/** Drags the edge between the side bar and the editor until the side bar is `width` pixels wide. */
async function resizeSideBar(page: Page, width: number): Promise<void> {
  const sideBar = page.locator('.part.sidebar');
  const box = await sideBar.boundingBox();
  if (box === null) throw new Error('the side bar is not shown');
  const y = box.y + box.height / 2;
  await page.mouse.move(box.x + box.width, y);
  await page.mouse.down();
  await page.mouse.move(box.x + width, y, { steps: 4 });
  await page.mouse.up();
  const now = await sideBar.boundingBox();
  if (now === null || Math.abs(now.width - width) > 8) throw new Error(`the side bar is ${now?.width} pixels wide, not ${width}`);
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
  // Enter before the list has taken the number would go nowhere.
  await page.locator('.quick-input-list .monaco-list-row').filter({ hasText: `line ${line}.` }).waitFor();
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
      // Room for the code, and smaller screenshots.
      'editor.minimap.enabled': false,
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
    mkdirSync(SCREENSHOTS, { recursive: true });
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
  /** A screenshot for README.md, replacing the last run's: the window, or the part in `clip`. */
  const picture = (name: string, clip?: { x: number; y: number; width: number; height: number }) =>
    page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), clip });

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
    // The drop-down is rebuilt as providers answer: wait for each entry of launch.json.
    for (const name of ['hello', 'holes under trap']) await configurations.getByText(name, { exact: true }).waitFor({ state: 'attached' });
    // Room for the registers, and for the rows of the VMM's views later.
    await resizeSideBar(page, SIDE_BAR_WIDTH);
    await setPane(page, 'Watch', false);
    await setPane(page, 'Breakpoints', false);
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
    // The registers as the program left them: EBP keeps the Multiboot magic the loader put in
    // EAX, whose low byte serial_init's last `mov al, 0x03` (MCR) replaced; EIP is the address
    // of the line's instruction, and EDX the last port serial_init wrote (COM1 + 4).
    await registerRow(page, 'ebp', 0x2badb002).waitFor();
    await registerRow(page, 'eax', 0x2badb003).waitFor();
    await registerRow(page, 'edx', 0x3f8 + 4).waitFor();
    await registerRow(page, 'eip', nasmAddress('hello.asm', BREAKPOINT_LINE, 0x100000, work)).waitFor();
    await picture('breakpoint');

    // The step runs the MOV, and the top frame moves to the next line.
    await toolbar.locator('.codicon-debug-step-over').click();
    await callStack.getByText(`${BREAKPOINT_LINE + 1}:1`, { exact: true }).waitFor();
    await registerRow(page, 'eip', nasmAddress('hello.asm', BREAKPOINT_LINE + 1, 0x100000, work)).waitFor();

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
    const exits = sidebar.locator('.pane').filter({ has: page.locator('.pane-header[aria-label="VM Exits Section"]') });
    const holes = sidebar.locator('.pane').filter({ has: page.locator('.pane-header[aria-label="Virtualization Holes Section"]') });
    // The VM Exits view alone, with the room of the empty debugger views and wide enough for
    // whole records; the picture is of the side bar.
    for (const title of ['Variables', 'Watch', 'Call Stack', 'Breakpoints', 'Virtualization Holes']) await setPane(page, title, false);
    await setPane(page, 'VM Exits', true);
    await resizeSideBar(page, 640);
    await exits.getByText('Totals by reason').waitFor();
    // Newest first: the OUT to isa-debug-exit (port 0xF4) that ended the run, which trapped as
    // #GP at CPL 1 (the Totals row comes before the records).
    const newest = exits.locator('.monaco-list-row').nth(1);
    await newest.getByText(/^#\d+ #GP emulate OUT$/).waitFor();
    await newest.getByText(new RegExp(` holes\\.asm:${EXIT_OUT_LINE} · OUT imm=0xf4 `)).waitFor();
    await exits.getByText('Totals by reason').click();
    await exits.locator('.monaco-list-row').getByText('#GP emulate IN', { exact: true }).waitFor();
    const sideBar = await sidebar.boundingBox();
    if (sideBar === null) throw new Error('the side bar is not shown');
    await picture('vm-exits', { x: 0, y: 0, width: sideBar.x + sideBar.width, height: page.viewportSize()!.height });

    // The holes, and the code lenses on their lines and on those of the VMM's events.
    await resizeSideBar(page, SIDE_BAR_WIDTH);
    await setPane(page, 'VM Exits', false);
    await setPane(page, 'Virtualization Holes', true);
    for (const instruction of ['popf', 'push cs', 'smsw eax']) await holes.locator('.monaco-list-row').getByText(instruction, { exact: true }).waitFor();
    await openFile(page, 'holes.asm');
    await goToLine(page, POPF_LINE);
    await page.locator('.part.editor .codelens-decoration').getByText(/^hole: 1 time: POPF at CPL 1 dropped a change of IF/).waitFor();
    await page.locator('.part.editor .codelens-decoration').getByText(/^#GP emulate CLI: 1 time/).waitFor();
    await picture('holes');
  }), 120_000);

  it('annotates the hypercalls of the PV sample with inlay hints', step('inlay', async () => {
    // The whole height for the code: the Debug Console has shown what it had to.
    await command(page, 'View: Hide Panel');
    await page.locator('.part.panel').waitFor({ state: 'hidden' });
    await openFile(page, 'pv-hello.asm');
    await goToLine(page, CONSOLE_IO_LINE + 3);
    await page.locator('.part.editor .view-lines').getByText('console_io(cmd=write, count=ecx, str=edx)').waitFor();
    await picture('pv-inlay-hint');
  }), 60_000);

  it('compares the modes on holes.asm in a webview with a table and a chart', step('compare', async () => {
    await page.locator('.part.editor .tab').filter({ has: page.locator('.label-name', { hasText: /^holes\.asm$/ }) }).click();
    await page.locator('.part.editor .tab.active').getByText('holes.asm', { exact: true }).waitFor();
    await command(page, 'vtscope: Compare Modes on Active Guest');
    const view = page.frameLocator('iframe.webview').frameLocator('#active-frame');
    // Native is the baseline of the table; the chart has a bar per mode that ran.
    await view.locator('tr').filter({ hasText: /^native/ }).getByText('1.00x').waitFor({ timeout: 60_000 });
    // The guest named as the Explorer names it.
    await view.locator('h2').getByText('holes.asm (cost model p4-2006)', { exact: true }).waitFor();
    // As the trap run above showed: a different answer from native's, and four holes.
    const trap = view.locator('tr').filter({ has: view.locator('td:first-child', { hasText: /^trap$/ }) }).locator('td');
    expect([await trap.nth(1).innerText(), await trap.nth(6).innerText()]).toEqual(['no', '4']);
    await view.locator('svg.chart rect').first().waitFor();
    expect(await view.locator('svg.chart > text[text-anchor="end"]').allTextContents()).toContain('native');
    // No tooltip of the tab that was clicked.
    await page.mouse.move(200, 700);
    await picture('mode-comparison');
  }), 90_000);

  it('opens a sample from the installed extension, read-only, and runs it there', step('sample', async () => {
    await command(page, 'vtscope: Open Sample...');
    const rows = page.locator('.quick-input-list .monaco-list-row');
    // Each with the first sentence of its source's opening comment.
    await rows.filter({ hasText: 'hello.asm' }).getByText('the smallest useful kernel.', { exact: true }).waitFor();
    await picture('open-sample');
    await page.locator('.quick-input-widget input').fill('micro/io');
    await rows.filter({ hasText: 'the cost of port I/O to an emulated device.' }).first().click();
    const tab = page.locator('.part.editor .tab.active');
    await tab.getByText('io.asm', { exact: true }).waitFor();
    // The tab's label names the file in the extensions folder and says it is read-only.
    const label = tab.locator('.monaco-icon-label[aria-label$=" • Read-only"]');
    await label.waitFor();
    expect(await label.getAttribute('aria-label')).toMatch(/\/extensions\/vtscope\.vtscope-[\d.]+\/samples\/micro\/io\.asm • Read-only$/);
    await page.locator('.part.editor .view-lines').first().click();
    await page.keyboard.press('x');
    await page.locator('.monaco-editor-overlaymessage').getByText(/read-only/).waitFor();

    // It assembles where it is installed (micro.inc beside it) and runs: io.asm's comment says
    // the checksum grows by 382 every 4 iterations, so 40000 give 3,820,000 = 0x3A49E0.
    await command(page, 'vtscope: Run Active Guest: native (no VMM)');
    await page.locator('.repl').getByText('io: 40000 iterations, checksum 0x003a49e0').waitFor({ timeout: 30_000 });
  }), 60_000);
});
