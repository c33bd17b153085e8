/**
 * The TLB: one Int32 entry per linear 4 KiB page, holding the physical page base and
 * permission bits in the low 12 bits. An entry grants only what its bits say; anything else
 * takes the slow path through the page walk (paging.ts), which refills it.
 */
export const TLB_VALID = 1;        // readable / executable at CPL 0-2
export const TLB_USER_READ = 2;    // readable / executable at CPL 3
export const TLB_SUP_WRITE = 4;    // writable at CPL 0-2 (dirty bit already set)
export const TLB_USER_WRITE = 8;   // writable at CPL 3 (dirty bit already set)
export const TLB_GLOBAL = 16;      // survives CR3 loads (CR4.PGE and PTE.G)
export const TLB_DEVICE = 32;      // device memory, or a page the debugger watches: no fast path

/** How many filled entries are remembered for a cheap flush before a full clear is cheaper. */
const TRACKED = 4096;

export class Tlb {
  readonly entries = new Int32Array(1 << 20);
  private readonly filled = new Int32Array(TRACKED);
  private count = 0;
  /** Bumped whenever a linear address may translate differently (flush, INVLPG, CS reload): block chains check it. */
  epoch = 0;

  set(page: number, entry: number): void {
    if (this.entries[page] === 0) {
      if (this.count < TRACKED) this.filled[this.count] = page;
      this.count++;
    }
    this.entries[page] = entry;
  }

  /** Flushes every entry, or every non-global one. */
  flush(keepGlobal: boolean): void {
    this.epoch++;
    const e = this.entries;
    if (this.count > TRACKED) {
      if (!keepGlobal) { e.fill(0); this.count = 0; return; }
      let kept = 0;
      for (let p = 0; p < e.length; p++) {
        if (e[p] === 0) continue;
        if (e[p] & TLB_GLOBAL) { if (kept < TRACKED) this.filled[kept] = p; kept++; } else e[p] = 0;
      }
      this.count = kept;
      return;
    }
    let kept = 0;
    for (let k = 0; k < this.count; k++) {
      const p = this.filled[k];
      if (keepGlobal && (e[p] & TLB_GLOBAL) !== 0) this.filled[kept++] = p;
      else e[p] = 0;
    }
    this.count = kept;
  }

  invalidate(page: number): void { this.entries[page] = 0; this.epoch++; }
}
