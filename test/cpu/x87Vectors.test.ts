// The x87 vectors of test/vectors/x87.json (measured on the host processor by
// test/vectors/gen/generate-x87.mjs) run on vtscope's CPU, interpreted and as compiled blocks:
// the same snippet with ESI at the same data block must leave the same FNSAVE image (status
// word but for the bits the SDM leaves undefined, tag word, FOP, every register in use), the
// same memory operand, EFLAGS status flags and AX.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { execSnippet, makeCpu, resetCpu } from './harness';

const DATA = 0x20000;
const STATUS_FLAGS = 0x8d5;

interface Layout { cw: number; eflags: number; stack: number; save: number; eflagsOut: number; eaxOut: number; mem: number }
interface Form { text: string; depth: number; mem: number; ignore: [number, number][]; code: Uint8Array }
interface Out { sw: number; tw: number; fop: number; st: string[]; mem: string; eflags: number; ax: number }
interface Vector { form: Form; cw: number; eflags: number; stack: string[]; mem: string; ignore: [number, number][]; out: Out }
interface Group { name: string; undefinedSw: number; vectors: Vector[] }

class VectorFileError extends Error {}

const FILE = new URL('../vectors/x87.json', import.meta.url);

function num(v: unknown, where: string): number {
  if (typeof v !== 'string' || !/^0x[0-9a-f]{1,8}$/.test(v)) throw new VectorFileError(`${FILE.pathname}: ${where}: ${JSON.stringify(v)} is not a hex number`);
  return Number(v);
}

function str(v: unknown, pattern: RegExp, where: string): string {
  if (typeof v !== 'string' || !pattern.test(v)) throw new VectorFileError(`${FILE.pathname}: ${where}: ${JSON.stringify(v)} is malformed`);
  return v;
}

const F80_TEXT = /^[0-9a-f]{4}:[0-9a-f]{16}$/;
const HEX_BYTES = /^(?:[0-9a-f]{2})*$/;

function load(): { layout: Layout; groups: Group[] } {
  let json: { layout: Record<string, unknown>; groups: Record<string, unknown>[] };
  try {
    json = JSON.parse(readFileSync(FILE, 'utf8'));
  } catch (e) {
    throw new VectorFileError(`${FILE.pathname}: ${(e as Error).message}`);
  }
  const l = json.layout;
  const layout: Layout = {
    cw: num(l.cw, 'layout'), eflags: num(l.eflags, 'layout'), stack: num(l.stack, 'layout'), save: num(l.save, 'layout'),
    eflagsOut: num(l.eflagsOut, 'layout'), eaxOut: num(l.eaxOut, 'layout'), mem: num(l.mem, 'layout'),
  };
  const groups = json.groups.map((g, gi) => {
    const where = `group ${gi} (${String(g.name)})`;
    const forms = (g.forms as Record<string, unknown>[]).map((f, fi): Form => ({
      text: String(f.text),
      depth: Number(f.depth),
      mem: Number(f.mem),
      ignore: (f.ignore as [number, number][] | undefined) ?? [],
      code: Uint8Array.from(Buffer.from(str(f.code, HEX_BYTES, `${where} form ${fi}`), 'hex')),
    }));
    const vectors = (g.vectors as Record<string, unknown>[]).map((v, vi): Vector => {
      const at = `${where} vector ${vi}`;
      const form = forms[Number(v.form)];
      if (form === undefined) throw new VectorFileError(`${FILE.pathname}: ${at}: no form ${String(v.form)}`);
      const o = v.out as Record<string, unknown>;
      return {
        form,
        cw: num(v.cw, at),
        eflags: v.eflags === undefined ? 0x2 : num(v.eflags, at),
        stack: (v.stack as unknown[]).map((s) => str(s, F80_TEXT, at)),
        mem: v.mem === undefined ? '' : str(v.mem, HEX_BYTES, at),
        ignore: (v.ignore as [number, number][] | undefined) ?? [],
        out: {
          sw: num(o.sw, at), tw: num(o.tw, at), fop: num(o.fop, at),
          st: (o.st as unknown[]).map((s) => (s === '' ? '' : str(s, F80_TEXT, at))),
          mem: o.mem === undefined ? '' : str(o.mem, HEX_BYTES, at),
          eflags: o.eflags === undefined ? 0 : num(o.eflags, at),
          ax: o.ax === undefined ? 0 : num(o.ax, at),
        },
      };
    });
    return { name: String(g.name), undefinedSw: num(g.undefinedSw, where), vectors };
  });
  return { layout, groups };
}

const { layout: L, groups } = load();
const cpu = makeCpu();

function f80Bytes(text: string): Buffer {
  const [se, sig] = text.split(':');
  return Buffer.from((se + sig).match(/../g)!.reverse().join(''), 'hex');
}

function f80Text(b: Uint8Array, at: number): string {
  const buf = Buffer.from(b.buffer, b.byteOffset + at, 10);
  return `${buf.readUInt16LE(8).toString(16).padStart(4, '0')}:${buf.readBigUInt64LE(0).toString(16).padStart(16, '0')}`;
}

/** Runs one vector and lists what differs from the host's result. */
function differences(v: Vector, undefinedSw: number, compiled: boolean): string[] {
  resetCpu(cpu);
  const ram = cpu.ram;
  const size = L.mem + v.form.mem;
  ram.fill(0, DATA, DATA + size);
  const view = Buffer.from(ram.buffer, ram.byteOffset + DATA, size);
  view.writeUInt16LE(v.cw, L.cw);
  view.writeUInt32LE(v.eflags, L.eflags);
  v.stack.forEach((s, k) => f80Bytes(s).copy(view, L.stack + 10 * k));
  Buffer.from(v.mem, 'hex').copy(view, L.mem);
  const r = execSnippet(v.form.code, { esi: DATA, eax: 0x5a5a5a5a }, cpu, compiled ? { compileAfter: 0 } : {});
  const found: string[] = [];
  if (r.fault !== undefined) return [`fault vector ${r.fault}`];
  const save = L.save;
  const hexw = (n: number) => `0x${n.toString(16)}`;
  const sw = view.readUInt16LE(save + 4), tw = view.readUInt16LE(save + 8);
  if (((sw ^ v.out.sw) & ~undefinedSw & 0xffff) !== 0) found.push(`sw ${hexw(sw)}, host ${hexw(v.out.sw)}`);
  if (tw !== v.out.tw) found.push(`tw ${hexw(tw)}, host ${hexw(v.out.tw)}`);
  const fop = view.readUInt16LE(save + 18) & 0x7ff;
  if (fop !== v.out.fop) found.push(`fop ${hexw(fop)}, host ${hexw(v.out.fop)}`);
  v.out.st.forEach((expected, i) => {
    const actual = f80Text(ram, DATA + save + 28 + 10 * i);
    if (expected !== '' && actual !== expected) found.push(`st${i} ${actual}, host ${expected}`);
  });
  const mem = Buffer.from(view.subarray(L.mem, L.mem + v.form.mem));
  const hostMem = Buffer.from(v.out.mem, 'hex');
  for (const [a, b] of [...v.form.ignore, ...v.ignore]) { mem.fill(0, a, b); hostMem.fill(0, a, b); }
  if (!mem.equals(hostMem)) found.push(`mem ${mem.toString('hex')}, host ${hostMem.toString('hex')}`);
  const eflags = view.readUInt32LE(L.eflagsOut) & STATUS_FLAGS;
  if (eflags !== v.out.eflags) found.push(`eflags ${hexw(eflags)}, host ${hexw(v.out.eflags)}`);
  const ax = view.readUInt16LE(L.eaxOut);
  if (ax !== v.out.ax) found.push(`ax ${hexw(ax)}, host ${hexw(v.out.ax)}`);
  return found;
}

const SHOWN = 5;

for (const compiled of [false, true]) {
  describe(`x87.json ${compiled ? 'compiled' : 'interpreted'}`, () => {
    for (const group of groups) {
      it(`${group.name} (${group.vectors.length} vectors)`, () => {
        const reports: string[] = [];
        let failed = 0;
        for (const v of group.vectors) {
          const found = differences(v, group.undefinedSw, compiled);
          if (found.length === 0) continue;
          failed++;
          if (reports.length < SHOWN) {
            reports.push(`  ${v.form.text.replace(/\n/g, '; ')}  cw=0x${v.cw.toString(16)} stack=[${v.stack.join(' ')}]` +
              `${v.mem === '' ? '' : ` mem=${v.mem}`}\n    ${found.join('\n    ')}`);
          }
        }
        expect(failed, `${group.name}: ${failed} of ${group.vectors.length} vectors differ; the first ${reports.length}:\n${reports.join('\n')}\n`).toBe(0);
      });
    }
  });
}
