// ALU instructions with memory operands: read-modify-write through memory, faults that must
// leave everything unchanged, and the LOCK prefix rule. Expected values are worked out by hand
// from the SDM's Operation and Flags Affected sections (the comments show the arithmetic).
import { describe, expect, it } from 'vitest';
import { AR_DB, AR_G } from '../../src/cpu/cpu';
import { GP, PF, UD } from '../../src/cpu/exceptions';
import { DS, FLAGS_ARITH } from '../../src/cpu/registers';
import { CODE_BASE, makeCpu } from './harness';
import { DATA, enablePaging, peek32, poke32, runAsm } from './snippet';

const CF = 0x1, PFL = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;

interface MemCase { title: string; asm: string; mem: number; regs?: Record<string, number>; flagsIn?: number; memOut: number; flags: number; regsOut?: Record<string, number> }

const MEMORY_FORMS: MemCase[] = [
  // 7FFFFFFF + 1 = 80000000: signed overflow, AF from bit 3 carry, PF of low byte 00.
  { title: 'ADD m32, r32 (01): DEST <- DEST + SRC', asm: 'add [DATA], eax', mem: 0x7fffffff, regs: { eax: 1 }, memOut: 0x80000000, flags: OF | SF | AF | PFL },
  // 20 + F0 = 110: carry out of bit 7; 10 has one bit set (PF = 0).
  { title: 'ADD m8, imm8 (80 /0)', asm: 'add byte [DATA], 0xf0', mem: 0x20, memOut: 0x10, flags: CF },
  // 82 is 80 under another name in 32-bit code (SDM Vol. 2, table A-2): F8 + 10 = 108.
  { title: 'ADD m8, imm8 through the 82 alias', asm: 'db 0x82, 0x05\ndd DATA\ndb 0x10', mem: 0xf8, memOut: 0x08, flags: CF },
  // EDCC + 1234 = 10000: carry, zero, AF from CC + 34.
  { title: 'ADD m16, imm16 (81 /0) leaves the upper half alone', asm: 'add word [DATA], 0x1234', mem: 0x5555edcc, memOut: 0x55550000, flags: CF | ZF | PFL | AF },
  // FFFFFFFF + 0 + CF(1) = 0 carry out.
  { title: 'ADC m32, r32 (11): DEST <- DEST + SRC + CF', asm: 'adc [DATA], eax', mem: 0xffffffff, regs: { eax: 0 }, flagsIn: CF, memOut: 0, flags: CF | ZF | PFL | AF },
  // 0000 - FFFF - 1 = 0 (mod 2^16) with a borrow.
  { title: 'SBB m16, r16 (19): DEST <- DEST - (SRC + CF)', asm: 'sbb [DATA], ax', mem: 0x12340000, regs: { eax: 0xffff }, flagsIn: CF, memOut: 0x12340000, flags: CF | ZF | PFL | AF },
  // 0000 - 1 = FFFF with a borrow.
  { title: 'SUB m16, imm8 (83 /5, immediate sign-extended)', asm: 'sub word [DATA], 1', mem: 0, memOut: 0xffff, flags: CF | PFL | AF | SF },
  // 00000001 | FFFFFF80 (the imm8 -128 sign-extended).
  { title: 'OR m32, imm8 (83 /1) sign-extends the immediate', asm: 'or dword [DATA], -128', mem: 1, memOut: 0xffffff81, flags: SF | PFL },
  { title: 'AND m8, imm8 (80 /4) on the second byte', asm: 'and byte [DATA+1], 0x0f', mem: 0xf500, memOut: 0x0500, flags: PFL },
  { title: 'XOR m8, imm8 (80 /6)', asm: 'xor byte [DATA], 0xff', mem: 0xaa, memOut: 0x55, flags: PFL },
  // 3 - 5 = FFFFFFFE: borrow, sign; CMP writes nothing.
  { title: 'CMP m32, imm8 (83 /7) computes flags only', asm: 'cmp dword [DATA], 5', mem: 3, memOut: 3, flags: CF | AF | SF },
  { title: 'TEST m32, r32 (85): SRC1 AND SRC2, flags only', asm: 'test [DATA], eax', mem: 0xf0, regs: { eax: 0x0f }, memOut: 0xf0, flags: ZF | PFL },
  // NEG of the most negative number is itself: CF (nonzero source) and OF.
  { title: 'NEG m32 (F7 /3): CF = (DEST != 0)', asm: 'neg dword [DATA]', mem: 0x80000000, memOut: 0x80000000, flags: CF | OF | SF | PFL },
  { title: 'NOT m16 (F7 /2) affects no flag', asm: 'not word [DATA]', mem: 0x12345678, flagsIn: CF | PFL | AF | ZF | SF | OF, memOut: 0x1234a987, flags: CF | PFL | AF | ZF | SF | OF },
  // FF + 1 = 00; CF is not affected by INC (it was 1 and stays 1).
  { title: 'INC m8 (FE /0) keeps CF', asm: 'inc byte [DATA]', mem: 0xff, flagsIn: CF, memOut: 0, flags: CF | ZF | PFL | AF },
  { title: 'DEC m32 (FF /1) keeps CF', asm: 'dec dword [DATA]', mem: 0x80000000, memOut: 0x7fffffff, flags: OF | AF | PFL },
  // TEMP = 5 + 7; SRC = 5; DEST = 12.
  { title: 'XADD m32, r32 (0F C1): SRC gets the old DEST', asm: 'xadd [DATA], ecx', mem: 5, regs: { ecx: 7 }, memOut: 12, flags: PFL, regsOut: { ecx: 5 } },
  { title: 'CMPXCHG m32, r32 (0F B1), equal: DEST <- SRC, ZF = 1', asm: 'cmpxchg [DATA], ecx', mem: 0x42, regs: { eax: 0x42, ecx: 0x99 }, memOut: 0x99, flags: ZF | PFL, regsOut: { eax: 0x42 } },
  // 41 - 42: the flags of CMP accumulator, DEST.
  { title: 'CMPXCHG m8, r8 (0F B0), not equal: AL <- DEST', asm: 'cmpxchg [DATA], cl', mem: 0x42, regs: { eax: 0x41, ecx: 0x99 }, memOut: 0x42, flags: CF | SF | AF | PFL, regsOut: { eax: 0x42 } },
  // F6 /1 is decoded as TEST by Intel and AMD processors (an alias of /0).
  { title: 'TEST m8, imm8 through the F6 /1 alias', asm: 'db 0xf6, 0x0d\ndd DATA\ndb 0x01', mem: 3, flagsIn: ZF, memOut: 3, flags: 0 },
];

describe('ALU instructions with a memory destination (SDM Vol. 2, Operation sections)', () => {
  for (const c of MEMORY_FORMS) {
    it(c.title, () => {
      const cpu = makeCpu();
      poke32(cpu, DATA, c.mem);
      const r = runAsm(cpu, `DATA equ 0x${DATA.toString(16)}\n${c.asm}`, { ...c.regs, eflags: c.flagsIn ?? 0 });
      expect(r.fault).toBeUndefined();
      expect(peek32(cpu, DATA).toString(16)).toBe((c.memOut >>> 0).toString(16));
      expect((r.eflags & FLAGS_ARITH).toString(16)).toBe(c.flags.toString(16));
      for (const [reg, v] of Object.entries(c.regsOut ?? {})) expect(r[reg as 'eax'], reg).toBe(v);
    });
  }

  it('ADD then ADC carry a 64-bit sum through memory (SDM ADC: used for multi-word addition)', () => {
    const cpu = makeCpu();
    const a = 0xffff_fff0_8000_0001n, b = 0x0000_0010_8000_0000n;
    poke32(cpu, DATA, Number(a & 0xffffffffn));
    poke32(cpu, DATA + 4, Number(a >> 32n));
    runAsm(cpu, `add [${DATA}], eax\nadc [${DATA + 4}], edx`, { eax: Number(b & 0xffffffffn), edx: Number(b >> 32n) });
    const sum = (a + b) & 0xffff_ffff_ffff_ffffn;
    expect(BigInt(peek32(cpu, DATA)) | (BigInt(peek32(cpu, DATA + 4)) << 32n)).toBe(sum);
  });

  it('CMPXCHG8B m64 (0F C7 /1): equal sets ZF and stores ECX:EBX, unequal loads EDX:EAX', () => {
    const cpu = makeCpu();
    poke32(cpu, DATA, 0x11111111); poke32(cpu, DATA + 4, 0x22222222);
    let r = runAsm(cpu, `cmpxchg8b [${DATA}]`, { eax: 0x11111111, edx: 0x22222222, ebx: 0x33333333, ecx: 0x44444444, eflags: 0 });
    expect([peek32(cpu, DATA), peek32(cpu, DATA + 4)]).toEqual([0x33333333, 0x44444444]);
    expect(r.eflags & ZF).toBe(ZF);
    r = runAsm(cpu, `cmpxchg8b [${DATA}]`, { eax: 0, edx: 0, ebx: 0, ecx: 0, eflags: ZF | CF });
    expect([r.eax, r.edx]).toEqual([0x33333333, 0x44444444]);
    expect([peek32(cpu, DATA), peek32(cpu, DATA + 4)]).toEqual([0x33333333, 0x44444444]);
    // Only ZF changes; CF stays as it was.
    expect(r.eflags & (ZF | CF)).toBe(CF);
  });

  it('CMPXCHG8B with a register operand is #UD (SDM CMPXCHG8B: "destination is not a memory location")', () => {
    const r = runAsm(makeCpu(), 'db 0x0f, 0xc7, 0xc8');
    expect(r.fault).toBe(UD);
  });

  it('INC r32 (40+r) keeps a carry still pending in the lazy flags of an earlier ADD', () => {
    const r = runAsm(makeCpu(), 'add eax, ebx\ninc ecx', { eax: 0xffffffff, ebx: 1, ecx: 0x7fffffff, eflags: 0 });
    // ADD set CF (FFFFFFFF + 1); INC 7FFFFFFF overflows into the sign: OF SF AF PF, CF kept.
    expect(r.eflags & FLAGS_ARITH).toBe(CF | OF | SF | AF | PFL);
    expect(r.ecx).toBe(0x80000000);
  });

  it('SALC (D6, undocumented): AL = FF if CF else 00, flags unchanged', () => {
    let r = runAsm(makeCpu(), 'salc', { eax: 0x12345600, eflags: CF | ZF });
    expect(r.eax).toBe(0x123456ff);
    expect(r.eflags & FLAGS_ARITH).toBe(CF | ZF);
    r = runAsm(makeCpu(), 'salc', { eax: 0x123456aa, eflags: SF });
    expect(r.eax).toBe(0x12345600);
    expect(r.eflags & FLAGS_ARITH).toBe(SF);
  });
});

// ---------------------------------------------------------------------------------------------

/** The bytes on both sides of a page boundary. */
function around(cpu: ReturnType<typeof makeCpu>, addr: number): number[] {
  return Array.from(cpu.ram.subarray(addr - 8, addr + 8));
}

const BOUNDARY = 0x31000; // not present in the paging tests below
const STATE = { eax: 0x11111111, ecx: 0x22222222, edx: 0x33333333, ebx: 0x44444444, esi: 0x55555555, edi: 0x66666666, eflags: CF | ZF };

/** Read-modify-write forms whose operand starts below BOUNDARY and ends above it. */
const CROSSING = [
  'add [0x30ffe], eax', 'adc word [0x30fff], 1', 'sub dword [0x30ffd], 7', 'xor [0x30fff], cx',
  'inc dword [0x30ffe]', 'neg dword [0x30ffe]', 'not word [0x30fff]',
  'xadd [0x30ffe], ecx', 'cmpxchg [0x30ffe], ecx', 'cmpxchg8b [0x30ffc]',
  'shl dword [0x30ffe], 1', 'rcr word [0x30fff], cl', 'shld [0x30ffe], ecx, 4',
  'bts dword [0x30ffe], 0', 'btr word [0x30fff], 3',
];

describe('faults on a read-modify-write operand change nothing (SDM Vol. 3A, 6.5: faults are restartable)', () => {
  for (const asm of CROSSING) {
    it(`${asm}: #PF on the non-present second page, before any byte is written`, () => {
      const cpu = makeCpu();
      enablePaging(cpu, { notPresent: [BOUNDARY] });
      for (let k = -8; k < 0; k++) cpu.ram[BOUNDARY + k] = 0xa0 + k;
      const before = around(cpu, BOUNDARY);
      const r = runAsm(cpu, asm, STATE);
      expect(r.fault).toBe(PF);
      // Error code: not present (P = 0), write (W = 1: the read of a read-modify-write is done
      // with write intent; Bochs reports the same, QEMU's TCG reports the read), supervisor.
      expect(r.errorCode).toBe(2);
      expect(r.faultEip).toBe(CODE_BASE);
      expect(around(cpu, BOUNDARY)).toEqual(before);
      expect([r.eax, r.ecx, r.edx, r.ebx, r.esi, r.edi]).toEqual([STATE.eax, STATE.ecx, STATE.edx, STATE.ebx, STATE.esi, STATE.edi]);
      expect(r.eflags & FLAGS_ARITH).toBe(CF | ZF);
    });
  }

  it('CR2 holds the first byte of the not-present page, not the operand start or end (QEMU and Bochs)', () => {
    const cpu = makeCpu();
    enablePaging(cpu, { notPresent: [BOUNDARY] });
    for (const asm of ['add [0x30ffe], eax', 'cmpxchg8b [0x30ffc]']) {
      expect(runAsm(cpu, asm, STATE).fault).toBe(PF);
      expect((cpu.cr2 >>> 0).toString(16), asm).toBe(BOUNDARY.toString(16));
    }
  });

  it('ADD to a read-only page (CR0.WP = 1) is #PF with P = 1, W = 1; CMP on it only reads', () => {
    const cpu = makeCpu();
    enablePaging(cpu, { readOnly: [0x32000] });
    poke32(cpu, 0x32000, 5);
    let r = runAsm(cpu, 'cmp dword [0x32000], 5', { eflags: 0 });
    expect(r.fault).toBeUndefined();
    expect(r.eflags & ZF).toBe(ZF);
    r = runAsm(cpu, 'add [0x32000], eax', { eax: 1 });
    expect(r.fault).toBe(PF);
    expect(r.errorCode).toBe(3);
    expect(peek32(cpu, 0x32000)).toBe(5);
  });
});

describe('read-only data segment (SDM Vol. 3A, 5.5: writes need a writable data segment)', () => {
  /** DS becomes a read-only, accessed, flat data segment (type 1). */
  function readOnlyDs(): ReturnType<typeof makeCpu> {
    const cpu = makeCpu();
    cpu.setSegmentCache(DS, 0x10, 0, 0xffffffff, 0x91 | AR_DB | AR_G);
    poke32(cpu, DATA, 0x42);
    return cpu;
  }

  const reads = ['cmp [DATA], eax', 'test [DATA], eax', 'bt [DATA], eax', 'add eax, [DATA]', 'mul dword [DATA]'];
  for (const asm of reads) {
    it(`${asm} only reads: no fault`, () => {
      const r = runAsm(readOnlyDs(), `DATA equ ${DATA}\n${asm}`, { eax: 0x42 });
      expect(r.fault).toBeUndefined();
    });
  }

  const writes = ['add [DATA], eax', 'inc byte [DATA]', 'bts [DATA], eax', 'xadd [DATA], ecx', 'shr dword [DATA], 1',
    // CMPXCHG writes the destination back when the comparison fails (SDM CMPXCHG).
    'cmpxchg [DATA], ecx'];
  for (const asm of writes) {
    it(`${asm} raises #GP(0) and leaves memory and registers unchanged`, () => {
      const cpu = readOnlyDs();
      const r = runAsm(cpu, `DATA equ ${DATA}\n${asm}`, { eax: 1, ecx: 7, eflags: 0 });
      expect(r.fault).toBe(GP);
      expect(r.errorCode).toBe(0);
      expect(peek32(cpu, DATA)).toBe(0x42);
      expect([r.eax, r.ecx]).toEqual([1, 7]);
    });
  }
});
