; A compute-bound guest: a five-instruction integer loop run ITERATIONS times between a start
; marker and "done" on COM1, then an exit through isa-debug-exit. The speed benchmark's first
; workload; it times the guest from the marker to the end of the output.
bits 32
org 0x100000

%ifndef ITERATIONS
%define ITERATIONS 100000000
%endif

MB_MAGIC equ 0x1BADB002
MB_FLAGS equ 1 << 16                       ; address fields present: load as a flat binary

header:
    dd MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
    dd header, header, end, end, start      ; header_addr, load_addr, load_end, bss_end, entry

start:
    mov esp, 0x90000
    mov dx, 0x3F8
    mov al, '>'                            ; start marker: the benchmark times from here
    out dx, al
    xor eax, eax
    xor edx, edx
    mov ecx, 1
    mov ebx, ITERATIONS
.loop:                                     ; the five instructions being measured
    add eax, ecx
    xor edx, eax
    inc ecx
    dec ebx
    jnz .loop

    mov esi, done_msg
.print:
    lodsb
    test al, al
    jz .exit
    mov ah, al
    mov dx, 0x3FD
.wait:
    in al, dx                              ; line status: wait for THR empty
    test al, 0x20
    jz .wait
    mov dx, 0x3F8
    mov al, ah
    out dx, al
    jmp .print
.exit:
    mov al, 0
    out 0xF4, al
    cli
    hlt

done_msg: db "done", 10, 0
end:
