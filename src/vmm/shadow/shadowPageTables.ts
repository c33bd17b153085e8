/**
 * Shadow page tables: the page tables the processor walks while the guest believes its own
 * are in use. Each shadow root (a page directory in VMM memory) stands for one guest CR3, or
 * for the guest running with paging off (then linear = guest-physical); a few roots are kept,
 * so switching between address spaces does not start from nothing each time.
 *
 * Shadows start empty and are filled one page at a time on the faults the guest cannot see
 * ("shadow #PF"). Every guest page that a shadow follows (a guest page directory of a root, a
 * guest page table behind a shadow page table) is mapped read-only in every shadow, so a
 * guest write to it faults and is carried out by the VMM, which then drops the shadow entries
 * built from what changed ("PTE write"). The pages of the guest's GDT and LDT are guarded
 * the same way, so the VMM sees the guest change a descriptor after LGDT or LLDT. The VMM's own region (page-directory entry 1023) is
 * in every root.
 *
 * With several virtual CPUs each has shadow tables of its own (its own CR3), kept coherent as
 * KVM's one MMU per VM keeps them: a guest page any of them follows or guards is read-only in
 * all of them, and a guest write to it, on whichever processor, drops what every one of them
 * built from it (ShadowCoherence).
 */
import type { Cpu } from '../../cpu/cpu';
import { CR0_PG, CR0_WP } from '../../cpu/registers';
import { hex8 } from '../exitLog';
import { VmmStop, type GuestControl, type Walk } from '../guestMemory';
import { VMM_PDE_INDEX, type VmmMemory } from '../vmmMemory';

const PTE_P = 1, PTE_RW = 2, PTE_US = 4, PTE_A = 0x20, PTE_D = 0x40;
/** Root key for a guest running with paging off. */
const PHYSICAL = -1;
/** Roots kept at once; the least recently used goes first. */
const MAX_ROOTS = 8;
/** `Root.sources` value for a shadow page table that follows no guest page table. */
const NO_SOURCE = -1;
/** `Follower.index` of a root following its guest page directory. */
const DIRECTORY = -1;

class Root {
  /** Shadow page table behind each directory entry (physical), 0 for none. */
  readonly tables = new Int32Array(1024);
  /** Guest page table each shadow page table follows, or NO_SOURCE (4 MiB page, paging off). */
  readonly sources = new Int32Array(1024).fill(NO_SOURCE);
  lastUse = 0;
  constructor(readonly key: number, readonly directory: number) {}
}

interface Follower { root: Root; index: number }

/** The shadow page tables of every virtual CPU of one guest, by processor. */
export class ShadowCoherence {
  readonly members: (ShadowPageTables | undefined)[] = [];

  /** A new guest: no processor has shadows yet. */
  reset(): void { this.members.length = 0; }
}

export class ShadowPageTables {
  private readonly roots = new Map<number, Root>();
  private current!: Root;
  /** Guest page number -> the shadow structures built from it. */
  private readonly followers = new Map<number, Follower[]>();
  /** Guest frame page number -> addresses of shadow PTEs mapping it writable (checked before use). */
  private readonly writable = new Map<number, number[]>();
  /** Guest pages holding another table the VMM shadows (the guest's GDT): mapped read-only too. */
  private guarded = new Set<number>();
  private clock = 0;

  /** The shadows of processor `processor` of the guest whose processors' shadows `coherence` keeps together. */
  constructor(private readonly cpu: Cpu, private readonly mem: VmmMemory, private readonly ctl: GuestControl,
    private readonly coherence = new ShadowCoherence(), private readonly processor = 0) {
    coherence.members[processor] = this;
  }

  /** The processor is reset (INIT): its shadows go, and their pages go back to the pool. */
  detach(): void {
    for (const root of [...this.roots.values()]) this.dropRoot(root);
    this.writable.clear();
    this.guarded = new Set();
    if (this.coherence.members[this.processor] === this) this.coherence.members[this.processor] = undefined;
  }

  /** Makes the root for the guest's current CR0.PG and CR3 the processor's (CR3 load, paging on or off). */
  activate(): void {
    const key = (this.ctl.cr0 & CR0_PG) !== 0 ? (this.ctl.cr3 & ~0xfff) >>> 0 : PHYSICAL;
    let root = this.roots.get(key);
    if (root === undefined) root = this.createRoot(key);
    root.lastUse = ++this.clock;
    this.current = root;
    this.cpu.cr3 = root.directory;
    this.cpu.tlb.flush(false);
    this.cpu.leaveBlock = true;
  }

  /** Drops every shadow (the meaning of the guest's entries changed: CR0.WP, CR4.PSE). */
  flushAll(): void {
    for (const root of [...this.roots.values()]) this.dropRoot(root);
    this.activate();
  }

  /** Is the guest page holding `phys` one the shadows (of any processor) follow, so writes to it must trap? */
  follows(phys: number): boolean {
    const page = phys >>> 12;
    for (const m of this.coherence.members) if (m !== undefined && m.followers.has(page)) return true;
    return false;
  }

  /** Is the guest page holding `phys` one of the guarded pages (of any processor, see `guard`)? */
  guards(phys: number): boolean {
    const page = phys >>> 12;
    for (const m of this.coherence.members) if (m !== undefined && m.guarded.has(page)) return true;
    return false;
  }

  /** Makes guest pages `pages` (page numbers) this processor's guarded ones: every write to them faults into the VMM. */
  guard(pages: readonly number[]): void {
    this.guarded = new Set(pages);
    for (const page of pages) this.writeProtectEverywhere(page);
  }

  /**
   * Fills the shadow entry for `lin` from a successful guest walk `w`. The entry is writable
   * only if the guest's is, the guest's dirty bit is set (or this is the write that sets it)
   * and the frame is not a page the shadows follow. Returns the shadow PTE.
   */
  fill(lin: number, w: Walk, write: boolean): number {
    const i = lin >>> 22;
    if (i === VMM_PDE_INDEX) throw new VmmStop(`the guest used linear address ${hex8(lin)}, in the top 4 MiB the VMM keeps for itself`);
    const frame = w.phys & ~0xfff;
    if (this.mem.owns(frame)) throw new VmmStop(`the guest mapped physical ${hex8(frame)} at linear ${hex8(lin)}, beyond its RAM, where the VMM keeps its own tables`);
    const wp = (this.ctl.cr0 & CR0_WP) !== 0;
    const paging = (this.ctl.cr0 & CR0_PG) !== 0;
    if (write && !w.rw && w.us && !wp) {
      throw new VmmStop(`a kernel write to the user read-only page at linear ${hex8(lin)} with CR0.WP = 0 cannot be shadowed`);
    }
    const table = this.tableFor(i, w);
    const entry = w.pteAddr >= 0 ? w.pte : w.pde;
    const dirty = !paging || (entry & PTE_D) !== 0 || write;
    const rw = (w.rw || (!wp && !w.us)) && dirty && !this.follows(frame) && !this.guards(frame);
    const spte = frame | PTE_P | PTE_A | (w.us ? PTE_US : 0) | (rw ? PTE_RW | PTE_D : 0);
    const at = table + ((lin >>> 12) & 0x3ff) * 4;
    this.mem.write32(at, spte);
    if (rw) this.noteWritable(frame >>> 12, at);
    this.cpu.tlb.invalidate(lin >>> 12);
    return spte;
  }

  /** Address of the shadow PTE for `lin` in the current root (filled by `fill` just before). */
  shadowEntry(lin: number): number {
    const table = this.current.tables[lin >>> 22];
    return table + ((lin >>> 12) & 0x3ff) * 4;
  }

  /** INVLPG: forgets the shadow of `lin` (all of a 4 MiB page's). */
  invalidate(lin: number): void {
    const root = this.current;
    const i = lin >>> 22;
    if (root.tables[i] === 0) return;
    if (root.sources[i] === NO_SOURCE) this.dropTable(root, i);
    else this.mem.write32(this.shadowEntry(lin), 0);
    this.cpu.tlb.invalidate(lin >>> 12);
  }

  /**
   * Entry `k` of followed guest page `page` changed: the shadow entries built from it go, in
   * every processor's shadows (they are rebuilt from the new entry on the next access).
   * Returns how many there were.
   */
  guestEntryChanged(page: number, k: number): number {
    let n = 0;
    for (const m of this.coherence.members) if (m !== undefined) n += m.entryChanged(page, k);
    return n;
  }

  /** The VMM wrote followed guest page `page` itself: everything built from it goes. */
  guestPageWritten(page: number): void {
    if (!this.follows(page << 12)) return;
    for (let k = 0; k < 1024; k++) this.guestEntryChanged(page, k);
  }

  /** guestEntryChanged for this processor's shadows. */
  private entryChanged(page: number, k: number): number {
    const list = this.followers.get(page);
    if (list === undefined) return 0;
    let n = 0;
    for (const f of [...list]) {
      if (f.index === DIRECTORY) {
        if (k !== VMM_PDE_INDEX && f.root.tables[k] !== 0) { this.dropTable(f.root, k); n++; }
      } else {
        const table = f.root.tables[f.index];
        if (table !== 0) {
          this.mem.write32(table + k * 4, 0);
          if (f.root === this.current) this.cpu.tlb.invalidate((f.index << 10) | k);
          n++;
        }
      }
    }
    return n;
  }

  // ---- structure -------------------------------------------------------------------------

  private createRoot(key: number): Root {
    if (this.roots.size >= MAX_ROOTS) {
      let oldest: Root | undefined;
      for (const r of this.roots.values()) if (oldest === undefined || r.lastUse < oldest.lastUse) oldest = r;
      this.dropRoot(oldest!);
    }
    const root = new Root(key, this.allocate());
    this.mem.write32(root.directory + VMM_PDE_INDEX * 4, this.mem.regionPde);
    this.roots.set(key, root);
    if (key !== PHYSICAL) this.follow(key >>> 12, root, DIRECTORY);
    return root;
  }

  private dropRoot(root: Root): void {
    for (let i = 0; i < 1024; i++) if (root.tables[i] !== 0) this.dropTable(root, i);
    if (root.key !== PHYSICAL) this.unfollow(root.key >>> 12, root, DIRECTORY);
    this.mem.release(root.directory);
    this.roots.delete(root.key);
  }

  /** The shadow page table behind directory entry `i`, made (and its guest table followed) if needed. */
  private tableFor(i: number, w: Walk): number {
    const root = this.current;
    const source = w.pteAddr >= 0 ? (w.pde & ~0xfff) >>> 0 : NO_SOURCE;
    let table = root.tables[i];
    if (table !== 0 && root.sources[i] !== source) { this.dropTable(root, i); table = 0; }
    if (table === 0) {
      table = this.allocate();
      root.tables[i] = table;
      root.sources[i] = source;
      this.mem.write32(root.directory + i * 4, table | PTE_P | PTE_RW | PTE_US | PTE_A);
      if (source !== NO_SOURCE) this.follow(source >>> 12, root, i);
    }
    return table;
  }

  private dropTable(root: Root, i: number): void {
    const table = root.tables[i];
    if (root.sources[i] !== NO_SOURCE) this.unfollow(root.sources[i] >>> 12, root, i);
    root.tables[i] = 0;
    root.sources[i] = NO_SOURCE;
    this.mem.write32(root.directory + i * 4, 0);
    this.mem.release(table);
    if (root === this.current) this.cpu.tlb.flush(false);
  }

  /** Starts following guest page `page`; the first follower makes every writable shadow mapping of it read-only. */
  private follow(page: number, root: Root, index: number): void {
    let list = this.followers.get(page);
    if (list === undefined) {
      list = [];
      this.followers.set(page, list);
      this.writeProtectEverywhere(page);
    }
    list.push({ root, index });
  }

  /** Makes every writable shadow mapping of guest page `page` read-only, in every processor's shadows. */
  private writeProtectEverywhere(page: number): void {
    for (const m of this.coherence.members) m?.writeProtect(page);
  }

  /** Makes every writable shadow mapping of guest page `page` in this processor's shadows read-only. */
  private writeProtect(page: number): void {
    const mappings = this.writable.get(page);
    if (mappings === undefined) return;
    for (const at of mappings) {
      const e = this.mem.read32(at);
      if ((e & PTE_P) !== 0 && (e >>> 12) === page) this.mem.write32(at, e & ~PTE_RW);
    }
    this.writable.delete(page);
    this.cpu.tlb.flush(false);
  }

  private unfollow(page: number, root: Root, index: number): void {
    const list = this.followers.get(page);
    if (list === undefined) return;
    const k = list.findIndex((f) => f.root === root && f.index === index);
    if (k >= 0) list.splice(k, 1);
    if (list.length === 0) this.followers.delete(page);
  }

  private noteWritable(page: number, at: number): void {
    let list = this.writable.get(page);
    if (list === undefined) { list = []; this.writable.set(page, list); }
    // Entries dropped since are still listed; prune them now and then.
    if (list.length >= 64) list = list.filter((a) => (this.mem.read32(a) >>> 12) === page);
    list.push(at);
    this.writable.set(page, list);
  }

  /** A page for a shadow structure; when the pool is empty, every shadow but the current root's directory goes. */
  private allocate(): number {
    let p = this.mem.allocate();
    if (p === undefined) {
      for (const root of [...this.roots.values()]) if (root !== this.current) this.dropRoot(root);
      if (this.current !== undefined) for (let i = 0; i < 1024; i++) if (this.current.tables[i] !== 0) this.dropTable(this.current, i);
      p = this.mem.allocate();
      if (p === undefined) throw new VmmStop('the VMM ran out of memory for shadow page tables');
    }
    return p;
  }
}
