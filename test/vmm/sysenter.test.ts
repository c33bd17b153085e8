// Fast system calls under the software VMMs: user code calls the kernel with SYSENTER and the
// kernel returns with SYSEXIT (SDM Vol. 2). The VMM keeps IA32_SYSENTER_CS at 0 in the
// processor, so SYSENTER faults into it from ring 3 and is emulated into the guest's ring-1
// kernel; SYSEXIT, privileged, traps under trap and is a callout under bt.
import { describe, expect, it } from 'vitest';
import { counts, kernel, run } from './support';

const ROUNDS = 50;
const FAST_CALLS = kernel(`
  lgdt [gdt_desc]
  jmp 0x08:.kernel
.kernel:
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  mov ss, ax
  xor edx, edx
  mov ecx, 0x174                 ; IA32_SYSENTER_CS
  mov eax, 0x08
  wrmsr
  mov ecx, 0x175                 ; IA32_SYSENTER_ESP
  mov eax, kernel_stack
  wrmsr
  mov ecx, 0x176                 ; IA32_SYSENTER_EIP
  mov eax, entry
  wrmsr
  push 0x23                      ; to ring 3: SS, ESP, EFLAGS, CS, EIP
  push user_stack
  pushfd
  push 0x1b
  push user
  iretd

user:                            ; IRET to ring 3 nulled DS and ES (DPL 0 < CPL 3)
  mov ax, 0x23
  mov ds, ax
  mov es, ax
  mov ebx, ${ROUNDS}
.call:
  xor eax, eax                   ; function 0: count
  mov ecx, esp
  mov edx, .back
  sysenter
.back:
  dec ebx
  jnz .call
  mov eax, 1                     ; function 1: exit
  sysenter

entry:                           ; ring 0 (1 under the VMM), flat CS 0x08 and SS 0x10
  test eax, eax
  jnz .exit
  inc dword [count]
  sysexit
.exit:
  mov eax, [count]
  out 0xf4, al`, `
align 8
gdt:
  dq 0
  dq 0x00cf9a000000ffff          ; 0x08 kernel code
  dq 0x00cf92000000ffff          ; 0x10 kernel data (SYSENTER's SS = CS + 8)
  dq 0x00cffa000000ffff          ; 0x18 user code (SYSEXIT's CS = CS + 16, RPL 3)
  dq 0x00cff2000000ffff          ; 0x20 user data (SYSEXIT's SS = CS + 24, RPL 3)
gdt_end:
gdt_desc: dw gdt_end - gdt - 1
  dd gdt
align 4
count: dd 0
  times 256 dd 0
kernel_stack:
  times 256 dd 0
user_stack:`);

describe('SYSENTER and SYSEXIT under the software VMMs', () => {
  it('reach the guest kernel and come back: the exit status counts the calls, as on bare metal', () => {
    const native = run('native', FAST_CALLS.image);
    expect(native.result.exitCode, native.result.message).toBe((ROUNDS << 1) | 1);
    for (const mode of ['trap', 'bt'] as const) {
      const r = run(mode, FAST_CALLS.image);
      expect(r.result.exitCode, `${mode}: ${r.result.message}`).toBe(native.result.exitCode);
      expect(r.result.instructions).toBe(native.result.instructions);
    }
  });

  it('SYSENTER from user code is emulated after its #GP; SYSEXIT traps under trap and is a callout under bt', () => {
    const trap = counts(run('trap', FAST_CALLS.image).vmm);
    expect(trap['#GP emulate SYSENTER']).toBe(ROUNDS + 1);
    expect(trap['#GP emulate SYSEXIT']).toBe(ROUNDS);
    const bt = counts(run('bt', FAST_CALLS.image).vmm);
    expect(bt['#GP emulate SYSENTER']).toBe(ROUNDS + 1);
    expect(bt['bt callout SYSEXIT']).toBe(ROUNDS);
  });
});
