// The LOCK prefix rule (SDM Vol. 2, "LOCK—Assert LOCK# Signal Prefix"): allowed only on ADD,
// ADC, AND, BTC, BTR, BTS, CMPXCHG, CMPXCHG8B, DEC, INC, NEG, NOT, OR, SBB, SUB, XOR, XADD and
// XCHG with a memory destination; #UD everywhere else. nasm knows the same rule and warns
// "instruction is not lockable", which the tests use as a second, independent opinion.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UD } from '../../src/cpu/exceptions';
import { CODE_BASE, execSnippet, makeCpu } from './harness';
import { DATA, peek32, poke32 } from './snippet';

/** Assembles one line; returns the bytes and whether nasm called the instruction not lockable. */
function assemble(line: string): { code: Uint8Array; notLockable: boolean } {
  const dir = mkdtempSync(join(tmpdir(), 'vtscope-lock-'));
  try {
    const src = join(dir, 'in.asm'), out = join(dir, 'out.bin');
    writeFileSync(src, `bits 32\norg 0x${CODE_BASE.toString(16)}\nDATA equ 0x${DATA.toString(16)}\n${line}\n`);
    const p = spawnSync('nasm', ['-f', 'bin', src, '-o', out], { encoding: 'utf8' });
    if (p.status !== 0) throw new Error(`nasm failed on "${line}": ${p.stderr}`);
    return { code: new Uint8Array(readFileSync(out)), notLockable: p.stderr.includes('instruction is not lockable') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const LOCKABLE = [
  'lock add [DATA], eax', 'lock adc byte [DATA], 1', 'lock sbb [DATA], ax', 'lock and dword [DATA], 0x0f0f0f0f',
  'lock or [DATA], cl', 'lock xor dword [DATA], -1', 'lock sub dword [DATA], 1',
  'lock inc dword [DATA]', 'lock dec byte [DATA]', 'lock not dword [DATA]', 'lock neg word [DATA]',
  'lock xadd [DATA], ecx', 'lock cmpxchg [DATA], ecx', 'lock cmpxchg8b [DATA]',
  'lock bts [DATA], ecx', 'lock btr dword [DATA], 3', 'lock btc word [DATA], 15',
];

const NOT_LOCKABLE = [
  // Register destinations of lockable instructions.
  'lock add eax, ebx', 'lock add eax, [DATA]', 'lock add al, 1', 'lock sub ecx, 1', 'lock inc ecx',
  'lock dec cl', 'lock neg eax', 'lock not bx', 'lock xadd ecx, edx', 'lock cmpxchg ecx, edx',
  'lock bts eax, ecx',
  // Instructions that are never lockable, even with a memory operand.
  'lock cmp [DATA], eax', 'lock cmp dword [DATA], 1', 'lock test [DATA], eax', 'lock bt [DATA], eax',
  'lock bt dword [DATA], 3', 'lock shl dword [DATA], 1', 'lock rol byte [DATA], cl', 'lock shld [DATA], eax, 3',
  'lock mul dword [DATA]', 'lock imul eax, [DATA]', 'lock div byte [DATA]', 'lock bsf eax, [DATA]',
  'lock sete byte [DATA]', 'lock daa', 'lock aam', 'lock cbw', 'lock cdq', 'lock salc', 'lock bswap eax',
];

/** EAX and EDX match the memory operand, so CMPXCHG and CMPXCHG8B store (and change it). */
const STATE = { eax: 0x12345678, ecx: 2, edx: 3, ebx: 4, eflags: 0 };

function prepare(): ReturnType<typeof makeCpu> {
  const cpu = makeCpu();
  poke32(cpu, DATA, 0x12345678);
  poke32(cpu, DATA + 4, 3);
  return cpu;
}

describe('LOCK prefix (SDM Vol. 2, LOCK)', () => {
  for (const line of LOCKABLE) {
    it(`${line}: allowed with a memory destination`, () => {
      const { code, notLockable } = assemble(line);
      expect(notLockable, 'nasm agrees').toBe(false);
      const cpu = prepare();
      const r = execSnippet(code, STATE, cpu);
      expect(r.fault).toBeUndefined();
      expect(peek32(cpu, DATA)).not.toBe(0x12345678);
    });
  }
  for (const line of NOT_LOCKABLE) {
    it(`${line}: #UD, nothing changed`, () => {
      const { code, notLockable } = assemble(line);
      expect(notLockable, 'nasm agrees').toBe(true);
      const cpu = prepare();
      const r = execSnippet(code, STATE, cpu);
      expect(r.fault).toBe(UD);
      expect(peek32(cpu, DATA)).toBe(0x12345678);
      expect([r.eax, r.ecx, r.edx, r.ebx]).toEqual([0x12345678, 2, 3, 4]);
    });
  }
});
