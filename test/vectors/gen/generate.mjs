// Writes test/vectors/*.json: every case from cases.mjs, assembled by nasm and
// run on the host processor, with the bits the SDM leaves undefined masked out.
//
//   node test/vectors/gen/generate.mjs
//
// Needs nasm and gcc with 32-bit support (gcc-multilib) on an x86 host.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCases } from './cases.mjs';
import { assemble, buildRunner, runOnHost } from './host.mjs';
import { DF, STATUS_FLAGS, undefinedFlags, undefinedResult } from './sdm-undefined.mjs';

const OUT_DIR = new URL('..', import.meta.url).pathname;
const RECORDED_FLAGS = STATUS_FLAGS | DF;
const EFLAGS_BIT1 = 0x2; // reserved, always 1
const HOST_USER_FLAGS = 0x202; // what ring 3 on the host always shows besides RECORDED_FLAGS: IF and bit 1

const ABOUT = 'x86 instruction vectors measured on the host processor (see README.md). ' +
  '"in" and "out" list the form\'s regs, then EFLAGS. Bits named in "undefined" (the group\'s, ' +
  'or the vector\'s own where given) are undefined by the Intel SDM and recorded as 0.';

const hex = (v) => '0x' + (v >>> 0).toString(16);

function main() {
  const groups = buildCases();
  const texts = [...new Set(groups.flatMap((g) => g.vectors.map((v) => v.text)))];
  const workDir = mkdtempSync(join(tmpdir(), 'vectors-'));
  let codes, results;
  try {
    codes = assemble(texts, workDir);
    const exe = buildRunner(workDir);
    const jobs = groups.flatMap((g) => g.vectors.map((v) => ({ code: codes.get(v.text), input: v.input, eflags: v.eflags })));
    results = runOnHost(exe, jobs);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }

  const files = new Map();
  let next = 0;
  for (const group of groups) {
    const recorded = group.vectors.map((v) => record(group, v, results[next++]));
    if (!files.has(group.file)) files.set(group.file, []);
    files.get(group.file).push(groupJson(group, recorded, codes));
  }
  for (const [file, groupTexts] of files) {
    const path = join(OUT_DIR, `${file}.json`);
    const text = `{\n  "about": ${JSON.stringify(ABOUT)},\n  "groups": [\n${groupTexts.join(',\n')}\n  ]\n}\n`;
    writeFileSync(path, text);
    const count = groupTexts.reduce((n, g) => n + (g.match(/"form":/g)?.length ?? 0), 0);
    console.log(`${path}: ${groupTexts.length} groups, ${count} vectors, ${text.length} bytes`);
  }
}

/** Checks one host result against what the case expects and masks what the SDM leaves undefined. */
function record(group, v, result) {
  const where = `${group.name}: "${v.text}" with ${v.regs.map((r) => `${r}=${hex(v.input[r])}`).join(' ')} eflags=${hex(v.eflags)}`;
  if (group.expectFault) {
    if (result.fault !== 0) throw new Error(`${where}: expected #DE, but it ran on the host`);
    for (const r of v.regs) {
      if (result.regs[r] !== v.input[r]) throw new Error(`${where}: ${r} changed before #DE`);
    }
    if ((result.eflags & RECORDED_FLAGS) !== (v.eflags & RECORDED_FLAGS)) throw new Error(`${where}: flags changed before #DE`);
    return { v, out: v.regs.map((r) => v.input[r]), eflags: v.eflags, undef: {} };
  }
  if (result.fault !== undefined) throw new Error(`${where}: faulted on the host (vector ${result.fault})`);
  if ((result.eflags & ~RECORDED_FLAGS) !== HOST_USER_FLAGS) {
    throw new Error(`${where}: host EFLAGS ${hex(result.eflags)} has unexpected system bits`);
  }
  const undef = undefinedBits(group, v);
  const out = v.regs.map((r) => (result.regs[r] & ~(undef[r] ?? 0)) >>> 0);
  const eflags = (((result.eflags & RECORDED_FLAGS) | EFLAGS_BIT1) & ~(undef.eflags ?? 0)) >>> 0;
  return { v, out, eflags, undef };
}

/** { eflags?: bits, [register]?: bits } that the SDM leaves undefined for this vector. */
function undefinedBits(group, v) {
  const rule = undefinedFlags[group.mnemonic];
  if (!rule) throw new Error(`sdm-undefined.mjs has no flag rule for ${group.mnemonic}`);
  const facts = { size: group.size, count: v.info.count, source: v.info.source };
  const undef = {};
  const flags = rule(facts);
  if (flags) undef.eflags = flags;
  const resultRule = undefinedResult[group.mnemonic];
  const bits = resultRule ? resultRule(facts) : 0;
  if (bits) undef[v.info.dest.reg] = (bits << v.info.dest.shift) >>> 0;
  return undef;
}

function groupJson(group, recorded, codes) {
  const forms = [];
  const formIndex = new Map();
  for (const { v } of recorded) {
    if (!formIndex.has(v.text)) {
      formIndex.set(v.text, forms.length);
      forms.push({ text: v.text, code: codes.get(v.text), regs: v.regs });
    }
  }
  const undefinedJson = (undef) => JSON.stringify(Object.fromEntries(Object.entries(undef).map(([k, b]) => [k, hex(b)])));
  const tally = new Map();
  for (const r of recorded) {
    const key = undefinedJson(r.undef);
    tally.set(key, (tally.get(key) ?? 0) + 1);
  }
  const usual = [...tally].sort((a, b) => b[1] - a[1])[0][0];
  const vectorLines = recorded.map(({ v, out, eflags, undef }) => {
    const own = undefinedJson(undef);
    const fields = [
      `"form": ${formIndex.get(v.text)}`,
      `"in": ${JSON.stringify([...v.regs.map((r) => hex(v.input[r])), hex(v.eflags)])}`,
      `"out": ${JSON.stringify([...out.map(hex), hex(eflags)])}`,
      ...(own === usual ? [] : [`"undefined": ${own}`]),
    ];
    return `        {${fields.join(', ')}}`;
  });
  return [
    '    {',
    `      "name": ${JSON.stringify(group.name)},`,
    ...(group.expectFault ? ['      "fault": 0,'] : []),
    '      "forms": [',
    forms.map((f) => `        ${JSON.stringify(f)}`).join(',\n'),
    '      ],',
    `      "undefined": ${usual},`,
    '      "vectors": [',
    vectorLines.join(',\n'),
    '      ]',
    '    }',
  ].join('\n');
}

main();
