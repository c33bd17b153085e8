// Near control transfers, software interrupts and HLT (control.ts). Each expectation follows
// the SDM Vol. 2 pseudocode of the instruction in the test's title, worked out by hand.

import { describe, expect, it } from 'vitest';
import { AR_DB, type Cpu } from '../../src/cpu/cpu';
import { run } from '../../src/cpu/index';
import { BP, DB, GP, OF } from '../../src/cpu/exceptions';
import { CS } from '../../src/cpu/registers';
import { CODE_BASE, execSnippet, faultVector, IDT_BASE, makeCpu } from './harness';
import { nasm } from '../support/nasm';
import { asm, enterCpl, errorFrame, returnEip } from './opsHarness';

const at = (cpu: Cpu, addr: number) => cpu.readPhys32(addr) >>> 0;

/** Loads `code` at CODE_BASE and executes exactly one instruction. */
function stepOnce(cpu: Cpu, code: Uint8Array): void {
  cpu.ram.set(code, CODE_BASE);
  cpu.code.invalidateAll();
  cpu.eip = CODE_BASE;
  run(cpu, 1);
}

/** CS limited to `limit` (byte granular), same base and type as the flat ring-0 code segment. */
function limitCs(cpu: Cpu, limit: number): void {
  cpu.setSegmentCache(CS, 0x08, 0, limit, cpu.segAR[CS] & ~0x8000);
}

describe('JMP near (SDM Vol. 2, JMP)', () => {
  it('rel8, rel32, register and memory forms', () => {
    const cpu = makeCpu();
    cpu.writePhys32(0x20000, CODE_BASE + 0x100);
    const r = execSnippet(asm(`
        jmp short a
        mov eax, 1
      a: jmp near b
        mov eax, 2
      b: mov edx, c
        jmp edx
        mov eax, 3
      c: jmp [0x20000]
      times 0x100 - ($ - $$) nop
    `), { eax: 0 }, cpu);
    expect(r.eax).toBe(0);
    expect(cpu.eip).toBe(CODE_BASE + 0x100);
  });

  it('a 16-bit operand size truncates the target to 16 bits', () => {
    const cpu = makeCpu();
    stepOnce(cpu, asm('db 0x66, 0xe9\ndw 0x0010     ; o16 jmp rel16: (0x10004 + 0x10) & 0xffff'));
    expect(cpu.eip).toBe(0x0014);
    const cpu2 = makeCpu();
    cpu2.writePhys32(0x20000, 0x12345678);
    stepOnce(cpu2, asm('o16 jmp [0x20000]'));
    expect(cpu2.eip).toBe(0x5678);
  });

  it('a target beyond the CS limit raises #GP(0) at the JMP', () => {
    const cpu = makeCpu();
    limitCs(cpu, 0x10fff);
    const r = execSnippet(asm('jmp 0x11000'), {}, cpu);
    expect(r.fault).toBe(GP);
    expect(errorFrame(cpu)).toEqual({ code: 0, eip: CODE_BASE });
    const ok = makeCpu();
    limitCs(ok, 0x10fff);
    stepOnce(ok, asm('jmp 0x10fff'));
    expect(ok.eip).toBe(0x10fff);
  });
});

describe('CALL and RET near (SDM Vol. 2, CALL/RET)', () => {
  it('CALL rel32 pushes the next EIP; RET pops it; RET imm16 releases the parameters', () => {
    const cpu = makeCpu();
    const r = execSnippet(asm(`
        push dword 0xaaaa
        push dword 0xbbbb
        call f
        mov ecx, esp
        jmp done
      f: mov edx, [esp]
        ret 8
      done:
    `), {}, cpu);
    expect(r.edx).toBe(CODE_BASE + 15);   // after push (5), push (5), call (5)
    expect(r.ecx).toBe(0x9000);           // 8 bytes of parameters released
  });

  it('CALL r/m reads its target before pushing (CALL [ESP] calls the address on top of the stack)', () => {
    const cpu = makeCpu();
    cpu.writePhys32(0x8ff0, 0x12340);
    cpu.regs[4] = 0x8ff0;
    stepOnce(cpu, asm('call [esp]'));
    expect(cpu.eip).toBe(0x12340);
    expect(cpu.regs[4]).toBe(0x8fec);
    expect(at(cpu, 0x8fec)).toBe(CODE_BASE + 3);
  });

  it('with a 16-bit operand size CALL pushes IP (2 bytes) and RET pops 2 bytes', () => {
    const cpu = makeCpu();
    cpu.regs[4] = 0x8ff0;
    stepOnce(cpu, asm('db 0x66, 0xe8\ndw 0x0010     ; o16 call rel16'));
    expect(cpu.eip).toBe(0x0014);
    expect(cpu.regs[4]).toBe(0x8fee);
    expect(cpu.readPhys(0x8fee, 2)).toBe(0x0004);   // (0x10004) & 0xffff
    const cpu2 = makeCpu();
    cpu2.writePhys32(0x8ff0, 0x00123456);
    cpu2.regs[4] = 0x8ff0;
    stepOnce(cpu2, asm('o16 ret'));
    expect(cpu2.eip).toBe(0x3456);
    expect(cpu2.regs[4]).toBe(0x8ff2);
  });

  it('CALL and RET to a target beyond the CS limit fault with ESP unchanged', () => {
    const cpu = makeCpu();
    limitCs(cpu, 0x10fff);
    const r = execSnippet(asm('call 0x11000'), { esp: 0x8ff0 }, cpu);
    expect(r.fault).toBe(GP);
    expect(r.esp + 16).toBe(0x8ff0);
    const cpu2 = makeCpu();
    limitCs(cpu2, 0x10fff);
    cpu2.writePhys32(0x8ff0, 0x11000);
    const r2 = execSnippet(asm('ret'), { esp: 0x8ff0 }, cpu2);
    expect(r2.fault).toBe(GP);
    expect(r2.esp + 16).toBe(0x8ff0);
  });
});

describe('Jcc (SDM Vol. 2, Jcc; Vol. 1, appendix B)', () => {
  const CF = 1, PF = 4, ZF = 0x40, SF = 0x80, OF_ = 0x800;
  // The SDM's definition of each condition, in tttn order.
  const conditions: [string, (f: number) => boolean][] = [
    ['o', (f) => (f & OF_) !== 0], ['no', (f) => (f & OF_) === 0],
    ['b', (f) => (f & CF) !== 0], ['ae', (f) => (f & CF) === 0],
    ['e', (f) => (f & ZF) !== 0], ['ne', (f) => (f & ZF) === 0],
    ['be', (f) => (f & (CF | ZF)) !== 0], ['a', (f) => (f & (CF | ZF)) === 0],
    ['s', (f) => (f & SF) !== 0], ['ns', (f) => (f & SF) === 0],
    ['p', (f) => (f & PF) !== 0], ['np', (f) => (f & PF) === 0],
    ['l', (f) => ((f & SF) !== 0) !== ((f & OF_) !== 0)], ['ge', (f) => ((f & SF) !== 0) === ((f & OF_) !== 0)],
    ['le', (f) => (f & ZF) !== 0 || ((f & SF) !== 0) !== ((f & OF_) !== 0)],
    ['g', (f) => (f & ZF) === 0 && ((f & SF) !== 0) === ((f & OF_) !== 0)],
  ];
  const flagSets = [0, CF, ZF, SF, OF_, PF, SF | OF_, ZF | SF, CF | ZF, ZF | OF_];

  it('each condition with rel8 and rel32 forms', () => {
    const cpu = makeCpu();
    for (const [cc, holds] of conditions) {
      for (const form of ['short', 'near']) {
        const code = asm(`
            mov eax, 0
            j${cc} ${form} t
            jmp d
          t: mov eax, 1
          d:
        `);
        for (const f of flagSets) {
          const r = execSnippet(code, { eflags: f }, cpu);
          expect(r.eax, `j${cc} ${form} with flags 0x${f.toString(16)}`).toBe(holds(f) ? 1 : 0);
        }
      }
    }
  });

  it('a taken Jcc beyond the CS limit faults; an untaken one does not', () => {
    const cpu = makeCpu();
    limitCs(cpu, 0x10fff);
    expect(execSnippet(asm('jz 0x11000'), { eflags: 0x40 }, cpu).fault).toBe(GP);
    const cpu2 = makeCpu();
    limitCs(cpu2, 0x10fff);
    expect(execSnippet(asm('jz 0x11000'), { eflags: 0 }, cpu2).fault).toBeUndefined();
  });
});

describe('LOOP, LOOPE, LOOPNE, JCXZ/JECXZ (SDM Vol. 2, LOOP/LOOPcc, Jcc)', () => {
  const loop = (insn: string) => asm(`
      mov eax, 0
    l: lea eax, [eax+1]
      ${insn} l
  `);

  it('LOOP decrements ECX and repeats until it reaches 0', () => {
    const r = execSnippet(loop('loop'), { ecx: 5 });
    expect([r.eax, r.ecx]).toEqual([5, 0]);
  });

  it('with a 16-bit address size LOOP counts in CX only', () => {
    const r = execSnippet(loop('a16 loop'), { ecx: 0x00010003 });
    expect([r.eax, r.ecx]).toEqual([3, 0x00010000]);
  });

  it('LOOP with ECX = 0 wraps to 0xFFFFFFFF and jumps', () => {
    const cpu = makeCpu();
    cpu.regs[1] = 0;
    stepOnce(cpu, asm('l: loop l'));
    expect(cpu.regs[1] >>> 0).toBe(0xffffffff);
    expect(cpu.eip).toBe(CODE_BASE);
  });

  it('LOOPE repeats while ZF = 1, LOOPNE while ZF = 0', () => {
    expect(execSnippet(loop('loope'), { ecx: 5, eflags: 0x40 })).toMatchObject({ eax: 5, ecx: 0 });
    expect(execSnippet(loop('loope'), { ecx: 5, eflags: 0 })).toMatchObject({ eax: 1, ecx: 4 });
    expect(execSnippet(loop('loopne'), { ecx: 5, eflags: 0 })).toMatchObject({ eax: 5, ecx: 0 });
    expect(execSnippet(loop('loopne'), { ecx: 5, eflags: 0x40 })).toMatchObject({ eax: 1, ecx: 4 });
  });

  it('a LOOP whose target is beyond the CS limit faults with ECX unchanged', () => {
    const cpu = makeCpu();
    limitCs(cpu, 0x10fff);
    const r = execSnippet(asm('times 0xff0 nop\nloop 0x11004'), { ecx: 7 }, cpu);
    expect(r.fault).toBe(GP);
    expect(r.ecx).toBe(7);
  });

  it('JECXZ tests ECX, and JCXZ (67) tests CX', () => {
    const code = (insn: string) => asm(`
        mov eax, 0
        ${insn} t
        jmp d
      t: mov eax, 1
      d:
    `);
    expect(execSnippet(code('jecxz'), { ecx: 0 }).eax).toBe(1);
    expect(execSnippet(code('jecxz'), { ecx: 0x10000 }).eax).toBe(0);
    expect(execSnippet(code('jcxz'), { ecx: 0x10000 }).eax).toBe(1);
    expect(execSnippet(code('jcxz'), { ecx: 1 }).eax).toBe(0);
  });
});

describe('INT n, INT3, INTO, INT1 (SDM Vol. 2, INT n/INTO/INT3/INT1)', () => {
  it('INT n delivers vector n with the next instruction as return address', () => {
    const cpu = makeCpu();
    execSnippet(asm('int 0x10'), {}, cpu);
    expect(faultVector(cpu)).toBe(16);
    expect(returnEip(cpu)).toBe(CODE_BASE + 2);
  });

  it('INT3 (CC) is a trap to vector 3 returning after the one-byte instruction', () => {
    const cpu = makeCpu();
    execSnippet(asm('int3'), {}, cpu);
    expect(faultVector(cpu)).toBe(BP);
    expect(returnEip(cpu)).toBe(CODE_BASE + 1);
  });

  it('INTO raises #OF only when OF = 1', () => {
    expect(execSnippet(asm('into'), { eflags: 0 }).fault).toBeUndefined();
    const cpu = makeCpu();
    execSnippet(asm('into'), { eflags: 0x800 }, cpu);
    expect(faultVector(cpu)).toBe(OF);
    expect(returnEip(cpu)).toBe(CODE_BASE + 1);
  });

  it('INT n from CPL 3 through a DPL-0 gate raises #GP(n*8+2); INT1 ignores the gate DPL', () => {
    const cpu = makeCpu();
    cpu.ram[IDT_BASE + 0x10 * 8 + 5] = 0x8e;   // vector 16: DPL 0
    enterCpl(cpu, 3);
    const r = execSnippet(asm('int 0x10'), {}, cpu);
    expect(r.fault).toBe(GP);
    expect(errorFrame(cpu)).toEqual({ code: 0x10 * 8 + 2, eip: CODE_BASE });
    const cpu2 = makeCpu();
    cpu2.ram[IDT_BASE + DB * 8 + 5] = 0x8e;
    enterCpl(cpu2, 3);
    execSnippet(asm('int1'), {}, cpu2);
    expect(faultVector(cpu2)).toBe(DB);
    expect(returnEip(cpu2)).toBe(CODE_BASE + 1);
  });
});

describe('HLT (SDM Vol. 2, HLT)', () => {
  it('at CPL 0 halts with EIP after the HLT', () => {
    const cpu = makeCpu();
    execSnippet(asm('hlt'), {}, cpu);
    expect(cpu.halted).toBe(true);
    expect(cpu.eip).toBe(CODE_BASE + 1);
  });

  it('at CPL 3 raises #GP(0) (privileged instruction)', () => {
    const cpu = makeCpu();
    enterCpl(cpu, 3, 3);   // even with IOPL 3: HLT depends on CPL alone
    const r = execSnippet(asm('hlt'), {}, cpu);
    expect(r.fault).toBe(GP);
    expect(errorFrame(cpu)).toEqual({ code: 0, eip: CODE_BASE });
  });
});

describe('near transfers in a 16-bit code segment', () => {
  it('IP wraps at 64 KiB and CALL pushes 2 bytes (4 with 66)', () => {
    const cpu = makeCpu();
    cpu.setSegmentCache(CS, 0x08, 0x20000, 0xffff, cpu.segAR[CS] & ~AR_DB);
    cpu.ram.set(asm('bits 16\njmp short $+6'), 0x20000 + 0xfffe);   // next IP 0x0000, target 4
    cpu.eip = 0xfffe;
    run(cpu, 1);
    expect(cpu.eip).toBe(4);
    cpu.ram.set(nasm('bits 16\norg 4\ncall 0x100'), 0x20004);
    cpu.ram.set(nasm('bits 16\norg 0x100\ncall dword 0x200'), 0x20100);
    cpu.code.invalidateAll();
    run(cpu, 1);
    expect(cpu.eip).toBe(0x100);
    expect(cpu.regs[4]).toBe(0x8ffe);
    expect(cpu.readPhys(0x8ffe, 2)).toBe(0x0007);
    run(cpu, 1);
    expect(cpu.eip).toBe(0x200);
    expect(cpu.regs[4]).toBe(0x8ffa);
    expect(at(cpu, 0x8ffa)).toBe(0x0106);
  });
});
