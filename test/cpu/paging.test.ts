// 32-bit paging (SDM Vol. 3A, 4.3, 4.6, 4.7, 4.8): #PF error codes for each combination of
// P, W/R and U/S with CR2, CR0.WP, 4 MiB pages, accessed and dirty bits, and page faults
// during exception delivery (the double-fault rules of Vol. 3A table 6-5). The page tables
// are written here; expected error codes come from the bit layout of SDM figure 4-12.

import { describe, expect, it } from 'vitest';
import { AR_DB, AR_G } from '../../src/cpu/cpu';
import { run, StopReason, type Cpu } from '../../src/cpu/index';
import { CR0_PG, CR0_WP, CR4_PSE, CS, DS, EAX, ES, ESP, FS, GS, SS } from '../../src/cpu/registers';
import { nasm } from '../support/nasm';
import { CODE_BASE, faultVector, GDT_BASE, IDT_BASE, makeCpu } from './harness';

const PD = 0x100000, PT0 = 0x101000, PT1 = 0x102000;
const P = 1, RW = 2, US = 4, A = 0x20, D = 0x40, PS = 0x80;
const TSS = 0x28, TSS_BASE = 0x3000, KERNEL_STACK = 0x8800, USER_STACK = 0x6000;
/** Linear 0x400000 (PDE 1, PTE 0) maps to physical FRAME when present. */
const LIN = 0x400123, FRAME = 0x500000;
const DF = 8, GP = 13, PF = 14;

/**
 * Paging on with CR0.WP as given: linear 0-4 MiB identity-mapped through PT0 as user,
 * writable pages (except the pages listed in `unmapped`), PDE 1 -> PT1 with its PTE 0 = `pte`.
 */
function setup(pte: number, wp = true, unmapped: number[] = []): Cpu {
  const cpu = makeCpu();
  for (let page = 0; page < 1024; page++) {
    cpu.writePhys32(PT0 + page * 4, unmapped.includes(page) ? 0 : (page << 12) | P | RW | US);
  }
  cpu.writePhys32(PD, PT0 | P | RW | US);
  cpu.writePhys32(PD + 4, PT1 | P | RW | US);
  cpu.writePhys32(PT1, pte);
  cpu.writePhys32(TSS_BASE + 4, KERNEL_STACK);
  cpu.writePhys32(TSS_BASE + 8, 0x10);
  cpu.writePhys32(GDT_BASE + TSS, (TSS_BASE << 16) | 0x67);
  cpu.writePhys32(GDT_BASE + TSS + 4, 0x8b00);
  cpu.gdtrLimit = TSS + 7;
  cpu.trSel = TSS; cpu.trBase = TSS_BASE; cpu.trLimit = 0x67; cpu.trAR = 0x8b;
  cpu.cr3 = PD;
  cpu.cr0 |= CR0_PG | (wp ? CR0_WP : 0);
  cpu.tlb.flush(false);
  return cpu;
}

function load(cpu: Cpu, source: string): number {
  const code = nasm(`bits 32\norg ${CODE_BASE}\n${source}`);
  cpu.bus.ram.set(code, CODE_BASE);
  cpu.code.invalidateAll();
  cpu.eip = CODE_BASE;
  return code.length;
}

function enterRing3(cpu: Cpu): void {
  cpu.setSegmentCache(CS, 0x1b, 0, 0xffff_ffff, 0xfb | AR_DB | AR_G);
  for (const s of [SS, DS, ES, FS, GS]) cpu.setSegmentCache(s, 0x23, 0, 0xffff_ffff, 0xf3 | AR_DB | AR_G);
  cpu.setCpl(3);
  cpu.regs[ESP] = USER_STACK;
}

/** Dwords on top of the stack; the stacks used here are identity-mapped. */
const stack = (cpu: Cpu, n: number): number[] =>
  Array.from({ length: n }, (_, k) => cpu.readPhys32(cpu.regs[ESP] + 4 * k) >>> 0);

describe('#PF error codes (SDM Vol. 3A 4.7: P = protection, W = write, U = CPL 3)', () => {
  it.each([
    ['not present, supervisor read', 0, false, 0, true, 0],
    ['not present, supervisor write', 0, true, 0, true, 2],
    ['not present, user read', 3, false, 0, true, 4],
    ['not present, user write', 3, true, 0, true, 6],
    ['user read of a supervisor page', 3, false, P | RW, true, 5],
    ['user write of a supervisor page', 3, true, P | RW, true, 7],
    ['user write of a read-only user page', 3, true, P | US, true, 7],
    ['user write of a read-only page with CR0.WP = 0', 3, true, P | US, false, 7],
    ['supervisor write of a read-only page with CR0.WP = 1', 0, true, P | US, true, 3],
  ])('%s -> error code %i, CR2 = the linear address', (_what, cpl, write, pte, wp, code) => {
    const cpu = setup(pte === 0 ? 0 : FRAME | pte, wp);
    load(cpu, write ? `mov [${LIN}], eax` : `mov eax, [${LIN}]`);
    if (cpl === 3) enterRing3(cpu);
    run(cpu, 10);
    expect(faultVector(cpu)).toBe(PF);
    expect(cpu.cr2 >>> 0).toBe(LIN);
    // The fault is restartable: the frame holds the faulting instruction's EIP.
    expect(stack(cpu, 2)).toEqual([code, CODE_BASE]);
  });

  it.each([
    ['supervisor write of a read-only page with CR0.WP = 0', 0, true, P | US, false],
    ['supervisor read of a user page', 0, false, P | US, true],
    ['user write of a user, writable page', 3, true, P | RW | US, true],
  ])('%s is allowed (SDM Vol. 3A 4.6.1)', (_what, cpl, write, pte, wp) => {
    const cpu = setup(FRAME | pte, wp);
    const len = load(cpu, write ? `mov [${LIN}], eax` : `mov eax, [${LIN}]`);
    if (cpl === 3) enterRing3(cpu);
    cpu.regs[EAX] = 0x1234_5678;
    if (!write) cpu.writePhys32(FRAME + 0x123, 0x0bad_cafe);
    run(cpu, 1);
    expect(cpu.eip).toBe(CODE_BASE + len);
    expect(cpu.readPhys32(FRAME + 0x123) >>> 0).toBe(write ? 0x1234_5678 : 0x0bad_cafe);
    if (!write) expect(cpu.regs[EAX]).toBe(0x0bad_cafe);
  });

  it('U/S of the PDE restricts a user PTE (SDM 4.6.1: the stricter of both levels)', () => {
    const cpu = setup(FRAME | P | RW | US);
    cpu.writePhys32(PD + 4, PT1 | P | RW);
    load(cpu, `mov eax, [${LIN}]`);
    enterRing3(cpu);
    run(cpu, 10);
    expect(faultVector(cpu)).toBe(PF);
    expect(stack(cpu, 1)).toEqual([5]);
  });

  it('a PDE that is not present faults with CR2 = the address', () => {
    const cpu = setup(FRAME | P | RW);
    load(cpu, 'mov eax, [0x800010]');
    run(cpu, 10);
    expect(faultVector(cpu)).toBe(PF);
    expect([cpu.cr2, stack(cpu, 1)[0]]).toEqual([0x800010, 0]);
  });
});

describe('accessed and dirty bits (SDM Vol. 3A 4.8)', () => {
  it('a read sets A in the PDE and PTE, a write then sets D in the PTE only', () => {
    const cpu = setup(FRAME | P | RW);
    load(cpu, `mov eax, [${LIN}]\nmov [${LIN}], eax`);
    run(cpu, 1);
    expect(cpu.readPhys32(PT1) & (A | D)).toBe(A);
    expect(cpu.readPhys32(PD + 4) & (A | D)).toBe(A);
    run(cpu, 1);
    expect(cpu.readPhys32(PT1) & (A | D)).toBe(A | D);
    expect(cpu.readPhys32(PD + 4) & (A | D)).toBe(A);
  });
});

describe('4 MiB pages (SDM Vol. 3A 4.3, table 4-4)', () => {
  it('with CR4.PSE a PDE with PS maps 4 MiB; A and D are set in the PDE', () => {
    const cpu = setup(0);
    cpu.cr4 |= CR4_PSE;
    cpu.writePhys32(PD + 8, 0xc0_0000 | PS | RW | P);
    cpu.writePhys32(0xc0_1234, 0x7777_1111);
    load(cpu, 'mov eax, [0x801234]\nmov [0x9ffffc], eax');
    run(cpu, 1);
    expect(cpu.regs[EAX]).toBe(0x7777_1111);
    expect(cpu.readPhys32(PD + 8) & (A | D)).toBe(A);
    run(cpu, 1);
    expect(cpu.readPhys32(0xdf_fffc)).toBe(0x7777_1111);
    expect(cpu.readPhys32(PD + 8) & (A | D)).toBe(A | D);
  });

  it('without CR4.PSE the PS bit is ignored: the PDE points to a page table', () => {
    const cpu = setup(0);
    cpu.writePhys32(PD + 8, 0xc0_0000 | PS | RW | P);
    cpu.writePhys32(0xc0_0004, FRAME | RW | P);   // PTE 1 of that "table": linear 0x801000
    cpu.writePhys32(FRAME + 0x234, 0x5555_aaaa);
    load(cpu, 'mov eax, [0x801234]');
    run(cpu, 1);
    expect(cpu.regs[EAX]).toBe(0x5555_aaaa);
  });

  it('a reserved bit (21) in a 4 MiB PDE faults with P and RSVD set in the error code', () => {
    const cpu = setup(0);
    cpu.cr4 |= CR4_PSE;
    cpu.writePhys32(PD + 8, 0xc0_0000 | (1 << 21) | PS | RW | P);
    load(cpu, 'mov eax, [0x801234]');
    run(cpu, 10);
    expect(faultVector(cpu)).toBe(PF);
    expect([cpu.cr2, stack(cpu, 1)[0]]).toEqual([0x801234, 9]);
  });
});

describe('page faults during delivery (SDM Vol. 3A 6.15, table 6-5)', () => {
  // The IDT moves so that gates 0-13 lie on page 5 and gates 14 and up on page 6; unmapping
  // either page makes reading one of the gates fault.
  const IDT = 0x6000 - 14 * 8;
  function withSplitIdt(unmappedPage: number): Cpu {
    const cpu = setup(0, true, [unmappedPage]);
    for (let k = 0; k < 32 * 8; k += 4) cpu.writePhys32(IDT + k, cpu.readPhys32(IDT_BASE + k));
    cpu.idtrBase = IDT;
    return cpu;
  }

  it('#PF while delivering #PF becomes #DF', () => {
    const cpu = withSplitIdt(6);
    load(cpu, 'mov eax, [0x800000]');
    run(cpu, 10);
    expect(faultVector(cpu)).toBe(DF);
    expect(stack(cpu, 1)).toEqual([0]);
    expect(cpu.cr2).toBe(0x6000);
  });

  it('#PF while delivering #GP (contributory, then page fault) is delivered as a #PF', () => {
    const cpu = withSplitIdt(5);
    load(cpu, 'jmp 0:0');
    run(cpu, 10);
    expect(faultVector(cpu)).toBe(PF);
    expect(stack(cpu, 2)).toEqual([0, CODE_BASE]);
    expect(cpu.cr2).toBe(IDT + GP * 8);
  });

  it('a kernel stack that is not mapped turns a #PF into a triple fault', () => {
    const cpu = setup(0, true, [8]);
    cpu.regs[ESP] = 0x9000;
    load(cpu, 'mov eax, [0x800000]');
    run(cpu, 10);
    expect(cpu.stopReason).toBe(StopReason.TripleFault);
    expect(cpu.stopMessage).toBe('triple fault at EIP 0x00010000: #PF(0x0) then #PF(0x2) then #DF then #PF(0x2)');
    expect(cpu.cr2).toBe(0x8ffc);
  });
});
