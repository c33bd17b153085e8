// The README's comparison of the modes on the microbenchmark kernels (samples/micro): the
// tables are what `vtscope compare` prints today (the cost model is deterministic), and they
// reproduce the qualitative findings of the published comparisons (fact sheet section 7:
// Adams and Agesen, ASPLOS 2006; nested paging as the predicted fix).
import { beforeAll, describe, expect, it } from 'vitest';
import { microTables, readmeTables, type Overheads } from '../../scripts/compare-micro.mjs';

let overhead: Overheads;
let markdown: string;

beforeAll(async () => {
  ({ overhead, markdown } = await microTables());
}, 600_000);

describe('the README comparison of the modes', () => {
  it('is the output of node scripts/compare-micro.mjs (run it with --write after changing the VMM)', () => {
    expect(readmeTables()).toBe(markdown.trim());
  });

  const p4 = (kernel: string, column: string): number => overhead['p4-2006'][kernel][column]!;

  it('VT-x is ahead of binary translation on system calls and exceptions the guest handles itself', () => {
    for (const k of ['syscall', 'divzero']) {
      expect(p4(k, 'hw shadow'), k).toBeLessThan(p4(k, 'bt'));
      expect(p4(k, 'hw ept'), k).toBeLessThan(p4(k, 'bt'));
    }
  });

  it('binary translation is ahead of first-generation VT-x on I/O, page faults, page-table updates and context switches', () => {
    for (const k of ['io', 'pgfault', 'ptemod', 'ctxswitch']) expect(p4(k, 'bt'), k).toBeLessThan(p4(k, 'hw shadow'));
  });

  it('translation closes what trap-and-emulate pays for in traps', () => {
    for (const k of ['io', 'pgfault', 'ptemod', 'ctxswitch', 'divzero']) expect(p4(k, 'bt'), k).toBeLessThan(p4(k, 'trap'));
  });

  it('paravirtualization is the cheapest software technique on page-table work', () => {
    for (const k of ['pgfault', 'ptemod']) {
      expect(p4(k, 'pv'), k).toBeLessThan(p4(k, 'bt'));
      expect(p4(k, 'pv'), k).toBeLessThan(p4(k, 'trap'));
    }
  });

  it('EPT removes the page-table penalty of VT-x, under both cost models', () => {
    for (const preset of ['p4-2006', 'nehalem-ept']) {
      for (const k of ['pgfault', 'ptemod', 'ctxswitch']) {
        const o = overhead[preset][k];
        expect(o['hw ept']!, `${preset} ${k}`).toBeLessThan(1.5);
        expect(o['hw ept']!, `${preset} ${k}`).toBeLessThan(o['hw shadow']! / 10);
      }
    }
  });

  it('no mode costs anything noticeable on code that needs no VMM', () => {
    for (const k of ['callret', 'compute']) {
      for (const column of ['trap', 'bt', 'pv', 'hw shadow', 'hw ept']) expect(p4(k, column), `${k} ${column}`).toBeLessThan(1.3);
    }
  });
});
