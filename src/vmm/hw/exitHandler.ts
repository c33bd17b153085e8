/**
 * What every exit handler of the `hw` VMM is: the emulation of one VM-exit reason (one module
 * each under exits/) and the way its exit-log records put the qualification into words.
 */
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
}
