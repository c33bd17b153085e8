// The views' store: a bounded ring of the newest records, exact totals from the adapter,
// holes, and the reason filter; and the custom event bodies it is fed from.
import { describe, expect, it } from 'vitest';
import { ExitStore, percent, reasonLabel } from '../../src/extension/exitStore';
import { parseExitsEvent, parseHolesEvent, type ExitRecordBody } from '../../src/debug/protocol';

function record(seq: number, reason: string, reasonNumber: number | null = null): ExitRecordBody {
  return { seq, icount: seq * 10, vcpu: seq % 2, cycles: seq * 100, mode: 'hw', kind: 'vm exit', reason, reasonNumber, eip: 0x100000 + seq, cpl: 0, qualification: '', cost: 2400 };
}

describe('ExitStore', () => {
  it('keeps the newest records, newest first, however many arrive', () => {
    const store = new ExitStore(3);
    store.addExits({ total: 2, records: [record(1, 'CPUID'), record(2, 'HLT')], totals: [] });
    expect(store.newestFirst().map((r) => r.seq)).toEqual([2, 1]);
    store.addExits({ total: 7, records: [3, 4, 5, 6, 7].map((s) => record(s, 'CPUID')), totals: [] });
    expect(store.newestFirst().map((r) => r.seq)).toEqual([7, 6, 5]);
    expect(store.total).toBe(7);
    for (let s = 8; s <= 10_000; s++) store.addExits({ total: s, records: [record(s, 'HLT')], totals: [] });
    expect(store.newestFirst().map((r) => r.seq)).toEqual([10_000, 9_999, 9_998]);
  });

  it('filters the records by reason', () => {
    const store = new ExitStore(10);
    store.addExits({ total: 4, records: [record(1, 'CPUID'), record(2, 'HLT'), record(3, 'CPUID'), record(4, 'IO_INSTRUCTION')], totals: [] });
    store.filter = new Set(['CPUID', 'IO_INSTRUCTION']);
    expect(store.newestFirst().map((r) => r.seq)).toEqual([4, 3, 1]);
    store.filter = undefined;
    expect(store.newestFirst()).toHaveLength(4);
  });

  it('lists the totals the most frequent first and the holes the same way', () => {
    const store = new ExitStore(4);
    store.addExits({
      total: 15, records: [],
      totals: [
        { reason: 'HLT', reasonNumber: 12, kind: 'vm exit', count: 2, cycles: 4800 },
        { reason: 'IO_INSTRUCTION', reasonNumber: 30, kind: 'vm exit', count: 10, cycles: 24000 },
        { reason: 'CPUID', reasonNumber: 10, kind: 'vm exit', count: 3, cycles: 7200 },
      ],
    });
    expect(store.reasonTotals().map((t) => t.reason)).toEqual(['IO_INSTRUCTION', 'CPUID', 'HLT']);
    store.setHoles({ holes: [
      { instruction: 'pushf', eip: 0x100020, count: 1, effect: 'e1' },
      { instruction: 'popf', eip: 0x100030, count: 5, effect: 'e2' },
    ] });
    expect(store.holes().map((h) => h.instruction)).toEqual(['popf', 'pushf']);
  });

  it('takes the log back when the guest went back, with the counts per line of the records that remain', () => {
    const at = (seq: number, line: number): ExitRecordBody => ({ ...record(seq, seq % 2 === 0 ? 'CPUID' : 'HLT'), source: { path: '/k.asm', line } });
    const lines = (store: ExitStore) => [...store.eventsByLine('/k.asm')].map(([line, events]) => [line, events.map((e) => `${e.reason} ${e.count} ${e.cycles}`)]);
    const store = new ExitStore(10);
    store.addExits({ total: 6, records: [0, 1, 2, 3, 4, 5].map((seq) => at(seq, 10 + (seq % 3))), totals: [] });
    expect(lines(store)).toEqual([[10, ['CPUID 1 2400', 'HLT 1 2400']], [11, ['CPUID 1 2400', 'HLT 1 2400']], [12, ['CPUID 1 2400', 'HLT 1 2400']]]);
    // Back to where 3 records had been made: the adapter sends them again, from its oldest.
    store.addExits({ total: 3, records: [0, 1, 2].map((seq) => at(seq, 10 + (seq % 3))), totals: [], rewound: true });
    expect(store.newestFirst().map((r) => r.seq)).toEqual([2, 1, 0]);
    expect(store.total).toBe(3);
    expect(store.complete).toBe(true);
    expect(store.runCycles).toBe(200);
    expect(lines(store)).toEqual([[10, ['CPUID 1 2400']], [11, ['HLT 1 2400']], [12, ['CPUID 1 2400']]]);
    // Back again, the adapter's ring holding only the last record: the records before it stay.
    store.addExits({ total: 2, records: [at(1, 11)], totals: [], rewound: true });
    expect(store.newestFirst().map((r) => r.seq)).toEqual([1, 0]);
    expect(lines(store)).toEqual([[10, ['CPUID 1 2400']], [11, ['HLT 1 2400']]]);
    // Back to the launch: nothing left.
    store.addExits({ total: 0, records: [], totals: [], rewound: true });
    expect(store.newestFirst()).toEqual([]);
    expect(lines(store)).toEqual([]);
    expect(store.runCycles).toBe(0);
  });

  it('counts per line again from what the adapter sends when its own ring had let records go', () => {
    const store = new ExitStore(3);
    const at = (seq: number): ExitRecordBody => ({ ...record(seq, 'HLT'), source: { path: '/k.asm', line: 7 } });
    store.addExits({ total: 10, records: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(at), totals: [] });
    expect(store.eventsByLine('/k.asm').get(7)![0].count).toBe(10);
    // Back to 5 records, the adapter keeping 1 to 4: record 0 is no longer known, record 1 to 4 are counted.
    store.addExits({ total: 5, records: [1, 2, 3, 4].map(at), totals: [], rewound: true });
    expect(store.newestFirst().map((r) => r.seq)).toEqual([4, 3, 2]);
    expect(store.eventsByLine('/k.asm').get(7)![0].count).toBe(4);
    expect(store.complete).toBe(false);
  });

  it('refuses a capacity that is not a whole number of records', () => {
    expect(() => new ExitStore(0)).toThrow(RangeError);
    expect(() => new ExitStore(1.5)).toThrow(/1 or more, not 1.5/);
  });
});

describe('row text', () => {
  it('names the SDM number of an exit reason and no number for a software event', () => {
    expect(reasonLabel('CPUID', 10)).toBe('CPUID (10)');
    expect(reasonLabel('#GP emulate CLI', null)).toBe('#GP emulate CLI');
  });

  it('gives shares with one decimal', () => {
    expect(percent(1, 3)).toBe('33.3%');
    expect(percent(0, 0)).toBe('0.0%');
  });
});

describe('custom events', () => {
  it('parses a vtscope.exits body', () => {
    const body = {
      total: 1,
      records: [{ ...record(1, 'CPUID', 10), source: { path: '/k.asm', line: 12 } }],
      totals: [{ reason: 'CPUID', reasonNumber: 10, kind: 'vm exit', count: 1, cycles: 2400 }],
    };
    expect(parseExitsEvent(body)).toEqual(body);
  });

  it('reads whether the log went back, which adapters before reverse execution under a VMM leave out', () => {
    expect(parseExitsEvent({ total: 0, records: [], totals: [], rewound: true })).toEqual({ total: 0, records: [], totals: [], rewound: true });
    expect(parseExitsEvent({ total: 0, records: [], totals: [] })).not.toHaveProperty('rewound');
    expect(parseHolesEvent({ holes: [], rewound: true })).toEqual({ holes: [], rewound: true });
    expect(() => parseExitsEvent({ total: 0, records: [], totals: [], rewound: 1 })).toThrow('vtscope.exits.rewound must be true or false, not 1');
    expect(() => parseHolesEvent({ holes: [], rewound: 'yes' })).toThrow('vtscope.holes.rewound must be true or false, not "yes"');
  });

  it('names the field at fault in a malformed body', () => {
    expect(() => parseExitsEvent(null)).toThrow('vtscope.exits must be an object');
    expect(() => parseExitsEvent({ total: 1, records: [], totals: {} })).toThrow('vtscope.exits.totals must be an array');
    expect(() => parseExitsEvent({ total: 1, records: [{ ...record(1, 'HLT'), eip: -1 }], totals: [] }))
      .toThrow('vtscope.exits.records[0].eip must be a whole number, not -1');
    expect(() => parseExitsEvent({ total: 1, records: [{ ...record(1, 'HLT'), source: { path: '/k.asm', line: 0 } }], totals: [] }))
      .toThrow('vtscope.exits.records[0].source.line must be 1 or more');
    expect(() => parseHolesEvent({ holes: [{ instruction: 'popf', eip: 1, count: 1 }] })).toThrow('vtscope.holes.holes[0].effect must be a string, not undefined');
  });
});
