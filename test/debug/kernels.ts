/**
 * Kernels for the debugger tests, built with the reference tools: Multiboot ELF images from
 * nasm (`-f elf32 -g -F dwarf`) and gcc (`-m32 -g`, frame pointers kept), linked at 1 MiB, and
 * what readelf and nm say about them.
 */
import { Workdir, run } from '../loader/toolchain';

export const LINK_SCRIPT = `
ENTRY(start)
SECTIONS {
  . = 1M;
  .text : { *(.multiboot) *(.text .text.*) }
  .rodata : { *(.rodata .rodata.*) }
  .data : { *(.data .data.*) }
  .bss : { *(.bss .bss.*) *(COMMON) }
  /DISCARD/ : { *(.note.*) *(.comment) *(.eh_frame) }
}
`;

const MULTIBOOT = `
section .multiboot
align 4
    dd 0x1BADB002, 0, -0x1BADB002
`;

/** An ELF kernel from one nasm source whose `start` label begins `body` (32-bit code). */
export function asmKernel(work: Workdir, name: string, body: string): string {
  const source = `${MULTIBOOT}
section .text
bits 32
global start
start:
${body}
`;
  const obj = work.file(`${name}.o`);
  run('nasm', ['-f', 'elf32', '-g', '-F', 'dwarf', work.write(`${name}.asm`, source), '-o', obj], work.path);
  return link(work, name, [obj]);
}

/** The boot code of the C kernels: a stack, then kmain(); exit status 0x7f if kmain returns. */
const C_BOOT = `${MULTIBOOT}
section .text
bits 32
global start
extern kmain
start:
    mov esp, stack_top
    xor ebp, ebp
    call kmain
    mov al, 0x7f
    out 0xf4, al
.hang:
    hlt
    jmp .hang

section .bss
align 16
    resb 8192
stack_top:
`;

/** A C kernel (`kmain` is called from the boot code) compiled with `gcc -m32 -g` and `flags`. */
export function cKernel(work: Workdir, name: string, csource: string, flags: string[] = ['-O0']): string {
  const boot = work.file(`${name}-boot.o`);
  run('nasm', ['-f', 'elf32', '-g', '-F', 'dwarf', work.write(`${name}-boot.asm`, C_BOOT), '-o', boot], work.path);
  const obj = work.file(`${name}.o`);
  run('gcc', ['-m32', '-ffreestanding', '-nostdlib', '-fno-pic', '-fno-pie', '-fno-omit-frame-pointer',
    '-fno-asynchronous-unwind-tables', '-g', ...flags, '-c', work.write(`${name}.c`, csource), '-o', obj], work.path);
  return link(work, name, [boot, obj]);
}

function link(work: Workdir, name: string, objects: string[]): string {
  const out = work.file(`${name}.elf`);
  run('ld', ['-m', 'elf_i386', '--build-id=none', '--no-warn-rwx-segments', '-T', work.write(`${name}.ld`, LINK_SCRIPT),
    '-o', out, ...objects], work.path);
  return out;
}

export interface ReadelfLine { file: string; line: number | undefined; address: number; isStmt: boolean }

/** `readelf --debug-dump=decodedline -W`: every row, with `line` undefined for an end of sequence. */
export function readelfLines(path: string): ReadelfLine[] {
  const rows: ReadelfLine[] = [];
  for (const text of run('readelf', ['--debug-dump=decodedline', '-W', path]).split('\n')) {
    const m = /^(\S+)\s+(\d+|-)\s+(0x[0-9a-f]+|\d+)(?:\s+\d+)?(\s+x)?\s*$/.exec(text);
    if (m === null) continue;
    rows.push({ file: m[1], line: m[2] === '-' ? undefined : Number(m[2]), address: Number(m[3]), isStmt: m[4] !== undefined });
  }
  return rows;
}

/** `nm`: the address of each symbol. */
export function nmSymbols(path: string): Map<string, number> {
  const symbols = new Map<string, number>();
  for (const text of run('nm', [path]).split('\n')) {
    const m = /^([0-9a-f]{8}) \S (\S+)$/.exec(text);
    if (m !== null) symbols.set(m[2], parseInt(m[1], 16));
  }
  return symbols;
}
