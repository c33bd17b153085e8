/**
 * Ring compression of the guest's segments: the guest's GDT, copied at each LGDT into the
 * VMM's GDT with every DPL-0 code and data descriptor made DPL 1 (so the ring-1 kernel may
 * use it) and every limit cut short below the VMM's region at the top of the linear address
 * space. The guest's own copy stays as the guest wrote it; the VMM reads descriptors from the
 * copy taken at LGDT, as the processor reads the shadow.
 */
import type { Cpu } from '../../cpu/cpu';
import { GP } from '../../cpu/exceptions';
import { descAR, descBase, descLimit } from '../../cpu/segmentation';
import { GuestFault, VmmStop, type GuestMemory } from '../guestMemory';
import { descriptor, FIRST_VMM_ENTRY, writeGdtEntry } from '../systemTables';
import { GDT_PAGE, GUEST_LINEAR_LIMIT, VMM_LINEAR_BASE, type VmmMemory } from '../vmmMemory';
import type { ShadowLdt } from './shadowLdt';

const DESC_S = 1 << 12;
const DESC_ACCESSED = 1 << 8;
const DESC_P = 1 << 15;
const DESC_G = 1 << 23;
const DPL_MASK = 3 << 13;

/** A descriptor as two dwords. */
export interface Descriptor { lo: number; hi: number }

/**
 * The descriptor the processor gets for guest descriptor `d`: DPL 0 becomes DPL 1 for code
 * and data; an expand-up segment reaching into the VMM region ends below it (one lying
 * wholly inside it is made not present). System descriptors and expand-down segments are
 * copied as they are.
 */
export function compress(d: Descriptor, out: Descriptor): Descriptor {
  let lo = d.lo, hi = d.hi;
  if ((hi & DESC_S) !== 0) {
    if ((hi & DPL_MASK) === 0) hi |= 1 << 13;
    const type = (hi >> 8) & 0xf;
    const expandDown = (type & 0x8) === 0 && (type & 0x4) !== 0;
    const base = descBase(lo, hi) >>> 0;
    if (!expandDown && base + descLimit(lo, hi) > GUEST_LINEAR_LIMIT) {
      if (base >= VMM_LINEAR_BASE) {
        hi &= ~DESC_P;
      } else {
        const bytes = GUEST_LINEAR_LIMIT - base;
        const raw = (hi & DESC_G) !== 0 ? Math.floor((bytes + 1) / 4096) - 1 : bytes;
        lo = (lo & ~0xffff) | (raw & 0xffff);
        hi = (hi & ~0xf_0000) | (raw & 0xf_0000);
      }
    }
  }
  out.lo = lo | 0; out.hi = hi | 0;
  return out;
}

/** Loads segment register `seg` with selector `sel` and the compressed form of `d`. */
export function loadCompressed(cpu: Cpu, seg: number, sel: number, d: Descriptor): void {
  const c = compress(d, scratch);
  cpu.setSegmentCache(seg, sel, descBase(c.lo, c.hi), descLimit(c.lo, c.hi), descAR(c.hi));
}

const scratch: Descriptor = { lo: 0, hi: 0 };

/** A descriptor that would load segment register `seg` as it is now (its hidden base, limit and access rights). */
export function cachedDescriptor(cpu: Cpu, seg: number): Descriptor {
  const ar = cpu.segAR[seg], limit = cpu.segLimit[seg] >>> 0;
  const raw = (ar & 0x8000) !== 0 ? limit >>> 12 : limit;
  const [lo, hi] = descriptor(cpu.segBase[seg], raw, ar & 0xff, (ar >> 12) & 0xf);
  return { lo, hi };
}

export class ShadowGdt {
  /** The guest's descriptors as of its last LGDT. */
  private guest = new Int32Array(0);

  constructor(private readonly mem: VmmMemory, private readonly ldt: ShadowLdt) {}

  /**
   * LGDT: copies the guest's table and rebuilds the shadow from it. `rewritten`: the same table
   * after the guest wrote to it, so the descriptors it left alone keep the accessed bit the
   * processor set in the shadow. Returns how many descriptors differ from the previous copy.
   */
  load(guestMem: GuestMemory, base: number, limit: number, rewritten = false): number {
    const entries = Math.floor((limit + 1) / 8);
    if (entries > FIRST_VMM_ENTRY) {
      throw new VmmStop(`the guest's GDT (limit 0x${limit.toString(16)}) reaches the last four entries, which the VMM keeps for itself`);
    }
    const copy = readGuestTable(guestMem, base, entries);
    const changed = fillShadow(this.mem, this.mem.page(GDT_PAGE), this.guest, copy, rewritten);
    this.guest = copy;
    return changed;
  }

  /**
   * The guest's descriptor for `sel` (in its LDT if the selector says so), or undefined beyond
   * the table's end. The processor sets the accessed bit of a code or data descriptor in the
   * shadow it loads, so that bit comes from the shadow: what the guest's own table would hold
   * on bare metal.
   */
  guestDescriptor(sel: number, out: Descriptor): Descriptor | undefined {
    if ((sel & 4) !== 0) return this.ldt.guestDescriptor(sel, out);
    const i = sel >> 3;
    if (2 * i + 1 >= this.guest.length) return undefined;
    out.lo = this.guest[2 * i]; out.hi = this.guest[2 * i + 1];
    if ((out.hi & DESC_S) !== 0) out.hi |= shadowAccessed(this.mem, this.mem.page(GDT_PAGE), i);
    return out;
  }

  /** Changes the high dword of a guest descriptor (LTR's busy bit), in the copy and the shadow. */
  setGuestHigh(sel: number, hi: number): void {
    const i = sel >> 3;
    this.guest[2 * i + 1] = hi;
    const c = compress({ lo: this.guest[2 * i], hi }, scratch);
    writeGdtEntry(this.mem, i, c.lo, c.hi);
  }
}

/** `entries` descriptors of a guest table at linear `base`, as dword pairs. */
export function readGuestTable(guestMem: GuestMemory, base: number, entries: number): Int32Array<ArrayBuffer> {
  const copy = new Int32Array(entries * 2);
  for (let k = 0; k < copy.length; k++) copy[k] = guestMem.read32((base + k * 4) | 0);
  return copy;
}

/** The accessed bit the processor set in shadow descriptor `i` of the table at VMM address `shadow`. */
export function shadowAccessed(mem: VmmMemory, shadow: number, i: number): number {
  return mem.read32(shadow + i * 8 + 4) & DESC_ACCESSED;
}

/**
 * Writes guest descriptors `copy` compressed into the shadow table at VMM address `shadow`, and
 * clears the entries `previous` had beyond its end. `rewritten`: the same table after the guest
 * wrote to it, so the descriptors it left alone keep the accessed bit the processor set in the
 * shadow. Returns how many descriptors differ from `previous`.
 */
export function fillShadow(mem: VmmMemory, shadow: number, previous: Int32Array, copy: Int32Array, rewritten: boolean): number {
  const d: Descriptor = { lo: 0, hi: 0 };
  for (let k = 0; k < Math.max(copy.length, previous.length); k += 2) {
    let lo = 0, hi = 0;
    if (k < copy.length) {
      hi = copy[k + 1];
      if (rewritten && k < previous.length && previous[k] === copy[k] && ((previous[k + 1] ^ hi) & ~DESC_ACCESSED) === 0) {
        hi |= shadowAccessed(mem, shadow, k / 2);
      }
      ({ lo, hi } = compress({ lo: copy[k], hi }, d));
    }
    mem.write32(shadow + k * 4, lo);
    mem.write32(shadow + k * 4 + 4, hi);
  }
  return changedDescriptors(previous, copy);
}

/** How many descriptors of table `next` differ from `previous` (entries only one of them has count). */
export function changedDescriptors(previous: Int32Array, next: Int32Array): number {
  let n = Math.abs(previous.length - next.length) / 2;
  for (let k = 0; k < Math.min(previous.length, next.length); k += 2) {
    if (previous[k] !== next[k] || previous[k + 1] !== next[k + 1]) n++;
  }
  return n;
}

/** #GP(selector) for a selector the checks refuse. */
export function selectorFault(sel: number): GuestFault { return new GuestFault(GP, sel & 0xfffc, true); }
