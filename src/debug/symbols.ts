/**
 * Code and data labels of the guest image, by name and by address: function breakpoints,
 * `kmain+0x1a` in stack traces and the disassembly, symbols in expressions.
 */
import type { ElfSymbol } from '../loader/elf';

export interface GuestSymbol {
  name: string;
  address: number;
  /** 0 when the image does not say (assembly labels). */
  size: number;
  /** A function (STT_FUNC) rather than a label of unknown kind or a data object. */
  isFunction: boolean;
  isData: boolean;
}

const STT_NOTYPE = 0, STT_OBJECT = 1, STT_FUNC = 2;
const SHN_UNDEF = 0, SHN_ABS = 0xfff1;

export class SymbolTable {
  private readonly byName = new Map<string, GuestSymbol>();
  /** Code labels sorted by address, for "which function is this address in". */
  private readonly code: GuestSymbol[];
  private readonly data: GuestSymbol[];

  /** Every symbol name, for completion. */
  names(): IterableIterator<string> { return this.byName.keys(); }

  constructor(symbols: readonly GuestSymbol[]) {
    for (const s of symbols) if (!this.byName.has(s.name)) this.byName.set(s.name, s);
    // At one address a function beats a plain label, and a global name (listed later in ELF) beats a local one.
    const code = symbols.filter((s) => !s.isData).sort((a, b) => a.address - b.address);
    this.data = symbols.filter((s) => s.isData);
    this.code = [];
    for (const s of code) {
      const last = this.code[this.code.length - 1];
      if (last !== undefined && last.address === s.address) {
        if (s.isFunction || !last.isFunction) this.code[this.code.length - 1] = s;
      } else {
        this.code.push(s);
      }
    }
  }

  static fromElf(symbols: readonly ElfSymbol[]): SymbolTable {
    return new SymbolTable(symbols
      .filter((s) => (s.type === STT_NOTYPE || s.type === STT_FUNC || s.type === STT_OBJECT) &&
        s.shndx !== SHN_UNDEF && s.shndx !== SHN_ABS && s.name !== '')
      .map((s) => ({ name: s.name, address: s.value >>> 0, size: s.size, isFunction: s.type === STT_FUNC, isData: s.type === STT_OBJECT })));
  }

  lookup(name: string): GuestSymbol | undefined { return this.byName.get(name); }

  /** The code label at or below `address` (within its size when the image gives one). */
  containing(address: number): GuestSymbol | undefined {
    const a = address >>> 0;
    let lo = 0, hi = this.code.length - 1, found: GuestSymbol | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.code[mid].address <= a) { found = this.code[mid]; lo = mid + 1; } else hi = mid - 1;
    }
    if (found !== undefined && found.size !== 0 && a >= found.address + found.size) return undefined;
    return found;
  }

  /** The data object (with its size) that holds `address`. */
  private dataAt(address: number): GuestSymbol | undefined {
    const a = address >>> 0;
    return this.data.find((s) => a >= s.address && a < s.address + Math.max(1, s.size));
  }

  /** `name` or `name+0x1a` (a data object holding the address, else the code label before it), or undefined. */
  describe(address: number): string | undefined {
    const s = this.dataAt(address) ?? this.containing(address);
    if (s === undefined) return undefined;
    const off = (address >>> 0) - s.address;
    return off === 0 ? s.name : `${s.name}+0x${off.toString(16)}`;
  }
}
