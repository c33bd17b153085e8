/**
 * What the debugger knows about an image beyond its bytes: symbols and source lines. An ELF
 * image gives its symbol table and DWARF line tables; a flat binary gives nothing. Broken debug
 * information is a warning, not a reason to refuse the image.
 */
import { dirname, resolve } from 'node:path';
import { Elf32File, isElf } from '../loader/elf';
import { LoadError } from '../loader/loadError';
import { DebugInfoError } from './dwarfReader';
import { readLineRows } from './dwarfLines';
import { readCompDirs } from './dwarfUnits';
import { LineTable, type SourceMap } from './sourceMap';
import { SymbolTable } from './symbols';

export interface DebugInfo {
  symbols: SymbolTable;
  sourceMap?: SourceMap;
  /** Problems with the debug information, one line each, for the debug console. */
  warnings: string[];
}

export function readDebugInfo(image: Uint8Array, fileName: string): DebugInfo {
  const warnings: string[] = [];
  if (!isElf(image)) return { symbols: new SymbolTable([]), warnings };
  const elf = new Elf32File(image, fileName);
  let symbols = new SymbolTable([]);
  try {
    symbols = SymbolTable.fromElf(elf.symbols());
  } catch (e) {
    if (!(e instanceof LoadError)) throw e;
    warnings.push(`no symbols: ${e.message}`);
  }
  const section = (name: string): Uint8Array | undefined => {
    const s = elf.sections.find((x) => x.name === name);
    return s === undefined ? undefined : image.subarray(s.offset, s.offset + s.size);
  };
  const debugLine = section('.debug_line');
  if (debugLine === undefined) return { symbols, warnings };
  try {
    const debugInfo = section('.debug_info'), debugAbbrev = section('.debug_abbrev');
    const debugStr = section('.debug_str'), debugLineStr = section('.debug_line_str');
    let compDirs: Map<number, string> | undefined;
    if (debugInfo !== undefined && debugAbbrev !== undefined) {
      try {
        compDirs = readCompDirs({ debugInfo, debugAbbrev, debugStr, debugLineStr }, fileName);
      } catch (e) {
        if (!(e instanceof DebugInfoError)) throw e;
        warnings.push(`source paths taken relative to the image's directory: ${e.message}`);
      }
    }
    const rows = readLineRows({ debugLine, debugLineStr, debugStr }, { fileName, compDirs, baseDir: dirname(resolve(fileName)) });
    return { symbols, sourceMap: new LineTable(rows), warnings };
  } catch (e) {
    if (!(e instanceof DebugInfoError)) throw e;
    warnings.push(`no source lines: ${e.message}`);
    return { symbols, warnings };
  }
}
