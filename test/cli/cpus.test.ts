/** `vtscope run --cpus N`: the option's checks, and the machine it gives. */
import { describe, expect, it } from 'vitest';
import { parseRunArgs } from '../../src/cli/runCommand';
import { createVmm, VmmConfigError } from '../../src/vmm/vmm';

describe('vtscope run --cpus', () => {
  it('takes 1 to 8 processors', () => {
    expect(parseRunArgs(['k.bin', '--cpus', '4']).cpus).toBe(4);
    expect(parseRunArgs(['k.bin']).cpus).toBeUndefined();
    expect(() => parseRunArgs(['k.bin', '--cpus', '9'])).toThrow('run: --cpus 9 is out of range (1 to 8)');
    expect(() => parseRunArgs(['k.bin', '--cpus', 'two'])).toThrow("run: --cpus needs a whole number, not 'two'");
  });

  it('applies to every mode but pv', () => {
    expect(parseRunArgs(['k.bin', '--cpus', '2', '--mode', 'bt']).cpus).toBe(2);
    expect(() => parseRunArgs(['k.bin', '--cpus', '2', '--mode', 'pv'])).toThrow(/--mode pv runs one virtual CPU/);
    expect(parseRunArgs(['k.bin', '--cpus', '1', '--mode', 'pv']).cpus).toBe(1);
    expect(() => createVmm('pv', { cpus: 2 })).toThrow(VmmConfigError);
  });

  it('gives each processor a monitor of its own under a VMM', () => {
    for (const mode of ['trap', 'bt', 'hw'] as const) {
      const vmm = createVmm(mode, { cpus: 3 });
      expect(vmm.monitors).toHaveLength(3);
      expect(new Set(vmm.monitors).size).toBe(3);
      expect(vmm.monitor).toBe(vmm.monitors[0]);
    }
  });

  it('gives the native machine that many processors', () => {
    expect(createVmm('native', { cpus: 3 }).machine.cpus.length).toBe(3);
  });
});
