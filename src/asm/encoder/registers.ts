/**
 * Register names: the ones the encoder can use (IA-32 general, segment, control and debug
 * registers, with nasm's operand classes from x86/regs.dat) and every other name nasm
 * reserves as a register, so that the front end never mistakes `rax` or `xmm0` for a label.
 */
import {
  REG_AL, REG_AX, REG_CL, REG_CREG, REG_CS, REG_CX, REG_DL, REG_DREG, REG_DS, REG_DX, REG_EAX,
  REG_ECX, REG_EDX, REG_ES, REG_FS, REG_GS, REG_HIGH, REG_SS, REG8NA, REG16NA, REG32NA,
} from './opflags';

export interface RegisterInfo {
  name: string;
  /** nasm operand class of the register. */
  flags: number;
  /** The 3-bit register number used in ModR/M, SIB and opcode+r. */
  num: number;
}

const INFO = new Map<string, RegisterInfo>();

function add(name: string, flags: number, num: number): void {
  INFO.set(name, { name, flags, num });
}

add('al', REG_AL, 0); add('cl', REG_CL, 1); add('dl', REG_DL, 2); add('bl', REG8NA, 3);
add('ah', REG_HIGH, 4); add('ch', REG_HIGH, 5); add('dh', REG_HIGH, 6); add('bh', REG_HIGH, 7);
add('ax', REG_AX, 0); add('cx', REG_CX, 1); add('dx', REG_DX, 2); add('bx', REG16NA, 3);
add('sp', REG16NA, 4); add('bp', REG16NA, 5); add('si', REG16NA, 6); add('di', REG16NA, 7);
add('eax', REG_EAX, 0); add('ecx', REG_ECX, 1); add('edx', REG_EDX, 2); add('ebx', REG32NA, 3);
add('esp', REG32NA, 4); add('ebp', REG32NA, 5); add('esi', REG32NA, 6); add('edi', REG32NA, 7);
add('es', REG_ES, 0); add('cs', REG_CS, 1); add('ss', REG_SS, 2);
add('ds', REG_DS, 3); add('fs', REG_FS, 4); add('gs', REG_GS, 5);
// CR8-CR15 and DR8-DR15 need REX (or AMD's LOCK trick) and are left out.
for (let n = 0; n < 8; n++) { add(`cr${n}`, REG_CREG, n); add(`dr${n}`, REG_DREG, n); }

/** The encoder's view of a register, or undefined for names it cannot encode. */
export function registerInfo(name: string): RegisterInfo | undefined {
  return INFO.get(name);
}

/** 64-bit general registers: nasm knows them, but only in `bits 64`. */
const LONG_MODE = new Set<string>(['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'spl', 'bpl', 'sil', 'dil']);
for (let n = 8; n < 16; n++) for (const s of ['', 'b', 'w', 'd']) LONG_MODE.add(`r${n}${s}`);

/** Is `name` a 64-bit-mode register (an error in `bits 16` and `bits 32`)? */
export function isLongModeRegister(name: string): boolean {
  return LONG_MODE.has(name);
}

const OTHER = new Set<string>(['segr6', 'segr7']);
for (let n = 8; n < 16; n++) { OTHER.add(`cr${n}`); OTHER.add(`dr${n}`); }
for (let n = 0; n < 8; n++) for (const p of ['tr', 'st', 'mm', 'tmm', 'k']) OTHER.add(`${p}${n}`);
for (let n = 0; n < 32; n++) for (const p of ['xmm', 'ymm', 'zmm']) OTHER.add(`${p}${n}`);
for (let n = 0; n < 4; n++) OTHER.add(`bnd${n}`);

/** Every register name nasm reserves (lower case). */
export function isRegisterName(name: string): boolean {
  return INFO.has(name) || LONG_MODE.has(name) || OTHER.has(name);
}
