/**
 * The names visible in one file: what it and the files it shares an assembly with define
 * (labels, constants, `%define`s, macros), with the values the last assembly gave them. It is
 * the environment of the constant propagation and the table behind definitions, references,
 * hovers and completion.
 */
import type { SymbolInfo } from '../asm';
import { evaluate, num, type Value } from './evaluate';
import type { Environment } from './propagation';
import { type FileIndex, resolveName, type SymbolDef } from './sourceIndex';

export interface Located { def: SymbolDef; index: FileIndex }

export class SymbolTable implements Environment {
  private readonly byName = new Map<string, Located[]>();
  private readonly byLowerName = new Map<string, Located[]>();
  private readonly assembled = new Map<string, SymbolInfo>();

  constructor(readonly files: readonly FileIndex[], assembled: readonly SymbolInfo[] = []) {
    for (const index of files) {
      for (const def of index.defs) {
        if (def.kind === 'section') continue;
        push(this.byName, def.name, { def, index });
        if (def.caseInsensitive) push(this.byLowerName, def.name.toLowerCase(), { def, index });
      }
    }
    for (const s of assembled) this.assembled.set(s.name, s);
  }

  /** Definitions of a full name: macros and %defines first, then constants, then labels. */
  lookup(name: string): Located[] {
    const found = [...(this.byName.get(name) ?? []), ...(this.byLowerName.get(name.toLowerCase()) ?? []).filter((l) => l.def.name !== name)];
    const rank = (l: Located): number => (l.def.kind === 'macro' || l.def.kind === 'define' ? 0 : l.def.kind === 'equ' ? 1 : l.def.alone ? 3 : 2);
    return found.sort((a, b) => rank(a) - rank(b));
  }

  /** The assembler's value of a symbol (labels and `equ`s), from the last assembly. */
  assembledSymbol(name: string): SymbolInfo | undefined {
    return this.assembled.get(name);
  }

  all(): Located[] {
    return [...this.byName.values()].flat();
  }

  macro(name: string): Located | undefined {
    return this.lookup(name).find((l) => l.def.kind === 'macro' && l.def.macro !== undefined);
  }

  resolve(name: string, parent: string, seen = new Set<string>()): Value | undefined {
    const full = resolveName(name, parent);
    if (seen.has(full)) return undefined;
    seen.add(full);
    try {
      for (const { def } of this.lookup(full)) {
        if (def.kind === 'define') return def.value ? evaluate(def.value, (n) => this.resolve(n, parent, seen)) : undefined;
        if (def.kind === 'macro') return undefined;
        const s = this.assembled.get(full);
        if (s?.kind === 'equ') return num(s.value);
        if (def.kind === 'equ') return def.value ? evaluate(def.value, (n) => this.resolve(n, def.parent ?? parent, seen)) : undefined;
        if (def.kind === 'label') return { kind: 'sym', name: full, offset: 0 };
      }
      const s = this.assembled.get(full);
      if (s?.kind === 'equ') return num(s.value);
      return s?.kind === 'label' ? { kind: 'sym', name: full, offset: 0 } : undefined;
    } finally {
      seen.delete(full);
    }
  }

  /** A value as a number: labels take the address of the last assembly. */
  numeric(v: Value | undefined): number | undefined {
    if (v === undefined) return undefined;
    if (v.kind === 'num') return v.n;
    const s = this.assembled.get(v.name);
    return s === undefined ? undefined : (s.value + v.offset) >>> 0;
  }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v); else m.set(k, [v]);
}
