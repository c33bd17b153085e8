/**
 * The preprocessor's own contract: where each output line comes from (through includes and
 * macro calls, worked out by hand from the sources below), its diagnostics (one per kind of
 * mistake, with file, line and column), its limits, and the pieces it is built from (nasm's
 * number forms, string escapes, expression arithmetic), checked against values computed by
 * hand.
 */
import { describe, expect, it } from 'vitest';
import { memoryHost, normalizePath, preprocess, preprocessText } from '../../src/asm/preprocessor';
import type { Diagnostic } from '../../src/asm/source';
import { readNumber, charConstant } from '../../src/asm/preprocessor/numbers';
import { quote, unquote } from '../../src/asm/preprocessor/strings';
import { evaluate } from '../../src/asm/preprocessor/expr';
import { tokenize } from '../../src/asm/preprocessor/tokens';

const texts = (src: string) => preprocessText(src).lines.map((l) => l.text);
const errors = (ds: Diagnostic[]) => ds.filter((d) => d.severity === 'error');

describe('origins of lines', () => {
  const files = {
    'src/main.asm': [
      '%include "a.inc"', //       1
      '%macro m 1', //             2
      '  mov eax, %1', //          3
      '  inner %1', //             4
      '%endmacro', //              5
      '%macro inner 1', //         6
      '  db %1', //                7
      '%endmacro', //              8
      'nop ; comment', //          9
      '  m 5', //                  10
      '%rep 2', //                 11
      '  hlt', //                  12
      '%endrep', //                13
      'align 4', //                14
      'db __LINE__', //            15
    ].join('\n'),
    'src/a.inc': '%define X 1\ndb X, __FILE__, __LINE__\n',
  };
  const r = preprocess('src/main.asm', memoryHost(files));

  it('keeps the file and line of included lines', () => {
    expect(r.lines[0]).toEqual({ text: "db 1, 'src/a.inc', 2", location: { file: 'src/a.inc', line: 2, column: 1 } });
    expect(r.includedFiles).toEqual(['src/a.inc']);
  });

  it('keeps a plain line as written, without its comment', () => {
    expect(r.lines[1]).toEqual({ text: 'nop', location: { file: 'src/main.asm', line: 9, column: 1 } });
  });

  it('locates macro lines at the call, with the body lines as the expansion chain', () => {
    expect(r.lines[2]).toEqual({
      text: '  mov eax, 5',
      location: { file: 'src/main.asm', line: 10, column: 3 },
      expansion: [{ file: 'src/main.asm', line: 3, column: 1 }],
    });
    // `inner` is called from body line 4 (its name at column 3); its own body line is 7.
    expect(r.lines[3]).toEqual({
      text: '  db 5',
      location: { file: 'src/main.asm', line: 10, column: 3 },
      expansion: [{ file: 'src/main.asm', line: 4, column: 3 }, { file: 'src/main.asm', line: 7, column: 1 }],
    });
  });

  it('locates %rep lines at their own line, once per repetition', () => {
    expect(r.lines.slice(4, 6)).toEqual([
      { text: '  hlt', location: { file: 'src/main.asm', line: 12, column: 1 } },
      { text: '  hlt', location: { file: 'src/main.asm', line: 12, column: 1 } },
    ]);
  });

  it('places lines of .nolist standard macros at the call, with no expansion chain', () => {
    expect(r.lines.slice(6, 8)).toEqual([
      { text: '[sectalign 4]', location: { file: 'src/main.asm', line: 14, column: 1 } },
      { text: 'times (((4) - (($-$$) % (4))) % (4)) nop', location: { file: 'src/main.asm', line: 14, column: 1 } },
    ]);
    expect(r.lines[8]).toEqual({ text: 'db 15', location: { file: 'src/main.asm', line: 15, column: 1 } });
    expect(r.lines).toHaveLength(9);
    expect(r.diagnostics).toEqual([]);
  });

  it('counts the physical lines a backslash continuation joins', () => {
    const out = preprocessText('dd 1 + \\\n   2\nnop\n').lines;
    expect(out).toEqual([
      { text: 'dd 1 +    2', location: { file: 'input.asm', line: 1, column: 1 } },
      { text: 'nop', location: { file: 'input.asm', line: 3, column: 1 } },
    ]);
  });

  it('reads CR LF, CR and LF line ends alike', () => {
    const out = preprocessText('nop\r\nhlt\rcli\nsti').lines;
    expect(out.map((l) => [l.text, l.location.line])).toEqual([['nop', 1], ['hlt', 2], ['cli', 3], ['sti', 4]]);
  });

  it('follows %line like nasm: the line after `%line k+m` is k+m', () => {
    const out = preprocessText('nop\n%line 100+1 foo.c\na\nb\n%line 200+2\nc\nd\n').lines;
    expect(out.map((l) => `${l.location.file}:${l.location.line}`)).toEqual([
      'input.asm:1', 'foo.c:101', 'foo.c:102', 'foo.c:202', 'foo.c:204',
    ]);
  });

  it('labels the label line of a macro call at the call', () => {
    const out = preprocessText('%macro z 0\n nop\n%endmacro\nstart z\n').lines;
    expect(out.map((l) => l.text)).toEqual(['start :', ' nop']);
    expect(out[0].expansion).toBeUndefined();
    expect(out[1].expansion).toEqual([{ file: 'input.asm', line: 2, column: 1 }]);
  });
});

describe('diagnostics', () => {
  /** The single diagnostic a one-problem source produces. */
  function only(src: string): Diagnostic {
    const r = preprocessText(src);
    expect(r.diagnostics).toHaveLength(1);
    return r.diagnostics[0];
  }
  const at = (d: Diagnostic) => `${d.location.file}:${d.location.line}:${d.location.column}`;

  const cases: [string, string, RegExp, string][] = [
    ['%endmacro alone', 'nop\n%endmacro\n', /`%endmacro' without `%macro'/, 'input.asm:2:1'],
    ['%endrep alone', '%endrep\n', /`%endrep' without `%rep'/, 'input.asm:1:1'],
    ['%endif alone', '  %endif\n', /`%endif' without `%if'/, 'input.asm:1:3'],
    ['%else alone', '%else\n', /`%else' without `%if'/, 'input.asm:1:1'],
    ['%elif alone', '%elif 1\n', /`%elif' without `%if'/, 'input.asm:1:1'],
    ['%exitrep outside %rep', '%exitrep\n', /not within a `%rep' block/, 'input.asm:1:1'],
    ['%exitmacro outside a macro', '%exitmacro\n', /not within a `%macro'/, 'input.asm:1:1'],
    ['%rotate outside a macro', '%rotate 1\n', /invoked outside a macro call/, 'input.asm:1:1'],
    ['%macro without a name', '%macro\n', /`%macro' expects a macro name/, 'input.asm:1:1'],
    ['%macro without a count', '%macro x\n%endmacro\n', /`%macro' expects a parameter count/, 'input.asm:1:8'],
    ['%define of a number', '%define 1x 2\n', /`%define' expects a macro identifier, not `1x'/, 'input.asm:1:9'],
    ['expression cut short', '%assign x 1 +\n', /expression syntax error/, 'input.asm:1:13'],
    ['missing parenthesis', '%assign x (1\n', /expecting `\)'/, 'input.asm:1:12'],
    ['division by zero', '%assign x 1/0\n', /division by zero/, 'input.asm:1:12'],
    ['symbol in %if', '%if foo\n%endif\n', /symbol `foo' in a preprocessor expression/, 'input.asm:1:5'],
    ['missing include', '%include "nope.inc"\n', /unable to open include file `nope.inc'/, 'input.asm:1:10'],
    ['unquoted include', '%include nope\n', /expects a file name in quotes, not `nope'/, 'input.asm:1:10'],
    ['%error', '%error "custom " message\n', /"custom " message/, 'input.asm:1:8'],
    ['%1 outside a macro', 'db %1\n', /`%1': not in a macro call/, 'input.asm:1:4'],
    ['%%label outside a macro', '%%x: nop\n', /`%%x': not in a macro call/, 'input.asm:1:1'],
    ['%strlen of a number', '%strlen n 5\n', /requires a string as its second parameter, not `5'/, 'input.asm:1:11'],
    ['%rep over the limit', '%rep 2000000\n%endrep\n', /`%rep' count 2000000 exceeds the limit of 1000000/, 'input.asm:1:1'],
    ['%pop on an empty context stack', '%pop\n', /context stack is empty/, 'input.asm:1:1'],
    ['context-local name without a context', 'db %$x\n', /`%\$x': context stack is empty/, 'input.asm:1:4'],
    ['unknown directive', '%frobnicate 1\n', /unknown preprocessor directive `%frobnicate'/, 'input.asm:1:1'],
    ['parameters on both sides of a redefinition', '%define f 1\n%define f(x) x\n', /`f' defined both with and without parameters/, 'input.asm:2:9'],
  ];
  for (const [name, src, message, where] of cases) {
    it(name, () => {
      const d = only(src);
      expect(d.severity).toBe('error');
      expect(d.message).toMatch(message);
      expect(at(d)).toBe(where);
    });
  }

  it('names what was expected for an unterminated %if, at the %if', () => {
    const d = only('nop\n%if 1\nnop\n');
    expect(d.message).toBe("unterminated `%if' started at input.asm:2: expected `%endif' before the end of input.asm");
    expect(at(d)).toBe('input.asm:2:1');
  });

  it('reports an %if left open in an included file at the end of that file', () => {
    const r = preprocess('main.asm', memoryHost({ 'main.asm': '%include "x.inc"\nnop\n', 'x.inc': 'db 1\n  %ifdef FOO\n' }));
    expect(r.diagnostics.map((d) => [d.message, at(d)])).toEqual([
      ["unterminated `%ifdef' started at x.inc:2: expected `%endif' before the end of x.inc", 'x.inc:2:3'],
    ]);
    expect(r.lines.map((l) => l.text)).toEqual(['db 1', 'nop']);
  });

  it('names the macro of an unterminated %macro, and the %rep of an unterminated %rep', () => {
    expect(only('%macro foo 1\nnop\n').message).toBe("unterminated `%macro foo' started at input.asm:1: expected `%endmacro' before the end of the input");
    expect(only('%rep 3\nnop\n').message).toBe("unterminated `%rep' started at input.asm:1: expected `%endrep' before the end of the input");
  });

  it('says how many parameters a macro takes when called with the wrong number', () => {
    const d = only('%macro foo 2\n%endmacro\nfoo 1\n');
    expect(d.severity).toBe('warning');
    expect(d.message).toBe("macro `foo' expects 2 parameters, got 1; the line is left as it is");
    expect(only('%macro foo 1-3\n%endmacro\nfoo\n').message).toMatch(/expects 1 to 3 parameters, got 0/);
    expect(only('%define f(a,b) a\ndb f(1)\n').message).toBe("single-line macro `f' takes 2 parameters, not 1; left unexpanded");
  });

  it('locates an error inside a macro body at the call, with the body line as its expansion', () => {
    const d = only('%macro m 0\n  %assign x 1/0\n%endmacro\n\n    m\n');
    expect(d.message).toMatch(/division by zero/);
    expect(at(d)).toBe('input.asm:5:5');
    expect(d.expansion).toEqual([{ file: 'input.asm', line: 2, column: 14 }]);
  });

  it('gives %warning as a warning and stops at %fatal', () => {
    const r = preprocessText('%warning watch out\nnop\n%fatal stop here\nhlt\n');
    expect(r.diagnostics.map((d) => [d.severity, d.message])).toEqual([['warning', 'watch out'], ['error', 'stop here']]);
    expect(r.lines.map((l) => l.text)).toEqual(['nop']);
  });

  it('says nothing about lines in a false %if branch', () => {
    expect(preprocessText('%if 0\n%error no\ndb %1\n%assign x 1/0\n%endif\n').diagnostics).toEqual([]);
  });

  it('speaks for %else of a block that can be reached, not of one nested in a false branch (as nasm)', () => {
    const r = preprocessText('%if 0\n %if 1\n %else junk\n %endif\n%else trailing\n%endif\n');
    expect(r.diagnostics.map((d) => [d.message, at(d)])).toEqual([["trailing garbage after `%else' ignored", 'input.asm:5:7']]);
  });

  it('warns about unterminated strings', () => {
    const d = only("db 'abc\n");
    expect(d.severity).toBe('warning');
    expect(d.message).toBe("unterminated string (missing `'')");
    expect(at(d)).toBe('input.asm:1:4');
  });
});

describe('limits end runaway input with a diagnostic', () => {
  it('stops a macro that calls itself forever', () => {
    const r = preprocessText('%rmacro r 0\n r\n%endmacro\nr\n');
    expect(errors(r.diagnostics).map((d) => d.message)).toEqual([
      'interminable multi-line macro recursion: more than 1000 nested calls (a %rmacro that never stops?)',
    ]);
  });

  it('runs a %rmacro that stops by itself (nasm 2.16.01 loses the rest of the file here)', () => {
    const src = '%rmacro fact 1\n  %if %1 > 1\n    fact %1 - 1\n  %endif\n  db %1\n%endmacro\nfact 3\ndb 99\n';
    expect(texts(src)).toEqual(['  db 3 - 1 - 1', '  db 3 - 1', '  db 3', 'db 99']);
  });

  it('stops single-line macros that double at every level', () => {
    const defs = Array.from({ length: 20 }, (_, i) => `%define m${i} m${i + 1} m${i + 1}`).join('\n');
    const r = preprocessText(`${defs}\ndb m0\n`);
    expect(errors(r.diagnostics).map((d) => d.message)).toEqual([
      'interminable macro recursion: single-line macro expansion exceeded its limit (a macro that expands to itself through another?)',
    ]);
  });

  it('leaves a self-referencing single-line macro after one step, like nasm', () => {
    expect(texts('%define a a+1\n%define b c\n%define c b\ndb a, b\n')).toEqual(['db a+1, b']);
  });

  it('stops a file that includes itself', () => {
    const r = preprocess('self.inc', memoryHost({ 'self.inc': 'nop\n%include "self.inc"\n' }));
    expect(errors(r.diagnostics).map((d) => d.message)).toEqual([
      "`%include' nested more than 50 levels deep: does `self.inc' include itself?",
    ]);
    expect(r.lines).toHaveLength(51);
  });

  it('stops nested %rep blocks that would make too many lines', () => {
    const r = preprocessText('%rep 1000\n%rep 1000\nnop\n%endrep\n%endrep\n', { limits: { maxLines: 10_000 } });
    expect(errors(r.diagnostics)[0].message).toMatch(/preprocessing stopped after 10000 lines/);
  });
});

describe('directives and macros in detail', () => {
  it('defines -D style macros before the first line', () => {
    expect(preprocessText('db VERSION, DEBUG\n', { defines: { VERSION: '3', DEBUG: '' } }).lines.map((l) => l.text)).toEqual(['db 3,']);
  });

  it('looks for %include next to the including file, then in the include paths', () => {
    const files = {
      '/p/main.asm': '%include "sub/a.inc"\n%include "lib.inc"\n',
      '/p/sub/a.inc': '%include "b.inc"\n',
      '/p/sub/b.inc': 'db "b"\n',
      '/p/sub/lib.inc': 'db "wrong"\n',
      '/q/lib.inc': 'db "lib"\n',
    };
    const r = preprocess('/p/main.asm', memoryHost(files), { includePaths: ['/q'] });
    expect(r.lines.map((l) => [l.text, l.location.file])).toEqual([['db "b"', '/p/sub/b.inc'], ['db "lib"', '/q/lib.inc']]);
    expect(r.includedFiles).toEqual(['/p/sub/a.inc', '/p/sub/b.inc', '/q/lib.inc']);
  });

  it('includes a %require file once', () => {
    const r = preprocess('m.asm', memoryHost({ 'm.asm': '%require "x.inc"\n%require "x.inc"\n%include "x.inc"\n', 'x.inc': 'nop\n' }));
    expect(r.lines).toHaveLength(2);
  });

  it('numbers macro-local and context-local labels with one counter, as nasm does', () => {
    expect(texts('%macro m 0\n%%a: %%b:\n%endmacro\nm\n%push\n%$c:\n%pop\nm\n')).toEqual([
      '..@0.a: ..@0.b:', '..@1.c:', '..@2.a: ..@2.b:',
    ]);
  });

  it('captures a label with %00', () => {
    expect(texts('%macro m 0\n%00 equ 5\n%endmacro\nfive: m\n')).toEqual(['five equ 5']);
  });

  it('expands %00 and %0 of a macro called with whitespace only, like nasm', () => {
    expect(texts('%macro one 1\n  db %0\n%endmacro\n%define E\none E\n')).toEqual(['  db 0']);
  });

  it('keeps the text of a line nothing changed, spacing included', () => {
    expect(texts('   mov   eax ,\t[ebx+4]   ; note\n')).toEqual(['   mov   eax ,\t[ebx+4]']);
  });

  it('ignores case in directive names', () => {
    expect(texts('%DEFINE X 1\n%IfDef X\ndb X\n%ENDIF\n')).toEqual(['db 1']);
  });

  it('turns %pragma into the assembler directive', () => {
    expect(texts('%pragma preproc sane_empty_expansion\n%pragma bin foo\n')).toEqual(['[pragma bin foo]']);
  });

  it('tracks [bits N] for __BITS__ and character constants', () => {
    expect(texts("db __BITS__\n[bits 32]\ndb __BITS__\n%assign c 'abcde'\ndd c\n")).toEqual(['db 16', '[bits 32]', 'db 32', 'dd 1684234849']);
  });
});

describe('number forms (readnum)', () => {
  const cases: [string, bigint][] = [
    ['0x1f', 31n], ['1fh', 31n], ['$1f', 31n], ['0h1f', 31n], ['0X1F', 31n],
    ['0b101', 5n], ['101b', 5n], ['0y101', 5n], ['101y', 5n],
    ['0o17', 15n], ['17o', 15n], ['17q', 15n], ['0q17', 15n],
    ['0d99', 99n], ['99d', 99n], ['0t99', 99n], ['99t', 99n], ['1_000_000', 1000000n],
    // 0bh: the h suffix wins over the 0b prefix, so it is hex 0b = 11.
    ['0bh', 11n],
    ['0xffffffffffffffff', -1n], ['18446744073709551615', -1n],
  ];
  for (const [text, value] of cases) it(text, () => expect(readNumber(text)?.value).toBe(value));

  it('rejects digits outside the radix and reports overflow', () => {
    expect(readNumber('0b102')).toBeUndefined();
    expect(readNumber('12q3')).toBeUndefined();
    expect(readNumber('1fz')).toBeUndefined();
    expect(readNumber('0x10000000000000000')).toEqual({ value: 0n, overflow: true });
  });

  it('reads character constants little-endian', () => {
    expect(charConstant('ab')).toEqual({ value: 0x6261n, tooLong: false });
    expect(charConstant('abcde', 4)).toEqual({ value: 0x64636261n, tooLong: true });
  });
});

describe('strings', () => {
  it('takes no escapes in single and double quotes', () => {
    expect(unquote(String.raw`'a\nb'`)).toBe('a\\nb');
    expect(unquote('"it\'s"')).toBe("it's");
  });

  it('takes C escapes in backquotes', () => {
    const bq = '`';
    // \x41 and \101 are both 'A'; \u00e9 is é in UTF-8 (c3 a9); \e is ESC; \\ and \` are themselves.
    expect(unquote(bq + 'a\\n\\t\\x41\\101\\u00e9\\e\\\\\\' + bq + bq)).toBe('a\n\tAA\xc3\xa9\x1b\\' + bq);
  });

  it('counts bytes of UTF-8 text', () => {
    expect(texts("%strlen n 'é€'\ndb n\n")).toEqual(['db 5']);
  });

  it('quotes like nasm: single quotes if possible, then double, then backquotes', () => {
    expect(quote('abc')).toBe("'abc'");
    expect(quote("it's")).toBe('"it\'s"');
    expect(quote('a\'b"c')).toBe('`a\'b"c`');
    expect(quote('\n\x01' + '1')).toBe('`\\n\\0011`');
  });
});

describe('expressions', () => {
  const value = (src: string, width = 4) => {
    const r = evaluate(tokenize(src).tokens, 0, [], 1, width);
    if (!r.ok) throw new Error(r.message);
    return r.value;
  };
  it('divides unsigned with / and %, signed with // and %%', () => {
    // -7 as unsigned 64-bit is 2^64 - 7 = 18446744073709551609; / 2 = 9223372036854775804.
    expect(value('-7 / 2')).toBe(9223372036854775804n);
    expect(value('-7 % 2')).toBe(1n);
    expect(value('-7 // 2')).toBe(-3n);
    expect(value('-7 %% 2')).toBe(-1n);
  });

  it('shifts right logically with >>, arithmetically with >>>', () => {
    expect(value('-16 >> 60')).toBe(15n);
    expect(value('-16 >>> 2')).toBe(-4n);
  });

  it('wraps to 64 bits and compares through the wrapped difference, as nasm does', () => {
    expect(value('0x7fffffffffffffff + 1')).toBe(-0x8000000000000000n);
    // nasm compares a - b: 2^63-1 - (-1) wraps to -2^63, so "greater" is false.
    expect(value('0x7fffffffffffffff > -1')).toBe(0n);
  });

  it('binds like nasm: || below ^^ below && below comparisons below | below ^ below &', () => {
    expect(value('1 || 0 && 0')).toBe(1n); // 1 || (0 && 0)
    expect(value('1 ^^ 1 && 0')).toBe(1n); // 1 ^^ (1 && 0)
    expect(value('1 | 2 == 3')).toBe(1n); // (1 | 2) == 3
    expect(value('6 ^ 3 & 1')).toBe(7n); // 6 ^ (3 & 1)
    expect(value('1 + 2 << 3')).toBe(24n); // (1 + 2) << 3
    expect(value('0 ? 1 : 2 ? 3 : 4')).toBe(3n);
    expect(value("'ab'")).toBe(0x6261n);
  });
});

it('turns a host that throws into a diagnostic', () => {
  const host = { readFile: () => { throw new Error('disk on fire'); }, resolve: (_: string, n: string) => n };
  const r = preprocess('x.asm', host);
  expect(r.lines).toEqual([]);
  expect(r.diagnostics.map((d) => d.message)).toEqual(['internal preprocessor error: disk on fire']);
});

it('reports an entry file it cannot read', () => {
  expect(preprocess('missing.asm', memoryHost({})).diagnostics.map((d) => d.message)).toEqual(["cannot read input file `missing.asm'"]);
});

it('normalizes paths for the in-memory host', () => {
  expect(normalizePath('/a/./b/../c//d')).toBe('/a/c/d');
  expect(normalizePath('a/../../b')).toBe('../b');
});
