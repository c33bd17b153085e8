/**
 * What every exit handler of the `hw` VMM is: the emulation of one VM-exit reason (one module
 * each under exits/) and the way its exit-log records put the qualification into words.
 */
import type { EventCosts } from '../costModel';
import type { Qualifier } from '../exitLog';
import type { HwMonitor } from './hwMonitor';

/**
 * The four numbers an exit record keeps for its qualification (exitLog.ts): the handler
 * fills them, the qualifier turns them into words when the record is read.
 */
export type ExitArgs = Float64Array;

export interface ExitHandler {
  qualify: Qualifier;
  /** Handles the exit the processor just made; `q` starts zeroed. */
  handle(hw: HwMonitor, q: ExitArgs): void;
  /**
   * The VMM's work on the exit beyond the exit and the entry themselves (emulating an
   * instruction, walking the guest's page tables), in the preset's cycles; none if absent.
   */
  work?(costs: EventCosts, q: ExitArgs): number;
}
