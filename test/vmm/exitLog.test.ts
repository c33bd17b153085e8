// The exit log (DESIGN.md): a bounded ring of the most recent records, and counters per
// reason that stay exact whatever the length of the run.
import { describe, expect, it } from 'vitest';
import { ExitLog, RING_CAPACITY } from '../../src/vmm/exitLog';
import { counts, kernel, run } from './support';

describe('ExitLog', () => {
  it('keeps the last `capacity` records, oldest first, and counts every one', () => {
    const log = new ExitLog('trap', 8);
    const out = log.reason('#GP emulate OUT', 'privileged instruction', (port, v) => `OUT ${port} ${v}`);
    const cli = log.reason('#GP emulate CLI', 'privileged instruction', () => 'CLI');
    for (let k = 0; k < 20; k++) log.record(k % 4 === 0 ? cli : out, 100 + k, 1000 * k, k % 2, 0x100000 + k, 1, k % 4 === 0 ? 7 : 3, 0x80, k);
    const records = log.records();
    expect(records.map((r) => r.seq)).toEqual([12, 13, 14, 15, 16, 17, 18, 19]);
    expect(records[7]).toEqual({
      seq: 19, icount: 119, cycles: 19000, vcpu: 1, mode: 'trap', kind: 'privileged instruction', reason: '#GP emulate OUT',
      eip: 0x100013, cpl: 1, qualification: 'OUT 128 19', cost: 3,
    });
    expect(log.counters().map((r) => [r.name, r.count, r.cycles])).toEqual([['#GP emulate OUT', 15, 45], ['#GP emulate CLI', 5, 35]]);
    expect(log.eventCount).toBe(20);
    expect(log.eventCycles).toBe(80);
  });

  it('gives the same reason back for the same name', () => {
    const log = new ExitLog('pv');
    const a = log.reason('hypercall console_io', 'hypercall', () => '', 18);
    expect(log.reason('hypercall console_io', 'hypercall', () => 'other', 18)).toBe(a);
  });
});

describe('the exit log over a long run under trap', () => {
  it(`counts 100000 OUTs exactly while the ring holds the last ${RING_CAPACITY} records`, () => {
    const n = 100_000;
    const trap = run('trap', kernel(`
  mov ecx, ${n}
  mov dx, 0x80
.out:
  out dx, al
  loop .out
  cli
  hlt`).image);
    expect(counts(trap.vmm)['#GP emulate OUT']).toBe(n);
    const records = trap.vmm.log.records();
    expect(records).toHaveLength(RING_CAPACITY);
    const total = trap.vmm.log.eventCount;
    expect(records[RING_CAPACITY - 1].seq).toBe(total - 1);
    expect(records[RING_CAPACITY - 1].reason).toBe('#GP emulate HLT');
    // Records are in order of time: instruction counts never go back.
    for (let k = 1; k < records.length; k++) expect(records[k].icount).toBeGreaterThanOrEqual(records[k - 1].icount);
  });
});
