/**
 * Instructions that do little or nothing here: NOP and PAUSE, the multi-byte and hint NOPs,
 * and UD2. (WAIT and the x87 escapes are ops/x87.ts.)
 */
import { UD } from '../exceptions';
import { defineOp } from '../opcodeTable';

function nothing(): void { /* no operation */ }

export function register(): void {
  // 90 is also F3 90 (PAUSE) and 66 90; XCHG with EAX is 91-97 in move.ts.
  defineOp(0x90, { name: 'nop', exec: nothing });
  // 0F 1F is NOP r/m (all of it is a hint NOP); 0F 18-1E are the prefetch and reserved hint
  // NOPs, which P6 decodes with a ModR/M byte and executes as NOPs; none touches memory.
  for (let op = 0x118; op <= 0x11f; op++) defineOp(op, { name: 'nop', operands: 'Ev', modrm: true, exec: nothing });
  defineOp(0x10b, { name: 'ud2', exec: (cpu) => cpu.raise(UD) });
  // UD1 and UD0 are undefined on purpose too, but carry a ModR/M byte (SDM Vol. 2, UD).
  defineOp(0x1b9, { name: 'ud1', operands: 'Gv,Ev', modrm: true, exec: (cpu) => cpu.raise(UD) });
  defineOp(0x1ff, { name: 'ud0', operands: 'Gv,Ev', modrm: true, exec: (cpu) => cpu.raise(UD) });
}
