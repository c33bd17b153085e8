/** The Machine's run loop: how runs end, and that virtual time makes runs deterministic. */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine';
import { nasm } from '../support/nasm';

/** A flat Multiboot kernel at 1 MiB around `body`. */
function kernel(body: string): Uint8Array {
  return nasm(`
    bits 32
    org 0x100000
    %define addr(label) (label - $$ + 0x100000)   ; a label as a plain number, for & and |
    header: dd 0x1BADB002, 0x10000, -(0x1BADB002 + 0x10000)
            dd header, header, end, end, start
    start:
      lgdt [gdtr]              ; flat code 0x08 and data 0x10 (the Multiboot GDT is not to be used)
      jmp 0x08:reload
    reload:
      mov ax, 0x10
      mov ds, ax
      mov es, ax
      mov ss, ax
      mov esp, 0x90000
    ${body}
    gdt: dq 0, 0x00cf9a000000ffff, 0x00cf92000000ffff
         dq 0x000092080000ffff   ; 0x18: 64 KiB 16-bit stack segment at 0x80000
    gdtr: dw 31
          dd gdt
    end:
  `);
}

function run(body: string, maxInstructions?: number) {
  const m = new Machine();
  let out = '';
  m.onSerialOutput = (b) => { out += String.fromCharCode(b); };
  m.load(kernel(body));
  return { ...m.run({ maxInstructions }), out };
}

describe('how a run ends', () => {
  it('HLT with IF = 0 ends the run with status 2 and the EIP after the HLT', () => {
    const r = run('cli\nhlt');
    expect(r.haltReason).toBe('halt');
    expect(r.exitCode).toBe(2);
    expect(r.instructions).toBe(9);    // 7 of setup, cli, hlt
    expect(r.eip).toBe(0x10003f);      // after the HLT: 0x100020 + 29 bytes of setup + cli + hlt
  });

  it('an exception whose handler faults the same way is reported as a loop, not run forever', () => {
    // IDT at 0x1000 whose #UD gate (vector 6) points back at the UD2 itself; the 16-bit stack
    // wraps within its 64 KiB, so the frames never overwrite the tables and it never ends.
    const r = run(`
      mov ax, 0x18
      mov ss, ax
      mov dword [0x1000 + 6*8], (0x08 << 16) | (addr(fault) & 0xffff)
      mov dword [0x1000 + 6*8 + 4], (addr(fault) & 0xffff0000) | 0x8e00
      lidt [idtr]
      jmp fault
      idtr: dw 0x7ff
            dd 0x1000
      fault: ud2
    `);
    expect(r.haltReason).toBe('exception-loop');
    expect(r.exitCode).toBe(4);
    expect(r.message).toMatch(/#UD/);
  });

  it('the instruction budget ends a runaway guest exactly at the limit', () => {
    const r = run('spin: jmp spin', 12345);
    expect(r.haltReason).toBe('max-instructions');
    expect(r.instructions).toBe(12345);
    expect(r.exitCode).toBe(6);
  });

  it('a triple fault stops the run with the chain of faults', () => {
    // IDT limit 0: delivering #UD faults with #GP(6*8+2+EXT), delivering that #GP faults with
    // #GP(13*8+3), which makes a #DF (contributory twice, SDM Vol. 3A table 6-5), whose delivery
    // faults with #GP(8*8+3): shutdown.
    const r = run('lidt [idtr]\nud2\nidtr: dw 0\ndd 0');
    expect(r.haltReason).toBe('triple-fault');
    expect(r.exitCode).toBe(4);
    expect(r.message).toMatch(/triple fault at EIP 0x[0-9a-f]{8}: #UD then #GP\(0x33\) then #GP\(0x6b\) then #DF then #GP\(0x43\)$/);
  });
});

/** The IDT gate of vector 0x20 to `tick`, and the master PIC at vectors 0x20-0x27 with only IRQ 0 unmasked. */
const TICK_GATE_AND_PIC = `
      mov dword [0x1000 + 0x20*8], (0x08 << 16) | (addr(tick) & 0xffff)
      mov dword [0x1000 + 0x20*8 + 4], (addr(tick) & 0xffff0000) | 0x8e00
      lidt [idtr]
      mov al, 0x11
      out 0x20, al
      mov al, 0x20
      out 0x21, al
      mov al, 4
      out 0x21, al
      mov al, 1
      out 0x21, al
      mov al, 0xfe
      out 0x21, al`;

describe('virtual time', () => {
  // PIT channel 0 in mode 2 at 100 Hz, IRQ 0 unmasked on a PIC remapped to 0x20: count ticks in HLT.
  const ticker = `
${TICK_GATE_AND_PIC}
      mov al, 0x34
      out 0x43, al
      mov ax, 11932          ; 1193182 Hz / 100
      out 0x40, al
      mov al, ah
      out 0x40, al
      xor ebx, ebx
      sti
    sleep: hlt
      cmp ebx, 50
      jb sleep
      mov al, 0
      out 0xf4, al
    tick:
      inc ebx
      mov al, 0x20
      out 0x20, al
      iret
    idtr: dw 0x7ff
          dd 0x1000
  `;

  it('a guest sleeping in HLT wakes on each timer tick, and two runs count the same instructions', () => {
    const a = run(ticker), b = run(ticker);
    expect(a.haltReason).toBe('exit');
    expect(a.exitCode).toBe(1);
    expect(a.instructions).toBe(b.instructions);
    // 20 setup instructions + 50 ticks of (hlt, cmp, jb) and the handler's 4 + the exit's 2.
    expect(a.instructions).toBeLessThan(1000);
  });
});

describe('interrupt timing', () => {
  // IRQ 0 is raised while interrupts are off; STI's shadow covers one instruction, so the
  // interrupt is taken after the first NOP (SDM Vol. 3A, 6.8.3), before the second NOP and the CLI.
  it('a pending interrupt is taken right after the instruction that follows STI', () => {
    const r = run(`
${TICK_GATE_AND_PIC}
      mov al, 0x30           ; channel 0, mode 0: IRQ 0 rises when the count of 2 runs out
      out 0x43, al
      mov al, 2
      out 0x40, al
      xor al, al
      out 0x40, al
      mov ecx, 100000        ; interrupts are off: let the PIT fire and the request wait in the PIC
    spin: loop spin
      xor ebx, ebx
      sti
      nop
      mov ebx, 1             ; the handler must see EBX = 0: it ran before this
      cli
      hlt
    tick:
      mov al, bl
      out 0xf4, al
    idtr: dw 0x7ff
          dd 0x1000
    `);
    expect(r.haltReason).toBe('exit');
    expect(r.exitCode).toBe(1);   // (0 << 1) | 1: the handler saw EBX = 0
  });
});
