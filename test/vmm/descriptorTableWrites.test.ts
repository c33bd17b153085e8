// A kernel that changes a descriptor of its GDT after LGDT (SDM Vol. 3A, 3.4.5: the processor
// reads the descriptor from memory at each segment load). Under trap and bt the processor loads
// the VMM's shadow GDT, so the VMM write-protects the guest's GDT pages and rebuilds the shadow
// on each write ("GDT write"); bt then turns the writing instruction into a callout.
import { describe, expect, it } from 'vitest';
import { addressOf, counts, kernel, run } from './support';

const ROUNDS = 12;
// FS moves between two bases by rewriting GDT entry 0x18; each load reads a different dword.
const REWRITE = kernel(`
  lgdt [gdt_desc]
  mov dword [probe], 0x1234
  mov dword [0x200000 + probe], 0x567800
  xor esi, esi
  mov ecx, ${ROUNDS}
.round:
  mov eax, ecx
  and eax, 1
  shl eax, 5                     ; base 23:16 = 0 or 0x20: base 0 or 0x200000
  or eax, 0x00cf9200
.descriptor_write:
  mov [gdt + 0x18 + 4], eax
  mov ax, 0x18
  mov fs, ax
  add esi, [fs:probe]
  loop .round
  mov [sum], esi
  mov al, 0
  out 0xf4, al`, `
align 8
gdt:
  dq 0
  dq 0x00cf9a000000ffff          ; 0x08 code, DPL 0, 4 GiB (the loader's selectors)
  dq 0x00cf92000000ffff          ; 0x10 data
  dq 0x00cf92000000ffff          ; 0x18 data, base rewritten by the loop
gdt_end:
gdt_desc: dw gdt_end - gdt - 1
  dd gdt
align 4
sum: dd 0
probe equ 0x1000                 ; at 0x1000 and 0x201000`);

describe('GDT writes after LGDT', () => {
  const sum = addressOf(REWRITE.listing, /^sum:/);
  const writer = addressOf(REWRITE.listing, /^\.descriptor_write:/);

  it('reach the segment loads under native, trap and bt alike', () => {
    const native = run('native', REWRITE.image);
    const expected = native.vmm.cpu.readPhys32(sum) >>> 0;
    // Half the loads read 0x1234 at 0x1000, half 0x567800 at 0x201000.
    expect(expected).toBe((ROUNDS / 2) * (0x1234 + 0x567800));
    for (const mode of ['trap', 'bt'] as const) {
      const r = run(mode, REWRITE.image);
      expect(r.result.exitCode, r.result.message).toBe(native.result.exitCode);
      expect(r.vmm.cpu.readPhys32(sum) >>> 0, mode).toBe(expected);
      expect(r.result.instructions).toBe(native.result.instructions);
    }
  });

  it('trap takes one GDT-write trap per write; bt one per writer, then callouts from the retranslated writer', () => {
    // The loop's writes, and the store to `sum`, which shares the GDT's page.
    const trap = counts(run('trap', REWRITE.image).vmm);
    expect(trap['GDT write']).toBe(ROUNDS + 1);
    const bt = run('bt', REWRITE.image);
    const c = counts(bt.vmm);
    expect(c['GDT write']).toBe(2);
    expect(c['bt callout GDT write']).toBe(ROUNDS - 1);
    expect(bt.vmm.log.records().filter((r) => r.reason === 'bt callout GDT write').every((r) => r.eip === writer)).toBe(true);
    // The first round (ECX even) writes the high dword the table already holds.
    const high = (addressOf(REWRITE.listing, /^gdt:/) + 0x18 + 4).toString(16).padStart(8, '0');
    expect(bt.vmm.log.records().find((r) => r.reason === 'GDT write')?.qualification)
      .toBe(`guest GDT page 0x00100000 written through linear 0x${high}: 0 descriptors changed, shadow GDT rebuilt`);
    expect(bt.vmm.log.records().filter((r) => r.reason === 'bt callout GDT write').map((r) => r.qualification.match(/(\d) descriptor/)![1]))
      .toEqual(Array(ROUNDS - 1).fill('1'));
  });
});

// The same through an LDT: segment loads with TI = 1 read the guest's LDT, which the VMM
// shadows at LLDT and guards like the GDT.
const LDT_REWRITE = kernel(`
  lgdt [gdt_desc]
  mov ax, 0x18
  lldt ax
  mov dword [probe], 0x1234
  mov dword [0x200000 + probe], 0x567800
  mov ax, 0x0c                   ; LDT entry 1, RPL 0
  mov fs, ax
  mov esi, [fs:probe]            ; base 0x200000: 0x567800
  mov dword [ldt + 8 + 4], 0x00cf9200   ; base 0 from now on
  mov fs, ax
  add esi, [fs:probe]            ; 0x1234
  mov [sum], esi
  sldt ax
  movzx eax, ax
  mov [seen], eax
  mov al, 0
  out 0xf4, al`, `
align 8
gdt:
  dq 0
  dq 0x00cf9a000000ffff          ; 0x08 code
  dq 0x00cf92000000ffff          ; 0x10 data
  dw ldt_end - ldt - 1, ldt - 0x100000, 0x8210, 0   ; 0x18 LDT (base 0x10xxxx)
gdt_end:
gdt_desc: dw gdt_end - gdt - 1
  dd gdt
align 8
ldt:
  dq 0x00cf92000000ffff          ; 0x04 data, base 0
  dq 0x00cf92200000ffff          ; 0x0c data, base 0x200000
ldt_end:
align 4
sum: dd 0
seen: dd 0
probe equ 0x1000`);

describe('the LDT under trap and bt', () => {
  const sum = addressOf(LDT_REWRITE.listing, /^sum:/), seen = addressOf(LDT_REWRITE.listing, /^seen:/);

  it('loads segments through the guest\'s LDT and sees its writes, as on bare metal', () => {
    const native = run('native', LDT_REWRITE.image);
    expect(native.vmm.cpu.readPhys32(sum) >>> 0).toBe(0x567800 + 0x1234);
    expect(native.vmm.cpu.readPhys32(seen)).toBe(0x18);
    for (const mode of ['trap', 'bt'] as const) {
      const r = run(mode, LDT_REWRITE.image);
      expect(r.result.exitCode, `${mode}: ${r.result.message}`).toBe(native.result.exitCode);
      expect(r.vmm.cpu.readPhys32(sum) >>> 0, mode).toBe(0x567800 + 0x1234);
      expect(counts(r.vmm)[mode === 'trap' ? '#GP emulate LLDT' : 'bt callout LLDT'], mode).toBe(1);
      // The descriptor write, then the stores to sum and seen, which share the tables' page.
      expect(r.vmm.log.records().filter((e) => e.reason === 'LDT write').map((e) => e.qualification.match(/(\d+) descriptors? changed/)![1]), mode)
        .toEqual(['1', '0', '0']);
    }
    // SLDT does not trap: under trap it shows the VMM's LDTR, under bt the guest's.
    expect(run('bt', LDT_REWRITE.image).vmm.cpu.readPhys32(seen)).toBe(0x18);
    expect(run('trap', LDT_REWRITE.image).vmm.cpu.readPhys32(seen)).not.toBe(0x18);
  });
});
