/**
 * Virtualization holes: executions of a sensitive but unprivileged instruction (fact sheet
 * section 5) that ran without trapping and gave the deprivileged guest a different answer
 * than ring 0 would have. One entry per instruction address and kind of wrong answer, with
 * the number of times it happened and the first wrong answer in words.
 */

export interface Hole {
  /** The instruction as the disassembler prints it. */
  instruction: string;
  eip: number;
  /** FILE:LINE of the instruction when the image came with a source map. */
  source: string | null;
  count: number;
  /** What went wrong, e.g. "POPF at CPL 1 dropped a change of IF from 0 to 1". */
  effect: string;
}

/** Kinds of wrong answer, so one instruction can show more than one. */
export const enum HoleKind { InterruptFlag, Iopl, Selector, TableRegister, ControlRegister, Descriptor }

export class HoleLog {
  private readonly holes = new Map<number, Hole>();
  /** Where an address comes from in the source, if known. */
  sourceOf: (eip: number) => string | undefined = () => undefined;
  /** Told of each execution counted (a debugger's hole breakpoint); unset, it costs nothing. */
  onRecord: ((hole: Hole) => void) | undefined = undefined;
  /** Times the log was cleared (the run it records started again). */
  clears = 0;

  /**
   * Counts one execution. `describe` is only called the first time the instruction at `eip`
   * goes wrong in this way, so counting again costs nothing.
   */
  record(eip: number, kind: HoleKind, describe: () => { instruction: string; effect: string }): void {
    const key = (eip >>> 0) * 8 + kind;
    let h = this.holes.get(key);
    if (h !== undefined) {
      h.count++;
    } else {
      const { instruction, effect } = describe();
      h = { instruction, eip: eip >>> 0, source: this.sourceOf(eip >>> 0) ?? null, count: 1, effect };
      this.holes.set(key, h);
    }
    this.onRecord?.(h);
  }

  /** Forgets every hole, for a run that starts again from the launch. */
  clear(): void {
    this.holes.clear();
    this.clears++;
  }

  /** Every hole, by address. */
  list(): Hole[] {
    return [...this.holes.values()].sort((a, b) => a.eip - b.eip || a.effect.localeCompare(b.effect));
  }

  get total(): number {
    let n = 0;
    for (const h of this.holes.values()) n += h.count;
    return n;
  }
}
