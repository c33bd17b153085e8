; holes.asm: four instructions that let a kernel see it is not in ring 0.
;
; IA-32 before VT-x could not be virtualized by trap-and-emulate alone (Popek and
; Goldberg's theorem 1 fails): some instructions are sensitive, their result depends
; on the privilege level or on system state a VMM must own, yet they do not trap
; when a deprivileged kernel executes them (Robin and Irvine, USENIX Security 2000,
; counted 17). This kernel runs four of them and prints what it sees:
;   POPF     with IF set in the image: in ring 0 it enables interrupts; at CPL > IOPL
;            the change is silently dropped.
;   SGDT     stores GDTR at any CPL: under a VMM, the VMM's GDT, not the one loaded.
;   SMSW     stores CR0 at any CPL (all 32 bits into a 32-bit register on P6 and
;            later): under a VMM, the real CR0, with the VMM's paging bits; MOV from
;            CR0 is privileged, so the VMM can answer that one with the guest's value.
;   PUSH CS  pushes the code selector, whose RPL is the CPL the code really runs at.
; On bare metal (vtscope --mode native, QEMU) every check agrees with ring 0. Under
; `vtscope run --mode trap` the kernel runs in ring 1, each of the four gives it a
; different answer, and vtscope lists each execution as a virtualization hole, with
; its address. `bt` and `hw` are the ways out.
;
; Build: nasm -f bin holes.asm -o holes.bin

bits 32

LOAD_ADDR     equ 0x00100000
MB_MAGIC      equ 0x1BADB002
MB_ADDRESSES  equ 1 << 16
MB_FLAGS      equ MB_ADDRESSES

COM1          equ 0x3F8
LSR_THRE      equ 1 << 5
LSR_TEMT      equ 1 << 6              ; line status: transmitter empty (last byte sent)
EXIT_PORT     equ 0xF4

EFLAGS_IF     equ 1 << 9
CR0_PG        equ 1 << 31

org LOAD_ADDR

multiboot_header:
    dd MB_MAGIC
    dd MB_FLAGS
    dd -(MB_MAGIC + MB_FLAGS)
    dd multiboot_header
    dd LOAD_ADDR
    dd image_end
    dd bss_end
    dd start

start:
    mov esp, stack_top
    call serial_init
    lgdt [gdt_descriptor]             ; a GDT of our own, for SGDT to show
    mov esi, msg_start
    call puts
    xor edi, edi                      ; EDI = checks that see a VMM

    ; 1. POPF. Interrupts are off (the loader leaves IF = 0); pop an image with IF
    ;    set, then look at IF again. No interrupt can arrive here: the PIT's first
    ;    tick is tens of milliseconds away, and IF goes off again right after.
    pushfd
    or dword [esp], EFLAGS_IF
    popfd                             ; the hole: dropped at CPL > IOPL
    pushfd
    pop eax
    cli
    shr eax, 9
    and eax, 1
    mov esi, msg_popf
    call puts
    call put_dec
    call newline
    xor eax, 1                        ; IF still 0: the POPF did not take
    add edi, eax

    ; 2. SGDT: is GDTR the table we loaded?
    sgdt [gdtr_seen]                  ; the hole: stores the real GDTR
    mov esi, msg_sgdt_base
    call puts
    mov eax, [gdtr_seen + 2]
    call put_hex
    mov esi, msg_sgdt_limit
    call puts
    movzx eax, word [gdtr_seen]
    call put_hex16
    mov esi, msg_sgdt_ours
    call puts
    mov eax, gdt
    call put_hex
    mov al, ')'
    call putc
    call newline
    cmp dword [gdtr_seen + 2], gdt
    setne al
    movzx eax, al
    add edi, eax

    ; 3. SMSW against MOV from CR0. This kernel never turns paging on.
    smsw eax                          ; the hole: the real CR0
    mov ebx, eax
    mov esi, msg_smsw
    call puts
    call put_hex
    mov esi, msg_cr0
    call puts
    mov eax, cr0                      ; privileged: a VMM answers with the guest's CR0
    call put_hex
    call newline
    cmp ebx, eax
    setne al
    movzx eax, al
    add edi, eax

    ; 4. PUSH CS: the RPL of the selector is the CPL.
    push cs                           ; the hole: RPL = the real CPL
    pop eax
    mov esi, msg_push_cs
    call puts
    call put_hex16
    mov esi, msg_rpl
    call puts
    and eax, 3
    mov ebx, eax
    call put_dec
    mov al, ')'
    call putc
    call newline
    test ebx, ebx
    setnz al
    movzx eax, al
    add edi, eax

    mov esi, msg_verdict
    call puts
    mov eax, edi
    call put_dec
    mov esi, msg_verdict_end
    call puts
    xor eax, eax

exit:
    mov bl, al                ; keep the status while the UART drains
    mov dx, COM1 + 5          ; LSR
.drain:                       ; until the last byte has left the transmitter: a
    in al, dx                 ; UART that sends on a timer (QEMU's) has sent it all
    test al, LSR_TEMT
    jz .drain
    mov al, bl
    out EXIT_PORT, al
.hang:
    cli
    hlt
    jmp .hang

; --- COM1 ----------------------------------------------------------------------

serial_init:                          ; 115200 8N1, FIFOs on, no UART interrupts
    mov dx, COM1 + 1
    mov al, 0x00
    out dx, al
    mov dx, COM1 + 3
    mov al, 0x80                      ; DLAB = 1
    out dx, al
    mov dx, COM1 + 0
    mov al, 0x01                      ; divisor 1
    out dx, al
    mov dx, COM1 + 1
    mov al, 0x00
    out dx, al
    mov dx, COM1 + 3
    mov al, 0x03                      ; 8N1, DLAB = 0
    out dx, al
    mov dx, COM1 + 2
    mov al, 0x07                      ; enable and clear FIFOs
    out dx, al
    mov dx, COM1 + 4
    mov al, 0x03                      ; DTR, RTS
    out dx, al
    ret

putc:                                 ; send AL once the transmitter is empty
    push edx
    push eax
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, LSR_THRE
    jz .wait
    pop eax
    mov dx, COM1
    out dx, al
    pop edx
    ret

newline:
    push eax
    mov al, 10
    call putc
    pop eax
    ret

puts:                                 ; send the zero-terminated string at ESI
    push eax
    push esi
.next:
    lodsb
    test al, al
    jz .done
    call putc
    jmp .next
.done:
    pop esi
    pop eax
    ret

put_hex:                              ; send "0x" and EAX as 8 hexadecimal digits
    push ecx
    mov ecx, 8
    jmp put_hex_digits
put_hex16:                            ; send "0x" and AX as 4 hexadecimal digits
    push ecx
    mov ecx, 4
put_hex_digits:
    push eax
    push edx
    mov edx, eax
    push ecx
    shl ecx, 2
    ror edx, cl                       ; the first digit to print is at the top
    pop ecx
    mov al, '0'
    call putc
    mov al, 'x'
    call putc
.digit:
    rol edx, 4
    mov eax, edx
    and eax, 0x0F
    mov al, [hex_digits + eax]
    call putc
    loop .digit
    pop edx
    pop eax
    pop ecx
    ret

put_dec:                              ; send EAX in decimal
    push eax
    push ebx
    push ecx
    push edx
    mov ebx, 10
    xor ecx, ecx
.divide:
    xor edx, edx
    div ebx
    push edx
    inc ecx
    test eax, eax
    jnz .divide
.print:
    pop eax
    add al, '0'
    call putc
    loop .print
    pop edx
    pop ecx
    pop ebx
    pop eax
    ret

; --- tables and strings ----------------------------------------------------------

    align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF             ; 0x08: code, base 0, limit 4 GiB, DPL 0
    dq 0x00CF92000000FFFF             ; 0x10: data, base 0, limit 4 GiB, DPL 0
gdt_end:

gdt_descriptor:
    dw gdt_end - gdt - 1
    dd gdt

hex_digits:      db "0123456789ABCDEF"
msg_start:       db "holes: four sensitive instructions that do not trap (Robin and Irvine, 2000)", 10, 0
msg_popf:        db "POPF of an image with IF = 1, then IF = ", 0
msg_sgdt_base:   db "SGDT: GDTR base ", 0
msg_sgdt_limit:  db " limit ", 0
msg_sgdt_ours:   db " (we loaded ", 0
msg_smsw:        db "SMSW: ", 0
msg_cr0:         db ", MOV from CR0: ", 0
msg_push_cs:     db "PUSH CS: ", 0
msg_rpl:         db " (RPL ", 0
msg_verdict:     db "holes: ", 0
msg_verdict_end: db " of 4 checks see a VMM", 10, 0

image_end:

section .bss
gdtr_seen:      resb 6
                alignb 16
                resb 4096
stack_top:
bss_end:
