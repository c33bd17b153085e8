// The disassembler against nasm's own tools. A corpus of every opcode form the CPU defines is
// assembled by nasm; each instruction is disassembled by ndisasm (nasm's disassembler, the
// reference for the text) and by ours, and the two texts must agree after the normalisation
// below. Then our text goes back through nasm and must give the same bytes (round trip).
//
// Normalisation (applied to both texts):
//  1. The distance keywords `short` and `near` are dropped: ndisasm writes `short` on JMP rel8
//     only and `jz word` for a 16-bit Jcc, which nasm rejects; we write `short` on every
//     rel8 jump, where nasm would otherwise assemble a plain address as rel32, and
//     `jz near word`.
//  2. `strict ` is dropped, and so is a `word `/`dword ` keyword before an immediate after a
//     comma or PUSH: we write `strict dword` where nasm would otherwise choose the
//     sign-extended byte form (81 -> 83, 68 -> 6A, 69 -> 6B), ndisasm writes nothing there
//     for 81 and `dword` for 68 and 69.
//  3. ndisasm -b 16 writes `dword` into every memory operand with a SIB byte
//     (`[dword eax+ebx*2]`), which nasm reads as a 32-bit displacement: dropped.
//
// A corpus line is nasm source, then optionally `| ndisasm: why` (ndisasm is known to print
// something else, and the test checks that it still does) and `| nasm: why` (nasm cannot give
// these bytes back from any text, so no round trip).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeFrom } from '../../src/cpu/decoder';
import { disassemble } from '../../src/cpu/disasm';
import { Insn, type OpDef } from '../../src/cpu/insn';
import { OPCODE_MAP } from '../../src/cpu/opcodeMap';
import { nasm } from '../support/nasm';

interface Entry { source: string; ndisasm?: string; nasm?: string }

function parse(lines: string[]): Entry[] {
  return lines.map((line) => {
    const [source, ...notes] = line.split(' | ');
    const e: Entry = { source };
    for (const n of notes) {
      const m = /^(ndisasm|nasm): (.+)$/.exec(n);
      if (m === null) throw new Error(`corpus line "${line}": a note must be "ndisasm: why" or "nasm: why"`);
      e[m[1] as 'ndisasm' | 'nasm'] = m[2];
    }
    return e;
  });
}

const hexByte = (b: number): string => `0x${b.toString(16).padStart(2, '0')}`;
const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
const R32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];

const NO_82 = 'ndisasm: no 82 opcode | nasm: encodes the 80 form';
const ALIAS = 'ndisasm: no undocumented alias | nasm: encodes the documented form';

function corpus32(): string[] {
  const c: string[] = [];
  ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'].forEach((op, n) => {
    for (const operands of [
      'bl, cl', '[ebx+esi*4+0x12345678], dl', 'ecx, edx', '[bp+si+4], cx', 'dl, [ebx]', 'ecx, [esp+8]', 'cx, [0x1234]',
      'al, 0x12', 'ax, 0x1234', 'eax, 0x12345678', 'eax, strict dword 1', 'ax, strict word -1', 'bl, 0x80',
      'byte [ebx], 0x12', 'word [ebx], 0x1234', 'dword [ebx], 0x12345678', 'word [ebx], -2', 'dword [0x1234], 5',
      'ecx, -1', 'ecx, strict dword 1', 'edx, 0xfffff000', 'dword [ebp-8], strict dword -128',
    ]) c.push(`${op} ${operands}`);
    c.push(`db 0x82, ${hexByte(0xc3 | (n << 3))}, 0x12 | ${NO_82}`);
    c.push(`db 0x82, ${hexByte(0x83 | (n << 3))}, 0x78, 0x56, 0x34, 0x12, 0x12 | ${NO_82}`);
  });
  for (const r of R32) c.push(`inc ${r}`, `dec ${r}`, `push ${r}`, `pop ${r}`, `mov ${r}, 0x12345678`, `xchg eax, ${r}`);
  for (const r of ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh']) c.push(`mov ${r}, 0x12`);
  c.push('inc ax', 'dec di', 'inc cl', 'dec bh', 'inc byte [ebx]', 'dec word [ebx+4]', 'inc dword [ebx]', 'dec dword [esp+ecx*8-4]');
  c.push('test bl, cl', 'test [ebx], ecx', 'test [ebx], cx', 'test al, 5', 'test ax, 0x1234', 'test eax, 0x12345678',
    'test byte [ebx], 5', 'test word [ebx], 0x1234', 'test dword [ebx+4], 0x12345678', 'test ecx, 0x12345678');
  c.push(`db 0xf6, 0xcb, 0x12 | ${ALIAS}`, `db 0x66, 0xf7, 0xcb, 0x34, 0x12 | ${ALIAS}`,
    `db 0xf7, 0x4b, 0x04, 0x78, 0x56, 0x34, 0x12 | ${ALIAS}`);
  c.push('not byte [ebx]', 'not cx', 'not edx', 'neg edx', 'neg word [ebx]', 'neg bl',
    'mul bl', 'mul word [ebx]', 'mul ecx', 'imul ecx', 'imul byte [ebx]', 'div dword [ebx]', 'div cx', 'div dh',
    'idiv cx', 'idiv byte [esi]', 'idiv dword [ebx+4]',
    'imul cx, [ebx]', 'imul ecx, edx', 'imul ecx, edx, 0x12345678', 'imul cx, dx, 0x1234', 'imul ecx, edx, 5',
    'imul cx, [ebx], -3', 'imul ecx, [ebx+4], 0x12345678', 'imul eax, ecx, strict dword 1',
    'xadd bl, cl', 'xadd [ebx], cx', 'xadd ecx, edx', 'cmpxchg [ebx], cl', 'cmpxchg cx, dx', 'cmpxchg [ebx+4], ecx',
    'cmpxchg8b [ebx]', 'cmpxchg8b [0x12345678]', 'cmpxchg8b [bx+si]',
    'cbw', 'cwde', 'cwd', 'cdq', 'salc');
  for (const op of ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sar']) {
    for (const operands of ['bl, 1', 'bl, cl', 'bl, 3', 'cx, 1', 'word [ebx], cl', 'dword [ebx+4], 7', 'edx, 1',
      'edx, cl', 'byte [ebx], 200', 'ecx, byte 1', 'dword [ebx], 1']) c.push(`${op} ${operands}`);
  }
  c.push(`db 0xd0, 0xf3 | ${ALIAS}`, `db 0xd1, 0x33 | ${ALIAS}`, `db 0xd2, 0xf3 | ${ALIAS}`, `db 0xd3, 0x33 | ${ALIAS}`,
    `db 0xc0, 0xf3, 0x05 | ${ALIAS}`, `db 0x66, 0xc1, 0xf3, 0x05 | ${ALIAS}`);
  c.push('shld ecx, edx, 5', 'shld [ebx], cx, cl', 'shld cx, dx, 5', 'shrd cx, dx, 5', 'shrd [ebx], edx, cl',
    'shrd dword [ebx+4], edx, 31', 'daa', 'das', 'aaa', 'aas', 'aam', 'aam 16', 'aad', 'aad 16',
    'bt ecx, edx', 'bt [ebx], cx', 'bts ecx, 5', 'btr word [ebx], 5', 'btc dword [ebx+4], 31', 'bts [ebx], edx',
    'btr ecx, edx', 'btc cx, dx', 'bt dword [ebx], 3', 'bt cx, 15', 'bsf ecx, [ebx]', 'bsr cx, dx', 'bsf cx, [ebx]', 'bsr ecx, edx');
  for (const cc of CC) c.push(`set${cc} bl`, `set${cc} byte [ebx+4]`, `cmov${cc} eax, [ebx]`, `j${cc} short $`, `j${cc} near $+0x100`);
  for (const r of R32) c.push(`bswap ${r}`);
  c.push('o16 bswap eax | ndisasm: prints the prefix alone');

  // Moves, exchanges, loads of far pointers.
  c.push('mov [eax], bl', 'mov [eax], ebx', 'mov [eax], bx', 'mov bl, [eax]', 'mov ebx, [esp+4]',
    'mov bx, [ebp+ecx*8+0x12345678]', 'mov ecx, [ebp-8]', 'mov edx, [0x12345678+esi*2]', 'mov edx, [esi*4+0x10]',
    'mov eax, [bx+si+0x10]', 'mov ax, [bp+di]', 'mov esi, [word 0x1234]', 'mov cl, dh', 'mov ecx, [ebp]',
    'mov ecx, [esp+eax]', 'mov ecx, [ss:ebx]', 'mov ecx, [ds:ebp]', 'mov ecx, [cs:esp]', 'mov eax, [es:bx+si-0x80]',
    'mov eax, [edi-0x12345678]', 'mov eax, [bx+0x1234]', 'mov eax, [bp-0x1234]',
    'mov eax, ds', 'mov ax, cs', 'mov ax, ss', 'mov [eax], fs', 'mov ebx, gs', 'mov es, ax', 'mov ss, [ebx+4]', 'mov [eax+0x100], es', 'o16 mov [eax], ds', 'mov ss, ax', 'mov ds, [eax]', 'mov fs, eax', 'mov gs, [bx]',
    'mov al, [0x12345678]', 'mov eax, [0x12345678]', 'mov ax, [0x12345678]', 'mov [0x12345678], al', 'mov [fs:0x12345678], eax',
    'mov [0x12345678], ax', 'a16 mov al, [0x1234]', 'a16 mov eax, [0x1234]', 'a16 mov [gs:0x1234], ax',
    'mov al, 0x12', 'mov bh, 0x12', 'mov eax, 0x12345678', 'mov di, 0x1234', 'mov ecx, 0xffffffff',
    'mov byte [eax], 1', 'mov byte [eax+ebx*4+0x1000], 0x80', 'mov dword [eax+0x100], 0x12345678',
    'mov word [eax], 0x1234', 'mov word [bx+0x10], 0x1234',
    'movzx eax, bl', 'movzx eax, word [eax]', 'movzx ax, byte [esp]', 'movzx eax, byte [ebx]', 'movzx eax, bx',
    'movsx eax, byte [eax]', 'movsx eax, bx', 'movsx ax, bl', 'movsx ax, [ebx]', 'movsx eax, word [ebx]',
    'db 0x66, 0x0f, 0xb7, 0xc3 | ndisasm: prints the prefix alone | nasm: has no movzx r16, r/m16',
    'db 0x66, 0x0f, 0xbf, 0x03 | ndisasm: prints the prefix alone | nasm: has no movsx r16, r/m16',
    'xchg [eax], bl', 'xchg [eax], ebx', 'xchg [eax], bx', 'xchg ecx, edx', 'xchg cl, dh', 'xchg eax, ecx',
    'xchg edx, eax', 'xchg ax, di', 'lock xchg [eax], ecx',
    'lea eax, [eax+ebx*2+4]', 'lea ax, [bx+si]', 'lea esp, [esp+0x10000]', 'lea ecx, [eax*8]',
    'xlatb', 'es xlatb', 'a16 xlatb', 'lahf', 'sahf',
    'les eax, [eax]', 'lds eax, [0x12345678]', 'lss esp, [eax+8]', 'lfs eax, [eax]', 'lgs ax, [eax]', 'les bx, [bx+di]',
    'bound eax, [eax]', 'bound ax, [ecx+8]');

  // Stack.
  c.push('push eax', 'push esp', 'push di', 'pop eax', 'pop esp', 'pop si', 'push byte 1', 'push byte -1',
    'push dword 0x12345678', 'push word 0x1234', 'push word -2', 'push strict dword 1', 'o16 push byte 1',
    'push dword [eax]', 'push word [eax+ebx]', 'push dword [esp+4]', 'pop dword [eax]', 'pop word [eax]',
    'pop dword [esp+0x100]', 'push es', 'push cs', 'push ss', 'push ds', 'push fs', 'push gs', 'o16 push es', 'o16 push fs',
    'pop es', 'pop ss', 'pop ds', 'pop fs', 'pop gs', 'o16 pop ds', 'o16 pop gs',
    'pushad', 'pushaw', 'popad', 'popaw', 'pushfd', 'pushfw', 'popfd', 'popfw',
    'enter 0x10, 0', 'enter 0x1234, 3', 'o16 enter 8, 1', 'leave', 'o16 leave');

  // Control transfers.
  c.push('jmp short $', 'jmp near $', 'jmp $-0x1000', 'jmp word $+0x10', 'o16 jmp short $+0x20', 'jmp eax', 'jmp ax',
    'jmp [eax+0x10]', 'jmp word [eax]', 'call $+5', 'call $-0x100', 'call word $+0x10', 'call eax', 'call [esp]',
    'call word [eax]', 'ret', 'ret 8', 'o16 ret', 'retnw 4', 'o16 jo short $',
    'db 0x66, 0x0f, 0x84, 0x10, 0x00', 'loop $', 'o16 loop $', 'a16 loop $', 'loope $-0x10', 'loopne $+0x20',
    'loope $, cx', 'jecxz $', 'jcxz $', 'o16 jecxz $', 'ds jz short $', 'cs jnz short $',
    'int 0x80', 'int3', 'into', 'int1', 'hlt',
    'jmp 0x08:0x12345678', 'call 0x10:0x1234', 'jmp word 0x08:0x1234', 'call word 0x10:0x1234',
    'jmp far [eax]', 'call far [eax]', 'jmp word far [eax]', 'call word far [ebx+4]', 'jmp far [fs:0x1234]',
    'retf', 'retf 8', 'o16 retf', 'retfw 0x10', 'iret', 'iretw', 'sysenter', 'sysexit');

  // Strings, flags, ports.
  c.push('movsb', 'movsw', 'movsd', 'rep movsd', 'a16 rep movsb', 'rep fs movsb', 'o16 movsb', 'repne movsb',
    'cmpsb', 'repe cmpsw', 'repne cmpsd', 'stosb', 'rep stosw', 'rep stosd', 'lodsb', 'lodsw', 'lodsd', 'es lodsb',
    'scasb', 'repne scasw', 'repe scasd', 'insb', 'insw', 'rep insd', 'outsb', 'gs outsw', 'rep outsd',
    'clc', 'stc', 'cmc', 'cld', 'std', 'cli', 'sti', 'o16 clc', 'a16 clc',
    'in al, 0x60', 'in ax, 0x60', 'in eax, 0x60', 'in al, dx', 'in ax, dx', 'in eax, dx',
    'out 0x80, al', 'out 0x80, ax', 'out 0x80, eax', 'out dx, al', 'out dx, ax', 'out dx, eax');

  // NOPs and hint NOPs, UD2, WAIT.
  c.push('nop', 'pause', 'xchg ax, ax', 'nop dword [eax+eax*1+0]', 'nop word [eax+eax*1+0x12345678]', 'nop eax',
    'prefetchnta [eax]', 'prefetcht0 [esp+0x10]', 'prefetcht1 [eax]', 'prefetcht2 [eax]', 'hint_nop0 eax',
    'hint_nop2 word [eax]', 'hint_nop4 dword [eax]', 'hint_nop8 eax', 'hint_nop15 dword [eax]',
    'hint_nop16 dword [eax] | ndisasm: decodes MPX bndldx', 'hint_nop24 dword [ebx+4] | ndisasm: decodes MPX bndstx',
    'hint_nop32 dword [eax] | ndisasm: decodes cldemote', 'hint_nop32 ecx', 'hint_nop40 dword [0x12345678]', 'hint_nop48 edx',
    'hint_nop55 ebx', 'endbr32', 'hint_nop57 dword [eax]', 'hint_nop63 edi',
    'ud2', 'ud1 ecx, edx', 'ud1 eax, [eax] | ndisasm: writes a size keyword beside the register',
    'ud0 ecx, [ebx] | ndisasm: knows UD0 without its ModR/M byte', 'wait | ndisasm: takes 9B as a prefix of what follows');

  // System instructions.
  c.push('sldt eax', 'sldt ax', 'sldt [eax]', 'str eax', 'str [eax]', 'lldt ax', 'lldt [eax]', 'ltr ax', 'ltr [ebx+4]',
    'verr ax', 'verr [eax]', 'verw cx', 'verw [eax]', 'o16 lldt ax',
    'sgdt [eax]', 'sidt [eax]', 'lgdt [eax]', 'lidt [0x12345678]', 'o16 lgdt [eax]',
    'smsw eax', 'smsw ax', 'smsw [eax]', 'lmsw ax', 'lmsw [eax]', 'invlpg [eax]', 'invlpg [ebx+ecx*4+0x100]',
    'lar eax, [eax]', 'lar eax, bx', 'lar ax, bx', 'lsl eax, bx', 'lsl ax, [ebx]', 'arpl [eax], bx', 'arpl ax, bx',
    'clts', 'invd', 'wbinvd', 'mov eax, cr0', 'mov cr3, ebx', 'mov esi, cr4', 'mov cr2, edi', 'mov eax, dr7',
    'mov dr0, ecx', 'mov ebx, dr6',
    'db 0x0f, 0x20, 0x00 | ndisasm: needs mod = 3 | nasm: encodes mod = 3',
    'db 0x0f, 0x23, 0x45 | ndisasm: needs mod = 3 | nasm: encodes mod = 3',
    'wrmsr', 'rdmsr', 'rdtsc', 'rdpmc', 'cpuid', 'vmcall', 'vmlaunch', 'vmresume', 'vmxoff');

  // Undefined encodings: `db` of the first byte, as ndisasm.
  c.push('db 0x8d, 0xc0', 'db 0xc4, 0xc0', 'db 0x0f, 0x04', 'db 0xfe, 0xd0', 'db 0xff, 0xff', 'db 0x8c, 0xf0 | ndisasm: names a segment register 6',
    'db 0x8e, 0xc8 | ndisasm: takes mov cs,eax');

  // x87 escapes: every memory form ([eax]) and every register form.
  for (let op = 0xd8; op <= 0xdf; op++) {
    for (let reg = 0; reg < 8; reg++) c.push(`db ${hexByte(op)}, ${hexByte(reg << 3)}`);
    for (let modrm = 0xc0; modrm <= 0xff; modrm++) c.push(`db ${hexByte(op)}, ${hexByte(modrm)}`);
  }
  c.push('fld dword [ebx+esi*4+8]', 'fistp qword [ebp-8]', 'fnstsw [fs:eax]', 'o16 fldcw [eax]', 'fxsave [eax]', 'fxrstor [ebx+ecx*4+0x10]');
  return c;
}

/** 16-bit code: sizes default to 16, and 66/67 select 32. */
function corpus16(): string[] {
  return [
    'mov ax, [bx+si+0x10]', 'mov ax, [bx+si]', 'mov ax, [bp+0]', 'mov ax, [bx-2]', 'mov ax, [bx+0x1234]', 'mov ax, [bx-0x1234]',
    'mov ax, [si]', 'mov ax, [di+4]', 'mov ax, [bp+di-0x80]', 'mov ax, [ss:bx]', 'mov eax, [eax]', 'mov ax, [eax+ebx*2]',
    'mov ax, [eax+ebx*2+4]', 'mov ax, [esp]', 'a32 mov ax, [0x1234]', 'mov ax, [0x1234]', 'mov cx, [0x1234]',
    'mov al, [0x1234]', 'mov eax, [0x1234]', 'a32 mov al, [0x12345678]', 'mov [es:0x10], ax',
    'mov ax, 0x1234', 'mov eax, 0x12345678', 'mov word [bx], 0x1234', 'mov dword [bx], 0x12345678', 'mov byte [bx], 1',
    'mov ds, ax', 'mov ax, ds', 'mov eax, ds', 'mov [bx], es',
    'add ax, 1', 'add eax, 1', 'add eax, strict dword 1', 'add ax, strict word 1', 'add word [bx], -3', 'add dword [bx], 0x12345',
    'inc ax', 'inc eax', 'inc word [bx]', 'inc dword [bx]', 'shl ax, cl', 'shl eax, 3', 'shl word [bx], 1',
    'imul ax, bx, 5', 'imul eax, ebx, 0x1234567', 'bt ax, 3', 'bts dword [bx], 3', 'movzx ax, byte [bx]', 'movzx eax, byte [di]',
    'movzx eax, word [bx]', 'cmovz ax, [si]', 'xchg ax, cx', 'xchg eax, ecx',
    'lea ax, [bx+di+0x1234]', 'les ax, [bx]', 'lss esp, [bx]', 'bound ax, [bx]', 'bound eax, [bx]',
    'push ax', 'push eax', 'push word 0x1234', 'push dword 0x12345678', 'push byte 5', 'o32 push byte 5',
    'push es', 'o32 push es', 'push fs', 'o32 push fs', 'pop ds', 'o32 pop ds', 'pop word [bx]', 'pop dword [bx]',
    'pusha', 'pushad', 'popa', 'popad', 'pushf', 'pushfd', 'popf', 'popfd', 'enter 4, 0', 'o32 enter 4, 0', 'leave', 'o32 leave',
    'jmp near $', 'jmp short $', 'jmp dword $+0x1000', 'call $+3', 'call dword $+0x1000', 'jz near $', 'jz short $',
    'db 0x66, 0x0f, 0x84, 0x00, 0x01, 0x00, 0x00', 'o32 jz short $', 'jmp 0xfff0', 'call 0x10',
    'jmp [bx]', 'jmp dword [bx]', 'call [bx+si]', 'call dword [bx]', 'jmp ax', 'jmp eax',
    'jmp far [bx]', 'jmp dword far [bx]', 'call far [bx]', 'jmp 0x8:0x1234', 'jmp dword 0x8:0x12345678', 'call 0xf000:0xfff0',
    'loop $', 'a32 loop $', 'loop $, ecx', 'loopne $', 'jcxz $', 'jecxz $',
    'ret', 'ret 2', 'o32 ret', 'o32 ret 4', 'retf', 'retf 4', 'o32 retf', 'iret', 'iretd',
    'int 0x21', 'int3', 'cbw', 'cwde', 'cwd', 'cdq',
    'movsb', 'movsw', 'movsd', 'rep movsw', 'a32 rep movsd', 'rep es stosb', 'cmpsd', 'lodsd', 'insd', 'outsw',
    'in al, dx', 'in eax, dx', 'out 0x80, eax', 'out dx, ax', 'xlatb', 'a32 xlatb', 'o32 clc', 'a32 clc',
    'lgdt [bx]', 'o32 lgdt [bx]', 'lidt [0x1234]', 'sgdt [si]', 'smsw ax', 'smsw eax', 'lmsw ax', 'sldt ax', 'str eax',
    'mov eax, cr0', 'mov cr0, eax', 'mov eax, dr7', 'lar ax, [bx]', 'lar eax, bx', 'arpl [bx], ax',
    'invlpg [bx]', 'nop', 'pause', 'xchg eax, eax', 'nop word [bx]', 'nop dword [bx]', 'prefetchnta [bx]',
    'fld dword [bx]', 'fstp qword [bp-8]', 'fnstsw ax', 'fninit', 'wait | ndisasm: takes 9B as a prefix of what follows', 'cpuid', 'rdtsc', 'wrmsr', 'hlt',
    'lock add [bx], ax', 'lock inc dword [bx]', 'db 0x8d, 0xc0',
  ];
}

const SLOT = 16;

/**
 * Each entry in its own 16-byte slot, so that an instruction reassembled to another length
 * cannot move the rest; an undefined entry leaves its slot empty.
 */
function slotted(bits: 16 | 32, org: number, sources: (string | undefined)[]): { bin: Uint8Array; lengths: number[] } {
  const body = sources.map((s, k) => `times ${k * SLOT} - ($ - $$) db 0x90\ns${k}: ${s ?? ''}\ne${k}:`).join('\n');
  const table = sources.map((_, k) => `db e${k} - s${k}`).join('\n');
  let bin: Uint8Array;
  try {
    bin = nasm(`bits ${bits}\norg ${org}\n${body}\ntimes ${sources.length * SLOT} - ($ - $$) db 0x90\n${table}\n`);
  } catch (e) {
    // Name the corpus lines nasm rejected (three lines of source each, after two of header).
    const lines = [...String(e).matchAll(/in\.asm:(\d+): error: (.*)/g)].map((m) => `${sources[Math.floor((Number(m[1]) - 3) / 3)]}: ${m[2]}`);
    throw new Error(`nasm rejected:\n${lines.join('\n')}`);
  }
  const end = sources.length * SLOT;
  return { bin: bin.subarray(0, end), lengths: Array.from(bin.subarray(end)) };
}

/** ndisasm's text for each address, synchronised at every slot (`-s`). */
function ndisasm(bits: 16 | 32, org: number, bin: Uint8Array, count: number): Map<number, { length: number; text: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'vtscope-ndisasm-'));
  try {
    const file = join(dir, 'code.bin');
    writeFileSync(file, bin);
    const args = ['-b', String(bits), '-o', String(org)];
    for (let k = 0; k < count; k++) args.push('-s', String(org + k * SLOT));
    const out = execFileSync('ndisasm', [...args, file], { maxBuffer: 64 << 20 }).toString();
    const lines = new Map<number, { length: number; text: string }>();
    let last: { length: number; text: string } | undefined;
    for (const line of out.split('\n')) {
      const m = /^([0-9A-F]{8})  ([0-9A-F]+) +(.*)$/.exec(line);
      if (m !== null) { last = { length: m[2].length / 2, text: m[3] }; lines.set(parseInt(m[1], 16), last); continue; }
      const more = /^ +-([0-9A-F]+)$/.exec(line);   // long instructions continue on the next line
      if (more !== null && last !== undefined) last.length += more[1].length / 2;
    }
    return lines;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function normalise(text: string): string {
  return text
    .replace(/\b(?:short|near) /g, '')
    .replace(/(,|push )(?:strict )?d?word (?=0x)/g, '$1')
    .replace(/\bstrict /g, '')
    .replace(/\[dword (?=e[a-z]{2}\b)/g, '[');
}

interface Result { entry: Entry; address: number; bytes: Uint8Array; length: number; text: string }

function disassembleCorpus(bits: 16 | 32, org: number, lines: string[]): { results: Result[]; bin: Uint8Array } {
  const entries = parse(lines);
  const { bin, lengths } = slotted(bits, org, entries.map((e) => e.source));
  const read = (a: number): number => (a >= org && a < org + bin.length ? bin[a - org] : -1);
  const results = entries.map((entry, k) => {
    const address = org + k * SLOT;
    const r = disassemble(read, address, { bits });
    return { entry, address, bytes: bin.subarray(k * SLOT, k * SLOT + lengths[k]), length: r.length, text: r.text };
  });
  return { results, bin };
}

function compareWithNdisasm(bits: 16 | 32, org: number, lines: string[]): void {
  const { results, bin } = disassembleCorpus(bits, org, lines);
  const reference = ndisasm(bits, org, bin, results.length);
  const wrong: string[] = [];
  const stale: string[] = [];
  for (const r of results) {
    const nd = reference.get(r.address);
    const hexBytes = Buffer.from(r.bytes).toString('hex');
    if (!r.text.startsWith('db ') && r.length !== r.bytes.length) {
      wrong.push(`${r.entry.source} [${hexBytes}]: decoded ${r.length} bytes, nasm emitted ${r.bytes.length}`);
    }
    const agree = nd !== undefined && nd.length === r.length && normalise(nd.text) === normalise(r.text);
    const label = `${r.entry.source} [${hexBytes}]: ours "${r.text}" (${r.length} bytes), ndisasm "${nd?.text}" (${nd?.length} bytes)`;
    if (r.entry.ndisasm === undefined && !agree) wrong.push(label);
    if (r.entry.ndisasm !== undefined && agree) stale.push(`${label}: agrees although noted "${r.entry.ndisasm}"`);
  }
  expect(wrong).toEqual([]);
  expect(stale).toEqual([]);
}

function roundTrip(bits: 16 | 32, org: number, lines: string[]): void {
  const { results } = disassembleCorpus(bits, org, lines);
  const again = slotted(bits, org, results.map((r) => (r.entry.nasm === undefined ? r.text : undefined)));
  const wrong: string[] = [];
  results.forEach((r, k) => {
    if (r.entry.nasm !== undefined) return;
    // Our instruction may be shorter than the corpus entry's bytes only where it is `db`.
    const original = r.bytes.subarray(0, r.length);
    const back = again.bin.subarray(k * SLOT, k * SLOT + again.lengths[k]);
    if (Buffer.compare(Buffer.from(original), Buffer.from(back)) !== 0) {
      wrong.push(`${r.entry.source}: "${r.text}" assembles to ${Buffer.from(back).toString('hex')}, not ${Buffer.from(original).toString('hex')}`);
    }
  });
  expect(wrong).toEqual([]);
}

const ORG32 = 0x1000;
const ORG16 = 0x100;

describe('disassembly agrees with ndisasm (nasm 2.16) after normalisation', () => {
  it('32-bit code', () => compareWithNdisasm(32, ORG32, corpus32()));
  it('16-bit code', () => compareWithNdisasm(16, ORG16, corpus16()));
});

describe('round trip: our text assembled by nasm gives back the same bytes', () => {
  it('32-bit code', () => roundTrip(32, ORG32, corpus32()));
  it('16-bit code', () => roundTrip(16, ORG16, corpus16()));
});

/** VMX instructions are defined in src/cpu/vmx/ops.ts, which gives their operands. */
const OUTSIDE = new Set(['vmread', 'vmwrite', 'vmptrld', 'vmptrst']);

describe('the corpus covers the opcode map', () => {
  it('every instruction the CPU defines appears in the corpus', () => {
    const hit = new Set<OpDef>();
    const i = new Insn(() => undefined);
    for (const [bits, org, lines] of [[32, ORG32, corpus32()], [16, ORG16, corpus16()]] as const) {
      const { bin } = slotted(bits, org, parse(lines).map((e) => e.source));
      for (let k = 0; k * SLOT < bin.length; k++) {
        decodeFrom((a) => bin[a - org] ?? 0, org + k * SLOT, bits === 32, i);
        if (i.def !== undefined) hit.add(i.def);
      }
    }
    const missing: string[] = [];
    const visit = (def: OpDef | undefined, where: string): void => {
      if (def === undefined) return;
      if (def.group !== undefined) {
        def.group.forEach((d, reg) => visit(d, `${where} /${reg}`));
        def.groupMod3?.forEach((d, n) => visit(d, `${where} /${n >> 3} rm ${n & 7}`));
      } else if (!hit.has(def) && !OUTSIDE.has(def.name)) {
        missing.push(`${where} ${def.name}`);
      }
    };
    OPCODE_MAP.forEach((def, op) => visit(def, op >= 0x100 ? `0F ${(op & 0xff).toString(16)}` : op.toString(16)));
    expect(missing).toEqual([]);
  });
});
