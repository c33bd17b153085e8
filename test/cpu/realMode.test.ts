/**
 * An application processor's start (processorInit.ts) and the real-mode code it runs first:
 * the state INIT leaves (SDM Vol. 3A, table 9-1), a STARTUP IPI's CS:IP (8.4.4), real-mode
 * segment loads (base = selector * 16), 16-bit operand and address defaults with the 0x66 and
 * 0x67 overrides, a real-mode far jump, LGDT with a 16-bit operand (24-bit base, SDM Vol. 2
 * LGDT) and the switch to protected mode through CR0.PE and a far jump. Code bytes from nasm.
 */
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cpu/index';
import { initProcessor, startupProcessor } from '../../src/cpu/processorInit';
import { CS, DS, EAX, EBX, ECX, EDX, ES, ESI, SS } from '../../src/cpu/registers';
import { nasm } from '../support/nasm';
import { makeCpu } from './harness';

const VECTOR = 0x08;
const START = VECTOR << 12;

function startAp(code: string) {
  const cpu = makeCpu();
  cpu.bus.ram.set(nasm(`bits 16\norg 0\n${code}`), START);
  initProcessor(cpu);
  startupProcessor(cpu, VECTOR);
  return cpu;
}

describe('an application processor started by INIT and STARTUP', () => {
  it('is in the reset state of table 9-1 after INIT', () => {
    const cpu = makeCpu();
    cpu.regs[EAX] = 0x1234;
    initProcessor(cpu);
    expect(cpu.protectedMode).toBe(false);
    expect(cpu.cr0 >>> 0).toBe(0x60000010);
    expect([cpu.segSel[CS], cpu.segBase[CS] >>> 0, cpu.segLimit[CS], cpu.eip]).toEqual([0xf000, 0xffff0000, 0xffff, 0xfff0]);
    expect([cpu.segSel[DS], cpu.segBase[DS], cpu.segLimit[DS]]).toEqual([0, 0, 0xffff]);
    expect([cpu.regs[EAX], cpu.regs[EDX]]).toEqual([0, 0x663]);
    expect([cpu.gdtrBase, cpu.gdtrLimit, cpu.idtrBase, cpu.idtrLimit]).toEqual([0, 0xffff, 0, 0xffff]);
    expect([cpu.dr[6] >>> 0, cpu.dr[7]]).toEqual([0xffff0ff0, 0x400]);
    expect(cpu.code32).toBe(false);
  });

  it('runs 16-bit code from CS = vector << 8, IP = 0 after STARTUP', () => {
    const cpu = startAp(`
  mov ax, cs
  mov ds, ax
  mov bx, [value]          ; DS base 0x8000: reads the word below
  mov ecx, 0x12345678      ; 0x66: a 32-bit operand in 16-bit code
  mov si, value
  mov edx, [esi]           ; 0x67: a 32-bit address
  hlt
value: dw 0xbeef, 0xdead
`);
    run(cpu, 100);
    expect(cpu.halted).toBe(true);
    expect([cpu.segSel[CS], cpu.segBase[CS]]).toEqual([VECTOR << 8, START]);
    expect([cpu.segSel[DS], cpu.segBase[DS]]).toEqual([0x800, 0x8000]);
    expect(cpu.regs[EBX] & 0xffff).toBe(0xbeef);
    expect(cpu.regs[ECX]).toBe(0x12345678);
    expect(cpu.regs[EDX] >>> 0).toBe(0xdeadbeef);
  });

  it('far-jumps in real mode, loading CS base = selector * 16', () => {
    const cpu = startAp(`
  jmp 0x0900:0x0010
`);
    cpu.bus.ram.set(nasm('bits 16\nmov ax, 0x1234\nhlt\n'), 0x9010);
    run(cpu, 10);
    expect([cpu.segSel[CS], cpu.segBase[CS], cpu.regs[EAX] & 0xffff]).toEqual([0x0900, 0x9000, 0x1234]);
  });

  it('switches to protected mode: LGDT with a 16-bit operand takes 24 bits of base', () => {
    const cpu = startAp(`
  mov ax, cs
  mov ds, ax
  lgdt [gdtr]
  mov eax, cr0
  or al, 1
  mov cr0, eax
  jmp dword 0x08:0x8000 + pm
  times 0x20 - ($ - $$) nop
gdtr:                            ; at 0x8020, the GDT at 0x8026
  dw 23
  dd 0xff000000 + 0x8000 + gdt   ; the top byte is not part of a 16-bit LGDT's base
gdt:
  dq 0, 0x00cf9a000000ffff, 0x00cf92000000ffff
bits 32
pm:
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov esi, [0x8000 + gdt + 8]
  hlt
`);
    run(cpu, 100);
    expect(cpu.halted).toBe(true);
    expect([cpu.gdtrBase, cpu.gdtrLimit]).toEqual([0x8026, 23]);
    expect(cpu.protectedMode).toBe(true);
    expect(cpu.code32).toBe(true);
    expect([cpu.segSel[CS], cpu.segBase[CS], cpu.segLimit[CS] >>> 0]).toEqual([0x08, 0, 0xffffffff]);
    expect([cpu.segSel[DS], cpu.segSel[ES], cpu.segSel[SS], cpu.stack32]).toEqual([0x10, 0x10, 0x10, true]);
    expect(cpu.regs[ESI]).toBe(0x0000ffff);
  });
});
