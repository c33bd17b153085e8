; timer.asm: hardware interrupts from the 8254 timer through the 8259A PIC.
;
; The steps every protected-mode kernel goes through before it can take an IRQ:
;   1. load its own GDT (the loader's may be anywhere, IRET reloads CS from it);
;   2. build an IDT and load it with LIDT;
;   3. move the PIC's IRQs off vectors 0x08-0x0F, which the CPU uses for
;      exceptions, to 0x20-0x2F (ICW1..ICW4), and unmask only IRQ 0;
;   4. program PIT channel 0 to interrupt 100 times a second;
;   5. STI, then HLT until an interrupt arrives.
; The IRQ 0 handler counts ticks and tells the PIC it is done (EOI); the main loop
; prints a line for every tick and stops after ten, that is 100 ms of PIT time.
; The output does not depend on how fast the host is: every tick is printed once.
;
; Build: nasm -f bin timer.asm -o timer.bin

bits 32

LOAD_ADDR     equ 0x00100000
MB_MAGIC      equ 0x1BADB002
MB_ADDRESSES  equ 1 << 16             ; flat binary: the address fields are valid
MB_FLAGS      equ MB_ADDRESSES

COM1          equ 0x3F8
LSR_THRE      equ 1 << 5
LSR_TEMT      equ 1 << 6              ; line status: transmitter empty (last byte sent)
EXIT_PORT     equ 0xF4

KERNEL_CS     equ 0x08                ; selectors: GDT index * 8, TI = 0, RPL = 0
KERNEL_DS     equ 0x10
INT_GATE      equ 0x8E                ; present, DPL 0, 32-bit interrupt gate (clears IF)

PIC1_CMD      equ 0x20                ; master 8259A
PIC1_DATA     equ 0x21
PIC2_CMD      equ 0xA0                ; slave 8259A, cascaded on the master's IRQ 2
PIC2_DATA     equ 0xA1
PIC_EOI       equ 0x20                ; OCW2: non-specific end of interrupt
IRQ_BASE      equ 0x20                ; IRQ 0-7 -> 0x20-0x27, IRQ 8-15 -> 0x28-0x2F
IDT_ENTRIES   equ IRQ_BASE + 16

PIT_CH0       equ 0x40
PIT_CMD       equ 0x43
PIT_HZ        equ 1193182             ; the PIT's input clock
TICK_HZ       equ 100
TICKS_TO_COUNT equ 10

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
    mov esp, stack_top
    call serial_init

    lgdt [gdt_descriptor]
    jmp KERNEL_CS:.reload_segments    ; a far jump is the way to reload CS
.reload_segments:
    mov ax, KERNEL_DS
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax

    ; Every vector we might see goes to `unexpected`, then IRQ 0 gets its handler.
    xor ebx, ebx
.fill_idt:
    mov eax, unexpected
    call set_gate
    inc ebx
    cmp ebx, IDT_ENTRIES
    jb .fill_idt
    mov ebx, IRQ_BASE + 0
    mov eax, timer_irq
    call set_gate
    lidt [idt_descriptor]

    call pic_remap
    call pit_start
    mov esi, msg_start
    call puts

    ; EDI = ticks printed so far. The CLI ... STI; HLT dance closes a race: a tick
    ; that arrived after the compare would otherwise leave us halted until the
    ; next one. STI enables interrupts only after the following instruction, so
    ; no tick can slip in between STI and HLT.
    xor edi, edi
.wait:
    cli
    cmp [ticks], edi
    jne .print_tick
    sti
    hlt
    jmp .wait
.print_tick:
    sti
    inc edi
    mov esi, msg_tick
    call puts
    mov eax, edi
    call put_dec
    mov al, 10
    call putc
    cmp edi, TICKS_TO_COUNT
    jb .wait

    cli
    mov esi, msg_done
    call puts
    xor eax, eax
    jmp exit

; IRQ 0. An interrupt gate entered it with IF = 0; IRET restores the caller's
; EFLAGS. Without the EOI the PIC would never deliver IRQ 0 (or anything of
; lower priority) again.
timer_irq:
    push eax
    inc dword [ticks]
    mov al, PIC_EOI
    out PIC1_CMD, al
    pop eax
    iret

; Any other vector: an exception or an IRQ we did not unmask.
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

; --- 8259A and 8254 --------------------------------------------------------------

pic_remap:
    mov al, 0x11                      ; ICW1: edge triggered, cascade, ICW4 follows
    out PIC1_CMD, al
    out PIC2_CMD, al
    mov al, IRQ_BASE                  ; ICW2: vector of IRQ 0 / IRQ 8
    out PIC1_DATA, al
    mov al, IRQ_BASE + 8
    out PIC2_DATA, al
    mov al, 1 << 2                    ; ICW3 master: a slave hangs on IRQ 2
    out PIC1_DATA, al
    mov al, 2                         ; ICW3 slave: its cascade identity is 2
    out PIC2_DATA, al
    mov al, 0x01                      ; ICW4: 8086 mode, normal EOI
    out PIC1_DATA, al
    out PIC2_DATA, al
    mov al, 0xFE                      ; OCW1: mask every IRQ but IRQ 0
    out PIC1_DATA, al
    mov al, 0xFF
    out PIC2_DATA, al
    ret

; Channel 0 in mode 2 (rate generator) raises IRQ 0 every DIVISOR input clocks.
DIVISOR equ (PIT_HZ + TICK_HZ / 2) / TICK_HZ   ; 11932: 99.998 Hz
pit_start:
    mov al, 0x34                      ; channel 0, low byte then high byte, mode 2, binary
    out PIT_CMD, al
    mov al, DIVISOR & 0xFF
    out PIT_CH0, al
    mov al, DIVISOR >> 8
    out PIT_CH0, al
    ret

; set_gate: make IDT entry EBX an interrupt gate to the handler at EAX.
set_gate:
    push eax
    mov [idt + ebx * 8], ax           ; offset 15..0
    mov word [idt + ebx * 8 + 2], KERNEL_CS
    mov byte [idt + ebx * 8 + 4], 0
    mov byte [idt + ebx * 8 + 5], INT_GATE
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
    dq 0                              ; the null descriptor
    dq 0x00CF9A000000FFFF             ; 0x08: code, base 0, limit 4 GiB, DPL 0, execute/read
    dq 0x00CF92000000FFFF             ; 0x10: data, base 0, limit 4 GiB, DPL 0, read/write
gdt_end:

gdt_descriptor:
    dw gdt_end - gdt - 1              ; limit
    dd gdt                            ; base
idt_descriptor:
    dw IDT_ENTRIES * 8 - 1
    dd idt

msg_start:      db "timer: IRQs at vectors 0x20-0x2F, PIT channel 0 at 100 Hz", 10, 0
msg_tick:       db "tick ", 0
msg_done:       db "timer: 10 ticks, 100 ms of PIT time", 10, 0
msg_unexpected: db "timer: unexpected interrupt or exception", 10, 0

image_end:

section .bss
ticks:          resd 1
                alignb 8
idt:            resq IDT_ENTRIES
                alignb 16
                resb 4096
stack_top:
bss_end:
