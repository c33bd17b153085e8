; paging.asm: two-level paging, 4 MiB pages, and page faults handled on demand.
;
; With CR0.PG = 1 every linear address goes through the page directory (CR3)
; and a page table: bits 31..22 pick the directory entry, bits 21..12 the table
; entry, bits 11..0 are the offset in the 4 KiB page. With CR4.PSE = 1 a
; directory entry with PS = 1 maps a whole 4 MiB page itself. This kernel maps
;   0x00000000-0x003FFFFF  identity, 4 KiB pages (the kernel lives at 1 MiB);
;                          one of them, `ro_page`, read-only;
;   0x00800000             one 4 KiB page onto `shared_frame`, a second name
;                          for the same physical memory;
;   0x00801000             nothing yet: the #PF handler maps it when touched;
;   0x00C00000-0x00FFFFFF  one 4 MiB page onto physical 0x00400000.
; The #PF handler prints CR2 (the linear address that faulted) and the error
; code the CPU pushed, fixes the mapping and returns, so the faulting
; instruction runs again and succeeds. CR0.WP = 1 makes read-only pages
; read-only for ring 0 too, which is what copy-on-write needs.
;
; Build: nasm -f bin paging.asm -o paging.bin

bits 32

LOAD_ADDR     equ 0x00100000
MB_MAGIC      equ 0x1BADB002
MB_ADDRESSES  equ 1 << 16
MB_FLAGS      equ MB_ADDRESSES

COM1          equ 0x3F8
LSR_THRE      equ 1 << 5
LSR_TEMT      equ 1 << 6              ; line status: transmitter empty (last byte sent)
EXIT_PORT     equ 0xF4

KERNEL_CS     equ 0x08
KERNEL_DS     equ 0x10
INT_GATE      equ 0x8E
VEC_PF        equ 14
IDT_ENTRIES   equ 32                  ; the exceptions

PG_PRESENT    equ 1 << 0              ; bits of page directory and table entries
PG_WRITE      equ 1 << 1
PG_SIZE_4M    equ 1 << 7              ; PS, in a directory entry
PAGE_SIZE     equ 4096
CR0_WP        equ 1 << 16
CR0_PG        equ 1 << 31
CR4_PSE       equ 1 << 4

PF_PROTECTION equ 1 << 0              ; #PF error code: 0 = page not present
PF_WRITE      equ 1 << 1              ; 0 = read
PF_USER       equ 1 << 2              ; 0 = supervisor (CPL < 3)

ALIAS_LINEAR  equ 0x00800000
DEMAND_LINEAR equ 0x00801000
BIG_LINEAR    equ 0x00C00000
BIG_PHYS      equ 0x00400000
BIG_OFFSET    equ 0x1234

org LOAD_ADDR

multiboot_header:
    dd MB_MAGIC
    dd MB_FLAGS
    dd -(MB_MAGIC + MB_FLAGS)
    dd multiboot_header               ; header_addr
    dd LOAD_ADDR                      ; load_addr
    dd image_end                      ; load_end_addr
    dd bss_end                        ; bss_end_addr: the page tables start out zero
    dd start                          ; entry_addr

start:
    mov esp, stack_top
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

    xor ebx, ebx
.fill_idt:
    mov eax, unexpected
    call set_gate
    inc ebx
    cmp ebx, IDT_ENTRIES
    jb .fill_idt
    mov ebx, VEC_PF
    mov eax, page_fault
    call set_gate
    lidt [idt_descriptor]

    ; Paging is off, so this writes physical memory; the 4 MiB page will show it.
    mov dword [BIG_PHYS + BIG_OFFSET], 0x12345678

    ; Page table for 0-4 MiB: entry i maps page i onto frame i.
    mov edi, pt_low
    mov eax, 0 + PG_PRESENT + PG_WRITE
    mov ecx, 1024
.identity:
    stosd
    add eax, PAGE_SIZE
    loop .identity
    mov ebx, ro_page                  ; clear R/W in ro_page's entry
    shr ebx, 12
    and dword [pt_low + ebx * 4], ~PG_WRITE

    ; Page table for 8-12 MiB: entry 0 -> shared_frame; entry 1 stays 0, not present.
    mov dword [pt_high + ((ALIAS_LINEAR >> 12) & 0x3FF) * 4], shared_frame + PG_PRESENT + PG_WRITE

    ; The page directory: one entry per 4 MiB of linear addresses.
    mov dword [page_directory + (0 >> 22) * 4], pt_low + PG_PRESENT + PG_WRITE
    mov dword [page_directory + (ALIAS_LINEAR >> 22) * 4], pt_high + PG_PRESENT + PG_WRITE
    mov dword [page_directory + (BIG_LINEAR >> 22) * 4], BIG_PHYS + PG_PRESENT + PG_WRITE + PG_SIZE_4M

    mov eax, cr4
    or eax, CR4_PSE
    mov cr4, eax
    mov eax, page_directory
    mov cr3, eax
    mov eax, cr0
    or eax, CR0_PG | CR0_WP           ; this code is identity-mapped, so the next
    mov cr0, eax                      ; fetch finds it at the same address

    mov esi, msg_on
    call puts
    mov eax, cr3
    call put_hex
    mov al, 10
    call putc

    ; 1. The 4 MiB page.
    mov esi, msg_big
    call puts
    mov eax, BIG_LINEAR + BIG_OFFSET
    call put_hex
    mov esi, msg_big_phys
    call puts
    mov eax, BIG_PHYS + BIG_OFFSET
    call put_hex
    mov esi, msg_holds
    call puts
    mov eax, [BIG_LINEAR + BIG_OFFSET]
    call put_hex
    mov al, 10
    call putc

    ; 2. Two linear pages, one frame: write through one, read through the other.
    mov dword [ALIAS_LINEAR], 0x600DF00D
    mov esi, msg_alias
    call puts
    mov eax, ALIAS_LINEAR
    call put_hex
    mov esi, msg_alias_read
    call puts
    mov eax, shared_frame
    call put_hex
    mov esi, msg_gives
    call puts
    mov eax, [shared_frame]
    call put_hex
    mov al, 10
    call putc

    ; 3. Demand paging: the write faults, the handler maps the page, the write
    ;    is restarted.
    mov esi, msg_demand
    call puts
    mov dword [DEMAND_LINEAR], 0xCAFEBABE
    mov esi, msg_read_back
    call puts
    mov eax, [DEMAND_LINEAR]
    call put_hex
    mov al, 10
    call putc

    ; 4. Write protection in ring 0.
    mov esi, msg_ro
    call puts
    mov eax, ro_page
    call put_hex
    mov al, 10
    call putc
    mov dword [ro_page], 0xDEADBEEF
    mov esi, msg_read_back
    call puts
    mov eax, [ro_page]
    call put_hex
    mov al, 10
    call putc

    xor eax, eax
    jmp exit

; #PF: the CPU pushed an error code and the EIP of the faulting instruction,
; and put the faulting linear address in CR2.
PF_ERROR equ 32                       ; above PUSHAD
page_fault:
    pushad
    mov esi, msg_pf
    call puts
    mov eax, cr2
    call put_hex
    mov esi, msg_pf_error
    call puts
    mov ebx, [esp + PF_ERROR]
    mov eax, ebx
    call put_hex

    mov esi, msg_not_present          ; decode the three low bits
    test ebx, PF_PROTECTION
    jz .p
    mov esi, msg_protection
.p: call puts
    mov esi, msg_read
    test ebx, PF_WRITE
    jz .w
    mov esi, msg_write
.w: call puts
    mov esi, msg_supervisor
    test ebx, PF_USER
    jz .u
    mov esi, msg_user
.u: call puts

    mov eax, cr2
    and eax, ~(PAGE_SIZE - 1)
    test ebx, PF_PROTECTION
    jnz .protection
    cmp eax, DEMAND_LINEAR            ; not present: is it the page we map lazily?
    jne .fatal
    mov dword [pt_high + ((DEMAND_LINEAR >> 12) & 0x3FF) * 4], demand_frame + PG_PRESENT + PG_WRITE
    mov esi, msg_mapped               ; (a real kernel would take a free frame
    call puts                         ; and clear it; ours is zero already)
    mov eax, demand_frame
    call put_hex
    jmp .retry
.protection:
    cmp eax, ro_page                  ; present but read-only: allow writes now,
    jne .fatal                        ; as copy-on-write would after copying
    mov ecx, eax
    shr ecx, 12
    or dword [pt_low + ecx * 4], PG_WRITE
    mov esi, msg_writable
    call puts
.retry:
    mov al, 10
    call putc
    mov eax, cr2
    invlpg [eax]                      ; drop any cached translation of the old entry
    popad
    add esp, 4                        ; drop the error code; IRET restarts the access
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

; set_gate: make IDT entry EBX an interrupt gate to the handler at EAX.
set_gate:
    push eax
    mov [idt + ebx * 8], ax
    mov word [idt + ebx * 8 + 2], KERNEL_CS
    mov byte [idt + ebx * 8 + 4], 0
    mov byte [idt + ebx * 8 + 5], INT_GATE
    shr eax, 16
    mov [idt + ebx * 8 + 6], ax
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

put_hex:                              ; send "0x" and EAX as 8 hexadecimal digits
    push eax
    push ecx
    push edx
    mov edx, eax
    mov al, '0'
    call putc
    mov al, 'x'
    call putc
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
idt_descriptor:
    dw IDT_ENTRIES * 8 - 1
    dd idt

hex_digits:      db "0123456789ABCDEF"
msg_on:          db "paging: on (CR0.PG, CR0.WP, CR4.PSE), page directory at CR3 = ", 0
msg_big:         db "4 MiB page: linear ", 0
msg_big_phys:    db " -> physical ", 0
msg_holds:       db " holds ", 0
msg_alias:       db "alias: wrote 0x600DF00D at linear ", 0
msg_alias_read:  db ", linear ", 0
msg_gives:       db " reads ", 0
msg_demand:      db "demand: writing 0xCAFEBABE at linear 0x00801000, not mapped yet", 10, 0
msg_ro:          db "write-protect: writing 0xDEADBEEF to the read-only page at ", 0
msg_read_back:   db "read back ", 0
msg_pf:          db "#PF at CR2 = ", 0
msg_pf_error:    db ", error code ", 0
msg_not_present: db " (not present, ", 0
msg_protection:  db " (protection, ", 0
msg_read:        db "read, ", 0
msg_write:       db "write, ", 0
msg_supervisor:  db "supervisor)", 0
msg_user:        db "user)", 0
msg_mapped:      db ": mapped to frame ", 0
msg_writable:    db ": made writable", 0
msg_unexpected:  db "paging: unexpected exception", 10, 0

image_end:

; Page directories, page tables and frames must be 4 KiB aligned.
section .bss align=4096
page_directory: resb PAGE_SIZE
pt_low:         resb PAGE_SIZE
pt_high:        resb PAGE_SIZE
shared_frame:   resb PAGE_SIZE
demand_frame:   resb PAGE_SIZE
ro_page:        resb PAGE_SIZE
idt:            resq IDT_ENTRIES
                alignb 16
                resb 4096
stack_top:
bss_end:
