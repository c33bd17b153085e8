/**
 * How the `hw` VMM virtualizes the guest's memory: EPT (the processor walks the guest's page
 * tables, then the VMM's extended page tables) or shadow page tables (the VMM keeps the page
 * tables the processor really uses, with CR3 loads, INVLPG and page faults exiting).
 */
import type { GuestControl } from '../guestMemory';
import type { ShadowPaging } from './shadowPaging';
import type { PagingControls } from './vmcsSetup';
import type { Vcpu } from './vcpu';

export const MEM_VIRT_NAMES = ['ept', 'shadow'] as const;
export type MemVirtName = (typeof MEM_VIRT_NAMES)[number];

export interface MemoryVirtualization {
  readonly name: MemVirtName;
  readonly controls: PagingControls;
  /** The control registers the guest's own paging works with, for the VMM's walks of guest memory. */
  guestControl(vcpu: Vcpu): GuestControl;
  /** The guest changed CR0 or CR4 through an exit (to `cr0` and `cr4`, as the guest sees them). */
  controlRegistersChanged(vcpu: Vcpu, cr0: number, cr4: number): void;
  /** The shadow page tables, in shadow mode. */
  readonly shadow: ShadowPaging | undefined;
}
