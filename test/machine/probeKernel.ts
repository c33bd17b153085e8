/**
 * Probe kernels for the machine tests: a flat Multiboot image at 1 MiB with its own flat GDT
 * (code 0x08, data 0x10), a stack, an IDT (`set_gate vector, handler` fills a gate) and
 * COM1 print routines, run both under qemu-system-i386 and on vtscope's Machine.
 *
 * Routines (all keep every register): `putc` (AL), `puts` (ESI, NUL-terminated), `hex8` (AL),
 * `hex32` (EAX), `space`, `nl`,
 * `dump` (ECX bytes from ESI in hex, 16 a line; advances ESI, clears ECX), and `exit` (ends
 * the run through isa-debug-exit with status 1). `title 'name'` prints `== name`, which
 * `sections` uses to split the output. AP_TRAMPOLINE and START_APS start the other processors
 * (AP_STARTUP_CODE holds what START_APS needs), and `ap_enter` is their first 32-bit code.
 */
import { Machine } from '../../src/machine/machine';
import { nasm } from '../support/nasm';
import { QEMU } from '../support/qemu';
import { runQemuProbe } from '../support/qemuDevices';
import { PUTC } from '../support/guestSerial';

const PRELUDE = `
bits 32
org 0x100000
header:
  dd 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000)
  dd header, header, image_end, bss_end, start
start:
  lgdt [gdtr]
  jmp 0x08:.reload
.reload:
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  mov fs, ax
  mov gs, ax
  mov ss, ax
  mov esp, stack_top
  lidt [idtr]
  cld
  jmp main

; prints "== name" on a line of its own: the start of a section of the output
%macro title 1
  jmp %%after
%%text: db '== ', %1, 10, 0
%%after:
  push esi
  mov esi, %%text
  call puts
  pop esi
%endmacro

; remap_pics MASK: the 8259 pair at vectors 0x20/0x28 (ICW1-ICW4), the master masked with
; MASK and the slave fully masked.
%macro remap_pics 1
  mov al, 0x11
  out 0x20, al
  out 0xa0, al
  mov al, 0x20
  out 0x21, al
  mov al, 0x28
  out 0xa1, al
  mov al, 4
  out 0x21, al
  mov al, 2
  out 0xa1, al
  mov al, 1
  out 0x21, al
  out 0xa1, al
  mov al, %1
  out 0x21, al
  mov al, 0xff
  out 0xa1, al
%endmacro

; ap_enter: an application processor's first steps in 32-bit code: the flat data segments,
; a 4 KiB stack by APIC ID below 0x20000 + 4 KiB * ID (its ID left in EDI) and the probe's IDT.
%macro ap_enter 0
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov edi, [0xfee00020]
  shr edi, 24
  mov esp, edi
  shl esp, 12
  add esp, 0x20000
  lidt [idtr]
%endmacro

%macro set_gate 2
  mov eax, %2
  mov word [idt + (%1) * 8], ax
  mov word [idt + (%1) * 8 + 2], 0x08
  mov word [idt + (%1) * 8 + 4], 0x8e00
  shr eax, 16
  mov word [idt + (%1) * 8 + 6], ax
%endmacro

${PUTC}puts:
  push eax
  push esi
.char:
  lodsb
  test al, al
  jz .end
  call putc
  jmp .char
.end:
  pop esi
  pop eax
  ret
hex4:
  push eax
  and al, 15
  add al, '0'
  cmp al, '9'
  jbe .digit
  add al, 'A' - '9' - 1
.digit:
  call putc
  pop eax
  ret
hex8:
  push eax
  push eax
  shr al, 4
  call hex4
  pop eax
  call hex4
  pop eax
  ret
hex32:
  push eax
  rol eax, 8
  call hex8
  rol eax, 8
  call hex8
  rol eax, 8
  call hex8
  rol eax, 8
  call hex8
  pop eax
  ret
space:
  push eax
  mov al, ' '
  call putc
  pop eax
  ret
nl:
  push eax
  mov al, 10
  call putc
  pop eax
  ret
dump:
  push eax
  push edx
  xor edx, edx
.byte:
  test ecx, ecx
  jz .end
  lodsb
  call hex8
  dec ecx
  inc edx
  test edx, 15
  jnz .byte
  call nl
  jmp .byte
.end:
  test edx, 15
  jz .done
  call nl
.done:
  pop edx
  pop eax
  ret
exit:
  mov dx, 0xf4
  xor eax, eax
  out dx, al
.hang:
  cli
  hlt
  jmp .hang

align 8
gdt: dq 0, 0x00cf9a000000ffff, 0x00cf92000000ffff
gdtr: dw 23
      dd gdt
idtr: dw 256 * 8 - 1
      dd idt
`;

/**
 * The real-mode trampoline an application processor starts in (copied to 0x8000, STARTUP
 * vector 0x08): LGDT with a 16-bit operand, whose base's top byte (0xFF here) is ignored,
 * CR0.PE, and a far jump to 32-bit code at `ap_main`, which the probe defines.
 */
export const AP_TRAMPOLINE = `
bits 16
trampoline:
  cli
  mov ax, cs
  mov ds, ax
  lgdt [tramp_gdtr - trampoline]
  mov eax, cr0
  or al, 1
  mov cr0, eax
  jmp dword 0x08:ap_main
tramp_gdtr:
  dw 23
  dd 0xff000000 + 0x8000 + tramp_gdt - trampoline
tramp_gdt:
  dq 0, 0x00cf9a000000ffff, 0x00cf92000000ffff
trampoline_end:
bits 32
`;

/**
 * Copies AP_TRAMPOLINE to 0x8000 and sends INIT, STARTUP, STARTUP to all other processors.
 * The probe defines `APIC` (the local APIC's base) and a `delay` routine to wait between them.
 */
export const START_APS = `
  mov esi, trampoline
  mov edi, 0x8000
  mov ecx, trampoline_end - trampoline
  rep movsb
  mov dword [APIC + 0x310], 0
  mov dword [APIC + 0x300], 0x000c4500     ; INIT, all excluding self
  call delay
  mov dword [APIC + 0x300], 0x000c4608     ; STARTUP at 0x8000, all excluding self
  call delay
  mov dword [APIC + 0x300], 0x000c4608
`;

/**
 * What a probe using START_APS needs besides: the `delay` it waits with between the IPIs, and
 * AP_TRAMPOLINE.
 */
export const AP_STARTUP_CODE = `
delay:
  mov ecx, 20000
.spin:
  loop .spin
  ret

${AP_TRAMPOLINE}`;

/** The image of a probe whose code starts at label `main:` in `body`. */
export function probeImage(body: string): Uint8Array {
  return nasm(`${PRELUDE}
${body}
image_end:
section .bss
alignb 8
idt: resb 256 * 8
resb 8192
stack_top:
bss_end:
`);
}

/** What the probe printed on COM1 under vtscope's machine (64 MiB), checking that it exited. */
export function runOnMachine(image: Uint8Array, maxInstructions = 200_000_000): string {
  const m = new Machine();
  let out = '';
  m.onSerialOutput = (b) => { out += String.fromCharCode(b); };
  m.load(image);
  const result = m.run({ maxInstructions });
  if (result.haltReason !== 'exit') throw new Error(`probe did not exit: ${result.message}\n${out}`);
  return out;
}

/**
 * What the probe printed on COM1 under qemu-system-i386 (64 MiB), checking that it exited.
 * With `icount`, QEMU's virtual clock advances 1 ns per instruction and skips idle time
 * (-icount shift=0,sleep=off), as vtscope's does, instead of following the host's clock.
 */
export async function runOnQemu(image: Uint8Array, { icount = false } = {}): Promise<string> {
  const r = await runQemuProbe(image, { args: icount ? ['-icount', 'shift=0,sleep=off'] : [] });
  // isa-debug-exit with 0 ends QEMU with status 1.
  if (r.status !== 1) throw new Error(`${QEMU} ended with status ${r.status}, not through isa-debug-exit with 0:\n${r.serial}`);
  return r.serial;
}

/** The hex digits of a dump as bytes (whitespace and line breaks ignored). */
export function hexBytes(text: string): Uint8Array {
  const digits = text.replace(/[^0-9A-F]/g, '');
  return Uint8Array.from({ length: digits.length / 2 }, (_, k) => parseInt(digits.slice(2 * k, 2 * k + 2), 16));
}

/** Splits probe output into named sections: lines `== name` start one. */
export function sections(output: string): Map<string, string> {
  const map = new Map<string, string>();
  let name = '';
  for (const line of output.split('\n')) {
    const m = /^== (.*)$/.exec(line);
    if (m !== null) { name = m[1]; map.set(name, ''); } else if (name !== '') map.set(name, map.get(name)! + line + '\n');
  }
  return map;
}
