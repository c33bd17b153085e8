; callret.asm: the cost of a near call and return, which no VMM should see.
;
; ITERATIONS times: CALL a small function and RET from it, around a little arithmetic. No
; privileged or sensitive instruction, no fault: under trap-and-emulate and VT-x the loop
; runs on the processor as it does on bare metal. It is in Adams and Agesen's set (ASPLOS
; 2006) for binary translation's sake: a translator must map each RET's target, read from
; the stack, to the translation of the return site, a cost hardware virtualization does not
; have. Under trap, pv and hw it is the control: only their setup's events come on top of
; native's cycles.
;
; The round i (N..1) calls mix with EAX = i, which returns 5i + 7; the checksum is their
; sum: 5N(N + 1)/2 + 7N.
;
; Build: nasm -f bin -I samples/micro/ samples/micro/callret.asm -o callret.bin

%define BENCH_NAME "callret"
%ifndef ITERATIONS
  %define ITERATIONS 200000
%endif
%include "micro.inc"
%ifdef PARAVIRT
    xen_guest
%endif

handlers:
    end_handlers

main:
    xor ebx, ebx                      ; the checksum
    mov edi, ITERATIONS
.round:
    mov eax, edi
    call mix
    add ebx, eax
    dec edi
    jnz .round
    mov eax, ebx
    jmp report

mix:                                  ; EAX = 5 * EAX + 7
    lea eax, [eax * 4 + eax + 7]
    ret

micro_end
