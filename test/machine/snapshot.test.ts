/**
 * Machine snapshots (src/machine/snapshot.ts): the machine is deterministic, so a restored
 * machine must run to exactly the state the first run reached (output, registers, RAM, exit),
 * across PIT interrupts through the PIC, HLT idle time, UART input and output; the reference is
 * an uninterrupted run of the same kernel.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Machine, type RunResult } from '../../src/machine/machine';
import { restoreSnapshot, takeSnapshot } from '../../src/machine/snapshot';
import { nasm } from '../support/nasm';

const TIMER = nasm(readFileSync(new URL('../../samples/timer.asm', import.meta.url), 'utf8'));

/** Echoes each byte received on COM1 plus one ('a' -> 'b') until a newline, then exits with the byte count. */
const ECHO = nasm(`
    bits 32
    org 0x100000
    header: dd 0x1BADB002, 0x10000, -(0x1BADB002 + 0x10000)
            dd header, header, end, end, start
    start:
      xor ebx, ebx
    .poll:
      mov dx, 0x3fd
      in al, dx
      test al, 1               ; LSR.DR: a byte is waiting
      jz .poll
      mov dx, 0x3f8
      in al, dx
      inc ebx
      cmp al, 10
      je .done
      inc al
      out dx, al
      jmp .poll
    .done:
      mov eax, ebx
      out 0xf4, al
    end:
`);

interface Run { result: RunResult; output: string; regs: number[]; eip: number; ram: Uint8Array }

function machine(image: Uint8Array, input?: string): { m: Machine; output: () => string } {
  const m = new Machine({ memoryMiB: 4 });
  let out = '';
  m.onSerialOutput = (b) => { out += String.fromCharCode(b); };
  m.load(image);
  if (input !== undefined) m.serialInput(new TextEncoder().encode(input));
  return { m, output: () => out };
}

/** Runs to instruction count `icount` (or the end, whichever comes first). */
function runTo(m: Machine, icount: number): RunResult | undefined {
  while (m.cpu.icount < icount) {
    const r = m.runSlice(icount - m.cpu.icount);
    if (r !== undefined) return r;
  }
  return undefined;
}

/** Runs to the end; the output is what came after this call. */
function finish(m: Machine, output: () => string): Run {
  const before = output().length;
  const result = m.run();
  return { result, output: output().slice(before), regs: [...m.cpu.regs], eip: m.cpu.eip, ram: m.ram.slice() };
}

describe('a restored machine runs as the first time', () => {
  for (const [name, image, input] of [['timer.asm (PIT, PIC, HLT, UART out)', TIMER, undefined], ['an echo kernel (UART in)', ECHO, 'hello\n']] as const) {
    it(`${name}: from snapshots taken along the run`, () => {
      const ref = machine(image, input);
      const reference = finish(ref.m, ref.output);
      expect(reference.result.haltReason).toBe('exit');
      const total = reference.result.instructions;
      expect(total).toBeGreaterThan(50);

      for (const fraction of [0.1, 0.5, 0.9]) {
        const k = Math.floor(total * fraction);
        const { m, output } = machine(image, input);
        expect(runTo(m, k)).toBeUndefined();
        const prefix = output();
        const snapshot = takeSnapshot(m);
        const first = finish(m, output);
        restoreSnapshot(m, snapshot);
        expect(m.cpu.icount).toBe(k);
        const second = finish(m, output);
        for (const run of [first, second]) {
          expect(run.result).toEqual(reference.result);
          expect(prefix + run.output).toBe(reference.output);
          expect(run.regs).toEqual(reference.regs);
          expect(run.eip).toBe(reference.eip);
          expect(Buffer.compare(run.ram, reference.ram.subarray(0, run.ram.length))).toBe(0);
        }
      }
    });
  }

  it('puts back RAM, sharing the pages a later snapshot did not change', () => {
    const { m } = machine(TIMER);
    runTo(m, 200);
    const a = takeSnapshot(m);
    const ramA = m.ram.slice();
    runTo(m, 2000);
    const b = takeSnapshot(m, a);
    const ramB = m.ram.slice();
    // The pages that differ between the two points are exactly the ones B had to copy.
    let changed = 0;
    for (let p = 0; p < ramA.length / 4096; p++) {
      const same = Buffer.compare(ramA.subarray(p * 4096, (p + 1) * 4096), ramB.subarray(p * 4096, (p + 1) * 4096)) === 0;
      if (same) expect(b.pages[p]).toBe(a.pages[p]); else changed++;
    }
    expect(changed).toBeGreaterThan(0);
    expect(b.ownBytes).toBe(changed * 4096);
    restoreSnapshot(m, a);
    expect(Buffer.compare(m.ram, ramA)).toBe(0);
    restoreSnapshot(m, b);
    expect(Buffer.compare(m.ram, ramB)).toBe(0);
    expect(m.cpu.icount).toBe(2000);
  });
});
