// Data movement (move.ts): every expected value below is worked out by hand from the SDM
// Vol. 2 page of the instruction the test names. Code is assembled with nasm.

import { describe, expect, it } from 'vitest';
import { AR_DB, type Cpu } from '../../src/cpu/cpu';
import { run } from '../../src/cpu/index';
import { BR, GP, UD } from '../../src/cpu/exceptions';
import { CS, DS, ES, FS, GS, SS } from '../../src/cpu/registers';
import { CODE_BASE, execSnippet, FAULT_BASE, makeCpu, STACK_TOP } from './harness';
import { asm, errorFrame, PendingAfter, returnEip } from './opsHarness';

const DATA = 0x20000;

function cpuWith(words: Record<number, number> = {}): Cpu {
  const cpu = makeCpu();
  for (const [addr, v] of Object.entries(words)) cpu.writePhys32(Number(addr), v);
  return cpu;
}

describe('MOV (SDM Vol. 2, MOV)', () => {
  it('88-8B move between registers, including AH..BH, and memory', () => {
    const cpu = cpuWith({ [DATA]: 0x11223344 });
    const r = execSnippet(asm(`
      mov ecx, [${DATA}]        ; 8B
      mov [${DATA + 4}], ecx    ; 89
      mov dh, cl                ; 88 /r with a high-byte destination
      mov bl, [${DATA + 2}]     ; 8A
      mov [${DATA + 9}], ch     ; 88 to memory from CH
      o16 mov si, cx            ; 66 89
    `), { edx: 0xaaaaaaaa, ebx: 0xbbbbbbbb, esi: 0xcccccccc }, cpu);
    expect(r.ecx).toBe(0x11223344);
    expect(cpu.readPhys32(DATA + 4)).toBe(0x11223344);
    expect(r.edx).toBe(0xaaaa44aa);
    expect(r.ebx).toBe(0xbbbbbb22);
    expect(cpu.ram[DATA + 9]).toBe(0x33);
    expect(r.esi).toBe(0xcccc3344);
  });

  it('A0-A3 take a moffs of the address size (67 gives a 16-bit offset) in DS or the override', () => {
    const cpu = cpuWith({ [0x1234]: 0xdeadbeef, [DATA]: 0x01020304 });
    cpu.setSegmentCache(FS, 0x10, DATA - 0x100, 0xffff_ffff, cpu.segAR[DS]);
    const r = execSnippet(asm(`
      mov eax, [0x1234]         ; A1
      mov [${DATA + 8}], eax    ; A3
      a16 mov ax, [0x1236]      ; 67 66 A1: AX <- 0xdead
      mov al, [fs:0x100]        ; 64 A0: FS base + 0x100 = DATA
      a16 mov [0x1240], al      ; 67 A2
    `), {}, cpu);
    expect(r.eax).toBe(0xdeadde04);
    expect(cpu.readPhys32(DATA + 8) >>> 0).toBe(0xdeadbeef);
    expect(cpu.ram[0x1240]).toBe(0x04);
  });

  it('B0-BF and C6/C7 /0 move immediates of the operand size', () => {
    const cpu = cpuWith();
    const r = execSnippet(asm(`
      mov ah, 0x12
      mov ecx, 0x89abcdef
      mov dx, 0x7654
      mov byte [${DATA}], 0x5a
      mov dword [${DATA + 4}], 0xfedcba98
      mov word [${DATA + 8}], 0x1357
    `), { eax: 0, edx: 0x11110000 }, cpu);
    expect(r.eax).toBe(0x1200);
    expect(r.ecx).toBe(0x89abcdef);
    expect(r.edx).toBe(0x11117654);
    expect(cpu.ram[DATA]).toBe(0x5a);
    expect(cpu.readPhys32(DATA + 4) >>> 0).toBe(0xfedcba98);
    expect(cpu.readPhys32(DATA + 8)).toBe(0x1357);
  });

  it('8C: a 32-bit register gets the selector zero-extended (P6 and later), memory gets 16 bits', () => {
    const cpu = cpuWith({ [DATA]: 0xffffffff });
    const r = execSnippet(asm(`
      mov eax, ss
      o16 mov bx, cs
      mov [${DATA}], ds
    `), { eax: 0xffffffff, ebx: 0xffffffff }, cpu);
    expect(r.eax).toBe(0x10);
    expect(r.ebx).toBe(0xffff0008);
    expect(cpu.readPhys32(DATA) >>> 0).toBe(0xffff0010);
  });

  it('8C with sreg 6 and 8E with CS are #UD', () => {
    expect(execSnippet(Uint8Array.of(0x8c, 0xf0), {}).fault).toBe(UD);    // mov eax, <sreg 6>
    expect(execSnippet(Uint8Array.of(0x8e, 0xc8), {}).fault).toBe(UD);    // mov cs, eax
  });

  it('8E loads DS/ES/FS/GS/SS through the descriptor checks (#GP(sel) beyond the GDT)', () => {
    const cpu = makeCpu();
    const r = execSnippet(asm(`
      mov eax, 0x23
      mov es, ax
      mov fs, ax
      mov eax, 0
      mov gs, ax                 ; a null selector is fine in GS
      mov eax, 0x48
      mov ds, ax                 ; beyond the GDT limit
    `), {}, cpu);
    expect(cpu.segSel[ES]).toBe(0x23);
    expect(cpu.segSel[FS]).toBe(0x23);
    expect(cpu.segSel[GS]).toBe(0);
    expect(r.fault).toBe(GP);
    expect(errorFrame(cpu).code).toBe(0x48);
    expect(cpu.segSel[DS]).toBe(0x10);
  });

  it('MOV SS blocks interrupts until the next instruction is done; MOV DS does not (SDM Vol. 3A, 6.8.3)', () => {
    for (const [sreg, shadowed] of [['ss', true], ['ds', false]] as const) {
      const bus = new PendingAfter(2);
      const cpu = makeCpu(bus);
      bus.cpu = cpu;
      const code = asm(`
        nop
        mov ${sreg}, ax
        mov ebx, 1
        mov ecx, 2
      `);
      const r = execSnippet(code, { eax: 0x10, ebx: 0, ecx: 0, eflags: 0x202 }, cpu);
      expect(cpu.eip).toBe(FAULT_BASE + 31 * 16 + 1);   // the interrupt was delivered
      expect(r.ebx).toBe(shadowed ? 1 : 0);
      expect(r.ecx).toBe(0);
    }
  });
});

describe('MOVZX and MOVSX (SDM Vol. 2, MOVZX/MOVSX)', () => {
  it('zero- and sign-extend bytes and words into 16- and 32-bit registers', () => {
    const cpu = cpuWith({ [DATA]: 0x8081fe7f });
    const r = execSnippet(asm(`
      movzx eax, byte [${DATA + 1}]   ; 0xfe
      movsx ebx, byte [${DATA + 1}]   ; 0xfe -> -2
      movsx ecx, word [${DATA + 2}]   ; 0x8081 -> 0xffff8081
      movzx edx, word [${DATA + 2}]
      o16 movsx si, dl                ; 0x81 -> 0xff81 in SI only
      o16 movzx di, dl
    `), { esi: 0x12345678, edi: 0x12345678 }, cpu);
    expect(r.eax).toBe(0xfe);
    expect(r.ebx).toBe(0xfffffffe);
    expect(r.ecx).toBe(0xffff8081);
    expect(r.edx).toBe(0x8081);
    expect(r.esi).toBe(0x1234ff81);
    expect(r.edi).toBe(0x12340081);
  });
});

describe('XCHG (SDM Vol. 2, XCHG)', () => {
  it('swaps registers and memory in every size, and 91-97 with EAX/AX', () => {
    const cpu = cpuWith({ [DATA]: 0xa1b2c3d4 });
    const r = execSnippet(asm(`
      xchg ecx, [${DATA}]
      xchg bl, bh
      xchg edx, eax        ; 92
      o16 xchg si, ax      ; 66 96
      xchg [${DATA}], dl   ; 86 with memory
    `), { eax: 0x11111111, ecx: 0x22222222, edx: 0x33334455, ebx: 0x0000aabb, esi: 0x66667777 }, cpu);
    expect(r.ecx).toBe(0xa1b2c3d4);
    expect(r.ebx).toBe(0xbbaa);
    expect(r.edx).toBe(0x11111122);   // EDX got EAX, then its DL swapped with memory's 0x22
    expect(r.eax).toBe(0x33337777);
    expect(r.esi).toBe(0x66664455);
    expect(cpu.readPhys32(DATA)).toBe(0x22222211);
  });

  it('a faulting memory operand leaves the register unchanged', () => {
    const cpu = makeCpu();
    cpu.setSegmentCache(DS, 0x10, 0, 0xfff, cpu.segAR[DS] & ~0x8000);   // byte-granular limit 0xfff
    const r = execSnippet(asm('xchg eax, [0x2000]'), { eax: 0x1234 }, cpu);
    expect(r.fault).toBe(GP);
    expect(r.eax).toBe(0x1234);
  });
});

describe('LEA (SDM Vol. 2, LEA)', () => {
  it('stores the offset without a memory access or segment check, by address and operand size', () => {
    const cpu = makeCpu();
    cpu.setSegmentCache(DS, 0, 0, 0, 1 << 16);   // an unusable DS: any access would #GP
    const r = execSnippet(asm(`
      lea eax, [ebx+ecx*4+0x10]
      a16 lea edx, [bx+si+0x20]        ; 16-bit address, zero-extended into EDX
      o16 lea di, [ebx+ecx*4+0x10]     ; 32-bit address truncated to DI
    `), { ebx: 0x0000fff0, ecx: 0x40000000, esi: 0x20, edi: 0x77777777 }, cpu);
    expect(r.fault).toBeUndefined();
    expect(r.eax).toBe(0x00010000);        // 0xfff0 + 0x1_0000_0000 + 0x10 wraps to 0x10000
    expect(r.edx).toBe(0x00000030);        // (0xfff0 + 0x20 + 0x20) & 0xffff
    expect(r.edi).toBe(0x77770000);
  });
});

describe('XLAT (SDM Vol. 2, XLAT)', () => {
  it('AL <- [seg:EBX + AL], with BX under a 16-bit address size and a segment override', () => {
    const cpu = cpuWith();
    for (let k = 0; k < 256; k++) { cpu.ram[DATA + k] = 255 - k; cpu.ram[0x50000 + k] = k ^ 0x55; }
    cpu.setSegmentCache(ES, 0x10, 0x30000, 0xffff_ffff, cpu.segAR[ES]);
    const r = execSnippet(asm(`
      xlatb
      mov ecx, eax
      mov eax, 0x10
      es xlatb             ; ES base 0x30000 + EBX + 0x10 = 0x50010
    `), { eax: 0xaabbcc05, ebx: DATA }, cpu);
    expect(r.ecx).toBe(0xaabbccfa);
    expect(r.eax).toBe(0x10 ^ 0x55);
    const cpu2 = cpuWith();
    cpu2.ram[0x0005] = 0x77;   // a16: BX = 0 (upper EBX bits ignored) + AL 5
    const r2 = execSnippet(asm('a16 xlatb'), { eax: 5, ebx: 0x00020000 }, cpu2);
    expect(r2.eax).toBe(0x77);
  });
});

describe('CMOVcc (SDM Vol. 2, CMOVcc)', () => {
  it('moves when the condition holds; a false 32-bit CMOV leaves the destination untouched', () => {
    const r = execSnippet(asm(`
      cmovz eax, ebx       ; ZF=1: taken
      cmovnz ecx, ebx      ; not taken
      cmovc edx, ebx       ; CF=0: not taken
      o16 cmovz si, bx
      cmovge edi, ebx      ; SF=OF=0: taken
    `), { eax: 1, ebx: 0x89abcdef, ecx: 0x11111111, edx: 0x22222222, esi: 0x33333333, edi: 0, eflags: 0x40 });
    expect(r.eax).toBe(0x89abcdef);
    expect(r.ecx).toBe(0x11111111);
    expect(r.edx).toBe(0x22222222);
    expect(r.esi).toBe(0x3333cdef);
    expect(r.edi).toBe(0x89abcdef);
  });

  it('reads its memory source even when the condition is false, so it can fault', () => {
    const cpu = makeCpu();
    cpu.setSegmentCache(DS, 0x10, 0, 0xfff, cpu.segAR[DS] & ~0x8000);
    const r = execSnippet(asm('cmovz eax, [0x2000]'), { eax: 7, eflags: 0 }, cpu);
    expect(r.fault).toBe(GP);
  });
});

describe('LAHF and SAHF (SDM Vol. 2, LAHF/SAHF)', () => {
  it('LAHF gives SF:ZF:0:AF:0:PF:1:CF; SAHF loads those five flags and leaves OF', () => {
    const r = execSnippet(asm('lahf'), { eax: 0x12345678, eflags: 0x8d5 });   // OF SF ZF AF PF CF
    expect(r.eax).toBe(0x1234d778);
    const s = execSnippet(asm('sahf'), { eax: 0xff00, eflags: 0x800 });
    expect(s.eflags & 0xfff).toBe(0x8d7);
    const t = execSnippet(asm('sahf'), { eax: 0x0000, eflags: 0x8d5 });
    expect(t.eflags & 0xfff).toBe(0x802);
  });
});

describe('LDS, LES, LSS, LFS, LGS (SDM Vol. 2, LDS/LES/LFS/LGS/LSS)', () => {
  it('load offset and selector from m16:32 and m16:16', () => {
    const cpu = cpuWith({ [DATA]: 0x12345678, [DATA + 4]: 0x23, [DATA + 8]: 0x00239abc });
    const r = execSnippet(asm(`
      lds eax, [${DATA}]
      les ebx, [${DATA}]
      lfs ecx, [${DATA}]
      lgs edx, [${DATA}]
      o16 lss si, [${DATA + 8}]
    `), { esi: 0xffff0000 }, cpu);
    expect([r.eax, r.ebx, r.ecx, r.edx]).toEqual([0x12345678, 0x12345678, 0x12345678, 0x12345678]);
    for (const s of [DS, ES, FS, GS]) expect(cpu.segSel[s]).toBe(0x23);
    // LSS at CPL 0 with a DPL-3 selector: SS needs RPL = DPL = CPL, so this one faults.
    expect(r.fault).toBe(GP);
    expect(errorFrame(cpu).code).toBe(0x20);
    expect(r.esi).toBe(0xffff0000);
  });

  it('LSS loads SS:ESP together; a bad selector leaves the register unchanged', () => {
    const cpu = cpuWith({ [DATA]: 0x7000, [DATA + 4]: 0x10, [DATA + 8]: 0x1111, [DATA + 12]: 0x48 });
    execSnippet(asm(`lss esp, [${DATA}]`), {}, cpu);
    expect(cpu.regs[4]).toBe(0x7000);
    expect(cpu.segSel[SS]).toBe(0x10);
    const cpu2 = cpuWith({ [DATA + 8]: 0x1111, [DATA + 12]: 0x48 });
    const r = execSnippet(asm(`lds eax, [${DATA + 8}]`), { eax: 0xabcd }, cpu2);
    expect(r.fault).toBe(GP);
    expect(errorFrame(cpu2).code).toBe(0x48);
    expect(r.eax).toBe(0xabcd);
  });

  it('register forms are #UD', () => {
    expect(execSnippet(Uint8Array.of(0xc5, 0xc0), {}).fault).toBe(UD);          // lds eax, eax
    expect(execSnippet(Uint8Array.of(0x0f, 0xb2, 0xc0), {}).fault).toBe(UD);    // lss eax, eax
  });
});

describe('BOUND (SDM Vol. 2, BOUND)', () => {
  it('passes inside [lower, upper] (signed) and raises #BR, a fault, outside', () => {
    const bounds = { [DATA]: -5, [DATA + 4]: 10, [DATA + 8]: 0x000afffb };   // 16-bit pair -5..10
    for (const [idx, inside] of [[-5, true], [10, true], [-6, false], [11, false], [0, true]] as const) {
      const cpu = cpuWith(bounds);
      const r = execSnippet(asm(`bound eax, [${DATA}]`), { eax: idx >>> 0 }, cpu);
      expect(r.fault, `index ${idx}`).toBe(inside ? undefined : BR);
      if (!inside) expect(returnEip(cpu)).toBe(CODE_BASE);
    }
    const cpu = cpuWith(bounds);
    const r = execSnippet(asm(`o16 bound ax, [${DATA + 8}]`), { eax: 0x7fff000b }, cpu);   // AX = 11 > 10
    expect(r.fault).toBe(BR);
    const ok = execSnippet(asm(`o16 bound ax, [${DATA + 8}]`), { eax: 0x0000fffb }, cpuWith(bounds));   // AX = -5
    expect(ok.fault).toBeUndefined();
  });

  it('the register form is #UD', () => {
    expect(execSnippet(Uint8Array.of(0x62, 0xc0), {}).fault).toBe(UD);
  });
});

describe('MOV in a 16-bit code segment', () => {
  it('operand and address size default to 16 and 66/67 select 32', () => {
    const cpu = cpuWith({ [0x0102]: 0x44332211 });
    cpu.setSegmentCache(CS, 0x08, CODE_BASE, 0xffff, cpu.segAR[CS] & ~AR_DB);
    const code = asm(`
      bits 16
      mov ax, [0x0102]         ; 16-bit address, 16-bit operand
      mov ebx, [0x0102]        ; 66
      mov ecx, [dword 0x0102]  ; 66 67
    `);
    cpu.ram.set(code, CODE_BASE);
    cpu.eip = 0;
    cpu.regs[0] = 0x55550000;
    run(cpu, 3);
    expect(cpu.regs[0] >>> 0).toBe(0x55552211);
    expect(cpu.regs[3]).toBe(0x44332211);
    expect(cpu.regs[1]).toBe(0x44332211);
    expect(cpu.eip).toBe(code.length);
    expect(cpu.regs[4]).toBe(STACK_TOP);
  });
});
