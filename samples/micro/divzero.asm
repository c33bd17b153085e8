; divzero.asm: the cost of an exception the guest kernel handles itself.
;
; ITERATIONS times: DIV by zero. The #DE handler counts the fault, steps EIP over the
; 2-byte DIV in its frame and returns with IRET. On bare metal that is one exception through
; the IDT and one IRET. Under trap-and-emulate the processor delivers the #DE to the VMM,
; which reflects it through the guest's virtual IDT, and the guest's IRET, whose frame holds
; a ring-0 CS, traps too. Under VT-x (hw) an exception exits only if the VMM's exception
; bitmap asks for it, and #DE is none of the VMM's business: the loop runs without exits.
; It is the divzero of Adams and Agesen's set (ASPLOS 2006): a guest exception that only
; software virtualization has to intercept. The PV build's handler is entered from its trap
; table by a bounce through the VMM.
;
; The round i (N..1) divides i, so the DIV leaves EAX = i; the checksum adds EAX and the
; fault count after each round: sum of i plus sum of 1..N = N(N + 1).
;
; Build: nasm -f bin -I samples/micro/ samples/micro/divzero.asm -o divzero.bin

%define BENCH_NAME "divzero"
%ifndef ITERATIONS
  %define ITERATIONS 30000
%endif
%include "micro.inc"
%ifdef PARAVIRT
    xen_guest
%endif

DIV_ECX       equ 0xF1F7              ; `div ecx`: F7 F1, as a little-endian word
DIV_LENGTH    equ 2

handlers:
    trap_handler VEC_DE, divide_error, 0
    end_handlers

main:
    xor ebx, ebx                      ; the checksum
    xor ecx, ecx                      ; the divisor
    xor esi, esi                      ; faults so far, counted by the handler
    mov edi, ITERATIONS
.round:
    mov eax, edi
    xor edx, edx
    div ecx                           ; #DE: the handler skips it
    add ebx, eax
    add ebx, esi
    dec edi
    jnz .round
    cmp esi, ITERATIONS
    mov esi, msg_miscount
    jne fail
    mov eax, ebx
    jmp report

; #DE is a fault: the saved EIP is the DIV's own, so returning to it would divide again.
divide_error:
    push eax
    mov eax, [esp + 4]
    cmp word [eax], DIV_ECX
    pop eax
    jne .wrong
    inc esi
    add dword [esp], DIV_LENGTH
    iret
.wrong:
    mov esi, msg_wrong
    jmp fail

msg_wrong:      db "divide error away from the benchmark's DIV", 0
msg_miscount:   db "the handler did not see one divide error per round", 0

micro_end
