/**
 * INT n, INT3 and INTO from the guest (a system call from its user code, usually): checked
 * against the gate's DPL at the guest's own CPL and delivered through its IDT, returning
 * after the instruction. A gate the guest may not use is the INT's #GP, as on hardware.
 */
import { EventKind } from '../../../cpu/interrupts';
import type { TrapMonitor } from '../trapMonitor';

export function onSoftwareInterrupt(t: TrapMonitor, vector: number): void {
  t.reflect(vector, EventKind.Software, 0, false, t.cpu.eip, `reflect INT 0x${vector.toString(16)}`);
}
