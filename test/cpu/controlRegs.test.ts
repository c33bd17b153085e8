// Control and debug registers (SDM Vol. 2 MOV CR / MOV DR / SMSW / LMSW / CLTS / INVLPG, Vol. 3A
// 2.5, 4.10 and 17.2): privilege and reserved-bit faults, the TLB behaviour the SDM documents
// (a changed PTE is not seen until MOV CR3 or INVLPG; global pages survive MOV CR3), real mode
// entered by clearing CR0.PE, and the debug registers' fixed bits and DR7.GD.

import { describe, expect, it } from 'vitest';
import type { Cpu } from '../../src/cpu/cpu';
import { run as runCpu } from '../../src/cpu/index';
import {
  CR0_CD, CR0_ET, CR0_NW, CR0_PE, CR0_PG, CR0_TS, CR4_DE, CR4_MCE, CR4_OSFXSR, CR4_OSXMMEXCPT, CR4_PAE, CR4_PCE,
  CR4_PGE, CR4_PSE, CR4_PVI, CR4_TSD, CR4_VME, CR4_VMXE, CS, DS, ES, ESP, FS, GS, SS,
} from '../../src/cpu/registers';
import { nasm } from '../support/nasm';
import { CODE_BASE, execSnippet, GDT_BASE, makeCpu, type SnippetResult, type SnippetState } from './harness';

const DB = 1, UD = 6, GP = 13, PF = 14;
const DATA = 0x20000;
const TSS_BASE = 0x3000, RING0_STACK = 0x8000;

interface Outcome extends SnippetResult { errorCode?: number }

/** Assembles 32-bit `source` at CODE_BASE and runs it to its end or into an exception handler. */
function run(cpu: Cpu, source: string, state: SnippetState = {}): Outcome {
  const r: Outcome = execSnippet(nasm(`bits 32\norg ${CODE_BASE}\n${source}\n`), state, cpu);
  if (r.fault === GP || r.fault === PF) r.errorCode = cpu.readPhys32(cpu.regs[ESP]);
  return r;
}

/** Flat ring `cpl` (harness selectors 0x1B/0x23 for ring 3, 0x29/0x31 added for ring 1) with a TSS for the way back. */
function enterRing(cpu: Cpu, cpl: 1 | 3): void {
  cpu.writePhys32(GDT_BASE + 0x28, 0x0000ffff); cpu.writePhys32(GDT_BASE + 0x2c, 0x00cfba00);
  cpu.writePhys32(GDT_BASE + 0x30, 0x0000ffff); cpu.writePhys32(GDT_BASE + 0x34, 0x00cfb200);
  cpu.gdtrLimit = 7 * 8 - 1;
  cpu.writePhys32(TSS_BASE + 4, RING0_STACK);
  cpu.writePhys32(TSS_BASE + 8, 0x10);
  cpu.trBase = TSS_BASE; cpu.trLimit = 0x67; cpu.trAR = 0x8b;
  const code = cpl === 3 ? 0x1b : 0x29, data = cpl === 3 ? 0x23 : 0x31;
  cpu.setSegmentCache(CS, code, 0, 0xffff_ffff, 0xc09b | (cpl << 5));
  for (const s of [ES, SS, DS, FS, GS]) cpu.setSegmentCache(s, data, 0, 0xffff_ffff, 0xc093 | (cpl << 5));
  cpu.setCpl(cpl);
  cpu.regs[ESP] = 0x7000;
}

const u32 = (v: number) => v >>> 0;

// ---------------------------------------------------------------- privilege and encoding

describe('privilege', () => {
  const privileged = [
    'mov eax, cr0', 'mov cr0, eax', 'mov eax, cr2', 'mov cr2, eax', 'mov eax, cr3', 'mov cr3, eax', 'mov eax, cr4',
    'mov cr4, eax', 'mov eax, dr0', 'mov dr7, eax', 'lmsw ax', 'clts', `invlpg [${DATA}]`, 'invd', 'wbinvd',
  ];
  it.each(privileged)('%s at CPL 3 and CPL 1 raises #GP(0) — SDM Vol. 2: "#GP(0) if the current privilege level is not 0"', (insn) => {
    for (const cpl of [3, 1] as const) {
      const cpu = makeCpu();
      enterRing(cpu, cpl);
      const cr0 = cpu.cr0;
      const r = run(cpu, insn, { eax: 0x11 });
      expect([r.fault, r.errorCode]).toEqual([GP, 0]);
      expect(cpu.cr0).toBe(cr0);
    }
  });

  it('SMSW at CPL 3 does not fault: with a 32-bit register it gives all of CR0, as QEMU 7.2 does (SDM: high half undefined)', () => {
    const cpu = makeCpu();
    cpu.cr0 |= 1 << 16;   // WP, above the low 16 bits
    enterRing(cpu, 3);
    cpu.writePhys32(DATA, 0xaaaaaaaa | 0);
    const r = run(cpu, `smsw eax\no16 smsw bx\nsmsw [${DATA}]`, { eax: 0x12345678, ebx: 0x12345678 });
    expect(r.fault).toBeUndefined();
    // QEMU printed 00010031 and 12340031 for the same two forms with CR0 = WP | ET | PE (+ NE).
    expect([r.eax, r.ebx, u32(cpu.readPhys32(DATA))]).toEqual([0x00010011, 0x12340011, 0xaaaa0011]);
  });

  it.each(['mov eax, cr1', 'mov cr5, eax', 'mov eax, cr6', 'mov cr7, eax'])(
    '%s raises #UD, even at CPL 3 (SDM Vol. 2 MOV CR: CR1, CR5-CR7; decode faults come before #GP, Vol. 3A table 6-2)', (insn) => {
      const cpu = makeCpu();
      expect(run(cpu, insn).fault).toBe(UD);
      enterRing(cpu, 3);
      expect(run(cpu, insn).fault).toBe(UD);
    });

  it('MOV CR ignores the mod field: 0F 20 00 (mod = 0) is MOV EAX, CR0', () => {
    const r = run(makeCpu(), 'db 0x0f, 0x20, 0x00\ndb 0x0f, 0x20, 0x1b', { eax: 0, ebx: 0 });
    expect(r.fault).toBeUndefined();
    expect(r.eax).toBe(CR0_ET | CR0_PE);
    expect(r.ebx).toBe(0);   // 0F 20 1B: reg = 3, rm = 3: EBX = CR3, which is 0
  });
});

// ---------------------------------------------------------------- CR0 and CR4 bits

describe('CR0 and CR4 reserved bits (SDM Vol. 2 MOV CR exceptions, Vol. 3A 2.5)', () => {
  it('setting PG with PE clear raises #GP(0) and leaves CR0 alone', () => {
    const cpu = makeCpu();
    const r = run(cpu, 'mov cr0, eax', { eax: u32(CR0_PG | CR0_ET) });
    expect([r.fault, r.errorCode, cpu.cr0]).toEqual([GP, 0, CR0_ET | CR0_PE]);
  });

  it('setting NW with CD clear raises #GP(0); NW with CD is accepted', () => {
    const cpu = makeCpu();
    expect(run(cpu, 'mov cr0, eax', { eax: CR0_NW | CR0_PE }).fault).toBe(GP);
    expect(run(cpu, 'mov cr0, eax\nmov ebx, cr0', { eax: CR0_NW | CR0_CD | CR0_PE }).ebx).toBe(CR0_NW | CR0_CD | CR0_ET | CR0_PE);
  });

  it('writes to CR0\'s reserved bits are ignored and ET always reads 1 (P6: ET hardcoded)', () => {
    // Bits 6-15, 17 and 19-28 are reserved; ET (bit 4) is written as 0.
    const r = run(makeCpu(), 'mov cr0, eax\nmov ebx, cr0', { eax: 0x1ffaffc1 });
    expect([r.fault, r.ebx]).toEqual([undefined, CR0_ET | CR0_PE]);
  });

  // qemu32 as vtscope reports it: no VME, PAE, SSE or VMX, so those CR4 bits are reserved.
  it.each([
    ['VME', CR4_VME], ['PVI', CR4_PVI], ['PAE', CR4_PAE], ['OSXMMEXCPT', CR4_OSXMMEXCPT],
    ['VMXE', CR4_VMXE], ['bit 11', 1 << 11], ['bit 31', 1 << 31],
  ])('CR4.%s is reserved on this model: setting it raises #GP(0)', (_name, bit) => {
    const cpu = makeCpu();
    const r = run(cpu, 'mov cr4, eax', { eax: u32(bit) });
    expect([r.fault, r.errorCode, cpu.cr4]).toEqual([GP, 0, 0]);
  });

  it('CR4.TSD, DE, PSE, MCE, PGE, PCE and OSFXSR (FXSR is reported) can be set and read back', () => {
    const all = CR4_TSD | CR4_DE | CR4_PSE | CR4_MCE | CR4_PGE | CR4_PCE | CR4_OSFXSR;
    const r = run(makeCpu(), 'mov cr4, eax\nmov ebx, cr4', { eax: all });
    expect([r.fault, r.ebx]).toEqual([undefined, all]);
  });

  it('CR2 and CR3 keep any value (CR3\'s low bits are ignored by paging, not checked)', () => {
    const r = run(makeCpu(), 'mov cr2, eax\nmov cr3, ebx\nmov ecx, cr2\nmov edx, cr3', { eax: 0xdeadbeef, ebx: 0x00123fff });
    expect([r.ecx, r.edx]).toEqual([0xdeadbeef, 0x00123fff]);
  });

  it('CLTS clears CR0.TS; LMSW loads PE, MP, EM, TS only', () => {
    const cpu = makeCpu();
    cpu.cr0 |= CR0_TS;
    const r = run(cpu, 'clts\nmov eax, cr0\nlmsw bx\nmov ecx, cr0', { ebx: 0xffee });
    expect(r.eax).toBe(CR0_ET | CR0_PE);
    // FFEEH: bits 1-3 set (MP EM TS), PE already 1; NE (bit 5) and the rest are not LMSW's to load.
    expect(r.ecx).toBe(CR0_ET | 0xf);
  });
});

// ---------------------------------------------------------------- real mode through CR0.PE

describe('CR0.PE', () => {
  it('clearing PE enters real mode with the segment caches kept; LMSW can set PE again but not clear it', () => {
    const cpu = makeCpu();
    cpu.writePhys32(DATA, 0x600df00d);
    const r = run(cpu, `
      mov eax, cr0
      and eax, ~1
      mov cr0, eax        ; real mode: CS still 32-bit and flat, DS still base 0 limit 4 GiB
      mov ebx, [${DATA}]
      smsw ecx
      mov ax, 1
      lmsw ax             ; back to protected mode
      str edx             ; would be #UD in real mode
      xor ax, ax
      lmsw ax             ; cannot clear PE
      smsw esi`);
    expect(r.fault).toBeUndefined();
    expect(r.ebx).toBe(0x600df00d);
    expect(r.ecx & CR0_PE).toBe(0);
    expect(r.esi & CR0_PE).toBe(CR0_PE);
    expect(cpu.protectedMode).toBe(true);
  });
});

// ---------------------------------------------------------------- TLB

describe('TLB maintenance (SDM Vol. 3A, 4.10.4)', () => {
  const PD = 0x100000, PT0 = 0x101000, PT1 = 0x102000;
  const LIN = 0x400000;                  // mapped by PT1 entry 0
  const OLD = 0x300000, NEW = 0x301000;  // the two frames its PTE points at in turn
  function paged(): Cpu {
    const cpu = makeCpu();
    for (let p = 0; p < 1024; p++) cpu.writePhys32(PT0 + 4 * p, (p << 12) | 3);
    cpu.writePhys32(PD, PT0 | 3);
    cpu.writePhys32(PD + 4, PT1 | 3);
    cpu.writePhys32(PT1, OLD | 3);
    cpu.writePhys32(PT1 + 4, (OLD + 0x2000) | 3);
    for (const [a, v] of [[OLD, 0xaaaa0000], [NEW, 0xbbbb0000], [OLD + 0x2000, 0xaaaa2000], [NEW + 0x2000, 0xbbbb2000]]) cpu.writePhys32(a, v);
    // Paging on through the guest's own MOV CR3 and MOV CR0.
    expect(run(cpu, `mov eax, ${PD}\nmov cr3, eax\nmov eax, cr0\nor eax, 0x80000000\nmov cr0, eax`).fault).toBeUndefined();
    expect(cpu.pagingEnabled).toBe(true);
    return cpu;
  }

  it('a changed PTE is not seen until MOV CR3: the old translation stays in the TLB, MOV CR3 flushes it', () => {
    const cpu = paged();
    const r = run(cpu, `
      mov eax, [${LIN}]                      ; fills the TLB: old frame
      mov dword [${PT1}], ${NEW | 3}         ; point the PTE at the new frame
      mov ebx, [${LIN}]                      ; still the old frame: no flush yet
      mov ecx, cr3
      mov cr3, ecx                           ; flushes non-global entries
      mov edx, [${LIN}]`);
    expect(r.fault).toBeUndefined();
    expect([r.eax, r.ebx, r.edx]).toEqual([0xaaaa0000, 0xaaaa0000, 0xbbbb0000]);
  });

  it('a global page (PTE.G with CR4.PGE) survives MOV CR3; clearing CR4.PGE flushes it', () => {
    const cpu = paged();
    cpu.writePhys32(PT1, OLD | 0x103);
    const r = run(cpu, `
      mov eax, cr4
      or eax, ${CR4_PGE}
      mov cr4, eax
      mov eax, [${LIN}]
      mov dword [${PT1}], ${NEW | 0x103}
      mov ecx, cr3
      mov cr3, ecx
      mov ebx, [${LIN}]                      ; global: still cached
      mov ecx, cr4
      and ecx, ~${CR4_PGE}
      mov cr4, ecx                           ; a change of CR4.PGE flushes everything
      mov edx, [${LIN}]`);
    expect(r.fault).toBeUndefined();
    expect([r.eax, r.ebx, r.edx]).toEqual([0xaaaa0000, 0xaaaa0000, 0xbbbb0000]);
  });

  it('INVLPG drops the translation of its page and no other', () => {
    const cpu = paged();
    const r = run(cpu, `
      mov eax, [${LIN}]
      mov eax, [${LIN + 0x1000}]
      mov dword [${PT1}], ${NEW | 3}
      mov dword [${PT1 + 4}], ${(NEW + 0x2000) | 3}
      invlpg [${LIN + 0x123}]
      mov ebx, [${LIN}]                      ; new translation
      mov ecx, [${LIN + 0x1000}]             ; still the cached one`);
    expect(r.fault).toBeUndefined();
    expect([r.ebx, r.ecx]).toEqual([0xbbbb0000, 0xaaaa2000]);
  });

  it('INVLPG anywhere in a 4 MiB page drops every 4 KiB piece of it', () => {
    const cpu = paged();
    const BIG = 0x800000, FRAME_A = 0x400000, FRAME_B = 0xc00000;
    cpu.writePhys32(PD + 8, FRAME_A | 0x83);
    for (const [a, v] of [[FRAME_A, 0xa0], [FRAME_A + 0x1ff000, 0xa1], [FRAME_B, 0xb0], [FRAME_B + 0x1ff000, 0xb1]]) cpu.writePhys32(a, v);
    const r = run(cpu, `
      mov eax, cr4
      or eax, ${CR4_PSE}
      mov cr4, eax
      mov eax, [${BIG}]
      mov eax, [${BIG + 0x1ff000}]
      mov dword [${PD + 8}], ${FRAME_B | 0x83}
      invlpg [${BIG + 0x5000}]
      mov ebx, [${BIG}]
      mov ecx, [${BIG + 0x1ff000}]`);
    expect(r.fault).toBeUndefined();
    expect([r.ebx, r.ecx]).toEqual([0xb0, 0xb1]);
  });

  it('MOV CR3 ends the code block: the next instruction is fetched through the new page directory', () => {
    const cpu = paged();
    // A second directory that maps the code page to a copy whose next instruction differs.
    const PD_B = 0x103000, PT0_B = 0x104000, COPY = 0x30000;
    for (let p = 0; p < 1024; p++) cpu.writePhys32(PT0_B + 4 * p, (p << 12) | 3);
    cpu.writePhys32(PT0_B + 4 * (CODE_BASE >>> 12), COPY | 3);
    cpu.writePhys32(PD_B, PT0_B | 3);
    const program = (value: number) => nasm(`bits 32\norg ${CODE_BASE}\nmov cr3, ecx\nmov eax, ${value}\nhlt`);
    cpu.ram.set(program(1), CODE_BASE);
    cpu.ram.set(program(2), COPY);
    cpu.code.invalidateAll();
    cpu.regs[1] = PD_B;
    cpu.eip = CODE_BASE;
    runCpu(cpu, 100);   // one call: the three instructions are one decoded block
    expect(cpu.halted).toBe(true);
    expect(cpu.regs[0]).toBe(2);
  });
});

// ---------------------------------------------------------------- debug registers

describe('debug registers (SDM Vol. 3A, 17.2)', () => {
  it('DR0-DR3 hold any address; DR6 and DR7 read their fixed bits (QEMU after reset: FFFF0FF0H and 00000400H)', () => {
    const r = run(makeCpu(), `
      mov dr0, eax
      mov dr3, eax
      mov ebx, dr3
      mov ecx, dr6
      mov edx, dr7`, { eax: 0x12345678 });
    expect([r.ebx, r.ecx, r.edx]).toEqual([0x12345678, 0xffff0ff0, 0x00000400]);
  });

  it('DR6 and DR7 keep only their defined bits', () => {
    const r = run(makeCpu(), 'mov dr6, eax\nmov dr7, eax\nmov ebx, dr6\nmov ecx, dr7', { eax: 0 });
    expect([r.ebx, r.ecx]).toEqual([0xffff0ff0, 0x400]);
    // All ones: DR6 bit 12 stays 0; DR7 bits 11, 12, 14, 15 stay 0 (GD, bit 13, is left clear here).
    const s = run(makeCpu(), 'mov dr6, eax\nmov dr7, eax\nmov ebx, dr6\nmov ecx, dr7', { eax: 0xffffdfff });
    expect([s.ebx, s.ecx]).toEqual([0xffffcfff, 0xffff07ff]);
  });

  it('DR4 and DR5 are DR6 and DR7 while CR4.DE is clear, #UD while it is set (SDM Vol. 2 MOV DR)', () => {
    const cpu = makeCpu();
    const r = run(cpu, 'mov dr5, eax\nmov ebx, dr7\nmov ecx, dr4', { eax: 0x3 });
    expect([r.fault, r.ebx, r.ecx]).toEqual([undefined, 0x403, 0xffff0ff0]);
    cpu.cr4 |= CR4_DE;
    expect(run(cpu, 'mov eax, dr4').fault).toBe(UD);
    expect(run(cpu, 'mov dr5, eax').fault).toBe(UD);
  });

  it('with DR7.GD set, a MOV DR is a #DB fault that sets DR6.BD and clears GD (SDM Vol. 3A, 17.2.4)', () => {
    const cpu = makeCpu();
    const r = run(cpu, 'mov dr7, eax\nmov ebx, dr0', { eax: 1 << 13 });
    expect(r.fault).toBe(DB);
    expect(cpu.readPhys32(cpu.regs[ESP]) >>> 0).toBe(CODE_BASE + 3);   // the faulting MOV, not the next
    expect(run(cpu, 'mov eax, dr6\nmov ebx, dr7').eax & (1 << 13)).toBe(1 << 13);
    expect(run(cpu, 'mov ebx, dr7').ebx & (1 << 13)).toBe(0);
  });
});
