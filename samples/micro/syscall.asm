; syscall.asm: the cost of a system call, ring 3 -> kernel -> ring 3.
;
; A user program (ring 3) makes ITERATIONS calls with `int 0x80`; the kernel's handler does
; almost nothing (EAX = 2 * EDX + 1) and returns with IRET. On bare metal that is a gate
; through the IDT and a stack switch through the TSS each way. A VMM that deprivileges the
; guest kernel (trap) owns the IDT, so every `int 0x80` enters the VMM, which reflects it to
; the guest's handler (the handler's IRET back to ring 3 runs on the processor). Under VT-x
; (hw) the guest kernel keeps ring 0 and its own IDT: neither the INT nor the IRET exits.
; System calls are where Adams and Agesen (ASPLOS 2006) found first-generation VT-x ahead of
; binary translation. The PV build's `int 0x80` is bounced by the VMM to the handler its
; trap table names.
;
; The checksum is the sum of the results: sum over i = 1..N of 2i + 1 = N(N + 2).
;
; Build: nasm -f bin -I samples/micro/ samples/micro/syscall.asm -o syscall.bin

%define BENCH_NAME "syscall"
%ifndef ITERATIONS
  %define ITERATIONS 25000
%endif
%include "micro.inc"
%ifdef PARAVIRT
    xen_guest
%endif

SYS_MIX       equ 1                   ; EAX = 2 * EDX + 1
SYS_REPORT    equ 2                   ; report EBX as the checksum and end the run

handlers:
    trap_handler VEC_SYSCALL, syscall_entry, 3   ; DPL 3: ring 3 may `int 0x80`
    end_handlers

main:
    mov eax, user_main
    mov edx, user_stack_top
    jmp enter_user

; --- ring 3 --------------------------------------------------------------------------

user_main:
    xor ebx, ebx                      ; the checksum
    mov edi, ITERATIONS
.call:
    mov eax, SYS_MIX
    mov edx, edi
    int 0x80
    add ebx, eax
    dec edi
    jnz .call
    mov eax, SYS_REPORT
    int 0x80

; --- the kernel ----------------------------------------------------------------------

syscall_entry:
    cmp eax, SYS_MIX
    jne .other
    lea eax, [edx * 2 + 1]
    iret
.other:
    cmp eax, SYS_REPORT
    jne .unknown
    mov eax, ebx
    jmp report
.unknown:
    mov esi, msg_unknown
    jmp fail

msg_unknown:    db "unknown system call", 0

section .bss
                alignb 16
                resb 4096
user_stack_top:

micro_end
