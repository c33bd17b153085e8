/**
 * The preprocessor never throws, whatever it is given (random bytes, random directive soup,
 * truncated and shuffled sources), and always returns well-formed lines and diagnostics. The fuzzing calls the Preprocessor class itself, below the
 * safety net of preprocess(), so a throw would fail the test.
 */
import { describe, expect, it } from 'vitest';
import { memoryHost } from '../../src/asm/preprocessor';
import { Preprocessor } from '../../src/asm/preprocessor/preprocessor';

/** A small deterministic generator (LCG) so that failures can be reproduced. */
function generator(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 0x100000000;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(a: readonly T[]) => a[Math.floor(next() * a.length)] };
}

const SOURCES = [
  String.raw`%define FOO 1+2
%define BAR(x,y) x*y
mov eax, FOO ; comment
%macro m 2
  push %1
%%l: jmp %%l
  dd %0, %2
%endmacro
m eax, 5
m {a,b}, c
%assign i 0
%rep 3
  db i
  %assign i i+1
%endrep
%if i > 2
  db 'big'
%elif i
  db 'small'
%else
  %error none
%endif
struc pt
  .x: resd 1
endstruc
istruc pt
  at .x, dd 1
iend
align 16
%push c
%define %$v 3
%$lbl: db %$v
%pop
%defstr s hello
%substr t 'abc' 2
%strcat u 'a', 'b'
db s, t, u, %eval(1+2), %str(x y)
%include "inc.asm"
x \
 y
`,
  String.raw`%macro outer 1
  %macro inner%1 0
    db %1
  %endmacro
  inner%1
%endmacro
outer 5
%rmacro fact 1
  %if %1 > 1
    fact %1 - 1
  %endif
  db %1
%endmacro
fact 3
%macro star 1-*
  %rep %0
    db %1
    %rotate 1
  %endrep
%endmacro
star a, b, c
%macro cc 2
  j%+1 %2
  j%-1 %2
%endmacro
cc z, l1
db %{1:2}
%define cat(x,y) x %+ y
db cat(a, b), %[FOO]
%ifidn a, a
%endif
%ifmacro star
%endif
`,
];

const VOCABULARY = [
  '%define', '%xdefine', '%idefine', '%undef', '%assign', '%defstr', '%deftok', '%strlen', '%substr', '%strcat',
  '%macro', '%imacro', '%rmacro', '%endmacro', '%unmacro', '%exitmacro', '%rotate', '%rep', '%endrep', '%exitrep',
  '%if', '%ifn', '%elif', '%else', '%endif', '%ifdef', '%ifidn', '%ifmacro', '%ifctx', '%ifempty', '%include',
  '%push', '%pop', '%repl', '%error', '%warning', '%line', '%pragma', '%clear', '%defalias', '%aliases',
  'foo', 'bar', 'm', 'x', 'y', 'inner5', '%1', '%2', '%0', '%00', '%%l', '%$c', '%$$c', '%+', '%-1', '%+1',
  '%{1:2}', '%[foo]', '%?', '%??', '%,', '(', ')', '{', '}', ',', ':', '+', '-', '*', '/', '//', '%', '%%', '<<',
  '>>', '?', '1', '0', '2', '0x10', '$', '$$', "'s'", '"t"', '`u\\n`', ';c', '\\', ' ', ' ', '\t', '\n', '\n', '\n',
  '%eval(', '%str(', '%sel(', '%cond(', '%num(', '%tok(', '%strlen(', '%substr(', '1-*', '2+', '.nolist', 'struc',
  'endstruc', 'istruc', 'at', 'iend', 'align', 'section', '__FILE__', '__LINE__', '%!env', '%{', '%[', "'", '"', '`',
  '\r', '\x1a', 'é', '\u0000',
];

/** Limits small enough that runaway input ends quickly. */
const LIMITS = { maxLines: 20_000, maxWork: 300_000, maxMacroDepth: 100, maxMacroCalls: 5_000, maxRep: 10_000 };

function check(src: string, include: string): void {
  const host = memoryHost({ 'in.asm': src, 'inc.asm': include });
  const pp = new Preprocessor(host, { limits: LIMITS });
  pp.run('in.asm');
  for (const l of pp.lines) {
    if (typeof l.text !== 'string' || l.text.trim() === '') throw new Error(`bad line ${JSON.stringify(l)}`);
    if (!(l.location.line >= 0 && l.location.column >= 1)) throw new Error(`bad location ${JSON.stringify(l)}`);
  }
  for (const d of pp.diagnostics) {
    if (!d.message || !d.location.file) throw new Error(`bad diagnostic ${JSON.stringify(d)}`);
  }
}

describe('never throws', () => {
  it('on random bytes', () => {
    const g = generator(1);
    for (let i = 0; i < 1000; i++) {
      const src = Array.from({ length: g.int(300) }, () => String.fromCharCode(g.int(256))).join('');
      expect(() => check(src, src.slice(0, 40)), JSON.stringify(src)).not.toThrow();
    }
  });

  it('on random sequences of directives, macro syntax and operators', () => {
    const g = generator(2);
    for (let i = 0; i < 2000; i++) {
      const src = Array.from({ length: g.int(120) }, () => g.pick(VOCABULARY) + (g.next() < 0.5 ? ' ' : '')).join('');
      const include = Array.from({ length: g.int(20) }, () => g.pick(VOCABULARY) + ' ').join('');
      expect(() => check(src, include), JSON.stringify(src)).not.toThrow();
    }
  });

  it('on every truncation of real sources', () => {
    for (const full of SOURCES) {
      for (let n = 0; n <= full.length; n += 3) {
        const src = full.slice(0, n);
        expect(() => check(src, 'db 1\n%macro'), JSON.stringify(src)).not.toThrow();
      }
    }
  });

  it('on real sources with their lines shuffled', () => {
    const g = generator(3);
    for (let i = 0; i < 600; i++) {
      const lines = g.pick(SOURCES).split('\n');
      for (let k = 0; k < 6; k++) {
        const a = g.int(lines.length);
        const b = g.int(lines.length);
        [lines[a], lines[b]] = [lines[b], lines[a]];
      }
      const src = lines.join('\n');
      expect(() => check(src, SOURCES[0].slice(0, g.int(200))), JSON.stringify(src)).not.toThrow();
    }
  });
});

