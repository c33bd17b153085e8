/**
 * A quick test that a name is certainly not in a set of names, by length and first
 * character, without slicing the name out of its line or hashing it. Used so that ordinary
 * identifiers (mnemonics, registers, labels) cost next to nothing when looking for macros.
 */
export class NameFilter {
  private readonly counts = new Uint32Array(64 * 128);

  private static slot(len: number, c: number): number {
    return (Math.min(len, 63) << 7) | (c & 127);
  }

  /** `anyCase`: the name also matches with another case (case-insensitive macros). */
  add(name: string, anyCase: boolean, delta = 1): void {
    if (name.length === 0) return;
    const c = name.charCodeAt(0);
    this.counts[NameFilter.slot(name.length, c)] += delta;
    if (anyCase) {
      const other = c >= 0x61 && c <= 0x7a ? c - 32 : c >= 0x41 && c <= 0x5a ? c + 32 : -1;
      if (other >= 0) this.counts[NameFilter.slot(name.length, other)] += delta;
    }
  }

  remove(name: string, anyCase: boolean): void {
    this.add(name, anyCase, -1);
  }

  /** False when no name of the set can be `text.slice(start, end)`. */
  mayHave(text: string, start: number, end: number): boolean {
    return this.counts[NameFilter.slot(end - start, text.charCodeAt(start))] !== 0;
  }

  clear(): void {
    this.counts.fill(0);
  }
}
