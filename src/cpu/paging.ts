/**
 * Two-level 32-bit paging (SDM Vol. 3A, 4.3): the page walk behind a TLB miss, with 4 MiB
 * pages (CR4.PSE), U/S and R/W checks with CR0.WP, accessed and dirty bits, global pages
 * (CR4.PGE), CR2 and the #PF error code.
 */
import type { Cpu } from './cpu';
import { PF } from './exceptions';
import { CR0_PG, CR0_WP, CR4_PGE, CR4_PSE } from './registers';
import { TLB_DEVICE, TLB_GLOBAL, TLB_SUP_WRITE, TLB_USER_READ, TLB_USER_WRITE, TLB_VALID } from './tlb';

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
    const pde = cpu.readPhys32(pdeAddr);
    if ((pde & PTE_P) === 0) pageFault(cpu, lin, 0, write, user);
    const wp = (cpu.cr0 & CR0_WP) !== 0;
    let global = false;
    if ((pde & PDE_PS) !== 0 && (cpu.cr4 & CR4_PSE) !== 0) {
      // 4 MiB page: bits 31:22 of the PDE are the frame (bits 20:13 would be PSE-36, beyond 4 GiB).
      if ((pde & 0x003f_e000) !== 0) pageFault(cpu, lin, PF_P | PF_RSVD, write, user);
      const rw = (pde & PTE_RW) !== 0, us = (pde & PTE_US) !== 0;
      checkRights(cpu, lin, rw, us, write, user, wp);
      const wanted = PTE_A | (write ? PTE_D : 0);
      if ((pde & wanted) !== wanted) cpu.writePhys32(pdeAddr, pde | wanted);
      phys = ((pde & 0xffc0_0000) | (lin & 0x003f_f000)) >>> 0;
      perms = permissionBits(rw, us, wp, write || (pde & PTE_D) !== 0);
      global = (pde & PTE_G) !== 0;
    } else {
      const pteAddr = (pde & ~0xfff) | (((lin >>> 12) & 0x3ff) << 2);
      const pte = cpu.readPhys32(pteAddr);
      if ((pte & PTE_P) === 0) pageFault(cpu, lin, 0, write, user);
      // Rights are the more restrictive of PDE and PTE (SDM Vol. 3A, 4.6.1).
      const rw = (pde & pte & PTE_RW) !== 0, us = (pde & pte & PTE_US) !== 0;
      checkRights(cpu, lin, rw, us, write, user, wp);
      if ((pde & PTE_A) === 0) cpu.writePhys32(pdeAddr, pde | PTE_A);
      const wanted = PTE_A | (write ? PTE_D : 0);
      if ((pte & wanted) !== wanted) cpu.writePhys32(pteAddr, pte | wanted);
      phys = (pte & ~0xfff) >>> 0;
      perms = permissionBits(rw, us, wp, write || (pte & PTE_D) !== 0);
      global = (pte & PTE_G) !== 0;
    }
    if (global && (cpu.cr4 & CR4_PGE) !== 0) perms |= TLB_GLOBAL;
  }
  const ppage = phys >>> 12;
  if (!cpu.isRamPage(ppage)) perms |= TLB_DEVICE;
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
  cpu.cr2 = lin;
  return cpu.raiseWithCode(PF, code | (write ? PF_W : 0) | (user ? PF_U : 0));
}

/** The walk without side effects, for the debugger: the physical address or -1. */
export function translateDebug(cpu: Cpu, lin: number): number {
  if ((cpu.cr0 & CR0_PG) === 0) return lin >>> 0;
  const pde = cpu.readPhys32((cpu.cr3 & ~0xfff) | ((lin >>> 22) << 2));
  if ((pde & PTE_P) === 0) return -1;
  if ((pde & PDE_PS) !== 0 && (cpu.cr4 & CR4_PSE) !== 0) return ((pde & 0xffc0_0000) | (lin & 0x003f_ffff)) >>> 0;
  const pte = cpu.readPhys32((pde & ~0xfff) | (((lin >>> 12) & 0x3ff) << 2));
  if ((pte & PTE_P) === 0) return -1;
  return ((pte & ~0xfff) | (lin & 0xfff)) >>> 0;
}
