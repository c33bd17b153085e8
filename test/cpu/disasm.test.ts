// The disassembler's interface: bytes it cannot read or make sense of, relative targets (checked
// against where the CPU itself jumps), symbols, and that it reads nothing but the instruction.
import { describe, expect, it } from 'vitest';
import { AR_DB } from '../../src/cpu/cpu';
import { decode } from '../../src/cpu/decoder';
import { disassemble } from '../../src/cpu/disasm';
import { step } from '../../src/cpu/execute';
import { Insn } from '../../src/cpu/insn';
import { CS } from '../../src/cpu/registers';
import { nasm } from '../support/nasm';
import { CODE_BASE, makeCpu } from './harness';

/** A reader over `bytes` at `base`; everything else is unreadable. */
function memory(base: number, bytes: ArrayLike<number>): (a: number) => number {
  return (a) => (a >= base && a < base + bytes.length ? bytes[a - base] : -1);
}

describe('bytes that are no instruction', () => {
  it('an unreadable first byte is `db ?`, one byte long', () => {
    const r = disassemble(() => -1, 0x1000, { bits: 32 });
    expect(r).toEqual({ address: 0x1000, length: 1, bytes: new Uint8Array(0), text: 'db ?' });
  });

  it('an instruction running into unreadable memory is `db` of its first byte', () => {
    // B8 id: MOV EAX, imm32 needs four more bytes than are readable.
    const r = disassemble(memory(0x2000, [0xb8, 0x78, 0x56]), 0x2000, { bits: 32 });
    expect(r).toMatchObject({ length: 1, text: 'db 0xb8', bytes: Uint8Array.of(0xb8) });
  });

  it('an instruction longer than 15 bytes is `db` (the CPU raises #GP for it, SDM Vol. 2, 2.3.11)', () => {
    const bytes = [...Array(15).fill(0x66), 0x90];
    const cpu = makeCpu();
    cpu.bus.ram.set(bytes, CODE_BASE);
    expect(() => decode(cpu, CODE_BASE, new Insn(() => {}))).toThrow();
    expect(disassemble(memory(0, bytes), 0, { bits: 32 })).toMatchObject({ length: 1, text: 'db 0x66' });
    // Fourteen prefixes and the opcode make 15 bytes: still an instruction.
    expect(disassemble(memory(0, bytes.slice(1)), 0, { bits: 32 })).toMatchObject({ length: 15, text: 'xchg ax,ax' });
  });

  it('an opcode the CPU does not define is `db` of its first byte', () => {
    expect(disassemble(memory(0, [0x0f, 0x04]), 0, { bits: 32 }).text).toBe('db 0x0f');
    expect(disassemble(memory(0, [0x8d, 0xc0]), 0, { bits: 16 }).text).toBe('db 0x8d');   // LEA with a register source
  });

  it('rejects options it cannot honour, naming them', () => {
    expect(() => disassemble(() => 0x90, 0, { bits: 64 as 32 })).toThrow('bits must be 16 or 32, not 64');
    expect(() => disassemble(() => 0x90, -1, { bits: 32 })).toThrow('address -1 is not a linear address');
  });
});

describe('relative targets', () => {
  /** Runs the instruction at CS:eip on the CPU and returns the linear address it went to. */
  function cpuTarget(code: Uint8Array, code32: boolean, eip: number): number {
    const cpu = makeCpu();
    cpu.bus.ram.set(code, CODE_BASE + eip);
    const ar = cpu.segAR[CS];
    cpu.setSegmentCache(CS, 0x08, CODE_BASE, code32 ? 0xffff_ffff : 0xffff, code32 ? ar : ar & ~AR_DB);
    cpu.eip = eip;
    cpu.regs[1] = 2;   // ECX for LOOP
    step(cpu);
    return CODE_BASE + cpu.eip;
  }

  const cases: { name: string; bits: 16 | 32; eip: number; source: string }[] = [
    { name: 'JMP rel8 backwards', bits: 32, eip: 0x3000, source: 'jmp short $-0x40' },
    { name: 'CALL rel32', bits: 32, eip: 0x3000, source: 'call $+0x12345' },
    { name: 'Jcc rel32 (ZF clear after reset)', bits: 32, eip: 0x3000, source: 'jnz near $-0x2000' },
    { name: 'LOOP', bits: 32, eip: 0x3000, source: 'loop $+0x30' },
    // The upper half of EIP is cleared with a 16-bit operand size (SDM Vol. 2, JMP).
    { name: 'JMP rel8 with o16 in 32-bit code', bits: 32, eip: 0x12340, source: 'o16 jmp short $+0x10' },
    { name: 'JMP rel16 with o16 in 32-bit code', bits: 32, eip: 0x12340, source: 'jmp word $+0x100' },
    // IP wraps within the 64 KiB segment in 16-bit code.
    { name: 'JMP rel8 across the end of a 16-bit segment', bits: 16, eip: 0xfff0, source: 'jmp short $+0x20' },
    { name: 'CALL rel16 wrapping below 0 in 16-bit code', bits: 16, eip: 0x0010, source: 'call $-0x100' },
  ];
  for (const c of cases) {
    it(`${c.name}: the target is where the CPU goes`, () => {
      const code = nasm(`bits ${c.bits}\norg ${c.eip}\n${c.source}\n`);
      const r = disassemble(memory(CODE_BASE + c.eip, code), CODE_BASE + c.eip, { bits: c.bits, csBase: CODE_BASE });
      expect(r.length).toBe(code.length);
      expect(r.target).toBe(cpuTarget(code, c.bits === 32, c.eip));
      expect(r.text).toContain(`0x${r.target!.toString(16)}`);
    });
  }

  it('are named by symbolize where it knows them', () => {
    const code = nasm('bits 32\norg 0x101000\ncall 0x102000\njz short 0x101020\nmov eax, [0x102000]\n');
    const names = new Map([[0x102000, 'kmain'], [0x101020, 'kmain.loop']]);
    const asked: number[] = [];
    const symbolize = (a: number): string | undefined => { asked.push(a); return names.get(a); };
    const read = memory(0x101000, code);
    const call = disassemble(read, 0x101000, { bits: 32, symbolize });
    expect(call).toMatchObject({ text: 'call 0x102000 ; kmain', target: 0x102000, length: 5 });
    const jz = disassemble(read, 0x101005, { bits: 32, symbolize });
    expect(jz).toMatchObject({ text: 'jz short 0x101020 ; kmain.loop', target: 0x101020 });
    const mov = disassemble(read, 0x101007, { bits: 32, symbolize });
    expect(mov).toEqual({ address: 0x101007, length: 5, bytes: code.subarray(7, 12), text: 'mov eax,[0x102000]' });
    expect(asked).toEqual([0x102000, 0x101020]);
  });
});

describe('no side effects', () => {
  it('reads exactly the bytes of the instruction, and leaves the CPU decoder as it was', () => {
    const code = nasm('bits 32\nadd dword [ebx+esi*4+0x12345678], 0x11223344\n');
    const reads: number[] = [];
    const r = disassemble((a) => { reads.push(a); return a - 0x8000 < code.length ? code[a - 0x8000] : -1; }, 0x8000, { bits: 32 });
    expect(r.text).toBe('add dword [ebx+esi*4+0x12345678],0x11223344');
    expect(reads).toEqual(Array.from({ length: code.length }, (_, k) => 0x8000 + k));

    // The CPU decodes its own memory afterwards, through CS and its TLB as before.
    const cpu = makeCpu();
    cpu.bus.ram.set(nasm('bits 32\nmov ecx, [esp+8]\n'), CODE_BASE);
    const i = new Insn(() => {});
    decode(cpu, CODE_BASE, i);
    expect(i.def?.name).toBe('mov');
    expect(i.len).toBe(4);
  });
});
