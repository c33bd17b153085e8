; syscall.asm: ring 3, system calls through `int 0x80`, and the #GP that guards
; privileged instructions.
;
; What it takes to run code at CPL 3 on IA-32:
;   - code and data segments of DPL 3 in the GDT for the user;
;   - a TSS whose SS0:ESP0 is the stack the CPU switches to when an interrupt
;     or exception takes it from ring 3 to ring 0 (loaded with LTR);
;   - an IDT gate of DPL 3 for the system call, or `int 0x80` itself would
;     raise #GP: software interrupts check the gate's DPL against the CPL;
;   - an IRET with a frame (SS, ESP, EFLAGS, CS, EIP) whose CS has RPL 3.
; The user program writes a line, then tries CLI and HLT: at CPL 3 with IOPL 0
; both raise #GP(0). The #GP handler prints the error code and the faulting EIP
; from the exception frame, steps over the instruction and returns; this is the
; trap-and-emulate mechanism a VMM builds on. The program then calls exit(0).
;
; Build: nasm -f bin syscall.asm -o syscall.bin

bits 32

LOAD_ADDR     equ 0x00100000
MB_MAGIC      equ 0x1BADB002
MB_ADDRESSES  equ 1 << 16
MB_FLAGS      equ MB_ADDRESSES

COM1          equ 0x3F8
LSR_THRE      equ 1 << 5
LSR_TEMT      equ 1 << 6              ; line status: transmitter empty (last byte sent)
EXIT_PORT     equ 0xF4

KERNEL_CS     equ 0x08                ; GDT index 1, RPL 0
KERNEL_DS     equ 0x10                ; GDT index 2
USER_CS       equ 0x18 | 3            ; GDT index 3, RPL 3
USER_DS       equ 0x20 | 3            ; GDT index 4, RPL 3
TSS_SEL       equ 0x28                ; GDT index 5

INT_GATE      equ 0x8E                ; present, DPL 0, 32-bit interrupt gate
USER_TRAP_GATE equ 0xEF               ; present, DPL 3, 32-bit trap gate (leaves IF alone)
VEC_GP        equ 13
VEC_SYSCALL   equ 0x80
IDT_ENTRIES   equ VEC_SYSCALL + 1

SYS_EXIT      equ 1                   ; the Linux i386 numbers: EAX = call,
SYS_WRITE     equ 4                   ; EBX, ECX, EDX = arguments, EAX = result
STDOUT        equ 1

OP_CLI        equ 0xFA
OP_HLT        equ 0xF4

org LOAD_ADDR

multiboot_header:
    dd MB_MAGIC
    dd MB_FLAGS
    dd -(MB_MAGIC + MB_FLAGS)
    dd multiboot_header               ; header_addr
    dd LOAD_ADDR                      ; load_addr
    dd image_end                      ; load_end_addr
    dd bss_end                        ; bss_end_addr
    dd start                          ; entry_addr

start:
    mov esp, kernel_stack_top
    call serial_init

    lgdt [gdt_descriptor]
    jmp KERNEL_CS:.reload_segments
.reload_segments:
    mov ax, KERNEL_DS
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax

    mov ax, TSS_SEL                   ; the CPU reads SS0:ESP0 from here on every
    ltr ax                            ; interrupt that leaves ring 3

    xor ebx, ebx
.fill_idt:
    mov eax, unexpected
    mov dl, INT_GATE
    call set_gate
    inc ebx
    cmp ebx, IDT_ENTRIES
    jb .fill_idt
    mov ebx, VEC_GP
    mov eax, general_protection
    call set_gate                     ; DL is still INT_GATE
    mov ebx, VEC_SYSCALL
    mov eax, syscall_entry
    mov dl, USER_TRAP_GATE
    call set_gate
    lidt [idt_descriptor]

    mov esi, msg_start
    call puts

    ; IRET to an outer ring pops EIP, CS, EFLAGS, ESP, SS. EFLAGS = 0x002:
    ; IOPL 0, so CLI and HLT are privileged for the user; IF = 0 because no
    ; device here is set up to interrupt.
    mov ax, USER_DS
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    push USER_DS                      ; SS
    push user_stack_top               ; ESP
    push 0x002                        ; EFLAGS (bit 1 is always 1)
    push USER_CS                      ; CS
    push user_main                    ; EIP
    iret

; --- the user program (CPL 3) ----------------------------------------------------
; Without paging the flat user segments reach all memory, so the user can read
; its strings here; what ring 3 loses is the privileged instructions.

user_main:
    mov eax, SYS_WRITE
    mov ebx, STDOUT
    mov ecx, msg_user
    mov edx, msg_user_len
    int 0x80

    cli                               ; #GP(0): CPL 3 > IOPL 0
    hlt                               ; #GP(0): HLT needs CPL 0

    mov eax, SYS_WRITE
    mov ebx, STDOUT
    mov ecx, msg_user_again
    mov edx, msg_user_again_len
    int 0x80

    mov eax, SYS_EXIT
    mov ebx, 0
    int 0x80

; --- the kernel (CPL 0) ----------------------------------------------------------

; int 0x80. The CPU switched to SS0:ESP0 and pushed the user's SS, ESP, EFLAGS,
; CS and EIP; DS still holds the user's selector, so we save it and load ours.
SAVED_EAX equ 8 + 28                  ; ES, DS, then PUSHAD's EAX (pushed first)
syscall_entry:
    pushad
    push ds
    push es
    mov si, KERNEL_DS
    mov ds, si
    mov es, si
    cmp eax, SYS_WRITE
    je .write
    cmp eax, SYS_EXIT
    je .exit
    mov dword [esp + SAVED_EAX], -1   ; unknown call
    jmp .return

.write:                               ; write(EBX = fd, ECX = buffer, EDX = length)
    cmp ebx, STDOUT                   ; a real kernel would also check that the
    jne .bad_fd                       ; buffer lies in user memory
    mov esi, ecx
    mov ecx, edx
    jecxz .written
.copy:
    lodsb
    call putc
    loop .copy
.written:
    mov [esp + SAVED_EAX], edx        ; the result: bytes written
    jmp .return
.bad_fd:
    mov dword [esp + SAVED_EAX], -1
.return:
    pop es
    pop ds
    popad
    iret

.exit:                                ; exit(EBX = status)
    mov esi, msg_exit
    call puts
    mov eax, ebx
    call put_dec
    mov esi, msg_exit_cpl
    call puts
    mov eax, [esp + 8 + 32 + 4]       ; the caller's CS; its RPL is the CPL it ran at
    and eax, 3
    call put_dec
    mov al, 10
    call putc
    mov eax, ebx
    jmp exit

; #GP pushes an error code (0 here: no segment is to blame) after the
; EIP of the faulting instruction, so the instruction can be restarted, or,
; as here, skipped.
GP_ERROR equ 4 + 32                   ; above the saved DS and PUSHAD
GP_EIP   equ GP_ERROR + 4
GP_CS    equ GP_ERROR + 8
general_protection:
    pushad
    push ds
    mov ax, KERNEL_DS
    mov ds, ax
    mov esi, msg_gp
    call puts
    mov eax, [esp + GP_ERROR]
    call put_hex
    mov esi, msg_gp_eip
    call puts
    mov eax, [esp + GP_EIP]
    call put_hex
    mov esi, msg_gp_cpl
    call puts
    mov eax, [esp + GP_CS]
    and eax, 3
    call put_dec
    test eax, eax
    jz .fatal                         ; ring 0 faulted: a kernel bug, stop

    mov ebx, [esp + GP_EIP]           ; which instruction was it?
    mov esi, msg_gp_cli
    cmp byte [ebx], OP_CLI
    je .skip
    mov esi, msg_gp_hlt
    cmp byte [ebx], OP_HLT
    jne .fatal
.skip:
    call puts
    inc dword [esp + GP_EIP]          ; CLI and HLT are one byte long
    pop ds
    popad
    add esp, 4                        ; drop the error code before IRET
    iret
.fatal:
    mov al, 10
    call putc
    mov eax, 1
    jmp exit

unexpected:
    mov esi, msg_unexpected
    call puts
    mov eax, 1

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

; set_gate: IDT entry EBX -> handler EAX in the kernel code segment, type DL.
set_gate:
    push eax
    mov [idt + ebx * 8], ax           ; offset 15..0
    mov word [idt + ebx * 8 + 2], KERNEL_CS
    mov byte [idt + ebx * 8 + 4], 0
    mov [idt + ebx * 8 + 5], dl       ; present, DPL, gate type
    shr eax, 16
    mov [idt + ebx * 8 + 6], ax       ; offset 31..16
    pop eax
    ret

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

put_hex:                              ; send EAX as 8 hexadecimal digits
    push eax
    push ecx
    push edx
    mov edx, eax
    mov ecx, 8
.digit:
    rol edx, 4
    mov eax, edx
    and eax, 0x0F
    mov al, [hex_digits + eax]
    call putc
    loop .digit
    pop edx
    pop ecx
    pop eax
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

; The TSS descriptor splits the TSS address across three fields. `tss - $$` is a
; plain number (a distance inside this section), so NASM can shift it.
TSS_BASE equ LOAD_ADDR + (tss - $$)
TSS_LIMIT equ tss_end - tss - 1

    align 8
gdt:
    dq 0                              ; null descriptor
    dq 0x00CF9A000000FFFF             ; 0x08 kernel code: base 0, 4 GiB, DPL 0
    dq 0x00CF92000000FFFF             ; 0x10 kernel data: base 0, 4 GiB, DPL 0
    dq 0x00CFFA000000FFFF             ; 0x18 user code:   base 0, 4 GiB, DPL 3
    dq 0x00CFF2000000FFFF             ; 0x20 user data:   base 0, 4 GiB, DPL 3
    dw TSS_LIMIT                      ; 0x28 TSS: limit 15..0
    dw TSS_BASE & 0xFFFF              ;   base 15..0
    db (TSS_BASE >> 16) & 0xFF        ;   base 23..16
    db 0x89                           ;   present, DPL 0, available 32-bit TSS
    db 0x00                           ;   byte granularity, limit 19..16 = 0
    db TSS_BASE >> 24                 ;   base 31..24
gdt_end:

gdt_descriptor:
    dw gdt_end - gdt - 1
    dd gdt
idt_descriptor:
    dw IDT_ENTRIES * 8 - 1
    dd idt

; Only SS0:ESP0 matter without hardware task switching.
    align 4
tss:
    dd 0                              ; 0: previous task link
    dd kernel_stack_top               ; 4: ESP0
    dd KERNEL_DS                      ; 8: SS0
    times 22 dd 0                     ; 12..99: ESP1 .. LDT selector
    dw 0                              ; 100: debug trap flag
    dw tss_end - tss                  ; 102: I/O bitmap beyond the limit: no port is open to ring 3
tss_end:

hex_digits:     db "0123456789ABCDEF"
msg_start:      db "syscall: kernel at CPL 0, entering the user program with IRET", 10, 0
msg_user:       db "Hello from ring 3 through int 0x80!", 10
msg_user_len    equ $ - msg_user
msg_user_again: db "ring 3 survived CLI and HLT, now calling exit(0)", 10
msg_user_again_len equ $ - msg_user_again
msg_exit:       db "syscall: exit(", 0
msg_exit_cpl:   db ") from CPL ", 0
msg_gp:         db "#GP(0x", 0
msg_gp_eip:     db ") at EIP 0x", 0
msg_gp_cpl:     db " from CPL ", 0
msg_gp_cli:     db ": CLI is privileged, skipped", 10, 0
msg_gp_hlt:     db ": HLT is privileged, skipped", 10, 0
msg_unexpected: db "syscall: unexpected interrupt or exception", 10, 0

image_end:

section .bss
                alignb 8
idt:            resq IDT_ENTRIES
                alignb 16
                resb 4096
kernel_stack_top:
                resb 4096
user_stack_top:
bss_end:
