// Stack instructions (stackOps.ts). Expected stack contents and flags are worked out by hand
// from the SDM Vol. 2 pseudocode of the instruction each test names; code is assembled with nasm.

import { describe, expect, it } from 'vitest';
import { AR_DB, type Cpu } from '../../src/cpu/cpu';
import { GP, SS_FAULT } from '../../src/cpu/exceptions';
import { DS, ES, SS } from '../../src/cpu/registers';
import { execSnippet, FAULT_BASE, makeCpu, STACK_TOP } from './harness';
import { asm, enterCpl, errorFrame, PendingAfter } from './opsHarness';

const at = (cpu: Cpu, addr: number) => cpu.readPhys32(addr) >>> 0;
const word = (cpu: Cpu, addr: number) => cpu.readPhys(addr, 2);

/** An expand-down writable data segment as SS: offsets above `limit` are valid (SDM Vol. 3A, 3.4.5.1). */
function expandDownStack(cpu: Cpu, limit: number): void {
  cpu.setSegmentCache(SS, 0x10, 0, limit, 0x97 | AR_DB);
}

describe('PUSH and POP (SDM Vol. 2, PUSH/POP)', () => {
  it('push registers and immediates (6A sign-extends), pop them back; 66 moves ESP by 2', () => {
    const cpu = makeCpu();
    const r = execSnippet(asm(`
      push eax
      push byte -2
      push dword 0x12345678
      push word -3           ; 66 6A FD
      pop cx                 ; 66 59
      pop edx
      pop ebx
      pop esi
    `), { eax: 0xa5a5a5a5, ecx: 0x11110000 }, cpu);
    expect(at(cpu, 0x8ffc)).toBe(0xa5a5a5a5);
    expect(at(cpu, 0x8ff8)).toBe(0xfffffffe);
    expect(word(cpu, 0x8ff2)).toBe(0xfffd);
    expect(r.ecx).toBe(0x1111fffd);
    expect(r.edx).toBe(0x12345678);
    expect(r.ebx).toBe(0xfffffffe);
    expect(r.esi).toBe(0xa5a5a5a5);
    expect(r.esp).toBe(STACK_TOP);
  });

  it('PUSH ESP pushes ESP as it was before the instruction', () => {
    const cpu = makeCpu();
    const r = execSnippet(asm('push esp\npush sp'), {}, cpu);
    expect(at(cpu, 0x8ffc)).toBe(0x9000);
    expect(word(cpu, 0x8ffa)).toBe(0x8ffc);
    expect(r.esp).toBe(0x8ffa);
  });

  it('POP ESP loads ESP with the value popped (the increment is lost)', () => {
    const cpu = makeCpu();
    cpu.writePhys32(0x8ff0, 0x7000);
    expect(execSnippet(asm('pop esp'), { esp: 0x8ff0 }, cpu).esp).toBe(0x7000);
    const cpu16 = makeCpu();
    cpu16.writePhys32(0x8ff0, 0x1234);
    expect(execSnippet(asm('pop sp'), { esp: 0x8ff0 }, cpu16).esp).toBe(0x1234);
  });

  it('POP [ESP+x] computes the address with ESP already incremented', () => {
    const cpu = makeCpu();
    cpu.writePhys32(0x8ff0, 0xcafe);
    const r = execSnippet(asm('pop dword [esp+4]'), { esp: 0x8ff0 }, cpu);
    expect(r.esp).toBe(0x8ff4);
    expect(at(cpu, 0x8ff8)).toBe(0xcafe);        // 0x8ff4 + 4
    const cpu16 = makeCpu();
    cpu16.writePhys32(0x8ff0, 0xbeef);
    const r16 = execSnippet(asm('pop word [esp]'), { esp: 0x8ff0 }, cpu16);
    expect(r16.esp).toBe(0x8ff2);
    expect(word(cpu16, 0x8ff2)).toBe(0xbeef);
  });

  it('a POP to memory that faults leaves ESP unchanged', () => {
    const cpu = makeCpu();
    cpu.setSegmentCache(DS, 0x10, 0, 0xfff, cpu.segAR[DS] & ~0x8000);
    const r = execSnippet(asm('pop dword [0x2000]'), { esp: 0x8ff0 }, cpu);
    expect(r.fault).toBe(GP);
    expect(r.esp + 16).toBe(0x8ff0);   // the #GP frame (EFLAGS, CS, EIP, error code) sits below it
  });

  it('PUSH [ESP+x] reads its operand before ESP is decremented', () => {
    const cpu = makeCpu();
    cpu.writePhys32(0x8ff4, 0x5a5a);
    const r = execSnippet(asm('push dword [esp+4]\npush word [esp+8]'), { esp: 0x8ff0 }, cpu);
    expect(at(cpu, 0x8fec)).toBe(0x5a5a);
    expect(word(cpu, 0x8fea)).toBe(0x5a5a);   // 0x8fec + 8; with ESP already moved it would read 0x8ff2 (zero)
    expect(r.esp).toBe(0x8fea);
  });

  it('with SS.B = 0 the pushes wrap SP at 64 KiB and keep the upper half of ESP (SDM Vol. 1, 6.2.3)', () => {
    const cpu = makeCpu();
    cpu.setSegmentCache(SS, 0x10, 0x20000, 0xffff, 0x93);
    const r = execSnippet(asm('push eax\npush ebx'), { esp: 0xabcd0004, eax: 0x11111111, ebx: 0x22222222 }, cpu);
    expect(r.esp).toBe(0xabcdfffc);
    expect(at(cpu, 0x20000)).toBe(0x11111111);
    expect(at(cpu, 0x2fffc)).toBe(0x22222222);
  });
});

describe('PUSH and POP of segment registers (SDM Vol. 2, PUSH/POP)', () => {
  it('a 32-bit PUSH Sreg moves ESP by 4 and writes only the 16-bit selector', () => {
    const cpu = makeCpu();
    cpu.writePhys32(0x8ffc, 0xffffffff);
    cpu.writePhys32(0x8ff8, 0xffffffff);
    const r = execSnippet(asm('push ds\npush cs\no16 push es\npush fs\npush gs\npush ss'), {}, cpu);
    expect(at(cpu, 0x8ffc)).toBe(0xffff0010);
    expect(at(cpu, 0x8ff8)).toBe(0xffff0008);
    expect(word(cpu, 0x8ff6)).toBe(0x10);
    expect(r.esp).toBe(0x8ff6 - 12);
  });

  it('POP Sreg loads the selector (upper bits of a 32-bit slot ignored) and moves ESP by the operand size', () => {
    const cpu = makeCpu();
    cpu.writePhys32(0x8ff0, 0xffff0023);
    cpu.writePhys32(0x8ff4, 0x0023);
    const r = execSnippet(asm('pop ds\no16 pop es'), { esp: 0x8ff0 }, cpu);
    expect(cpu.segSel[DS]).toBe(0x23);
    expect(cpu.segSel[ES]).toBe(0x23);
    expect(r.esp).toBe(0x8ff6);
  });

  it('a POP Sreg with a bad selector raises #GP(sel) and leaves ESP unchanged', () => {
    const cpu = makeCpu();
    cpu.writePhys32(0x8ff0, 0x48);
    const r = execSnippet(asm('pop ds'), { esp: 0x8ff0 }, cpu);
    expect(r.fault).toBe(GP);
    expect(errorFrame(cpu).code).toBe(0x48);
    expect(r.esp + 16).toBe(0x8ff0);
  });

  it('POP SS blocks interrupts until the next instruction is done (SDM Vol. 3A, 6.8.3)', () => {
    const bus = new PendingAfter(2);
    const cpu = makeCpu(bus);
    bus.cpu = cpu;
    cpu.writePhys32(0x8ff0, 0x10);
    const r = execSnippet(asm('nop\npop ss\nmov ebx, 1\nmov ecx, 2'), { esp: 0x8ff0, ebx: 0, ecx: 0, eflags: 0x202 }, cpu);
    expect(cpu.eip).toBe(FAULT_BASE + 31 * 16 + 1);
    expect([r.ebx, r.ecx]).toEqual([1, 0]);
  });
});

describe('PUSHA and POPA (SDM Vol. 2, PUSHA/PUSHAD, POPA/POPAD)', () => {
  const regs = { eax: 0xa0, ecx: 0xc1, edx: 0xd2, ebx: 0xb3, ebp: 0xb5, esi: 0x56, edi: 0xd7 };

  it('PUSHAD stores EAX, ECX, EDX, EBX, the original ESP, EBP, ESI, EDI; POPAD skips the ESP slot', () => {
    const cpu = makeCpu();
    execSnippet(asm('pushad'), regs, cpu);
    const expected = [0xa0, 0xc1, 0xd2, 0xb3, 0x9000, 0xb5, 0x56, 0xd7];
    expected.forEach((v, k) => expect(at(cpu, 0x8ffc - 4 * k)).toBe(v));
    cpu.writePhys32(0x8fec, 0x1234);   // the ESP slot: POPAD must not load it
    const r = execSnippet(asm('popad'), { eax: 0, ecx: 0, edx: 0, ebx: 0, ebp: 0, esi: 0, edi: 0, esp: 0x8fe0 }, cpu);
    expect([r.eax, r.ecx, r.edx, r.ebx, r.ebp, r.esi, r.edi]).toEqual([0xa0, 0xc1, 0xd2, 0xb3, 0xb5, 0x56, 0xd7]);
    expect(r.esp).toBe(0x9000);
  });

  it('PUSHA/POPA with a 16-bit operand move words and only the low halves', () => {
    const cpu = makeCpu();
    execSnippet(asm('pushaw'), { ...regs, eax: 0x1234a0a0 }, cpu);
    expect(word(cpu, 0x8ffe)).toBe(0xa0a0);
    expect(word(cpu, 0x8ff6)).toBe(0x9000);   // SP, fifth word
    expect(word(cpu, 0x8ff0)).toBe(0xd7);
    const r = execSnippet(asm('popaw'), { eax: 0xffff0000, edi: 0xffff0000, esp: 0x8ff0 }, cpu);
    expect(r.eax).toBe(0xffffa0a0);
    expect(r.edi).toBe(0xffff00d7);
    expect(r.esp).toBe(0x9000);
  });

  it('a PUSHAD whose last slot is outside SS raises #SS(0) with ESP unchanged', () => {
    const cpu = makeCpu();
    expandDownStack(cpu, 0x8ff0);   // valid offsets 0x8ff1 and up; the 8th slot is 0x8ff0
    const r = execSnippet(asm('pushad'), { esp: 0x9010 }, cpu);
    expect(r.fault).toBe(SS_FAULT);
    expect(errorFrame(cpu).code).toBe(0);
    expect(r.esp + 16).toBe(0x9010);
  });
});

describe('PUSHF and POPF (SDM Vol. 2, PUSHF/PUSHFD, POPF/POPFD)', () => {
  const RF = 0x10000, VM = 0x20000, AC = 0x40000, VIF = 0x80000, VIP = 0x100000, ID = 0x200000;

  it('PUSHFD pushes EFLAGS with RF and VM clear; PUSHF pushes the low 16 bits', () => {
    const cpu = makeCpu();
    const r = execSnippet(asm('pushfd\npushfw'), { eflags: RF | AC | 0x3000 | 0x400 | 0x8d5 }, cpu);
    expect(at(cpu, 0x8ffc)).toBe(AC | 0x3000 | 0x400 | 0x8d5 | 2);
    expect(word(cpu, 0x8ffa)).toBe(0x3000 | 0x400 | 0x8d5 | 2);
    expect(r.esp).toBe(0x8ffa);
  });

  // Every non-reserved flag set, plus reserved bits 3, 5 and 15.
  const ALL = ID | VIP | VIF | AC | VM | RF | 0x4000 | 0x3000 | 0x800 | 0x400 | 0x200 | 0xd5 | 0x8028;

  it('POPFD at CPL 0 changes IOPL and IF, clears RF, leaves VM, VIP, VIF and reserved bits', () => {
    const r = execSnippet(asm(`push dword ${ALL}\npopfd`), { eflags: RF });
    expect(r.eflags).toBe((ID | AC | 0x4000 | 0x3000 | 0x800 | 0x400 | 0x200 | 0xd5 | 2) >>> 0);
  });

  it('POPF (16-bit) at CPL 0 changes bits 0-15 only (RF and AC stay)', () => {
    const r = execSnippet(asm('push word 0x7ed5\npopfw'), { eflags: RF | AC });
    expect(r.eflags).toBe(RF | AC | 0x7ed5 | 2);
  });

  it('POPFD at CPL 3 with IOPL 0 silently keeps IF and IOPL and changes the rest (no fault)', () => {
    for (const startIf of [0, 0x200]) {
      const cpu = makeCpu();
      enterCpl(cpu, 3);
      const value = (startIf ^ 0x200) | 0x3000 | 0x400 | 0xd5;   // IF inverted, IOPL 3, DF, status flags
      const r = execSnippet(asm(`push dword ${value}\npopfd`), { eflags: startIf }, cpu);
      expect(r.fault).toBeUndefined();
      expect(r.eflags).toBe(startIf | 0x400 | 0xd5 | 2);
      expect(cpu.cpl).toBe(3);
    }
  });

  it('POPF (16-bit) at CPL 3 with IOPL 0 also keeps IF and IOPL', () => {
    const cpu = makeCpu();
    enterCpl(cpu, 3);
    const r = execSnippet(asm('push word 0x30d5\npopfw'), { eflags: 0x200 | AC }, cpu);
    expect(r.eflags).toBe(0x200 | AC | 0xd5 | 2);
  });

  it('POPFD at CPL 1 with IOPL 0 keeps IF and IOPL (a ring-1 guest kernel cannot disable interrupts this way)', () => {
    const cpu = makeCpu();
    enterCpl(cpu, 1);
    const r = execSnippet(asm('push dword 0x3000\npopfd'), { eflags: 0x200 }, cpu);
    expect(r.fault).toBeUndefined();
    expect(r.eflags).toBe(0x202);
  });

  it('POPFD at CPL 1 with IOPL 1 changes IF (CPL <= IOPL) but still not IOPL (CPL > 0)', () => {
    const cpu = makeCpu();
    enterCpl(cpu, 1);
    const r = execSnippet(asm('push dword 0x3000\npopfd'), { eflags: 0x1200 }, cpu);
    expect(r.eflags).toBe(0x1002);
  });

  it('POPFD at CPL 3 with IOPL 3 changes IF', () => {
    const cpu = makeCpu();
    enterCpl(cpu, 3);
    const r = execSnippet(asm('push dword 0x0000\npopfd'), { eflags: 0x3200 }, cpu);
    expect(r.eflags).toBe(0x3002);
  });
});

describe('ENTER and LEAVE (SDM Vol. 2, ENTER/LEAVE)', () => {
  it('ENTER with nesting level 0 pushes EBP, sets EBP to it and allocates', () => {
    const cpu = makeCpu();
    const r = execSnippet(asm('enter 0x10, 0'), { ebp: 0x1234 }, cpu);
    expect(at(cpu, 0x8ffc)).toBe(0x1234);
    expect(r.ebp).toBe(0x8ffc);
    expect(r.esp).toBe(0x8fec);
  });

  it('ENTER with level 1 also pushes the new frame pointer', () => {
    const cpu = makeCpu();
    const r = execSnippet(asm('enter 8, 1'), { ebp: 0x1234 }, cpu);
    expect(at(cpu, 0x8ffc)).toBe(0x1234);
    expect(at(cpu, 0x8ff8)).toBe(0x8ffc);
    expect(r.ebp).toBe(0x8ffc);
    expect(r.esp).toBe(0x8ff0);
  });

  it('ENTER with level 3 copies two frame pointers from the enclosing frame, then pushes its own', () => {
    const cpu = makeCpu();
    cpu.writePhys32(0x87fc, 0xaaaa0001);
    cpu.writePhys32(0x87f8, 0xaaaa0002);
    const r = execSnippet(asm('enter 4, 3'), { ebp: 0x8800 }, cpu);
    expect([at(cpu, 0x8ffc), at(cpu, 0x8ff8), at(cpu, 0x8ff4), at(cpu, 0x8ff0)])
      .toEqual([0x8800, 0xaaaa0001, 0xaaaa0002, 0x8ffc]);
    expect(r.ebp).toBe(0x8ffc);
    expect(r.esp).toBe(0x8fec);
  });

  it('ENTER with a 16-bit operand size pushes and copies words and sets BP only', () => {
    const cpu = makeCpu();
    cpu.writePhys(0x87fe, 2, 0xbeef);
    const r = execSnippet(asm('o16 enter 2, 2'), { ebp: 0x8800 }, cpu);
    expect([word(cpu, 0x8ffe), word(cpu, 0x8ffc), word(cpu, 0x8ffa)]).toEqual([0x8800, 0xbeef, 0x8ffe]);
    expect(r.ebp).toBe(0x8ffe);
    expect(r.esp).toBe(0x8ff8);
  });

  it('ENTER whose allocation ends outside SS raises #SS(0) and changes neither EBP nor ESP', () => {
    const cpu = makeCpu();
    expandDownStack(cpu, 0x8ff0);
    const r = execSnippet(asm('enter 0x20, 0'), { esp: 0x9010, ebp: 0x4444 }, cpu);
    expect(r.fault).toBe(SS_FAULT);
    expect(r.ebp).toBe(0x4444);
    expect(r.esp + 16).toBe(0x9010);
  });

  it('LEAVE sets ESP from EBP and pops EBP, by operand size', () => {
    const cpu = makeCpu();
    cpu.writePhys32(0x8ff0, 0x22221111);
    const r = execSnippet(asm('leave'), { ebp: 0x8ff0 }, cpu);
    expect([r.esp, r.ebp]).toEqual([0x8ff4, 0x22221111]);
    const r16 = execSnippet(asm('o16 leave'), { ebp: 0x8ff0 }, cpu);
    expect([r16.esp, r16.ebp]).toEqual([0x8ff2, 0x1111]);
  });
});
