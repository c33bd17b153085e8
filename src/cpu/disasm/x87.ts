/**
 * The x87 escape opcodes D8-DF (SDM Vol. 2, appendix A.4): the ModR/M byte selects the
 * instruction, by reg for a memory operand and by reg and rm for a register operand (the CPU
 * executes them in ops/x87.ts). Names and operand forms are nasm's ("fadd to st1",
 * "fnstsw ax"), including the encodings the CPU leaves undefined (FISTTP is SSE3).
 */

/** Memory forms by escape byte - 0xD8, then ModR/M.reg: mnemonic and nasm's size keyword. */
const MEMORY: (readonly [string, string] | undefined)[][] = [
  ['fadd', 'fmul', 'fcom', 'fcomp', 'fsub', 'fsubr', 'fdiv', 'fdivr'].map((m) => [m, 'dword'] as const),
  [['fld', 'dword'], undefined, ['fst', 'dword'], ['fstp', 'dword'], ['fldenv', ''], ['fldcw', ''], ['fnstenv', ''], ['fnstcw', '']],
  ['fiadd', 'fimul', 'ficom', 'ficomp', 'fisub', 'fisubr', 'fidiv', 'fidivr'].map((m) => [m, 'dword'] as const),
  [['fild', 'dword'], ['fisttp', 'dword'], ['fist', 'dword'], ['fistp', 'dword'], undefined, ['fld', 'tword'], undefined, ['fstp', 'tword']],
  ['fadd', 'fmul', 'fcom', 'fcomp', 'fsub', 'fsubr', 'fdiv', 'fdivr'].map((m) => [m, 'qword'] as const),
  [['fld', 'qword'], ['fisttp', 'qword'], ['fst', 'qword'], ['fstp', 'qword'], ['frstor', ''], undefined, ['fnsave', ''], ['fnstsw', '']],
  ['fiadd', 'fimul', 'ficom', 'ficomp', 'fisub', 'fisubr', 'fidiv', 'fidivr'].map((m) => [m, 'word'] as const),
  [['fild', 'word'], ['fisttp', 'word'], ['fist', 'word'], ['fistp', 'word'], ['fbld', 'tword'], ['fild', 'qword'], ['fbstp', 'tword'], ['fistp', 'qword']],
];

/**
 * Register forms by escape byte - 0xD8, then ModR/M.reg: a mnemonic taking ST(rm), or eight
 * operand-less mnemonics selected by rm.
 */
type RegisterRow = string | (string | undefined)[] | undefined;
const REGISTER: RegisterRow[][] = [
  ['fadd', 'fmul', 'fcom', 'fcomp', 'fsub', 'fsubr', 'fdiv', 'fdivr'],
  ['fld', 'fxch', ['fnop'], undefined,
    ['fchs', 'fabs', undefined, undefined, 'ftst', 'fxam'],
    ['fld1', 'fldl2t', 'fldl2e', 'fldpi', 'fldlg2', 'fldln2', 'fldz'],
    ['f2xm1', 'fyl2x', 'fptan', 'fpatan', 'fxtract', 'fprem1', 'fdecstp', 'fincstp'],
    ['fprem', 'fyl2xp1', 'fsqrt', 'fsincos', 'frndint', 'fscale', 'fsin', 'fcos']],
  ['fcmovb', 'fcmove', 'fcmovbe', 'fcmovu', undefined, [undefined, 'fucompp']],
  ['fcmovnb', 'fcmovne', 'fcmovnbe', 'fcmovnu', ['fneni', 'fndisi', 'fnclex', 'fninit', 'fsetpm'], 'fucomi', 'fcomi'],
  ['fadd to', 'fmul to', undefined, undefined, 'fsubr to', 'fsub to', 'fdivr to', 'fdiv to'],
  ['ffree', undefined, 'fst', 'fstp', 'fucom', 'fucomp'],
  ['faddp', 'fmulp', undefined, [undefined, 'fcompp'], 'fsubrp', 'fsubp', 'fdivrp', 'fdivp'],
  ['ffreep', undefined, undefined, undefined, ['fnstsw ax'], 'fucomip', 'fcomip'],
];

/** The memory form of escape `op` (0xD8-0xDF) with ModR/M.reg `reg`: mnemonic and size keyword. */
export function x87Memory(op: number, reg: number): readonly [string, string] | undefined {
  return MEMORY[op - 0xd8][reg];
}

/** The register form (mod = 3) of escape `op` with ModR/M.reg and rm, as its full text. */
export function x87Register(op: number, reg: number, rm: number): string | undefined {
  const row = REGISTER[op - 0xd8][reg];
  if (row === undefined) return undefined;
  if (typeof row === 'string') return `${row} st${rm}`;
  return row[rm];
}
