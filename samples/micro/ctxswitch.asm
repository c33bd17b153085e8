; ctxswitch.asm: the cost of switching address spaces.
;
; Two page directories share the kernel's identity-mapped first 4 MiB and map TEST_VA onto
; different frames, as two processes map the same user address differently. ITERATIONS
; times the kernel loads CR3 with one or the other and reads TEST_VA, checking that it sees
; that address space's frame. On bare metal a MOV to CR3 flushes the TLB. A VMM with shadow
; page tables must switch the shadow too: under trap-and-emulate the MOV to CR3 traps, under
; first-generation VT-x (hw with shadow paging) it is a VM exit, and the TLB refills through
; hidden page faults. Adams and Agesen (ASPLOS 2006) counted context switches among the work
; where binary translation beat VT-x; with EPT (hw --mem-virt ept) CR3 belongs to the guest
; and the switch does not exit. The PV build asks for each switch with mmuext_op(new_baseptr).
;
; The frames hold 0x0000A000 and 0x0000B000; odd rounds run on the first directory, even
; rounds on the second, and the checksum is the sum of what is read: N/2 * 0x15000.
;
; Build: nasm -f bin -I samples/micro/ samples/micro/ctxswitch.asm -o ctxswitch.bin

%define BENCH_NAME "ctxswitch"
%ifndef ITERATIONS
  %define ITERATIONS 30000
%endif
%include "micro.inc"
%ifdef PARAVIRT
    xen_guest
%endif

VALUE_A       equ 0x0000A000
VALUE_B       equ 0x0000B000

handlers:
    end_handlers

main:
    mov dword [frame_a], VALUE_A
    mov dword [frame_b], VALUE_B
    call identity_map_low
    mov dword [pt_test + TEST_PTE * 4], frame_a + PG_PRESENT + PG_WRITE
    mov dword [pt_b + TEST_PTE * 4], frame_b + PG_PRESENT + PG_WRITE
    mov edi, page_directory           ; address space A
    mov eax, pt_test
    call make_directory
    mov edi, directory_b              ; address space B
    mov eax, pt_b
    call make_directory
    mov eax, page_directory
    call paging_on

    xor ebx, ebx                      ; the checksum
    mov edi, ITERATIONS
.switch:
    mov eax, edi
    and eax, 1
    mov esi, [values + eax * 4]
    mov eax, [directories + eax * 4]
    set_cr3 eax
    mov eax, [TEST_VA]
    cmp eax, esi
    jne .wrong
    add ebx, eax
    dec edi
    jnz .switch
    mov eax, ebx
    jmp report
.wrong:
    mov esi, msg_wrong
    jmp fail

directories:    dd directory_b, page_directory   ; indexed by the round number mod 2
values:         dd VALUE_B, VALUE_A
msg_wrong:      db "TEST_VA does not show the frame of the address space just loaded", 0

section .bss
                alignb PAGE_SIZE
directory_b:    resb PAGE_SIZE
pt_b:           resb PAGE_SIZE
frame_a:        resb PAGE_SIZE
frame_b:        resb PAGE_SIZE

micro_end
