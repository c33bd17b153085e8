// The language server's data tables against their sources: the fact sheet's privileged and
// sensitive-but-unprivileged lists (section 5) and exit reasons (section 1), the assembler's
// instruction set and register names, and the CPU's control-register bit constants.
import { describe, expect, it } from 'vitest';
import { isMnemonic, isRegister } from '../../src/asm/encoder';
import { TEMPLATES } from '../../src/asm/encoder/templates';
import * as cpuRegisters from '../../src/cpu/registers';
import { INSTRUCTIONS, instructionInfo, modeBehaviour } from '../../src/lsp/instructionInfo';
import { CR0_BITS, CR4_BITS, decodeBits, REGISTERS } from '../../src/lsp/registerInfo';

/** Fact sheet section 1: every basic exit reason it lists. */
const FACT_SHEET_EXIT_REASONS = new Set([
  0, 1, 2, 3, 4, 7, 8, 9, 10, 12, 13, 14, 15, 16, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34,
  37, 39, 40, 41, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55,
]);

describe('instruction table', () => {
  it('names only instructions the assembler knows, and covers every one it encodes', () => {
    expect(Object.keys(INSTRUCTIONS).filter((m) => !isMnemonic(m))).toEqual([]);
    expect([...TEMPLATES.keys()].filter((m) => INSTRUCTIONS[m] === undefined)).toEqual([]);
  });

  it('uses only exit reasons of the fact sheet', () => {
    const all = Object.values(INSTRUCTIONS).flatMap((i) => [i, ...Object.values(i.forms ?? {})]);
    expect(all.filter((i) => i.exit && !FACT_SHEET_EXIT_REASONS.has(i.exit.reason)).map((i) => i.summary)).toEqual([]);
  });

  it('marks the fact sheet\'s privileged instructions privileged', () => {
    const cpl0 = ['hlt', 'lgdt', 'lidt', 'lldt', 'ltr', 'lmsw', 'invlpg', 'rdmsr', 'wrmsr', 'wbinvd', 'clts'];
    const iopl = ['cli', 'sti', 'in', 'out', 'insb', 'insw', 'insd', 'outsb', 'outsw', 'outsd'];
    for (const m of cpl0) expect(instructionInfo(m)?.privileged, m).toBe('cpl0');
    for (const m of iopl) expect(instructionInfo(m)?.privileged, m).toBe('iopl');
    for (const ops of [['cr0', 'eax'], ['eax', 'cr0'], ['cr3', 'eax'], ['eax', 'cr3'], ['cr4', 'eax'], ['dr7', 'eax'], ['eax', 'dr6']]) {
      expect(instructionInfo('mov', ops)?.privileged, `mov ${ops}`).toBe('cpl0');
    }
  });

  it('marks the fact sheet\'s sensitive but unprivileged instructions sensitive, and not privileged', () => {
    const forms: [string, string[]][] = [
      ['sgdt', []], ['sidt', []], ['sldt', []], ['str', []], ['smsw', []], ['pushf', []], ['pushfd', []], ['popf', []], ['popfd', []],
      ['iret', []], ['iretd', []], ['lar', []], ['lsl', []], ['verr', []], ['verw', []],
      ['push', ['cs']], ['push', ['ss']], ['mov', ['eax', 'cs']], ['mov', ['ax', 'ss']],
      ['pop', ['ds']], ['mov', ['ds', 'ax']], ['call', ['0x08:entry']], ['jmp', ['far [ptr]']], ['retf', []], ['int', ['0x80']],
    ];
    for (const [m, ops] of forms) {
      const info = instructionInfo(m, ops);
      expect(info?.sensitive, `${m} ${ops}`).toBeDefined();
      expect(info?.privileged, `${m} ${ops}`).toBeUndefined();
      expect(modeBehaviour(info!).trap, `${m} ${ops}`).not.toMatch(/^faults/);
    }
    expect(instructionInfo('push', ['ds'])?.sensitive).toBeUndefined();
    expect(instructionInfo('mov', ['eax', 'ds'])?.sensitive).toBeUndefined();
    expect(instructionInfo('jmp', ['near_label'])?.sensitive).toBeUndefined();
  });
});

describe('register table', () => {
  it('names only registers the assembler knows', () => {
    expect(Object.keys(REGISTERS).filter((r) => !isRegister(r))).toEqual([]);
  });

  it('puts CR0 and CR4 bits where the CPU\'s constants do', () => {
    const constants = cpuRegisters as unknown as Record<string, number>;
    let compared = 0;
    for (const [prefix, bits] of [['CR0', CR0_BITS], ['CR4', CR4_BITS]] as const) {
      for (const b of bits) {
        const c = constants[`${prefix}_${b.name}`];
        if (c === undefined) continue;
        expect(c >>> 0, `${prefix}.${b.name}`).toBe((1 << b.bit) >>> 0);
        compared++;
      }
    }
    // All eleven CR0 flags and the twelve CR4 ones the CPU defines.
    expect(compared).toBe(23);
  });

  it('decodes a value into its named bits and the rest', () => {
    // 0xE0000011 = PG | CD | NW | ET | PE; nothing unnamed.
    expect(decodeBits(0xe0000011, CR0_BITS).set.map((b) => b.name)).toEqual(['PE', 'ET', 'NW', 'CD', 'PG']);
    // Bit 6 of CR0 has no name.
    expect(decodeBits(0x41, CR0_BITS).unnamed).toBe(0x40);
  });
});
