/**
 * Bounds-checked reading of DWARF sections (DWARF 5, section 7): fixed-size little-endian
 * integers, LEB128, NUL-terminated strings, the 32- and 64-bit DWARF formats, and the
 * attribute forms a reader must be able to step over. Every read past the end of its section
 * raises a DebugInfoError naming the file, the section and the offset.
 */

/** Debug information that cannot be read: the message names the file, section and offset. */
export class DebugInfoError extends Error {
  override readonly name = 'DebugInfoError';
}

const utf8 = new TextDecoder();

export class DwarfReader {
  pos: number;

  constructor(
    readonly data: Uint8Array,
    /** "k.elf: .debug_line" for messages. */
    readonly where: string,
    pos = 0,
    /** Reads stop here (the end of the unit being read). */
    public end = data.length,
  ) {
    this.pos = pos;
  }

  fail(problem: string, at = this.pos): never {
    throw new DebugInfoError(`${this.where} at offset 0x${at.toString(16)}: ${problem}`);
  }

  private need(n: number): number {
    const at = this.pos;
    if (at + n > this.end) this.fail(`needs ${n} byte${n === 1 ? '' : 's'}, only ${Math.max(0, this.end - at)} left`);
    this.pos = at + n;
    return at;
  }

  get atEnd(): boolean { return this.pos >= this.end; }

  u8(): number { return this.data[this.need(1)]; }
  i8(): number { return (this.u8() << 24) >> 24; }
  u16(): number { const p = this.need(2); return this.data[p] | (this.data[p + 1] << 8); }

  u32(): number {
    const p = this.need(4), d = this.data;
    return (d[p] | (d[p + 1] << 8) | (d[p + 2] << 16) | (d[p + 3] << 24)) >>> 0;
  }

  /** An 8-byte value; addresses and offsets beyond 2^53 cannot occur in a 32-bit image. */
  u64(): number {
    const at = this.pos;
    const lo = this.u32(), hi = this.u32();
    if (hi >= 0x200000) this.fail(`64-bit value 0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')} is too large`, at);
    return hi * 0x1_0000_0000 + lo;
  }

  /** An unsigned integer of `size` bytes (1, 2, 4 or 8). */
  uint(size: number): number {
    switch (size) {
      case 1: return this.u8();
      case 2: return this.u16();
      case 4: return this.u32();
      case 8: return this.u64();
      default: return this.fail(`unsupported integer size ${size}`);
    }
  }

  uleb(): number {
    const at = this.pos;
    let result = 0, scale = 1;
    for (;;) {
      const b = this.u8();
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) break;
      scale *= 128;
      if (scale > 2 ** 56) this.fail('ULEB128 value does not fit in 53 bits', at);
    }
    if (result > Number.MAX_SAFE_INTEGER) this.fail('ULEB128 value does not fit in 53 bits', at);
    return result;
  }

  sleb(): number {
    const at = this.pos;
    let result = 0, scale = 1, b: number;
    do {
      b = this.u8();
      result += (b & 0x7f) * scale;
      scale *= 128;
      if (scale > 2 ** 56) this.fail('SLEB128 value does not fit in 53 bits', at);
    } while ((b & 0x80) !== 0);
    if ((b & 0x40) !== 0) result -= scale;
    return result;
  }

  cstring(): string {
    const start = this.pos;
    let p = start;
    while (p < this.end && this.data[p] !== 0) p++;
    if (p >= this.end) this.fail('string runs past the end of its section', start);
    this.pos = p + 1;
    return utf8.decode(this.data.subarray(start, p));
  }

  skip(n: number): void { this.need(n); }

  /** The initial length of a unit (DWARF 5, 7.4): returns the unit's end and whether it is 64-bit DWARF. */
  unitLength(): { end: number; dwarf64: boolean } {
    const at = this.pos;
    let length = this.u32();
    let dwarf64 = false;
    if (length === 0xffff_ffff) { length = this.u64(); dwarf64 = true; }
    else if (length >= 0xffff_fff0) this.fail(`reserved unit length 0x${length.toString(16)}`, at);
    const end = this.pos + length;
    if (end > this.end) this.fail(`unit length 0x${length.toString(16)} runs past the end of the section (0x${this.end.toString(16)})`, at);
    return { end, dwarf64 };
  }

  /** A section offset: 4 bytes in 32-bit DWARF, 8 in 64-bit DWARF. */
  offset(dwarf64: boolean): number { return dwarf64 ? this.u64() : this.u32(); }
}

/** A NUL-terminated string at `offset` in a string section (.debug_str, .debug_line_str). */
export function stringAt(section: Uint8Array | undefined, name: string, offset: number, where: string): string {
  if (section === undefined) throw new DebugInfoError(`${where}: refers to ${name}, which the file does not have`);
  if (offset >= section.length) {
    throw new DebugInfoError(`${where}: offset 0x${offset.toString(16)} is outside ${name} (0x${section.length.toString(16)} bytes)`);
  }
  return new DwarfReader(section, name, offset).cstring();
}

/** Attribute forms (DWARF 5, 7.5.6) the readers here use by name. */
export const DW_FORM = {
  addr: 0x01, block2: 0x03, block4: 0x04, data2: 0x05, data4: 0x06, data8: 0x07, string: 0x08,
  block: 0x09, block1: 0x0a, data1: 0x0b, flag: 0x0c, sdata: 0x0d, strp: 0x0e, udata: 0x0f,
  ref_addr: 0x10, ref1: 0x11, ref2: 0x12, ref4: 0x13, ref8: 0x14, ref_udata: 0x15, indirect: 0x16,
  sec_offset: 0x17, exprloc: 0x18, flag_present: 0x19, strx: 0x1a, addrx: 0x1b, ref_sup4: 0x1c,
  strp_sup: 0x1d, data16: 0x1e, line_strp: 0x1f, ref_sig8: 0x20, implicit_const: 0x21,
  loclistx: 0x22, rnglistx: 0x23, ref_sup8: 0x24, strx1: 0x25, strx2: 0x26, strx3: 0x27,
  strx4: 0x28, addrx1: 0x29, addrx2: 0x2a, addrx3: 0x2b, addrx4: 0x2c,
} as const;

/** What a unit's header says about the size of addresses and offsets in it. */
export interface UnitFormat {
  version: number;
  addressSize: number;
  dwarf64: boolean;
}

/**
 * Reads the value of an attribute of form `form` as a number or string where that makes sense
 * (constants, section offsets, inline strings), and steps over anything else (blocks,
 * references); `undefined` then. Indexed strings (strx) need .debug_str_offsets and are
 * returned as undefined too.
 */
export function readForm(r: DwarfReader, form: number, unit: UnitFormat): number | string | undefined {
  const F = DW_FORM;
  switch (form) {
    case F.addr: return r.uint(unit.addressSize);
    case F.data1: case F.ref1: case F.flag: case F.strx1: case F.addrx1: return r.u8();
    case F.data2: case F.ref2: case F.strx2: case F.addrx2: return r.u16();
    case F.strx3: case F.addrx3: { const lo = r.u16(); return lo + r.u8() * 0x10000; }
    case F.data4: case F.ref4: case F.ref_sup4: case F.strx4: case F.addrx4: return r.u32();
    case F.data8: case F.ref8: case F.ref_sig8: case F.ref_sup8: return r.u64();
    case F.data16: r.skip(16); return undefined;
    case F.string: return r.cstring();
    case F.sdata: return r.sleb();
    case F.udata: case F.ref_udata: case F.strx: case F.addrx: case F.loclistx: case F.rnglistx: return r.uleb();
    case F.strp: case F.line_strp: case F.sec_offset: case F.strp_sup: return r.offset(unit.dwarf64);
    // DW_FORM_ref_addr was address-sized in DWARF 2, offset-sized since DWARF 3.
    case F.ref_addr: return unit.version <= 2 ? r.uint(unit.addressSize) : r.offset(unit.dwarf64);
    case F.block1: r.skip(r.u8()); return undefined;
    case F.block2: r.skip(r.u16()); return undefined;
    case F.block4: r.skip(r.u32()); return undefined;
    case F.block: case F.exprloc: r.skip(r.uleb()); return undefined;
    case F.flag_present: case F.implicit_const: return undefined;
    case F.indirect: return readForm(r, r.uleb(), unit);
    default: return r.fail(`unknown attribute form 0x${form.toString(16)}`);
  }
}
