/**
 * The instruction encoder of the built-in assembler: byte-identical to nasm 2.16.01 with its
 * default multi-pass optimisation, for the IA-32 integer and system instructions in `bits 16`
 * and `bits 32`. A table of operand forms (table.ts) is matched the way nasm's assemble.c
 * matches x86/insns.dat, and the chosen form is emitted the way nasm emits it.
 *
 * Values not known yet (forward references in an early pass, `undefined` here) are treated
 * as nasm's first pass treats them, so that re-running the passes converges on nasm's output:
 * - a relative jump/call target not known yet is assumed to be in short range (jmp_match: "Be
 *   optimistic in pass 1"): `jmp fwd` is EB rel8 until the target is known to be too far;
 * - an immediate not known yet is assumed to fit every short form (parser.c gives it the
 *   UNITY and SBYTE classes unless `strict`): `add eax, fwd` is 83 /0 ib, `push fwd` is 6A ib,
 *   `shl eax, fwd` is D1 /4 in the first pass; once the value is known the form follows it
 *   (`fwd equ 1000` defined later gives 05 id / 68 id / C1 /4 ib). A label address is never a
 *   short immediate (68 id), since nasm only shortens plain numbers;
 * - a memory displacement not known yet is assumed to need the full size (disp32/disp16),
 *   as process_ea does for forward references.
 */
import type { EncodeContext, EncodeResult, InstructionRequest } from '../operand';
import { chooseAddressSize } from './ea';
import { emit, emittedBytes } from './emit';
import { findTemplate, matchError } from './match';
import { isNasmInstruction } from './nasmNames';
import type { Insn } from './operand';
import { isRegisterName } from './registers';
import { buildInsn, PREFIX_NAMES } from './request';
import { TEMPLATES, type Template } from './templates';

/** Prefix words an InstructionRequest may carry; `wait` is a mnemonic here (9B), as a line of its own. */
export const PREFIX_WORDS: ReadonlySet<string> = new Set(PREFIX_NAMES);

/** Does the encoder know this (lower-case) mnemonic? Also true for nasm instructions it cannot encode, which then fail with a clear error. */
export function isMnemonic(name: string): boolean {
  return TEMPLATES.has(name) || isNasmInstruction(name);
}

/** Is `name` (lower case) a register name in nasm's syntax? */
export function isRegister(name: string): boolean {
  return isRegisterName(name);
}

const noWarnings: string[] = [];
let current: Insn;

/** The length of `t`'s encoding of the current instruction: jmp_match's measure of the short form. */
function shortLength(t: Template): number {
  const e = emit(t, current, true, noWarnings);
  return typeof e === 'string' ? 0 : e.length;
}

function fail(error: string): EncodeResult {
  return { ok: false, error };
}

function encodeChecked(req: InstructionRequest, ctx: EncodeContext): EncodeResult {
  const insn = buildInsn(req, ctx);
  if (typeof insn === 'string') return fail(insn);
  let list: readonly Template[] | undefined = TEMPLATES.get(req.mnemonic);
  if (list === undefined) {
    // A line of prefixes alone: nasm emits just the prefix bytes.
    if (req.mnemonic === '' && req.operands.length === 0) list = PREFIX_ONLY;
    else if (isNasmInstruction(req.mnemonic)) return fail(`instruction \`${req.mnemonic}' is not supported by the built-in assembler`);
    else return fail(`unknown instruction \`${req.mnemonic}'`);
  }
  const addrError = chooseAddressSize(insn);
  if (addrError !== undefined) return fail(addrError);

  current = insn;
  const t = findTemplate(list, insn, shortLength);
  if (typeof t === 'number') return fail(matchError(t, insn));
  const e = emit(t, insn, false, insn.warnings);
  if (typeof e === 'string') return fail(e);
  if (e.lateError !== undefined && ctx.final) return fail(e.lateError);
  const bytes = emittedBytes(e.length);
  return insn.warnings.length === 0 ? { ok: true, bytes } : { ok: true, bytes, warnings: insn.warnings };
}

const PREFIX_ONLY: readonly Template[] = [{
  mnemonic: '', ops: [], size: 0, sizeArg: -1, sameSize: 0, lock: false, long: false, bnd: false, obsolete: false, osize: 0, wait: false,
  shortOnly: false, code: [], line: '(prefixes only)',
}];

/**
 * Encodes one instruction at `ctx.address` in `ctx.bits` mode. A line of prefixes alone is
 * mnemonic ''. Never throws: every problem is an `{ ok: false, error }` with nasm's message.
 */
export function encode(req: InstructionRequest, ctx: EncodeContext): EncodeResult {
  try {
    return encodeChecked(req, ctx);
  } catch (e) {
    return fail(`internal encoder error: ${e instanceof Error ? e.message : String(e)}`);
  }
}
