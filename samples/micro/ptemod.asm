; ptemod.asm: the cost of changing a live page-table entry.
;
; ITERATIONS times: point TEST_VA at one of two frames (write its PTE, then INVLPG so the
; TLB forgets the old translation) and read through it; no access ever faults. On bare
; metal that is a store and an INVLPG. A VMM with shadow page tables must see every such
; store, so it write-protects the guest's page tables: under trap-and-emulate each store
; faults and is emulated and the INVLPG traps; under first-generation VT-x (hw with shadow
; paging) the store's fault and the INVLPG are VM exits. On page-table work Adams and
; Agesen (ASPLOS 2006) found binary translation ahead of VT-x, and predicted nested paging as
; the fix: with EPT (hw --mem-virt ept) the guest's page tables are its own and the loop runs
; without exits. The PV build makes one update_va_mapping hypercall per round, the checked
; update (and INVLPG) a Xen guest asks for instead of writing its page tables.
;
; The frames hold 1 and 0x10000; odd rounds map the first, even rounds the second, and the
; checksum is the sum of what is read: for an even N, N/2 in each half (0x3a983a98 for 30000).
;
; Build: nasm -f bin -I samples/micro/ samples/micro/ptemod.asm -o ptemod.bin

%define BENCH_NAME "ptemod"
%ifndef ITERATIONS
  %define ITERATIONS 30000
%endif
%include "micro.inc"
%ifdef PARAVIRT
    xen_guest
%endif

handlers:
    end_handlers

main:
    mov dword [frame_a], 1
    mov dword [frame_b], 0x10000
    call identity_map_low
    mov dword [pt_test + TEST_PTE * 4], frame_b + PG_PRESENT + PG_WRITE
    mov edi, page_directory
    mov eax, pt_test
    call make_directory
    mov eax, page_directory
    call paging_on

    xor ebx, ebx                      ; the checksum
    mov edi, ITERATIONS
.round:
    mov eax, edi
    and eax, 1
    mov eax, [mappings + eax * 4]
    set_test_pte eax, FLUSH
    add ebx, [TEST_VA]
    dec edi
    jnz .round
    mov eax, ebx
    jmp report

mappings:                             ; indexed by the round number mod 2
    dd frame_b + PG_PRESENT + PG_WRITE
    dd frame_a + PG_PRESENT + PG_WRITE

section .bss
                alignb PAGE_SIZE
frame_a:        resb PAGE_SIZE
frame_b:        resb PAGE_SIZE

micro_end
