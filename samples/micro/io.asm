; io.asm: the cost of port I/O to an emulated device.
;
; ITERATIONS times: select a CMOS register through port 0x70 and read it from port 0x71,
; one OUT and one IN each time, to a device that only the VMM has. On bare metal each is
; an uncached bus cycle. Under trap-and-emulate the deprivileged kernel (CPL 1 > IOPL 0)
; faults on both and the VMM emulates the access; under VT-x (hw) both exit (reason 30,
; I/O instruction) and the VMM's device model answers. Adams and Agesen (ASPLOS 2006)
; found binary translation ahead of first-generation VT-x on I/O-heavy work: a translator
; turns the IN or OUT into a call into the VMM, which is cheaper than a VM exit.
;
; The registers read hold the memory sizes that the firmware (QEMU's pc_cmos_init, and
; vtscope's CMOS) stores for the RAM size: with 64 MiB, 0x15-0x16 = 640 KiB below 1 MiB
; and 0x17-0x18 = 64512 KiB above it, the bytes 0x80, 0x02, 0x00, 0xFC. The checksum is
; their sum over the loop: 382 for every 4 iterations.
;
; There is no PV build: a paravirtualized domain has no port access. Xen lets a domain touch
; only the ports it was granted, as dom0 is, after raising its IOPL with physdev_op (vtscope
; models neither); an ordinary domain's devices are split drivers over shared memory and
; event channels.
;
; Build: nasm -f bin -I samples/micro/ samples/micro/io.asm -o io.bin

%define BENCH_NAME "io"
%ifndef ITERATIONS
  %define ITERATIONS 40000
%endif
%include "micro.inc"
no_pv_build "io.asm has no PV build: a PV domain has no port access (see the comment at the top)"

CMOS_INDEX    equ 0x70
CMOS_DATA     equ 0x71

handlers:
    end_handlers

main:
    xor ebx, ebx                      ; the checksum
    mov edi, ITERATIONS
.access:
    mov eax, edi
    and eax, 3
    mov al, [cmos_registers + eax]
    out CMOS_INDEX, al
    in al, CMOS_DATA
    movzx eax, al
    add ebx, eax
    dec edi
    jnz .access
    mov eax, ebx
    jmp report

cmos_registers: db 0x18, 0x15, 0x16, 0x17   ; indexed by the iteration number mod 4

micro_end
