// String instructions (string.ts): SDM Vol. 2 MOVS/CMPS/STOS/LODS/SCAS/INS/OUTS and
// REP/REPE/REPNE, Vol. 1 7.3.9. Expected memory and registers are worked out by hand from the
// element-by-element definition (which the bulk fast path must reproduce exactly).

import { describe, expect, it } from 'vitest';
import type { Cpu } from '../../src/cpu/cpu';
import { run } from '../../src/cpu/index';
import { PF } from '../../src/cpu/exceptions';
import { CR0_PG, DS, ES, FS } from '../../src/cpu/registers';
import { CODE_BASE, execSnippet, FAULT_BASE, makeCpu, RamBus } from './harness';
import { asm, errorFrame, PendingAfter } from './opsHarness';

const SRC = 0x20000, DST = 0x40000;

function bytes(cpu: Cpu, addr: number, n: number): number[] {
  return Array.from(cpu.ram.subarray(addr, addr + n));
}

/** A deterministic byte pattern (not periodic within a page, so misplaced copies show). */
function pattern(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let k = 0; k < n; k++) { x = (x * 1103515245 + 12345) >>> 0; out[k] = x >>> 24; }
  return out;
}

describe('MOVS (SDM Vol. 2, MOVS/MOVSB/MOVSW/MOVSD)', () => {
  it('moves one element and steps ESI/EDI by its size, forward with DF = 0', () => {
    const cpu = makeCpu();
    cpu.ram.set([1, 2, 3, 4, 5, 6, 7, 8], SRC);
    const r = execSnippet(asm('movsb\nmovsw\nmovsd'), { esi: SRC, edi: DST }, cpu);
    expect(bytes(cpu, DST, 8)).toEqual([1, 2, 3, 4, 5, 6, 7, 0]);
    expect([r.esi, r.edi]).toEqual([SRC + 7, DST + 7]);
  });

  it('steps backward with DF = 1', () => {
    const cpu = makeCpu();
    cpu.ram.set([1, 2, 3, 4, 5, 6, 7, 8], SRC);
    const r = execSnippet(asm('movsd\nmovsw'), { esi: SRC + 4, edi: DST + 4, eflags: 0x400 }, cpu);
    expect(bytes(cpu, DST, 8)).toEqual([1, 2, 0, 0, 5, 6, 7, 8]);
    expect([r.esi, r.edi]).toEqual([SRC - 2, DST - 2]);   // 4 bytes back, then 2
  });

  it('REP MOVSB/MOVSD copy across pages from unaligned addresses and leave ECX = 0', () => {
    const cpu = makeCpu();
    const data = pattern(10000);
    cpu.ram.set(data, SRC + 3);
    const r = execSnippet(asm('rep movsb'), { esi: SRC + 3, edi: DST + 0xffd, ecx: 10000 }, cpu);
    expect(Buffer.from(cpu.ram.subarray(DST + 0xffd, DST + 0xffd + 10000)).equals(Buffer.from(data))).toBe(true);
    expect(cpu.ram[DST + 0xffc]).toBe(0);
    expect(cpu.ram[DST + 0xffd + 10000]).toBe(0);
    expect([r.ecx, r.esi, r.edi]).toEqual([0, SRC + 3 + 10000, DST + 0xffd + 10000]);
    const r2 = execSnippet(asm('rep movsd'), { esi: SRC + 3, edi: DST + 0x5002, ecx: 2500 }, cpu);
    expect(Buffer.from(cpu.ram.subarray(DST + 0x5002, DST + 0x5002 + 10000)).equals(Buffer.from(data))).toBe(true);
    expect(r2.ecx).toBe(0);
  });

  it('REP MOVS with overlapping operands behaves element by element (not like memmove)', () => {
    // Destination one byte above the source: every byte becomes the first one.
    const cpu = makeCpu();
    cpu.ram.set(pattern(100), SRC);
    const first = cpu.ram[SRC];
    execSnippet(asm('rep movsb'), { esi: SRC, edi: SRC + 1, ecx: 99 }, cpu);
    expect(bytes(cpu, SRC, 100)).toEqual(new Array(100).fill(first));
    // MOVSD two bytes above: element 1 reads bytes element 0 already wrote.
    const cpu2 = makeCpu();
    cpu2.ram.set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], SRC);
    execSnippet(asm('rep movsd'), { esi: SRC, edi: SRC + 2, ecx: 2 }, cpu2);
    expect(bytes(cpu2, SRC, 12)).toEqual([0, 1, 0, 1, 2, 3, 2, 3, 6, 7, 10, 11]);
    // Eight bytes above with four dwords: the 8-byte pattern repeats.
    const cpu3 = makeCpu();
    cpu3.ram.set(Array.from({ length: 24 }, (_, k) => k), SRC);
    execSnippet(asm('rep movsd'), { esi: SRC, edi: SRC + 8, ecx: 4 }, cpu3);
    expect(bytes(cpu3, SRC, 24)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('a segment override replaces DS for the source; the destination stays ES', () => {
    const cpu = makeCpu();
    cpu.setSegmentCache(FS, 0x10, 0x30000, 0xffff_ffff, cpu.segAR[DS]);
    cpu.setSegmentCache(ES, 0x10, 0x50000, 0xffff_ffff, cpu.segAR[DS]);
    cpu.ram.set(pattern(16, 7), 0x30100);
    execSnippet(asm('fs movsb\nes movsb\nrep fs movsb'), { esi: 0x100, edi: 0x200, ecx: 14 }, cpu);
    // Byte 1 came from ES:0x101 (linear 0x50101), which is zero.
    expect(bytes(cpu, 0x50200, 16)).toEqual([cpu.ram[0x30100], 0, ...bytes(cpu, 0x30102, 14)]);
    expect(bytes(cpu, 0x200, 16)).toEqual(new Array(16).fill(0));
  });

  it('a 16-bit address size uses SI, DI and CX, wraps SI at 64 KiB and keeps the upper halves', () => {
    const cpu = makeCpu();
    cpu.ram.set([0xa1, 0xa2], 0xfffe);
    cpu.ram.set([0xa3, 0xa4], 0x0000);
    const r = execSnippet(asm('a16 rep movsb'), { esi: 0xabcdfffe, edi: 0x12340100, ecx: 0x55550004 }, cpu);
    expect(bytes(cpu, 0x100, 4)).toEqual([0xa1, 0xa2, 0xa3, 0xa4]);
    expect([r.esi, r.edi, r.ecx]).toEqual([0xabcd0002, 0x12340104, 0x55550000]);
  });

  it('REP with a zero count does nothing, not even fault on its operands', () => {
    const cpu = makeCpu();
    cpu.setSegmentCache(DS, 0, 0, 0, 1 << 16);   // unusable DS
    const r = execSnippet(asm('rep movsd\nrep cmpsb\nrep lodsw'), { ecx: 0, esi: 0x1234, edi: 0x5678 }, cpu);
    expect(r.fault).toBeUndefined();
    expect([r.ecx, r.esi, r.edi]).toEqual([0, 0x1234, 0x5678]);
  });

  it('REP MOVSB from device memory goes through the bus element by element', () => {
    const bus = new RamBus();
    bus.mmioPages[SRC >>> 12] = 1;             // mmioRead answers 0xff.. for the page
    const cpu = makeCpu(bus);
    cpu.ram.set(pattern(64), SRC);             // the RAM underneath must not be copied
    execSnippet(asm('rep movsb'), { esi: SRC, edi: DST, ecx: 64 }, cpu);
    expect(bytes(cpu, DST, 64)).toEqual(new Array(64).fill(0xff));
  });

  it('REP STOS/MOVS writing over the next instruction invalidate its decoded form (self-modifying code)', () => {
    for (const store of ['mov eax, 0x90\n rep stosb', 'mov esi, nops\n rep movsb']) {
      const cpu = makeCpu();
      cpu.ram.set(asm(`
          mov edi, target
          mov ecx, 5
          ${store}
        target: mov eax, 0x12345678      ; 5 bytes, become NOPs
          hlt
        nops: times 5 nop
      `), CODE_BASE);
      cpu.code.invalidateAll();
      cpu.eip = CODE_BASE;
      cpu.regs[0] = 0x90;
      run(cpu, 100);   // one call: the decoded block holding the old bytes must be dropped
      expect(cpu.halted, store).toBe(true);
      expect(cpu.regs[0], store).toBe(0x90);
    }
  });
});

describe('REP MOVS across a page fault (SDM Vol. 2, REP: restartable after a fault)', () => {
  const PD = 0x100000, PT = 0x101000;

  /** Identity-maps 0-4 MiB (user, writable) except the pages listed, and turns paging on. */
  function paged(unmapped: number[]): Cpu {
    const cpu = makeCpu();
    cpu.writePhys32(PD, PT | 7);
    for (let p = 0; p < 1024; p++) cpu.writePhys32(PT + 4 * p, unmapped.includes(p << 12) ? 0 : (p << 12) | 7);
    cpu.cr3 = PD;
    cpu.cr0 |= CR0_PG;
    cpu.tlb.flush(false);
    return cpu;
  }

  function mapPage(cpu: Cpu, lin: number): void {
    cpu.writePhys32(PT + 4 * (lin >>> 12), lin | 7);
    cpu.tlb.invalidate(lin >>> 12);
  }

  it('forward: the fault leaves ECX/ESI/EDI after the elements done, and a restart finishes the copy', () => {
    const src = 0x200800, dst = 0x202800, n = 0x1000;
    const cpu = paged([0x203000]);
    const data = pattern(n, 3);
    cpu.ram.set(data, src);
    const code = asm('rep movsb');
    const r = execSnippet(code, { esi: src, edi: dst, ecx: n, esp: 0x9000 }, cpu);
    expect(r.fault).toBe(PF);
    expect(errorFrame(cpu)).toEqual({ code: 2, eip: CODE_BASE });   // not present, write, supervisor
    expect(cpu.cr2).toBe(0x203000);
    expect([r.ecx, r.esi, r.edi]).toEqual([n - 0x800, src + 0x800, dst + 0x800]);
    expect(Buffer.from(cpu.ram.subarray(dst, dst + 0x800)).equals(Buffer.from(data.subarray(0, 0x800)))).toBe(true);
    // The handler maps the page and returns to the REP MOVS, which goes on where it stopped.
    mapPage(cpu, 0x203000);
    cpu.halted = false;
    const done = execSnippet(code, { esp: 0x9000 }, cpu);
    expect(done.fault).toBeUndefined();
    expect([done.ecx, done.esi, done.edi]).toEqual([0, src + n, dst + n]);
    expect(Buffer.from(cpu.ram.subarray(dst, dst + n)).equals(Buffer.from(data))).toBe(true);
  });

  it('a fault on the source page reports a read at the source address', () => {
    const src = 0x204c00, dst = 0x206000;
    const cpu = paged([0x205000]);
    const r = execSnippet(asm('rep movsd'), { esi: src, edi: dst, ecx: 0x200, esp: 0x9000 }, cpu);
    expect(r.fault).toBe(PF);
    expect(errorFrame(cpu).code).toBe(0);   // not present, read, supervisor
    expect(cpu.cr2).toBe(0x205000);
    expect([r.ecx, r.esi, r.edi]).toEqual([0x200 - 0x100, src + 0x400, dst + 0x400]);
  });

  it('backward (DF = 1): the fault stops at the first element on the missing page', () => {
    const cpu = paged([0x207000]);
    // 0x100 dwords downward: EDI reaches page 0x207000 after 0x40 of them.
    const r = execSnippet(asm('rep movsd'), { esi: 0x209ffc, edi: 0x2080fc, ecx: 0x100, esp: 0x9000, eflags: 0x400 }, cpu);
    expect(r.fault).toBe(PF);
    expect(cpu.cr2).toBe(0x207ffc);
    expect([r.ecx, r.esi, r.edi]).toEqual([0x100 - 0x40, 0x209ffc - 0x100, 0x2080fc - 0x100]);
  });
});

describe('long REP instructions yield to the run loop', () => {
  it('one execution does a batch and points EIP back at the REP; the rest follows', () => {
    const cpu = makeCpu();
    cpu.ram.set(asm('rep stosb'), CODE_BASE);
    cpu.code.invalidateAll();
    cpu.eip = CODE_BASE;
    cpu.regs[0] = 0x5a; cpu.regs[1] = 10000; cpu.regs[7] = DST;
    run(cpu, 1);
    expect(cpu.eip).toBe(CODE_BASE);
    const left = cpu.regs[1];
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(10000);
    expect(cpu.regs[7]).toBe(DST + 10000 - left);
    for (let k = 0; k < 10 && cpu.regs[1] !== 0; k++) run(cpu, 1);
    expect(cpu.regs[1]).toBe(0);
    expect(cpu.eip).toBe(CODE_BASE + 2);
    expect(bytes(cpu, DST, 10001)).toEqual([...new Array(10000).fill(0x5a), 0]);
  });

  it('an interrupt arriving during a long REP is taken with the REP as return address', () => {
    const bus = new PendingAfter(1);
    const cpu = makeCpu(bus);
    bus.cpu = cpu;
    const r = execSnippet(asm('rep movsb'), { esi: SRC, edi: DST, ecx: 100000, eflags: 0x202 }, cpu);
    expect(cpu.eip).toBe(FAULT_BASE + 31 * 16 + 1);
    expect(cpu.readPhys32(cpu.regs[4])).toBe(CODE_BASE);
    expect(r.ecx).toBeLessThan(100000);
    expect(r.ecx).toBeGreaterThan(0);
  });
});

describe('STOS and LODS (SDM Vol. 2, STOS, LODS)', () => {
  it('REP STOSB/STOSW/STOSD fill exactly count elements, aligned or not', () => {
    const cpu = makeCpu();
    const r = execSnippet(asm('rep stosb'), { eax: 0x11223344, edi: DST + 1, ecx: 5000 }, cpu);
    expect(r.edi).toBe(DST + 5001);
    expect([cpu.ram[DST], cpu.ram[DST + 1], cpu.ram[DST + 5000], cpu.ram[DST + 5001]]).toEqual([0, 0x44, 0x44, 0]);
    execSnippet(asm('rep stosw'), { eax: 0x11223344, edi: DST + 0x3001, ecx: 3 }, cpu);
    expect(bytes(cpu, DST + 0x3000, 8)).toEqual([0, 0x44, 0x33, 0x44, 0x33, 0x44, 0x33, 0]);
    execSnippet(asm('rep stosd'), { eax: 0x11223344, edi: DST + 0x4003, ecx: 2 }, cpu);
    expect(bytes(cpu, DST + 0x4002, 10)).toEqual([0, 0x44, 0x33, 0x22, 0x11, 0x44, 0x33, 0x22, 0x11, 0]);
    execSnippet(asm('rep stosd'), { eax: 0xdeadbeef, edi: DST + 0x5000, ecx: 0x500 }, cpu);
    expect(cpu.readPhys32(DST + 0x5000 + 0x13fc) >>> 0).toBe(0xdeadbeef);
    expect(cpu.readPhys32(DST + 0x5000 + 0x1400)).toBe(0);
  });

  it('STOS writes to ES even with a segment override prefix', () => {
    const cpu = makeCpu();
    cpu.setSegmentCache(ES, 0x10, 0x50000, 0xffff_ffff, cpu.segAR[DS]);
    execSnippet(asm('fs stosd'), { eax: 0x01020304, edi: 0x100 }, cpu);
    expect(cpu.readPhys32(0x50100)).toBe(0x01020304);
  });

  it('LODSB/LODSW/LODSD load AL/AX/EAX (upper bits kept) and step ESI', () => {
    const cpu = makeCpu();
    cpu.ram.set([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77], SRC);
    expect(execSnippet(asm('lodsb'), { eax: 0xaaaaaaaa, esi: SRC }, cpu)).toMatchObject({ eax: 0xaaaaaa11, esi: SRC + 1 });
    expect(execSnippet(asm('lodsw'), { eax: 0xaaaaaaaa, esi: SRC }, cpu)).toMatchObject({ eax: 0xaaaa2211, esi: SRC + 2 });
    expect(execSnippet(asm('lodsd'), { eax: 0, esi: SRC + 3, eflags: 0x400 }, cpu)).toMatchObject({ eax: 0x77665544, esi: SRC - 1 });
    expect(execSnippet(asm('rep lodsb'), { eax: 0, esi: SRC, ecx: 3, eflags: 0 }, cpu)).toMatchObject({ eax: 0x33, esi: SRC + 3, ecx: 0 });
  });
});

describe('CMPS and SCAS (SDM Vol. 2, CMPS, SCAS; REPE/REPNE)', () => {
  const text = (s: string) => Uint8Array.from(Buffer.from(s, 'latin1'));

  it('CMPSD sets the flags of [ESI] - [EDI]', () => {
    const cpu = makeCpu();
    cpu.writePhys32(SRC, 1);
    cpu.writePhys32(DST, 2);
    const r = execSnippet(asm('cmpsd'), { esi: SRC, edi: DST }, cpu);
    // 1 - 2 = 0xffffffff: CF (borrow), SF, PF (0xff has 8 ones), AF (borrow from bit 4).
    expect(r.eflags & 0x8d5).toBe(0x95);
    expect([r.esi, r.edi]).toEqual([SRC + 4, DST + 4]);
  });

  it('REPE CMPSB stops after the first difference with the counts of the elements compared', () => {
    const cpu = makeCpu();
    cpu.ram.set(text('hello world'), SRC);
    cpu.ram.set(text('hellO world'), DST);
    const r = execSnippet(asm('repe cmpsb'), { esi: SRC, edi: DST, ecx: 11 }, cpu);
    expect([r.ecx, r.esi, r.edi]).toEqual([6, SRC + 5, DST + 5]);
    expect(r.eflags & 0x8d5).toBe(0);   // 'o' - 'O' = 0x20: no flag set
    const same = execSnippet(asm('repe cmpsb'), { esi: SRC + 5, edi: DST + 5, ecx: 6 }, cpu);
    expect(same.ecx).toBe(0);
    expect(same.eflags & 0x40).toBe(0x40);
  });

  it('REPNE CMPSW stops at the first equal word', () => {
    const cpu = makeCpu();
    cpu.ram.set([1, 0, 2, 0, 3, 0], SRC);
    cpu.ram.set([9, 0, 9, 0, 3, 0], DST);
    const r = execSnippet(asm('repne cmpsw'), { esi: SRC, edi: DST, ecx: 10 }, cpu);
    expect([r.ecx, r.esi]).toEqual([7, SRC + 6]);
    expect(r.eflags & 0x40).toBe(0x40);
  });

  it('REPNE SCASB finds the terminating zero (strlen = not ECX - 1)', () => {
    const cpu = makeCpu();
    cpu.ram.set(text('abc\0'), DST);
    const r = execSnippet(asm('repne scasb'), { eax: 0, edi: DST, ecx: 0xffffffff }, cpu);
    expect(r.ecx).toBe(0xfffffffb);
    expect(~r.ecx - 1).toBe(3);
    expect(r.edi).toBe(DST + 4);
    expect(r.eflags & 0x40).toBe(0x40);
  });

  it('REPE SCASD skips equal dwords and stops at the first different one', () => {
    const cpu = makeCpu();
    for (let k = 0; k < 4; k++) cpu.writePhys32(DST + 4 * k, k < 3 ? 0x77 : 0x78);
    const r = execSnippet(asm('repe scasd'), { eax: 0x77, edi: DST, ecx: 8 }, cpu);
    // 0x77 - 0x78 = -1: CF, SF, PF, AF.
    expect([r.ecx, r.edi, r.eflags & 0x8d5]).toEqual([4, DST + 16, 0x95]);
  });
});

describe('INS and OUTS (SDM Vol. 2, INS, OUTS)', () => {
  it('REP OUTSB/OUTSW/OUTSD write the source elements to port DX', () => {
    const bus = new RamBus();
    const cpu = makeCpu(bus);
    cpu.ram.set([1, 2, 3, 4, 5, 6, 7, 8], SRC);
    const r = execSnippet(asm('rep outsb\nmov esi, ' + SRC + '\noutsw\noutsd'), { edx: 0x3f8, esi: SRC, ecx: 3 }, cpu);
    expect(bus.ioWrites).toEqual([
      { port: 0x3f8, size: 1, value: 1 }, { port: 0x3f8, size: 1, value: 2 }, { port: 0x3f8, size: 1, value: 3 },
      { port: 0x3f8, size: 2, value: 0x0201 }, { port: 0x3f8, size: 4, value: 0x06050403 },
    ]);
    expect(r.esi).toBe(SRC + 6);
  });

  it('INSB/INSW/INSD store what the port gives at ES:EDI', () => {
    const bus = new RamBus();
    bus.ioReadValue = 0x12345678;
    const cpu = makeCpu(bus);
    const r = execSnippet(asm('insb\ninsw\ninsd\nrep insb'), { edx: 0x60, edi: DST, ecx: 2 }, cpu);
    expect(bytes(cpu, DST, 10)).toEqual([0x78, 0x78, 0x56, 0x78, 0x56, 0x34, 0x12, 0x78, 0x78, 0]);
    expect([r.edi, r.ecx]).toEqual([DST + 9, 0]);
  });
});
