/**
 * Any exception other than #GP and #PF (#DE, #UD, #NP, #SS, ...): the guest's own, given to
 * it through its IDT with EIP at the faulting instruction.
 */
import { EventKind } from '../../../cpu/interrupts';
import type { TrapMonitor } from '../trapMonitor';

export function onException(t: TrapMonitor, vector: number, errorCode: number, hasErrorCode: boolean): void {
  t.reflect(vector, EventKind.Exception, errorCode, hasErrorCode, t.cpu.eipStart);
}
