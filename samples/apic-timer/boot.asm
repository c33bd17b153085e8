; boot.asm: the entry point of the APIC timer kernel.
;
; Loads a GDT of its own (the loader's may live in memory the kernel reuses), so that the
; interrupt gates kernel.c builds can name code segment 0x08, sets up a stack and calls
; kmain(magic, mbi).
;
; Build: nasm -f elf32 boot.asm -o boot.o

bits 32

MB_MAGIC   equ 0x1BADB002
MB_FLAGS   equ 0

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
    jmp 0x08:.reload_cs
.reload_cs:
    mov cx, 0x10
    mov ds, cx
    mov es, cx
    mov fs, cx
    mov gs, cx
    mov ss, cx
    mov esp, stack_top
    xor ebp, ebp                      ; the end of the frame-pointer chain for a debugger
    push ebx                          ; kmain(magic, mbi): cdecl pushes right to left
    push eax
    call kmain
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
