/**
 * Two-level 32-bit paging (SDM Vol. 3A, 4.3): the page walk behind a TLB miss, with 4 MiB
 * pages (CR4.PSE), U/S and R/W checks with CR0.WP, accessed and dirty bits, global pages
 * (CR4.PGE), CR2 and the #PF error code. In VMX non-root operation with EPT, the guest-physical
 * addresses the walk produces and reads go through vmx/ept.ts.
 */
import type { Cpu } from './cpu';
import { PF } from './exceptions';
import { CR0_PG, CR0_WP, CR4_PGE, CR4_PSE } from './registers';
import { TLB_DEVICE, TLB_GLOBAL, TLB_SUP_WRITE, TLB_USER_READ, TLB_USER_WRITE, TLB_VALID } from './tlb';
import { eptFinal, eptPagingStructure, eptPeek, eptTlbPermissions } from './vmx/ept';

const PTE_P = 1, PTE_RW = 2, PTE_US = 4, PTE_A = 0x20, PTE_D = 0x40, PDE_PS = 0x80, PTE_G = 0x100;

/** #PF error code bits (SDM Vol. 3A, 4.7). */
export const PF_P = 1, PF_W = 2, PF_U = 4, PF_RSVD = 8;

/**
 * Translates `lin` for an access of the given kind, filling the TLB; raises #PF when the walk
 * says no. Returns the physical address.
 */
export function translateSlow(cpu: Cpu, lin: number, write: boolean, user: boolean): number {
  const page = lin >>> 12;
  let phys: number;
  let perms: number;
  if ((cpu.cr0 & CR0_PG) === 0) {
    phys = page << 12;
    perms = TLB_VALID | TLB_USER_READ | TLB_SUP_WRITE | TLB_USER_WRITE;
  } else {
    const pdeAddr = (cpu.cr3 & ~0xfff) | ((lin >>> 22) << 2);
    const pde = readEntry(cpu, pdeAddr, lin);
    if ((pde & PTE_P) === 0) pageFault(cpu, lin, 0, write, user);
    const wp = (cpu.cr0 & CR0_WP) !== 0;
    let global = false;
    if ((pde & PDE_PS) !== 0 && (cpu.cr4 & CR4_PSE) !== 0) {
      // 4 MiB page: bits 31:22 of the PDE are the frame (bits 20:13 would be PSE-36, beyond 4 GiB).
      if ((pde & 0x003f_e000) !== 0) pageFault(cpu, lin, PF_P | PF_RSVD, write, user);
      const rw = (pde & PTE_RW) !== 0, us = (pde & PTE_US) !== 0;
      checkRights(cpu, lin, rw, us, write, user, wp);
      const wanted = PTE_A | (write ? PTE_D : 0);
      if ((pde & wanted) !== wanted) writeEntry(cpu, pdeAddr, pde | wanted, lin);
      phys = ((pde & 0xffc0_0000) | (lin & 0x003f_f000)) >>> 0;
      perms = permissionBits(rw, us, wp, write || (pde & PTE_D) !== 0);
      global = (pde & PTE_G) !== 0;
    } else {
      const pteAddr = (pde & ~0xfff) | (((lin >>> 12) & 0x3ff) << 2);
      const pte = readEntry(cpu, pteAddr, lin);
      if ((pte & PTE_P) === 0) pageFault(cpu, lin, 0, write, user);
      // Rights are the more restrictive of PDE and PTE (SDM Vol. 3A, 4.6.1).
      const rw = (pde & pte & PTE_RW) !== 0, us = (pde & pte & PTE_US) !== 0;
      checkRights(cpu, lin, rw, us, write, user, wp);
      if ((pde & PTE_A) === 0) writeEntry(cpu, pdeAddr, pde | PTE_A, lin);
      const wanted = PTE_A | (write ? PTE_D : 0);
      if ((pte & wanted) !== wanted) writeEntry(cpu, pteAddr, pte | wanted, lin);
      phys = (pte & ~0xfff) >>> 0;
      perms = permissionBits(rw, us, wp, write || (pte & PTE_D) !== 0);
      global = (pte & PTE_G) !== 0;
    }
    if (global && (cpu.cr4 & CR4_PGE) !== 0) perms |= TLB_GLOBAL;
  }
  if (cpu.vmx.ept) {
    // VMX non-root operation with EPT: the guest-physical page goes through EPT as well, and
    // the TLB entry holds the host-physical page with the rights both allow (vmx/ept.ts).
    const e = eptFinal(cpu, phys | (lin & 0xfff), lin, write);
    phys = e & ~0xfff;
    perms &= eptTlbPermissions(e) | TLB_GLOBAL;
  }
  const ppage = phys >>> 12;
  if (!cpu.isRamPage(ppage) || (cpu.watchedPages !== undefined && cpu.watchedPages[page] !== 0)) perms |= TLB_DEVICE;
  cpu.tlb.set(page, (phys | perms) | 0);
  return (phys | (lin & 0xfff)) | 0;
}

function permissionBits(rw: boolean, us: boolean, wp: boolean, dirty: boolean): number {
  let p = TLB_VALID;
  if (us) p |= TLB_USER_READ;
  // Writes are only granted fast once the dirty bit is set, so the first write still walks and sets it.
  if (dirty) {
    if (rw || !wp) p |= TLB_SUP_WRITE;
    if (rw && us) p |= TLB_USER_WRITE;
  }
  return p;
}

function checkRights(cpu: Cpu, lin: number, rw: boolean, us: boolean, write: boolean, user: boolean, wp: boolean): void {
  if (user && !us) pageFault(cpu, lin, PF_P, write, user);
  if (write && !rw && (user || wp)) pageFault(cpu, lin, PF_P, write, user);
}

function pageFault(cpu: Cpu, lin: number, code: number, write: boolean, user: boolean): never {
  cpu.vmx.cr2BeforeFault = cpu.cr2;   // a #PF that becomes a VM exit leaves CR2 alone (vmx/events.ts)
  cpu.cr2 = lin;
  return cpu.raiseWithCode(PF, code | (write ? PF_W : 0) | (user ? PF_U : 0));
}

/** The walk without side effects, for the debugger: the physical address or -1. */
export function translateDebug(cpu: Cpu, lin: number): number {
  if ((cpu.cr0 & CR0_PG) === 0) return hostPhysical(cpu, lin >>> 0);
  const pde = pdeFor(cpu, lin);
  if ((pde & PTE_P) === 0) return -1;
  if ((pde & PDE_PS) !== 0 && (cpu.cr4 & CR4_PSE) !== 0) return hostPhysical(cpu, ((pde & 0xffc0_0000) | (lin & 0x003f_ffff)) >>> 0);
  const pte = peekEntry(cpu, (pde & ~0xfff) | (((lin >>> 12) & 0x3ff) << 2));
  if ((pte & PTE_P) === 0) return -1;
  return hostPhysical(cpu, ((pte & ~0xfff) | (lin & 0xfff)) >>> 0);
}

/** The page-directory entry for `lin`, without side effects (0 when EPT does not map the directory). */
export function pdeFor(cpu: Cpu, lin: number): number {
  return peekEntry(cpu, (cpu.cr3 & ~0xfff) | ((lin >>> 22) << 2));
}

// ---- paging-structure accesses: guest-physical addresses under EPT (vmx/ept.ts) ----------------

function readEntry(cpu: Cpu, addr: number, lin: number): number {
  return cpu.readPhys32(cpu.vmx.ept ? eptPagingStructure(cpu, addr, lin, false) : addr);
}

function writeEntry(cpu: Cpu, addr: number, v: number, lin: number): void {
  cpu.writePhys32(cpu.vmx.ept ? eptPagingStructure(cpu, addr, lin, true) : addr, v);
}

function peekEntry(cpu: Cpu, addr: number): number {
  const p = hostPhysical(cpu, addr >>> 0);
  return p < 0 ? 0 : cpu.readPhys32(p);
}

/** A physical address as the CPU sees it: through EPT in non-root operation (-1 if unmapped). */
function hostPhysical(cpu: Cpu, addr: number): number {
  return cpu.vmx.ept ? eptPeek(cpu, addr) : addr;
}
