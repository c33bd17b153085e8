/**
 * Linear addresses as the guest kernel means them. Where a VMM keeps shadow page tables
 * (trap, bt, hw with shadow paging) the processor walks the shadows, which the VMM fills one
 * page at a time as the guest touches them: a page the guest has not used yet is missing
 * there although the guest's own tables map it. The debugger walks the guest's tables
 * instead, with the control registers the guest believes it has, and without side effects
 * (no accessed or dirty bits). The other modes' processor tables are the guest's own.
 */
import { GuestFault, Walk, walkGuest, type GuestControl } from '../vmm/guestMemory';
import { HwMonitor } from '../vmm/hw/hwMonitor';
import { TrapMonitor } from '../vmm/trap/trapMonitor';
import type { Vmm } from '../vmm/vmm';

/** Processor `k`'s guest paging registers under shadow paging, or undefined when the processor's are the guest's. */
export function guestControl(vmm: Vmm, k = 0): (() => GuestControl) | undefined {
  const m = vmm.monitors[k];
  if (m instanceof TrapMonitor) return () => m.vcpu;
  if (m instanceof HwMonitor && m.memVirt === 'shadow') return () => m.paging.shadow!.guestControl();
  return undefined;
}

/** The translation for processor `k`'s GuestMemory in the debugger: physical address or -1; undefined for the processor's own walk. */
export function guestTranslation(vmm: Vmm, k = 0): ((lin: number) => number) | undefined {
  const control = guestControl(vmm, k);
  if (control === undefined) return undefined;
  const cpu = vmm.machine.cpus[k], walk = new Walk(), ram = vmm.machine.guestRamBytes;
  return (lin) => {
    try {
      const phys = walkGuest(cpu, control(), lin, false, false, false, walk).phys;
      // The VMM's own memory lies above the guest's RAM: the guest has no business there.
      return phys < ram ? phys : -1;
    } catch (e) {
      if (e instanceof GuestFault) return -1;
      throw e;
    }
  };
}
