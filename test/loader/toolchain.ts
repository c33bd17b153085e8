/**
 * Builds test kernels with the reference tools (nasm, gcc -m32, ld) in a temporary directory and
 * reads what readelf says about them, so loader tests compare against the tools' own account.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class Workdir {
  readonly path = mkdtempSync(join(tmpdir(), 'vtscope-test-'));

  file(name: string): string {
    return join(this.path, name);
  }

  write(name: string, text: string | Uint8Array): string {
    writeFileSync(this.file(name), text);
    return this.file(name);
  }

  read(name: string): Uint8Array {
    return new Uint8Array(readFileSync(this.file(name)));
  }

  /** `nasm -f bin` (flat) or `nasm -f elf32`/`elf64` of `source`; returns the output's path. */
  nasm(name: string, source: string, format: 'bin' | 'elf32' | 'elf64', defines: string[] = []): string {
    const src = this.write(`${name}.asm`, source);
    const out = this.file(format === 'bin' ? `${name}.bin` : `${name}.o`);
    run('nasm', ['-f', format, ...defines.map((d) => `-D${d}`), src, '-o', out], this.path); // cwd: where [map] files go
    return out;
  }

  /** `ld -m elf_i386 -T script` of the given objects into `name`. */
  ld(name: string, objects: string[], script: string): string {
    const out = this.file(name);
    run('ld', ['-m', 'elf_i386', '--build-id=none', '-T', this.write(`${name}.ld`, script), '-o', out, ...objects]);
    return out;
  }

  /** A freestanding 32-bit C kernel linked with `script`. */
  gcc(name: string, source: string, script: string): string {
    const out = this.file(name);
    run('gcc', ['-m32', '-ffreestanding', '-nostdlib', '-fno-pic', '-fno-pie', '-no-pie', '-O1',
      '-fno-asynchronous-unwind-tables', '-Wl,--build-id=none', '-Wl,--no-warn-rwx-segments',
      `-Wl,-T,${this.write(`${name}.ld`, script)}`, '-o', out, this.write(`${name}.c`, source)]);
    return out;
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

export function run(command: string, args: string[], cwd?: string): string {
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface ReadelfSegment { type: string; offset: number; vaddr: number; paddr: number; filesz: number; memsz: number; flags: string }
export interface ReadelfSection { index: number; name: string; type: string; addr: number; offset: number; size: number }
export interface ReadelfSymbol { value: number; size: number; type: string; bind: string; name: string }

/** `readelf -lW`: the program headers. */
export function readelfSegments(path: string): ReadelfSegment[] {
  const rows = run('readelf', ['-lW', path]).split('\n')
    .map((line) => /^\s+([A-Z_]+)\s+0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) (.{3}) /.exec(line))
    .filter((m): m is RegExpExecArray => m !== null);
  return rows.map((m) => ({
    type: m[1], offset: parseInt(m[2], 16), vaddr: parseInt(m[3], 16), paddr: parseInt(m[4], 16),
    filesz: parseInt(m[5], 16), memsz: parseInt(m[6], 16), flags: m[7].trim(),
  }));
}

/** `readelf -SW`: the section headers after the null section. */
export function readelfSections(path: string): ReadelfSection[] {
  const rows = run('readelf', ['-SW', path]).split('\n')
    .map((line) => /^\s+\[\s*(\d+)\] (\S+)\s+(\S+)\s+([0-9a-f]{8}) ([0-9a-f]{6,}) ([0-9a-f]{6,}) /.exec(line))
    .filter((m): m is RegExpExecArray => m !== null);
  return rows.map((m) => ({
    index: Number(m[1]), name: m[2], type: m[3], addr: parseInt(m[4], 16), offset: parseInt(m[5], 16), size: parseInt(m[6], 16),
  }));
}

/** `readelf -sW`: the symbol table after the null symbol. */
export function readelfSymbols(path: string): ReadelfSymbol[] {
  const rows = run('readelf', ['-sW', path]).split('\n')
    .map((line) => /^\s+(\d+): ([0-9a-f]{8})\s+(\d+) (\S+)\s+(\S+)\s+\S+\s+\S+ ?(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && m[1] !== '0');
  return rows.map((m) => ({ value: parseInt(m[2], 16), size: Number(m[3]), type: m[4], bind: m[5], name: m[6] }));
}

/** The labels of a flat nasm build, from the `[map symbols FILE]` directive's output. */
export function nasmMapSymbols(mapFile: string): Map<string, number> {
  const symbols = new Map<string, number>();
  for (const line of readFileSync(mapFile, 'utf8').split('\n')) {
    const m = /^([0-9A-F]+)\s+([0-9A-F]+)\s+(\S+)$/.exec(line.trim()); // real, virtual, name
    if (m) symbols.set(m[3], parseInt(m[2], 16));
  }
  return symbols;
}

/** Runs a Multiboot kernel under QEMU the way test-rigs.md says; returns COM1 output and exit status. */
export function runQemu(kernel: string, args: string[], cwd: string): { output: string; status: number | null } {
  try {
    const output = execFileSync('timeout', ['20', 'qemu-system-i386', '-kernel', kernel, ...args, '-display', 'none',
      '-serial', 'stdio', '-monitor', 'none', '-net', 'none', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04'],
    { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { output, status: 0 };
  } catch (e) {
    const err = e as { stdout?: string; status?: number | null };
    return { output: err.stdout ?? '', status: err.status ?? null };
  }
}
