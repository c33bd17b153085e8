/**
 * Labels and EQUs across passes. A symbol keeps the value of the last pass that defined it,
 * so a forward reference is unknown only in the first pass; every definition that creates or
 * moves a symbol counts as a change, and the passes go on until a pass changes nothing.
 */
import type { I64 } from './int64';
import type { SymbolValue } from './expression';

export interface SymbolEntry extends SymbolValue {
  name: string;
  kind: 'label' | 'equ';
  /** The pass that last defined it. */
  pass: number;
  /** Where it is defined: the statement's index and the name's position in its text. */
  statement: number;
  pos: number;
  /** The table's `serial` when the value last changed. */
  changed: number;
  /** nasm-internal names (`section.x.start`) that are not the user's symbols. */
  special?: boolean;
}

export type DefineResult = 'ok' | 'redefined';

export class SymbolTable {
  private readonly entries = new Map<string, SymbolEntry>();
  /** Definitions in the current pass that created or moved a symbol. */
  changes = 0;
  pass = 0;
  /** Counts every creation or move of a symbol, across passes. */
  serial = 0;

  startPass(pass: number): void {
    this.pass = pass;
    this.changes = 0;
  }

  lookup(name: string): SymbolEntry | undefined {
    return this.entries.get(name);
  }

  /**
   * Defines or moves a symbol. A second definition in the same pass keeps the first one and
   * reports 'redefined' when it disagrees (nasm: "label inconsistently redefined"), so a
   * duplicate cannot keep the passes from converging.
   */
  define(name: string, base: number, offset: I64, kind: 'label' | 'equ', statement: number, pos: number, special = false): DefineResult {
    const e = this.entries.get(name);
    if (e === undefined) {
      this.entries.set(name, { name, base, offset, kind, pass: this.pass, statement, pos, changed: ++this.serial, special: special || undefined });
      // nasm's own symbols are defined before any line of a pass: they cannot move a label.
      if (!special) this.changes++;
      return 'ok';
    }
    if (e.pass === this.pass) {
      // nasm's warning for an identical redefinition is off by default.
      return e.base === base && e.offset === offset ? 'ok' : 'redefined';
    }
    if (e.base !== base || e.offset !== offset) {
      e.base = base;
      e.offset = offset;
      e.changed = ++this.serial;
      this.changes++;
    }
    e.pass = this.pass;
    e.kind = kind;
    e.statement = statement;
    e.pos = pos;
    return 'ok';
  }

  all(): IterableIterator<SymbolEntry> {
    return this.entries.values();
  }
}
