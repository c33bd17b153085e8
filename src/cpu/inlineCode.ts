/**
 * JavaScript for the commonest register-only instructions, which the block compiler writes
 * into a compiled block in place of a handler call. Each template does exactly what its
 * handler in ops/ does for that form (the instruction-vector tests run both ways); anything
 * else — memory operands, prefixes, 16-bit forms — keeps its handler.
 *
 * A template is `pure` when it cannot fault and reads neither EIP nor the instruction count,
 * so the compiler may skip the per-instruction bookkeeping around it.
 */
import { LazyOp } from './flags';
import type { Insn } from './insn';
import { FLAGS_ARITH } from './registers';

export interface InlineCode {
  code: string;
  pure: boolean;
}

/** The lazy-flag operation each ALU opcode row records (ADC and SBB are left to their handlers). */
const ALU_LAZY: (LazyOp | undefined)[] = [LazyOp.Add, LazyOp.Logic, undefined, undefined, LazyOp.Logic, LazyOp.Sub, LazyOp.Logic, LazyOp.Sub];
const ALU_EXPR = ['d + s', 'd | s', '', '', 'd & s', 'd - s', 'd ^ s', 'd - s'];
const CMP = 7;

function alu(op: number, dst: string, src: string, store: boolean): InlineCode | undefined {
  const lazy = ALU_LAZY[op];
  if (lazy === undefined) return undefined;
  const write = store && op !== CMP ? `${dst} = v;` : '';
  return {
    code: `{ const d = ${dst}, s = ${src}, v = (${ALU_EXPR[op]}) | 0; ${write} ` +
      `cpu.lzOp = ${lazy}; cpu.lzDst = d; cpu.lzSrc = s; cpu.lzRes = v; cpu.lzSize = 32; cpu.lzMask = ${FLAGS_ARITH}; }`,
    pure: true,
  };
}

/**
 * Inline code for `i`, or undefined to call its handler. `next` is the EIP after it (for
 * branches). The generated code sees `cpu`, `r` (= cpu.regs), `testCondition`, `setLazyKeepCF`.
 */
export function inlineCode(i: Insn, next: number): InlineCode | undefined {
  if (i.lock || i.rep !== 0 || !i.o32 || !i.a32) return undefined;
  const op = i.op;
  if (op < 0x40 && (op & 7) <= 5) {
    // ALU rows 00-3D: 01 Ev,Gv / 03 Gv,Ev / 05 eAX,Iz (the 8-bit forms keep their handlers).
    const row = op >> 3;
    switch (op & 7) {
      case 1: return i.mem ? undefined : alu(row, `r[${i.rm}]`, `r[${i.reg}]`, true);
      case 3: return i.mem ? undefined : alu(row, `r[${i.reg}]`, `r[${i.rm}]`, true);
      case 5: return alu(row, 'r[0]', `${i.imm | 0}`, true);
      default: return undefined;
    }
  }
  if ((op === 0x81 || op === 0x83) && !i.mem) return alu(i.reg, `r[${i.rm}]`, `${i.imm | 0}`, true);
  if (op >= 0x40 && op <= 0x4f) {
    const inc = op < 0x48;
    return {
      code: `{ const d = r[${op & 7}], v = (d ${inc ? '+' : '-'} 1) | 0; ` +
        `setLazyKeepCF(cpu, ${inc ? LazyOp.Inc : LazyOp.Dec}, d, v, 32); r[${op & 7}] = v; }`,
      pure: true,
    };
  }
  if (op === 0x85 && !i.mem) {
    return {
      code: `{ const d = r[${i.rm}], s = r[${i.reg}]; cpu.lzOp = ${LazyOp.Logic}; cpu.lzDst = d; cpu.lzSrc = s; ` +
        `cpu.lzRes = d & s; cpu.lzSize = 32; cpu.lzMask = ${FLAGS_ARITH}; }`,
      pure: true,
    };
  }
  if (op === 0x89 && !i.mem) return { code: `r[${i.rm}] = r[${i.reg}];`, pure: true };
  if (op === 0x8b && !i.mem) return { code: `r[${i.reg}] = r[${i.rm}];`, pure: true };
  if (op >= 0xb8 && op <= 0xbf) return { code: `r[${op & 7}] = ${i.imm | 0};`, pure: true };
  if ((op >= 0x70 && op <= 0x7f) || (op >= 0x180 && op <= 0x18f) || op === 0xeb || op === 0xe9) {
    // Near jumps: the target is checked against the CS limit as jumpTo() does (#GP(0)).
    const target = (next + i.imm) | 0;
    const jump = `{ if (${target >>> 0} > cpu.segLimit[1]) cpu.raiseWithCode(13, 0); cpu.eip = ${target}; }`;
    const code = op === 0xeb || op === 0xe9 ? jump : `if (testCondition(cpu, ${op & 0xf})) ${jump}`;
    return { code, pure: false };
  }
  return undefined;
}
