/**
 * Runs a batch of cases through the encoder and through nasm and lists every difference:
 * bytes, error against success, nasm's error message, and warnings.
 */
import { encode } from '../../src/asm/encoder/index';
import type { Bits, InstructionRequest } from '../../src/asm/operand';
import { assembleWithNasm, formatRequest, hex } from './encoderNasm';

/**
 * One line: its nasm text, and the request for it once its address is known (a branch to
 * `$+N` is a request for target address + N).
 */
export interface Case {
  text: string;
  build(address: number): InstructionRequest;
}

export function fixed(req: InstructionRequest, org = 0): Case {
  return { text: formatRequest(req, org), build: () => req };
}

export interface Outcome {
  text: string;
  nasm: string;
  ours: string;
}

export interface Comparison {
  cases: number;
  /** Lines nasm accepted, with the bytes both produced. */
  accepted: { text: string; bytes: Uint8Array }[];
  mismatches: Outcome[];
}

/** Warnings as a set: nasm prints some twice (it works out an effective address twice). */
function warningSet(warnings: readonly string[]): string {
  return [...new Set(warnings)].sort().join('; ');
}

function describe(bytes: Uint8Array | undefined, error: string | undefined, warnings: readonly string[]): string {
  const w = warnings.length > 0 ? ` [${warningSet(warnings)}]` : '';
  return (error !== undefined ? `error: ${error}` : hex(bytes)) + w;
}

export interface CompareOptions {
  org?: number;
  /** Source after the cases (e.g. a second section). */
  trailer?: readonly string[];
  /** Also require nasm's warnings (default true). */
  warnings?: boolean;
}

/** Encodes each case at the address nasm gave its line (org + offset) and compares with nasm. */
export function compareWithNasm(cases: readonly Case[], bits: Bits, options: CompareOptions = {}): Comparison {
  const org = options.org ?? 0;
  const nasm = assembleWithNasm(cases.map((c) => c.text), bits, org, options.trailer ?? []);
  const mismatches: Outcome[] = [];
  const accepted: Comparison['accepted'] = [];
  cases.forEach((c, k) => {
    const n = nasm[k];
    const res = encode(c.build(org + Math.max(n.offset, 0)), { bits, address: org + Math.max(n.offset, 0), final: true });
    const ourError = res.ok ? undefined : res.error;
    const ourWarnings = res.ok ? res.warnings ?? [] : [];
    const nasmError = n.errors[0];
    const same = nasmError !== undefined
      ? ourError === nasmError
      : res.ok && hex(res.bytes) === hex(n.bytes)
        && (options.warnings === false || warningSet(ourWarnings) === warningSet(n.warnings));
    if (nasmError === undefined && n.bytes !== undefined) accepted.push({ text: c.text, bytes: n.bytes });
    if (!same) {
      mismatches.push({
        text: c.text,
        nasm: describe(n.bytes, nasmError, n.warnings),
        ours: describe(res.ok ? res.bytes : undefined, ourError, ourWarnings),
      });
    }
  });
  return { cases: cases.length, accepted, mismatches };
}

/** The first mismatches, for a test failure message. */
export function report(c: Comparison, limit = 40): string {
  return c.mismatches.slice(0, limit).map((m) => `${m.text}\n    nasm: ${m.nasm}\n    ours: ${m.ours}`).join('\n');
}
