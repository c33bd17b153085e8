// BT/BTS/BTR/BTC with memory bit strings, BSF/BSR with a zero source, SETcc.
import { describe, expect, it } from 'vitest';
import { FLAGS_ARITH } from '../../src/cpu/registers';
import { nasm } from '../support/nasm';
import { execSnippet, makeCpu } from './harness';
import { DATA, peek32, poke32, runAsm } from './snippet';

const CF = 0x1, PF = 0x4, ZF = 0x40, SF = 0x80, OF = 0x800;

describe('BT family with a memory bit string (SDM Vol. 2, BT: "bit offset operand" and Figure 3-2)', () => {
  // With a register offset and a memory operand the offset is a signed index into a bit
  // string starting at bit 0 of the addressed byte: -2^31..2^31-1 (32-bit), -2^15..2^15-1 (16-bit).
  it('BT m32, r32 with offset 35 reads bit 3 of the dword at EA + 4', () => {
    const cpu = makeCpu();
    poke32(cpu, DATA, 0); poke32(cpu, DATA + 4, 0x8);
    expect(runAsm(cpu, `bt [${DATA}], eax`, { eax: 35, eflags: 0 }).eflags & CF).toBe(CF);
    expect(runAsm(cpu, `bt [${DATA}], eax`, { eax: 36, eflags: CF }).eflags & CF).toBe(0);
  });

  it('BT m32, r32 with offset -1 reads bit 31 of the dword before EA', () => {
    const cpu = makeCpu();
    poke32(cpu, DATA - 4, 0x80000000); poke32(cpu, DATA, 0);
    expect(runAsm(cpu, `bt [${DATA}], eax`, { eax: -1 >>> 0, eflags: 0 }).eflags & CF).toBe(CF);
  });

  it('BTS m32, r32 with offset 100 sets bit 4 of the dword at EA + 12; CF = old bit', () => {
    const cpu = makeCpu();
    poke32(cpu, DATA + 12, 0x1);
    const r = runAsm(cpu, `bts [${DATA}], eax`, { eax: 100, eflags: CF });
    expect(r.eflags & CF).toBe(0);
    expect(peek32(cpu, DATA + 12)).toBe(0x11);
    expect(peek32(cpu, DATA)).toBe(0);
  });

  it('BTR m16, r16 with offset -17 clears bit 15 of the word at EA - 4', () => {
    const cpu = makeCpu();
    poke32(cpu, DATA - 4, 0xffffffff);
    const r = runAsm(cpu, `btr [${DATA}], ax`, { eax: 0xffef, eflags: 0 });
    expect(r.eflags & CF).toBe(CF);
    expect(peek32(cpu, DATA - 4).toString(16)).toBe('ffff7fff');
  });

  it('BTC m32, r32 with offset -2^31 complements bit 0 of the dword 2^28 bytes below EA', () => {
    const cpu = makeCpu();
    const base = 0x10000000 + 0x40000; // so that EA - 2^28 = 0x40000 is in RAM
    poke32(cpu, 0x40000, 0x2);
    const r = runAsm(cpu, 'btc [ebx], eax', { ebx: base, eax: 0x80000000, eflags: CF });
    expect(r.eflags & CF).toBe(0);
    expect(peek32(cpu, 0x40000)).toBe(0x3);
  });

  it('BTS m32, imm8 masks the immediate to 5 bits: offset 35 sets bit 3 of the addressed dword', () => {
    const cpu = makeCpu();
    poke32(cpu, DATA, 0); poke32(cpu, DATA + 4, 0);
    runAsm(cpu, `bts dword [${DATA}], 35`, {});
    expect([peek32(cpu, DATA), peek32(cpu, DATA + 4)]).toEqual([0x8, 0]);
  });

  it('BT r32, r32 takes the offset modulo 32', () => {
    const r = runAsm(makeCpu(), 'bt ecx, eax', { ecx: 0x4, eax: 34, eflags: 0 });
    expect(r.eflags & CF).toBe(CF);
  });

  it('BT leaves ZF alone (SDM BT: "The ZF flag is unaffected")', () => {
    const r = runAsm(makeCpu(), 'bt ecx, eax', { ecx: 0, eax: 0, eflags: ZF | CF });
    expect(r.eflags & (ZF | CF)).toBe(ZF);
  });
});

describe('BSF and BSR (SDM Vol. 2, BSF and BSR)', () => {
  it('a zero source sets ZF and leaves the destination unchanged (Intel and AMD processors, QEMU)', () => {
    // The 16-bit forms look at DX only: EDX's upper half is set to show that.
    const cases: [string, number][] = [['bsf ecx, edx', 0], ['bsr ecx, edx', 0], ['bsf cx, dx', 0xffff0000], ['bsr cx, dx', 0xffff0000]];
    for (const [asm, edx] of cases) {
      const r = runAsm(makeCpu(), asm, { ecx: 0x12345678, edx, eflags: 0 });
      expect(r.ecx, asm).toBe(0x12345678);
      expect(r.eflags & ZF, asm).toBe(ZF);
    }
  });

  it('a nonzero source clears ZF: BSF finds the lowest set bit, BSR the highest', () => {
    let r = runAsm(makeCpu(), 'bsf ecx, edx', { edx: 0x00f00100, eflags: ZF });
    expect([r.ecx, r.eflags & ZF]).toEqual([8, 0]);
    r = runAsm(makeCpu(), 'bsr ecx, edx', { edx: 0x00f00100, eflags: ZF });
    expect([r.ecx, r.eflags & ZF]).toEqual([23, 0]);
    r = runAsm(makeCpu(), `bsr cx, [${DATA}]`, { ecx: 0xabcd0000, eflags: ZF });
    expect(r.ecx).toBe(0xabcd0000); // memory is 0 here
  });
});

/** The conditions of SDM Vol. 1, appendix B (table B-1), written out from the flags. */
const CONDITIONS: [string, (f: number) => boolean][] = [
  ['o', (f) => (f & OF) !== 0], ['no', (f) => (f & OF) === 0],
  ['b', (f) => (f & CF) !== 0], ['ae', (f) => (f & CF) === 0],
  ['e', (f) => (f & ZF) !== 0], ['ne', (f) => (f & ZF) === 0],
  ['be', (f) => (f & (CF | ZF)) !== 0], ['a', (f) => (f & (CF | ZF)) === 0],
  ['s', (f) => (f & SF) !== 0], ['ns', (f) => (f & SF) === 0],
  ['p', (f) => (f & PF) !== 0], ['np', (f) => (f & PF) === 0],
  ['l', (f) => ((f & SF) !== 0) !== ((f & OF) !== 0)], ['ge', (f) => ((f & SF) !== 0) === ((f & OF) !== 0)],
  ['le', (f) => (f & ZF) !== 0 || ((f & SF) !== 0) !== ((f & OF) !== 0)], ['g', (f) => (f & ZF) === 0 && ((f & SF) !== 0) === ((f & OF) !== 0)],
];

describe('SETcc (SDM Vol. 2, SETcc; conditions from Vol. 1, table B-1)', () => {
  it('every condition, on every combination of CF ZF SF OF PF, to a register and to memory', () => {
    const cpu = makeCpu();
    for (const [cc, holds] of CONDITIONS) {
      const code = nasm(`bits 32\nset${cc} dl\nset${cc} byte [${DATA + 1}]\n`);
      for (let bits = 0; bits < 32; bits++) {
        const flags = (bits & 1 ? CF : 0) | (bits & 2 ? ZF : 0) | (bits & 4 ? SF : 0) | (bits & 8 ? OF : 0) | (bits & 16 ? PF : 0);
        poke32(cpu, DATA, 0xaaaaaaaa);
        const r = execSnippet(code, { edx: 0x12345677, eflags: flags }, cpu);
        const want = holds(flags) ? 1 : 0;
        expect(r.edx, `set${cc} with flags ${flags.toString(16)}`).toBe((0x12345600 | want) >>> 0);
        expect(peek32(cpu, DATA)).toBe((0xaaaa00aa | (want << 8)) >>> 0);
        expect(r.eflags & FLAGS_ARITH).toBe(flags);
      }
    }
  });
});
