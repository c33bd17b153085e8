/**
 * Decoded and compiled code blocks must follow writes to code (SDM Vol. 3A, 11.6: self-modifying
 * code — a write to a code location that is later executed takes effect, even for an
 * instruction already fetched and decoded).
 */
import { describe, expect, it } from 'vitest';
import { COMPILE_THRESHOLD } from '../../src/cpu/blockCompiler';
import { nasm } from '../support/nasm';
import { CODE_BASE, execSnippet, makeCpu } from './harness';

/** Runs `source` in blocks, every block compiled before it first runs (or never compiled). */
function run(source: string, compile = true) {
  const code = nasm(`bits 32\norg 0x${CODE_BASE.toString(16)}\n${source}`);
  return execSnippet(code, {}, makeCpu(), { compileAfter: compile ? 0 : Infinity });
}

describe('self-modifying code', () => {
  // A loop that rewrites the immediate of `add eax, imm32` in a routine it has already run many
  // times (so the routine's block is decoded, cached and compiled): iteration k adds k.
  const patchLoop = `
    xor eax, eax
    xor ecx, ecx
  again:
    mov [patch + 1], ecx      ; the imm32 of "add eax, imm32" (05 id)
    call patch
    inc ecx
    cmp ecx, ${4 * COMPILE_THRESHOLD}
    jne again
    jmp done
  patch:
    add eax, 0x11111111
    ret
  done:
  `;
  const n = 4 * COMPILE_THRESHOLD;
  const expected = (n * (n - 1)) / 2;

  it('a rewritten immediate takes effect in a compiled block', () => {
    expect(run(patchLoop).eax).toBe(expected);
  });

  it('and in the interpreter alone', () => {
    expect(run(patchLoop, false).eax).toBe(expected);
  });

  it('a write to the next instruction of the running block takes effect', () => {
    // The nop after the store is in the same straight-line block; the store turns it into inc eax.
    const r = run(`
      xor eax, eax
      mov byte [target], 0x40   ; 40 = inc eax
    target:
      nop
      inc eax
    `);
    expect(r.eax).toBe(2);
  });

  it('a write to the running compiled block ends it before the next instruction', () => {
    // Each pass first restores a nop, then overwrites it with inc eax before reaching it.
    const r = run(`
      xor eax, eax
      mov ecx, ${4 * COMPILE_THRESHOLD}
    again:
      mov byte [target], 0x90   ; nop
      mov byte [target], 0x40   ; inc eax
    target:
      nop
      dec ecx
      jnz again
    `);
    expect(r.eax).toBe(4 * COMPILE_THRESHOLD);
  });
});

describe('instruction breakpoints', () => {
  it('stop before the instruction at the address, inside a hot loop too, and resume past it once', async () => {
    const { run: runCpu } = await import('../../src/cpu/execute');
    const { StopReason } = await import('../../src/cpu/cpu');
    const cpu = makeCpu();
    const code = nasm(`bits 32\norg 0x${CODE_BASE.toString(16)}\n xor eax, eax\nagain: inc eax\nhere: add ebx, eax\n cmp eax, 100\n jne again\n hlt`);
    cpu.bus.ram.set(code, CODE_BASE);
    cpu.eip = CODE_BASE;
    const bp = CODE_BASE + 2 + 1;   // after xor eax,eax (2 bytes) and inc eax (1 byte)
    cpu.code.setBreakpoints([bp]);
    const hits: number[] = [];
    for (let n = 0; n < 1000 && !cpu.halted; n++) {
      runCpu(cpu, 1_000_000);
      if (cpu.stopReason === StopReason.Breakpoint) {
        expect(cpu.eip).toBe(bp);
        hits.push(cpu.regs[0]);
        cpu.resumeIcount = cpu.icount;
      }
    }
    expect(hits).toEqual(Array.from({ length: 100 }, (_, k) => k + 1));
    expect(cpu.regs[3]).toBe(5050);
  });
});
