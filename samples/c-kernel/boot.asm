; boot.asm: the entry point of the C kernel.
;
; The image is an ELF file, so the Multiboot header needs no address fields:
; the loader places each program header's segment where the ELF file says and
; starts at the ELF entry point. This file supplies the header, a stack, and
; the jump into C with the loader's EAX and EBX as kmain's two arguments.
;
; Build: nasm -f elf32 boot.asm -o boot.o

bits 32

MB_MAGIC   equ 0x1BADB002
MB_MEMINFO equ 1 << 1                 ; ask for mem_lower/mem_upper
MB_FLAGS   equ MB_MEMINFO

; link.ld puts this section first, well inside the 8 KiB the loader searches.
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
    push ebx                          ; kmain(magic, mbi): cdecl pushes right to left
    push eax
    call kmain
.hang:                                ; kmain exits through port 0xF4 and never returns
    cli
    hlt
    jmp .hang

section .bss
align 16
    resb 16384
stack_top:
