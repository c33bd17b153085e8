// Port I/O (io.ts) and I/O protection (ioPermission.ts): SDM Vol. 2 IN/OUT/INS/OUTS and
// Vol. 1 19.5 (IOPL and the I/O permission bitmap of the TSS). The TSS and its bitmap are
// built in each test (opsHarness.installTss); the expected answers follow 19.5.2 by hand.

import { describe, expect, it } from 'vitest';
import type { Cpu } from '../../src/cpu/cpu';
import { run } from '../../src/cpu/index';
import { GP } from '../../src/cpu/exceptions';
import { CODE_BASE, execSnippet, FAULT_BASE, makeCpu, RamBus } from './harness';
import { asm, bitmapAllowing, enterCpl, errorFrame, TSS_BASE } from './opsHarness';

function userCpu(iopl: number, bitmap?: Uint8Array, bus = new RamBus()): Cpu {
  const cpu = makeCpu(bus);
  enterCpl(cpu, 3, iopl, bitmap);
  return cpu;
}

describe('IN and OUT (SDM Vol. 2, IN/OUT)', () => {
  it('move AL, AX or EAX to and from an immediate port or DX', () => {
    const bus = new RamBus();
    const cpu = makeCpu(bus);
    cpu.regs[0] = 0x11223344;
    execSnippet(asm(`
      out 0x80, al
      out 0x80, ax
      out 0x80, eax
      out dx, al
      out dx, ax
      out dx, eax
    `), { eax: 0x11223344, edx: 0xffff03f8 }, cpu);
    expect(bus.ioWrites).toEqual([
      { port: 0x80, size: 1, value: 0x44 }, { port: 0x80, size: 2, value: 0x3344 }, { port: 0x80, size: 4, value: 0x11223344 },
      { port: 0x3f8, size: 1, value: 0x44 }, { port: 0x3f8, size: 2, value: 0x3344 }, { port: 0x3f8, size: 4, value: 0x11223344 },
    ]);
    bus.ioReadValue = 0xa1b2c3d4;
    expect(execSnippet(asm('in al, 0x60'), { eax: 0x11223344 }, cpu).eax).toBe(0x112233d4);
    expect(execSnippet(asm('in ax, dx'), { eax: 0x11223344 }, cpu).eax).toBe(0x1122c3d4);
    expect(execSnippet(asm('in eax, dx'), { eax: 0x11223344 }, cpu).eax).toBe(0xa1b2c3d4);
  });

  it('OUT ends the code block, so an interrupt the device raises is taken right after it', () => {
    class RaisesOnWrite extends RamBus {
      pending = false;
      override ioWrite(port: number, size: 1 | 2 | 4, value: number): void { super.ioWrite(port, size, value); this.pending = true; }
      override intrPending(): boolean { return this.pending; }
      override intrAcknowledge(): number { this.pending = false; return 31; }
    }
    const bus = new RaisesOnWrite();
    const cpu = makeCpu(bus);
    cpu.ram.set(asm('out 0x80, al\nmov ebx, 1\nmov ecx, 2'), CODE_BASE);
    cpu.eip = CODE_BASE;
    cpu.flags |= 0x200;
    run(cpu, 100);   // one call: the block would run on past the OUT if OUT did not end it
    expect(cpu.eip).toBe(FAULT_BASE + 31 * 16 + 1);
    expect(cpu.regs[3]).toBe(0);
    expect(cpu.readPhys32(cpu.regs[4])).toBe(CODE_BASE + 2);
  });
});

describe('I/O protection (SDM Vol. 1, 19.5)', () => {
  it('at CPL 3 with IOPL 0 and no bitmap in the TSS, IN and OUT raise #GP(0)', () => {
    for (const insn of ['in al, dx', 'out 0x80, al', 'in eax, 0x60', 'out dx, ax']) {
      const cpu = userCpu(0);
      const r = execSnippet(asm(insn), { edx: 0x3f8 }, cpu);
      expect(r.fault, insn).toBe(GP);
      expect(errorFrame(cpu), insn).toEqual({ code: 0, eip: CODE_BASE });
    }
  });

  it('CPL <= IOPL allows every port without looking at the bitmap', () => {
    const bus = new RamBus();
    expect(execSnippet(asm('out dx, al'), { edx: 0x1234 }, userCpu(3, undefined, bus)).fault).toBeUndefined();
    expect(bus.ioWrites).toEqual([{ port: 0x1234, size: 1, value: 0 }]);
    const cpu = makeCpu();
    enterCpl(cpu, 1, 1);
    expect(execSnippet(asm('in al, 0x60'), {}, cpu).fault).toBeUndefined();
  });

  it('CPL > IOPL: a clear bit for every byte of the access allows it, any set bit denies it', () => {
    const map = bitmapAllowing(0x3f8, 0x3f9, 0x3fa, 0x3fb, 0x3fc, 0x3fd, 0x3fe, 0x3ff, 0x60);
    const cases: [string, number, boolean][] = [
      ['out dx, al', 0x3f8, true],
      ['in al, dx', 0x3f7, false],
      ['in eax, dx', 0x3fc, true],
      ['in ax, dx', 0x3fe, true],
      ['in eax, dx', 0x3fd, false],    // 0x400 lies in the 0xFF byte after the map
      ['in ax, dx', 0x60, false],      // 0x61 is denied
      ['in al, 0x60', 0, true],
      ['out 0x61, al', 0, false],
    ];
    for (const [insn, port, allowed] of cases) {
      const bus = new RamBus();
      const r = execSnippet(asm(insn), { edx: port }, userCpu(0, map, bus));
      expect(r.fault, `${insn} @ ${port.toString(16)}`).toBe(allowed ? undefined : GP);
      expect(bus.ioWrites.length, insn).toBe(allowed && insn.startsWith('out') ? 1 : 0);
    }
  });

  it('an access whose bits straddle two bitmap bytes reads both', () => {
    expect(execSnippet(asm('in ax, dx'), { edx: 0x107 }, userCpu(0, bitmapAllowing(0x107, 0x108))).fault).toBeUndefined();
    expect(execSnippet(asm('in ax, dx'), { edx: 0x107 }, userCpu(0, bitmapAllowing(0x107))).fault).toBe(GP);
  });

  it('ports whose bitmap bytes lie beyond the TSS limit are denied', () => {
    const map = bitmapAllowing(0x3f8);   // covers ports 0-0x3ff
    expect(execSnippet(asm('out dx, al'), { edx: 0x1000 }, userCpu(0, map)).fault).toBe(GP);
    // A map base beyond the limit: no bitmap at all.
    const cpu = userCpu(0, map);
    cpu.writePhys(TSS_BASE + 0x66, 2, 0x4000);
    expect(execSnippet(asm('out dx, al'), { edx: 0x3f8 }, cpu).fault).toBe(GP);
  });

  it('IN/OUT at CPL 1 with IOPL 0 fault (a ring-1 guest kernel traps on port I/O)', () => {
    const cpu = makeCpu();
    enterCpl(cpu, 1, 0);
    expect(execSnippet(asm('out 0x80, al'), {}, cpu).fault).toBe(GP);
  });

  it('INS and OUTS make the same check, before touching memory or registers', () => {
    const map = bitmapAllowing(0x3f8);
    const bus = new RamBus();
    const cpu = userCpu(0, map, bus);
    cpu.ram.set([0x41, 0x42], 0x20000);
    const ok = execSnippet(asm('rep outsb'), { edx: 0x3f8, esi: 0x20000, ecx: 2 }, cpu);
    expect(ok.fault).toBeUndefined();
    expect(bus.ioWrites.map((w) => w.value)).toEqual([0x41, 0x42]);
    const denied = userCpu(0, map);
    const r = execSnippet(asm('rep insb'), { edx: 0x3f9, edi: 0x30000, ecx: 2 }, denied);
    expect(r.fault).toBe(GP);
    expect([r.ecx, r.edi]).toEqual([2, 0x30000]);
    // With nothing to do, REP INS never reaches the check.
    expect(execSnippet(asm('rep insb'), { edx: 0x3f9, ecx: 0 }, userCpu(0, map)).fault).toBeUndefined();
    expect(execSnippet(asm('outsw'), { edx: 0x3f8, esi: 0x20000 }, userCpu(0, map)).fault).toBe(GP);   // 0x3f9 denied
  });
});
