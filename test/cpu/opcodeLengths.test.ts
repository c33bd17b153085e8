// Decoder cross-check for the opcodes of move.ts, stackOps.ts, control.ts, string.ts,
// flagOps.ts, io.ts and misc.ts: nasm assembles every form (operand and address size
// prefixes, ModR/M with SIB and displacements, immediates, moffs) and records each
// instruction's length; `decode` must find the same length and the instruction's definition.

import { describe, expect, it } from 'vitest';
import { AR_DB } from '../../src/cpu/cpu';
import { decode } from '../../src/cpu/decoder';
import { Insn } from '../../src/cpu/insn';
import { CS } from '../../src/cpu/registers';
import { nasm } from '../support/nasm';
import { CODE_BASE, makeCpu } from './harness';

/** "nasm source | decoded name". */
const FORMS_32 = `
mov [eax], bl | mov
mov [eax], ebx | mov
mov [eax], bx | mov
mov bl, [eax] | mov
mov ebx, [esp+4] | mov
mov bx, [ebp+ecx*8+0x12345678] | mov
mov ecx, [ebp-8] | mov
mov edx, [0x12345678+esi*2] | mov
mov eax, [bx+si+0x10] | mov
mov ax, [bp+di] | mov
mov esi, [word 0x1234] | mov
mov cl, dh | mov
mov eax, ds | mov
mov ax, cs | mov
mov [eax+0x100], es | mov
mov ss, ax | mov
mov ds, [eax] | mov
mov fs, eax | mov
mov gs, [bx] | mov
mov al, [0x12345678] | mov
mov eax, [0x12345678] | mov
mov ax, [0x12345678] | mov
mov [0x12345678], al | mov
mov [fs:0x12345678], eax | mov
mov [0x12345678], ax | mov
a16 mov al, [0x1234] | mov
a16 mov eax, [0x1234] | mov
a16 mov [0x1234], ax | mov
mov al, 0x12 | mov
mov bh, 0x12 | mov
mov eax, 0x12345678 | mov
mov di, 0x1234 | mov
mov byte [eax], 1 | mov
mov byte [eax+ebx*4+0x1000], 0x80 | mov
mov dword [eax+0x100], 0x12345678 | mov
mov word [eax], 0x1234 | mov
mov word [bx+0x10], 0x1234 | mov
mov ecx, 0xffffffff | mov
movzx eax, bl | movzx
movzx eax, word [eax] | movzx
movzx ax, byte [esp] | movzx
movsx eax, byte [eax] | movsx
movsx eax, bx | movsx
movsx ax, bl | movsx
xchg [eax], bl | xchg
xchg [eax], ebx | xchg
xchg [eax], bx | xchg
xchg ecx, edx | xchg
xchg eax, ecx | xchg
xchg edx, eax | xchg
xchg ax, di | xchg
lea eax, [eax+ebx*2+4] | lea
lea ax, [bx+si] | lea
lea esp, [esp+0x10000] | lea
xlatb | xlat
es xlatb | xlat
a16 xlatb | xlat
cmovo eax, ebx | cmovcc
cmovno eax, [eax] | cmovcc
cmovb ax, bx | cmovcc
cmovae eax, [ebx+4] | cmovcc
cmove eax, ebx | cmovcc
cmovne eax, ebx | cmovcc
cmovbe eax, ebx | cmovcc
cmova eax, ebx | cmovcc
cmovs eax, ebx | cmovcc
cmovns eax, ebx | cmovcc
cmovp eax, ebx | cmovcc
cmovnp eax, ebx | cmovcc
cmovl eax, ebx | cmovcc
cmovge eax, ebx | cmovcc
cmovle eax, ebx | cmovcc
cmovg ax, [bp+si] | cmovcc
lahf | lahf
sahf | sahf
les eax, [eax] | les
lds eax, [0x12345678] | lds
lss esp, [eax+8] | lss
lfs eax, [eax] | lfs
lgs ax, [eax] | lgs
les bx, [bx+di] | les
bound eax, [eax] | bound
bound ax, [ecx+8] | bound
push eax | push
push esp | push
push di | push
pop eax | pop
pop esp | pop
pop si | pop
push byte 1 | push
push byte -1 | push
push dword 0x12345678 | push
push word 0x1234 | push
push word -2 | push
push dword [eax] | push
push word [eax+ebx] | push
push dword [esp+4] | push
pop dword [eax] | pop
pop word [eax] | pop
pop dword [esp+0x100] | pop
push es | push
push cs | push
push ss | push
push ds | push
push fs | push
push gs | push
o16 push es | push
o16 push fs | push
pop es | pop
pop ss | pop
pop ds | pop
pop fs | pop
pop gs | pop
o16 pop ds | pop
o16 pop gs | pop
pushad | pusha
pushaw | pusha
popad | popa
popaw | popa
pushfd | pushf
pushfw | pushf
popfd | popf
popfw | popf
enter 0x10, 0 | enter
enter 0x1234, 3 | enter
o16 enter 8, 1 | enter
leave | leave
o16 leave | leave
jmp short $ | jmp
jmp near $ | jmp
jmp word $+0x10 | jmp
jmp eax | jmp
jmp ax | jmp
jmp [eax+0x10] | jmp
jmp word [eax] | jmp
call $+5 | call
call word $+0x10 | call
call eax | call
call [esp] | call
call word [eax] | call
ret | ret
ret 8 | ret
o16 ret | ret
o16 ret 4 | ret
jo short $ | jcc
jno short $ | jcc
jb short $ | jcc
jae short $ | jcc
je short $ | jcc
jne short $ | jcc
jbe short $ | jcc
ja short $ | jcc
js short $ | jcc
jns short $ | jcc
jp short $ | jcc
jnp short $ | jcc
jl short $ | jcc
jge short $ | jcc
jle short $ | jcc
jg short $ | jcc
jo near $ | jcc
jno near $ | jcc
jb near $ | jcc
jae near $ | jcc
je near $ | jcc
jne near $ | jcc
jbe near $ | jcc
ja near $ | jcc
js near $ | jcc
jns near $ | jcc
jp near $ | jcc
jnp near $ | jcc
jl near $ | jcc
jge near $ | jcc
jle near $ | jcc
jg near $ | jcc
db 0x66, 0x0f, 0x84, 0x10, 0x00 | jcc
loop $ | loop
o16 loop $ | loop
a16 loop $ | loop
loope $ | loope
loopne $ | loopne
jecxz $ | jcxz
jcxz $ | jcxz
int 0x80 | int
int3 | int3
into | into
int1 | int1
hlt | hlt
movsb | movs
movsw | movs
movsd | movs
rep movsd | movs
a16 rep movsb | movs
rep fs movsb | movs
cmpsb | cmps
repe cmpsw | cmps
repne cmpsd | cmps
stosb | stos
rep stosw | stos
rep stosd | stos
lodsb | lods
lodsw | lods
lodsd | lods
scasb | scas
repne scasw | scas
repe scasd | scas
insb | ins
insw | ins
rep insd | ins
outsb | outs
gs outsw | outs
rep outsd | outs
clc | clc
stc | stc
cmc | cmc
cld | cld
std | std
cli | cli
sti | sti
in al, 0x60 | in
in ax, 0x60 | in
in eax, 0x60 | in
in al, dx | in
in ax, dx | in
in eax, dx | in
out 0x80, al | out
out 0x80, ax | out
out 0x80, eax | out
out dx, al | out
out dx, ax | out
out dx, eax | out
nop | nop
pause | nop
xchg ax, ax | nop
nop dword [eax+eax*1+0] | nop
nop word [eax+eax*1+0x12345678] | nop
nop eax | nop
prefetchnta [eax] | nop
prefetcht0 [esp+0x10] | nop
hint_nop8 eax | nop
hint_nop16 dword [eax] | nop
hint_nop24 dword [ebx+4] | nop
hint_nop32 ecx | nop
hint_nop40 dword [0x12345678] | nop
hint_nop48 edx | nop
ud2 | ud2
wait | wait
fninit | fninit
fld dword [eax] | fld
fld qword [eax+ebx*4+0x100] | fld
fadd st0, st1 | fadd
fnstsw ax | fnstsw
fistp dword [ebp-4] | fistp
fild word [bx] | fild
fmulp st1 | fmulp
fnsave [eax] | fnsave
fild qword [esp] | fild
`;

/** The same decoder in a 16-bit code segment: sizes default to 16, 66/67 select 32. */
const FORMS_16 = `
mov ax, [bx+si+0x10] | mov
mov eax, [eax] | mov
mov al, [0x1234] | mov
mov eax, [0x1234] | mov
a32 mov al, [0x12345678] | mov
mov ax, 0x1234 | mov
mov eax, 0x12345678 | mov
mov word [bx], 0x1234 | mov
mov dword [bx], 0x12345678 | mov
mov ds, ax | mov
lea ax, [bx+di+0x1234] | lea
les ax, [bx] | les
lss esp, [bx] | lss
bound ax, [bx] | bound
push ax | push
push eax | push
push word 0x1234 | push
push dword 0x12345678 | push
push byte 5 | push
push es | push
push dword es | push
pop word [bx] | pop
pusha | pusha
pushad | pusha
pushf | pushf
popfd | popf
enter 4, 0 | enter
jmp near $ | jmp
jmp dword $+0x1000 | jmp
call $+3 | call
call dword $+0x1000 | call
jz near $ | jcc
jz short $ | jcc
loop $ | loop
jcxz $ | jcxz
jecxz $ | jcxz
ret 2 | ret
int 0x21 | int
movsb | movs
rep movsw | movs
a32 rep movsd | movs
in al, dx | in
out 0x80, eax | out
xlatb | xlat
cmovz ax, [si] | cmovcc
movzx eax, byte [di] | movzx
`;

interface Form { source: string; name: string }

function parse(list: string): Form[] {
  return list.trim().split('\n').map((line) => {
    const [source, name] = line.split('|').map((s) => s.trim());
    return { source, name };
  });
}

/** Assembles each form once, with nasm computing every instruction's length into a table at the end. */
function assemble(bits: 16 | 32, forms: Form[]): { code: Uint8Array; lengths: number[] } {
  const body = forms.map((f, k) => `s${k}: ${f.source}\ne${k}:`).join('\n');
  const table = forms.map((_, k) => `db e${k} - s${k}`).join('\n');
  const bin = nasm(`bits ${bits}\n${body}\n${table}\n`);
  return { code: bin.subarray(0, bin.length - forms.length), lengths: Array.from(bin.subarray(bin.length - forms.length)) };
}

function check(bits: 16 | 32, list: string): void {
  const forms = parse(list);
  const { code, lengths } = assemble(bits, forms);
  const cpu = makeCpu();
  cpu.ram.set(code, CODE_BASE);
  if (bits === 16) cpu.setSegmentCache(CS, 0x08, CODE_BASE, 0xffff, cpu.segAR[CS] & ~AR_DB);
  const insn = new Insn(() => undefined);
  let offset = 0;
  forms.forEach((form, k) => {
    decode(cpu, bits === 16 ? offset : CODE_BASE + offset, insn);
    const label = `${form.source} (bits ${bits})`;
    expect(insn.len, label).toBe(lengths[k]);
    expect(insn.def?.name, label).toBe(form.name);
    offset += lengths[k];
  });
}

describe('decoded lengths agree with nasm', () => {
  it('every form in 32-bit code', () => check(32, FORMS_32));
  it('forms in 16-bit code', () => check(16, FORMS_16));
});
