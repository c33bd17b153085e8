/**
 * Compiles a hot code block into one JavaScript function. The commonest register-only
 * instructions become inline code (inlineCode.ts); every other instruction becomes a direct
 * call of its handler, so each call site sees one handler only and V8 can inline it. The
 * semantics are the interpreter's, instruction by instruction: before any handler runs, EIP,
 * EIP of the instruction and the instruction count are exact, so faults, I/O timing and
 * RDTSC see the same state as in the interpreter loop (execute.ts). Inline code that cannot
 * fault skips that bookkeeping; the count is settled before the next handler and at the end.
 */
import type { Block } from './codeCache';
import type { Cpu } from './cpu';
import { setLazyKeepCF, testCondition } from './flags';
import { inlineCode } from './inlineCode';

/** A compiled block: runs the whole block, or stops after an instruction that set `leaveBlock`. */
export type CompiledBlock = (cpu: Cpu) => void;

/** Executions of a block in the interpreter before it is compiled (the CodeCache default). */
export const COMPILE_THRESHOLD = 8;

export function compileBlock(block: Block): CompiledBlock {
  const insns = block.insns;
  const mask = block.code32 ? -1 : 0xffff;
  const lines: string[] = [];
  let eip = block.eip;
  let uncounted = 0;
  const settle = (): void => {
    if (uncounted !== 0) lines.push(`cpu.icount += ${uncounted};`);
    uncounted = 0;
  };
  for (let k = 0; k < insns.length; k++) {
    const i = insns[k];
    const next = (eip + i.len) & mask;
    const last = k === insns.length - 1;
    const inline = block.code32 ? inlineCode(i, next) : undefined;
    if (inline !== undefined && inline.pure) {
      lines.push(inline.code);
      uncounted++;
      if (last) { settle(); lines.push(`cpu.eip = ${next};`); }
    } else {
      settle();
      lines.push(`cpu.eipStart = ${eip}; cpu.eip = ${next};`);
      lines.push(inline !== undefined ? inline.code : `h${k}(cpu, i${k});`);
      lines.push('cpu.icount++;');
      if (!last && inline === undefined) lines.push('if (cpu.leaveBlock) return;');
    }
    eip = next;
  }
  const params = ['testCondition', 'setLazyKeepCF', ...insns.flatMap((_, k) => [`h${k}`, `i${k}`])];
  const args = [testCondition, setLazyKeepCF, ...insns.flatMap((i) => [i.exec, i])];
  const body = `return function block(cpu) {\nconst r = cpu.regs;\n${lines.join('\n')}\n};`;
  const factory = new Function(...params, body);
  return factory(...args) as CompiledBlock;
}
