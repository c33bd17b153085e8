// System instructions (SDM Vol. 2 and Vol. 3A): the descriptor-table registers and descriptor
// checks, SYSENTER/SYSEXIT, RDTSC and RDPMC, and the decoded length of every system opcode
// against nasm. Each privilege test names the SDM rule it checks; descriptor-check results
// are worked out by hand from the SDM's pseudocode, row by row.

import { describe, expect, it } from 'vitest';
import { AR_UNUSABLE, type Cpu } from '../../src/cpu/cpu';
import { decode } from '../../src/cpu/decoder';
import { Insn } from '../../src/cpu/insn';
import {
  CR0_PE, CR0_PG, CR4_PCE, CR4_TSD, CS, DS, ES, ESP, FLAG_IF, FLAG_ZF, FS, GS, SS,
} from '../../src/cpu/registers';
import { nasm } from '../support/nasm';
import { CODE_BASE, execSnippet, FAULT_BASE, GDT_BASE, IDT_BASE, makeCpu, type SnippetResult, type SnippetState } from './harness';

const GP = 13, NP = 11, UD = 6, PF = 14;
const DATA = 0x20000;
const TSS_BASE = 0x3000, RING0_STACK = 0x8000, RING3_STACK = 0x7000;

// ---------------------------------------------------------------- rig

interface Outcome extends SnippetResult { errorCode?: number; faultEip?: number }

/** Assembles 32-bit `source` at CODE_BASE and runs it to its end or into an exception handler. */
function run(cpu: Cpu, source: string, state: SnippetState = {}): Outcome {
  const r: Outcome = execSnippet(nasm(`bits 32\norg ${CODE_BASE}\n${source}\n`), state, cpu);
  if (r.fault !== undefined && cpu.protectedMode) {
    const sp = cpu.regs[ESP];
    const withCode = r.fault === GP || r.fault === NP || r.fault === PF;
    r.errorCode = withCode ? cpu.readPhys32(sp) : undefined;
    r.faultEip = cpu.readPhys32(withCode ? sp + 4 : sp) >>> 0;
  }
  return r;
}

/** A 32-bit TSS whose SS0:ESP0 (0x10:RING0_STACK) receives exceptions raised at CPL > 0. */
function installTss(cpu: Cpu): void {
  cpu.writePhys32(TSS_BASE + 4, RING0_STACK);
  cpu.writePhys32(TSS_BASE + 8, 0x10);
  cpu.trBase = TSS_BASE; cpu.trLimit = 0x67; cpu.trAR = 0x8b;
}

/** Flat code and data of DPL `cpl` (GDT 0x18/0x20 for ring 3, 0x28/0x30 added for ring 1). */
function enterRing(cpu: Cpu, cpl: 1 | 3): void {
  cpu.writePhys32(GDT_BASE + 0x28, 0x0000ffff); cpu.writePhys32(GDT_BASE + 0x2c, 0x00cfba00);
  cpu.writePhys32(GDT_BASE + 0x30, 0x0000ffff); cpu.writePhys32(GDT_BASE + 0x34, 0x00cfb200);
  cpu.gdtrLimit = Math.max(cpu.gdtrLimit, 7 * 8 - 1);
  installTss(cpu);
  const code = cpl === 3 ? 0x1b : 0x29, data = cpl === 3 ? 0x23 : 0x31;
  cpu.setSegmentCache(CS, code, 0, 0xffff_ffff, 0xc09b | (cpl << 5));
  for (const s of [ES, SS, DS, FS, GS]) cpu.setSegmentCache(s, data, 0, 0xffff_ffff, 0xc093 | (cpl << 5));
  cpu.setCpl(cpl);
  cpu.regs[ESP] = RING3_STACK;
}

/** Real-address mode with the descriptor caches left as they are, and an IVT sending vector v to the harness's HLT for v. */
function enterRealMode(cpu: Cpu): void {
  for (let v = 0; v < 32; v++) cpu.writePhys32(v * 4, FAULT_BASE + 16 * v);
  cpu.idtrBase = 0; cpu.idtrLimit = 0x3ff;
  expect(run(cpu, 'mov eax, cr0\nand eax, ~1\nmov cr0, eax').fault).toBeUndefined();
  expect(cpu.protectedMode).toBe(false);
}

/** Writes GDT entry `sel` and grows the GDT limit to cover it. */
function setDescriptor(cpu: Cpu, sel: number, [lo, hi]: [number, number]): void {
  cpu.writePhys32(GDT_BASE + (sel & ~7), lo);
  cpu.writePhys32(GDT_BASE + (sel & ~7) + 4, hi);
  cpu.gdtrLimit = Math.max(cpu.gdtrLimit, (sel & ~7) + 7);
}

interface DescOpts { base?: number; limit?: number; s?: boolean; dpl?: number; present?: boolean; g?: boolean }
/**
 * A descriptor (SDM Vol. 3A, figure 3-8): `type` is the 4-bit type field, S says code/data (1)
 * or system (0); code and data segments get D/B = 1.
 */
function descriptor(type: number, { base = 0, limit = 0xfffff, s = true, dpl = 0, present = true, g = false }: DescOpts = {}): [number, number] {
  const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
  const hi = (base & 0xff00_0000) | ((base >>> 16) & 0xff) | (limit & 0xf_0000) | (type << 8) | (s ? 1 << 12 : 0) |
    (dpl << 13) | (present ? 1 << 15 : 0) | (s ? 1 << 22 : 0) | (g ? 1 << 23 : 0);
  return [lo | 0, hi | 0];
}

const peek16 = (cpu: Cpu, a: number) => cpu.readPhys(a, 2);
const peek32 = (cpu: Cpu, a: number) => cpu.readPhys32(a) >>> 0;

// ---------------------------------------------------------------- decoder lengths

describe('decoded length of every system opcode equals nasm\'s encoding', () => {
  const forms = [
    'sgdt [eax]', 'sidt [ebx+0x12345678]', 'lgdt [esp+8]', 'lidt [ecx*4+0x100]', 'o16 sgdt [eax]', 'o16 lgdt [eax]',
    'sgdt [bx+si+4]', 'lidt [0x1234]', 'smsw [eax]', 'smsw eax', 'o16 smsw ax', 'lmsw [ebp-4]', 'lmsw dx',
    'invlpg [eax+ebx*2+0x10]', 'sldt eax', 'sldt [esi]', 'o16 sldt ax', 'str edx', 'str [0x20000]', 'lldt ax',
    'lldt [eax]', 'ltr bx', 'ltr [edi+0x7f]', 'verr cx', 'verr [eax]', 'verw word [ebx+4]', 'lar eax, ebx',
    'lar ax, [eax]', 'lar eax, [esp+ebp*8]', 'lsl ecx, edx', 'o16 lsl cx, [0x4000]', 'arpl ax, bx', 'arpl [eax+1], cx',
    'clts', 'invd', 'wbinvd', 'mov eax, cr0', 'mov cr3, ecx', 'mov edx, cr4', 'mov cr2, esi', 'mov eax, dr7',
    'mov dr0, ebx', 'mov esi, dr6', 'wrmsr', 'rdtsc', 'rdmsr', 'rdpmc', 'sysenter', 'sysexit', 'cpuid',
  ];
  const source = forms.map((f, k) => `i${k}: ${f}`).join('\n') +
    `\ni${forms.length}:\nlengths: db ${forms.map((_, k) => `i${k + 1} - i${k}`).join(', ')}`;
  const image = nasm(`bits 32\norg ${CODE_BASE}\n${source}\n`);
  const cpu = makeCpu();
  cpu.ram.set(image, CODE_BASE);
  let offset = 0;
  const cases = forms.map((form, k) => {
    const len = image[image.length - forms.length + k];
    const at = offset;
    offset += len;
    return { form, len, at };
  });

  it.each(cases)('$form: $len bytes', ({ form, len, at }) => {
    const i = new Insn(() => undefined);
    decode(cpu, CODE_BASE + at, i);
    expect(i.len).toBe(len);
    const mnemonic = form.replace(/^o16 /, '').split(' ')[0];
    expect(i.def?.name).toBe(mnemonic);
  });
});

// ---------------------------------------------------------------- GDTR and IDTR

describe('SGDT, SIDT, LGDT, LIDT', () => {
  it('SGDT and SIDT store the 16-bit limit then the 32-bit base', () => {
    const cpu = makeCpu();
    cpu.gdtrBase = 0x12345678; cpu.gdtrLimit = 0x0fff;
    cpu.idtrBase = 0x9abcdef0 | 0; cpu.idtrLimit = 0x07ff;
    expect(run(cpu, `sgdt [${DATA}]\nsidt [${DATA + 8}]`).fault).toBeUndefined();
    expect([peek16(cpu, DATA), peek32(cpu, DATA + 2)]).toEqual([0x0fff, 0x12345678]);
    expect([peek16(cpu, DATA + 8), peek32(cpu, DATA + 10)]).toEqual([0x07ff, 0x9abcdef0]);
  });

  it('SGDT with a 16-bit operand size stores 24 bits of base and a zero sixth byte (P6-era SDM pseudocode DEST[40:47] := 0; QEMU 7.2 does the same)', () => {
    const cpu = makeCpu();
    cpu.gdtrBase = 0x01234560; cpu.gdtrLimit = 0x1234;
    cpu.writePhys32(DATA, 0xaaaaaaaa | 0); cpu.writePhys32(DATA + 4, 0xaaaaaaaa | 0);
    expect(run(cpu, `o16 sgdt [${DATA}]`).fault).toBeUndefined();
    // QEMU printed 45601234 aaaa0023 for these two dwords: bytes 34 12 60 45 23 00, then untouched aa aa.
    expect([peek32(cpu, DATA), peek32(cpu, DATA + 4)]).toEqual([0x45601234, 0xaaaa0023]);
  });

  it('LGDT and LIDT load limit and base; with a 16-bit operand size the base\'s top byte is 0 (SDM Vol. 2 LGDT)', () => {
    const cpu = makeCpu();
    cpu.writePhys(DATA, 2, 0x4321); cpu.writePhys32(DATA + 2, 0x12345678);
    const r = run(cpu, `o16 lgdt [${DATA}]\nlidt [${DATA}]\nsgdt [${DATA + 8}]\nlgdt [${DATA + 8}]`);
    expect(r.fault).toBeUndefined();
    expect([cpu.idtrLimit, cpu.idtrBase >>> 0]).toEqual([0x4321, 0x12345678]);
    // QEMU printed 56784321 0034 for SGDT after o16 LGDT of base 12345678H.
    expect([cpu.gdtrLimit, cpu.gdtrBase >>> 0]).toEqual([0x4321, 0x00345678]);
  });

  it('LGDT whose base dword faults (#PF) leaves GDTR as it was: both reads come before the load', () => {
    const cpu = makeCpu();
    mapFirst4MiB(cpu, { notPresent: [0x21000] });
    cpu.writePhys(0x20ffe, 2, 0x0fff);
    const r = run(cpu, 'lgdt [0x20ffe]');
    expect(r.fault).toBe(PF);
    expect([cpu.gdtrBase, cpu.gdtrLimit]).toEqual([GDT_BASE, 5 * 8 - 1]);
  });

  it('SGDT whose base dword would fault (#PF) writes nothing, not even the limit', () => {
    const cpu = makeCpu();
    mapFirst4MiB(cpu, { notPresent: [0x21000] });
    cpu.writePhys32(0x20ffc, 0x11111111);
    expect(run(cpu, 'sgdt [0x20ffe]').fault).toBe(PF);
    expect(peek32(cpu, 0x20ffc)).toBe(0x11111111);
  });

  it('LGDT and LIDT with a register operand are #UD (SDM Vol. 2 LGDT: "If source operand is not a memory location")', () => {
    const cpu = makeCpu();
    expect(run(cpu, 'db 0x0f, 0x01, 0xd8').fault).toBe(UD);   // 0F 01 /3 with mod = 3
  });
});

function mapFirst4MiB(cpu: Cpu, { notPresent = [] as number[] } = {}): void {
  const dir = 0x100000, table = 0x101000;
  for (let p = 0; p < 1024; p++) cpu.writePhys32(table + 4 * p, notPresent.includes(p << 12) ? 0 : (p << 12) | 3);
  cpu.writePhys32(dir, table | 3);
  cpu.cr3 = dir;
  cpu.cr0 |= CR0_PG;
  cpu.tlb.flush(false);
}

// ---------------------------------------------------------------- privilege

describe('privileged and sensitive-but-unprivileged instructions', () => {
  const privileged = [
    { name: 'LGDT', insn: `lgdt [${DATA}]` }, { name: 'LIDT', insn: `lidt [${DATA}]` },
    { name: 'LLDT', insn: 'lldt ax' }, { name: 'LTR', insn: 'ltr ax' },
  ];
  it.each(privileged)('$name at CPL 3 and CPL 1 raises #GP(0) with nothing changed — SDM Vol. 2 $name protected-mode exceptions: "#GP(0) if the current privilege level is not 0"', ({ insn }) => {
    for (const cpl of [3, 1] as const) {
      const cpu = makeCpu();
      cpu.writePhys32(DATA, 0xffff); cpu.writePhys32(DATA + 2, 0x5555);
      enterRing(cpu, cpl);
      const r = run(cpu, insn, { eax: 0x28 });
      expect(r.fault).toBe(GP);
      expect(r.errorCode).toBe(0);
      expect(r.faultEip).toBe(CODE_BASE);
      expect([cpu.gdtrBase, cpu.idtrBase, cpu.ldtrSel]).toEqual([GDT_BASE, IDT_BASE, 0]);
    }
  });

  it('SGDT, SIDT, SLDT, STR and SMSW at CPL 3 do not fault and reveal the real GDTR, IDTR, LDTR, TR and CR0 (SDM Vol. 2: no CPL check; the sensitive-but-unprivileged instructions)', () => {
    const cpu = makeCpu();
    enterRing(cpu, 3);
    cpu.ldtrSel = 0x48; cpu.trSel = 0x38;
    const r = run(cpu, `sgdt [${DATA}]\nsidt [${DATA + 8}]\nsldt eax\nstr ebx\nsmsw ecx`, { eax: 0xdeadbeef, ebx: 0xdeadbeef });
    expect(r.fault).toBeUndefined();
    expect([peek16(cpu, DATA), peek32(cpu, DATA + 2)]).toEqual([7 * 8 - 1, GDT_BASE]);
    expect([peek16(cpu, DATA + 8), peek32(cpu, DATA + 10)]).toEqual([32 * 8 - 1, IDT_BASE]);
    expect([r.eax, r.ebx, r.ecx]).toEqual([0x48, 0x38, cpu.cr0 >>> 0]);
  });
});

// ---------------------------------------------------------------- LDTR and TR

describe('SLDT, STR, LLDT, LTR', () => {
  const TSS32 = 0x40, TSS16 = 0x48, DATA_SEG = 0x50, TSS_ABSENT = 0x58, LDT_SEG = 0x60, LDT_ABSENT = 0x68;
  function rig(): Cpu {
    const cpu = makeCpu();
    setDescriptor(cpu, TSS32, descriptor(0x9, { base: TSS_BASE, limit: 0x67, s: false }));
    setDescriptor(cpu, TSS16, descriptor(0x1, { base: 0x3100, limit: 0x2b, s: false }));
    setDescriptor(cpu, DATA_SEG, descriptor(0x3));
    setDescriptor(cpu, TSS_ABSENT, descriptor(0x9, { base: TSS_BASE, limit: 0x67, s: false, present: false }));
    setDescriptor(cpu, LDT_SEG, descriptor(0x2, { base: 0x4000, limit: 0x17, s: false }));
    setDescriptor(cpu, LDT_ABSENT, descriptor(0x2, { base: 0x4000, limit: 0x17, s: false, present: false }));
    return cpu;
  }

  it('SLDT/STR to a 32-bit register zero-extend the selector, to a 16-bit register keep the high half, to memory write 16 bits', () => {
    const cpu = rig();
    cpu.ldtrSel = 0x60; cpu.trSel = 0x40;
    cpu.writePhys32(DATA, 0xffffffff | 0);
    const r = run(cpu, `sldt eax\no16 str bx\nstr [${DATA}]`, { eax: 0x12345678, ebx: 0x12345678 });
    expect([r.eax, r.ebx, peek32(cpu, DATA)]).toEqual([0x60, 0x12340040, 0xffff0040]);
  });

  it('LTR loads TR from an available 32-bit TSS and marks it busy in the GDT (type 9 -> 0BH)', () => {
    const cpu = rig();
    expect(run(cpu, 'ltr ax', { eax: TSS32 }).fault).toBeUndefined();
    expect(peek32(cpu, GDT_BASE + TSS32 + 4)).toBe(0x00008b00);
    expect([cpu.trSel, cpu.trBase, cpu.trLimit, cpu.trAR]).toEqual([TSS32, TSS_BASE, 0x67, 0x8b]);
  });

  it('LTR of a TSS already busy raises #GP(selector) — SDM Vol. 2 LTR: "not an available TSS"', () => {
    const cpu = rig();
    run(cpu, 'ltr ax', { eax: TSS32 });
    const r = run(cpu, 'ltr ax', { eax: TSS32 });
    expect([r.fault, r.errorCode]).toEqual([GP, TSS32]);
  });

  it('LTR of a 16-bit available TSS (type 1) marks it busy (type 3)', () => {
    const cpu = rig();
    expect(run(cpu, 'ltr ax', { eax: TSS16 | 3 }).fault).toBeUndefined();
    expect((peek32(cpu, GDT_BASE + TSS16 + 4) >> 8) & 0xf).toBe(3);
    expect([cpu.trSel, cpu.trBase, cpu.trLimit]).toEqual([TSS16 | 3, 0x3100, 0x2b]);
  });

  it.each([
    ['a null selector', '#GP(0)', 0, GP, 0],
    ['a selector with TI = 1', '#GP(selector)', TSS32 | 4, GP, TSS32 | 4],
    ['a data segment', '#GP(selector)', DATA_SEG, GP, DATA_SEG],
    ['an LDT descriptor', '#GP(selector)', LDT_SEG, GP, LDT_SEG],
    ['a selector beyond the GDT limit', '#GP(selector)', 0x200, GP, 0x200],
    ['a TSS that is not present', '#NP(selector)', TSS_ABSENT, NP, TSS_ABSENT],
  ])('LTR of %s raises %s and leaves TR alone (SDM Vol. 2 LTR exceptions)', (_what, _name, sel, vector, code) => {
    const cpu = rig();
    const r = run(cpu, 'ltr ax', { eax: sel });
    expect([r.fault, r.errorCode]).toEqual([vector, code]);
    expect(cpu.trSel).toBe(0);
  });

  it('LLDT loads LDTR, after which TI = 1 selectors find their descriptors in that LDT', () => {
    const cpu = rig();
    // LDT entry 1 (selector 0x0C | RPL): a DPL-3 data segment.
    cpu.writePhys32(0x4008, descriptor(0x3, { dpl: 3 })[0]);
    cpu.writePhys32(0x400c, descriptor(0x3, { dpl: 3 })[1]);
    const r = run(cpu, 'lldt ax\nlar ecx, ebx', { eax: LDT_SEG, ebx: 0x0f });
    expect(r.fault).toBeUndefined();
    expect([cpu.ldtrSel, cpu.ldtrBase, cpu.ldtrLimit, cpu.ldtrAR]).toEqual([LDT_SEG, 0x4000, 0x17, 0x82]);
    expect(r.eflags & FLAG_ZF).toBe(FLAG_ZF);
    // High dword 004FF300H (D/B, limit 19:16 = FH, P, DPL 3, S, type 3) masked by 00F0FF00H.
    expect(r.ecx).toBe(0x0040f300);
  });

  it('LLDT of a null selector makes LDTR unusable: LDT references then fail (LAR clears ZF)', () => {
    const cpu = rig();
    run(cpu, 'lldt ax', { eax: LDT_SEG });
    const r = run(cpu, 'lldt ax\nlar ecx, ebx', { eax: 0, ebx: 0x0f, ecx: 0x5a5a5a5a });
    expect(r.fault).toBeUndefined();
    expect(cpu.ldtrAR & AR_UNUSABLE).toBe(AR_UNUSABLE);
    expect([r.eflags & FLAG_ZF, r.ecx]).toEqual([0, 0x5a5a5a5a]);
  });

  it.each([
    ['a TSS descriptor', '#GP(selector)', TSS32, GP, TSS32],
    ['a selector with TI = 1', '#GP(selector)', LDT_SEG | 4, GP, LDT_SEG | 4],
    ['an LDT descriptor that is not present', '#NP(selector)', LDT_ABSENT, NP, LDT_ABSENT],
  ])('LLDT of %s raises %s (SDM Vol. 2 LLDT exceptions)', (_what, _name, sel, vector, code) => {
    const cpu = rig();
    const r = run(cpu, 'lldt ax', { eax: sel });
    expect([r.fault, r.errorCode]).toEqual([vector, code]);
  });
});

// ---------------------------------------------------------------- LAR, LSL, VERR, VERW

describe('LAR, LSL, VERR and VERW over descriptor types and privileges (SDM Vol. 2 pseudocode)', () => {
  // Results for three contexts, in this order: CPL 0 with RPL 0, CPL 0 with RPL 3, CPL 3 with RPL 3.
  // 1 = ZF set (accessible / destination loaded), 0 = ZF clear. Worked out by hand:
  // - VERR: S = 1, and readable (data, or code with R); then DPL >= CPL and DPL >= RPL unless conforming code.
  // - VERW: S = 1 and writable data; DPL >= CPL and DPL >= RPL.
  // - LAR: any code/data, or system types 1 2 3 4 5 9 B C; LSL: code/data or types 1 2 3 9 B;
  //   then the same privilege rule, conforming code exempt. None of the four looks at P.
  interface Row { name: string; desc: [number, number]; verr: string; verw: string; lar: string; lsl: string }
  const rows: Row[] = [
    { name: 'data read/write DPL 0', desc: descriptor(0x3), verr: '100', verw: '100', lar: '100', lsl: '100' },
    { name: 'data read/write DPL 3', desc: descriptor(0x3, { dpl: 3 }), verr: '111', verw: '111', lar: '111', lsl: '111' },
    { name: 'data read-only DPL 3', desc: descriptor(0x1, { dpl: 3 }), verr: '111', verw: '000', lar: '111', lsl: '111' },
    { name: 'data read/write DPL 3, not present', desc: descriptor(0x3, { dpl: 3, present: false }), verr: '111', verw: '111', lar: '111', lsl: '111' },
    { name: 'code execute-only DPL 3', desc: descriptor(0x9, { dpl: 3 }), verr: '000', verw: '000', lar: '111', lsl: '111' },
    { name: 'code execute/read DPL 0', desc: descriptor(0xb), verr: '100', verw: '000', lar: '100', lsl: '100' },
    { name: 'code execute/read conforming DPL 0', desc: descriptor(0xf), verr: '111', verw: '000', lar: '111', lsl: '111' },
    { name: 'code execute-only conforming DPL 0', desc: descriptor(0xd), verr: '000', verw: '000', lar: '111', lsl: '111' },
    { name: '32-bit TSS available DPL 0', desc: descriptor(0x9, { s: false, limit: 0x67 }), verr: '000', verw: '000', lar: '100', lsl: '100' },
    { name: '16-bit TSS busy DPL 3', desc: descriptor(0x3, { s: false, dpl: 3, limit: 0x2b }), verr: '000', verw: '000', lar: '111', lsl: '111' },
    { name: 'LDT DPL 3', desc: descriptor(0x2, { s: false, dpl: 3, limit: 0x17 }), verr: '000', verw: '000', lar: '111', lsl: '111' },
    { name: '32-bit call gate DPL 3', desc: descriptor(0xc, { s: false, dpl: 3 }), verr: '000', verw: '000', lar: '111', lsl: '000' },
    { name: 'task gate DPL 3', desc: descriptor(0x5, { s: false, dpl: 3 }), verr: '000', verw: '000', lar: '111', lsl: '000' },
    { name: '32-bit interrupt gate DPL 3', desc: descriptor(0xe, { s: false, dpl: 3 }), verr: '000', verw: '000', lar: '000', lsl: '000' },
    { name: '32-bit trap gate DPL 3', desc: descriptor(0xf, { s: false, dpl: 3 }), verr: '000', verw: '000', lar: '000', lsl: '000' },
    { name: 'reserved system type 0 DPL 3', desc: descriptor(0x0, { s: false, dpl: 3 }), verr: '000', verw: '000', lar: '000', lsl: '000' },
    { name: 'reserved system type 8 DPL 3', desc: descriptor(0x8, { s: false, dpl: 3 }), verr: '000', verw: '000', lar: '000', lsl: '000' },
  ];
  const FIRST = 0x80;
  const contexts = [{ cpl: 0, rpl: 0 }, { cpl: 0, rpl: 3 }, { cpl: 3, rpl: 3 }];
  const cpus = contexts.map(({ cpl }) => {
    const cpu = makeCpu();
    if (cpl === 3) enterRing(cpu, 3);
    rows.forEach((row, k) => setDescriptor(cpu, FIRST + 8 * k, row.desc));
    return cpu;
  });
  const code = {
    verr: nasm('bits 32\nverr bx'), verw: nasm('bits 32\nverw bx'),
    lar: nasm('bits 32\nlar eax, bx'), lsl: nasm('bits 32\nlsl eax, bx'),
  };

  /** ZF after `op` on `sel`, the same whether ZF started set or clear; a failed LAR/LSL leaves EAX alone. */
  function zf(op: keyof typeof code, ctx: number, sel: number): string {
    const results = [0, FLAG_ZF].map((eflags) => {
      const r = execSnippet(code[op], { ebx: sel | contexts[ctx].rpl, eax: 0x5a5a5a5a, eflags }, cpus[ctx]);
      expect(r.fault).toBeUndefined();
      if ((r.eflags & FLAG_ZF) === 0 && (op === 'lar' || op === 'lsl')) expect(r.eax).toBe(0x5a5a5a5a);
      return (r.eflags & FLAG_ZF) !== 0 ? '1' : '0';
    });
    expect(results[0]).toBe(results[1]);
    return results[0];
  }

  it.each(rows.map((row, k) => ({ ...row, sel: FIRST + 8 * k })))('$name', ({ sel, verr, verw, lar, lsl }) => {
    const got = (op: keyof typeof code) => [0, 1, 2].map((ctx) => zf(op, ctx, sel)).join('');
    expect({ verr: got('verr'), verw: got('verw'), lar: got('lar'), lsl: got('lsl') }).toEqual({ verr, verw, lar, lsl });
  });

  it.each([['the null selector', 0], ['a selector beyond the GDT limit', 0x3f8], ['an LDT selector while LDTR is null', 0x0c]])(
    '%s: all four clear ZF, no fault', (_what, sel) => {
      for (const op of ['verr', 'verw', 'lar', 'lsl'] as const) expect(zf(op, 0, sel)).toBe('0');
    });

  it('LAR returns the access-rights bytes, LSL the limit scaled by G', () => {
    const cpu = makeCpu();
    setDescriptor(cpu, 0x40, descriptor(0x3, { dpl: 3, limit: 0x12345 }));
    setDescriptor(cpu, 0x48, descriptor(0xb, { limit: 0x00abc, g: true }));
    const r = run(cpu, 'lar eax, bx\nlsl ecx, bx\no16 lar dx, si\nlsl edi, si', { ebx: 0x40, esi: 0x48, edx: 0x77777777 });
    // Descriptor 0x40 high dword: D/B (22), limit 19:16 = 1, P, DPL 3, S, type 3 = 0041F300H; LAR masks
    // it with 00FxFF00H and clears the undefined x (limit 19:16) as QEMU does.
    expect(r.eax).toBe(0x0040f300);
    expect(r.ecx).toBe(0x12345);
    // 16-bit LAR: bits 15:8 only (P, DPL 0, S, type 0BH), high half of EDX kept.
    expect(r.edx).toBe(0x77779b00);
    // G = 1: (0ABCH << 12) | 0FFFH.
    expect(r.edi).toBe(0x00abcfff);
  });
});

// ---------------------------------------------------------------- ARPL

describe('ARPL', () => {
  it.each([
    { dest: 0x0010, src: 0x0023, result: 0x0013, zf: 1 },
    { dest: 0x0013, src: 0x0010, result: 0x0013, zf: 0 },
    { dest: 0x0011, src: 0x0012, result: 0x0012, zf: 1 },
    { dest: 0x0012, src: 0x0012, result: 0x0012, zf: 0 },
  ].map((c) => ({ ...c, name: `${c.dest.toString(16)}H, ${c.src.toString(16)}H gives ${c.result.toString(16)}H and ZF = ${c.zf}` })))(
    'ARPL $name (SDM Vol. 2 ARPL: raise the destination RPL if lower)', ({ dest, src, result, zf }) => {
      const r = run(makeCpu(), 'arpl ax, bx', { eax: 0xabcd0000 | dest, ebx: src });
      expect([r.eax, r.eflags & FLAG_ZF]).toEqual([(0xabcd0000 | result) >>> 0, zf ? FLAG_ZF : 0]);
    });

  it('ARPL with a memory destination rewrites the word', () => {
    const cpu = makeCpu();
    cpu.writePhys32(DATA, 0x55550008);
    run(cpu, `arpl [${DATA}], cx`, { ecx: 2 });
    expect(peek32(cpu, DATA)).toBe(0x5555000a);
  });
});

// ---------------------------------------------------------------- real mode

describe('real-address mode', () => {
  it.each(['sldt ax', 'str ax', 'lldt ax', 'ltr ax', 'verr ax', 'verw ax', 'lar eax, ebx', 'lsl eax, ebx', 'arpl ax, bx'])(
    '%s raises #UD — SDM Vol. 2: "not recognized in real-address mode"', (insn) => {
      const cpu = makeCpu();
      enterRealMode(cpu);
      expect(run(cpu, insn).fault).toBe(UD);
    });

  it('SGDT, SIDT, SMSW and LGDT work in real mode', () => {
    const cpu = makeCpu();
    enterRealMode(cpu);
    cpu.writePhys(DATA, 2, 0x00ff); cpu.writePhys32(DATA + 2, 0x00020000);
    const r = run(cpu, `sgdt [${DATA + 8}]\nsidt [${DATA + 16}]\nsmsw eax\nlgdt [${DATA}]`);
    expect(r.fault).toBeUndefined();
    expect([peek16(cpu, DATA + 8), peek32(cpu, DATA + 10)]).toEqual([5 * 8 - 1, GDT_BASE]);
    expect([peek16(cpu, DATA + 16), peek32(cpu, DATA + 18)]).toEqual([0x3ff, 0]);
    expect(r.eax & CR0_PE).toBe(0);
    expect([cpu.gdtrLimit, cpu.gdtrBase]).toEqual([0xff, 0x20000]);
  });
});

// ---------------------------------------------------------------- SYSENTER / SYSEXIT

describe('SYSENTER and SYSEXIT', () => {
  const KERNEL_ESP = 0x8800, KERNEL_ENTRY = 0x18000;
  /** IA32_SYSENTER_CS/ESP/EIP set by WRMSR at CPL 0; the kernel entry at KERNEL_ENTRY records what it finds. */
  function rig(sysenterCs = 0x08): Cpu {
    const cpu = makeCpu();
    cpu.ram.set(nasm(`bits 32
org ${KERNEL_ENTRY}
  mov [${DATA}], esp
  mov [${DATA + 4}], cs
  mov [${DATA + 8}], ss
  pushfd
  pop dword [${DATA + 12}]
  sysexit`), KERNEL_ENTRY);
    const r = run(cpu, `xor edx, edx
mov ecx, 0x174
mov eax, ${sysenterCs}
wrmsr
inc ecx
mov eax, ${KERNEL_ESP}
wrmsr
inc ecx
mov eax, ${KERNEL_ENTRY}
wrmsr`);
    expect(r.fault).toBeUndefined();
    return cpu;
  }

  it('round trip from ring 3: SYSENTER gives flat ring 0 (CS = SYSENTER_CS, SS = CS + 8, IF = 0), SYSEXIT flat ring 3 (CS = +16 | 3, SS = +24 | 3)', () => {
    const cpu = rig();
    enterRing(cpu, 3);
    const r = run(cpu, `mov ecx, esp
  mov edx, back
  sysenter
back:
  mov eax, cs
  mov ebx, ss
  pushfd
  pop esi`, { eflags: FLAG_IF });
    expect(r.fault).toBeUndefined();
    expect(peek32(cpu, DATA)).toBe(KERNEL_ESP);
    expect([peek16(cpu, DATA + 4), peek16(cpu, DATA + 8)]).toEqual([0x08, 0x10]);
    expect(peek32(cpu, DATA + 12) & FLAG_IF).toBe(0);
    expect([r.eax, r.ebx, r.esp, cpu.cpl]).toEqual([0x1b, 0x23, RING3_STACK, 3]);
    // SYSEXIT does not touch EFLAGS: IF stays as SYSENTER left it.
    expect(r.esi & FLAG_IF).toBe(0);
    // Flat 4 GiB caches: type 0BH/03H, S, P, DPL 3, D/B, G.
    expect([cpu.segBase[CS], cpu.segLimit[CS], cpu.segAR[CS], cpu.segAR[SS]]).toEqual([0, 0xffffffff, 0xc0fb, 0xc0f3]);
  });

  it('SYSENTER with IA32_SYSENTER_CS[15:2] = 0 raises #GP(0) — SDM Vol. 2 SYSENTER', () => {
    const cpu = rig(0x03);
    enterRing(cpu, 3);
    const r = run(cpu, 'sysenter');
    expect([r.fault, r.errorCode, r.faultEip]).toEqual([GP, 0, CODE_BASE]);
  });

  it('SYSEXIT at CPL 3 raises #GP(0) — SDM Vol. 2 SYSEXIT: "If CPL != 0"', () => {
    const cpu = rig();
    enterRing(cpu, 3);
    const r = run(cpu, 'sysexit', { ecx: 0x1000, edx: 0x2000 });
    expect([r.fault, r.errorCode]).toEqual([GP, 0]);
  });

  it('SYSEXIT with IA32_SYSENTER_CS = 0 raises #GP(0) even at CPL 0', () => {
    const r = run(rig(0), 'sysexit');
    expect([r.fault, r.errorCode]).toEqual([GP, 0]);
  });

  it('SYSENTER in real mode raises #GP(0) — SDM Vol. 2 SYSENTER: "If CR0.PE = 0"', () => {
    const cpu = rig();
    enterRealMode(cpu);
    expect(run(cpu, 'sysenter').fault).toBe(GP);
  });
});

// ---------------------------------------------------------------- RDTSC and RDPMC

describe('RDTSC and RDPMC', () => {
  it('RDTSC counts retired instructions: EDX:EAX = instruction count + offset', () => {
    const cpu = makeCpu();
    const before = cpu.icount;
    const r = run(cpu, 'rdtsc\nmov esi, eax\nmov edi, edx\nnop\nnop\nrdtsc');
    // The first RDTSC reads the count before it retires; five instructions later the second reads 5 more.
    expect([r.esi, r.edi]).toEqual([before, 0]);
    expect(r.eax - r.esi).toBe(5);
    expect(cpu.icount).toBe(before + 6);
  });

  it('RDTSC at CPL 3 with CR4.TSD raises #GP(0), without it returns the counter — SDM Vol. 2 RDTSC', () => {
    const cpu = makeCpu();
    enterRing(cpu, 3);
    expect(run(cpu, 'rdtsc').fault).toBeUndefined();
    cpu.cr4 |= CR4_TSD;
    const r = run(cpu, 'rdtsc');
    expect([r.fault, r.errorCode]).toEqual([GP, 0]);
  });

  it('RDTSC at CPL 0 with CR4.TSD is allowed', () => {
    const cpu = makeCpu();
    cpu.cr4 |= CR4_TSD;
    expect(run(cpu, 'rdtsc').fault).toBeUndefined();
  });

  it('RDPMC reads counters 0 and 1 as 0 at CPL 0; counter 2 raises #GP(0) (P6: two counters)', () => {
    const cpu = makeCpu();
    for (const ecx of [0, 1]) {
      const r = run(cpu, 'rdpmc', { ecx, eax: 1, edx: 1 });
      expect([r.fault, r.eax, r.edx]).toEqual([undefined, 0, 0]);
    }
    const r = run(cpu, 'rdpmc', { ecx: 2 });
    expect([r.fault, r.errorCode]).toEqual([GP, 0]);
  });

  it('RDPMC at CPL 3 raises #GP(0) unless CR4.PCE is set — SDM Vol. 2 RDPMC', () => {
    const cpu = makeCpu();
    enterRing(cpu, 3);
    expect(run(cpu, 'rdpmc', { ecx: 0 }).fault).toBe(GP);
    enterRing(cpu, 3);   // the fault left the CPU in the ring-0 handler
    cpu.cr4 |= CR4_PCE;
    expect(run(cpu, 'rdpmc', { ecx: 0 }).fault).toBeUndefined();
    expect(cpu.cpl).toBe(3);
  });
});
