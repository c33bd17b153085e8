; pv-hello.asm: hello.asm ported to paravirtualization (vtscope run --mode pv).
;
; A paravirtualized kernel knows it runs in ring 1 under a VMM and asks the VMM for
; what it cannot do itself, with hypercalls modelled on Xen's: `int 0x82` with the
; call's number in EAX and its arguments in EBX, ECX, EDX, ESI, EDI; the result
; comes back in EAX (0, or a negative errno). Compared with hello.asm:
;   - no UART: the 16550 is the VMM's, the kernel writes on the VMM's console with
;     console_io, one hypercall per string instead of two port accesses per byte;
;   - no isa-debug-exit: the kernel shuts itself down with sched_op(shutdown), and
;     the VMM ends the run with the status hello.asm gets (poweroff = exit value 0);
;   - the string XEN_VER=xen-3.0 below marks the image as a PV kernel, as the
;     `__xen_guest` section of a Xen 3 kernel does.
; The VMM starts it the way a Multiboot loader starts hello.asm (EAX = 0x2BADB002,
; EBX = the Multiboot information), so it prints exactly what hello.asm prints.
; Under --mode native or trap it cannot run: `int 0x82` has no handler there.
;
; Build: nasm -f bin pv-hello.asm -o pv-hello.bin

bits 32

LOAD_ADDR     equ 0x00100000
MB_MAGIC      equ 0x1BADB002
MB_MEMINFO    equ 1 << 1
MB_ADDRESSES  equ 1 << 16
MB_FLAGS      equ MB_MEMINFO | MB_ADDRESSES
MB_BOOT_EAX   equ 0x2BADB002

MBI_FLAGS     equ 0
MBI_MEM_LOWER equ 4
MBI_MEM_UPPER equ 8
MBI_HAS_MEM   equ 1 << 0

HYPERCALL     equ 0x82                ; the hypercall vector
HC_CONSOLE_IO equ 18                  ; console_io(cmd, count, str)
HC_SCHED_OP   equ 29                  ; sched_op(cmd, arg)
CONSOLEIO_WRITE equ 0
SCHEDOP_SHUTDOWN equ 2
SHUTDOWN_POWEROFF equ 0               ; the run ends with exit value 0
SHUTDOWN_CRASH equ 3                  ; ... with exit value 1

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

xen_guest:      db "GUEST_OS=vtscope,XEN_VER=xen-3.0", 0

start:
    mov esp, stack_top
    mov ebp, eax
    mov edi, ebx

    mov esi, msg_hello
    call puts

    mov esi, msg_magic
    call puts
    mov eax, ebp
    call put_hex
    cmp ebp, MB_BOOT_EAX
    jne .bad_magic
    mov esi, msg_ok
    call puts

    test dword [edi + MBI_FLAGS], MBI_HAS_MEM
    jz .no_meminfo
    mov esi, msg_mem_lower
    call puts
    mov eax, [edi + MBI_MEM_LOWER]
    call put_dec
    mov esi, msg_mem_upper
    call puts
    mov eax, [edi + MBI_MEM_UPPER]
    call put_dec
    mov esi, msg_kib
    call puts

    mov dword [shutdown_reason], SHUTDOWN_POWEROFF
    jmp exit

.no_meminfo:
    mov esi, msg_no_meminfo
    call puts
    mov dword [shutdown_reason], SHUTDOWN_CRASH
    jmp exit

.bad_magic:
    mov esi, msg_bad
    call puts
    mov dword [shutdown_reason], SHUTDOWN_CRASH

; sched_op(SCHEDOP_shutdown, &reason): the VMM ends the run; it does not return.
exit:
    mov eax, HC_SCHED_OP
    mov ebx, SCHEDOP_SHUTDOWN
    mov ecx, shutdown_reason
    int HYPERCALL
.hang:
    jmp .hang

; --- the VMM's console -------------------------------------------------------

; write: console_io(CONSOLEIO_write, ECX bytes, ESI).
write:
    push eax
    push ebx
    push edx
    mov eax, HC_CONSOLE_IO
    mov ebx, CONSOLEIO_WRITE
    mov edx, esi
    int HYPERCALL
    pop edx
    pop ebx
    pop eax
    ret

; puts: write the zero-terminated string at ESI.
puts:
    push ecx
    push edi
    push eax
    mov edi, esi
    xor eax, eax
    mov ecx, -1
    repne scasb                       ; find the terminating zero
    not ecx
    dec ecx                           ; ECX = length
    call write
    pop eax
    pop edi
    pop ecx
    ret

; put_hex: write EAX as 8 hexadecimal digits, most significant first.
put_hex:
    push eax
    push ecx
    push edx
    push esi
    mov edx, eax
    mov esi, digits
    mov ecx, 8
.digit:
    rol edx, 4
    mov eax, edx
    and eax, 0x0F
    mov al, [hex_digits + eax]
    mov [esi], al
    inc esi
    loop .digit
    mov esi, digits
    mov ecx, 8
    call write
    pop esi
    pop edx
    pop ecx
    pop eax
    ret

; put_dec: write EAX as an unsigned decimal number.
put_dec:
    push eax
    push ecx
    push edx
    push ebx
    push esi
    mov ebx, 10
    mov esi, digits_end               ; the digits are stored right to left
.divide:
    xor edx, edx
    div ebx
    add dl, '0'
    dec esi
    mov [esi], dl
    test eax, eax
    jnz .divide
    mov ecx, digits_end
    sub ecx, esi
    call write
    pop esi
    pop ebx
    pop edx
    pop ecx
    pop eax
    ret

hex_digits:     db "0123456789ABCDEF"
msg_hello:      db "Hello from vtscope!", 10, 0
msg_magic:      db "Multiboot magic 0x", 0
msg_ok:         db ": ok", 10, 0
msg_bad:        db ": wrong, expected 0x2BADB002", 10, 0
msg_mem_lower:  db "mem_lower: ", 0
msg_mem_upper:  db " KiB, mem_upper: ", 0
msg_kib:        db " KiB", 10, 0
msg_no_meminfo: db "no memory sizes in the Multiboot information", 10, 0

image_end:

section .bss
shutdown_reason: resd 1
digits:         resb 12
digits_end:
                alignb 16
                resb 4096
stack_top:
bss_end:
