/**
 * The loop kernel of the breakpoint and reverse-execution tests, a .asm program the debugger
 * assembles itself: ECX counts from 1 to 9; each pass stores it in `counter` and prints it as a
 * digit on COM1; after the loop a newline, then a read of `counter`, whose low byte (9) is the
 * exit status through isa-debug-exit, (9 << 1) | 1 = 19.
 */
import type { Workdir } from '../loader/toolchain';

export const LOOP_SOURCE = `bits 32
org 0x100000
MB_FLAGS equ 1 << 16
header:
    dd 0x1BADB002, MB_FLAGS, -(0x1BADB002 + MB_FLAGS)
    dd header, header, image_end, bss_end, start
start:
    mov esp, stack_top          ; @entry
    xor ecx, ecx
again:
    inc ecx                     ; @inc
store:
    mov [counter], ecx          ; @store
    mov eax, ecx                ; @print
    add al, '0'
    mov dx, 0x3f8
    out dx, al                  ; @out
    cmp ecx, 9
    jne again                   ; @jne
    mov al, 10
    out dx, al
read:
    mov eax, [counter]          ; @read
    out 0xf4, al
align 4096
counter: dd 0
image_end:
    resb 4096
stack_top:
bss_end:
`;

/** What the kernel prints when nothing interferes. */
export const LOOP_OUTPUT = '123456789\n';
export const LOOP_EXIT = (9 << 1) | 1;
/** `mov [counter], ecx` is 89 0D and a 32-bit displacement (SDM Vol. 2, MOV 89 /r). */
export const STORE_LENGTH = 6;

export interface LoopKernel {
  path: string;
  /** The 1-based line holding `marker`. */
  line(marker: string): number;
}

export function loopKernel(work: Workdir, name = 'loop'): LoopKernel {
  const lines = LOOP_SOURCE.split('\n');
  return {
    path: work.write(`${name}.asm`, LOOP_SOURCE),
    line: (marker) => {
      const k = lines.findIndex((l) => l.includes(marker));
      if (k < 0) throw new Error(`no ${marker} in the loop kernel`);
      return k + 1;
    },
  };
}
