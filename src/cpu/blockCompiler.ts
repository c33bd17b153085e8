/**
 * Compiles a hot code block into one JavaScript function that calls each instruction's
 * handler directly. Every call site then sees one handler only, so V8 can inline it, and
 * EIP bookkeeping becomes constants. The semantics are the interpreter's, instruction by
 * instruction: EIP and the instruction count are exact at every handler call, so faults,
 * I/O timing and RDTSC see the same state as in the interpreter loop (execute.ts).
 */
import type { Block } from './codeCache';
import type { Cpu } from './cpu';

/** A compiled block: runs the whole block, or stops after an instruction that set `leaveBlock`. */
export type CompiledBlock = (cpu: Cpu) => void;

/** Executions of a block in the interpreter before it is compiled. */
export const COMPILE_THRESHOLD = 8;

export function compileBlock(block: Block): CompiledBlock {
  const insns = block.insns;
  const mask = block.code32 ? -1 : 0xffff;
  const lines: string[] = [];
  let eip = block.eip;
  for (let k = 0; k < insns.length; k++) {
    const next = (eip + insns[k].len) & mask;
    lines.push(`cpu.eipStart = ${eip}; cpu.eip = ${next}; h${k}(cpu, i${k}); cpu.icount++;`);
    if (k < insns.length - 1) lines.push('if (cpu.leaveBlock) return;');
    eip = next;
  }
  const params = insns.flatMap((_, k) => [`h${k}`, `i${k}`]);
  const args = insns.flatMap((i) => [i.exec, i]);
  const factory = new Function(...params, `return function block(cpu) {\n${lines.join('\n')}\n};`);
  return factory(...args) as CompiledBlock;
}
