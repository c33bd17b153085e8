/**
 * Ring compression of the guest's LDT: at LLDT the VMM copies the guest's table, compressed as
 * the GDT is (shadowGdt.ts), into its own LDT pages, and loads the processor's LDTR with the
 * VMM's descriptor for them; segment loads through LDT selectors then read the shadow. The
 * guest's LDTR selector is the VMM's to keep (virtualCpu.ts).
 */
import { AR_UNUSABLE, type Cpu } from '../../cpu/cpu';
import { descAR, descLimit } from '../../cpu/segmentation';
import type { GuestMemory } from '../guestMemory';
import { descriptor, VMM_LDT, writeGdtEntry } from '../systemTables';
import { LDT_PAGE, LDT_PAGES, type VmmMemory } from '../vmmMemory';
import { fillShadow, readGuestTable, shadowAccessed, type Descriptor } from './shadowGdt';

const DESC_S = 1 << 12;
const ACCESS_LDT = 0x82;
const MAX_ENTRIES = LDT_PAGES * 512;

export class ShadowLdt {
  /** The guest's descriptors as of its LLDT (or its last write to the table). */
  private guest = new Int32Array(0);
  /** The guest's LDT: its linear base and limit, or undefined with a null LDTR. */
  table: { base: number; limit: number } | undefined = undefined;

  constructor(private readonly cpu: Cpu, private readonly mem: VmmMemory) {}

  /**
   * LLDT of a guest LDT at linear `base` with `limit`: copies and compresses it. `rewritten`:
   * the same table after the guest wrote to it (descriptors left alone keep the accessed bit).
   * Returns how many descriptors differ from the previous copy.
   */
  load(guestMem: GuestMemory, base: number, limit: number, rewritten = false): number {
    const entries = Math.min(Math.floor((limit + 1) / 8), MAX_ENTRIES);
    const copy = readGuestTable(guestMem, base, entries), shadow = this.mem.page(LDT_PAGE);
    const changed = fillShadow(this.mem, shadow, this.guest, copy, rewritten);
    this.guest = copy;
    this.table = { base, limit };
    const shadowLimit = Math.min(limit, MAX_ENTRIES * 8 - 1);
    const [lo, hi] = descriptor(this.mem.linear(shadow), shadowLimit, ACCESS_LDT, 0);
    writeGdtEntry(this.mem, VMM_LDT >> 3, lo, hi);
    const cpu = this.cpu;
    cpu.ldtrSel = VMM_LDT; cpu.ldtrBase = this.mem.linear(shadow); cpu.ldtrLimit = descLimit(lo, hi); cpu.ldtrAR = descAR(hi);
    return changed;
  }

  /** LLDT with a null selector: no LDT. */
  clear(): void {
    this.guest = new Int32Array(0);
    this.table = undefined;
    const cpu = this.cpu;
    cpu.ldtrSel = 0; cpu.ldtrBase = 0; cpu.ldtrLimit = 0; cpu.ldtrAR = AR_UNUSABLE;
  }

  /** The guest's descriptor for LDT selector `sel`, with the accessed bit the processor set in the shadow. */
  guestDescriptor(sel: number, out: Descriptor): Descriptor | undefined {
    const i = sel >> 3;
    if (2 * i + 1 >= this.guest.length) return undefined;
    out.lo = this.guest[2 * i]; out.hi = this.guest[2 * i + 1];
    if ((out.hi & DESC_S) !== 0) out.hi |= shadowAccessed(this.mem, this.mem.page(LDT_PAGE), i);
    return out;
  }
}
