/**
 * Flag instructions (SDM Vol. 2): CLC, STC, CMC, CLD, STD, and the IOPL-sensitive CLI and
 * STI (#GP(0) in protected mode when CPL > IOPL; the CR4.PVI/VME virtual-interrupt forms are
 * not modelled).
 */
import type { Cpu } from '../cpu';
import { GP } from '../exceptions';
import { getCF, setFlagBits } from '../flags';
import { iopl } from '../ioPermission';
import { defineOp } from '../opcodeTable';
import { FLAG_CF, FLAG_DF, FLAG_IF } from '../registers';

function checkIopl(cpu: Cpu): void {
  if (cpu.protectedMode && cpu.cpl > iopl(cpu)) cpu.raiseWithCode(GP, 0);
}

export function register(): void {
  defineOp(0xf8, { name: 'clc', exec: (cpu) => setFlagBits(cpu, FLAG_CF, 0) });
  defineOp(0xf9, { name: 'stc', exec: (cpu) => setFlagBits(cpu, FLAG_CF, FLAG_CF) });
  defineOp(0xf5, { name: 'cmc', exec: (cpu) => setFlagBits(cpu, FLAG_CF, getCF(cpu) ^ FLAG_CF) });
  defineOp(0xfc, { name: 'cld', exec: (cpu) => { cpu.flags &= ~FLAG_DF; } });
  defineOp(0xfd, { name: 'std', exec: (cpu) => { cpu.flags |= FLAG_DF; } });
  defineOp(0xfa, {
    name: 'cli',
    exec: (cpu) => { checkIopl(cpu); cpu.flags &= ~FLAG_IF; cpu.leaveBlock = true; },
  });
  // STI that sets IF delays interrupts until the next instruction is done (SDM Vol. 3A, 6.8.3).
  defineOp(0xfb, {
    name: 'sti',
    exec: (cpu) => {
      checkIopl(cpu);
      if ((cpu.flags & FLAG_IF) === 0) cpu.inhibitUntil = cpu.icount + 1;
      cpu.flags |= FLAG_IF;
      cpu.leaveBlock = true;
    },
  });
}
