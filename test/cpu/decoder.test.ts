/** Decoder rules that nasm never emits encodings for, checked by hand against the SDM. */
import { describe, expect, it } from 'vitest';
import { decode } from '../../src/cpu/decoder';
import { Insn } from '../../src/cpu/insn';
import { CODE_BASE, makeCpu } from './harness';

function decodeBytes(bytes: number[]): Insn {
  const cpu = makeCpu();
  cpu.bus.ram.set(bytes, CODE_BASE);
  const i = new Insn(() => {});
  decode(cpu, CODE_BASE, i);
  return i;
}

describe('decoder', () => {
  it('MOV from/to CRn and DRn ignore the mod field: 0F 20 05 is three bytes, mov ebp, cr0 (SDM Vol. 2, MOV—Move to/from Control Registers)', () => {
    for (const op of [0x20, 0x21, 0x22, 0x23]) {
      const i = decodeBytes([0x0f, op, 0x05, 0xaa, 0xbb, 0xcc, 0xdd]);
      expect(i.len).toBe(3);
      expect(i.mem).toBe(false);
      expect(i.rm).toBe(5);
    }
  });

  it('an instruction longer than 15 bytes raises #GP(0) (SDM Vol. 2, 2.3.11)', () => {
    const cpu = makeCpu();
    cpu.bus.ram.set([...Array(15).fill(0x66), 0x90], CODE_BASE);
    expect(() => decode(cpu, CODE_BASE, new Insn(() => {}))).toThrow();
    expect(cpu.fault.vector).toBe(13);
    expect(cpu.fault.errorCode).toBe(0);
  });
});
