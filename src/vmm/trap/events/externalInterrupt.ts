/**
 * An interrupt from the PIC. It reaches the VMM only while the guest's interrupt flag is set
 * (the processor's IF carries it), so it goes straight to the guest's handler, returning to
 * the instruction it interrupted (or after the HLT it woke).
 */
import { EventKind } from '../../../cpu/interrupts';
import type { TrapMonitor } from '../trapMonitor';

export function onExternalInterrupt(t: TrapMonitor, vector: number): void {
  t.reflect(vector, EventKind.External, 0, false, t.cpu.eip, 'reflect external interrupt');
}
