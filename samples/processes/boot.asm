; boot.asm: the entry point of the processes kernel and its interrupt entry stubs.
;
; Every interrupt and exception enters through a stub that pushes the vector (and a zero
; where the processor pushes no error code), then trap_entry saves the registers as a
; struct trapframe (kernel.h) and calls trap(frame). trap returns the frame to resume:
; the same one, or another process's after a switch, which is how the scheduler moves
; from one process to the next.
;
; Build: nasm -f elf32 boot.asm -o boot.o

bits 32

MB_MAGIC   equ 0x1BADB002
MB_FLAGS   equ 0

KERNEL_DS  equ 0x10

section .multiboot
align 4
    dd MB_MAGIC
    dd MB_FLAGS
    dd -(MB_MAGIC + MB_FLAGS)

section .text
global _start
extern kmain
_start:
    mov esp, stack_top
    xor ebp, ebp                      ; the end of the frame-pointer chain for a debugger
    push ebx                          ; kmain(magic, mbi)
    push eax
    call kmain
.hang:
    cli
    hlt
    jmp .hang

; Exceptions 8, 10-14 and 17 push an error code (SDM Vol. 3A, table 6-1).
%macro stub 1
vector_%1:
%if %1 <> 8 && (%1 < 10 || %1 > 14) && %1 <> 17
    push 0
%endif
    push %1
    jmp trap_entry
%endmacro

%assign v 0
%rep 32
stub v
%assign v v + 1
%endrep
stub 32                           ; the PIT, IRQ 0 at vector 0x20
stub 128                          ; system calls, int 0x80

extern trap
trap_entry:
    pushad
    push ds
    push es
    mov ax, KERNEL_DS
    mov ds, ax
    mov es, ax
    push esp                          ; trap(frame)
    call trap
    mov esp, eax                      ; the frame to resume
global trap_return
trap_return:
    pop es
    pop ds
    popad
    add esp, 8                        ; vector and error code
    iret

; The stubs' addresses, for the IDT: vectors 0-31, then 0x20 and 0x80.
section .rodata
global trap_vectors
trap_vectors:
%assign v 0
%rep 32
    dd vector_ %+ v
%assign v v + 1
%endrep
    dd vector_32
    dd vector_128

section .bss
align 16
    resb 16384
stack_top:
