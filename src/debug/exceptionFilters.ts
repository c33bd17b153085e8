/**
 * The exception breakpoint filters: one per guest exception vector (SDM Vol. 3A, table 6-1),
 * one for the triple fault that shuts the processor down, one per basic VM-exit reason
 * (`hw`, fact sheet section 1), one per class of event the software VMMs handle, and one for
 * the virtualization holes of `trap`. DAP offers filters once per session, before the mode is
 * known, so all of them are offered and each label says which mode it applies to.
 */
import { EXCEPTION_MNEMONICS } from '../cpu/exceptions';
import { EXIT_REASON } from '../cpu/vmx/index';
import type { EventClass } from '../vmm/exitLog';

export interface ExceptionFilter {
  /** The filter id clients send back: the mnemonic without '#' ("GP"), "triple-fault", "vmexit-10", ... */
  id: string;
  label: string;
  description: string;
  /** Vector number of a guest exception filter. */
  vector?: number;
  /** Basic exit reason of a VM-exit filter. */
  exitReason?: number;
  /** The VMM event class of a software-mode filter. */
  eventClass?: EventClass;
  default: boolean;
}

export const TRIPLE_FAULT = 'triple-fault';
export const HOLE = 'hole';
export const VMEXIT_PREFIX = 'vmexit-';

const NAMES: Record<number, string> = {
  0: 'divide error', 1: 'debug', 3: 'breakpoint (INT3)', 4: 'overflow (INTO)', 5: 'BOUND range exceeded',
  6: 'invalid opcode', 7: 'device not available', 8: 'double fault', 10: 'invalid TSS',
  11: 'segment not present', 12: 'stack-segment fault', 13: 'general protection', 14: 'page fault',
  17: 'alignment check',
};

/** The software VMMs' event classes a user can stop on (reflected exceptions and interrupts are the vector filters'). */
const VMM_EVENTS: readonly { id: string; eventClass: EventClass; label: string; modes: string }[] = [
  { id: 'vmm-privileged', eventClass: 'privileged instruction', label: 'privileged-instruction trap', modes: 'trap, bt, pv' },
  { id: 'vmm-shadow-pf', eventClass: 'page fault', label: 'shadow page fault or PTE write', modes: 'trap, bt' },
  { id: 'vmm-translate', eventClass: 'translation', label: 'block translation', modes: 'bt' },
  { id: 'vmm-hypercall', eventClass: 'hypercall', label: 'hypercall', modes: 'pv' },
];

export const EXCEPTION_FILTERS: readonly ExceptionFilter[] = [
  ...Object.entries(NAMES).map(([v, name]): ExceptionFilter => {
    const vector = Number(v);
    const mnemonic = EXCEPTION_MNEMONICS[vector];
    return {
      id: mnemonic.slice(1), label: `${mnemonic} ${name}`, vector,
      description: `Stop before the guest's ${mnemonic} (vector ${vector}) is delivered (under trap and pv: when the VMM gives it to the guest)`,
      default: vector === 8,
    };
  }),
  { id: TRIPLE_FAULT, label: 'Triple fault', description: 'Stop at the triple fault that shuts the processor down', default: true },
  ...Object.entries(EXIT_REASON).map(([name, exitReason]): ExceptionFilter => ({
    id: `${VMEXIT_PREFIX}${exitReason}`, label: `VM exit: ${name} (${exitReason})`, exitReason,
    description: `hw mode: stop when the VMM has handled a VM exit with basic reason ${exitReason} (${name}), before the guest goes on`,
    default: false,
  })),
  ...VMM_EVENTS.map(({ id, eventClass, label, modes }): ExceptionFilter => ({
    id, label: `VMM: ${label} (${modes})`, eventClass,
    description: `${modes}: stop when the VMM has handled a ${label}, before the guest goes on`,
    default: false,
  })),
  {
    id: HOLE, label: 'Virtualization hole (trap)', default: false,
    description: 'trap mode: stop after a sensitive instruction ran without trapping and gave the guest a wrong answer',
  },
];

/** The ids of `ids` that name no filter. */
export function unknownFilters(ids: readonly string[]): string[] {
  return ids.filter((id) => !EXCEPTION_FILTERS.some((f) => f.id === id));
}

export function exceptionName(vector: number): string {
  const mnemonic = EXCEPTION_MNEMONICS[vector] ?? `vector ${vector}`;
  const name = NAMES[vector];
  return name === undefined ? mnemonic : `${mnemonic} ${name}`;
}
