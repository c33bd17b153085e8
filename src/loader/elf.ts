/**
 * A reader for little-endian ELF32 files (System V ABI, Intel386 supplement): the file header,
 * program headers, section headers and the symbol table. Every offset and count read from the
 * file is checked against the file's size, so a truncated or malformed file gives a LoadError
 * naming the field that points outside it.
 */
import { LoadError, hex32 } from './loadError';

export const ET_EXEC = 2;
export const EM_386 = 3;
export const PT_LOAD = 1;
export const PF_X = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_NOBITS = 8;

const EHDR_SIZE = 52;
const PHDR_SIZE = 32;
const SHDR_SIZE = 40;
const SYM_SIZE = 16;
const SHN_XINDEX = 0xffff;

const MACHINE_NAMES: Record<number, string> = { 3: 'i386', 8: 'MIPS', 40: 'ARM', 62: 'x86-64', 183: 'AArch64', 243: 'RISC-V' };
const TYPE_NAMES: Record<number, string> = { 0: 'ET_NONE', 1: 'ET_REL (relocatable object)', 2: 'ET_EXEC', 3: 'ET_DYN (shared object or PIE)', 4: 'ET_CORE' };

export interface ElfHeader {
  type: number;
  machine: number;
  entry: number;
  phoff: number;
  shoff: number;
  flags: number;
  phnum: number;
  shnum: number;
  shstrndx: number;
}

export interface ProgramHeader {
  index: number;
  type: number;
  offset: number;
  vaddr: number;
  paddr: number;
  filesz: number;
  memsz: number;
  flags: number;
  align: number;
}

export interface SectionHeader {
  index: number;
  name: string;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: number;
  entsize: number;
}

export interface ElfSymbol {
  name: string;
  value: number;
  size: number;
  /** STT_*: 0 none, 1 object, 2 func, 3 section, 4 file. */
  type: number;
  /** STB_*: 0 local, 1 global, 2 weak. */
  bind: number;
  /** Index of the section the symbol is defined in (0 = undefined, 0xfff1 = absolute). */
  shndx: number;
}

type RawSection = Omit<SectionHeader, 'name'> & { nameOffset: number };

const utf8 = new TextDecoder();

export function isElf(image: Uint8Array): boolean {
  return image.length >= 4 && image[0] === 0x7f && image[1] === 0x45 && image[2] === 0x4c && image[3] === 0x46;
}

export function machineName(machine: number): string {
  return MACHINE_NAMES[machine] ?? `machine ${machine}`;
}

export function typeName(type: number): string {
  return TYPE_NAMES[type] ?? `type ${type}`;
}

export class Elf32File {
  readonly header: ElfHeader;
  readonly programHeaders: readonly ProgramHeader[];
  readonly sections: readonly SectionHeader[];
  private readonly view: DataView;

  constructor(readonly image: Uint8Array, readonly fileName: string) {
    this.view = new DataView(image.buffer, image.byteOffset, image.byteLength);
    this.header = this.readHeader();
    this.programHeaders = this.readProgramHeaders();
    this.sections = this.readSections();
  }

  /** The symbols of the SHT_SYMTAB section (none for a stripped file), index 0 excluded. */
  symbols(): ElfSymbol[] {
    const symtab = this.sections.find((s) => s.type === SHT_SYMTAB);
    if (!symtab) return [];
    const where = `symbol table (section ${symtab.index} ${symtab.name})`;
    if (symtab.entsize !== SYM_SIZE) this.fail(`${where}: sh_entsize ${symtab.entsize} is not ${SYM_SIZE}`);
    if (symtab.size % SYM_SIZE !== 0) this.fail(`${where}: sh_size ${hex32(symtab.size)} is not a multiple of ${SYM_SIZE}`);
    const strtab = this.stringTable(symtab.link, `${where}: sh_link`);
    const symbols: ElfSymbol[] = [];
    for (let off = symtab.offset + SYM_SIZE; off < symtab.offset + symtab.size; off += SYM_SIZE) {
      const info = this.view.getUint8(off + 12);
      symbols.push({
        name: this.string(strtab, this.u32(off), `${where}: st_name of symbol ${(off - symtab.offset) / SYM_SIZE}`),
        value: this.u32(off + 4),
        size: this.u32(off + 8),
        type: info & 0xf,
        bind: info >>> 4,
        shndx: this.view.getUint16(off + 14, true),
      });
    }
    return symbols;
  }

  private readHeader(): ElfHeader {
    const img = this.image;
    if (!isElf(img)) this.fail('not an ELF file (no \\x7fELF magic)');
    if (img.length < EHDR_SIZE) this.fail(`truncated: ${img.length} bytes, an ELF32 header needs ${EHDR_SIZE}`);
    if (img[4] === 2) this.fail('is a 64-bit ELF (EI_CLASS 2); only ELF32 images can be loaded');
    if (img[4] !== 1) this.fail(`EI_CLASS ${img[4]} is not ELFCLASS32 (1)`);
    if (img[5] !== 1) this.fail(`EI_DATA ${img[5]} is not ELFDATA2LSB (1, little-endian)`);
    if (img[6] !== 1) this.fail(`EI_VERSION ${img[6]} is not EV_CURRENT (1)`);
    const header: ElfHeader = {
      type: this.u16(16),
      machine: this.u16(18),
      entry: this.u32(24),
      phoff: this.u32(28),
      shoff: this.u32(32),
      flags: this.u32(36),
      phnum: this.u16(44),
      shnum: this.u16(48),
      shstrndx: this.u16(50),
    };
    const phentsize = this.u16(42);
    const shentsize = this.u16(46);
    if (header.phnum > 0 && phentsize !== PHDR_SIZE) this.fail(`e_phentsize ${phentsize} is not ${PHDR_SIZE}`);
    this.checkTable('program header table', 'e_phoff', header.phoff, header.phnum, PHDR_SIZE);
    if (header.shoff === 0) {
      header.shnum = 0;
    } else if (shentsize !== SHDR_SIZE) {
      this.fail(`e_shentsize ${shentsize} is not ${SHDR_SIZE}`);
    }
    return header;
  }

  private readProgramHeaders(): ProgramHeader[] {
    const headers: ProgramHeader[] = [];
    for (let index = 0; index < this.header.phnum; index++) {
      const at = this.header.phoff + index * PHDR_SIZE;
      const ph: ProgramHeader = {
        index,
        type: this.u32(at),
        offset: this.u32(at + 4),
        vaddr: this.u32(at + 8),
        paddr: this.u32(at + 12),
        filesz: this.u32(at + 16),
        memsz: this.u32(at + 20),
        flags: this.u32(at + 24),
        align: this.u32(at + 28),
      };
      if (ph.offset + ph.filesz > this.image.length) {
        this.fail(`truncated: program header ${index} (p_offset ${hex32(ph.offset)} + p_filesz ${hex32(ph.filesz)}) ` +
          `runs past the end of the file (${hex32(this.image.length)} bytes)`);
      }
      if (ph.type === PT_LOAD && ph.filesz > ph.memsz) {
        this.fail(`program header ${index}: p_filesz ${hex32(ph.filesz)} is larger than p_memsz ${hex32(ph.memsz)}`);
      }
      headers.push(ph);
    }
    return headers;
  }

  /** Read after the program headers, so a file cut short names the segment it lost first. */
  private readSections(): SectionHeader[] {
    const header = this.header;
    // With 0xff00 or more sections the count and the name-table index live in section 0.
    if (header.shoff !== 0 && (header.shnum === 0 || header.shstrndx === SHN_XINDEX)) {
      this.checkTable('section header 0', 'e_shoff', header.shoff, 1, SHDR_SIZE);
      if (header.shnum === 0) header.shnum = this.u32(header.shoff + 20);
      if (header.shstrndx === SHN_XINDEX) header.shstrndx = this.u32(header.shoff + 24);
    }
    const { shoff, shnum, shstrndx } = header;
    this.checkTable('section header table', 'e_shoff', shoff, shnum, SHDR_SIZE);
    const raw: RawSection[] = [];
    for (let index = 0; index < shnum; index++) {
      const at = shoff + index * SHDR_SIZE;
      const sh: RawSection = {
        index,
        nameOffset: this.u32(at),
        type: this.u32(at + 4),
        flags: this.u32(at + 8),
        addr: this.u32(at + 12),
        offset: this.u32(at + 16),
        size: this.u32(at + 20),
        link: this.u32(at + 24),
        info: this.u32(at + 28),
        addralign: this.u32(at + 32),
        entsize: this.u32(at + 36),
      };
      if (index > 0 && sh.type !== SHT_NOBITS && sh.offset + sh.size > this.image.length) {
        this.fail(`truncated: section ${index} (sh_offset ${hex32(sh.offset)} + sh_size ${hex32(sh.size)}) ` +
          `runs past the end of the file (${hex32(this.image.length)} bytes)`);
      }
      raw.push(sh);
    }
    if (shnum > 0 && shstrndx !== 0 && shstrndx >= shnum) this.fail(`e_shstrndx ${shstrndx} is not below e_shnum ${shnum}`);
    const names = shstrndx !== 0 && shnum > 0 ? this.stringTableOf(raw, shstrndx, 'e_shstrndx') : undefined;
    return raw.map(({ nameOffset, ...sh }) => ({
      ...sh,
      name: names ? this.string(names, nameOffset, `section ${sh.index}: sh_name`) : '',
    }));
  }

  private stringTable(index: number, field: string): { offset: number; size: number } {
    return this.stringTableOf(this.sections, index, field);
  }

  private stringTableOf(sections: readonly { type: number; offset: number; size: number }[], index: number, field: string) {
    const table = sections[index];
    if (!table || index === 0) this.fail(`${field} ${index} is not a section index (e_shnum ${sections.length})`);
    if (table.type !== SHT_STRTAB) this.fail(`${field} ${index} names a section of type ${table.type}, not SHT_STRTAB`);
    return { offset: table.offset, size: table.size };
  }

  private string(table: { offset: number; size: number }, at: number, field: string): string {
    if (at >= table.size) this.fail(`${field} ${hex32(at)} is outside its string table (${hex32(table.size)} bytes)`);
    let end = table.offset + at;
    const limit = table.offset + table.size;
    while (end < limit && this.image[end] !== 0) end++;
    if (end === limit) this.fail(`${field} ${hex32(at)}: string runs off the end of its string table`);
    return utf8.decode(this.image.subarray(table.offset + at, end));
  }

  private checkTable(what: string, field: string, offset: number, count: number, entrySize: number): void {
    if (count > 0 && offset + count * entrySize > this.image.length) {
      this.fail(`truncated: ${what} (${field} ${hex32(offset)}, ${count} entries of ${entrySize} bytes) ` +
        `runs past the end of the file (${hex32(this.image.length)} bytes)`);
    }
  }

  private u16(at: number): number {
    return this.view.getUint16(at, true);
  }

  private u32(at: number): number {
    return this.view.getUint32(at, true);
  }

  private fail(problem: string): never {
    throw new LoadError(`${this.fileName}: ${problem}`);
  }
}
