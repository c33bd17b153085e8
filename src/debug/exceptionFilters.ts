/**
 * The exception breakpoint filters: one per guest exception vector (SDM Vol. 3A, table 6-1)
 * and one for the triple fault that shuts the processor down.
 */
import { EXCEPTION_MNEMONICS } from '../cpu/exceptions';

export interface ExceptionFilter {
  /** The filter id clients send back: the mnemonic without '#' ("GP"), or "triple-fault". */
  id: string;
  label: string;
  description: string;
  /** Vector number, or undefined for the triple fault. */
  vector?: number;
  default: boolean;
}

export const TRIPLE_FAULT = 'triple-fault';

const NAMES: Record<number, string> = {
  0: 'divide error', 1: 'debug', 3: 'breakpoint (INT3)', 4: 'overflow (INTO)', 5: 'BOUND range exceeded',
  6: 'invalid opcode', 7: 'device not available', 8: 'double fault', 10: 'invalid TSS',
  11: 'segment not present', 12: 'stack-segment fault', 13: 'general protection', 14: 'page fault',
  17: 'alignment check',
};

export const EXCEPTION_FILTERS: readonly ExceptionFilter[] = [
  ...Object.entries(NAMES).map(([v, name]): ExceptionFilter => {
    const vector = Number(v);
    const mnemonic = EXCEPTION_MNEMONICS[vector];
    return {
      id: mnemonic.slice(1), label: `${mnemonic} ${name}`, vector,
      description: `Stop before the guest's ${mnemonic} (vector ${vector}) is delivered`,
      default: vector === 8,
    };
  }),
  { id: TRIPLE_FAULT, label: 'Triple fault', description: 'Stop at the triple fault that shuts the processor down', default: true },
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
