; pgfault.asm: the cost of a page fault that the guest kernel resolves.
;
; ITERATIONS times: write to TEST_VA, which is not mapped; the #PF handler checks CR2 and
; the error code, maps the page and returns, and the write runs again; then the kernel
; unmaps the page (PTE = 0 and INVLPG) for the next round. On bare metal that is one
; exception, one PTE write and one INVLPG per round. Under trap-and-emulate with shadow page
; tables the VMM sees the fault first (it must tell a hidden fault from the guest's own),
; reflects it, then traps the guest's write to its write-protected page table, its MOV from
; CR2 and its INVLPG. First-generation VT-x has no MMU support either: with shadow page
; tables every #PF exits (the VMM must tell a hidden fault from the guest's), and so does
; every INVLPG. Adams and Agesen (ASPLOS 2006) found binary translation ahead of it on such
; page-table work; nested paging (EPT), the fix they predicted, lets the guest take its own
; faults without an exit.
;
; The page is the frame `page`; the round i (1..N) writes i there through TEST_VA and reads
; it back, and the checksum is the sum of what is read: N(N + 1)/2. The write is a MOV: for a
; read-modify-write instruction such as ADD QEMU 7.2 reports the fault as a read (error
; code 0), vtscope as a write (2), and the handler checks the error code.
;
; Build: nasm -f bin -I samples/micro/ samples/micro/pgfault.asm -o pgfault.bin

%define BENCH_NAME "pgfault"
%ifndef ITERATIONS
  %define ITERATIONS 20000
%endif
%include "micro.inc"
%ifdef PARAVIRT
    xen_guest
%endif

PF_WRITE      equ 1 << 1              ; #PF error code: a write, to a page not present, from ring 0-2

handlers:
    trap_handler VEC_PF, page_fault, 0
    end_handlers

main:
    call identity_map_low
    mov edi, page_directory
    mov eax, pt_test                  ; TEST_VA's table starts empty: nothing mapped
    call make_directory
    mov eax, page_directory
    call paging_on

    xor ebx, ebx                      ; the checksum
    mov edi, 1
.round:
    mov [TEST_VA], edi                ; #PF: the handler maps the page, the MOV runs again
    add ebx, [TEST_VA]
    xor eax, eax
    set_test_pte eax, FLUSH           ; unmapped again
    inc edi
    cmp edi, ITERATIONS
    jbe .round

    mov esi, msg_miscount
    cmp dword [faults], ITERATIONS
    jne fail
    mov esi, msg_lost
    cmp dword [page], ITERATIONS      ; the last write went to the frame
    jne fail
    mov eax, ebx
    jmp report

; The CPU pushed an error code above the return address; CR2 holds the address.
page_fault:
    push eax
    read_cr2 eax
    cmp eax, TEST_VA
    jne .wrong
    cmp dword [esp + 4], PF_WRITE
    jne .wrong
    mov eax, page + PG_PRESENT + PG_WRITE
    set_test_pte eax, NO_FLUSH        ; a not-present entry is never in the TLB
    inc dword [faults]
    pop eax
    add esp, 4                        ; drop the error code; IRET restarts the write
    iret
.wrong:
    mov esi, msg_wrong
    jmp fail

msg_wrong:      db "page fault at an unexpected address or with an unexpected error code", 0
msg_miscount:   db "the handler did not see one page fault per round", 0
msg_lost:       db "the writes through TEST_VA did not reach the frame", 0

section .bss
                alignb PAGE_SIZE
page:           resb PAGE_SIZE
faults:         resd 1

micro_end
