/**
 * Diagnostics of the assembler, checked by hand: nasm's messages (confirmed by running nasm
 * 2.16.01 on each source) at file:line:column, the column being that of the offending token;
 * every problem of a file in one run; and no exception on any input, random or truncated.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { assembleString, type Diagnostic } from '../../src/asm';
import { runVtscope } from './assemblerOracle';

function problems(source: string): string[] {
  return assembleString(source, 'k.asm').diagnostics.map(show);
}

function show(d: Diagnostic): string {
  return `${d.location.line}:${d.location.column}: ${d.severity}: ${d.message}`;
}

describe('error messages at the offending token', () => {
  const cases: [string, string][] = [
    ['dd undefined_sym', "1:4: error: symbol `undefined_sym' not defined"],
    ['  mov eax, (1', "1:14: error: expecting `)'"],
    ['dd 1 +', '1:7: error: expression syntax error'],
    ['dd 1/0', '1:5: error: division by zero'],
    ['x: dd x*2', '1:7: error: expression is not simple or relocatable'],
    ['x: dd x/2', '1:8: error: division operator may only be applied to scalar values'],
    ['dd ~x\nx:', "1:4: error: `~' operator may only be applied to scalar values"],
    ['mov eax, [eax', '1:14: error: expecting ] at end of memory operand'],
    ['bits 32\nmov eax, [ebx+ecx+edx]', '2:10: error: invalid effective address: too many registers'],
    ['foo bar', '1:5: error: parser: instruction expected'],
    ['eax: db 0', '1:1: error: label or instruction expected at start of line'],
    ['equ 5', '1:1: error: EQU not preceded by label'],
    ['x equ eax', '1:3: error: bad syntax for EQU'],
    ['times fw db 0\nfw equ 3', '1:1: error: non-constant argument supplied to TIMES'],
    ['times -1 db 0', '1:1: error: TIMES value -1 is negative'],
    ['org fw\nfw equ 3', "1:5: error: symbol `fw' not defined before use"],
    ['absolute fw\nfw equ 4', "1:10: error: symbol `fw' not defined before use"],
    ['org 5\norg 6', '2:1: error: program origin redefined'],
    ['bits 0x20', "1:1: error: `0x20' is not a valid segment size; must be 16, 32 or 64"],
    ['section .data align=3', "1:15: error: argument to `align' is not a power of two"],
    ['[foo bar]', '1:2: error: unrecognized directive [foo]'],
    ['[bits 32', '1:1: error: invalid directive line'],
    ['absolute 0\nnop', '2:1: error: attempt to assemble code in [ABSOLUTE] space'],
    ['incbin "nofile.bin"', "1:1: error: `incbin': unable to open file `nofile.bin'"],
    ['bits 32\njmp short far_away\ntimes 200 nop\nfar_away:', '2:1: error: short jump is out of range'],
    ['db "abc', '1:4: error: unterminated string (missing `"\')'],
    ['resb -1', '1:1: error: attempt to reserve a negative quantity (-1) of space'],
    ['global x\nextern y\ndd y', '3:4: error: binary output format does not support external references'],
  ];
  for (const [source, message] of cases) {
    it(source.replace(/\n/g, ' | '), () => {
      expect(problems(source)).toContain(message);
    });
  }

  it('reports a label defined twice with different values', () => {
    expect(problems('x: nop\nx: nop')).toEqual(["2:1: error: label `x' inconsistently redefined"]);
    expect(problems('x: nop\nx equ 0')).toEqual(["2:1: error: label `x' inconsistently redefined"]);
  });

  it('gives up on labels that never settle, as nasm does', () => {
    const ds = assembleString('x equ x + 1\ndd x', 'k.asm').diagnostics;
    expect(ds[0].message).toMatch(/^unable to find valid values for all labels after \d+ passes; stalled for \d+, giving up\.$/);
    expect(ds[1].message).toBe('Possible causes: recursive EQUs, macro abuse.');
  });
});

describe('warnings', () => {
  it('warns like nasm and honours [warning -class]', () => {
    expect(problems('label\ndb\nresb 2\ndb 300\n[warning -number-overflow]\ndb 300\ndw 70000\nsection .bss\ndb 1\n')).toEqual([
      '1:1: warning: label alone on a line without a colon might be in error',
      '2:1: warning: no operand for data declaration',
      '3:1: warning: uninitialized space declared in .text section: zeroing',
      '4:4: warning: byte data exceeds bounds',
      '9:1: warning: attempt to initialize memory in a nobits section: ignored',
    ]);
  });

  it('warns about a forward reference in a reserve count', () => {
    expect(problems('section .bss\nresb fw\nfw equ 3')).toEqual(['2:1: warning: forward reference in RESx can have unpredictable results']);
  });

  it('warns about encoder warnings on the instruction line', () => {
    expect(problems('mov al, 300')).toEqual(['1:1: warning: byte data exceeds bounds']);
  });
});

describe('all problems of a file in one run', () => {
  it('reports every error and warning, sorted by line', () => {
    const ds = assembleString([
      'bits 32',
      'start: mov eax, nowhere',   // undefined symbol (final pass)
      'dd 1/0',                     // division by zero (first pass)
      'label',                      // orphan label warning
      'mov eax, ebx, ecx',          // no such operand combination
      '  jmp start',
      'foo bar',                    // parse error
      'times fw db 1',              // critical expression
      'fw equ 2',
    ].join('\n'), 'k.asm').diagnostics.map(show);
    expect(ds).toEqual([
      "2:17: error: symbol `nowhere' not defined",
      '3:5: error: division by zero',
      '4:1: warning: label alone on a line without a colon might be in error',
      '5:1: error: invalid combination of opcode and operands',
      '7:5: error: parser: instruction expected',
      '8:1: error: non-constant argument supplied to TIMES',
    ]);
  });

  it('keeps the symbols and the line map of a file with errors', () => {
    const r = assembleString('bits 32\nstart: nop\nmov eax, nowhere\nend: ret\n', 'k.asm');
    expect(r.ok).toBe(false);
    expect(r.binary.length).toBe(0);
    expect(r.symbols.map((s) => [s.name, s.value])).toEqual([['start', 0], ['end', 6]]);
    expect(r.map.map((m) => [m.address, m.length, m.location.line])).toEqual([[0, 1, 2], [1, 5, 3], [6, 1, 4]]);
  });

  it('locates errors in macros at the call, with the macro body line in the expansion', () => {
    const ds = runVtscope({ 'main.asm': '%macro load 1\n  mov eax, %1\n%endmacro\nbits 32\nload nowhere\n' }).diagnostics;
    expect(ds).toHaveLength(1);
    expect(ds[0].location).toMatchObject({ file: 'main.asm', line: 5 });
    expect(ds[0].expansion?.map((e) => `${e.file}:${e.line}`)).toEqual(['main.asm:2']);
  });

  it('locates errors in included files in those files', () => {
    const ds = runVtscope({ 'main.asm': 'bits 32\n%include "inc.asm"\ndd 1/0\n', 'inc.asm': 'nop\ndd nowhere\n' }).diagnostics.map((d) => `${d.location.file}:${d.location.line}:${d.location.column}`);
    expect(ds).toEqual(['main.asm:3:5', 'inc.asm:2:4']);
  });
});

describe('never throws', () => {
  /** A deterministic pseudo-random generator (xorshift32), so failures can be reproduced. */
  function random(seed: number): () => number {
    let x = seed;
    return () => {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
      return (x >>> 0) / 0x100000000;
    };
  }

  const samples = ['hello', 'timer', 'syscall', 'paging'].map((n) =>
    readFileSync(fileURLToPath(new URL(`../../samples/${n}.asm`, import.meta.url)), 'utf8'));

  it('survives random bytes', () => {
    const rnd = random(12345);
    for (let i = 0; i < 200; i++) {
      const bytes = Array.from({ length: Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256));
      const text = String.fromCharCode(...bytes);
      const r = assembleString(text, 'fuzz.asm');
      expect(r.ok || r.diagnostics.some((d) => d.severity === 'error')).toBe(true);
    }
  });

  it('survives random assembly-like text', () => {
    const rnd = random(777);
    const pieces = ['mov', 'eax', ',', '[', ']', 'ebx', '*', '4', '+', '-', 'db', 'dd', '"x"', '`\\', 'times', 'equ', ':', 'lbl',
      '.l', '$', '$$', '(', ')', 'section', '.data', 'align=', 'org', 'absolute', 'bits', '16', '32', 'resb', 'jmp', 'short',
      'far', 'byte', 'dword', '?', '<<', '//', '%%', '0x', '1e', 'incbin', 'struc', 'endstruc', '\n', '\n', '\n', ';'];
    for (let i = 0; i < 300; i++) {
      const words = Array.from({ length: Math.floor(rnd() * 40) }, () => pieces[Math.floor(rnd() * pieces.length)]);
      expect(() => assembleString(words.join(' '), 'fuzz.asm')).not.toThrow();
    }
  });

  it('survives every sample cut short at random points', () => {
    const rnd = random(99);
    for (const text of samples) {
      for (let i = 0; i < 25; i++) {
        const cut = text.slice(0, Math.floor(rnd() * text.length));
        expect(() => assembleString(cut, 'cut.asm')).not.toThrow();
      }
    }
  });
});
