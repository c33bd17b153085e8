// Every bare-metal sample under `trap` (ring compression, DESIGN.md): the same serial bytes
// and exit status as native, and the same guest instruction count, since the VMM carries
// out each trapping instruction itself and counts it as retired. holes.asm is the one whose
// output differs, by design (holes.test.ts). So does processes: its kernel sets IF only
// through IRET to ring 3, which at CPL 1 > IOPL leaves IF alone without a fault, so the
// timer never preempts a process under trap.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSamples, listSamples } from '../../scripts/samples.mjs';
import { counts, run } from './support';

const names = listSamples().filter((s) => s.mode === 'native' && s.name !== 'holes' && s.name !== 'processes').map((s) => s.name);
let outDir = '';
const images = new Map<string, Uint8Array>();

beforeAll(() => {
  outDir = mkdtempSync(join(tmpdir(), 'vtscope-trap-samples-'));
  for (const s of buildSamples({ outDir, names })) images.set(s.name, new Uint8Array(readFileSync(s.image)));
});
afterAll(() => { if (outDir) rmSync(outDir, { recursive: true, force: true }); });

describe('unmodified sample kernels under trap (privileged instructions #GP at CPL 1 and are emulated, SDM Vol. 3A 5.9)', () => {
  it.each(names)('%s gives the serial bytes, exit status and instruction count of native', (name) => {
    const native = run('native', images.get(name)!);
    const trap = run('trap', images.get(name)!);
    expect(trap.serial).toBe(native.serial);
    expect(trap.result.exitCode, trap.result.message).toBe(native.result.exitCode);
    expect(trap.result.instructions).toBe(native.result.instructions);
    // No sensitive instruction of fact sheet section 5 gave these kernels a wrong answer.
    expect(trap.vmm.holes.list()).toEqual([]);
    // I/O is never free in ring 1 at IOPL 0: every sample's COM1 output went through the VMM.
    expect(counts(trap.vmm)['#GP emulate OUT']).toBeGreaterThan(0);
  }, 60_000);

  it('timer: 10 PIT interrupts reach the guest while its IF (carried by the processor\'s) is set, each returning by an emulated IRET', () => {
    const trap = run('trap', images.get('timer')!);
    const c = counts(trap.vmm);
    expect(c['reflect external interrupt']).toBe(10);
    // The frames the VMM builds carry the guest's CS with RPL 0: IRET from ring 1 to them faults.
    expect(c['#GP emulate IRET']).toBe(10);
    // The main loop sleeps with `sti; hlt` once per tick.
    expect(c['#GP emulate HLT']).toBe(10);
  });

  it('syscall: INT 0x80 from ring 3 is delivered through the guest\'s DPL-3 gate, and CLI/HLT in ring 3 are the guest\'s own #GP', () => {
    const trap = run('trap', images.get('syscall')!);
    const c = counts(trap.vmm);
    expect(c['reflect INT 0x80']).toBe(3);
    expect(c['reflect #GP']).toBe(2);
    expect(c['#GP emulate LTR']).toBe(1);
  });

  it('paging: the guest\'s own #PFs are reflected with its CR2 and error code, its page-table writes are emulated (write-protected in the shadow)', () => {
    const trap = run('trap', images.get('paging')!);
    const c = counts(trap.vmm);
    expect(c['reflect #PF']).toBe(2);
    expect(c['PTE write']).toBe(2);
    expect(c['#GP emulate INVLPG']).toBe(2);
    expect(c['shadow #PF']).toBeGreaterThan(0);
  });
});
