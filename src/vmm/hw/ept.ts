/**
 * Identity extended page tables for the guest's RAM (SDM Vol. 3C, 28.2): guest-physical
 * address = host-physical address for every RAM page the guest was told of, read, write and
 * execute, write-back. Whatever is not RAM stays out: the device holes inside RAM (the legacy
 * VGA and BIOS window the machine marks as device memory), everything above the guest's RAM
 * (the VMM's own memory among it) and the MMIO region under 4 GiB. A guest access there is an
 * EPT violation, and the VMM emulates it against the machine's devices.
 *
 * 2-MiB pages map the stretches that are RAM throughout; a 2-MiB region with a hole, or at
 * the end of RAM, gets a page table of 4-KiB pages. The tables live in VMM memory.
 */
import { CR0_NE, CR4_VMXE } from '../../cpu/registers';
import { PROC2_ENABLE_EPT, PROC2_UNRESTRICTED_GUEST, VMCS } from '../../cpu/vmx/index';
import type { Machine } from '../../machine/machine';
import { VmmStop, type GuestControl } from '../guestMemory';
import type { VmmMemory } from '../vmmMemory';
import type { MemoryVirtualization } from './memoryVirtualization';
import type { PagingControls } from './vmcsSetup';
import type { Vcpu } from './vcpu';

const PAGE = 4096;
const LARGE = 2 * 1024 * 1024;
const PAGES_PER_LARGE = LARGE / PAGE;

/** EPT entry bits (fact sheet, "Formats"): R, W, X, memory type 5:3, large page 7. */
const EPT_RWX = 7;
const EPT_LARGE = 1 << 7;
const MEMTYPE_WB = 6;
const LEAF = EPT_RWX | (MEMTYPE_WB << 3);

/** EPTP: write-back (2:0), walk length 4 - 1 (5:3), no accessed/dirty flags (6). */
const EPTP_WB_4_LEVELS = MEMTYPE_WB | (3 << 3);

/** Builds the tables; returns the value for the EPT_POINTER field. */
export function buildIdentityEpt(machine: Machine, mem: VmmMemory): number {
  const allocate = (): number => {
    const p = mem.allocate();
    if (p === undefined) throw new VmmStop('the VMM ran out of its memory building the EPT tables');
    return p;
  };
  const ramPages = machine.guestRamBytes / PAGE;
  const isRam = (page: number): boolean => page < ramPages && machine.mmioPages[page] === 0;

  const pml4 = allocate();
  const pdpt = allocate();
  mem.write32(pml4, pdpt | EPT_RWX);
  // One page directory per GiB that holds RAM (PDPT entries 0-3 cover the 32-bit space).
  for (let gib = 0; gib * 512 * LARGE < machine.guestRamBytes; gib++) {
    const pd = allocate();
    mem.write32(pdpt + gib * 8, pd | EPT_RWX);
    for (let k = 0; k < 512; k++) {
      const first = (gib * 512 + k) * PAGES_PER_LARGE;
      if (first >= ramPages) break;
      let whole = true;
      for (let p = first; p < first + PAGES_PER_LARGE && whole; p++) whole = isRam(p);
      if (whole) {
        mem.write32(pd + k * 8, (first * PAGE) | LEAF | EPT_LARGE);
        continue;
      }
      const pt = allocate();
      mem.write32(pd + k * 8, pt | EPT_RWX);
      for (let j = 0; j < PAGES_PER_LARGE; j++) {
        const page = first + j;
        if (isRam(page)) mem.write32(pt + j * 8, (page * PAGE) | LEAF);
      }
    }
  }
  return pml4 | EPTP_WB_4_LEVELS;
}

/**
 * Memory through EPT: the guest's paging is its own, on the processor's control registers,
 * with the unrestricted guest so it may run with paging off, as the loader leaves it. The VMM
 * owns only what VMX fixes: CR0.NE and CR4.VMXE, which the guest sees as it set them.
 */
export class EptPaging implements MemoryVirtualization {
  readonly name = 'ept';
  readonly controls: PagingControls;
  readonly shadow = undefined;
  private readonly ctl: GuestControl = { cr0: 0, cr3: 0, cr4: 0 };

  /** `eptPointer`: the tables another virtual CPU of the guest built (one set per guest), else new ones. */
  constructor(machine: Machine, mem: VmmMemory, eptPointer = buildIdentityEpt(machine, mem)) {
    this.controls = {
      proc: 0,
      proc2: PROC2_ENABLE_EPT | PROC2_UNRESTRICTED_GUEST,
      exceptionBitmap: 0,
      cr0Mask: CR0_NE,
      cr4Mask: CR4_VMXE,
      realCr0: (v) => v | CR0_NE,
      realCr4: (v) => v | CR4_VMXE,
      realCr3: (v) => v,
      eptPointer,
    };
  }

  /** The processor's own: the guest's paging is real under EPT. */
  guestControl(vcpu: Vcpu): GuestControl {
    this.ctl.cr0 = vcpu.read(VMCS.GUEST_CR0);
    this.ctl.cr3 = vcpu.read(VMCS.GUEST_CR3);
    this.ctl.cr4 = vcpu.read(VMCS.GUEST_CR4);
    return this.ctl;
  }

  controlRegistersChanged(): void { /* the processor walks the guest's tables itself */ }
}
