// The VMM options of `vtscope run` and `vtscope compare`, as a user runs them:
// `node dist/cli.js` (built by `npm run build`, which `npm test` runs first).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSamples } from '../../scripts/samples.mjs';
import type { ModeRow } from '../../src/cli/compareCommand';
import { addressOf, assembleFile } from './support';
import { cliIn, requireBuiltCli, type CliResult } from '../support/cli';

const HOLES_ASM = fileURLToPath(new URL('../../samples/holes.asm', import.meta.url));
let dir = '';
const image = (name: string) => join(dir, `${name}.bin`);

beforeAll(() => {
  requireBuiltCli();
  dir = mkdtempSync(join(tmpdir(), 'vtscope-vmm-cli-'));
  buildSamples({ outDir: dir, names: ['hello', 'pv-hello'] });
});
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

function vtscope(...args: string[]): CliResult { return cliIn(dir)(...args); }

function json(file: string) { return JSON.parse(readFileSync(join(dir, file), 'utf8')); }

describe('vtscope run --mode', () => {
  it('trap: native\'s output and status, a perf-kvm-stat-like table on stderr, the VMM\'s fields in --json', () => {
    const native = vtscope('run', image('hello'));
    const r = vtscope('run', image('hello'), '--mode', 'trap', '--stats', '--json', 'trap.json');
    expect(r.stdout).toBe(native.stdout);
    expect(r.status).toBe(native.status);
    expect(r.stderr).toMatch(/^vtscope trap: 1656 guest instructions, 196 VMM events, \d+ emulated cycles \(cost model p4-2006/);
    expect(r.stderr).toMatch(/\nevent +count +count% +cycles +cycles% +mean\n/);
    expect(r.stderr).toMatch(/\n#GP emulate OUT +100 +51\.02% +100000 +/);
    const report = json('trap.json');
    expect(report).toMatchObject({ exitCode: 1, mode: 'trap', costModel: 'p4-2006', hypercalls: [], holes: [] });
    expect(report.exits).toContainEqual({ number: null, name: '#GP emulate OUT', count: 100, cycles: 100000 });
    expect(report.exits).toContainEqual({ number: null, name: '#GP emulate IN', count: 93, cycles: 93000 });
    expect(report.cycles).toBeGreaterThan(report.instructions);
  });

  it('pv: the hypercalls by number and name in --json (fact sheet section 6)', () => {
    const r = vtscope('run', image('pv-hello'), '--mode', 'pv', '--json', 'pv.json');
    expect(r.status).toBe(1);
    expect(json('pv.json').hypercalls).toEqual([
      { number: 18, name: 'console_io', count: 9, cycles: 9 * 720 },
      { number: 29, name: 'sched_op', count: 1, cycles: 720 },
    ]);
  });

  it('pv on an unmodified kernel: exit status 10 and the first privileged instruction on stderr', () => {
    const r = vtscope('run', image('hello'), '--mode', 'pv');
    expect(r.status).toBe(10);
    expect(r.stderr).toMatch(/^vtscope: pv: the guest kernel executed `out dx,al` at 0x[0-9a-f]{8}, which faults in ring 1/);
  });

  it('trap on holes.asm: each hole in --json with its instruction, address and source line', () => {
    const { listing } = assembleFile(HOLES_ASM);
    const r = vtscope('run', HOLES_ASM, '--mode', 'trap', '--json', 'holes.json');
    expect(r.status).toBe(1);
    const holes = json('holes.json').holes;
    const line = (re: RegExp) => readFileSync(HOLES_ASM, 'latin1').split('\n').findIndex((l) => re.test(l)) + 1;
    expect(holes[0]).toEqual({
      instruction: 'popf', eip: addressOf(listing, /^popfd/), source: `holes.asm:${line(/^\s+popfd\s/)}`,
      count: 1, effect: 'POPF at CPL 1 dropped a change of IF from 0 to 1',
    });
    expect(holes.map((h: { source: string }) => h.source)).toEqual([
      `holes.asm:${line(/^\s+popfd\s/)}`, `holes.asm:${line(/^\s+sgdt /)}`, `holes.asm:${line(/^\s+smsw /)}`, `holes.asm:${line(/^\s+push cs/)}`,
    ]);
  });

  it('refuses unknown names with exit status 64', () => {
    expect(vtscope('run', image('hello'), '--mode', 'vmware').stderr).toMatch(/^vtscope: run: --mode must be one of native, trap, bt, pv, hw, not 'vmware'\n/);
    expect(vtscope('run', image('hello'), '--cost-model', 'p3')).toMatchObject({
      status: 64, stderr: expect.stringMatching(/^vtscope: run: unknown --cost-model 'p3' \(the presets are p4-2006, core-2006, nehalem-ept\)\n/),
    });
  });
});

describe('vtscope compare', () => {
  it('runs an ordinary kernel under native, trap, bt and hw: same output, same instructions, the overhead', () => {
    const r = vtscope('compare', image('hello'), '--json', 'compare.json');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\nmode +same output as native +instructions +VMM events +emulated cycles +overhead +holes\n/);
    expect(r.stdout).toMatch(/\nnative +yes +1656 +0 +\d+ +1\.00x +0\n/);
    expect(r.stdout).toMatch(/\ntrap +yes +1656 +196 +\d+ +\d+\.\d\dx +0\n/);
    const modes: ModeRow[] = json('compare.json').modes;
    const row = (mode: string) => modes.find((m) => m.mode === mode)!;
    expect(r.stdout).toMatch(/\nbt +yes +1656 +\d+ +\d+ +\d+\.\d\dx +0\n/);
    expect(r.stdout).toMatch(/\nhw \(shadow\) +yes +1656 +\d+ +\d+ +\d+\.\d\dx +0\n/);
    expect(r.stdout).toMatch(/\nhw \(ept\) +yes +1656 +\d+ +\d+ +\d+\.\d\dx +0\n/);
    expect(modes.map((m) => [m.mode, m.memVirt, m.ran])).toEqual([
      ['native', undefined, true], ['trap', undefined, true], ['bt', undefined, true], ['pv', undefined, false],
      ['hw', 'shadow', true], ['hw', 'ept', true],
    ]);
    expect(row('pv').note).toBe('not a PV kernel (no XEN_VER=xen-3.0 mark, no PARAVIRT build)');
    expect(row('trap').overhead).toBeCloseTo(row('trap').cycles! / row('native').cycles!, 10);
    // The events by kind add up to the events; hello's output makes every hw exit an I/O exit.
    for (const m of modes.filter((x) => x.ran)) {
      expect(m.byKind!.reduce((n, k) => n + k.count, 0), m.mode).toBe(m.events);
    }
    expect(row('native').byKind).toEqual([]);
    expect(modes.find((m) => m.memVirt === 'ept')!.byKind!.map((k) => k.kind)).toEqual(['vm exit']);
  });

  it('runs a PV kernel under pv only', () => {
    const r = vtscope('compare', image('pv-hello'));
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\npv +n\/a +\d+ +10 +\d+ +n\/a +0\n/);
    expect(r.stdout).toMatch(/\nnative +- +- /);
  });
});
