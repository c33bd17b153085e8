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

  it('applies to native mode only', () => {
    expect(() => parseRunArgs(['k.bin', '--cpus', '2', '--mode', 'bt'])).toThrow(/--cpus applies to native mode/);
    expect(parseRunArgs(['k.bin', '--cpus', '1', '--mode', 'hw']).cpus).toBe(1);
    expect(() => createVmm('trap', { cpus: 2 })).toThrow(VmmConfigError);
  });

  it('gives the native machine that many processors', () => {
    expect(createVmm('native', { cpus: 3 }).machine.cpus.length).toBe(3);
  });
});
