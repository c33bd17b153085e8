/**
 * Extended page tables (SDM Vol. 3C, 28.2-28.3): in VMX non-root operation with "enable EPT",
 * every guest-physical address, including those of the guest's own paging structures, is
 * translated by a 4-level walk from the EPT pointer. Entries grant read, write and execute
 * (bits 0-2); bit 7 in a PDPTE or PDE maps a 1-GiB or 2-MiB page; with EPTP bit 6 the walk sets
 * the accessed flag (bit 8) of every entry it uses and the dirty flag (bit 9) of the leaf on a
 * write. A missing permission is an EPT violation (exit 48), a malformed entry an EPT
 * misconfiguration (exit 49).
 *
 * Translations are cached in their own TLB (guest-physical page -> host-physical page and
 * permissions), emptied on every VM entry. The CPU's TLB then holds combined mappings, guest
 * linear to host physical, and is emptied on every VM entry and exit.
 */
import type { Cpu } from '../cpu';
import { TLB_SUP_WRITE, TLB_USER_READ, TLB_USER_WRITE, TLB_VALID } from '../tlb';
import { EXIT_REASON } from './exitReasons';
import { raiseVmExit } from './state';

/** Access kinds and permission bits (fact sheet: EPT entry bits 0 R, 1 W, 2 X). */
export const EPT_R = 1, EPT_W = 2, EPT_X = 4;
/** In the EPT TLB: the leaf's dirty flag is already set, so writes need no walk. */
const EPT_TLB_DIRTY = 8;

const EPT_LARGE = 1 << 7, EPT_ACCESSED = 1 << 8, EPT_DIRTY = 1 << 9;

/** Qualification bits of an EPT violation (fact sheet, section 3). */
export const EPT_QUAL_LINEAR_VALID = 1 << 7;
export const EPT_QUAL_TRANSLATED = 1 << 8;

/** Leaf memory types 2, 3 and 7 are reserved. */
function badMemoryType(lo: number): boolean {
  const t = (lo >> 3) & 7;
  return t === 2 || t === 3 || t === 7;
}

/** Bits 51:32 of an entry are reserved with a 32-bit physical-address width (63:52 are ignored). */
function reservedHigh(hi: number): boolean { return (hi & 0x000f_ffff) !== 0; }

/** The EPT paging-structure entries of the last walk, for the A/D updates. */
const walked = new Int32Array(4);

/**
 * The EPT TLB entry for guest-physical address `gpa` after checking `access` (EPT_R/W/X bits,
 * several for a paging-structure access with A/D flags): host-physical page | permissions.
 * Raises the VM exit on a violation or misconfiguration; `lin` is the guest-linear address
 * being translated (`linearValid`), `translated` tells the final access from a page walk's.
 */
export function eptTranslate(cpu: Cpu, gpa: number, access: number, lin: number, linearValid: boolean, translated: boolean): number {
  const x = cpu.vmx;
  const page = gpa >>> 12;
  const cached = x.eptTlb.entries[page];
  if (cached !== 0 && (cached & access) === access &&
      ((access & EPT_W) === 0 || (cached & EPT_TLB_DIRTY) !== 0)) return cached;

  let table = x.eptPml4;
  let rwx = EPT_R | EPT_W | EPT_X;
  let host = 0;
  let levels = 0;
  for (let level = 4; level >= 1; level--) {
    // A 32-bit guest-physical address always uses PML4 entry 0.
    const index = level === 4 ? 0 : (gpa >>> (12 + 9 * (level - 1))) & 0x1ff;
    const addr = table + index * 8;
    walked[levels++] = addr;
    const lo = cpu.readPhys32(addr), hi = cpu.readPhys32(addr + 4);
    if ((lo & 7) === 0) violation(cpu, gpa, access, 0, lin, linearValid, translated);
    // Write without read, execute-only (not supported here), reserved address bits.
    if ((lo & 3) === EPT_W || (lo & 7) === EPT_X || reservedHigh(hi)) misconfiguration(cpu, gpa);
    rwx &= lo;
    const large = (lo & EPT_LARGE) !== 0;
    if (level === 4 || ((level === 3 || level === 2) && !large)) {
      // PML4E (bit 7 reserved), or a PDPTE/PDE pointing to a table: bits 7:3 are reserved.
      if ((lo & 0xf8) !== 0) misconfiguration(cpu, gpa);
      table = lo & ~0xfff;
      continue;
    }
    if (badMemoryType(lo)) misconfiguration(cpu, gpa);
    if (level === 3) {
      if ((lo & 0x3fff_f000) !== 0) misconfiguration(cpu, gpa);   // 1-GiB page: bits 29:12 reserved
      host = (lo & 0xc000_0000) | (gpa & 0x3fff_f000);
    } else if (level === 2) {
      if ((lo & 0x001f_f000) !== 0) misconfiguration(cpu, gpa);   // 2-MiB page: bits 20:12 reserved
      host = (lo & 0xffe0_0000) | (gpa & 0x001f_f000);
    } else {
      host = lo & ~0xfff;
    }
    break;
  }
  if ((rwx & access) !== access) violation(cpu, gpa, access, rwx & 7, lin, linearValid, translated);

  let dirty = EPT_TLB_DIRTY;
  if (x.eptAccessDirty) {
    for (let k = 0; k < levels; k++) {
      const addr = walked[k];
      const lo = cpu.readPhys32(addr);
      const set = EPT_ACCESSED | (k === levels - 1 && (access & EPT_W) !== 0 ? EPT_DIRTY : 0);
      if ((lo & set) !== set) cpu.writePhys32(addr, lo | set);
      if (k === levels - 1 && ((lo | set) & EPT_DIRTY) === 0) dirty = 0;
    }
  }
  const entry = (host & ~0xfff) | (rwx & 7) | dirty;
  x.eptTlb.set(page, entry);
  return entry;
}

function violation(cpu: Cpu, gpa: number, access: number, rwx: number, lin: number, linearValid: boolean,
  translated: boolean): never {
  const info = cpu.vmx.exit.reset(EXIT_REASON.EPT_VIOLATION);
  info.qualification = access | (rwx << 3) |
    (linearValid ? EPT_QUAL_LINEAR_VALID | (translated ? EPT_QUAL_TRANSLATED : 0) : 0);
  if (linearValid) info.withLinear(lin);
  info.physical = gpa; info.hasPhysical = true;
  return raiseVmExit(cpu);
}

function misconfiguration(cpu: Cpu, gpa: number): never {
  const info = cpu.vmx.exit.reset(EXIT_REASON.EPT_MISCONFIG);
  info.physical = gpa; info.hasPhysical = true;
  return raiseVmExit(cpu);
}

/**
 * The host-physical address of a guest paging-structure entry read (or, `write`, updated with
 * A/D bits) while translating `lin`. With EPT A/D flags on, the processor treats every such
 * access as a write (SDM Vol. 3C, 28.3.3.2), and a violation reports both read and write.
 */
export function eptPagingStructure(cpu: Cpu, gpa: number, lin: number, write: boolean): number {
  const access = cpu.vmx.eptAccessDirty ? EPT_R | EPT_W : write ? EPT_W : EPT_R;
  const e = eptTranslate(cpu, gpa, access, lin, true, false);
  return (e & ~0xfff) | (gpa & 0xfff);
}

/**
 * The EPT TLB entry for the page a guest-linear access at `lin` lands on (`gpa`, the
 * guest-physical address it translates to): a fetch needs X, a write W, a read R.
 */
export function eptFinal(cpu: Cpu, gpa: number, lin: number, write: boolean): number {
  const access = cpu.fetching ? EPT_X : write ? EPT_W : EPT_R;
  return eptTranslate(cpu, gpa, access, lin, true, true);
}

/**
 * CPU TLB permission bits an EPT TLB entry allows: reads and fetches share the TLB's read
 * bits, so they need both R and X; writes need W and, with A/D flags, the dirty flag set.
 */
export function eptTlbPermissions(e: number): number {
  let p = 0;
  if ((e & (EPT_R | EPT_X)) === (EPT_R | EPT_X)) p |= TLB_VALID | TLB_USER_READ;
  if ((e & EPT_W) !== 0 && (e & EPT_TLB_DIRTY) !== 0) p |= TLB_SUP_WRITE | TLB_USER_WRITE;
  return p;
}

/**
 * The host-physical address of `gpa` by a walk without side effects (debugger, INVLPG's look
 * at the guest's page directory), or -1 when EPT does not map it.
 */
export function eptPeek(cpu: Cpu, gpa: number): number {
  let table = cpu.vmx.eptPml4;
  for (let level = 4; level >= 1; level--) {
    const index = level === 4 ? 0 : (gpa >>> (12 + 9 * (level - 1))) & 0x1ff;
    const lo = cpu.readPhys32(table + index * 8);
    if ((lo & 7) === 0) return -1;
    if (level === 3 && (lo & EPT_LARGE) !== 0) return ((lo & 0xc000_0000) | (gpa & 0x3fff_ffff)) >>> 0;
    if (level === 2 && (lo & EPT_LARGE) !== 0) return ((lo & 0xffe0_0000) | (gpa & 0x001f_ffff)) >>> 0;
    if (level === 1) return ((lo & ~0xfff) | (gpa & 0xfff)) >>> 0;
    table = lo & ~0xfff;
  }
  return -1;
}
