/**
 * Instructions that do little or nothing here: NOP and PAUSE, the multi-byte and hint NOPs,
 * UD2, WAIT, and the x87 escapes of a processor without an FPU.
 */
import type { Cpu } from '../cpu';
import { NM, UD } from '../exceptions';
import { defineOp } from '../opcodeTable';
import { CR0_EM, CR0_MP, CR0_TS } from '../registers';

function nothing(): void { /* no operation */ }

/** WAIT/FWAIT checks for pending x87 exceptions; with no FPU only the CR0.MP + TS check remains. */
function wait(cpu: Cpu): void {
  if ((cpu.cr0 & (CR0_MP | CR0_TS)) === (CR0_MP | CR0_TS)) cpu.raise(NM);
}

/**
 * D8-DF: there is no FPU yet. With CR0.EM or CR0.TS set the SDM's answer is #NM (the OS
 * emulates or lazily restores the FPU); with both clear an FPU would execute the instruction,
 * and lacking one we raise #UD rather than pretend it ran.
 */
function x87(cpu: Cpu): void {
  if ((cpu.cr0 & (CR0_EM | CR0_TS)) !== 0) cpu.raise(NM);
  cpu.raise(UD);
}

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
  defineOp(0x9b, { name: 'wait', exec: wait });
  for (let op = 0xd8; op <= 0xdf; op++) defineOp(op, { name: 'esc', operands: 'x87', modrm: true, exec: x87 });
}
