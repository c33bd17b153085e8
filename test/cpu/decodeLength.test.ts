// Every opcode form of the arithmetic, shift, multiply/divide, BCD and bit instructions,
// assembled by nasm (the reference assembler): the decoder must find the instruction nasm
// meant and take exactly as many bytes as nasm emitted (SDM Vol. 2, chapter 2 and appendix A:
// ModR/M, SIB, displacement and immediate sizes per opcode).
import { describe, expect, it } from 'vitest';
import { decode, execUD } from '../../src/cpu/decoder';
import { Insn } from '../../src/cpu/insn';
import { nasm } from '../support/nasm';
import { CODE_BASE, makeCpu } from './harness';

interface Form { asm: string; name: string }

/** nasm's mnemonic to the opcode table's name where they differ. */
function tableName(mnemonic: string): string {
  if (mnemonic === 'sal') return 'shl';   // nasm encodes SAL as /4
  if (mnemonic === 'cwde') return 'cbw';  // one opcode, two operand sizes
  if (mnemonic === 'cdq') return 'cwd';
  if (mnemonic.startsWith('set')) return 'setcc';
  return mnemonic;
}

const forms: Form[] = [];
const add = (asm: string, name = tableName(asm.split(' ')[0])) => forms.push({ asm, name });

const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
ALU.forEach((op, n) => {
  for (const operands of [
    'bl, cl', '[ebx+esi*4+0x12345678], dl', 'ecx, edx', '[bp+si+4], cx', 'dl, [ebx]', 'ecx, [esp+8]', 'cx, [0x1234]',
    'al, 0x12', 'ax, 0x1234', 'eax, 0x12345678',
    'byte [ebx], 0x12', 'word [ebx], 0x1234', 'dword [ebx], 0x12345678', 'word [ebx], -2', 'dword [0x1234], 5', 'ecx, -1',
  ]) add(`${op} ${operands}`);
  // 82 /r: the 80 group under its second opcode (nasm never emits it).
  add(`db 0x82, 0x${(0xc3 | (n << 3)).toString(16)}, 0x12`, op);
  add(`db 0x82, 0x${(0x83 | (n << 3)).toString(16)}, 0x78, 0x56, 0x34, 0x12, 0x12`, op);
});
for (const r of ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi']) { add(`inc ${r}`); add(`dec ${r}`); }
for (const f of ['inc ax', 'dec di', 'inc cl', 'dec bh', 'inc byte [ebx]', 'dec word [ebx+4]', 'inc dword [ebx]', 'dec dword [esp+ecx*8-4]']) add(f);
for (const f of ['test bl, cl', 'test [ebx], ecx', 'test [ebx], cx', 'test al, 5', 'test ax, 0x1234', 'test eax, 0x12345678',
  'test byte [ebx], 5', 'test word [ebx], 0x1234', 'test dword [ebx+4], 0x12345678', 'test ecx, 0x12345678']) add(f);
// F6 /1 and F7 /1: TEST under the undocumented alias.
add('db 0xf6, 0xcb, 0x12', 'test');
add('db 0x66, 0xf7, 0xcb, 0x34, 0x12', 'test');
add('db 0xf7, 0x4b, 0x04, 0x78, 0x56, 0x34, 0x12', 'test');
for (const f of ['not byte [ebx]', 'not cx', 'not edx', 'neg edx', 'neg word [ebx]', 'neg bl',
  'mul bl', 'mul word [ebx]', 'mul ecx', 'imul ecx', 'imul byte [ebx]', 'div dword [ebx]', 'div cx', 'div dh',
  'idiv cx', 'idiv byte [esi]', 'idiv dword [ebx+4]',
  'imul cx, [ebx]', 'imul ecx, edx', 'imul ecx, edx, 0x12345678', 'imul cx, dx, 0x1234', 'imul ecx, edx, 5',
  'imul cx, [ebx], -3', 'imul ecx, [ebx+4], 0x12345678',
  'xadd bl, cl', 'xadd [ebx], cx', 'xadd ecx, edx', 'cmpxchg [ebx], cl', 'cmpxchg cx, dx', 'cmpxchg [ebx+4], ecx',
  'cmpxchg8b [ebx]', 'cmpxchg8b [0x12345678]', 'cmpxchg8b [bx+si]',
  'cbw', 'cwde', 'cwd', 'cdq', 'salc']) add(f);
for (const op of ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar']) {
  for (const operands of ['bl, 1', 'bl, cl', 'bl, 3', 'cx, 1', 'word [ebx], cl', 'dword [ebx+4], 7', 'edx, 1', 'edx, cl', 'byte [ebx], 200']) {
    add(`${op} ${operands}`);
  }
}
// /6, the second encoding of SAL/SHL (nasm emits /4).
add('db 0xd0, 0xf3', 'sal');
add('db 0xd3, 0x33', 'sal');
add('db 0x66, 0xc1, 0xf3, 0x05', 'sal');
for (const f of ['shld ecx, edx, 5', 'shld [ebx], cx, cl', 'shld cx, dx, 5', 'shrd cx, dx, 5', 'shrd [ebx], edx, cl',
  'shrd dword [ebx+4], edx, 31',
  'daa', 'das', 'aaa', 'aas', 'aam', 'aam 16', 'aad', 'aad 16',
  'bt ecx, edx', 'bt [ebx], cx', 'bts ecx, 5', 'btr word [ebx], 5', 'btc dword [ebx+4], 31', 'bts [ebx], edx',
  'btr ecx, edx', 'btc cx, dx', 'bt dword [ebx], 3', 'bt cx, 15', 'bsf ecx, [ebx]', 'bsr cx, dx', 'bsf cx, [ebx]', 'bsr ecx, edx']) add(f);
for (const cc of ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g']) {
  add(`set${cc} bl`);
  add(`set${cc} byte [ebx+4]`);
}
for (const r of ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi']) add(`bswap ${r}`);

describe('decoded length and opcode table entry of every form, against nasm (SDM Vol. 2, chapter 2)', () => {
  it(`${forms.length} forms`, () => {
    // Labels before each form and a table of their offsets after the code tell where each
    // form starts and ends in nasm's output.
    const labels = forms.map((_, k) => `L${k}`);
    const source = [
      'bits 32', `org 0x${CODE_BASE.toString(16)}`,
      ...forms.map((f, k) => `L${k}: ${f.asm}`),
      'Lend:',
      `dd ${[...labels, 'Lend'].map((l) => `${l} - $$`).join(', ')}`,
    ].join('\n');
    const bin = nasm(source);
    const table = new DataView(bin.buffer, bin.byteOffset + bin.length - 4 * (forms.length + 1));
    const offsets = Array.from({ length: forms.length + 1 }, (_, k) => table.getUint32(4 * k, true));

    const cpu = makeCpu();
    cpu.bus.ram.set(bin, CODE_BASE);
    const insn = new Insn(execUD);
    const wrong: string[] = [];
    forms.forEach((f, k) => {
      decode(cpu, CODE_BASE + offsets[k], insn);
      const length = offsets[k + 1] - offsets[k];
      const name = insn.exec === execUD ? '#UD' : insn.def?.name;
      if (insn.len !== length || name !== f.name) {
        const bytes = Buffer.from(bin.subarray(offsets[k], offsets[k + 1])).toString('hex');
        wrong.push(`${f.asm} [${bytes}]: decoded ${insn.len} bytes as ${name}, nasm emitted ${length} bytes of ${f.name}`);
      }
    });
    expect(wrong).toEqual([]);
  });
});
