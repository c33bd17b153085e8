// What the Intel SDM leaves undefined for each instruction: the flags its
// "Flags Affected" section calls undefined and the results its "Operation"
// section calls undefined.  Source: Intel 64 and IA-32 Architectures Software
// Developer's Manual, Volume 2 (Instruction Set Reference), the page named in
// each comment.  Everything not listed here is defined, including flags the
// SDM says are "not affected" (they must keep their input value).
//
// `count` is the count operand before masking (CL or imm8), `size` the operand
// size in bits, `source` the source operand value.

export const CF = 0x001, PF = 0x004, AF = 0x010, ZF = 0x040, SF = 0x080, DF = 0x400, OF = 0x800;
export const STATUS_FLAGS = CF | PF | AF | ZF | SF | OF;

const none = () => 0;

/** Undefined EFLAGS bits, by mnemonic. */
export const undefinedFlags = {
  // ADD, ADC, SUB, SBB, CMP, NEG, INC, DEC (CF not affected), NOT (no flags),
  // XADD, CMPXCHG: every status flag is defined.
  add: none, adc: none, sub: none, sbb: none, cmp: none, neg: none,
  inc: none, dec: none, not: none, xadd: none, cmpxchg: none,
  // AND, OR, XOR, TEST: "The state of the AF flag is undefined."
  and: () => AF, or: () => AF, xor: () => AF, test: () => AF,
  // SAL/SAR/SHL/SHR—Shift: count masked to 5 bits; count 0 affects no flag; AF undefined
  // for a nonzero count; OF undefined unless the count is 1; CF undefined for SHL and SHR
  // when the count is >= the operand size (SAR keeps CF defined: the sign bit).
  shl: ({ size, count }) => shiftUndefined(count & 0x1f, size, true),
  shr: ({ size, count }) => shiftUndefined(count & 0x1f, size, true),
  sar: ({ size, count }) => shiftUndefined(count & 0x1f, size, false),
  // RCL/RCR/ROL/ROR—Rotate: OF is defined only when the masked count is 0 or 1;
  // all other flags are defined (CF by the Operation section, the rest not affected).
  rol: ({ count }) => ((count & 0x1f) > 1 ? OF : 0),
  ror: ({ count }) => ((count & 0x1f) > 1 ? OF : 0),
  rcl: ({ count }) => ((count & 0x1f) > 1 ? OF : 0),
  rcr: ({ count }) => ((count & 0x1f) > 1 ? OF : 0),
  // SHLD / SHRD—Double Precision Shift: count masked to 5 bits; count 0 affects no flag;
  // a count greater than the operand size leaves all status flags undefined; otherwise
  // AF is undefined and OF is undefined for counts above 1.
  shld: ({ size, count }) => doubleShiftUndefined(count & 0x1f, size),
  shrd: ({ size, count }) => doubleShiftUndefined(count & 0x1f, size),
  // MUL—Unsigned Multiply and IMUL—Signed Multiply: "The SF, ZF, AF, and PF flags are undefined."
  mul: () => SF | ZF | AF | PF,
  imul: () => SF | ZF | AF | PF,
  // DIV—Unsigned Divide and IDIV—Signed Divide: "The CF, OF, SF, ZF, AF, and PF flags are undefined."
  div: () => STATUS_FLAGS,
  idiv: () => STATUS_FLAGS,
  // DAA / DAS—Decimal Adjust AL after Addition / Subtraction: "The OF flag is undefined."
  daa: () => OF, das: () => OF,
  // AAA / AAS—ASCII Adjust After Addition / Subtraction: "The OF, SF, ZF, and PF flags are undefined."
  aaa: () => OF | SF | ZF | PF, aas: () => OF | SF | ZF | PF,
  // AAM / AAD—ASCII Adjust AX After Multiply / Before Division: "The OF, AF, and CF flags are undefined."
  aam: () => OF | AF | CF, aad: () => OF | AF | CF,
  // BT, BTS, BTR, BTC: "The ZF flag is unaffected. The OF, SF, AF, and PF flags are undefined."
  bt: () => OF | SF | AF | PF, bts: () => OF | SF | AF | PF,
  btr: () => OF | SF | AF | PF, btc: () => OF | SF | AF | PF,
  // BSF—Bit Scan Forward / BSR—Bit Scan Reverse: "The CF, OF, SF, AF, and PF flags are undefined."
  bsf: () => CF | OF | SF | AF | PF, bsr: () => CF | OF | SF | AF | PF,
  // BSWAP, CBW/CWDE, CWD/CDQ: "None" (no flags affected).
  bswap: none, cbw: none, cwde: none, cwd: none, cdq: none,
};

/** Undefined bits of the destination operand (in operand-size terms), by mnemonic. */
export const undefinedResult = {
  // BSF / BSR: "If the content of the source operand is 0, the content of the
  // destination operand is undefined."
  bsf: ({ size, source }) => (source === 0 ? sizeMask(size) : 0),
  bsr: ({ size, source }) => (source === 0 ? sizeMask(size) : 0),
  // SHLD / SHRD: "If a count is greater than the operand size, the result is undefined."
  shld: ({ size, count }) => ((count & 0x1f) > size ? sizeMask(size) : 0),
  shrd: ({ size, count }) => ((count & 0x1f) > size ? sizeMask(size) : 0),
};

function shiftUndefined(count, size, cfUndefinedBeyondSize) {
  if (count === 0) return 0;
  let flags = AF;
  if (count !== 1) flags |= OF;
  if (cfUndefinedBeyondSize && count >= size) flags |= CF;
  return flags;
}

function doubleShiftUndefined(count, size) {
  if (count === 0) return 0;
  if (count > size) return STATUS_FLAGS;
  return count > 1 ? AF | OF : AF;
}

export function sizeMask(size) {
  return size === 32 ? 0xffffffff : (1 << size) - 1;
}
