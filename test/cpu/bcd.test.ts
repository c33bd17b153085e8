// The worked examples of the SDM's DAA and DAS pages, and AAM/AAD with a base other than 10.
import { describe, expect, it } from 'vitest';
import { makeCpu } from './harness';
import { runAsm } from './snippet';

const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80;
const SZAPC = SF | ZF | AF | PF | CF;

describe('decimal adjustment (SDM Vol. 2, DAA and DAS examples)', () => {
  it('ADD AL, BL with AL = 79H, BL = 35H gives AEH; DAA gives 14H with CF = AF = 1', () => {
    const add = runAsm(makeCpu(), 'add al, bl', { eax: 0x79, ebx: 0x35, eflags: 0 });
    expect([add.eax, add.eflags & SZAPC]).toEqual([0xae, SF]);
    const daa = runAsm(makeCpu(), 'add al, bl\ndaa', { eax: 0x79, ebx: 0x35, eflags: 0 });
    // SDM: "After: AL=14H BL=35H EFLAGS(OSZAPC)=X00111".
    expect([daa.eax, daa.eflags & SZAPC]).toEqual([0x14, AF | PF | CF]);
  });

  it('SUB AL, BL with AL = 35H, BL = 47H gives EEH; DAS gives 88H with SF = AF = PF = CF = 1', () => {
    const das = runAsm(makeCpu(), 'sub al, bl\ndas', { eax: 0x35, ebx: 0x47, eflags: 0 });
    // SDM: "After: AL=88H BL=47H EFLAGS(OSZAPC)=X10111".
    expect([das.eax, das.eflags & SZAPC]).toEqual([0x88, SF | AF | PF | CF]);
  });
});

describe('ASCII adjustment with another base (SDM Vol. 2, AAM and AAD: "imm8 set to any value")', () => {
  it('AAM 16 splits AL into its hex digits: AH = AL / 16, AL = AL mod 16', () => {
    const r = runAsm(makeCpu(), 'aam 16', { eax: 0xff00007b, eflags: 0 });
    expect(r.eax).toBe(0xff00070b);
  });

  it('AAD 16 joins them again: AL = AL + AH * 16, AH = 0', () => {
    const r = runAsm(makeCpu(), 'aad 16', { eax: 0xff00070b, eflags: ZF });
    expect([r.eax, r.eflags & (ZF | SF)]).toEqual([0xff00007b, 0]);
  });
});
