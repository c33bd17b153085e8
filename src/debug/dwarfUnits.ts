/**
 * The compilation directory of each unit in .debug_info (DW_AT_comp_dir of its first DIE,
 * keyed by DW_AT_stmt_list), which DWARF 2-4 line tables need to make their relative paths
 * absolute. Only the unit's first DIE is read, through its abbreviation (DWARF 5, 7.5).
 */
import { DW_FORM, DwarfReader, readForm, stringAt, type UnitFormat } from './dwarfReader';

export interface InfoSections {
  debugInfo: Uint8Array;
  debugAbbrev: Uint8Array;
  debugStr?: Uint8Array;
  debugLineStr?: Uint8Array;
}

const DW_AT_stmt_list = 0x10, DW_AT_comp_dir = 0x1b;
const DW_UT_skeleton = 4, DW_UT_split_compile = 5, DW_UT_type = 2, DW_UT_split_type = 6;

/** Map from a line program's offset in .debug_line to its unit's compilation directory. */
export function readCompDirs(sections: InfoSections, fileName: string): Map<number, string> {
  const r = new DwarfReader(sections.debugInfo, `${fileName}: .debug_info`);
  const dirs = new Map<number, string>();
  while (!r.atEnd) {
    const { end, dwarf64 } = r.unitLength();
    const version = r.u16();
    if (version < 2 || version > 5) r.fail(`unit version ${version} is not DWARF 2 to 5`);
    let addressSize: number, abbrevOffset: number;
    if (version >= 5) {
      const unitType = r.u8();
      addressSize = r.u8();
      abbrevOffset = r.offset(dwarf64);
      if (unitType === DW_UT_skeleton || unitType === DW_UT_split_compile) r.skip(8);            // dwo_id
      else if (unitType === DW_UT_type || unitType === DW_UT_split_type) r.skip(8 + (dwarf64 ? 8 : 4)); // signature, type offset
    } else {
      abbrevOffset = r.offset(dwarf64);
      addressSize = r.u8();
    }
    const unit: UnitFormat = { version, addressSize, dwarf64 };
    const die = new DwarfReader(r.data, r.where, r.pos, end);
    const found = firstDieAttributes(die, unit, sections, abbrevOffset, fileName);
    if (found.stmtList !== undefined && found.compDir !== undefined) dirs.set(found.stmtList, found.compDir);
    r.pos = end;
  }
  return dirs;
}

function firstDieAttributes(die: DwarfReader, unit: UnitFormat, sections: InfoSections, abbrevOffset: number,
  fileName: string): { stmtList?: number; compDir?: string } {
  const code = die.uleb();
  if (code === 0) return {};
  const abbrev = findAbbrev(sections.debugAbbrev, abbrevOffset, code, fileName);
  const result: { stmtList?: number; compDir?: string } = {};
  for (const [name, form] of abbrev) {
    const at = die.pos;
    const value = readForm(die, form, unit);
    if (name === DW_AT_stmt_list && typeof value === 'number') result.stmtList = value;
    if (name !== DW_AT_comp_dir) continue;
    const where = `${die.where} at offset 0x${at.toString(16)}`;
    if (typeof value === 'string') result.compDir = value;
    else if (form === DW_FORM.strp) result.compDir = stringAt(sections.debugStr, '.debug_str', value ?? 0, where);
    else if (form === DW_FORM.line_strp) result.compDir = stringAt(sections.debugLineStr, '.debug_line_str', value ?? 0, where);
    // An indexed string (strx) needs .debug_str_offsets: the directory stays unknown.
  }
  return result;
}

/** The attribute specifications (name, form) of abbreviation `code` in the table at `offset`. */
function findAbbrev(data: Uint8Array, offset: number, code: number, fileName: string): [number, number][] {
  const r = new DwarfReader(data, `${fileName}: .debug_abbrev`, offset);
  if (offset >= data.length) r.fail(`abbreviation table offset is past the end of the section (0x${data.length.toString(16)})`);
  for (;;) {
    const c = r.uleb();
    if (c === 0) return r.fail(`abbreviation ${code} is not in the table at offset 0x${offset.toString(16)}`);
    r.uleb();   // tag
    r.u8();     // has children
    const specs: [number, number][] = [];
    for (;;) {
      const name = r.uleb(), form = r.uleb();
      if (name === 0 && form === 0) break;
      if (form === DW_FORM.implicit_const) r.sleb();
      specs.push([name, form]);
    }
    if (c === code) return specs;
  }
}
