/**
 * The preprocessor against nasm 2.16.01 itself. Each case is preprocessed by `nasm -E` and by
 * ours; the lines must be the same once nasm's `%line` markers and blank lines are dropped
 * and runs of spaces are made one (nasm respaces every line, ours keeps the source's spacing).
 * A second set of cases is assembled: nasm assembling the original source and nasm
 * assembling our preprocessed text must give the same bytes. That covers what `nasm -E`
 * cannot show, like character constants and __BITS__ after `[bits 64]`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryHost, preprocess } from '../../src/asm/preprocessor';

type Files = Record<string, string>;

function withFiles<T>(files: Files, f: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'vtscope-pp-'));
  try {
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    return f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const normalize = (line: string) => line.replace(/\s+/g, ' ').trim();

/** nasm -E output, as lines (the run must succeed unless `allowErrors`). */
function nasmE(files: Files, main: string, args: string[] = []): string[] {
  return withFiles(files, (dir) => {
    const out = execFileSync('nasm', ['-E', ...args, main], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return out.split('\n').filter((l) => !l.startsWith('%line')).map(normalize).filter((l) => l !== '');
  });
}

function ours(files: Files, main: string, includePaths: string[] = []) {
  return preprocess(main, memoryHost(files), { includePaths });
}

function nasmBin(files: Files, main: string): Uint8Array {
  return withFiles(files, (dir) => {
    execFileSync('nasm', ['-f', 'bin', main, '-o', 'out.bin'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    return new Uint8Array(readFileSync(join(dir, 'out.bin')));
  });
}

interface Case { name: string; files: Files; main?: string; nasmArgs?: string[]; includePaths?: string[] }

const BQ = '`';

const CASES: Case[] = [
  {
    name: 'single-line macros, %xdefine, %assign and comments',
    files: {
      'main.asm': String.raw`; comment line
%define FOO 1+2
%define BAR(x,y) x*y  ; trailing comment
mov eax, FOO   ; c
mov ebx, BAR(3, FOO)
%assign i 0
%rep 3
  db i
  %assign i i+1
%endrep
   indented   line  with   spaces
label:   mov  eax , [ebx + 4]
x \
 y
%xdefine Q FOO
%define FOO 9
db Q, FOO
`,
    },
  },
  {
    name: 'strings in all three quote styles are left alone',
    files: {
      'main.asm': [
        '%define FOO 7',
        `db 'FOO', "FOO", ${BQ}FO\\${BQ}O${BQ}, FOO`,
        `db 'it''s', "a;b", ${BQ}c;d\\${BQ}e${BQ}   ; comment ' with quote`,
        `mov eax, ';'`,
        `db '\\'`,
        `%define Q 'Q'`,
        `db Q, 'Q', "Q", ${BQ}Q${BQ}`,
        '',
      ].join('\n'),
    },
  },
  {
    name: 'numbers in every nasm form, operators and precedence',
    files: {
      'main.asm': String.raw`%assign a 0x1f + 1fh + $1f + 0h1f + 0b101 + 101b + 0y11 + 11y + 0o17 + 17q + 17o + 0q7 + 0d99 + 99d + 0t9 + 9t + 1_000
db a
%assign b 'ab' + "c"
dd b
%assign c (1 << 4) | (256 >> 2) ^ 3 & 7
dd c
%assign d -1 >>> 60
%assign e -1 >> 60
dq d, e
%assign f 7 / 2 * 2 + 7 % 3 + -7 // 2 + -7 %% 2
dd f
%assign g (3 > 2) + (2 >= 2) + (1 < 0) + (1 <= 1) + (1 = 1) + (1 == 2) + (1 != 2) + (1 <> 1) + (3 <=> 2) + (2 <=> 2)
dd g
%assign h (1 && 0) + (1 || 0) + (1 ^^ 1) + !5 + ~0
dd h
%assign i 1 ? 10 : 20
%assign j 0 ? 10 : 0 ? 1 : 2
dd i, j
%assign k 0x7fffffffffffffff + 1
dq k
%assign l -0x8000000000000000 // 2
dq l
%assign m 'abcdefgh'
dq m
%define N 5
%assign n N*N+N
%assign o ((((1+2)*3)-4)/5)
%assign p 5
%assign p p+1
dd n, o, p
%assign q -0x8000000000000000 / 3
%assign r -9 % 4
%assign s 1 << 64
dq q, r, s
`,
    },
  },
  {
    name: 'single-line macro parameters, pasting, greedy, =, &, && and ! parameters',
    files: {
      'main.asm': String.raw`%define A 1
%define B A+A
%define C(x) (x*B)
%define E(x) C(x)+C(x)
db A, B, C(2), E(3)
%define cat(x,y) x %+ y
db cat(ab, cd), cat(1, 2), cat(foo,A)
%define str(x) %str(x)
db str(hello world)
%define greedy(a, b+) a: b
db greedy(1, 2, 3, 4)
%define ev(=x) x
db ev(2*3+4)
%define q(&x) x
db q(hello), q('a b')
%define qq(&&x) x
db qq('quoted'), qq(not quoted)
%define nostrip(!x) [x]
db nostrip( {a, b} )
%define empty()
db empty()
%idefine Case 7
db case, CASE, Case
%define Sens 8
db sens, SENS, Sens
%undef A
db A
%define G G+1
db G
%define H1 H2
%define H2 H1
db H1, H2
%define paren(x) <x>
db paren((a,b)), paren({a,b}), paren(({a},b))
%define spc(a,b) [a|b]
db spc( 1 , 2 ), spc(1,2), spc( {1} , {2} )
%define X(a,b) a-b
db X(1,(2,3)), X(1,{2,3}), X( 1 , ( 2 , 3 ) ), X(1, (2)), X(1,(2) )
%define Y(a) [a]
db Y( (1) ), Y((1)), Y( x y ), Y({ x })
%define ARGS 1,2
%define F(a,b) a+b
%define viaG F(ARGS)
db viaG
%define conds(a, b) a %, b
db conds(1, 2), conds(1,), conds(,2)
%define rec(x) %? x %??
db rec(1)
`,
    },
  },
  {
    name: 'preprocessor functions',
    files: {
      'main.asm': String.raw`db %eval(1+2, 3*4)
db %str(a b  , c)
db %strlen("abc")
db %substr("hello", 2, 3)
db %num(255,4,16), %num(5), %num(-1, 2, 2)
%define s(x) %strcat('a', x)
db s("b")
db %cond(1, yes, no) %cond(0, yes, no) %cond(0, yes)
db %isdef(foo) %isnum(1) %isnstr(1)
db %count(1,2,3) %abs(-5)
db %tok('mov eax, 1')
`,
    },
  },
  {
    name: 'multi-line macros: counts, defaults, greedy, rotate, braces and labels',
    files: {
      'main.asm': String.raw`%macro zero 0
  nop
%endmacro
%macro one 1
  db %1
%endmacro
%macro two 2
  db %1, %2
%endmacro
%macro range 1-3 10, 20
  db %1, %2, %3, %0
%endmacro
%macro plus 1+
  db %1
%endmacro
%macro plus2 2+
  db %2, %1
%endmacro
%macro star 1-*
  db %0
  %rep %0
    db %1
    %rotate 1
  %endrep
%endmacro
zero
one 5
two 1, 2
range 1
range 1, 2
range 1, 2, 3
plus 1, 2, 3
plus2 a, b, c, d
star x, y, z
star q
one {a, b}
two {a, b}, {c}
lbl: zero
lbl2 one 7
lbl3:one 8
.local: two 3,4
%macro reversed 2-*
  %rep %0
    %rotate -1
    db %1
  %endrep
%endmacro
reversed 1, 2, 3, 4
%macro params 3
  db %{1:3}
  db %{3:1}
  db %{-1:-3}
  db %{2:2}
%endmacro
params a, b, c
%macro cc 2
  j%+1 %2
  j%-1 %2
  set%+1 al
%endmacro
cc z, l1
cc ae, l2
cc g, l3
%macro names 0
  db '%?', '%??'
  dd %?, %??
%endmacro
names
NAMES
%imacro ci 0
  db 1
%endmacro
ci
CI
%macro defpar 0-1 {1, 2}
  db %1
%endmacro
defpar
defpar 3
%macro label00 0
%00: db 1
%endmacro
here label00
there: label00
%macro m 1-3 x, y
 db %1, %2, %3 ; %0
 dd %0
%endmacro
m {1, 2}, {}, 4
%macro p1 1
 db %1
%endmacro
p1 {}
p1 { }
%define COMMA ,
%macro twoargs 2
 db %1-%2
%endmacro
twoargs 1 COMMA 2
%macro defs 1-3 a, b
 db %1, %2, %3
%endmacro
defs x, y
%macro count 0-*
  dd %0
%endmacro
count
count a
count a,b
`,
    },
  },
  {
    name: 'macro-local labels, nested definitions, %exitmacro, %unmacro and non-recursion',
    files: {
      'main.asm': String.raw`%macro lab 0
%%top:
  jmp %%top
%%end:
%endmacro
lab
lab
%macro outer 1
  %macro inner%1 0
    db %1
  %endmacro
  inner%1
%endmacro
outer 5
inner5
%macro ex 1
  %if %1
    %exitmacro
  %endif
  db 'not exited'
%endmacro
ex 0
ex 1
ex 0
%macro self 1
  self %1
%endmacro
self 3
%macro push 1
  push %1
  push %1
%endmacro
push eax
%unmacro push 1
push ebx
%macro nested 1
  %define NEST %1
  db NEST
%endmacro
nested 9
db NEST
%macro fwd 1+
  two_ %1
%endmacro
%macro two_ 2
  dd %1, %2
%endmacro
fwd 1, 2
%macro ctxm 0
  %push mctx
  %$l: jmp %$l
  %pop
%endmacro
ctxm
ctxm
`,
    },
  },
  {
    name: 'conditionals of every kind',
    files: {
      'main.asm': String.raw`%define X 1
%ifdef X
  db 'X defined'
%endif
%ifndef Y
  db 'Y not defined'
%endif
%if X = 1
  db 1
%elif X = 2
  db 2
%else
  db 3
%endif
%if 0
  %error should not appear
  %if 1
    db 'nested'
  %endif
%elif 0
  db 'no'
%elifdef X
  db 'elifdef'
%else
  db 'else'
%endif
%ifidn foo, foo
  db 'idn'
%endif
%ifidn foo, FOO
  db 'bad'
%endif
%ifidni foo, FOO
  db 'idni'
%endif
%ifidn 'a', "a"
  db 'strings equal'
%endif
%ifidn a b, a  b
  db 'ws ignored'
%endif
%ifnum 5
  db 'num'
%endif
%ifnum -5
  db 'num neg'
%endif
%ifstr 'x'
  db 'str'
%endif
%ifid x
  db 'id'
%endif
%iftoken x y
  db 'bad'
%endif
%ifempty
  db 'empty'
%endif
%ifnempty x
  db 'not empty'
%endif
%macro mm 2
%endmacro
%ifmacro mm 2
  db 'ifmacro 2'
%endif
%ifmacro mm 3
  db 'bad'
%endif
%ifnmacro nosuch
  db 'nmacro'
%endif
%ifn 0
  db 'ifn'
%endif
%if 0
%elifn 0
  db 'elifn'
%endif
%push foo
%ifctx foo
  db 'ctx'
%endif
%pop
%IF 1
  db 'upper-case directive'
%ENDIF
`,
    },
  },
  {
    name: '%rep with %exitrep, nesting and local labels inside macros',
    files: {
      'main.asm': String.raw`%assign i 0
%rep 5
  %if i = 3
    %exitrep
  %endif
  db i
  %assign i i+1
%endrep
%rep 2
  %rep 3
    nop
  %endrep
  hlt
%endrep
%rep 0
  db 'never'
%endrep
%macro rpt 1
  %rep %1
    db %1
  %endrep
%endmacro
rpt 3
%macro loc 0
  %rep 2
    %%x: db 0
  %endrep
%endmacro
loc
%rep 2
%macro inrep 0
  db 'defined in rep'
%endmacro
%endrep
inrep
`,
    },
  },
  {
    name: 'struc, istruc, at, iend, align, sections and the other standard macros',
    files: {
      'main.asm': String.raw`bits 32
struc point
  .x: resd 1
  .y: resd 1
endstruc
struc rect, 8
  .tl: resb point_size
  .br resb point_size
endstruc
section .data
global p1, r1
p1: istruc point
  at .x, dd 1
  at point.y, dd 2
iend
r1: istruc rect
  at rect.tl, dd 1, 2
  at .br
iend
  mov eax, [ebx + point.y]
section .text
  align 4
  align 8, db 0xcc
  alignb 16
  alignb 4, resb 1
absolute 0x200
buf: resb 16
segment .bss
__SECT__
use16
use32
cpu 386
extern a, b
default rel
org 0x7c00
sectalign 16
sectalign off
align 4
%pragma foo bar
`,
    },
  },
  {
    name: 'context stack and string directives',
    files: {
      'main.asm': [
        '%push myctx',
        '%define %$local 7',
        '%$lbl: db %$local',
        '%push',
        '%$$up: db %$$local',
        '%pop',
        '%repl other',
        '%ifctx other',
        "db 'replaced'",
        '%endif',
        '%pop',
        '%defstr s1 hello   world  , x',
        "%defstr s2 'q'",
        'db s1, s2',
        "%deftok t1 'mov eax, 1'",
        't1',
        "%strlen l1 'abcdef'",
        `%strlen l2 ${BQ}a\\nb${BQ}`,
        'db l1, l2',
        "%substr sub1 'abcdef' 2",
        "%substr sub2 'abcdef' 2, 3",
        "%substr sub3 'abcdef' -3, 2",
        "%substr sub4 'abcdef' 2, -1",
        "%substr sub5 'abcdef' 10",
        'db sub1, sub2, sub3, sub4, sub5',
        `%strcat sc1 'ab', "cd", ${BQ}e\\tf${BQ}`,
        "%strcat sc2 'a' 'b'",
        'db sc1, sc2',
        '%define ind 5',
        "%define ind5 'five'",
        'db %[ind], ind%[ind]',
        'db __LINE__, __?LINE?__',
        '',
      ].join('\n'),
    },
  },
  {
    name: 'kernel idioms: ISR and IRQ stubs, a Multiboot header, GDT entries, a syscall macro',
    files: {
      'main.asm': String.raw`%macro ISR_NOERRCODE 1
  global isr%1
  isr%1:
    cli
    push byte 0
    push byte %1
    jmp isr_common_stub
%endmacro
%macro ISR_ERRCODE 1
  global isr%1
  isr%1:
    cli
    push byte %1
    jmp isr_common_stub
%endmacro
%macro IRQ 2
  global irq%1
  irq%1:
    cli
    push byte 0
    push byte %2
    jmp irq_common_stub
%endmacro
ISR_NOERRCODE 0
ISR_ERRCODE 8
IRQ 0, 32
IRQ 15, 47
%assign i 0
%rep 3
  dd isr %+ i
  %assign i i+1
%endrep
%define MB_MAGIC 0x1BADB002
%define MB_FLAGS (1<<0 | 1<<1)
%define MB_CHECKSUM -(MB_MAGIC + MB_FLAGS)
section .multiboot
align 4
  dd MB_MAGIC
  dd MB_FLAGS
  dd MB_CHECKSUM
section .bss
align 16
stack_bottom:
  resb 16384
stack_top:
section .text
global _start:function (_start.end - _start)
_start:
  mov esp, stack_top
  extern kernel_main
  call kernel_main
  cli
.hang: hlt
  jmp .hang
.end:
%macro gdt_entry 4
  dw %2 & 0xffff
  dw %1 & 0xffff
  db (%1 >> 16) & 0xff
  db %3
  db ((%2 >> 16) & 0x0f) | (%4 << 4)
  db (%1 >> 24) & 0xff
%endmacro
gdt:
  gdt_entry 0, 0, 0, 0
  gdt_entry 0, 0xfffff, 0x9a, 0xc
.pointer:
  dw $ - gdt - 1
  dd gdt
%define SYS_WRITE 4
%macro syscall 1-*
  %assign n 0
  %rep %0 - 1
    %rotate 1
    push %1
    %assign n n+1
  %endrep
  %rotate 1
  mov eax, %1
  int 0x80
  add esp, n*4
%endmacro
syscall SYS_WRITE, 1, msg, len
msg db "hello", 10
len equ $ - msg
%macro print 1
  %strlen %%len %1
  %%str: db %1
  mov ecx, %%len
%endmacro
print 'hello'
`,
    },
  },
  {
    name: 'macro idioms: growing lists, optional parameters, %[...] names, %+ labels, nested contexts',
    files: {
      'main.asm': String.raw`%xdefine LIST
%macro add_item 1
  %xdefine LIST LIST %1,
%endmacro
add_item a
add_item b
add_item c
db LIST 0
%macro opt 0-1
  %ifempty %1
    db 'none'
  %else
    db %1
  %endif
  %ifidn %1, {}
  %endif
%endmacro
opt
opt 5
%macro vars 1-*
  %assign %%i 0
  %rep %0
    %[%1]_idx equ %%i
    %assign %%i %%i + 1
    %rotate 1
  %endrep
%endmacro
vars alpha, beta, gamma
%macro lbl 1
  label_ %+ %1:
  %1 %+ _end:
%endmacro
lbl 7
lbl x
%push outer
%define %$v 1
%push inner
%define %$v 2
db %$v, %$$v
%pop
%pop
%define CONCAT(a,b) a%+b
dd CONCAT(12, 34), CONCAT(x, 1)
%macro loop_test 0
  %assign j 0
  %rep 3
    %%l%[j]: db j
    %assign j j+1
  %endrep
%endmacro
loop_test
%macro twice 1
  %rep 2
    %1
  %endrep
%endmacro
twice nop
twice {db 1, 2}
%define NUM 10
%if NUM > 5 && NUM < 20
  db 'in range'
%endif
%ifdef NOTDEF
%elifndef ALSO
  db 'elifndef'
%endif
%ifidni %?, x
%endif
`,
    },
  },
  {
    name: '%include, nested, with an include path and an include guard',
    files: {
      'main.asm': String.raw`%include "defs.inc"
db VALUE
%include "defs.inc"
%include "lib/util.inc"
util 3
%include "deep.inc"
`,
      'defs.inc': String.raw`%ifndef DEFS_INC
%define DEFS_INC
%define VALUE 42
db 'defs'
%endif
`,
      'lib/util.inc': String.raw`%macro util 1
  times %1 nop
%endmacro
%include "helper.inc"
`,
      'lib/helper.inc': String.raw`db 'helper'
`,
      'inc/deep.inc': String.raw`db 'from the include path'
`,
    },
    // nasm resolves %include against its working directory and -I paths, ours against the
    // including file's directory first: -I lib/ makes nasm find lib/helper.inc the same way.
    nasmArgs: ['-I', 'lib/', '-I', 'inc/'],
    includePaths: ['inc'],
  },
];

describe('preprocessor output matches nasm -E', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const main = c.main ?? 'main.asm';
      const expected = nasmE(c.files, main, c.nasmArgs);
      const r = ours(c.files, main, c.includePaths);
      expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      expect(r.lines.map((l) => normalize(l.text)).filter((l) => l !== '')).toEqual(expected);
    });
  }
});

/** Cases whose meaning depends on the assembler's state, which `nasm -E` does not have. */
const BIN_CASES: Case[] = [
  {
    name: 'character constants follow the current BITS (4 bytes, 8 in 64-bit mode)',
    files: {
      'main.asm': String.raw`%assign a 'abcdefgh'
dq a
[bits 64]
%assign b 'abcdefgh'
dq b
bits 32
%assign c 'abcdefgh'
dq c
`,
    },
  },
  {
    name: '__BITS__ and __PTR__',
    files: {
      'main.asm': String.raw`db __BITS__
bits 32
db __BITS__
mov eax, __PTR__ [ebx]
[bits 16]
db __?BITS?__
`,
    },
  },
  {
    name: 'a small kernel with structures, macros, alignment and sections',
    files: {
      'main.asm': String.raw`bits 32
org 0x100000
%define COM1 0x3f8
struc idt_entry
  .offset_lo: resw 1
  .selector:  resw 1
  .zero:      resb 1
  .flags:     resb 1
  .offset_hi: resw 1
endstruc
%macro outb 2
  mov dx, %1
  mov al, %2
  out dx, al
%endmacro
%macro ISR 1
isr%1:
  push dword %1
  jmp isr_common
%endmacro
section .text
start:
  outb COM1, 'A'
  mov ecx, idt_entry_size * 32
%assign n 0
%rep 4
  ISR n
  %assign n n+1
%endrep
isr_common:
  hlt
  align 16
idt:
  istruc idt_entry
    at .offset_lo, dw 0x1234
    at .selector, dw 0x08
    at .flags, db 0x8e
    at .offset_hi, dw isr3 - isr0
  iend
section .data
  align 8, db 0
msg: db 'hello', 0
`,
    },
  },
];

describe('nasm assembles our output to the same bytes as the original', () => {
  for (const c of BIN_CASES) {
    it(c.name, () => {
      const main = c.main ?? 'main.asm';
      const r = ours(c.files, main);
      expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      const text = r.lines.map((l) => l.text).join('\n') + '\n';
      expect(nasmBin({ 'pre.asm': text }, 'pre.asm')).toEqual(nasmBin(c.files, main));
    });
  }
});
