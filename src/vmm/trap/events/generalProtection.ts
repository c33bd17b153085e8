/**
 * #GP from the deprivileged guest: most often a privileged or IOPL-sensitive instruction
 * that ring 0 may execute and ring 1 may not. The VMM decodes the instruction at EIP; if it
 * has an emulator and the guest's own privilege allows it, the VMM carries it out and
 * steps over it ("#GP emulate ..."); otherwise the #GP is the guest's and is reflected.
 */
import { GP } from '../../../cpu/exceptions';
import { EventKind } from '../../../cpu/interrupts';
import { emulatorFor } from '../emulate';
import type { TrapMonitor } from '../trapMonitor';

const q = new Float64Array(4);

export function onGeneralProtection(t: TrapMonitor, _vector: number, errorCode: number): void {
  const cpu = t.cpu;
  const insn = t.decodeGuest();
  const emulator = emulatorFor(insn);
  if (emulator === undefined || !emulator.allowed(t, insn)) {
    t.reflect(GP, EventKind.Exception, errorCode, true, cpu.eipStart);
    return;
  }
  q.fill(0);
  const start = cpu.eipStart;
  if (emulator.run(t, insn, q) !== true) cpu.eip = cpu.code32 ? (start + insn.len) | 0 : (start + insn.len) & 0xffff;
  t.vmm.accounting.retire(insn);
  cpu.leaveBlock = true;
  const c = t.vmm.costs.events;
  t.vmm.event(t.reason(`#GP emulate ${emulator.name(insn)}`, 'privileged instruction', emulator.qualify),
    c.trapRoundTrip.cycles + c.emulateInstruction.cycles, q[0], q[1], q[2], q[3]);
}
