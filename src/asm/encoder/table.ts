/**
 * The instruction table, in the style of nasm's x86/insns.dat: one line per operand form,
 *
 *     MNEMONIC  operands  [letters: encoding]  flags
 *
 * listed in nasm's own order for each mnemonic, because the first form that matches wins
 * (e.g. `add eax, 1` finds `reg_eax,sbytedword` = 83 /0 ib before `reg_eax,imm` = 05 id).
 * Only the IA-32 forms valid outside 64-bit mode are here.
 *
 * Operands: reg8/16/32, rm8/16/32, mem, mem16/32/64, mem_offs (a bare [offset]), imm, imm8/16/32,
 * sbyteword/sbytedword (an immediate that fits a sign-extended byte), unity (the value 1),
 * reg_al..reg_edx, reg_sreg, reg_es..reg_gs, reg_creg, reg_dreg; `|near` `|far` `|short` add a
 * distance, `a:b` is a segment:offset pair.
 *
 * Letters name the operands in order: m = the ModR/M r/m operand, r = the ModR/M reg operand
 * (or opcode+r), i/j = the first/second immediate, - = an operand with no encoding; r+m is
 * one operand in both places.
 *
 * Encoding: hex bytes; o16/o32 (operand size of the form: a 66 prefix where it differs from
 * `bits`); a16/a32 (address size of the form); /r and /0../7 (ModR/M); XX+r (register in the
 * opcode); ib, ib,u, ib,s (sign-extended), iw, iwd (16/32 by operand size), id, iwdq (moffs of
 * the address size); rel8, rel (16/32 by operand size); seg (segment of a far address);
 * jmp8/jcc8 (form allowed only when the target is within a signed byte); wait (9B first);
 * a leading 66 or f3 is a mandatory prefix byte.
 *
 * Flags: SB/SW/SD/SO (operands without a size take this one; AR0..AR2 limit it to one operand),
 * SIZE (the size of `bits`), ANYSIZE, SM/SM2 (all / the first two operands share the size of the
 * sized one), OPT (only with optimisation, which is nasm's default), LOCK (LOCK allowed),
 * BND (a near branch: REPNE is refused, since F2 means BND there), OBSOLETE (nasm warns),
 * LONG (a 64-bit-mode form, see longMode).
 */

const ALU: readonly [string, number, boolean][] = [
  ['ADD', 0, true], ['OR', 1, true], ['ADC', 2, true], ['SBB', 3, true],
  ['AND', 4, true], ['SUB', 5, true], ['XOR', 6, true], ['CMP', 7, false],
];

function hex(n: number): string { return n.toString(16).padStart(2, '0'); }

/** The eight two-operand arithmetic instructions share one shape: base opcode 8n, group 80 /n. */
function alu(name: string, n: number, lockable: boolean): string {
  const b = n * 8;
  const L = lockable ? ',LOCK' : '';
  return `
${name} mem,reg8            [mr: ${hex(b)} /r]           SM${L}
${name} reg8,reg8           [mr: ${hex(b)} /r]
${name} mem,reg16           [mr: o16 ${hex(b + 1)} /r]   SM${L}
${name} reg16,reg16         [mr: o16 ${hex(b + 1)} /r]
${name} mem,reg32           [mr: o32 ${hex(b + 1)} /r]   SM${L}
${name} reg32,reg32         [mr: o32 ${hex(b + 1)} /r]
${name} reg8,mem            [rm: ${hex(b + 2)} /r]       SM
${name} reg8,reg8           [rm: ${hex(b + 2)} /r]
${name} reg16,mem           [rm: o16 ${hex(b + 3)} /r]   SM
${name} reg16,reg16         [rm: o16 ${hex(b + 3)} /r]
${name} reg32,mem           [rm: o32 ${hex(b + 3)} /r]   SM
${name} reg32,reg32         [rm: o32 ${hex(b + 3)} /r]
${name} rm16,imm8           [mi: o16 83 /${n} ib,s]      ${L.slice(1)}
${name} rm32,imm8           [mi: o32 83 /${n} ib,s]      ${L.slice(1)}
${name} reg_al,imm          [-i: ${hex(b + 4)} ib]       SM
${name} reg_ax,sbyteword    [mi: o16 83 /${n} ib,s]      SM
${name} reg_ax,imm          [-i: o16 ${hex(b + 5)} iw]   SM
${name} reg_eax,sbytedword  [mi: o32 83 /${n} ib,s]      SM
${name} reg_eax,imm         [-i: o32 ${hex(b + 5)} id]   SM
${name} rm8,imm             [mi: 80 /${n} ib]            SM${L}
${name} rm16,sbyteword      [mi: o16 83 /${n} ib,s]      SM${L}
${name} rm16,imm            [mi: o16 81 /${n} iw]        SM${L}
${name} rm32,sbytedword     [mi: o32 83 /${n} ib,s]      SM${L}
${name} rm32,imm            [mi: o32 81 /${n} id]        SM${L}
${name} mem,imm8            [mi: 80 /${n} ib]            SM${L}
${name} mem,sbyteword16     [mi: o16 83 /${n} ib,s]      SM${L}
${name} mem,imm16           [mi: o16 81 /${n} iw]        SM${L}
${name} mem,sbytedword32    [mi: o32 83 /${n} ib,s]      SM${L}
${name} mem,imm32           [mi: o32 81 /${n} id]        SM${L}`;
}

const SHIFTS: readonly [string, number][] = [
  ['ROL', 0], ['ROR', 1], ['RCL', 2], ['RCR', 3], ['SHL', 4], ['SAL', 4], ['SHR', 5], ['SAR', 7],
];

function shift(name: string, n: number): string {
  return `
${name} rm8,unity     [m-: d0 /${n}]
${name} rm8,reg_cl    [m-: d2 /${n}]
${name} rm8,imm8      [mi: c0 /${n} ib,u]
${name} rm16,unity    [m-: o16 d1 /${n}]
${name} rm16,reg_cl   [m-: o16 d3 /${n}]
${name} rm16,imm8     [mi: o16 c1 /${n} ib,u]
${name} rm32,unity    [m-: o32 d1 /${n}]
${name} rm32,reg_cl   [m-: o32 d3 /${n}]
${name} rm32,imm8     [mi: o32 c1 /${n} ib,u]`;
}

/** One-operand r/m instructions: F6/F7 and FE/FF groups. */
function unary(name: string, op8: string, op: string, n: number, lockable: boolean): string {
  const L = lockable ? 'LOCK' : '';
  return `
${name} rm8    [m: ${op8} /${n}]       ${L}
${name} rm16   [m: o16 ${op} /${n}]    ${L}
${name} rm32   [m: o32 ${op} /${n}]    ${L}`;
}

/** r/m, reg forms of the 0F bit-test and exchange instructions. */
function mr(name: string, op8: string | undefined, op: string, lockable: boolean): string {
  const L = lockable ? ',LOCK' : '';
  const byteForms = op8 === undefined ? '' : `
${name} mem,reg8      [mr: ${op8} /r]      SM${L}
${name} reg8,reg8     [mr: ${op8} /r]`;
  return `${byteForms}
${name} mem,reg16     [mr: o16 ${op} /r]   SM${L}
${name} reg16,reg16   [mr: o16 ${op} /r]
${name} mem,reg32     [mr: o32 ${op} /r]   SM${L}
${name} reg32,reg32   [mr: o32 ${op} /r]`;
}

function bitTest(name: string, op: string, n: number, lockable: boolean): string {
  const L = lockable ? 'LOCK' : '';
  return `${mr(name, undefined, op, lockable)}
${name} rm16,imm8     [mi: o16 0f ba /${n} ib,u]   ${L}
${name} rm32,imm8     [mi: o32 0f ba /${n} ib,u]   ${L}`;
}

/** reg, r/m forms (BSF, BSR). */
function rm(name: string, op: string): string {
  return `
${name} reg16,mem     [rm: o16 ${op} /r]   SM
${name} reg16,reg16   [rm: o16 ${op} /r]
${name} reg32,mem     [rm: o32 ${op} /r]   SM
${name} reg32,reg32   [rm: o32 ${op} /r]`;
}

/** LAR and LSL: a selector in r/m16, or in a 32-bit register (its low half), into reg16/32. */
function selector(name: string, op: string): string {
  return `
${name} reg16,mem     [rm: o16 ${op} /r]   SW
${name} reg16,reg16   [rm: o16 ${op} /r]
${name} reg16,reg32   [rm: o16 ${op} /r]
${name} reg32,mem     [rm: o32 ${op} /r]   SW
${name} reg32,reg16   [rm: o32 ${op} /r]
${name} reg32,reg32   [rm: o32 ${op} /r]`;
}

/** reg, mem forms (LDS, BOUND, ...). */
function rmem(name: string, op: string): string {
  return `
${name} reg16,mem     [rm: o16 ${op} /r]
${name} reg32,mem     [rm: o32 ${op} /r]`;
}

/** Instructions without operands. */
function bare(list: string): string {
  return list.trim().split('\n').map((l) => {
    const [name, ...code] = l.trim().split(/\s+/);
    const flags = /^[A-Z]+$/.test(code[code.length - 1]) ? code.pop() : '';
    return `\n${name} void [ ${code.join(' ')}] ${flags}`;
  }).join('');
}

/** The string instructions: b/w/d forms. */
function str(name: string, op: number): string {
  return `
${name}B void [ ${hex(op)}]
${name}W void [ o16 ${hex(op + 1)}]
${name}D void [ o32 ${hex(op + 1)}]`;
}

/** The 16-bit system register instructions with a 0F 00 / 0F 01 /n ModR/M. */
function sys16(name: string, op: string, n: number, regForms: 'plain' | 'sized'): string {
  const regs = regForms === 'plain'
    ? `\n${name} reg16   [m: ${op} /${n}]`
    : `\n${name} reg16   [m: o16 ${op} /${n}]\n${name} reg32   [m: o32 ${op} /${n}]`;
  return `
${name} mem     [m: ${op} /${n}]
${name} mem16   [m: ${op} /${n}]${regs}`;
}

/** Condition codes with every alias nasm accepts, and their numbers (x86/insns.pl). */
export const CONDITIONS: readonly [string, number][] = [
  ['o', 0], ['no', 1], ['c', 2], ['nc', 3], ['z', 4], ['nz', 5], ['na', 6], ['a', 7],
  ['s', 8], ['ns', 9], ['pe', 10], ['po', 11], ['l', 12], ['nl', 13], ['ng', 14], ['g', 15],
  ['ae', 3], ['b', 2], ['be', 6], ['e', 4], ['ge', 13], ['le', 14], ['nae', 2], ['nb', 3],
  ['nbe', 7], ['ne', 5], ['nge', 12], ['nle', 15], ['np', 11], ['p', 10],
];

function conditional(cc: string, n: number): string {
  const C = cc.toUpperCase();
  return `
J${C} imm|near         [i: odf 0f ${hex(0x80 + n)} rel]     BND
J${C} imm16|near       [i: o16 0f ${hex(0x80 + n)} rel]     BND
J${C} imm32|near       [i: o32 0f ${hex(0x80 + n)} rel]     BND
J${C} imm|short        [i: ${hex(0x70 + n)} rel8]           BND
J${C} imm              [i: jcc8 ${hex(0x70 + n)} rel8]      BND
J${C} imm              [i: 0f ${hex(0x80 + n)} rel]         BND
SET${C} mem            [m: 0f ${hex(0x90 + n)} /0]     SB
SET${C} reg8           [m: 0f ${hex(0x90 + n)} /0]
CMOV${C} reg16,mem     [rm: o16 0f ${hex(0x40 + n)} /r]  SM
CMOV${C} reg16,reg16   [rm: o16 0f ${hex(0x40 + n)} /r]
CMOV${C} reg32,mem     [rm: o32 0f ${hex(0x40 + n)} /r]  SM
CMOV${C} reg32,reg32   [rm: o32 0f ${hex(0x40 + n)} /r]`;
}

function loop(name: string, op: string): string {
  return `
${name} imm           [i: adf ${op} rel8]
${name} imm,reg_cx    [i-: a16 ${op} rel8]
${name} imm,reg_ecx   [i-: a32 ${op} rel8]`;
}

/** CALL and JMP share their forms: near relative, far immediate, near and far indirect. */
function branch(name: string, rel: string, far: string, near: number): string {
  const farMem = near + 1;
  const short = name === 'JMP' ? `
JMP imm|short   [i: eb rel8]
JMP imm         [i: jmp8 eb rel8]` : '';
  return `${short}
${name} imm              [i: odf ${rel} rel]           BND
${name} imm|near         [i: odf ${rel} rel]           BND
${name} imm|far          [i: odf ${far} iwd seg]
${name} imm16            [i: o16 ${rel} rel]           BND
${name} imm16|near       [i: o16 ${rel} rel]           BND
${name} imm16|far        [i: o16 ${far} iwd seg]
${name} imm32            [i: o32 ${rel} rel]           BND
${name} imm32|near       [i: o32 ${rel} rel]           BND
${name} imm32|far        [i: o32 ${far} iwd seg]
${name} imm:imm          [ji: odf ${far} iwd iw]
${name} imm16:imm        [ji: o16 ${far} iw iw]
${name} imm:imm16        [ji: o16 ${far} iw iw]
${name} imm32:imm        [ji: o32 ${far} id iw]
${name} imm:imm32        [ji: o32 ${far} id iw]
${name} mem|far          [m: odf ff /${farMem}]
${name} mem16|far        [m: o16 ff /${farMem}]
${name} mem32|far        [m: o32 ff /${farMem}]
${name} mem|near         [m: odf ff /${near}]          BND
${name} rm16|near        [m: o16 ff /${near}]          BND
${name} rm32|near        [m: o32 ff /${near}]          BND
${name} mem              [m: odf ff /${near}]          BND
${name} rm16             [m: o16 ff /${near}]          BND
${name} rm32             [m: o32 ff /${near}]          BND`;
}

const MISC = String.raw`
AAD imm                [i: d5 ib,u]            SB
AAM imm                [i: d4 ib,u]            SB
ARPL mem,reg16         [mr: 63 /r]             SM
ARPL reg16,reg16       [mr: 63 /r]
BSWAP reg32            [r: o32 0f c8+r]
CMPXCHG8B mem64        [m: 0f c7 /1]           LOCK
DEC reg16              [r: o16 48+r]
DEC reg32              [r: o32 48+r]
INC reg16              [r: o16 40+r]
INC reg32              [r: o32 40+r]
ENTER imm,imm          [ij: c8 iw ib,u]
IMUL reg16,mem         [rm: o16 0f af /r]      SM
IMUL reg16,reg16       [rm: o16 0f af /r]
IMUL reg32,mem         [rm: o32 0f af /r]      SM
IMUL reg32,reg32       [rm: o32 0f af /r]
IMUL reg16,mem,imm8          [rmi: o16 6b /r ib,s]   SM2
IMUL reg16,mem,sbyteword     [rmi: o16 6b /r ib,s]   SM
IMUL reg16,mem,imm16         [rmi: o16 69 /r iw]     SM
IMUL reg16,mem,imm           [rmi: o16 69 /r iw]     SM
IMUL reg16,reg16,imm8        [rmi: o16 6b /r ib,s]
IMUL reg16,reg16,sbyteword   [rmi: o16 6b /r ib,s]   SM
IMUL reg16,reg16,imm16       [rmi: o16 69 /r iw]
IMUL reg16,reg16,imm         [rmi: o16 69 /r iw]     SM
IMUL reg32,mem,imm8          [rmi: o32 6b /r ib,s]   SM2
IMUL reg32,mem,sbytedword    [rmi: o32 6b /r ib,s]   SM
IMUL reg32,mem,imm32         [rmi: o32 69 /r id]     SM
IMUL reg32,mem,imm           [rmi: o32 69 /r id]     SM
IMUL reg32,reg32,imm8        [rmi: o32 6b /r ib,s]
IMUL reg32,reg32,sbytedword  [rmi: o32 6b /r ib,s]   SM
IMUL reg32,reg32,imm32       [rmi: o32 69 /r id]
IMUL reg32,reg32,imm         [rmi: o32 69 /r id]     SM
IMUL reg16,imm8              [r+mi: o16 6b /r ib,s]
IMUL reg16,sbyteword         [r+mi: o16 6b /r ib,s]  SM
IMUL reg16,imm16             [r+mi: o16 69 /r iw]
IMUL reg16,imm               [r+mi: o16 69 /r iw]    SM
IMUL reg32,imm8              [r+mi: o32 6b /r ib,s]
IMUL reg32,sbytedword        [r+mi: o32 6b /r ib,s]  SM
IMUL reg32,imm32             [r+mi: o32 69 /r id]
IMUL reg32,imm               [r+mi: o32 69 /r id]    SM
IN reg_al,imm          [-i: e4 ib,u]           SB
IN reg_ax,imm          [-i: o16 e5 ib,u]       SB
IN reg_eax,imm         [-i: o32 e5 ib,u]       SB
IN reg_al,reg_dx       [--: ec]
IN reg_ax,reg_dx       [--: o16 ed]
IN reg_eax,reg_dx      [--: o32 ed]
OUT imm,reg_al         [i-: e6 ib,u]           SB
OUT imm,reg_ax         [i-: o16 e7 ib,u]       SB
OUT imm,reg_eax        [i-: o32 e7 ib,u]       SB
OUT reg_dx,reg_al      [--: ee]
OUT reg_dx,reg_ax      [--: o16 ef]
OUT reg_dx,reg_eax     [--: o32 ef]
INT imm                [i: cd ib,u]            SB
INVLPG mem             [m: 0f 01 /7]
JCXZ imm               [i: a16 e3 rel8]
JECXZ imm              [i: a32 e3 rel8]
LEA reg16,mem          [rm: o16 8d /r]         ANYSIZE
LEA reg32,mem          [rm: o32 8d /r]         ANYSIZE
LEA reg16,imm          [rm: o16 8d /r]         ANYSIZE
LEA reg32,imm          [rm: o32 8d /r]         ANYSIZE
LGDT mem               [m: 0f 01 /2]
LIDT mem               [m: 0f 01 /3]
SGDT mem               [m: 0f 01 /0]
SIDT mem               [m: 0f 01 /1]
MOV mem,reg_sreg       [mr: 8c /r]             SW
MOV reg16,reg_sreg     [mr: o16 8c /r]
MOV reg32,reg_sreg     [mr: o32 8c /r]
MOV reg_sreg,mem       [rm: 8e /r]             SW
MOV reg_sreg,reg16     [rm: 8e /r]             OPT
MOV reg_sreg,reg32     [rm: 8e /r]             OPT
MOV reg_sreg,reg16     [rm: o16 8e /r]
MOV reg_sreg,reg32     [rm: o32 8e /r]
MOV reg_al,mem_offs    [-i: a0 iwdq]           SM
MOV reg_ax,mem_offs    [-i: o16 a1 iwdq]       SM
MOV reg_eax,mem_offs   [-i: o32 a1 iwdq]       SM
MOV mem_offs,reg_al    [i-: a2 iwdq]           SM
MOV mem_offs,reg_ax    [i-: o16 a3 iwdq]       SM
MOV mem_offs,reg_eax   [i-: o32 a3 iwdq]       SM
MOV reg32,reg_creg     [mr: 0f 20 /r]
MOV reg_creg,reg32     [rm: 0f 22 /r]
MOV reg32,reg_dreg     [mr: 0f 21 /r]
MOV reg_dreg,reg32     [rm: 0f 23 /r]
MOV mem,reg8           [mr: 88 /r]             SM
MOV reg8,reg8          [mr: 88 /r]
MOV mem,reg16          [mr: o16 89 /r]         SM
MOV reg16,reg16        [mr: o16 89 /r]
MOV mem,reg32          [mr: o32 89 /r]         SM
MOV reg32,reg32        [mr: o32 89 /r]
MOV reg8,mem           [rm: 8a /r]             SM
MOV reg8,reg8          [rm: 8a /r]
MOV reg16,mem          [rm: o16 8b /r]         SM
MOV reg16,reg16        [rm: o16 8b /r]
MOV reg32,mem          [rm: o32 8b /r]         SM
MOV reg32,reg32        [rm: o32 8b /r]
MOV reg8,imm           [ri: b0+r ib]           SM
MOV reg16,imm          [ri: o16 b8+r iw]       SM
MOV reg32,imm          [ri: o32 b8+r id]       SM
MOV rm8,imm            [mi: c6 /0 ib]          SM
MOV rm16,imm           [mi: o16 c7 /0 iw]      SM
MOV rm32,imm           [mi: o32 c7 /0 id]      SM
MOV mem,imm8           [mi: c6 /0 ib]          SM
MOV mem,imm16          [mi: o16 c7 /0 iw]      SM
MOV mem,imm32          [mi: o32 c7 /0 id]      SM
MOVSX reg16,mem        [rm: o16 0f be /r]      SB
MOVSX reg16,reg8       [rm: o16 0f be /r]
MOVSX reg32,rm8        [rm: o32 0f be /r]
MOVSX reg32,rm16       [rm: o32 0f bf /r]
MOVZX reg16,mem        [rm: o16 0f b6 /r]      SB
MOVZX reg16,reg8       [rm: o16 0f b6 /r]
MOVZX reg32,rm8        [rm: o32 0f b6 /r]
MOVZX reg32,rm16       [rm: o32 0f b7 /r]
NOP void               [ 90]
NOP rm16               [m: o16 0f 1f /0]
NOP rm32               [m: o32 0f 1f /0]
POP reg16              [r: o16 58+r]
POP reg32              [r: o32 58+r]
POP rm16               [m: o16 8f /0]
POP rm32               [m: o32 8f /0]
POP reg_es             [-: 07]
POP reg_cs             [-: 0f]                 OBSOLETE
POP reg_ss             [-: 17]
POP reg_ds             [-: 1f]
POP reg_fs             [-: 0f a1]
POP reg_gs             [-: 0f a9]
PUSH reg16             [r: o16 50+r]
PUSH reg32             [r: o32 50+r]
PUSH rm16              [m: o16 ff /6]
PUSH rm32              [m: o32 ff /6]
PUSH reg_es            [-: 06]
PUSH reg_cs            [-: 0e]
PUSH reg_ss            [-: 16]
PUSH reg_ds            [-: 1e]
PUSH reg_fs            [-: 0f a0]
PUSH reg_gs            [-: 0f a8]
PUSH imm8              [i: 6a ib,s]
PUSH sbyteword16       [i: o16 6a ib,s]        AR0,SIZE
PUSH imm16             [i: o16 68 iw]          AR0,SIZE
PUSH sbytedword32      [i: o32 6a ib,s]        AR0,SIZE
PUSH imm32             [i: o32 68 id]          AR0,SIZE
PUSH sbytedword32      [i: o32 6a ib,s]        SD
PUSH imm32             [i: o32 68 id]          SD
RET imm                [i: c2 iw]              SW,BND
RETF imm               [i: ca iw]              SW
RETN imm               [i: c2 iw]              SW,BND
RETW imm               [i: c2 iw]              SW,BND
RETFW imm              [i: o16 ca iw]          SW
RETNW imm              [i: o16 c2 iw]          SW,BND
RETD imm               [i: o32 c2 iw]          SW,BND
RETFD imm              [i: o32 ca iw]          SW
RETND imm              [i: o32 c2 iw]          SW,BND
SHLD mem,reg16,imm     [mri: o16 0f a4 /r ib,u]  SM2,SB,AR2
SHLD reg16,reg16,imm   [mri: o16 0f a4 /r ib,u]  SM2,SB,AR2
SHLD mem,reg32,imm     [mri: o32 0f a4 /r ib,u]  SM2,SB,AR2
SHLD reg32,reg32,imm   [mri: o32 0f a4 /r ib,u]  SM2,SB,AR2
SHLD mem,reg16,reg_cl  [mr-: o16 0f a5 /r]     SM
SHLD reg16,reg16,reg_cl [mr-: o16 0f a5 /r]
SHLD mem,reg32,reg_cl  [mr-: o32 0f a5 /r]     SM
SHLD reg32,reg32,reg_cl [mr-: o32 0f a5 /r]
SHRD mem,reg16,imm     [mri: o16 0f ac /r ib,u]  SM2,SB,AR2
SHRD reg16,reg16,imm   [mri: o16 0f ac /r ib,u]  SM2,SB,AR2
SHRD mem,reg32,imm     [mri: o32 0f ac /r ib,u]  SM2,SB,AR2
SHRD reg32,reg32,imm   [mri: o32 0f ac /r ib,u]  SM2,SB,AR2
SHRD mem,reg16,reg_cl  [mr-: o16 0f ad /r]     SM
SHRD reg16,reg16,reg_cl [mr-: o16 0f ad /r]
SHRD mem,reg32,reg_cl  [mr-: o32 0f ad /r]     SM
SHRD reg32,reg32,reg_cl [mr-: o32 0f ad /r]
TEST mem,reg8          [mr: 84 /r]             SM
TEST reg8,reg8         [mr: 84 /r]
TEST mem,reg16         [mr: o16 85 /r]         SM
TEST reg16,reg16       [mr: o16 85 /r]
TEST mem,reg32         [mr: o32 85 /r]         SM
TEST reg32,reg32       [mr: o32 85 /r]
TEST reg8,mem          [rm: 84 /r]             SM
TEST reg16,mem         [rm: o16 85 /r]         SM
TEST reg32,mem         [rm: o32 85 /r]         SM
TEST reg_al,imm        [-i: a8 ib]             SM
TEST reg_ax,imm        [-i: o16 a9 iw]         SM
TEST reg_eax,imm       [-i: o32 a9 id]         SM
TEST rm8,imm           [mi: f6 /0 ib]          SM
TEST rm16,imm          [mi: o16 f7 /0 iw]      SM
TEST rm32,imm          [mi: o32 f7 /0 id]      SM
TEST mem,imm8          [mi: f6 /0 ib]          SM
TEST mem,imm16         [mi: o16 f7 /0 iw]      SM
TEST mem,imm32         [mi: o32 f7 /0 id]      SM
UD0 reg16,rm16         [rm: o16 0f ff /r]
UD0 reg32,rm32         [rm: o32 0f ff /r]
UD1 reg16,rm16         [rm: o16 0f b9 /r]
UD1 reg32,rm32         [rm: o32 0f b9 /r]
UD2B reg16,rm16        [rm: o16 0f b9 /r]
UD2B reg32,rm32        [rm: o32 0f b9 /r]
VMCLEAR mem            [m: 66 0f c7 /6]
VMPTRLD mem            [m: 0f c7 /6]
VMPTRST mem            [m: 0f c7 /7]
VMREAD rm32,reg32      [mr: 0f 78 /r]          SD
VMWRITE reg32,rm32     [rm: 0f 79 /r]          SD
VMXON mem              [m: f3 0f c7 /6]
INVEPT reg32,mem       [rm: 66 0f 38 80 /r]    SO
INVVPID reg32,mem      [rm: 66 0f 38 81 /r]    SO
XCHG reg_ax,reg16      [-r: o16 90+r]
XCHG reg_eax,reg32na   [-r: o32 90+r]
XCHG reg16,reg_ax      [r-: o16 90+r]
XCHG reg32na,reg_eax   [r-: o32 90+r]
XCHG reg_eax,reg_eax   [--: o32 90]
XCHG reg8,mem          [rm: 86 /r]             SM,LOCK
XCHG reg8,reg8         [rm: 86 /r]
XCHG reg16,mem         [rm: o16 87 /r]         SM,LOCK
XCHG reg16,reg16       [rm: o16 87 /r]
XCHG reg32,mem         [rm: o32 87 /r]         SM,LOCK
XCHG reg32,reg32       [rm: o32 87 /r]
XCHG mem,reg8          [mr: 86 /r]             SM,LOCK
XCHG reg8,reg8         [mr: 86 /r]
XCHG mem,reg16         [mr: o16 87 /r]         SM,LOCK
XCHG reg16,reg16       [mr: o16 87 /r]
XCHG mem,reg32         [mr: o32 87 /r]         SM,LOCK
XCHG reg32,reg32       [mr: o32 87 /r]`;

const BARE = bare(`
AAA 37
AAD d5 0a
AAM d4 0a
AAS 3f
CBW o16 98
CDQ o32 99
CLC f8
CLD fc
CLI fa
CLTS 0f 06
CMC f5
CPUID 0f a2
CWD o16 99
CWDE o32 98
DAA 27
DAS 2f
FWAIT wait
HLT f4
ICEBP f1
INT01 f1
INT1 f1
INT03 cc
INT3 cc
INTO ce
INVD 0f 08
IRET odf cf
IRETD o32 cf
IRETW o16 cf
LAHF 9f
LEAVE c9
PAUSE f3 90
POPA odf 61
POPAD o32 61
POPAW o16 61
POPF odf 9d
POPFD o32 9d
POPFW o16 9d
PUSHA odf 60
PUSHAD o32 60
PUSHAW o16 60
PUSHF odf 9c
PUSHFD o32 9c
PUSHFW o16 9c
RDMSR 0f 32
RDPMC 0f 33
RDTSC 0f 31
RET c3 BND
RETF cb
RETN c3 BND
RETW o16 c3 BND
RETFW o16 cb
RETNW o16 c3 BND
RETD o32 c3 BND
RETFD o32 cb
RETND o32 c3 BND
SAHF 9e
SALC d6
SMI f1
STC f9
STD fd
STI fb
SYSENTER 0f 34
SYSEXIT 0f 35
UD0 0f ff OBSOLETE
UD1 0f b9
UD2 0f 0b
UD2A 0f 0b
UD2B 0f b9
VMCALL 0f 01 c1
VMFUNC 0f 01 d4
VMLAUNCH 0f 01 c2
VMRESUME 0f 01 c3
VMXOFF 0f 01 c4
WAIT wait
WBINVD 0f 09
WRMSR 0f 30
XLAT d7
XLATB d7
`);

/**
 * Forms nasm has only for 64-bit mode whose operands can still be written in `bits 16/32`
 * (qword memory, qword immediates): they match, and are refused with "instruction not
 * supported in N-bit mode", as in nasm. Where they sit in a mnemonic's list does not matter.
 */
function longMode(): string {
  const rows: string[] = [];
  for (const [name] of ALU) rows.push(`${name} rm64,imm8`, `${name} rm64,sbytedword SM`, `${name} rm64,imm SM`);
  for (const name of ['BT', 'BTC', 'BTR', 'BTS']) rows.push(`${name} rm64,imm8`);
  for (const name of ['CALL', 'JMP']) {
    rows.push(`${name} imm64`, `${name} imm64|near`, `${name} mem|far`, `${name} mem64|far`, `${name} rm64|near`, `${name} rm64`);
  }
  for (const name of ['DEC', 'INC', 'DIV', 'IDIV', 'IMUL', 'MUL', 'NEG', 'NOT', 'NOP', 'POP', 'PUSH']) rows.push(`${name} rm64`);
  rows.push('MOV rm64,reg_sreg', 'MOV reg_sreg,rm64', 'MOV rm64,imm SM', 'MOV rm64,imm32', 'TEST rm64,imm SM');
  rows.push('PUSH sbytedword64 AR0,SIZE', 'PUSH imm64 AR0,SIZE', 'PUSH sbytedword32 AR0,SIZE', 'PUSH imm32 AR0,SIZE');
  for (const [name] of SHIFTS) rows.push(`${name} rm64,unity`, `${name} rm64,reg_cl`, `${name} rm64,imm8`);
  for (const [cc] of CONDITIONS) rows.push(`J${cc.toUpperCase()} imm64|near`);
  return rows.map((r) => {
    const [name, ops, flags] = r.split(' ');
    return `\n${name} ${ops} [] ${flags ? flags + ',' : ''}LONG`;
  }).join('');
}

/** Every table line; the order matters only among the lines of one mnemonic. */
export const TABLE_LINES: readonly string[] = [
  BARE, MISC,
  ...ALU.map(([n, d, l]) => alu(n, d, l)),
  ...SHIFTS.map(([n, d]) => shift(n, d)),
  unary('NOT', 'f6', 'f7', 2, true), unary('NEG', 'f6', 'f7', 3, true),
  unary('MUL', 'f6', 'f7', 4, false), unary('IMUL', 'f6', 'f7', 5, false),
  unary('DIV', 'f6', 'f7', 6, false), unary('IDIV', 'f6', 'f7', 7, false),
  unary('INC', 'fe', 'ff', 0, true), unary('DEC', 'fe', 'ff', 1, true),
  bitTest('BT', '0f a3', 4, false), bitTest('BTS', '0f ab', 5, true),
  bitTest('BTR', '0f b3', 6, true), bitTest('BTC', '0f bb', 7, true),
  mr('CMPXCHG', '0f b0', '0f b1', true), mr('XADD', '0f c0', '0f c1', true),
  rm('BSF', '0f bc'), rm('BSR', '0f bd'),
  selector('LAR', '0f 02'), selector('LSL', '0f 03'),
  rmem('BOUND', '62'), rmem('LDS', 'c5'), rmem('LES', 'c4'),
  rmem('LFS', '0f b4'), rmem('LGS', '0f b5'), rmem('LSS', '0f b2'),
  sys16('LLDT', '0f 00', 2, 'plain'), sys16('LTR', '0f 00', 3, 'plain'),
  sys16('VERR', '0f 00', 4, 'plain'), sys16('VERW', '0f 00', 5, 'plain'),
  sys16('LMSW', '0f 01', 6, 'plain'),
  sys16('SLDT', '0f 00', 0, 'sized'), sys16('STR', '0f 00', 1, 'sized'),
  sys16('SMSW', '0f 01', 4, 'sized'),
  str('CMPS', 0xa6), str('INS', 0x6c), str('LODS', 0xac), str('MOVS', 0xa4),
  str('OUTS', 0x6e), str('SCAS', 0xae), str('STOS', 0xaa),
  ...CONDITIONS.map(([cc, n]) => conditional(cc, n)),
  loop('LOOP', 'e2'), loop('LOOPE', 'e1'), loop('LOOPZ', 'e1'), loop('LOOPNE', 'e0'), loop('LOOPNZ', 'e0'),
  branch('JMP', 'e9', 'ea', 4), branch('CALL', 'e8', '9a', 2),
  longMode(),
];
