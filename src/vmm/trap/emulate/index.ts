/**
 * The instructions the trap VMM emulates when they fault in the deprivileged guest, by
 * opcode (0x100 + b for 0F b) and, for opcode groups, ModR/M.reg.
 */
import type { Insn } from '../../../cpu/insn';
import { RDPMC, RDTSC } from './counters';
import { CLTS, LMSW, MOV_FROM_CR, MOV_TO_CR } from './crAccess';
import { MOV_FROM_DR, MOV_TO_DR } from './debugRegisters';
import type { Emulator } from './emulator';
import { LGDT, LIDT, LLDT, LTR } from './descriptorTables';
import { RETF } from './farReturn';
import { HLT } from './halt';
import { CLI, STI } from './interruptFlag';
import { IRET } from './iret';
import { RDMSR, SYSENTER, SYSEXIT, WRMSR } from './msrAccess';
import { IN, INS, OUT, OUTS } from './portIo';
import { LSS, MOV_SS, POP_SS } from './stackSegment';
import { INVD, INVLPG, WBINVD } from './tlbControl';

const PLAIN = new Map<number, Emulator>();
const GROUP = new Map<number, Emulator>();

function plain(ops: readonly number[], e: Emulator): void { for (const op of ops) PLAIN.set(op, e); }
function group(op: number, reg: number, e: Emulator): void { GROUP.set(op * 8 + reg, e); }

plain([0xfa], CLI);
plain([0xfb], STI);
plain([0xf4], HLT);
plain([0xe4, 0xe5, 0xec, 0xed], IN);
plain([0xe6, 0xe7, 0xee, 0xef], OUT);
plain([0x6c, 0x6d], INS);
plain([0x6e, 0x6f], OUTS);
plain([0x120], MOV_FROM_CR);
plain([0x122], MOV_TO_CR);
plain([0x106], CLTS);
group(0x101, 6, LMSW);
plain([0x121], MOV_FROM_DR);
plain([0x123], MOV_TO_DR);
group(0x101, 2, LGDT);
group(0x101, 3, LIDT);
group(0x100, 2, LLDT);
group(0x100, 3, LTR);
group(0x101, 7, INVLPG);
plain([0x108], INVD);
plain([0x109], WBINVD);
plain([0x132], RDMSR);
plain([0x130], WRMSR);
plain([0x134], SYSENTER);
plain([0x135], SYSEXIT);
plain([0x131], RDTSC);
plain([0x133], RDPMC);
group(0x8e, 2, MOV_SS);
plain([0x17], POP_SS);
plain([0x1b2], LSS);
plain([0xcf], IRET);
plain([0xca, 0xcb], RETF);

const GROUPED = new Set([0x8e, 0x100, 0x101]);

export function emulatorFor(insn: Insn): Emulator | undefined {
  return GROUPED.has(insn.op) ? GROUP.get(insn.op * 8 + insn.reg) : PLAIN.get(insn.op);
}
