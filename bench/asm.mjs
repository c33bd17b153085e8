// Assembler speed: lines per second of the built-in assembler (in this process, from the
// bundled dist/asm.js) beside nasm 2.16.01 on the same generated kernel-like source, and the
// time to assemble a 10,000-line kernel (the language server re-assembles on every keystroke).
// Run after `npm run build`: node bench/asm.mjs [--quick]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { assemble } = require(join(root, 'dist', 'asm.js'));
const quick = process.argv.includes('--quick');

/**
 * A kernel-like source of about `lines` lines: functions with local labels, forward calls,
 * memory operands, constants, a macro, strings and tables, in a text and a bss section.
 */
function generateSource(lines) {
  const out = [
    'bits 32',
    'org 0x100000',
    '%macro outb 2',
    '    mov dx, %1',
    '    mov al, %2',
    '    out dx, al',
    '%endmacro',
    '',
  ];
  const blocks = Math.max(1, Math.round((lines - 12) / 31));
  for (let n = 0; n < blocks; n++) {
    const next = (n + 1) % blocks;
    out.push(
      `LIMIT_${n} equ ${n % 97} * 4 + 8        ; a constant`,
      `func_${n}:`,
      '    push ebp',
      '    mov ebp, esp',
      '    push esi',
      '    mov eax, [ebp + 8]',
      '    mov ecx, [ebp + 12]',
      '    xor edx, edx',
      '.loop:',
      `    add eax, [table_${n} + ecx*4]`,
      '    xor edx, eax',
      '    shl edx, 3',
      '    inc ecx',
      `    cmp ecx, LIMIT_${n}`,
      '    jb .loop',
      `    mov esi, msg_${n}`,
      `    mov dword [counters + ${(n % 64) * 4}], eax`,
      '    test al, 0x20',
      '    jz .skip',
      `    outb 0x3F8, ${n % 256}`,
      '.skip:',
      `    call func_${next}`,
      `    lea edi, [esi + ebx*2 + ${n}]`,
      '    pop esi',
      '    pop ebp',
      '    ret',
      `table_${n}: dd ${n}, ${n * 3}, func_${n}, func_${next}`,
      `msg_${n}: db "function ${n}", 10, 0`,
      '    align 4',
      '',
    );
  }
  out.push('section .bss', 'counters: resd 64', 'stack: resb 4096');
  return out.join('\n') + '\n';
}

const work = mkdtempSync(join(tmpdir(), 'vtscope-asm-bench-'));

function nodeHost() {
  const read = (p) => {
    try {
      return readFileSync(p, 'utf8');
    } catch {
      return undefined;
    }
  };
  return { readFile: read, resolve: (from, name) => resolve(dirname(from), name) };
}

/** Median wall time of `runs` runs of fn, in milliseconds. */
function median(runs, fn) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** vtscope in this process (after warming up the JIT), nasm as a process, start-up included. */
function measure(lines, runs) {
  const host = nodeHost();
  const src = join(work, `gen-${lines}.asm`);
  writeFileSync(src, generateSource(lines));
  let result;
  for (let i = 0; i < 3; i++) result = assemble(src, host);
  if (!result.ok) throw new Error(`vtscope failed: ${result.diagnostics[0]?.message}`);
  const vtscopeMs = median(runs, () => { result = assemble(src, host); });
  const out = join(work, 'out.bin');
  const nasmMs = median(runs, () => {
    const r = spawnSync('nasm', ['-f', 'bin', src, '-o', out]);
    if (r.status !== 0) throw new Error(`nasm failed: ${r.stderr}`);
  });
  const identical = Buffer.compare(Buffer.from(result.binary), readFileSync(out)) === 0;
  const count = readFileSync(src, 'utf8').split('\n').length - 1;
  return { count, vtscopeMs, nasmMs, identical };
}

function report(label, m) {
  const rate = (ms) => Math.round(m.count / (ms / 1000)).toLocaleString('en-US');
  console.log(`${label}: ${m.count} lines, output ${m.identical ? 'identical to nasm' : 'DIFFERENT from nasm'}`);
  console.log(`  vtscope ${m.vtscopeMs.toFixed(1)} ms (${rate(m.vtscopeMs)} lines/s)`);
  console.log(`  nasm    ${m.nasmMs.toFixed(1)} ms (${rate(m.nasmMs)} lines/s, process start included)`);
  console.log(`  time vtscope/nasm ${(m.vtscopeMs / m.nasmMs).toFixed(2)}`);
}

try {
  execFileSync('nasm', ['-v']);
  report('50,000-line source', measure(50_000, quick ? 3 : 7));
  report('10,000-line kernel', measure(10_000, quick ? 5 : 15));
} finally {
  rmSync(work, { recursive: true, force: true });
}
