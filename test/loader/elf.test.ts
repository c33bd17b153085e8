import { afterAll, describe, expect, it } from 'vitest';
import { Elf32File } from '../../src/loader/elf';
import { LoadError } from '../../src/loader/loadError';
import { Workdir, readelfSections, readelfSegments, readelfSymbols, run } from './toolchain';

const C_KERNEL = `
__attribute__((section(".multiboot"), used))
static const unsigned int multiboot_header[3] = { 0x1BADB002u, 3u, -(0x1BADB002u + 3u) };
int counter = 5;
char scratch[300];
static void outb(unsigned short port, unsigned char v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
void kmain(void) {
  scratch[0] = 'x';
  counter++;
  outb(0xf4, 0);
  for (;;) __asm__ volatile("hlt");
}
`;

const C_LINK = `
ENTRY(kmain)
SECTIONS {
  . = 0x100000;
  .text : { *(.multiboot) *(.text*) }
  .rodata : { *(.rodata*) }
  . = ALIGN(0x1000);
  .data : { *(.data*) }
  .bss : { *(COMMON) *(.bss*) }
}
`;

const work = new Workdir();
afterAll(() => work.remove());

const TYPE_NAMES: Record<string, number> = { NOTYPE: 0, OBJECT: 1, FUNC: 2, SECTION: 3, FILE: 4 };
const BIND_NAMES: Record<string, number> = { LOCAL: 0, GLOBAL: 1, WEAK: 2 };

function expectLoadError(action: () => unknown, text: string): void {
  let error: unknown;
  try {
    action();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(LoadError);
  expect((error as Error).message).toContain(text);
}

describe('Elf32File on a gcc -m32 kernel', () => {
  const path = work.gcc('kernel.elf', C_KERNEL, C_LINK);
  const image = work.read('kernel.elf');
  const elf = new Elf32File(image, 'kernel.elf');

  it('reads the header readelf reports', () => {
    const entry = /Entry point address:\s+0x([0-9a-f]+)/.exec(run('readelf', ['-hW', path]));
    expect(elf.header.entry).toBe(parseInt(entry![1], 16));
    expect(elf.header.machine).toBe(3);
    expect(elf.header.type).toBe(2);
  });

  it('reads the program headers readelf reports', () => {
    const fromReadelf = readelfSegments(path);
    expect(elf.programHeaders.length).toBe(fromReadelf.length);
    elf.programHeaders.forEach((ph, i) => {
      const r = fromReadelf[i];
      expect({ offset: ph.offset, vaddr: ph.vaddr, paddr: ph.paddr, filesz: ph.filesz, memsz: ph.memsz })
        .toEqual({ offset: r.offset, vaddr: r.vaddr, paddr: r.paddr, filesz: r.filesz, memsz: r.memsz });
      expect(ph.type === 1).toBe(r.type === 'LOAD');
    });
    // The layout puts .data on its own page, so there are two PT_LOADs, the second with .bss.
    const loads = fromReadelf.filter((s) => s.type === 'LOAD');
    expect(loads.length).toBe(2);
    expect(loads[1].memsz).toBeGreaterThan(loads[1].filesz);
  });

  it('reads the section headers and their names', () => {
    const fromReadelf = readelfSections(path);
    expect(elf.sections.length).toBe(fromReadelf.length + 1);
    for (const r of fromReadelf) {
      const s = elf.sections[r.index];
      expect({ name: s.name, addr: s.addr, offset: s.offset, size: s.size }).toEqual({ name: r.name, addr: r.addr, offset: r.offset, size: r.size });
    }
  });

  it('reads the symbol table', () => {
    const fromReadelf = readelfSymbols(path);
    const ours = elf.symbols();
    expect(ours.length).toBe(fromReadelf.length);
    ours.forEach((s, i) => {
      const r = fromReadelf[i];
      expect(s).toMatchObject({ name: r.name, value: r.value, size: r.size, type: TYPE_NAMES[r.type], bind: BIND_NAMES[r.bind] });
    });
    expect(ours.find((s) => s.name === 'scratch')?.size).toBe(300);
  });

  it('names the section header table when the file is cut before its end', () => {
    const cut = image.slice(0, elf.header.shoff + 3 * 40);
    expectLoadError(() => new Elf32File(cut, 'cut.elf'),
      `cut.elf: truncated: section header table (e_shoff 0x${elf.header.shoff.toString(16).toUpperCase().padStart(8, '0')}, ${elf.header.shnum} entries of 40 bytes) runs past the end of the file`);
  });

  it('names a segment whose bytes are missing', () => {
    const seg = elf.programHeaders[0];
    const cut = image.slice(0, seg.offset + seg.filesz - 1);
    expectLoadError(() => new Elf32File(cut, 'cut.elf'), 'cut.elf: truncated: program header 0 (p_offset 0x00001000');
  });

  it('rejects a file shorter than the ELF header', () => {
    expectLoadError(() => new Elf32File(image.slice(0, 30), 'tiny.elf'), 'tiny.elf: truncated: 30 bytes, an ELF32 header needs 52');
  });

  it('rejects an e_shstrndx past the section table', () => {
    const bad = image.slice();
    new DataView(bad.buffer).setUint16(50, 99, true);
    expectLoadError(() => new Elf32File(bad, 'bad.elf'), `bad.elf: e_shstrndx 99 is not below e_shnum ${elf.header.shnum}`);
  });

  it('rejects a symbol table whose string table link is wrong', () => {
    const bad = image.slice();
    const symtab = elf.sections.find((s) => s.name === '.symtab')!;
    new DataView(bad.buffer).setUint32(elf.header.shoff + symtab.index * 40 + 24, 0, true);
    expectLoadError(() => new Elf32File(bad, 'bad.elf').symbols(), 'bad.elf: symbol table (section');
  });

  it('rejects a program header size other than 32', () => {
    const bad = image.slice();
    new DataView(bad.buffer).setUint16(42, 56, true);
    expectLoadError(() => new Elf32File(bad, 'bad.elf'), 'bad.elf: e_phentsize 56 is not 32');
  });
});

describe('Elf32File on other files', () => {
  it('rejects a 64-bit ELF', () => {
    const obj = work.nasm('k64', 'bits 64\nsection .text\nglobal start\nstart: hlt\n', 'elf64');
    const exe = work.file('k64.elf');
    run('ld', ['-m', 'elf_x86_64', '-Ttext=0x100000', '-e', 'start', '-o', exe, obj]);
    expectLoadError(() => new Elf32File(work.read('k64.elf'), 'k64.elf'), 'k64.elf: is a 64-bit ELF (EI_CLASS 2)');
  });

  it('rejects a file without the ELF magic', () => {
    expectLoadError(() => new Elf32File(new Uint8Array(64), 'zero.bin'), 'zero.bin: not an ELF file');
  });
});
