; hello.asm: the smallest useful kernel.
;
; A Multiboot loader (GRUB, `qemu-system-i386 -kernel`, vtscope) reads the header
; below, copies this flat binary to 1 MiB and jumps to `start` in 32-bit protected
; mode with paging and interrupts off, EAX = 0x2BADB002 and EBX = the physical
; address of the Multiboot information structure (MBI). We greet on the first
; serial port, check the magic, print the memory sizes from the MBI and leave
; through the isa-debug-exit port, which ends the emulator with status (v << 1) | 1.
;
; Build: nasm -f bin hello.asm -o hello.bin

bits 32

LOAD_ADDR     equ 0x00100000          ; 1 MiB: where the loader puts the image

MB_MAGIC      equ 0x1BADB002          ; identifies the Multiboot v1 header
MB_MEMINFO    equ 1 << 1              ; ask for mem_lower/mem_upper in the MBI
MB_ADDRESSES  equ 1 << 16             ; the address fields below are valid (needed for a flat binary)
MB_FLAGS      equ MB_MEMINFO | MB_ADDRESSES
MB_BOOT_EAX   equ 0x2BADB002          ; what the loader leaves in EAX

MBI_FLAGS     equ 0                   ; MBI offsets (Multiboot spec, section 3.3)
MBI_MEM_LOWER equ 4
MBI_MEM_UPPER equ 8
MBI_HAS_MEM   equ 1 << 0              ; MBI flags bit 0: mem_lower/mem_upper are valid

COM1          equ 0x3F8               ; 16550 UART registers are COM1 + 0..7
LSR_THRE      equ 1 << 5              ; line status: transmit holding register empty
LSR_TEMT      equ 1 << 6              ; line status: transmitter empty (last byte sent)
EXIT_PORT     equ 0xF4                ; isa-debug-exit

org LOAD_ADDR

; The header must be 32-bit aligned and within the first 8 KiB of the file.
multiboot_header:
    dd MB_MAGIC
    dd MB_FLAGS
    dd -(MB_MAGIC + MB_FLAGS)         ; the three fields sum to zero
    dd multiboot_header               ; header_addr: where this header lands in memory
    dd LOAD_ADDR                      ; load_addr: start of the image
    dd image_end                      ; load_end_addr: end of the bytes copied from the file
    dd bss_end                        ; bss_end_addr: the loader zeroes up to here
    dd start                          ; entry_addr

start:
    mov esp, stack_top                ; the loader gives us no stack
    mov ebp, eax                      ; keep the magic and the MBI pointer across calls
    mov edi, ebx
    call serial_init

    mov esi, msg_hello
    call puts

    ; The magic tells us a Multiboot loader started us, so EBX can be trusted.
    mov esi, msg_magic
    call puts
    mov eax, ebp
    call put_hex
    cmp ebp, MB_BOOT_EAX
    jne .bad_magic
    mov esi, msg_ok
    call puts

    ; mem_lower is the usable memory below 640 KiB, mem_upper the memory from
    ; 1 MiB up to the first hole, both in KiB. On a PC the firmware keeps some of
    ; each: QEMU with 64 MiB reports 639 (the extended BIOS data area takes the
    ; last KiB below 640) and 64384 (63 MiB less the 128 KiB SeaBIOS reserves at
    ; the top of RAM).
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

    xor eax, eax                      ; exit value 0: success
    jmp exit

.no_meminfo:
    mov esi, msg_no_meminfo
    call puts
    mov eax, 1
    jmp exit

.bad_magic:
    mov esi, msg_bad
    call puts
    mov eax, 1

; Ends the run: the emulator exits with status (AL << 1) | 1.
exit:
    mov bl, al                ; keep the status while the UART drains
    mov dx, COM1 + 5          ; LSR
.drain:                       ; until the last byte has left the transmitter: a
    in al, dx                 ; UART that sends on a timer (QEMU's) has sent it all
    test al, LSR_TEMT
    jz .drain
    mov al, bl
    out EXIT_PORT, al
.hang:                                ; only reached without an isa-debug-exit device
    cli
    hlt
    jmp .hang

; --- COM1 --------------------------------------------------------------------

; 115200 baud, 8 data bits, no parity, 1 stop bit, FIFOs on, no UART interrupts.
serial_init:
    mov dx, COM1 + 1                  ; IER: no interrupts, we poll
    mov al, 0x00
    out dx, al
    mov dx, COM1 + 3                  ; LCR: DLAB = 1 exposes the divisor latch
    mov al, 0x80
    out dx, al
    mov dx, COM1 + 0                  ; divisor 1: 115200 baud
    mov al, 0x01
    out dx, al
    mov dx, COM1 + 1
    mov al, 0x00
    out dx, al
    mov dx, COM1 + 3                  ; LCR: 8N1, DLAB = 0
    mov al, 0x03
    out dx, al
    mov dx, COM1 + 2                  ; FCR: enable and clear both FIFOs
    mov al, 0x07
    out dx, al
    mov dx, COM1 + 4                  ; MCR: DTR and RTS
    mov al, 0x03
    out dx, al
    ret

; putc: send AL, waiting until the transmitter can take it.
putc:
    push edx
    push eax
    mov dx, COM1 + 5                  ; LSR
.wait:
    in al, dx
    test al, LSR_THRE
    jz .wait
    pop eax
    mov dx, COM1
    out dx, al
    pop edx
    ret

; puts: send the zero-terminated string at ESI.
puts:
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

; put_hex: send EAX as 8 hexadecimal digits, most significant first.
put_hex:
    push eax
    push ecx
    push edx
    mov edx, eax
    mov ecx, 8
.digit:
    rol edx, 4                        ; bring the next nibble to the bottom
    mov eax, edx
    and eax, 0x0F
    mov al, [hex_digits + eax]
    call putc
    loop .digit
    pop edx
    pop ecx
    pop eax
    ret

; put_dec: send EAX as an unsigned decimal number.
put_dec:
    push eax
    push ecx
    push edx
    push ebx
    mov ebx, 10
    xor ecx, ecx                      ; digits pushed so far
.divide:
    xor edx, edx
    div ebx                           ; EAX = quotient, EDX = next digit (least significant first)
    push edx
    inc ecx
    test eax, eax
    jnz .divide
.print:                               ; pop them back most significant first
    pop eax
    add al, '0'
    call putc
    loop .print
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

image_end:                            ; everything after this is zeroed by the loader

section .bss
                alignb 16
                resb 4096
stack_top:
bss_end:
