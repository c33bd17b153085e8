/**
 * The assembler against nasm 2.16.01: a corpus of small sources on expressions, data,
 * labels, directives, sections and the pass logic, each assembled by both tools. Both must
 * succeed with the same bytes and the same listing columns (address and hex), or both must
 * report errors on the same lines.
 */
import { describe, expect, it } from 'vitest';
import { errorLines, type Files, hex, listingColumns, runNasm, runVtscope } from './assemblerOracle';

interface Case { name: string; source: string; files?: Files }

const EXPRESSIONS: Case[] = [
  { name: 'number forms', source: 'dd 0x10, 10h, $10, 0h10, 10q, 10o, 0q10, 0o10, 1010b, 0b1010, 1010y, 0y1010, 10d, 0d10, 10t, 0t10, 1_000, 0x_ff_ff\n' },
  { name: 'character constants', source: "dd 'a', 'ab', \"abc\", `a\\n`, 'abcd'\nmov eax, 'ABCD'\n" },
  { name: 'precedence', source: 'dd 1+2*3, (1+2)*3, 1|2^3&4, 1<<2+3, 10-4-3, 100/10/5, 2*3%4, -2*-3, ~0+1, !5+!0\n' },
  { name: 'unsigned and signed division', source: 'dd -4/2, -4//2, -7 % 3, -7 %% 3, 7 // -2, 7 %% -2\n' },
  { name: 'shifts', source: 'dd 1<<33>>1, -8>>1, -8>>>1, -8<<<1, 1<<31\ndq 1<<40, -1>>1, 0x8000000000000000>>>63\n' },
  { name: 'comparisons and logic', source: 'dd 5 == 5, 5 = 4, 5 <> 4, 5 != 5, 3<4, 4<=4, 5>4, 4>=5, 3 <=> 4, 4 <=> 4, 5 <=> 4\ndd 1 && 0, 1 || 0, 1 ^^ 1, 0 ^^ 1, 2 && 3\n' },
  { name: 'conditional operator', source: 'dd 1 ? 2 : 3, 0 ? 2 : 3, (1 ? 4 : 5) + 1\n' },
  { name: '$ and $$', source: 'db 1, 2\ndd $, $$, $-$$\nhere: dd here-$$, ($-$$)/4\n' },
  { name: 'forward references', source: 'dd later - start, later\nstart: times 3 db 0\nlater: dd start\nx equ later - start\ndb x\n' },
  { name: 'equ chain defined out of order', source: 'a equ b + 1\nb equ c * 2\nc equ d - 3\nd: db a, b, c\n' },
  { name: '64-bit values', source: 'dq 0x123456789abcdef0, -2, 18446744073709551615, 9223372036854775807\ndq 1 << 63, (1 << 63) >> 62\n' },
  { name: 'byte data bounds warnings', source: 'db 255, -128, -256, 300, -257\ndw 65535, -65536, 70000\ndd 0xffffffff, -0x80000000, 0x100000000\n' },
  { name: 'large constant wraps', source: 'db 0x1ffffffffffffffff\ndd 99999999999999999999\n' },
  { name: 'floating-point data', source: 'dd 1.0, -2.5e3, 3., 0.1, 1e-10, 0x1.8p1\ndq 1.5, -0.0, 3.141592653589793\ndw 1.5, -2.0, 65504.0\n' },
];

const DATA: Case[] = [
  { name: 'strings in all quote styles', source: 'db "abc", \'def\', `g\\th\\x41\\101\\u00e9\\e`\ndw "abc"\ndd "abcde"\ndq "a"\n' },
  { name: 'string padding mixed with numbers', source: 'dw "a", 1, "bcd", 2\ndd "ab", 3\n' },
  { name: 'uninitialized data', source: 'db 1, ?, 2\ndw ?\ndd ?, 5\n' },
  { name: 'times with data', source: 'times 3 db 1, 2\ntimes 0 db 9\ntimes 2 dd $\ntimes 4 dw $-$$\n' },
  { name: 'times with a $-dependent count', source: 'db 1, 2, 3\ntimes 16-($-$$) db 0x90\ndb 0xaa\n' },
  { name: 'boot sector padding', source: 'bits 16\norg 0x7c00\nstart: jmp start\ntimes 510-($-$$) db 0\ndw 0xaa55\n' },
  { name: 'reserve in text is zeroed', source: 'db 1\nresb 3\nresw 2\nresd 1\nresq 1\ndb 2\n' },
  { name: 'reserve under times', source: 'times 3 resb 2\ndb 1\ntimes 2 resd 3\ndb 2\n' },
  { name: 'long data rows in the listing', source: 'db "a long string that wraps over several listing rows", 0\ndd 1, 2, 3, 4, 5, 6, 7\n' },
  { name: 'empty db', source: 'db\ndb 1\n' },
];

const LABELS: Case[] = [
  { name: 'local labels', source: 'main: jmp .end\n.loop: dec eax\njnz .loop\n.end: ret\nother: jmp .loop\n.loop: jmp main.loop\n' },
  { name: 'labels without colons', source: 'bits 32\nfoo nop\nbar\nbaz db 1\ndd foo, bar, baz\n' },
  { name: 'special ..@ labels do not change the local scope', source: 'bits 32\nf: ..@x: .a: nop\n..@y: jmp .a\njmp ..@x\n' },
  { name: 'instruction words as labels', source: 'bits 32\nnop: db 1\ndb: db 2\njmp nop\n' },
  { name: 'identifiers with $ and odd characters', source: 'bits 32\n$eax: dd $eax\na.b?c@d: dd a.b?c@d\n_x#y~z: dd _x#y~z\n' },
  { name: 'label on an equ line does not open a local scope', source: 'bits 32\nf: nop\nK equ 3\n.l: jmp .l\ndd f.l\n' },
];

const DIRECTIVES: Case[] = [
  { name: 'bits and use', source: 'bits 16\nmov ax, bx\nbits 32\nmov ax, bx\nuse16\nmov eax, 1\nuse32\nmov eax, 1\n[bits 16]\npush word 1\n' },
  { name: 'org', source: 'org 0x100\nstart: dd start, $, $$\njmp start\n' },
  { name: 'org as an expression', source: 'BASE equ 0x8000\norg BASE + 0x10\nx: dw x\n' },
  { name: 'prefixes alone', source: 'bits 32\nrep\nlock\nes\nfs\no16\na16\nbits 16\no32\na32\no16\n' },
  { name: 'segment overrides', source: 'bits 32\nmov eax, [es:ebx]\nmov eax, es:[ebx]\nmov eax, [fs:0x10]\nes movsb\nmov ax, [gs:bx+si]\n' },
  { name: 'far pointers', source: 'bits 32\njmp 0x08:start\nstart: call 0x10:0x1234\njmp far [eax]\ncall far [ebx]\nbits 16\njmp 0x08:start\njmp dword 0x08:start\n' },
  { name: 'effective address forms', source: 'bits 32\nmov ecx, [eax+ebx]\nmov ecx, [ebx+eax]\nmov ecx, [eax*1+ebx]\nmov ecx, [ebx*1+eax]\nmov ecx, [eax*2]\nmov ecx, [eax*2+ebx]\nmov ecx, [esp+eax]\nmov ecx, [eax+esp]\nmov ecx, [ebp+eax]\nmov ecx, [eax+ebp]\nmov ecx, [eax+eax]\nmov ecx, [eax*3]\nmov ecx, [eax*5+4]\nmov ecx, [ebp]\nmov ecx, [nosplit eax*2]\nmov ecx, [eax*1]\nmov ecx, [nosplit eax*1]\nmov ecx, [ebx+4+eax-4]\nmov ecx, [ebx-ebx+eax]\nmov ecx, [esi*1+ebp]\nmov ecx, [ebp*1+esi]\nmov ecx, [byte eax]\nmov ecx, [dword eax]\nmov ecx, [eax+ebx*4+0x12345]\n' },
  { name: 'EA hints after adding numbers', source: 'bits 32\nl4: nop\nl2: nop\nlea esp, [edi+ecx*1+(l2 - l4)]\nlea esp, [edi+ecx*1+1]\nlea esp, [edi+ecx*1+(1+1)]\nlea esp, [edi+ecx+2-2]\nlea esp, [4+4+edi+ecx]\nmov eax, [nosplit eax*2+1+1]\n' },
  { name: '16-bit effective addresses', source: 'bits 16\nmov ax, [bx+si]\nmov ax, [si+bx]\nmov ax, [bp]\nmov ax, [bx+di+5]\nmov ax, [di]\nmov ax, [0x1234]\nmov ax, [a32 eax]\nmov eax, [ebx+ecx*2]\n' },
  { name: 'relocatable operands use full-size fields', source: 'bits 32\nlbl: dd 0\nmov eax, [ebx+lbl]\nmov eax, [ebx+lbl-$$]\npush lbl\npush lbl-$$\nadd eax, lbl\nmov eax, [ebx+K]\nK equ 4\npush KK\nKK equ lbl\ncmp byte [lbl], 1\nmov [lbl], al\n' },
  { name: 'strict and size keywords', source: 'bits 32\npush strict dword 1\npush dword 1\npush byte 1\npush word 1\nadd eax, strict dword 1\nimul eax, ebx, strict dword 2\n' },
  { name: 'sections', source: 'bits 32\nsection .text\nstart: call other\njmp other\njmp start\nmov eax, [other+4]\nsection .data\nother: dw other\ntimes 4 dd other\nsection .bss\nbuf: resb 4\nresb 12\nsection .text\nmov eax, buf\ndd section..text, section..data\n'.replace(/section\.\./g, 'section.') .replace('dd section.text, section.data', 'dd buf, other') },
  { name: 'section start addresses', source: 'section .text\ndb 1\nsection .data\nd: db 2\nsection .bss\nb: resb 1\nsection .text\ndd d, b, section..data.start, section..text.vstart\n'.replace(/section\.\./g, 'section.') },
  { name: 'section align, start and vstart', source: 'org 0x1000\nsection .text\nstart: db 1\nsection .a align=16\na: db 2\nsection .b start=0x1100\nb: db 3\nsection .c vstart=0x9000\nc: db 4\ndd c\nsection .text\ndd a, b, c, start\n' },
  { name: 'follows and vfollows', source: 'section .text\ndb 1\nsection .two follows=.three\ntwo: db 2\ndd two\nsection .three\nthree: db 3\ndd three\nsection .four vfollows=.two\nfour: dd four\n' },
  { name: 'nobits and progbits attributes', source: 'section .text\ndb 1\nsection .zero nobits\nz: resb 10\nsection .data progbits\nd: db 2\ndd z, d\nsection .bss\nb: resd 1\nsection .data\ndd b\n' },
  { name: 'section attributes as expressions', source: 'ALIGNMENT equ 32\nsection .text\ndb 1\nsection .a align=ALIGNMENT\ndb 2\nsection .b align=(1 << 6)\ndb 3\nsection .c start=(0x100 + 0x40)\ndb 4\n' },
  { name: 'sections ordered by start address', source: 'section .a start=0x200\ndb 1\nsection .b start=0x100\ndb 2\nsection .c\ndb 3\nsection .text\ndb 4\n' },
  { name: 'nobits sections with start and vfollows', source: 'section .text\ndb 1\nsection .n1 nobits start=0x8000\nx: resb 4\nsection .n2 nobits\ny: resb 2\nsection .n3 nobits vfollows=.n1\nz: resb 1\nsection .text\ndd x, y, z\n' },
  { name: 'vstart with align, valign', source: 'section .text\ndb 1\nsection .v vstart=0x1000 align=16\na: db 2\ndd a\nsection .w valign=32\nb: db 3\ndd b\n' },
  { name: 'overlapping sections are an error', source: 'section .a start=0x10\ntimes 0x20 db 1\nsection .b start=0x20\ndb 2\n' },
  { name: 'segment is section', source: 'segment .text\ndb 1\nsegment .data\ndb 2\n' },
  { name: 'empty sections', source: 'section .text\nsection .data\nsection .x\ndb 1\nsection .y\n' },
  { name: 'sectalign and align', source: 'bits 32\nnop\nalign 4\nnop\nalign 16, db 0xcc\nsection .data\ndb 1\nsectalign 32\nsection .text\nalign 8\ndb 2\n' },
  { name: 'alignb in bss and text', source: 'section .bss\nresb 1\nalignb 16\nb: resb 1\nalignb 4\nc: resd 1\nsection .text\ndb 1\nalignb 4\ndb 2\ndd b, c\n' },
  { name: 'absolute and struc', source: 'struc point\n.x: resd 1\n.y: resd 1\n.name: resb 10\nendstruc\nbits 32\nmov eax, [ebx + point.y]\ndd point_size, point.name\np: istruc point\nat point.x, dd 1\nat point.y, dd 2\nat point.name, db "hi"\niend\ndd p, $-p\n' },
  { name: 'absolute at a number and at a label', source: 'absolute 0x500\nv1: resw 1\nv2: resd 2\nsection .text\nbits 32\nmov ax, [v1]\nmov eax, [v2 + 4]\nbuf: db 0\nabsolute buf\nb1: resb 1\nb2: resb 1\nsection .text\ndd b1, b2\n' },
  { name: 'warning directive', source: '[warning -zeroing]\nresb 2\n[warning +zeroing]\nresb 1\n[warning push]\n[warning -number-overflow]\ndb 300\n[warning pop]\ndb 300\n' },
  { name: 'incbin', source: 'db 1\nincbin "data.bin"\nincbin "data.bin", 2\nincbin "data.bin", 1, 3\nincbin "data.bin", 100\ntimes 2 incbin "data.bin", 0, 2\n', files: { 'data.bin': Uint8Array.from([10, 11, 12, 13, 14, 15]) } },
  { name: 'include and macros', source: '%include "defs.inc"\nbits 32\nstart: twice 5\nmov eax, VALUE\n', files: { 'defs.inc': '%define VALUE 42\n%macro twice 1\n  db %1\n  db %1\n%endmacro\n' } },
  { name: 'global and cpu are accepted', source: 'global start\ncpu 686\nstart: nop\n' },
  { name: 'list off and on', source: 'db 1\n[list -]\ndb 2\nnop\n[list +]\ndb 3\n' },
  { name: 'addresses in dq and dw', source: 'org 0x100\nx: dq x, x+1\ndw x\ndd x-$$\n' },
  { name: 'self-relative data across sections', source: 'section .text\ndd other - $\ndw other - $\nsection .data\nother: db 0\ndd $ - other\n' },
  { name: 'section labels of a nobits section', source: 'section .text\ndb 1\nsection .bss\nresb 8\nsection .data\ndd section.bss.start, section.bss.vstart, section.data.start\n' },
  { name: 'times with relative branches', source: 'bits 32\ntimes 3 jmp $\ntimes 2 jmp short t\nt: nop\ntimes 2 call t\n' },
  { name: 'instruction names as symbols', source: 'bits 32\nmov: dd mov\npush: jmp push\n' },
];

const PASSES: Case[] = [
  { name: 'jumps at the short/near boundary', source: 'bits 32\nl1: jmp l2\ntimes 126 nop\nl2: jmp l1\nl3: jmp l4\ntimes 127 nop\nl4: jmp l3\nb1: times 125 nop\njmp b1\n' },
  { name: 'conditional jumps in 16-bit code', source: 'bits 16\njz far_away\ntimes 200 nop\nfar_away: jnz far_away\nloop far_away\n' },
  { name: 'a chain of jumps that grow each other', source: `bits 32\n${Array.from({ length: 40 }, (_, i) => `a${i}: jmp a${i + 1}\ntimes 3 nop`).join('\n')}\na40: times 100 nop\n${Array.from({ length: 40 }, (_, i) => `jmp a${i}`).join('\n')}\n` },
  { name: 'jump to an absolute address or another section is near', source: 'bits 32\norg 0x100\njmp 0x102\njz 0x104\nx equ $\njmp x\njmp $\nloop $\njmp other\nsection .data\nother: ret\n' },
  { name: 'explicit short and near', source: 'bits 32\njmp short t\njmp near t\nt: jmp short $\njz near $\n' },
  { name: 'forward memory displacement shrinks to disp8', source: 'bits 32\nmov eax, [ebx+OFF]\nmov eax, [ebp+OFF2]\nOFF equ 8\nOFF2 equ 0x100\n' },
  { name: 'forward immediate', source: 'bits 32\nadd eax, V\npush V\nshl eax, ONE\nimul eax, V\nV equ 1000\nONE equ 1\n' },
  // Found by comparing random programs: `[ebp*2+(l5 - l1)]` with both labels ahead is [ebp*2+0]
  // in nasm's first pass (the unknowns cancel), and the passes then settle on a disp8.
  { name: 'forward references cancel in the first pass', source: `bits 16\nlea ecx, [ebx+edi*1+l6]
l0:
imul eax, edx, C3
cmp word [ebp*2+(l5 - l1)], 127
jmp near l0
test al, (32767 >> 1)
l7:
test ah, -1
inc dword [ebp+esi*4+127]
jz l1
jmp l0
times 46 nop
l5:
l4:
times 4 nop
C1 equ 100
shl ecx, 1
times 51 nop
l6:
lea ebx, [edx+eax*2+C3]
push 305419896
test ah, C3
call l0
shl ebx, 2
loop $
times 3 dd $
C3 equ l0-l4
test dl, C1
dd "ab", (1 % 1), 255
align 16
shl esp, 1
shl edi, 1
jmp near l7
l1:
` },
  { name: 'size depends on a label after it', source: 'bits 32\nstart: times (end - start) > 100 ? 1 : 2 nop\nmov eax, [ebx + end - start]\nend:\n' },
];

function compare(c: Case): void {
  const files: Files = { 'main.asm': c.source, ...c.files };
  const want = runNasm(files);
  const got = runVtscope(files);
  if (!want.ok) {
    expect(got.ok, `nasm failed:\n${want.stderr}`).toBe(false);
    expect(errorLines(got)).toEqual(expect.arrayContaining(want.errors));
    return;
  }
  expect(got.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  expect(hex(got.binary)).toBe(hex(want.bytes));
  expect(listingColumns(got.listing())).toEqual(listingColumns(want.listing));
}

for (const [group, cases] of Object.entries({ expressions: EXPRESSIONS, data: DATA, labels: LABELS, directives: DIRECTIVES, passes: PASSES })) {
  describe(`same bytes and listing as nasm: ${group}`, () => {
    for (const c of cases) it(c.name, () => compare(c));
  });
}
