/**
 * The hypercall table: number, name and arguments as Xen 3 defines them for 32-bit guests
 * (fact sheet section 6), and the VMM's handler. A call whose handler is missing returns
 * -ENOSYS, as Xen answers a hypercall it does not have.
 */
import { consoleIo } from './hypercall/console';
import { eventChannelOp } from './hypercall/events';
import { mmuextOp, mmuUpdate, updateVaMapping } from './hypercall/memory';
import { multicall } from './hypercall/multicall';
import { schedOp, setTimerOp } from './hypercall/scheduling';
import { fpuTaskswitch, iret, setCallbacks, setTrapTable, stackSwitch } from './hypercall/traps';
import { xenVersion } from './hypercall/version';
import type { PvMonitor } from './pvMonitor';

/**
 * Runs a hypercall with its arguments (EBX, ECX, EDX, ESI, EDI). Returns the result for EAX
 * (0 or a negative errno), or undefined when the call set EAX itself (iret).
 */
export type HypercallHandler = (pv: PvMonitor, args: Int32Array) => number | undefined;

export interface Hypercall {
  number: number;
  name: string;
  args: readonly string[];
  handler?: HypercallHandler;
}

export const HYPERCALLS: readonly Hypercall[] = [
  { number: 0, name: 'set_trap_table', args: ['table'], handler: setTrapTable },
  { number: 1, name: 'mmu_update', args: ['reqs', 'count', 'done', 'domid'], handler: mmuUpdate },
  { number: 2, name: 'set_gdt', args: ['frames', 'entries'] },
  { number: 3, name: 'stack_switch', args: ['ss', 'esp'], handler: stackSwitch },
  { number: 4, name: 'set_callbacks', args: ['event_selector', 'event_address', 'failsafe_selector', 'failsafe_address'], handler: setCallbacks },
  { number: 5, name: 'fpu_taskswitch', args: ['set'], handler: fpuTaskswitch },
  { number: 10, name: 'update_descriptor', args: ['ma_lo', 'ma_hi', 'desc_lo', 'desc_hi'] },
  { number: 12, name: 'memory_op', args: ['cmd', 'arg'] },
  { number: 13, name: 'multicall', args: ['calls', 'count'], handler: multicall },
  { number: 14, name: 'update_va_mapping', args: ['va', 'pte', 'pte_hi', 'flags'], handler: updateVaMapping },
  { number: 15, name: 'set_timer_op', args: ['timeout_lo', 'timeout_hi'], handler: setTimerOp },
  { number: 17, name: 'xen_version', args: ['cmd', 'arg'], handler: xenVersion },
  { number: 18, name: 'console_io', args: ['cmd', 'count', 'str'], handler: consoleIo },
  { number: 21, name: 'vm_assist', args: ['cmd', 'type'] },
  { number: 23, name: 'iret', args: [], handler: iret },
  { number: 24, name: 'vcpu_op', args: ['cmd', 'vcpu', 'arg'] },
  { number: 26, name: 'mmuext_op', args: ['ops', 'count', 'done', 'domid'], handler: mmuextOp },
  { number: 29, name: 'sched_op', args: ['cmd', 'arg'], handler: schedOp },
  { number: 30, name: 'callback_op', args: ['cmd', 'arg'] },
  { number: 32, name: 'event_channel_op', args: ['cmd', 'arg'], handler: eventChannelOp },
];

const BY_NUMBER = new Map(HYPERCALLS.map((h) => [h.number, h]));

export function hypercall(number: number): Hypercall | undefined { return BY_NUMBER.get(number); }
