/**
 * The DWARF line-table reader against binutils: every row readelf --debug-dump=decodedline
 * prints (file, line, address, is_stmt, end of sequence), for gcc's DWARF 2 to 5 and nasm's
 * DWARF 2; the absolute paths the compilation directories give; and malformed tables.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readDebugInfo } from '../../src/debug/debugInfo';
import { readLineRows } from '../../src/debug/dwarfLines';
import { DebugInfoError } from '../../src/debug/dwarfReader';
import { readCompDirs } from '../../src/debug/dwarfUnits';
import { Elf32File } from '../../src/loader/elf';
import { Workdir } from '../loader/toolchain';
import { asmKernel, cKernel, readelfLines } from './kernels';

const work = new Workdir();
afterAll(() => work.remove());

const C_SOURCE = `
#include "helper.h"
static int square(int x)
{
    return x * x;
}

int total;

void kmain(void)
{
    for (int i = 0; i < 4; i++)
        total += square(i) + triple(i);
    __asm__ volatile("outb %0, $0xf4" :: "a"((char)total));
}
`;
const HELPER = `
static inline int triple(int x)
{
    return 3 * x;
}
`;

function sections(image: Uint8Array, path: string) {
  const elf = new Elf32File(image, path);
  const section = (name: string) => {
    const s = elf.sections.find((x) => x.name === name);
    return s === undefined ? undefined : image.subarray(s.offset, s.offset + s.size);
  };
  return {
    debugLine: section('.debug_line')!, debugInfo: section('.debug_info')!, debugAbbrev: section('.debug_abbrev')!,
    debugStr: section('.debug_str'), debugLineStr: section('.debug_line_str'),
  };
}

function rowsOf(image: Uint8Array, path: string) {
  const s = sections(image, path);
  return readLineRows(s, { fileName: path, compDirs: readCompDirs(s, path), baseDir: '/nowhere' });
}

describe('.debug_line rows are the rows readelf decodes', () => {
  work.write('helper.h', HELPER);
  const images: [string, () => string][] = [
    ['gcc -gdwarf-5 -O0', () => cKernel(work, 'c5', C_SOURCE, ['-O0', '-gdwarf-5'])],
    ['gcc -gdwarf-4 -O0', () => cKernel(work, 'c4', C_SOURCE, ['-O0', '-gdwarf-4'])],
    ['gcc -gdwarf-3 -O1', () => cKernel(work, 'c3', C_SOURCE, ['-O1', '-gdwarf-3'])],
    ['gcc -gdwarf-2 -O2', () => cKernel(work, 'c2', C_SOURCE, ['-O2', '-gdwarf-2'])],
    ['nasm -F dwarf', () => asmKernel(work, 'a', 'mov eax, 1\nadd eax, eax\ncall sub\n.loop:\nhlt\njmp .loop\nsub:\nmov ebx, 2\nret\n')],
  ];
  for (const [what, build] of images) {
    it(what, () => {
      const path = build();
      const image = new Uint8Array(readFileSync(path));
      const expected = readelfLines(path);
      expect(expected.length).toBeGreaterThan(5);
      const rows = rowsOf(image, path);
      expect(rows.map((r) => ({
        file: basename(r.file), line: r.endSequence ? undefined : r.line, address: r.address, isStmt: !r.endSequence && r.isStmt,
      }))).toEqual(expected.map((r) => ({ ...r, file: basename(r.file) })));
      // Built in the work directory, so every path is absolute there (or in gcc's own headers).
      for (const r of rows) expect(r.file === join(work.path, basename(r.file)) || r.file.startsWith('/usr/lib/gcc/')).toBe(true);
      expect(readDebugInfo(image, path).warnings).toEqual([]);
    });
  }
});

describe('the source map built from the rows', () => {
  it('finds the line of an address, the address of a line, and the file a client names', () => {
    const path = cKernel(work, 'map', C_SOURCE, ['-O0']);
    const info = readDebugInfo(new Uint8Array(readFileSync(path)), path);
    const map = info.sourceMap!;
    const rows = readelfLines(path).filter((r) => r.file === 'map.c' && r.line !== undefined && r.isStmt);
    const source = join(work.path, 'map.c');
    // Line 13 (the loop body) starts at the lowest address readelf gives it.
    const line13 = Math.min(...rows.filter((r) => r.line === 13).map((r) => r.address));
    expect(map.resolveLine(source, 13)).toEqual({ line: 13, address: line13 });
    // Line 7 is blank: the breakpoint goes to the next line with code, kmain's first.
    const next = Math.min(...rows.filter((r) => r.line! >= 7).map((r) => r.line!));
    expect(next).toBeGreaterThan(7);
    expect(map.resolveLine(source, 7)).toEqual({ line: next, address: Math.min(...rows.filter((r) => r.line === next).map((r) => r.address)) });
    expect(map.lookup(line13)).toMatchObject({ file: source, line: 13, start: line13 });
    expect(map.lookup(0x0ff000)).toBeUndefined();
    expect(map.findFile(source)).toBe(source);
    expect(map.findFile('/elsewhere/checkout/map.c')).toBe(source);
    expect(map.findFile('/elsewhere/other.c')).toBeUndefined();
    expect(map.files()).toContain(join(work.path, 'helper.h'));
  });
});

describe('malformed line tables', () => {
  const header = (version: number, lineRange = 14): number[] => {
    // A DWARF 3 unit: header fields, no directories, one file "a.c", then the program.
    const body = [1, 1, 0xfb, lineRange, 13, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0x61, 0x2e, 0x63, 0, 0, 0, 0, 0];
    const program = [0, 5, 2, 0x00, 0x10, 0x10, 0x00, 1, 0, 1, 1];
    const unit = [version, 0, body.length, 0, 0, 0, ...body, ...program];
    return [unit.length, 0, 0, 0, ...unit];
  };

  it('a well-formed unit reads', () => {
    const rows = readLineRows({ debugLine: Uint8Array.from(header(3)) }, { fileName: 'k.elf', baseDir: '/src' });
    expect(rows).toEqual([
      { address: 0x101000, file: '/src/a.c', line: 1, isStmt: true, endSequence: false },
      { address: 0x101000, file: '/src/a.c', line: 1, isStmt: true, endSequence: true },
    ]);
  });

  const cases: [string, number[], RegExp][] = [
    ['a version outside 2-5', header(7), /k\.elf: \.debug_line at offset 0x4: line table version 7 is not DWARF 2 to 5/],
    ['a zero line_range', header(3, 0), /line_range is 0/],
    ['a unit longer than the section', header(3).slice(0, 20), /unit length 0x\w+ runs past the end of the section/],
    ['an opcode reaching past its unit', header(3).slice(0, -2).map((b, k) => (k === 0 ? b - 2 : b)), /at offset 0x\w+: needs 1 byte, only 0 left/],
  ];
  for (const [what, bytes, message] of cases) {
    it(`${what} is a DebugInfoError naming the offset`, () => {
      let error: unknown;
      try { readLineRows({ debugLine: Uint8Array.from(bytes) }, { fileName: 'k.elf', baseDir: '/src' }); } catch (e) { error = e; }
      expect(error).toBeInstanceOf(DebugInfoError);
      expect((error as Error).message).toMatch(message);
    });
  }

  it('broken debug information is a warning, and the image still has its symbols', () => {
    const path = cKernel(work, 'broken', C_SOURCE, ['-O0']);
    const image = new Uint8Array(readFileSync(path));
    const elf = new Elf32File(image, path);
    const line = elf.sections.find((s) => s.name === '.debug_line')!;
    image[line.offset + 4] = 9;   // the first unit's version
    const info = readDebugInfo(image, path);
    expect(info.sourceMap).toBeUndefined();
    expect(info.warnings).toEqual([expect.stringMatching(/^no source lines: .*broken\.elf: \.debug_line at offset 0x4: line table version 9/)]);
    expect(info.symbols.lookup('kmain')).toBeDefined();
    expect(dirname(path)).toBe(work.path);
  });
});
