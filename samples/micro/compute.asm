; compute.asm: computation alone, the baseline of the other kernels.
;
; A sieve of Eratosthenes over 0 .. ITERATIONS - 1: loads, stores, compares and branches,
; nothing a VMM needs to see. Every mode should cost what native costs plus its setup's
; few events: the control against which the other kernels' overheads are read. Virtualizing
; costs what the guest asks of the VMM, not what it computes; that is why the published
; comparisons (Adams and Agesen, ASPLOS 2006; Barham et al., SOSP 2003) measure OS-heavy
; work.
;
; The checksum is the sum of the primes below ITERATIONS.
;
; Build: nasm -f bin -I samples/micro/ samples/micro/compute.asm -o compute.bin

%define BENCH_NAME "compute"
%ifndef ITERATIONS
  %define ITERATIONS 100000
%endif
%include "micro.inc"
%ifdef PARAVIRT
    xen_guest
%endif

handlers:
    end_handlers

main:
    xor ebx, ebx                      ; the checksum
    mov ecx, 2                        ; the candidate
.candidate:
    cmp byte [composite + ecx], 0
    jne .next
    add ebx, ecx                      ; a prime: strike its multiples from its square on
    mov eax, ecx
    mul ecx
    jc .next                          ; the square is beyond 32 bits, so beyond the sieve
.strike:
    cmp eax, ITERATIONS
    jae .next
    mov byte [composite + eax], 1
    add eax, ecx
    jmp .strike
.next:
    inc ecx
    cmp ecx, ITERATIONS
    jb .candidate
    mov eax, ebx
    jmp report

section .bss
composite:      resb ITERATIONS       ; zero: not known to be composite yet

micro_end
