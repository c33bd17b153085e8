; pv-timer.asm: timer.asm ported to paravirtualization (vtscope run --mode pv).
;
; Under a VMM a paravirtualized kernel has no PIT, no PIC and no IDT of its own: it
; asks for a timer event with set_timer_op, receives it on an event channel, and
; the VMM enters its event callback (named with set_callbacks) much as the processor
; enters an interrupt handler. Compared with timer.asm:
;   - instead of programming the 8259A and 8254: event_channel_op binds the timer's
;     virtual IRQ to a port, set_timer_op asks for an event at an absolute time;
;   - instead of an IDT gate: set_callbacks names the event callback;
;   - instead of CLI and STI: the kernel writes evtchn_upcall_mask in the shared_info
;     page it shares with the VMM (no hypercall: the point of the design);
;   - instead of `sti; hlt`: sched_op(block), which unmasks events and sleeps in one step;
;   - instead of EOI and IRET: clear the pending bits, return with the iret hypercall.
; It prints exactly what timer.asm prints, ten ticks 10 ms of virtual time apart.
;
; Build: nasm -f bin pv-timer.asm -o pv-timer.bin

bits 32

LOAD_ADDR     equ 0x00100000
MB_MAGIC      equ 0x1BADB002
MB_ADDRESSES  equ 1 << 16
MB_FLAGS      equ MB_ADDRESSES

HYPERCALL     equ 0x82
HC_SET_CALLBACKS equ 4
HC_SET_TIMER_OP equ 15
HC_CONSOLE_IO equ 18
HC_IRET       equ 23
HC_SCHED_OP   equ 29
HC_EVENT_CHANNEL_OP equ 32
CONSOLEIO_WRITE equ 0
SCHEDOP_BLOCK equ 1
SCHEDOP_SHUTDOWN equ 2
EVTCHNOP_BIND_VIRQ equ 1
VIRQ_TIMER    equ 0
FLAT_RING1_CS equ 0xE019              ; the VMM's flat ring-1 code segment

; shared_info, vCPU 0 (Xen's layout for 32-bit guests)
UPCALL_PENDING equ 0
UPCALL_MASK   equ 1
PENDING_SEL   equ 4
EVTCHN_PENDING equ 2048

TICK_NS       equ 10000000            ; 10 ms: timer.asm's 100 Hz
TICKS_TO_COUNT equ 10

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
    lea eax, [esi + 4096]             ; ESI = start_info; shared_info is mapped next to it
    mov [shared], eax

    mov eax, HC_SET_CALLBACKS         ; set_callbacks(event callback, no failsafe callback)
    mov ebx, FLAT_RING1_CS
    mov ecx, timer_event
    mov edx, FLAT_RING1_CS
    xor esi, esi
    int HYPERCALL

    mov eax, HC_EVENT_CHANNEL_OP      ; the timer's events arrive on a port of our own
    mov ebx, EVTCHNOP_BIND_VIRQ
    mov ecx, bind_virq
    int HYPERCALL

    mov esi, msg_start
    call puts
    call next_tick

    ; EDI = ticks printed so far. Mask events, compare, then block: sched_op(block)
    ; unmasks events and sleeps in one step, as `sti; hlt` does, so no event is missed.
    xor edi, edi
.wait:
    mov ebx, [shared]
    mov byte [ebx + UPCALL_MASK], 1
    cmp [ticks], edi
    jne .print_tick
    mov eax, HC_SCHED_OP
    mov ebx, SCHEDOP_BLOCK
    int HYPERCALL
    jmp .wait
.print_tick:
    mov byte [ebx + UPCALL_MASK], 0   ; events on again; one that came meanwhile is delivered at the next hypercall
    inc edi
    mov esi, msg_tick
    call puts
    mov eax, edi
    call put_dec
    mov esi, msg_newline
    call puts
    cmp edi, TICKS_TO_COUNT
    jb .wait

    mov esi, msg_done
    call puts
    mov eax, HC_SCHED_OP              ; sched_op(shutdown, poweroff): exit value 0
    mov ebx, SCHEDOP_SHUTDOWN
    mov ecx, shutdown_reason
    int HYPERCALL
.hang:
    jmp .hang

; The event callback, entered with events masked and a frame of EIP, CS and EFLAGS.
; It counts the tick, clears what is pending and asks for the next one.
timer_event:
    push eax
    push ebx
    push ecx
    mov ebx, [shared]
    mov byte [ebx + UPCALL_PENDING], 0
    mov dword [ebx + PENDING_SEL], 0
    mov dword [ebx + EVTCHN_PENDING], 0
    inc dword [ticks]
    call next_tick
    pop ecx
    pop ebx
    pop eax
    push eax                          ; the iret hypercall pops EAX, EIP, CS, EFLAGS
    mov eax, HC_IRET
    int HYPERCALL

; next_tick: set_timer_op for the next multiple of 10 ms after the ticks counted.
next_tick:
    push eax
    push ebx
    push ecx
    push edx
    mov eax, [ticks]
    inc eax
    mov ecx, TICK_NS
    mul ecx                           ; EDX:EAX = nanoseconds of system time
    mov ebx, eax
    mov ecx, edx
    mov eax, HC_SET_TIMER_OP
    int HYPERCALL
    pop edx
    pop ecx
    pop ebx
    pop eax
    ret

; --- the VMM's console ---------------------------------------------------------

puts:                                 ; write the zero-terminated string at ESI
    push eax
    push ebx
    push ecx
    push edx
    push edi
    mov edi, esi
    xor eax, eax
    mov ecx, -1
    repne scasb
    not ecx
    dec ecx
    mov edx, esi
    mov eax, HC_CONSOLE_IO
    mov ebx, CONSOLEIO_WRITE
    int HYPERCALL
    pop edi
    pop edx
    pop ecx
    pop ebx
    pop eax
    ret

put_dec:                              ; write EAX in decimal
    push eax
    push ebx
    push edx
    push esi
    mov ebx, 10
    mov esi, digits_end               ; digits right to left, then a terminating zero
    mov byte [esi], 0
.divide:
    xor edx, edx
    div ebx
    add dl, '0'
    dec esi
    mov [esi], dl
    test eax, eax
    jnz .divide
    call puts
    pop esi
    pop edx
    pop ebx
    pop eax
    ret

msg_start:      db "timer: IRQs at vectors 0x20-0x2F, PIT channel 0 at 100 Hz", 10, 0
msg_tick:       db "tick ", 0
msg_newline:    db 10, 0
msg_done:       db "timer: 10 ticks, 100 ms of PIT time", 10, 0

image_end:

section .bss
shared:         resd 1
ticks:          resd 1
shutdown_reason: resd 1
bind_virq:      resd 3                ; { virq, vcpu, port (out) }
digits:         resb 11
digits_end:     resb 1
                alignb 16
                resb 4096
stack_top:
bss_end:
