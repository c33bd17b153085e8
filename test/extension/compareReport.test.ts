// The "Mode Comparison" webview's pure parts: the compare JSON read into a table and bars,
// the bars drawn as SVG, and the page around them with its Content Security Policy.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { niceStep, shortCount, stackedBarsSvg } from '../../src/extension/barChart';
import {
  type CompareReport, comparisonModel, CompareReportError, GUEST_SERIES, parseCompareReport, UNITEMIZED_SERIES,
} from '../../src/extension/compareReport';
import { comparisonHtml } from '../../src/extension/comparisonPage';

/**
 * samples/holes.asm under p4-2006, from `vtscope run --mode native|trap --stats`: native runs
 * 4799 instructions in 61,283 cycles; trap the same instructions in 638,083 cycles, of which
 * its events cost 576,800: the privileged-instruction traps (#GP emulate OUT 288,000, IN
 * 281,000, CLI, LGDT and MOV from CR0 1,000 each) 572,000, the two shadow page faults 4,800.
 */
const HOLES: CompareReport = {
  image: 'samples/holes.asm', costModel: 'p4-2006',
  modes: [
    { mode: 'native', ran: true, sameOutputAsNative: true, instructions: 4799, events: 0, cycles: 61283, overhead: 1, holes: 0, byKind: [] },
    {
      mode: 'trap', ran: true, sameOutputAsNative: false, instructions: 4799, events: 574, cycles: 638083, overhead: 638083 / 61283, holes: 4,
      byKind: [{ kind: 'page fault', count: 2, cycles: 4800 }, { kind: 'privileged instruction', count: 572, cycles: 572000 }],
    },
    { mode: 'pv', ran: false, note: 'not a PV kernel' },
  ],
};

describe('the compare report', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'vtscope-compare-test-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads what `vtscope compare --json` writes, row for row as its text table', () => {
    const cli = resolve('dist/cli.js');
    if (!existsSync(cli)) throw new Error(`${cli} is not built: run npm run build first`);
    const json = join(dir, 'hello.json');
    const text = execFileSync(process.execPath, [cli, 'compare', 'samples/hello.asm', '--json', json], { encoding: 'utf8' });
    const model = comparisonModel(parseCompareReport(readFileSync(json, 'utf8'), json));
    expect(model.title).toBe(text.split('\n')[0]);
    const fromCli = text.split('\n').filter((l) => /^(native|trap|bt|pv|hw) /.test(l)).map((l) => l.split(/\s{2,}/));
    const fromModel = model.table.map((r) => [r.mode, r.sameOutput, r.instructions, r.events, r.cycles, r.overhead, r.holes].map((c) => c.replace(/,/g, '')));
    expect(fromModel).toEqual(fromCli);
    // Native is the baseline: no VMM events, so all its cycles are the guest's own.
    const native = model.bars.find((b) => b.label === 'native')!;
    expect(native.segments).toEqual([{ series: GUEST_SERIES, cycles: Number(fromCli[0][4]) }]);
  });

  it('splits each bar into the guest\'s instructions and the VMM\'s events by kind, costliest first', () => {
    const model = comparisonModel(HOLES);
    expect(model.bars).toEqual([
      { label: 'native', segments: [{ series: GUEST_SERIES, cycles: 61283 }] },
      // 638,083 - 576,800 = 61,283: trap runs the same instructions at the same cost as native.
      { label: 'trap', segments: [
        { series: GUEST_SERIES, cycles: 61283 },
        { series: 'privileged instruction', cycles: 572000 },
        { series: 'page fault', cycles: 4800 },
      ] },
    ]);
    expect(model.series).toEqual([GUEST_SERIES, 'privileged instruction', 'page fault']);
    expect(model.unitemized).toEqual([]);
    expect(model.table.map((r) => [r.mode, r.sameOutput, r.cycles, r.overhead, r.holes])).toEqual([
      ['native', 'yes', '61,283', '1.00x', '0'],
      ['trap', 'no', '638,083', '10.41x', '4'],
      ['pv', '-', '-', '-', '-'],
    ]);
    expect(model.table[2].note).toBe('not a PV kernel');
  });

  it('names the hw rows by their memory virtualization, and says which bars are not itemized', () => {
    const model = comparisonModel({ image: 'k.asm', costModel: 'p4-2006', modes: [
      { mode: 'native', ran: true, sameOutputAsNative: true, instructions: 10, events: 0, cycles: 100, overhead: 1 },
      { mode: 'hw', memVirt: 'ept', ran: true, sameOutputAsNative: true, instructions: 10, events: 3, cycles: 7300, overhead: 73 },
    ] });
    expect(model.table.map((r) => [r.mode, r.holes])).toEqual([['native', '-'], ['hw (ept)', '-']]);
    expect(model.bars[1]).toEqual({ label: 'hw (ept)', segments: [{ series: UNITEMIZED_SERIES, cycles: 7300 }] });
    expect(model.unitemized).toEqual(['hw (ept)']);
  });

  it('names the file and the field of a report it cannot read', () => {
    const bad = (body: unknown) => () => parseCompareReport(JSON.stringify(body), '/tmp/c.json');
    expect(() => parseCompareReport('{"image": ', '/tmp/c.json')).toThrow(/^\/tmp\/c\.json: not JSON: /);
    expect(bad({ image: 'k', costModel: 'p', modes: {} })).toThrow(new CompareReportError('/tmp/c.json: the report.modes must be an array'));
    expect(bad({ image: 'k', costModel: 'p', modes: [{ mode: 'trap', ran: true, sameOutputAsNative: true, overhead: 1, instructions: 1, events: -1, cycles: 5 }] }))
      .toThrow('/tmp/c.json: modes[0].events must be a whole number, not -1');
    expect(bad({ image: 'k', costModel: 'p', modes: [{ mode: 'trap', ran: 'yes' }] })).toThrow('/tmp/c.json: modes[0].ran must be true or false');
    expect(bad({ image: 'k', costModel: 'p', modes: [{
      mode: 'trap', ran: true, sameOutputAsNative: null, overhead: null, instructions: 1, events: 1, cycles: 5, byKind: [{ kind: 'hypercall', count: 1, cycles: 6 }],
    }] })).toThrow('/tmp/c.json: modes[0].byKind adds up to 6 cycles, more than the mode\'s 5');
  });
});

describe('the stacked bar chart', () => {
  it('steps its axis by 1, 2 or 5 times a power of ten', () => {
    // max/5, rounded up to the next 1, 2 or 5 times a power of ten.
    expect([niceStep(465048), niceStep(638083), niceStep(61283), niceStep(100), niceStep(7), niceStep(0)])
      .toEqual([100000, 200000, 20000, 20, 2, 1]);
    expect([shortCount(0), shortCount(999), shortCount(1500), shortCount(200000), shortCount(1_250_000), shortCount(3e9)])
      .toEqual(['0', '999', '1.5k', '200k', '1.25M', '3G']);
  });

  it('draws each segment as wide as its cycles on an axis up to the next tick', () => {
    const model = comparisonModel(HOLES);
    const svg = stackedBarsSvg(model.bars, model.series, 'holes');
    // Axis: step 200,000 (638,083 / 5 = 127,617 -> 200,000), up to 800,000, so ticks 0 to 800k.
    expect([...svg.matchAll(/<text[^>]*text-anchor="middle">([^<]*)</g)].map((m) => m[1])).toEqual(['0', '200k', '400k', '600k', '800k']);
    // The plot starts at x = 96 and is 720 - 96 - 96 = 528 wide: a cycle is 528 / 800,000 px.
    const rects = [...svg.matchAll(/<rect class="s(\d)" x="([\d.]+)" y="[\d.]+" width="([\d.]+)" height="22"><title>([^<]*)<\/title>/g)]
      .map((m) => ({ series: Number(m[1]), x: Number(m[2]), width: Number(m[3]), title: m[4] }));
    const px = (cycles: number) => (cycles * 528) / 800000;
    expect(rects.map((r) => r.series)).toEqual([0, 0, 1, 2]);
    expect(rects[0].width).toBeCloseTo(px(61283), 1);
    expect(rects[1]).toMatchObject({ x: 96 });
    expect(rects[2].x).toBeCloseTo(96 + px(61283), 1);
    expect(rects[2].width).toBeCloseTo(px(572000), 1);
    expect(rects[3].x + rects[3].width).toBeCloseTo(96 + px(638083), 1);
    // 572,000 of 638,083 cycles = 89.6%.
    expect(rects[2].title).toBe('trap: privileged instruction: 572,000 cycles (89.6%)');
    // The legend: one swatch and name per series, in order.
    expect([...svg.matchAll(/<rect class="s(\d)" x="96" y="[\d.]+" width="12" height="12"\/>\n<text[^>]*>([^<]*)</g)].map((m) => [Number(m[1]), m[2]]))
      .toEqual([[0, GUEST_SERIES], [1, 'privileged instruction'], [2, 'page fault']]);
  });

  it('escapes the text it is given', () => {
    const svg = stackedBarsSvg([{ label: '<b>&', segments: [{ series: 'x"y', cycles: 5 }] }], ['x"y'], 'a<b');
    expect(svg).toContain('&#60;b&#62;&#38;');
    expect(svg).toContain('x&#34;y');
    expect(svg).not.toMatch(/<b>|a<b/);
  });
});

describe('the comparison page', () => {
  const html = comparisonHtml(comparisonModel(HOLES), 'bm9uY2U=');

  it('allows only its own nonce\'d stylesheet: no script, no remote resource', () => {
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1];
    expect(csp).toBe("default-src 'none'; style-src 'nonce-bm9uY2U=';");
    expect([...html.matchAll(/<style([^>]*)>/g)].map((m) => m[1])).toEqual([' nonce="bm9uY2U="']);
    expect(html).not.toMatch(/<script|\ssrc=|\shref=|\sstyle=/);
    // The only URL is the SVG namespace, which names and fetches nothing.
    expect([...html.matchAll(/https?:\/\/[^"\s]+/g)].map((m) => m[0])).toEqual(['http://www.w3.org/2000/svg']);
  });

  it('has the table and the chart', () => {
    expect(html).toContain('<h2>samples/holes.asm (cost model p4-2006)</h2>');
    expect(html).toContain('<tr><td>trap</td><td>no</td><td class="n">4,799</td><td class="n">574</td><td class="n">638,083</td><td class="n">10.41x</td><td class="n">4</td><td class="note"></td></tr>');
    expect(html).toMatch(/<svg class="chart"[^>]*aria-label="Emulated cycles per mode, by what they were spent on: samples\/holes\.asm \(cost model p4-2006\)"/);
    expect(html).not.toContain('not itemize');
  });
});
