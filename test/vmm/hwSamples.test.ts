// Every sample kernel under `hw`, with EPT and with shadow page tables, against the same
// kernel on the bare emulated PC: the same serial bytes, the same exit status and the same
// guest instruction count (the instructions the VMM emulates on exits retire as guest
// instructions), and the same exits and cycles when a run is repeated.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSamples, listSamples, type Sample } from '../../scripts/samples.mjs';
import { createVmm, type ModeName, type VmmRunResult } from '../../src/vmm/vmm';
import type { MemVirtName } from '../../src/vmm/hw/memoryVirtualization';

const MAX_INSTRUCTIONS = 200_000_000;

interface Run { output: string; result: VmmRunResult; exits: Map<string, number>; cycles: number }

function run(image: Uint8Array, mode: ModeName, memVirt: MemVirtName = 'ept'): Run {
  const vmm = createVmm(mode, { memVirt });
  let output = '';
  vmm.machine.onSerialOutput = (b) => { output += String.fromCharCode(b); };
  vmm.load(image);
  const result = vmm.run({ maxInstructions: MAX_INSTRUCTIONS });
  return { output, result, exits: new Map(vmm.log.counters().map((r) => [r.name, r.count])), cycles: vmm.cycles() };
}

let outDir: string;
let samples: Sample[];

beforeAll(() => {
  outDir = mkdtempSync(join(tmpdir(), 'vtscope-hw-samples-'));
  // The kernels written for bare metal (pv-hello needs the pv hypercalls).
  samples = buildSamples({ outDir, names: listSamples(outDir).filter((s) => s.mode === 'native').map((s) => s.name) });
}, 120_000);

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('sample kernels under hw', () => {
  it('includes every bare-metal sample, the C kernel among them', () => {
    expect(samples.map((s) => s.name)).toEqual(expect.arrayContaining(['hello', 'timer', 'syscall', 'paging', 'c-kernel']));
  });

  for (const memVirt of ['ept', 'shadow'] as const) {
    it(`give native's serial output, exit status and instruction count (--mem-virt ${memVirt})`, () => {
      for (const s of samples) {
        const image = new Uint8Array(readFileSync(s.image));
        const native = run(image, 'native');
        const hw = run(image, 'hw', memVirt);
        expect(native.result.haltReason, s.name).toBe('exit');
        expect(hw.output, s.name).toBe(native.output);
        expect(hw.result.exitCode, s.name).toBe(native.result.exitCode);
        expect(hw.result.haltReason, s.name).toBe(native.result.haltReason);
        expect(hw.result.instructions, s.name).toBe(native.result.instructions);
        // Every sample prints, and every printed byte is an OUT to COM1: there are I/O exits.
        expect(hw.exits.get('IO_INSTRUCTION'), s.name).toBeGreaterThanOrEqual(native.output.length);
      }
    }, 120_000);
  }

  it('counts the same exits and cycles when a run is repeated', () => {
    for (const s of samples) {
      const image = new Uint8Array(readFileSync(s.image));
      for (const memVirt of ['ept', 'shadow'] as const) {
        const a = run(image, 'hw', memVirt), b = run(image, 'hw', memVirt);
        expect([...b.exits], `${s.name} ${memVirt}`).toEqual([...a.exits]);
        expect(b.cycles, `${s.name} ${memVirt}`).toBe(a.cycles);
      }
    }
  }, 120_000);
});
