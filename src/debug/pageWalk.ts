/**
 * The page-table walk of one linear address as the guest's own tables give it (SDM Vol. 3A,
 * 4.3: 32-bit paging, 4 KiB and 4 MiB pages), for the Debug Console's `walk ADDRESS`: CR3, the
 * page-directory entry and the page-table entry with their addresses and decoded bits, and the
 * physical address, or the entry that stops the walk. Under shadow paging the guest's tables
 * are walked with the control registers the guest believes it has (guestPaging.ts).
 */
import type { RegisterNode } from './registers';
import { hex8 } from './guestMemory';

const CR0_PG = 1 << 31, CR4_PSE = 1 << 4;
const P = 1, RW = 2, US = 4, PWT = 8, PCD = 0x10, A = 0x20, D = 0x40, PS = 0x80, G = 0x100;

/** What the walk reads: the guest's paging registers and its physical memory (undefined where it is not RAM). */
export interface PagingView {
  cr0: number;
  cr3: number;
  cr4: number;
  readPhys32(address: number): number | undefined;
}

function bits(entry: number, large: boolean): string {
  const names: [number, string][] = [[P, 'P'], [RW, 'RW'], [US, 'US'], [PWT, 'PWT'], [PCD, 'PCD'], [A, 'A'], [D, 'D'], [PS, 'PS'], [G, 'G']];
  return names.filter(([b, name]) => (entry & b) !== 0 && (name !== 'PS' || large)).map(([, name]) => name).join(' ') || 'none';
}

function entryNode(name: string, address: number, entry: number, large: boolean): RegisterNode {
  return {
    name, value: `[${hex8(address)}] = ${hex8(entry)} (${bits(entry, large)})`, memoryReference: address,
    children: [
      { name: 'frame', value: hex8(entry & (large ? 0xffc0_0000 : 0xffff_f000)) },
      { name: 'present', value: String((entry & P) !== 0) },
      { name: 'writable', value: String((entry & RW) !== 0) },
      { name: 'user', value: String((entry & US) !== 0) },
      { name: 'accessed', value: String((entry & A) !== 0) },
      { name: 'dirty', value: String((entry & D) !== 0) },
    ],
  };
}

/** The walk of `lin`: one node per step, the last one the physical address or why there is none. */
export function pageWalk(view: PagingView, lin: number): RegisterNode[] {
  const nodes: RegisterNode[] = [{ name: 'linear', value: hex8(lin) }];
  if ((view.cr0 & CR0_PG) === 0) {
    nodes.push({ name: 'physical', value: `${hex8(lin)} (paging is off: linear = physical)`, memoryReference: lin >>> 0 });
    return nodes;
  }
  const pdeAddr = ((view.cr3 & 0xffff_f000) | ((lin >>> 22) << 2)) >>> 0;
  nodes.push({ name: 'CR3', value: hex8(view.cr3) });
  const pde = view.readPhys32(pdeAddr);
  if (pde === undefined) return [...nodes, { name: 'physical', value: `none: the page directory entry at ${hex8(pdeAddr)} is not in RAM` }];
  const large = (pde & PS) !== 0 && (view.cr4 & CR4_PSE) !== 0;
  nodes.push(entryNode(`PDE ${lin >>> 22}`, pdeAddr, pde, large));
  if ((pde & P) === 0) return [...nodes, { name: 'physical', value: 'none: the page directory entry is not present (#PF)' }];
  if (large) {
    const phys = ((pde & 0xffc0_0000) | (lin & 0x003f_ffff)) >>> 0;
    return [...nodes, { name: 'physical', value: `${hex8(phys)} (4 MiB page)`, memoryReference: phys }];
  }
  const pteAddr = ((pde & 0xffff_f000) | (((lin >>> 12) & 0x3ff) << 2)) >>> 0;
  const pte = view.readPhys32(pteAddr);
  if (pte === undefined) return [...nodes, { name: 'physical', value: `none: the page table entry at ${hex8(pteAddr)} is not in RAM` }];
  nodes.push(entryNode(`PTE ${(lin >>> 12) & 0x3ff}`, pteAddr, pte, false));
  if ((pte & P) === 0) return [...nodes, { name: 'physical', value: 'none: the page table entry is not present (#PF)' }];
  const phys = ((pte & 0xffff_f000) | (lin & 0xfff)) >>> 0;
  return [...nodes, { name: 'physical', value: `${hex8(phys)} (4 KiB page)`, memoryReference: phys }];
}
