/**
 * What the debugger and the language server learn from an assembly: the symbols with their
 * final addresses, and the line map from addresses to the source lines that produced them.
 */
import type { Emission } from './assembler';
import * as i64 from './int64';
import { baseAddress, type Layout, type Section } from './sections';
import type { ExpandedLine, SourceLocation } from './source';
import type { SymbolEntry } from './symbols';

export interface SymbolInfo {
  name: string;
  /** The address of a label (its section's place included), the value of an EQU. */
  value: number;
  kind: 'label' | 'equ';
  section?: string;
  location: SourceLocation;
}

export interface MapEntry {
  address: number;
  length: number;
  location: SourceLocation;
  /** The macro body lines the line came from, outermost first. */
  expansion?: SourceLocation[];
}

/** The user's symbols (not nasm's `section.NAME.start` ones), in the order they were defined. */
export function symbolList(
  entries: Iterable<SymbolEntry>, sections: readonly Section[], layout: Layout,
  locate: (statement: number, pos: number) => SourceLocation,
): SymbolInfo[] {
  const list: SymbolInfo[] = [];
  for (const s of entries) {
    if (s.special) continue;
    const value = s.base >= 0 ? i64.add(s.offset, baseAddress(layout, s.base)) : s.offset;
    const info: SymbolInfo = { name: s.name, value: i64.toNumber(value), kind: s.kind, location: locate(s.statement, s.pos) };
    if (s.base >= 0) info.section = sections[s.base >> 1].name;
    list.push(info);
  }
  return list;
}

/** One entry per instruction or data line that put bytes into the image, by address. */
export function lineMap(emissions: readonly Emission[], lines: readonly ExpandedLine[], layout: Layout): MapEntry[] {
  const map: MapEntry[] = [];
  for (const e of emissions) {
    if (e.section === undefined || e.section.nobits || e.length === 0) continue;
    const line = lines[e.statement];
    const entry: MapEntry = { address: layout.vstart[e.section.index] + e.offset, length: e.length, location: line.location };
    if (line.expansion) entry.expansion = line.expansion;
    map.push(entry);
  }
  return map.sort((a, b) => a.address - b.address);
}
