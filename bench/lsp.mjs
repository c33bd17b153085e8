// Language server speed on a 10,000-line kernel, per keystroke.
// In process (the server's code bundled from src/lsp): re-indexing after a one-character
// edit, a full re-assembly, an edit inside a comment (no re-assembly), the hypercall sites
// walk, diagnostics, and the requests an editor sends after an edit.
// Over stdio (dist/lsp.js, which assembles in a worker thread): the time from a keystroke to
// its diagnostics (debounce excluded) and a hover's answer while the assembly runs.
// Run after `npm run build`: node bench/lsp.mjs [--quick]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const runs = quick ? 5 : 21;
const work = mkdtempSync(join(tmpdir(), 'vtscope-lsp-bench-'));
const require = createRequire(import.meta.url);

/** A paravirtual kernel of about `lines` lines: functions with local labels, a macro, hypercall sites, data. */
function generateKernel(lines) {
  const out = [
    'bits 32', 'org 0x100000',
    'HC_CONSOLE_IO equ 18', '%define HC_SCHED_OP 29', 'CONSOLEIO_WRITE equ 0',
    '%macro hypercall 1', '    mov eax, %1', '    int 0x82', '%endmacro', '',
  ];
  const blocks = Math.max(1, Math.round((lines - 10) / 24));
  for (let n = 0; n < blocks; n++) {
    out.push(
      `; function ${n}: print a message, then yield`,
      `func_${n}:`,
      '    push ebp',
      '    mov ebp, esp',
      `    mov ecx, LEN_${n}`,
      '.loop:',
      `    add eax, [table_${n} + ecx*4]`,
      '    dec ecx',
      '    jnz .loop',
      '    mov eax, HC_CONSOLE_IO',
      '    mov ebx, CONSOLEIO_WRITE',
      `    mov ecx, LEN_${n}`,
      `    mov edx, msg_${n}`,
      '    int 0x82',
      '    mov ebx, 0',
      '    hypercall HC_SCHED_OP',
      `    call func_${(n + 1) % blocks}`,
      '    pop ebp',
      '    ret',
      `table_${n}: dd ${n}, ${n * 3}, func_${n}`,
      `msg_${n}: db "function ${n}", 10`,
      `LEN_${n} equ $ - msg_${n}`,
      '    align 4',
      '',
    );
  }
  return out.join('\n') + '\n';
}

function median(values) {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)];
}

async function time(n, fn) {
  const t = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    t.push(performance.now() - t0);
  }
  return median(t);
}

const fmt = (ms) => `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
const row = (label, value) => console.log(`  ${label.padEnd(48)}${value}`);

async function inProcess(path, text) {
  const entry = join(work, 'entry.ts');
  writeFileSync(entry, [
    `export { LanguageService } from '${join(root, 'src/lsp/service')}';`,
    `export { nodeFileSystem } from '${join(root, 'src/lsp/project')}';`,
    `export { hover } from '${join(root, 'src/lsp/hover')}';`,
    `export { completion } from '${join(root, 'src/lsp/completion')}';`,
    `export { inlayHints } from '${join(root, 'src/lsp/inlayHints')}';`,
    `export { documentSymbols, foldingRanges } from '${join(root, 'src/lsp/outline')}';`,
    `export { references } from '${join(root, 'src/lsp/navigation')}';`,
    `export { findHypercallSites } from '${join(root, 'src/lsp/hypercallSites')}';`,
  ].join('\n'));
  const bundle = join(work, 'lsp-bench.cjs');
  await build({ entryPoints: [entry], bundle: true, platform: 'node', target: 'node20', format: 'cjs', outfile: bundle, logLevel: 'warning' });
  const m = require(bundle);
  const service = new m.LanguageService({ fs: m.nodeFileSystem, uriOf: (p) => pathToFileURL(p).href });
  const lines = text.split('\n');
  const editLine = lines.findIndex((l) => l === '    dec ecx');
  const edited = (i) => { const copy = [...lines]; copy[editLine] = i % 2 ? '    dec ecx ' : '    dec  ecx'; return copy.join('\n'); };
  const commented = (i) => text.replace('; function 0: print', `; function 0 (${i}): print`);

  service.project.setOpen(path, text);
  for (let i = 0; i < 3; i++) { service.project.setOpen(path, edited(i)); await service.analyze(); }

  const index = await time(runs, (i) => { service.project.setOpen(path, edited(i)); service.index(path); });
  const analyze = await time(runs, async (i) => { service.project.setOpen(path, edited(i + 1)); await service.analyze(); });
  const comment = await time(runs, async (i) => { service.project.setOpen(path, commented(i)); await service.analyze(); });
  const sites = await time(runs, (i) => { service.project.setOpen(path, edited(i)); service.hypercallSites(path); });
  service.project.setOpen(path, edited(0));
  service.hypercallSites(path);
  const sitesOnly = await time(runs, () => m.findHypercallSites(service.index(path), service.symbols(path)));
  service.project.setOpen(path, text);
  await service.analyze();
  const where = lines.findIndex((l) => l === '    int 0x82');
  const range = { start: { line: 0, character: 0 }, end: { line: lines.length, character: 0 } };
  const hover = await time(runs, () => m.hover(service, path, where, 5));
  const hoverNumber = await time(runs, () => m.hover(service, path, where + 1, 13));
  const complete = await time(runs, () => m.completion(service, path, where, 4));
  const hints = await time(runs, () => m.inlayHints(service.hypercallSites(path), range));
  const symbols = await time(runs, () => m.documentSymbols(service.index(path), () => false));
  const refs = await time(runs, () => m.references(service, path, where - 3, 13, true));
  const sitesCount = service.hypercallSites(path).length;

  console.log(`In process, ${lines.length - 1} lines, ${sitesCount} hypercall sites (median of ${runs}):`);
  row('re-index after a one-character edit', fmt(index));
  row('full analysis (index, assembly, sites)', fmt(analyze));
  row('analysis after an edit in a comment', `${fmt(comment)} (the last assembly is reused)`);
  row('index, names and hypercall sites after an edit', `${fmt(sites)} (of which the sites: ${fmt(sitesOnly)})`);
  row('hover on an instruction / a number', `${fmt(hover)} / ${fmt(hoverNumber)}`);
  row('completion in an operand', fmt(complete));
  row('inlay hints for the whole file', fmt(hints));
  row('document symbols', fmt(symbols));
  row('references of a constant', fmt(refs));
}

/** A tiny LSP client over the bundled server's stdio. */
function startServer() {
  const child = spawn(process.execPath, [join(root, 'dist', 'lsp.js'), '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let buffer = Buffer.alloc(0);
  let id = 0;
  const pending = new Map();
  const listeners = [];
  child.stdout.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      const header = buffer.indexOf('\r\n\r\n');
      if (header < 0) return;
      const length = Number(/Content-Length: (\d+)/i.exec(buffer.subarray(0, header).toString())[1]);
      if (buffer.length < header + 4 + length) return;
      const msg = JSON.parse(buffer.subarray(header + 4, header + 4 + length).toString());
      buffer = buffer.subarray(header + 4 + length);
      if (msg.id !== undefined && pending.has(msg.id)) { pending.get(msg.id)(msg.result); pending.delete(msg.id); } else listeners.forEach((l) => l(msg));
    }
  });
  const send = (msg) => { const s = JSON.stringify({ jsonrpc: '2.0', ...msg }); child.stdin.write(`Content-Length: ${Buffer.byteLength(s)}\r\n\r\n${s}`); };
  return {
    request: (method, params) => new Promise((r) => { const n = ++id; pending.set(n, r); send({ id: n, method, params }); }),
    notify: (method, params) => send({ method, params }),
    next: (method) => new Promise((r) => { const l = (m) => { if (m.method === method) { listeners.splice(listeners.indexOf(l), 1); r(m.params); } }; listeners.push(l); }),
    stop: () => child.kill(),
  };
}

async function overStdio(path, text) {
  const debounceMs = 50;
  const server = startServer();
  try {
    await server.request('initialize', { processId: process.pid, rootUri: null, capabilities: {}, initializationOptions: { debounceMs } });
    server.notify('initialized', {});
    const uri = pathToFileURL(path).href;
    const first = server.next('textDocument/publishDiagnostics');
    server.notify('textDocument/didOpen', { textDocument: { uri, languageId: 'nasm', version: 1, text } });
    await first;
    const lines = text.split('\n');
    const editLine = lines.findIndex((l) => l === '    dec ecx');
    let version = 1;
    // Each keystroke toggles an error on, then off, so each one publishes new diagnostics.
    const type = () => server.notify('textDocument/didChange', {
      textDocument: { uri, version: ++version },
      contentChanges: [{ range: { start: { line: editLine, character: 4 }, end: { line: editLine, character: 7 } }, text: version % 2 ? 'dec' : 'dex' }],
    });
    const keystroke = async () => {
      const wait = server.next('textDocument/publishDiagnostics');
      type();
      await wait;
    };
    for (let i = 0; i < 4; i++) await keystroke();
    const latency = (await time(runs, keystroke)) - debounceMs;
    // A hover sent right after a keystroke, while the worker assembles.
    const hovers = [];
    for (let i = 0; i < runs; i++) {
      const wait = server.next('textDocument/publishDiagnostics');
      type();
      await new Promise((r) => setTimeout(r, debounceMs + 5));
      const t0 = performance.now();
      await server.request('textDocument/hover', { textDocument: { uri }, position: { line: editLine + 4, character: 5 } });
      hovers.push(performance.now() - t0);
      await wait;
    }
    console.log(`Over stdio (dist/lsp.js, assembling in a worker; median of ${runs}):`);
    row('keystroke to diagnostics, debounce excluded', fmt(latency));
    row('hover answered during the assembly', fmt(median(hovers)));
  } finally {
    server.stop();
  }
}

try {
  const path = join(work, 'kernel.asm');
  const text = generateKernel(10_000);
  writeFileSync(path, text);
  await inProcess(path, text);
  await overStdio(path, text);
} finally {
  rmSync(work, { recursive: true, force: true });
}
