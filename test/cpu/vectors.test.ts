// Runs the instruction vectors of test/vectors/*.json (measured on a real x86,
// see test/vectors/README.md) through the interpreter, one `it` per instruction
// and operand size.  Bits the Intel SDM leaves undefined are not compared.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { execSnippet, type SnippetResult, type SnippetState } from './harness';

const FILES = ['alu', 'shift', 'muldiv', 'bcd', 'bit', 'misc', 'divide-error'];

const GENERAL = ['eax', 'ecx', 'edx', 'ebx', 'ebp', 'esi', 'edi'] as const;
type Register = (typeof GENERAL)[number];
type Location = Register | 'eflags';

/** Values for the registers a vector does not use; they must come back unchanged. */
const SENTINEL: Record<Register, number> = {
  eax: 0x1a1a1a1a, ecx: 0x2b2b2b2b, edx: 0x3c3c3c3c, ebx: 0x4d4d4d4d,
  ebp: 0x5e5e5e5e, esi: 0x6f6f6f6f, edi: 0x70707070,
};

interface Form { text: string; code: Uint8Array; regs: Register[] }
type UndefinedBits = Partial<Record<Location, number>>;
interface Vector { form: Form; input: number[]; output: number[]; undefinedBits: UndefinedBits }
interface Group { name: string; fault?: number; vectors: Vector[] }

// ------------------------------------------------------------------ loading

class VectorFileError extends Error {}

function loadGroups(file: string): Group[] {
  const url = new URL(`../vectors/${file}.json`, import.meta.url);
  const where = url.pathname;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(url, 'utf8'));
  } catch (e) {
    throw new VectorFileError(`${where}: ${(e as Error).message}`);
  }
  const groups = field(json, 'groups', where);
  if (!Array.isArray(groups)) throw new VectorFileError(`${where}: "groups" is not an array`);
  return groups.map((g, i) => parseGroup(g, `${where} group ${i}`));
}

function field(obj: unknown, key: string, where: string): unknown {
  if (typeof obj !== 'object' || obj === null || !(key in obj)) {
    throw new VectorFileError(`${where}: missing "${key}"`);
  }
  return (obj as Record<string, unknown>)[key];
}

function hexNumber(v: unknown, where: string): number {
  if (typeof v !== 'string' || !/^0x[0-9a-f]{1,8}$/.test(v)) throw new VectorFileError(`${where}: ${JSON.stringify(v)} is not a 32-bit hex value`);
  return Number(v);
}

function hexList(v: unknown, length: number, where: string): number[] {
  if (!Array.isArray(v) || v.length !== length) throw new VectorFileError(`${where}: expected ${length} hex values`);
  return v.map((x) => hexNumber(x, where));
}

function parseUndefined(v: unknown, where: string): UndefinedBits {
  if (typeof v !== 'object' || v === null) throw new VectorFileError(`${where}: "undefined" is not an object`);
  const bits: UndefinedBits = {};
  for (const [key, value] of Object.entries(v)) {
    if (key !== 'eflags' && !(GENERAL as readonly string[]).includes(key)) throw new VectorFileError(`${where}: "undefined" names unknown location ${key}`);
    bits[key as Location] = hexNumber(value, where);
  }
  return bits;
}

function parseForm(f: unknown, where: string): Form {
  const text = field(f, 'text', where);
  const code = field(f, 'code', where);
  const regs = field(f, 'regs', where);
  if (typeof text !== 'string') throw new VectorFileError(`${where}: "text" is not a string`);
  if (typeof code !== 'string' || !/^([0-9a-f]{2})+$/.test(code)) throw new VectorFileError(`${where}: "code" is not hex bytes`);
  if (!Array.isArray(regs) || !regs.every((r) => (GENERAL as readonly unknown[]).includes(r))) {
    throw new VectorFileError(`${where}: "regs" must list general registers`);
  }
  return { text, code: Uint8Array.from(Buffer.from(code, 'hex')), regs: regs as Register[] };
}

function parseGroup(g: unknown, where: string): Group {
  const name = field(g, 'name', where);
  if (typeof name !== 'string') throw new VectorFileError(`${where}: "name" is not a string`);
  const at = `${where} (${name})`;
  const forms = field(g, 'forms', at);
  const vectors = field(g, 'vectors', at);
  if (!Array.isArray(forms) || !Array.isArray(vectors)) throw new VectorFileError(`${at}: "forms" and "vectors" must be arrays`);
  const parsedForms = forms.map((f, i) => parseForm(f, `${at} form ${i}`));
  const usual = parseUndefined(field(g, 'undefined', at), at);
  const fault = typeof g === 'object' && g !== null && 'fault' in g ? (g as { fault: unknown }).fault : undefined;
  if (fault !== undefined && typeof fault !== 'number') throw new VectorFileError(`${at}: "fault" is not a number`);
  return {
    name,
    fault,
    vectors: vectors.map((v, i) => {
      const vw = `${at} vector ${i}`;
      const index = field(v, 'form', vw);
      const form = typeof index === 'number' ? parsedForms[index] : undefined;
      if (!form) throw new VectorFileError(`${vw}: "form" ${String(index)} does not exist`);
      const own = typeof v === 'object' && v !== null && 'undefined' in v;
      return {
        form,
        input: hexList(field(v, 'in', vw), form.regs.length + 1, vw),
        output: hexList(field(v, 'out', vw), form.regs.length + 1, vw),
        undefinedBits: own ? parseUndefined((v as { undefined: unknown }).undefined, vw) : usual,
      };
    }),
  };
}

// ------------------------------------------------------------------ checking

const FLAG_NAMES: [number, string][] = [
  [0x1, 'CF'], [0x4, 'PF'], [0x10, 'AF'], [0x40, 'ZF'], [0x80, 'SF'], [0x100, 'TF'], [0x200, 'IF'],
  [0x400, 'DF'], [0x800, 'OF'], [0x4000, 'NT'], [0x10000, 'RF'], [0x20000, 'VM'], [0x40000, 'AC'],
];
const EFLAGS_FIXED_ONE = 0x2;

function flagNames(bits: number): string {
  const names = FLAG_NAMES.filter(([bit]) => bits & bit).map(([, name]) => name);
  const known = FLAG_NAMES.reduce((m, [bit]) => m | bit, EFLAGS_FIXED_ONE);
  for (let bit = 0; bit < 32; bit++) if ((bits & ~known) & (1 << bit)) names.push(`bit${bit}`);
  return names.join(' ');
}

const hex = (v: number) => '0x' + (v >>> 0).toString(16).padStart(8, '0');
const showFlags = (v: number) => `eflags=${hex(v)} (${flagNames(v) || 'no flags'})`;

function inputState(vector: Vector): SnippetState {
  const state: SnippetState = { ...SENTINEL };
  vector.form.regs.forEach((r, i) => { state[r] = vector.input[i]; });
  state.eflags = vector.input[vector.form.regs.length];
  return state;
}

/** What differs between the expected and actual state, outside the undefined bits; [] if nothing. */
function differences(group: Group, vector: Vector, actual: SnippetResult): string[] {
  const found: string[] = [];
  if (actual.fault !== group.fault) {
    const show = (f: number | undefined) => (f === undefined ? 'no fault' : `fault vector ${f}`);
    found.push(`${show(group.fault)} expected, ${show(actual.fault)} raised`);
  }
  const { regs } = vector.form;
  regs.forEach((r, i) => {
    const diff = ((actual[r] ^ vector.output[i]) & ~(vector.undefinedBits[r] ?? 0)) >>> 0;
    if (diff) found.push(`${r} bits ${hex(diff)}`);
  });
  for (const r of GENERAL) {
    if (!regs.includes(r) && actual[r] >>> 0 !== SENTINEL[r]) found.push(`${r} (not an operand) changed`);
  }
  const flagDiff = ((actual.eflags ^ vector.output[regs.length]) & ~(vector.undefinedBits.eflags ?? 0)) >>> 0;
  if (flagDiff) found.push(`eflags ${flagNames(flagDiff)}`);
  return found;
}

function describeMismatch(vector: Vector, actual: SnippetResult, found: string[]): string {
  const { text, code, regs } = vector.form;
  const state = (values: number[]) => regs.map((r, i) => `${r}=${hex(values[i])}`).join(' ') + ' ' + showFlags(values[regs.length]);
  const undefinedText = Object.entries(vector.undefinedBits)
    .map(([loc, bits]) => (loc === 'eflags' ? flagNames(bits) : `${loc} ${hex(bits)}`)).join(', ');
  return [
    `  ${text}    [${Buffer.from(code).toString('hex').replace(/(..)(?!$)/g, '$1 ')}]`,
    `    in        ${state(vector.input)}`,
    `    expected  ${state(vector.output)}${undefinedText ? `   undefined: ${undefinedText}` : ''}`,
    `    actual    ${regs.map((r) => `${r}=${hex(actual[r])}`).join(' ')} ${showFlags(actual.eflags)}` +
      (actual.fault === undefined ? '' : `   fault ${actual.fault}`),
    `    differs   ${found.join('; ')}`,
  ].join('\n');
}

const SHOWN_MISMATCHES = 4;

function runGroup(group: Group, compiled: boolean): void {
  const reports: string[] = [];
  let failed = 0;
  for (const vector of group.vectors) {
    const actual = execSnippet(vector.form.code, inputState(vector), undefined, compiled ? { compileAfter: 0 } : {});
    const found = differences(group, vector, actual);
    if (found.length === 0) continue;
    failed++;
    if (reports.length < SHOWN_MISMATCHES) reports.push(describeMismatch(vector, actual, found));
  }
  const summary = `${group.name}: ${failed} of ${group.vectors.length} vectors differ; the first ${reports.length}:\n${reports.join('\n')}\n`;
  expect(failed, summary).toBe(0);
}

// Each vector runs in the interpreter and as a compiled block (with inline code where the
// block compiler has it), which must agree with the hardware alike.
for (const file of FILES) {
  for (const compiled of [false, true]) {
    describe(`${file}.json ${compiled ? 'compiled' : 'interpreted'}`, () => {
      for (const group of loadGroups(file)) {
        it(`${group.name} (${group.vectors.length} vectors)`, () => runGroup(group, compiled));
      }
    });
  }
}
