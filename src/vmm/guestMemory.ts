/**
 * The guest's memory as the VMM reaches it when it works on the guest's behalf (pushing an
 * exception frame, reading an LGDT operand, a hypercall's buffer): through the guest's own
 * segments and page tables, walked in software, never through the shadow page tables the
 * processor uses. A walk sets accessed and dirty bits as the processor would; a walk that
 * fails raises the fault the guest would have taken.
 */
import type { Cpu } from '../cpu/cpu';
import { GP, PF, SS_FAULT } from '../cpu/exceptions';
import { CR0_PG, CR0_WP, CR4_PSE, SS } from '../cpu/registers';
import { hex8 } from './exitLog';

/** An exception the guest must be given, found while the VMM acted for it. */
export class GuestFault extends Error {
  override readonly name = 'GuestFault';
  constructor(readonly vector: number, readonly errorCode: number, readonly hasErrorCode: boolean,
    /** The faulting linear address, for #PF. */
    readonly address = 0) {
    super(`guest fault ${vector}`);
  }
}

/** The guest touched something the VMM cannot give it: the run stops with this message. */
export class VmmStop extends Error {
  override readonly name = 'VmmStop';
}

/** The control registers the guest believes it has (its paging configuration). */
export interface GuestControl { cr0: number; cr3: number; cr4: number }

const PTE_P = 1, PTE_RW = 2, PTE_US = 4, PTE_A = 0x20, PTE_D = 0x40, PDE_PS = 0x80;
const PF_P = 1, PF_W = 2, PF_U = 4, PF_RSVD = 8;

/** One guest page walk (the fields are overwritten by the next walk). */
export class Walk {
  /** Guest-physical address the linear address maps to. */
  phys = 0;
  pdeAddr = 0;
  pde = 0;
  /** Address of the page-table entry, or -1 for a 4 MiB page or paging off. */
  pteAddr = -1;
  pte = 0;
  /** Effective rights of the whole walk. */
  rw = true;
  us = true;
}

/**
 * Walks the guest's 32-bit paging structures for an access to `lin` (SDM Vol. 3A, 4.3 and
 * 4.6), with the guest's CR0.WP and CR4.PSE; throws the guest's #PF on failure. With
 * `update`, accessed and dirty bits are set as the processor would.
 */
export function walkGuest(cpu: Cpu, ctl: GuestControl, lin: number, write: boolean, user: boolean,
  update: boolean, w: Walk): Walk {
  if ((ctl.cr0 & CR0_PG) === 0) {
    w.phys = lin >>> 0; w.pdeAddr = -1; w.pde = 0; w.pteAddr = -1; w.pte = 0; w.rw = true; w.us = true;
    return w;
  }
  const fault = (code: number): never => {
    throw new GuestFault(PF, code | (write ? PF_W : 0) | (user ? PF_U : 0), true, lin);
  };
  const wp = (ctl.cr0 & CR0_WP) !== 0;
  const pdeAddr = ((ctl.cr3 & ~0xfff) | ((lin >>> 22) << 2)) >>> 0;
  const pde = cpu.readPhys32(pdeAddr);
  if ((pde & PTE_P) === 0) fault(0);
  w.pdeAddr = pdeAddr; w.pde = pde;
  if ((pde & PDE_PS) !== 0 && (ctl.cr4 & CR4_PSE) !== 0) {
    if ((pde & 0x003f_e000) !== 0) fault(PF_P | PF_RSVD);
    const rw = (pde & PTE_RW) !== 0, us = (pde & PTE_US) !== 0;
    if ((user && !us) || (write && !rw && (user || wp))) fault(PF_P);
    if (update) {
      const wanted = PTE_A | (write ? PTE_D : 0);
      if ((pde & wanted) !== wanted) { w.pde = pde | wanted; cpu.writePhys32(pdeAddr, w.pde); }
    }
    w.phys = ((pde & 0xffc0_0000) | (lin & 0x003f_ffff)) >>> 0;
    w.pteAddr = -1; w.pte = 0; w.rw = rw; w.us = us;
    return w;
  }
  const pteAddr = ((pde & ~0xfff) | (((lin >>> 12) & 0x3ff) << 2)) >>> 0;
  const pte = cpu.readPhys32(pteAddr);
  if ((pte & PTE_P) === 0) fault(0);
  const rw = (pde & pte & PTE_RW) !== 0, us = (pde & pte & PTE_US) !== 0;
  if ((user && !us) || (write && !rw && (user || wp))) fault(PF_P);
  w.pteAddr = pteAddr; w.pte = pte;
  if (update) {
    if ((pde & PTE_A) === 0) { w.pde = pde | PTE_A; cpu.writePhys32(pdeAddr, w.pde); }
    const wanted = PTE_A | (write ? PTE_D : 0);
    if ((pte & wanted) !== wanted) { w.pte = pte | wanted; cpu.writePhys32(pteAddr, w.pte); }
  }
  w.phys = ((pte & ~0xfff) | (lin & 0xfff)) >>> 0;
  w.rw = rw; w.us = us;
  return w;
}

/**
 * Linear and segmented access to guest memory for the VMM. `user` accesses are checked as
 * CPL 3 accesses; everything else as the guest kernel's (supervisor).
 */
export class GuestMemory {
  private readonly walk = new Walk();

  constructor(private readonly cpu: Cpu, private readonly ctl: GuestControl,
    /** Guest-physical addresses the guest may not reach (the VMM's own memory). */
    private readonly forbidden: (phys: number) => boolean,
    /** Told of every write the VMM makes, so shadows of that memory can follow. */
    private readonly onWrite: (phys: number) => void = () => {}) {}

  /** Guest-physical address of `lin` for this access, or the guest's #PF. */
  translate(lin: number, write: boolean, user: boolean): number {
    const phys = walkGuest(this.cpu, this.ctl, lin, write, user, true, this.walk).phys;
    if (this.forbidden(phys)) {
      throw new VmmStop(`the guest reached physical address ${hex8(phys)} through linear ${hex8(lin)}, beyond its RAM, where the VMM keeps its own tables`);
    }
    return phys;
  }

  read8(lin: number, user = false): number { return this.cpu.readPhys8(this.translate(lin, false, user)); }
  read16(lin: number, user = false): number { return this.read8(lin, user) | (this.read8((lin + 1) | 0, user) << 8); }
  read32(lin: number, user = false): number { return this.read16(lin, user) | (this.read16((lin + 2) | 0, user) << 16); }

  write8(lin: number, v: number, user = false): void {
    const p = this.translate(lin, true, user);
    this.cpu.writePhys8(p, v & 0xff);
    this.onWrite(p);
  }
  /** Both pages are checked before anything is written, as the processor does. */
  write16(lin: number, v: number, user = false): void {
    this.translate((lin + 1) | 0, true, user);
    this.write8(lin, v, user); this.write8((lin + 1) | 0, v >> 8, user);
  }
  write32(lin: number, v: number, user = false): void {
    this.translate((lin + 3) | 0, true, user);
    this.write16(lin, v, user); this.write16((lin + 2) | 0, v >> 16, user);
  }

  /**
   * Linear address of seg:off for `size` bytes after the limit and type checks of the
   * processor's segment cache (#GP(0), or #SS(0) for the stack segment).
   */
  linear(seg: number, off: number, size: number, write: boolean): number {
    const cpu = this.cpu;
    const o = off >>> 0;
    const hi = write ? cpu.segHiWrite[seg] : cpu.segHiRead[seg];
    if (o < cpu.segLo[seg] || o + size - 1 > hi) throw new GuestFault(seg === SS ? SS_FAULT : GP, 0, true);
    return (cpu.segBase[seg] + o) | 0;
  }
}
