import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { LoadError, MBI_ADDRESS, loadMultiboot } from '../../src/loader/multiboot';
import { qemuAvailable } from '../support/qemu';
import { Workdir, nasmMapSymbols, readelfSegments, readelfSymbols, run, runQemu } from './toolchain';
import { PUTC } from '../support/guestSerial';

const MiB = 1024 * 1024;
const work = new Workdir();
afterAll(() => work.remove());

/** RAM filled with a marker, so the tests see which bytes the loader wrote and which it zeroed. */
function freshRam(mib = 64): Uint8Array {
  return new Uint8Array(mib * MiB).fill(0xaa);
}

function load(path: string, opts: { mib?: number; cmdline?: string } = {}) {
  const ram = freshRam(opts.mib);
  const image = read(path);
  const result = loadMultiboot(image, ram, { fileName: path.split('/').pop(), cmdline: opts.cmdline });
  return { ram, image, ...result };
}

const read = (path: string) => new Uint8Array(readFileSync(path));

function loadError(image: Uint8Array, fileName: string, mib = 64): string {
  try {
    loadMultiboot(image, freshRam(mib), { fileName });
  } catch (e) {
    expect(e).toBeInstanceOf(LoadError);
    return (e as Error).message;
  }
  throw new Error(`${fileName} loaded without error`);
}

/** A flat kernel in the shape the spec's example uses: header with address fields, then code, data and bss. */
function flatKernel(name: string, opts: { org?: number; flags?: string; checksum?: string; entry?: string; bssSize?: number } = {}): string {
  const flags = opts.flags ?? '0x00010003';
  return work.nasm(name, `
[map symbols ${name}.map]
bits 32
org ${opts.org ?? 0x100000}
MAGIC equ 0x1BADB002
FLAGS equ ${flags}
header:
  dd MAGIC, FLAGS, ${opts.checksum ?? '-(MAGIC + FLAGS)'}
  dd header, header, load_end, bss_end, ${opts.entry ?? 'start'}
start:
  mov esp, stack_top
  mov dword [counter], 7
  hlt
message: db 'loaded by the book', 0
counter: dd 0x11223344
load_end:
section .bss
  resb ${opts.bssSize ?? 0x2000}
stack_top:
bss_end:
`, 'bin');
}

const ELF_KERNEL = `
MAGIC equ 0x1BADB002
FLAGS equ 0x00000003
section .multiboot
  dd MAGIC, FLAGS, -(MAGIC + FLAGS)
section .text
global start
start:
  mov esp, stack_top
  mov eax, [value]
  hlt
section .data
value: dd 0xCAFEF00D
table: times 100 db 0x5A
section .bss
  resb 0x1800
stack_top:
`;

const ELF_LINK = `
ENTRY(start)
SECTIONS {
  . = 0x100000;
  .text : { *(.multiboot) *(.text) }
  . = 0x200000;
  .data : { *(.data) }
  .bss : { *(.bss) }
}
`;

/** Linked at 3 GiB + 1 MiB and loaded at 1 MiB: the layout of a higher-half kernel. */
const HIGHER_HALF_LINK = `
ENTRY(start)
SECTIONS {
  . = 0xC0100000;
  .text : AT(0x100000) { *(.multiboot) *(.text) }
  .data : AT(0x101000) { *(.data) }
  .bss : AT(0x102000) { *(.bss) }
}
`;

describe('flat images with the address fields (flag bit 16)', () => {
  it('loads the file at load_addr, zeroes the bss and enters at entry_addr', () => {
    const path = flatKernel('flat');
    const sym = nasmMapSymbols(work.file('flat.map'));
    const { ram, image, entry, mbiAddress } = load(path);
    expect(entry).toBe(sym.get('start'));
    expect(mbiAddress).toBe(0x9500);
    // org 0x100000 and header at file offset 0: file offset n lands at 0x100000 + n.
    expect(ram.subarray(0x100000, 0x100000 + image.length)).toEqual(image);
    expect(image.length).toBe(sym.get('load_end')! - 0x100000);
    const bss = ram.subarray(sym.get('load_end')!, sym.get('bss_end')!);
    expect(bss.length).toBeGreaterThanOrEqual(0x2000);
    expect(bss.every((b) => b === 0)).toBe(true);
    expect(ram[0x100000 - 1]).toBe(0xaa);
    expect(ram[sym.get('bss_end')!]).toBe(0xaa);
  });

  it('takes the file offset from header_addr - load_addr and loads only up to load_end_addr', () => {
    // 0x200 bytes of prefix that is not part of the kernel, the header 0x40 bytes into the
    // kernel, and a trailer after load_end_addr that must not be loaded either.
    const path = work.nasm('offset', `
[map symbols offset.map]
bits 32
org 0x100000 - 0x200
  times 0x200 db 0xEE
kernel:
  times 0x40 db 0x90
header:
  dd 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000)
  dd header, kernel, kernel_end, 0, entry
entry:
  hlt
kernel_end:
  times 0x100 db 0xDD
`, 'bin');
    const sym = nasmMapSymbols(work.file('offset.map'));
    const { ram, image, entry } = load(path);
    const size = sym.get('kernel_end')! - 0x100000;
    expect(sym.get('kernel')).toBe(0x100000);
    expect(entry).toBe(sym.get('entry'));
    expect(ram.subarray(0x100000, 0x100000 + size)).toEqual(image.subarray(0x200, 0x200 + size));
    expect(ram[0x100000 + size]).toBe(0xaa);
    expect(ram.subarray(0x100000, 0x100000 + 0x1000).includes(0xdd)).toBe(false);
  });

  it('loads the rest of the file when load_end_addr is 0', () => {
    const path = work.nasm('noend', `
bits 32
org 0x200000
header:
  dd 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000)
  dd header, header, 0, 0, start
start: hlt
  times 61 db 0x77
`, 'bin');
    const { ram, image } = load(path);
    expect(image.length).toBe(32 + 1 + 61);
    expect(ram.subarray(0x200000, 0x200000 + image.length)).toEqual(image);
  });
});

describe('ELF images', () => {
  it('loads each PT_LOAD at its p_paddr as readelf lists them, zero-filling memsz beyond filesz', () => {
    const path = work.ld('two.elf', [work.nasm('two', ELF_KERNEL, 'elf32')], ELF_LINK);
    const { ram, image, entry } = load(path);
    const loads = readelfSegments(path).filter((s) => s.type === 'LOAD');
    expect(loads.map((s) => s.paddr)).toEqual([0x100000, 0x200000]);
    for (const s of loads) {
      expect(ram.subarray(s.paddr, s.paddr + s.filesz)).toEqual(image.subarray(s.offset, s.offset + s.filesz));
      expect(ram.subarray(s.paddr + s.filesz, s.paddr + s.memsz).every((b) => b === 0)).toBe(true);
      expect(ram[s.paddr - 1]).toBe(0xaa);
    }
    expect(loads[1].memsz - loads[1].filesz).toBeGreaterThanOrEqual(0x1800);
    expect(entry).toBe(readelfSymbols(path).find((s) => s.name === 'start')!.value);
  });

  it('enters a higher-half kernel at the physical address of e_entry, as QEMU does', () => {
    const path = work.ld('high.elf', [work.nasm('high', ELF_KERNEL, 'elf32')], HIGHER_HALF_LINK);
    const start = readelfSymbols(path).find((s) => s.name === 'start')!.value;
    expect(start).toBeGreaterThanOrEqual(0xc0100000);
    const { ram, image, entry } = load(path);
    expect(entry).toBe(start - 0xc0000000);
    const text = readelfSegments(path).find((s) => s.type === 'LOAD')!;
    expect(text.paddr).toBe(0x100000);
    expect(ram.subarray(0x100000, 0x100000 + text.filesz)).toEqual(image.subarray(text.offset, text.offset + text.filesz));
  });

  it('loads a gcc -m32 kernel', () => {
    const path = work.gcc('c.elf', `
__attribute__((section(".multiboot"), used))
static const unsigned int multiboot_header[3] = { 0x1BADB002u, 0u, -0x1BADB002u };
int answer = 42;
char zeroed[4096];
void kmain(void) { zeroed[1] = (char)answer; for (;;) __asm__ volatile("hlt"); }
`, ELF_LINK.replace('ENTRY(start)', 'ENTRY(kmain)').replace('*(.text)', '*(.text*)').replace('*(.data)', '*(.data*)').replace('*(.bss)', '*(COMMON) *(.bss*)'));
    const { ram, image, entry } = load(path);
    const loads = readelfSegments(path).filter((s) => s.type === 'LOAD');
    expect(loads.length).toBeGreaterThanOrEqual(2);
    for (const s of loads) {
      expect(ram.subarray(s.paddr, s.paddr + s.filesz)).toEqual(image.subarray(s.offset, s.offset + s.filesz));
      expect(ram.subarray(s.paddr + s.filesz, s.paddr + s.memsz).every((b) => b === 0)).toBe(true);
    }
    const sym = readelfSymbols(path);
    expect(entry).toBe(sym.find((s) => s.name === 'kmain')!.value);
    const answer = sym.find((s) => s.name === 'answer')!.value;
    expect(new DataView(ram.buffer).getUint32(answer, true)).toBe(42);
  });
});

/**
 * A kernel that prints its Multiboot information on COM1: the MBI address, the 22 dwords of the
 * MBI, the command line, the boot loader name and the memory map. Run under QEMU it gives the
 * reference; `describeMbi` prints the same from the RAM our loader filled.
 */
const MBI_DUMP = `
%ifdef FLAT
bits 32
org 0x100000
FLAGS equ 0x00010003
%else
FLAGS equ 0x00000003
%endif
MAGIC equ 0x1BADB002
section .text
global start
header:
  dd MAGIC, FLAGS, -(MAGIC + FLAGS)
%ifdef FLAT
  dd header, header, load_end, bss_end, start
%endif
start:
  mov esp, stack_top
  mov esi, ebx
  mov eax, ebx
  call hex
  call newline
  xor ecx, ecx
.field:
  mov eax, [esi + ecx*4]
  call hex
  call space
  inc ecx
  cmp ecx, 22
  jb .field
  call newline
  mov edi, [esi + 16]
  call string
  call newline
  mov edi, [esi + 64]
  call string
  call newline
  mov edi, [esi + 48]
  mov ebx, edi
  add ebx, [esi + 44]
.entry:
  cmp edi, ebx
  jae .done
  mov eax, [edi]
  call hex
  call space
  mov eax, [edi + 8]
  call hex
  mov eax, [edi + 4]
  call hex
  call space
  mov eax, [edi + 16]
  call hex
  mov eax, [edi + 12]
  call hex
  call space
  mov eax, [edi + 20]
  call hex
  call newline
  add edi, [edi]
  add edi, 4
  jmp .entry
.done:
  mov al, 0
  out 0xf4, al
  cli
  hlt
string:
  mov al, [edi]
  test al, al
  jz .end
  call putc
  inc edi
  jmp string
.end:
  ret
space:
  mov al, ' '
  jmp putc
newline:
  mov al, 10
${PUTC}
hex:
  push ecx
  mov ecx, 8
.digit:
  rol eax, 4
  push eax
  and al, 15
  add al, '0'
  cmp al, '9'
  jbe .out
  add al, 7
.out:
  call putc
  pop eax
  loop .digit
  pop ecx
  ret
load_end:
section .bss
  resb 4096
stack_top:
bss_end:
`;

function describeMbi(ram: Uint8Array, mbi: number): string {
  const view = new DataView(ram.buffer);
  const hex = (v: number) => v.toString(16).toUpperCase().padStart(8, '0');
  const cString = (at: number) => Buffer.from(ram.subarray(at, ram.indexOf(0, at))).toString('latin1');
  const dwords = Array.from({ length: 22 }, (_, i) => hex(view.getUint32(mbi + i * 4, true)) + ' ').join('');
  let text = `${hex(mbi)}\n${dwords}\n${cString(view.getUint32(mbi + 16, true))}\n${cString(view.getUint32(mbi + 64, true))}\n`;
  const start = view.getUint32(mbi + 48, true);
  for (let p = start; p < start + view.getUint32(mbi + 44, true); p += view.getUint32(p, true) + 4) {
    const u = (o: number) => hex(view.getUint32(p + o, true));
    text += `${u(0)} ${u(8)}${u(4)} ${u(16)}${u(12)} ${u(20)}\n`;
  }
  return text;
}

describe.runIf(qemuAvailable())('the Multiboot information matches qemu-system-i386 -kernel', () => {
  const cases = [
    { what: 'flat kernel, 64 MiB, -append', format: 'bin' as const, mib: 64, cmdline: 'console=ttyS0 verbose' },
    { what: 'ELF kernel, 16 MiB, no -append', format: 'elf32' as const, mib: 16, cmdline: undefined },
    { what: 'flat kernel, 2 MiB', format: 'bin' as const, mib: 2, cmdline: 'x' },
  ];
  for (const c of cases) {
    it(c.what, () => {
      const name = `dump-${c.format}-${c.mib}`;
      const built = work.nasm(name, MBI_DUMP, c.format, c.format === 'bin' ? ['FLAT'] : []);
      const kernel = c.format === 'bin' ? built : work.ld(`${name}.elf`, [built], 'ENTRY(start)\nSECTIONS { . = 0x100000; .text : { *(.text) } .bss : { *(.bss) } }\n');
      const qemu = runQemu(kernel, ['-m', String(c.mib), ...(c.cmdline !== undefined ? ['-append', c.cmdline] : [])], work.path);
      expect(qemu.status).toBe(1);
      const ram = freshRam(c.mib);
      const { mbiAddress } = loadMultiboot(read(kernel), ram, { fileName: kernel, cmdline: c.cmdline });
      expect(describeMbi(ram, mbiAddress)).toBe(qemu.output);
    });
  }

  it('QEMU enters a higher-half ELF at the physical address of e_entry', () => {
    // The kernel prints 'k' and exits without touching memory: it can only run if entered at
    // its physical address, since nothing is mapped at 0xC0100000 with paging off.
    const obj = work.nasm('hh', `
section .multiboot
  dd 0x1BADB002, 0, -0x1BADB002
section .text
global start
start:
  mov dx, 0x3f8
  mov al, 'k'
  out dx, al
  mov al, 0
  out 0xf4, al
  hlt
`, 'elf32');
    const kernel = work.ld('hh.elf', [obj], HIGHER_HALF_LINK);
    expect(runQemu(kernel, ['-m', '64'], work.path)).toEqual({ output: 'k', status: 1 });
    const { entry } = load(kernel);
    expect(entry).toBe(readelfSymbols(kernel).find((s) => s.name === 'start')!.value - 0xc0000000);
  });
});

describe('the Multiboot information', () => {
  it('puts the command line and "qemu" after the kernel rounded up to 4 KiB', () => {
    const path = flatKernel('strings', { bssSize: 0x2345 });
    const sym = nasmMapSymbols(work.file('strings.map'));
    const { ram } = load(path, { cmdline: 'a=1 b' });
    const view = new DataView(ram.buffer);
    const cmdline = view.getUint32(MBI_ADDRESS + 16, true);
    expect(cmdline).toBe(0x100000 + Math.ceil((sym.get('bss_end')! - 0x100000) / 4096) * 4096);
    expect(Buffer.from(ram.subarray(cmdline, cmdline + 18)).toString('latin1')).toBe('strings.bin a=1 b\0');
    expect(view.getUint32(MBI_ADDRESS + 64, true)).toBe(cmdline + 18);
    expect(Buffer.from(ram.subarray(cmdline + 18, cmdline + 23)).toString('latin1')).toBe('qemu\0');
  });

  it('gives mem_upper as the KiB from 1 MiB to the 128 KiB SeaBIOS keeps at the top of RAM', () => {
    const { ram } = load(flatKernel('mem'), { mib: 96 });
    const view = new DataView(ram.buffer);
    expect(view.getUint32(MBI_ADDRESS + 4, true)).toBe(639);
    expect(view.getUint32(MBI_ADDRESS + 8, true)).toBe(96 * 1024 - 1024 - 128);
  });
});

describe('images that cannot be loaded', () => {

  it('a header with a bad checksum', () => {
    expect(loadError(read(flatKernel('badsum', { checksum: '-(MAGIC + FLAGS) + 1' })), 'badsum.bin'))
      .toBe('badsum.bin: Multiboot header at file offset 0x00000000 has a bad checksum: magic + flags + checksum = 0x00000001, must be 0');
  });

  it('no header at all', () => {
    expect(loadError(new Uint8Array(10000).fill(0x90), 'nops.bin'))
      .toBe('nops.bin: not a Multiboot image: no Multiboot header (magic 0x1BADB002, 4-byte aligned) in the first 8192 bytes');
  });

  it('a header past the first 8192 bytes', () => {
    const image = read(flatKernel('late'));
    const late = new Uint8Array(8192 + image.length);
    late.set(image, 8192);
    expect(loadError(late, 'late.bin')).toContain('late.bin: not a Multiboot image');
  });

  it('a truncated ELF', () => {
    const path = work.ld('trunc.elf', [work.nasm('trunc', ELF_KERNEL, 'elf32')], ELF_LINK);
    const data = readelfSegments(path).filter((s) => s.type === 'LOAD')[1];
    const cut = read(path).slice(0, data.offset + 4);
    expect(loadError(cut, 'trunc.elf')).toBe(
      `trunc.elf: truncated: program header 1 (p_offset 0x${data.offset.toString(16).toUpperCase().padStart(8, '0')} + ` +
      `p_filesz 0x${data.filesz.toString(16).toUpperCase().padStart(8, '0')}) runs past the end of the file (0x${(data.offset + 4).toString(16).toUpperCase().padStart(8, '0')} bytes)`);
  });

  it('a flat image cut before load_end_addr', () => {
    const image = read(flatKernel('short'));
    expect(loadError(image.slice(0, image.length - 5), 'short.bin')).toMatch(
      /^short\.bin: truncated: load_addr-load_end_addr 0x00100000-0x[0-9A-F]{8} needs file bytes 0x00000000-0x[0-9A-F]{8}, the file has 0x[0-9A-F]{8} bytes$/);
  });

  it('a flat image overlapping the legacy hole', () => {
    expect(loadError(read(flatKernel('vga', { org: 0xb8000 })), 'vga.bin'))
      .toMatch(/^vga\.bin: the kernel \(load_addr 0x000B8000, file offset 0x00000000\) at 0x000B8000-0x000BA[0-9A-F]{3} overlaps the legacy hole 0x000A0000-0x000FFFFF/);
  });

  it('an ELF segment overlapping the legacy hole', () => {
    const path = work.ld('bios.elf', [work.nasm('bios', ELF_KERNEL, 'elf32')], ELF_LINK.replace('0x100000', '0xF0000'));
    expect(loadError(read(path), 'bios.elf')).toMatch(/^bios\.elf: ELF program header 0 at 0x000F0000-0x000F00[0-9A-F]{2} overlaps the legacy hole/);
  });

  it('a kernel whose bss runs past the end of RAM', () => {
    const message = loadError(read(flatKernel('big', { bssSize: 0x200000 })), 'big.bin', 2);
    expect(message).toMatch(/^big\.bin: the kernel .* at 0x00100000-0x0030[0-9A-F]{4} is beyond the end of RAM \(2 MiB, ending at 0x001FFFFF\)$/);
  });

  it('an ELF segment above RAM', () => {
    const path = work.ld('high64.elf', [work.nasm('high64', ELF_KERNEL, 'elf32')], ELF_LINK.replace('0x200000', '0x4000000'));
    expect(loadError(read(path), 'high64.elf')).toMatch(/^high64\.elf: ELF program header 1 at 0x04000000-0x040[0-9A-F]{5} is beyond the end of RAM \(64 MiB, ending at 0x03FFFFFF\)$/);
  });

  it('an entry point outside the image', () => {
    expect(loadError(read(flatKernel('noentry', { entry: '0x300000' })), 'noentry.bin'))
      .toMatch(/^noentry\.bin: entry point 0x00300000 is outside the loaded image \(0x00100000-0x00102[0-9A-F]{3}\)$/);
  });

  it('required flags the loader cannot honour', () => {
    expect(loadError(read(flatKernel('flag3', { flags: '0x0001000B' })), 'flag3.bin'))
      .toBe('flag3.bin: Multiboot header flags 0x0001000B require features this loader does not provide (bits 0x00000008)');
  });

  it('a flat image without the address fields', () => {
    expect(loadError(read(flatKernel('noaddr', { flags: '0x00000003' })), 'noaddr.bin'))
      .toBe('noaddr.bin: the Multiboot header has no address fields (flag bit 16) and the file is not ELF');
  });

  it('an x86-64 ELF', () => {
    const obj = work.nasm('amd64', 'section .text\nglobal start\nstart:\n  dd 0x1BADB002, 0, -0x1BADB002\n  hlt\n', 'elf64');
    const exe = work.file('amd64.elf');
    run('ld', ['-m', 'elf_x86_64', '-Ttext=0x100000', '-e', 'start', '-o', exe, obj]);
    expect(loadError(read(exe), 'amd64.elf')).toBe('amd64.elf: is a 64-bit ELF (EI_CLASS 2); only ELF32 images can be loaded');
  });

  it('an ELF object file rather than an executable', () => {
    expect(loadError(read(work.nasm('rel', ELF_KERNEL, 'elf32')), 'rel.o'))
      .toBe('rel.o: is an ELF of e_type ET_REL (relocatable object), not an executable (ET_EXEC)');
  });

  it('a kernel over the Multiboot information at 0x9000', () => {
    expect(loadError(read(flatKernel('low', { org: 0x8000 })), 'low.bin'))
      .toMatch(/^low\.bin: the kernel .* overlaps the Multiboot information the loader writes at 0x00009000-0x00009557$/);
  });

  it('a RAM size the memory map cannot describe', () => {
    expect(loadError(read(flatKernel('tinyram')), 'tinyram.bin', 1))
      .toBe('tinyram.bin: cannot describe 1048576 bytes of RAM to the kernel: RAM must be a whole number of MiB from 2 to 3583');
  });
});
