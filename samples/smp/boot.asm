; boot.asm: the entry points of the SMP kernel, for the bootstrap processor and the others.
;
; The bootstrap processor arrives from the Multiboot loader in protected mode: it loads the
; kernel's GDT, sets up its stack and calls kmain(magic, mbi).
;
; An application processor arrives in real mode, at the page a STARTUP IPI names (SDM Vol. 3A,
; 8.4.4): the kernel copies ap_trampoline there (below 1 MiB, 4 KiB aligned). The trampoline
; loads the kernel's GDT, sets CR0.PE and jumps to ap_entry in 32-bit code, which takes the
; stack the bootstrap processor left in ap_stack and calls ap_main().
;
; Build: nasm -f elf32 boot.asm -o boot.o

bits 32

MB_MAGIC   equ 0x1BADB002
MB_FLAGS   equ 0

KERNEL_CS  equ 0x08
KERNEL_DS  equ 0x10

; The flat data segment in every data segment register.
%macro load_data_segments 0
    mov cx, KERNEL_DS
    mov ds, cx
    mov es, cx
    mov fs, cx
    mov gs, cx
    mov ss, cx
%endmacro

section .multiboot
align 4
    dd MB_MAGIC
    dd MB_FLAGS
    dd -(MB_MAGIC + MB_FLAGS)

section .text
global _start
extern kmain
_start:
    lgdt [gdt_descriptor]
    jmp KERNEL_CS:.reload_cs
.reload_cs:
    load_data_segments
    mov esp, stack_top
    xor ebp, ebp                      ; the end of the frame-pointer chain for a debugger
    push ebx                          ; kmain(magic, mbi): cdecl pushes right to left
    push eax
    call kmain
.hang:
    cli
    hlt
    jmp .hang

; Runs from its copy at a page below 1 MiB, with CS = page >> 4 and IP = 0: data is reached
; through DS = CS at offsets from ap_trampoline, and everything else at absolute addresses.
bits 16
global ap_trampoline, ap_trampoline_end
ap_trampoline:
    cli
    mov ax, cs
    mov ds, ax
    lgdt [trampoline_gdtr - ap_trampoline]
    mov eax, cr0
    or al, 1                          ; CR0.PE
    mov cr0, eax
    jmp dword KERNEL_CS:ap_entry      ; a far jump with a 32-bit offset loads CS from the GDT
; A 16-bit LGDT takes 24 bits of the base (SDM Vol. 2A, LGDT): enough for a kernel at 1 MiB.
trampoline_gdtr:
    dw gdt_end - gdt - 1
    dd gdt
ap_trampoline_end:

bits 32
extern ap_main, ap_stack
ap_entry:
    load_data_segments                ; replacing the real-mode segments
    mov esp, [ap_stack]
    xor ebp, ebp
    call ap_main
.hang:
    cli
    hlt
    jmp .hang

section .rodata
align 8
gdt:
    dq 0                              ; null descriptor
    dq 0x00CF9A000000FFFF             ; 0x08: code, base 0, 4 GiB, ring 0
    dq 0x00CF92000000FFFF             ; 0x10: data, base 0, 4 GiB, ring 0
gdt_end:
gdt_descriptor:
    dw gdt_end - gdt - 1
    dd gdt

section .bss
align 16
    resb 16384
stack_top:
