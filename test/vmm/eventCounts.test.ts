// Event counts that are known by construction: each kernel executes a known number of
// instructions that must trap under trap-and-emulate, and the exit log must count exactly
// those. Each also ends as it does natively.
import { describe, expect, it } from 'vitest';
import { counts, kernel, run } from './support';

function trapAgainstNative(image: Uint8Array) {
  const native = run('native', image);
  const trap = run('trap', image);
  expect(trap.result.exitCode, trap.result.message).toBe(native.result.exitCode);
  expect(trap.result.instructions).toBe(native.result.instructions);
  return { native, trap, c: counts(trap.vmm) };
}

/** Turns paging on with page directory `dir` (CR3 then CR0.PG). */
const PAGING_ON = (dir: string) => `
  mov eax, ${dir}
  mov cr3, eax
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax`;

describe('I/O under trap (fact sheet section 5: IN and OUT trap at CPL > IOPL)', () => {
  it('100 OUT instructions give 100 I/O events, and the kernel halts as natively', () => {
    const { trap, c } = trapAgainstNative(kernel(`
  mov ecx, 100
  mov dx, 0x80
.out:
  out dx, al
  loop .out
  cli
  hlt`).image);
    expect(trap.result.haltReason).toBe('halt');
    expect(c['#GP emulate OUT']).toBe(100);
    expect(c['#GP emulate CLI']).toBe(1);
    expect(c['#GP emulate HLT']).toBe(1);
  });

  it('qualifies an OUT in words: port, size and value', () => {
    const { trap } = trapAgainstNative(kernel(`
  mov dx, 0x3f8
  mov al, 'H'
  out dx, al
  mov ax, 0x1234
  out 0x80, ax
  cli
  hlt`).image);
    const outs = trap.vmm.log.records().filter((r) => r.reason === '#GP emulate OUT');
    expect(outs.map((r) => r.qualification)).toEqual(['OUT dx=0x3f8 size 1 value 0x48', 'OUT imm=0x80 size 2 value 0x1234']);
    expect(outs.every((r) => r.kind === 'privileged instruction' && r.cpl === 1 && r.mode === 'trap')).toBe(true);
  });
});

describe('control registers under trap (SDM Vol. 3A 2.5; MOV to CR3 is privileged)', () => {
  const cr3Loads = (n: number) => kernel(`
  mov eax, cr4
  or eax, 0x10                ; CR4.PSE: both directories map 0-4 MiB with one 4 MiB page
  mov cr4, eax
  ${PAGING_ON('pd1')}
  mov ecx, ${n}
.switch:
  mov eax, pd2
  mov cr3, eax
  mov eax, pd1
  mov cr3, eax
  loop .switch
  cli
  hlt`, `
  align 4096
pd1: dd 0x00000083
  times 1023 dd 0
pd2: dd 0x00000083
  times 1023 dd 0`).image;

  it('N CR3 loads give N emulated MOV to CR3, each switching shadow roots', () => {
    const { c } = trapAgainstNative(cr3Loads(50));
    expect(c['#GP emulate MOV to CR3']).toBe(2 * 50 + 1);
    expect(c['#GP emulate MOV to CR4']).toBe(1);
    expect(c['#GP emulate MOV to CR0']).toBe(1);
  });

  it('shadow roots are kept: switching back to a CR3 seen before takes no new shadow #PF', () => {
    const few = trapAgainstNative(cr3Loads(5)).c['shadow #PF'];
    const many = trapAgainstNative(cr3Loads(50)).c['shadow #PF'];
    expect(many).toBe(few);
  });

  it('qualifies a CR3 load in words: register and value', () => {
    const { trap } = trapAgainstNative(cr3Loads(1));
    const loads = trap.vmm.log.records().filter((r) => r.reason === '#GP emulate MOV to CR3');
    expect(loads[0].qualification).toMatch(/^MOV to CR3 from EAX = 0x10[0-9a-f]000$/);
  });
});

describe('shadow page tables (guest page-table pages are write-protected in the shadow)', () => {
  const pteWrites = (m: number) => kernel(`
  mov edi, pt                 ; identity-map 0-4 MiB with 4 KiB pages
  mov eax, 3
  mov ecx, 1024
.fill:
  stosd
  add eax, 4096
  loop .fill
  mov dword [pd], pt + 3
  ${PAGING_ON('pd')}
  mov edi, pt + 1000 * 4      ; unmap pages nothing uses, one entry at a time
  mov ecx, ${m}
.write:
  mov dword [edi], 0
  add edi, 4
  loop .write
  cli
  hlt`, `
  align 4096
pd: times 1024 dd 0
pt: times 1024 dd 0`).image;

  it('M writes to a page table in use give M PTE-write events; the writes made before paging give none', () => {
    const { c } = trapAgainstNative(pteWrites(20));
    expect(c['PTE write']).toBe(20);
  });

  it('the guest\'s page tables end up as native leaves them (the writes were carried out)', () => {
    const { native, trap } = trapAgainstNative(pteWrites(20));
    const guestRam = (r: typeof trap) => Buffer.from(r.vmm.machine.ram.buffer, 0, r.vmm.machine.guestRamBytes);
    expect(guestRam(trap).equals(guestRam(native))).toBe(true);
  });
});

describe('reflection through the guest\'s IDT (SDM Vol. 3A 6.12)', () => {
  it('N INT 0x80 from the guest kernel give N reflections and N emulated IRETs (the frame holds CS with RPL 0)', () => {
    const { c } = trapAgainstNative(kernel(`
  lgdt [gdtr]
  jmp 0x08:.flat
.flat:
  mov ax, 0x10
  mov ds, ax
  mov ss, ax
  mov eax, handler
  mov [idt + 0x80 * 8], ax
  mov word [idt + 0x80 * 8 + 2], 0x08
  mov word [idt + 0x80 * 8 + 4], 0x8e00
  shr eax, 16
  mov [idt + 0x80 * 8 + 6], ax
  lidt [idtr]
  mov ecx, 30
.call:
  int 0x80
  loop .call
  cli
  hlt
handler:
  iret`, `
  align 8
gdt: dq 0, 0x00CF9A000000FFFF, 0x00CF92000000FFFF
gdtr: dw 23
  dd gdt
idtr: dw 0x81 * 8 - 1
  dd idt
idt: times 0x81 dq 0`).image);
    expect(c['reflect INT 0x80']).toBe(30);
    expect(c['#GP emulate IRET']).toBe(30);
    // MOV SS with an RPL-0 selector faults in ring 1 (RPL must equal CPL) and is emulated.
    expect(c['#GP emulate MOV SS']).toBe(1);
  });
});
