// Writes test/vectors/x87.json: every case of x87-cases.mjs assembled by nasm and run on the
// host processor (run-x87-on-host.c), the FPU state after it taken from FNSAVE.
//
//   node test/vectors/gen/generate-x87.mjs
//
// Needs nasm and gcc with 32-bit support (gcc-multilib) on an x86 host.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assemble } from './host.mjs';
import { buildGroups, LAYOUT } from './x87-cases.mjs';

const OUT = new URL('../x87.json', import.meta.url).pathname;
const STATUS_FLAGS = 0x8d5;
const TAG_EMPTY = 3;

const ABOUT = 'x87 vectors measured on the host processor (see README.md). Each form\'s code loads the ' +
  'control word, EFLAGS and the stack (ST(0) first) from a data block at ESI, runs the instruction and ' +
  'stores the FPU state with FNSAVE; "out" is that state: status and tag word, FOP, the registers in ' +
  'stack order ("" where empty, trailing empties left out), memory, EFLAGS status flags and AX. Left out: ' +
  'mem when none, eflags 0x2 in and 0x0 out, ax 0x0. Status-word bits in "undefinedSw" ' +
  'are undefined by the Intel SDM and not compared; memory byte ranges in "ignore" (a form\'s and a ' +
  'vector\'s own) hold host addresses or the stale contents of empty registers.';

/** The snippet of a form: prologue, the instruction text, epilogue. */
function snippet(form) {
  const loads = [];
  for (let k = form.depth - 1; k >= 0; k--) loads.push(`fld tword [esi+0x${(LAYOUT.stack + 10 * k).toString(16)}]`);
  return [
    'fninit', `fldcw [esi+0x${LAYOUT.cw.toString(16)}]`, 'xor eax, eax', `push dword [esi+0x${LAYOUT.eflags.toString(16)}]`, 'popfd',
    ...loads, form.text, `fnsave [esi+0x${LAYOUT.save.toString(16)}]`, 'pushfd', `pop dword [esi+0x${LAYOUT.eflagsOut.toString(16)}]`,
    `mov [esi+0x${LAYOUT.eaxOut.toString(16)}], eax`,
  ].join('\n');
}

/** "seee:ssssssssssssssss" as the ten bytes of memory. */
function f80Bytes(v) {
  const [se, sig] = v.split(':');
  return Buffer.from((se + sig).match(/../g).reverse().join(''), 'hex');
}

function dataBlock(form, v) {
  const block = Buffer.alloc(LAYOUT.mem + (form.mem ?? 0));
  block.writeUInt16LE(v.cw, LAYOUT.cw);
  block.writeUInt32LE(v.eflags, LAYOUT.eflags);
  v.stack.forEach((s, k) => f80Bytes(s).copy(block, LAYOUT.stack + 10 * k));
  Buffer.from(v.mem, 'hex').copy(block, LAYOUT.mem);
  return block;
}

function readOut(form, block) {
  const save = LAYOUT.save;
  const tw = block.readUInt16LE(save + 8);
  const sw = block.readUInt16LE(save + 4);
  const top = (sw >> 11) & 7;
  const st = [];
  for (let i = 0; i < 8; i++) {
    const empty = ((tw >> (2 * ((top + i) & 7))) & 3) === TAG_EMPTY;
    const at = save + 28 + 10 * i;
    st.push(empty ? '' : `${block.readUInt16LE(at + 8).toString(16).padStart(4, '0')}:${block.readBigUInt64LE(at).toString(16).padStart(16, '0')}`);
  }
  return {
    sw: hex(sw), tw: hex(tw), fop: hex(block.readUInt16LE(save + 18) & 0x7ff), st,
    mem: block.subarray(LAYOUT.mem, LAYOUT.mem + (form.mem ?? 0)).toString('hex'),
    eflags: hex(block.readUInt32LE(LAYOUT.eflagsOut) & STATUS_FLAGS),
    ax: hex(block.readUInt16LE(LAYOUT.eaxOut)),
  };
}

const hex = (v) => `0x${(v >>> 0).toString(16)}`;

/**
 * Byte ranges of the memory operand holding empty registers in an FXSAVE or FNSAVE image
 * there: their contents are whatever earlier code left, on the host and in vtscope alike.
 */
function emptySlots(form, mem) {
  const slots = [];
  if (/fxsave/.test(form.text)) {
    const top = (mem.readUInt16LE(2) >> 11) & 7, ftw = mem[4];
    for (let i = 0; i < 8; i++) if (((ftw >> ((top + i) & 7)) & 1) === 0) slots.push([32 + 16 * i, 42 + 16 * i]);
  } else if (/fnsave/.test(form.text)) {
    const top = (mem.readUInt16LE(4) >> 11) & 7, tw = mem.readUInt16LE(8);
    for (let i = 0; i < 8; i++) if (((tw >> (2 * ((top + i) & 7))) & 3) === TAG_EMPTY) slots.push([28 + 10 * i, 38 + 10 * i]);
  }
  return slots;
}

/** Leaves out what has its usual value: no memory, EFLAGS 0x2 in and 0x0 out, AX 0, trailing empty registers. */
function compact(o) {
  const c = { ...o };
  if (c.mem === '') delete c.mem;
  if (Array.isArray(c.ignore) && c.ignore.length === 0) delete c.ignore;
  if (c.eflags === (c.out ? '0x2' : '0x0')) delete c.eflags;
  if (c.ax === '0x0') delete c.ax;
  if (Array.isArray(c.st)) { while (c.st.length > 0 && c.st.at(-1) === '') c.st.pop(); }
  return c;
}

function main() {
  const groups = buildGroups();
  const work = mkdtempSync(join(tmpdir(), 'x87-vectors-'));
  try {
    const forms = groups.flatMap((g) => g.forms);
    const codes = assemble([...new Set(forms.map(snippet))], work);
    const exe = join(work, 'run-x87-on-host');
    execFileSync('gcc', ['-m32', '-O2', '-Wall', '-Wextra', '-Werror', '-fno-pie', '-no-pie', '-o', exe,
      new URL('./run-x87-on-host.c', import.meta.url).pathname], { stdio: 'inherit' });
    const jobs = groups.flatMap((g) => g.vectors.map((v) => {
      const form = g.forms[v.form];
      return `${codes.get(snippet(form))} ${dataBlock(form, v).toString('hex')}`;
    }));
    const run = spawnSync(exe, [], { input: jobs.join('\n') + '\n', encoding: 'utf8', maxBuffer: 1 << 28 });
    if (run.status !== 0) throw new Error(`${exe} failed (status ${run.status}): ${run.stderr}`);
    const results = run.stdout.trimEnd().split('\n');
    if (results.length !== jobs.length) throw new Error(`${results.length} results for ${jobs.length} snippets`);
    let next = 0;
    const groupTexts = groups.map((g) => {
      const vectorLines = g.vectors.map((v) => {
        const line = results[next++];
        const form = g.forms[v.form];
        if (!line.startsWith('ok ')) throw new Error(`${g.name}: "${form.text}" ${JSON.stringify(v)}: ${line}`);
        const block = Buffer.from(line.slice(3), 'hex');
        const ignore = emptySlots(form, block.subarray(LAYOUT.mem));
        // What is not compared is recorded as zeros, so a second run writes the same file.
        for (const [a, b] of [...(form.ignore ?? []), ...ignore]) block.fill(0, LAYOUT.mem + a, LAYOUT.mem + b);
        const out = readOut(form, block);
        return `        ${JSON.stringify(compact({ form: v.form, cw: hex(v.cw), eflags: hex(v.eflags), stack: v.stack, mem: v.mem, ignore, out: compact(out) }))}`;
      });
      const formsJson = g.forms.map((f) => `        ${JSON.stringify({ text: f.text, depth: f.depth, mem: f.mem ?? 0, ...(f.ignore ? { ignore: f.ignore } : {}), code: codes.get(snippet(f)) })}`);
      return [
        '    {',
        `      "name": ${JSON.stringify(g.name)},`,
        ...(g.note ? [`      "note": ${JSON.stringify(g.note)},`] : []),
        `      "undefinedSw": ${JSON.stringify(hex(g.undefinedSw))},`,
        '      "forms": [', formsJson.join(',\n'), '      ],',
        '      "vectors": [', vectorLines.join(',\n'), '      ]',
        '    }',
      ].join('\n');
    });
    const layout = Object.fromEntries(Object.entries(LAYOUT).map(([k, v]) => [k, hex(v)]));
    const text = `{\n  "about": ${JSON.stringify(ABOUT)},\n  "layout": ${JSON.stringify(layout)},\n  "groups": [\n${groupTexts.join(',\n')}\n  ]\n}\n`;
    writeFileSync(OUT, text);
    console.log(`${OUT}: ${groups.length} groups, ${jobs.length} vectors, ${text.length} bytes`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main();
