// The cost model (DESIGN.md "Cost model"): presets from fact sheet section 7 with their
// status, one instruction-cost table for every mode, and determinism.
import { describe, expect, it } from 'vitest';
import { COST_PRESETS, findCostPreset } from '../../src/vmm/costModel';
import { counts, kernel, run } from './support';

describe('cost presets (fact sheet section 7)', () => {
  it('first-generation VT-x on the Pentium 4: VM entry about 2,400 cycles, marked unverified (Adams and Agesen, ASPLOS 2006)', () => {
    const p = findCostPreset('p4-2006')!;
    expect(p.events.vmExitEntry).toMatchObject({ cycles: 2400, unverified: true });
    expect(p.events.vmExitEntry.source).toMatch(/Adams and Agesen, ASPLOS 2006/);
    expect(p.ept).toBe(false);
  });

  it('Core: VM entry about 940 cycles, marked unverified (Adams and Agesen, ASPLOS 2006)', () => {
    expect(findCostPreset('core-2006')!.events.vmExitEntry).toMatchObject({ cycles: 940, unverified: true });
  });

  it('a modern core with EPT: exit plus entry about 2,000 cycles on Nehalem, verified (Landau et al., SplitX, WIOV 2011)', () => {
    const p = findCostPreset('nehalem-ept')!;
    expect(p.events.vmExitEntry).toMatchObject({ cycles: 2000, unverified: false });
    expect(p.events.vmExitEntry.source).toMatch(/SplitX, WIOV 2011/);
    expect(p.ept).toBe(true);
  });

  it('marks every number that does not come from the fact sheet as an unverified model default', () => {
    for (const p of COST_PRESETS) {
      for (const [name, cost] of Object.entries(p.events)) {
        if (name === 'vmExitEntry') continue;
        expect(cost, `${p.name}.${name}`).toMatchObject({ source: 'vtscope model default', unverified: true });
        expect(Number.isInteger(cost.cycles) && cost.cycles > 0).toBe(true);
      }
    }
  });
});

const DIVIDES = kernel(`
  mov ebx, 7
  mov ecx, 10
.divide:
  xor edx, edx
  mov eax, 1000
  div ebx
  loop .divide
  mov al, 0
  out 0xf4, al`).image;

describe('cycles', () => {
  it('native: one cycle per instruction plus the table\'s extra for DIV (25) and OUT (100)', () => {
    const native = run('native', DIVIDES);
    expect(native.result.cycles).toBe(native.result.instructions + 10 * (25 - 1) + (100 - 1));
  });

  it('trap: the same guest instructions at the same cost, plus exactly the cost of the VMM\'s events', () => {
    const native = run('native', DIVIDES);
    const trap = run('trap', DIVIDES);
    expect(trap.result.cycles - native.result.cycles).toBe(trap.vmm.log.eventCycles);
    const e = findCostPreset('p4-2006')!.events;
    expect(trap.vmm.log.counters().find((r) => r.name === '#GP emulate OUT')!.cycles)
      .toBe(e.trapRoundTrip.cycles + e.emulateInstruction.cycles);
  });

  it('is deterministic: the same image gives the same cycles, counters and records twice', () => {
    const image = kernel(`
  mov ecx, 50
.l:
  mov dx, 0x80
  out dx, al
  cli
  sti
  loop .l
  cli
  hlt`).image;
    const a = run('trap', image), b = run('trap', image);
    expect(b.result.cycles).toBe(a.result.cycles);
    expect(counts(b.vmm)).toEqual(counts(a.vmm));
    expect(b.vmm.log.records()).toEqual(a.vmm.log.records());
  });

  it('a preset changes what events cost, not which events happen', () => {
    const p4 = run('trap', DIVIDES, { costModel: 'p4-2006' });
    const nehalem = run('trap', DIVIDES, { costModel: 'nehalem-ept' });
    expect(counts(nehalem.vmm)).toEqual(counts(p4.vmm));
    expect(nehalem.result.cycles).toBeLessThan(p4.result.cycles);
  });
});
