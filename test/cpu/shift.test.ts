// Shifts and rotates: the masked count of 0, memory operands, the rotate-through-carry
// modulus, the SAL /6 encoding. Expected values are worked out by hand from the SDM's
// Operation sections.
import { describe, expect, it } from 'vitest';
import { FLAGS_ARITH } from '../../src/cpu/registers';
import { makeCpu } from './harness';
import { DATA, peek32, poke32, runAsm } from './snippet';

const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;

describe('a masked count of 0 changes no flag and no operand (SDM SAL/SAR/SHL/SHR: "If the count is 0, the flags are not affected")', () => {
  // ADD FFFFFFFF + 1 leaves CF ZF PF AF set (still lazy when the shift runs).
  for (const shift of ['shl ecx, cl', 'sar ecx, 32', 'rol ecx, cl', 'rcr cx, 64', 'shld ecx, edx, cl', 'shrd cx, dx, 32']) {
    it(shift, () => {
      const r = runAsm(makeCpu(), `add eax, ebx\n${shift}`, { eax: 0xffffffff, ebx: 1, ecx: 0x12345620, edx: 0xffffffff, eflags: OF | SF });
      expect(r.ecx).toBe(0x12345620);
      expect(r.eflags & FLAGS_ARITH).toBe(CF | ZF | PF | AF);
    });
  }
});

describe('shifts and rotates of memory operands (SDM Vol. 2, Operation sections)', () => {
  interface Case { asm: string; mem: number; flagsIn?: number; memOut: number; flags: number; mask?: number }
  const cases: Case[] = [
    // 0F0F0F0F << 4 = F0F0F0F0; last bit out (bit 28) is 0. OF is undefined for a count above 1.
    { asm: 'shl dword [DATA], 4', mem: 0x0f0f0f0f, memOut: 0xf0f0f0f0, flags: SF | PF, mask: CF | PF | ZF | SF },
    // SAR 8001 by 1: sign kept, CF = 1, OF = 0 for a 1-bit SAR.
    { asm: 'sar word [DATA], 1', mem: 0xaaaa8001, memOut: 0xaaaac000, flags: CF | SF | PF },
    // SHR 80 by 1: OF = MSB of the original operand.
    { asm: 'shr byte [DATA], 1', mem: 0x80, memOut: 0x40, flags: OF },
    // RCL by 9 on a byte: 9 mod 9 = 0, the value and CF stay as they are.
    { asm: 'rcl byte [DATA], 9', mem: 0x81, flagsIn: CF, memOut: 0x81, flags: CF, mask: CF },
    // RCL by 10 = by 1 (10 mod 9): CF:81 -> 03 with CF = 1 (the old MSB).
    { asm: 'rcl byte [DATA], 10', mem: 0x81, flagsIn: CF, memOut: 0x03, flags: CF, mask: CF },
    // RCR word by 17 = by 0 (mod 17): nothing moves.
    { asm: 'rcr word [DATA], 17', mem: 0x1234, memOut: 0x1234, flags: 0, mask: CF },
    // ROL byte by 8: 8 mod 8 = 0 rotations, but CF = LSB of the result (the count is not 0).
    { asm: 'rol byte [DATA], 8', mem: 0x01, memOut: 0x01, flags: CF, mask: CF },
    // ROR dword by 4: 12345678 -> 81234567; CF = MSB of the result.
    { asm: 'ror dword [DATA], 4', mem: 0x12345678, memOut: 0x81234567, flags: CF, mask: CF },
    // SHLD 12345678, src 9ABCDEF0, by 8: 3456789A; CF = last bit out of the destination (bit 24 = 0).
    { asm: 'shld [DATA], eax, 8', mem: 0x12345678, memOut: 0x3456789a, flags: PF, mask: CF | ZF | SF | PF },
    // SHRD 12345678, src 9ABCDEF0, by 8: F0123456; CF = bit 7 of the destination = 0.
    { asm: 'shrd [DATA], eax, 8', mem: 0x12345678, memOut: 0xf0123456, flags: SF | PF, mask: CF | ZF | SF | PF },
  ];
  for (const c of cases) {
    it(c.asm, () => {
      const cpu = makeCpu();
      poke32(cpu, DATA, c.mem);
      const r = runAsm(cpu, `DATA equ ${DATA}\n${c.asm}`, { eax: 0x9abcdef0, eflags: c.flagsIn ?? 0 });
      expect(peek32(cpu, DATA).toString(16)).toBe((c.memOut >>> 0).toString(16));
      const mask = c.mask ?? CF | PF | ZF | SF | OF;
      expect((r.eflags & mask).toString(16)).toBe((c.flags & mask).toString(16));
    });
  }

  it('D1 /6 (SAL, an alias nasm does not emit) shifts like SHL (D1 /4)', () => {
    const sal = runAsm(makeCpu(), 'db 0xd1, 0xf1', { ecx: 0xc0000001, eflags: 0 }); // D1 /6, rm = ECX
    const shl = runAsm(makeCpu(), 'shl ecx, 1', { ecx: 0xc0000001, eflags: 0 });
    expect(sal.fault).toBeUndefined();
    expect([sal.ecx, sal.eflags & FLAGS_ARITH]).toEqual([shl.ecx, shl.eflags & FLAGS_ARITH]);
    expect(sal.ecx).toBe(0x80000002);
  });
});
