// Completing launch configurations; the adapter's own parser (src/debug/launchConfig.ts) is the
// judge of whether a completed configuration launches.
import { describe, expect, it } from 'vitest';
import { parseLaunchConfig } from '../../src/debug/launchConfig';
import { initialConfiguration, resolveLaunch, type GuestSettings, type LaunchAttributes } from '../../src/extension/launchDefaults';

const defaults: GuestSettings = { defaultMode: 'native', memoryVirtualization: 'auto', costModel: 'p4-2006', memoryMiB: 64 };

function resolved(config: Partial<LaunchAttributes>, activeFile: string | undefined, settings = defaults): LaunchAttributes {
  const r = resolveLaunch(config, activeFile, settings);
  if ('error' in r) throw new Error(`unexpected error: ${r.error}`);
  return r.config;
}

describe('F5 with no launch.json', () => {
  it('launches the active .asm source in the default mode, and the adapter accepts it', () => {
    const c = resolved({}, '/home/dev/os/kernel.asm');
    expect(c).toEqual({ type: 'vtscope', request: 'launch', name: 'vtscope: kernel.asm', program: '/home/dev/os/kernel.asm', mode: 'native', memoryMiB: 64 });
    expect(parseLaunchConfig(c)).toMatchObject({ program: '/home/dev/os/kernel.asm', mode: 'native', stopOnEntry: false, memoryMiB: 64, serial: { to: 'console' } });
  });

  it('refuses, saying what to do, when the active editor holds no guest source', () => {
    for (const file of [undefined, '/home/dev/os/notes.md', '/home/dev/os/kernel.nasm']) {
      const r = resolveLaunch({}, file, defaults);
      expect(r).toEqual({ error: expect.stringMatching(/open a guest \.asm source.*"program"/) });
    }
  });
});

describe('configurations from launch.json', () => {
  it('keep what they say over the settings', () => {
    const c = resolved({ type: 'vtscope', request: 'launch', name: 'k', program: 'k.elf', mode: 'native', memoryMiB: 16 }, undefined,
      { ...defaults, memoryMiB: 128, defaultMode: 'hw' });
    expect(c).toMatchObject({ program: 'k.elf', mode: 'native', memoryMiB: 16 });
  });

  it('take the program from the active editor when they name none', () => {
    expect(resolved({ type: 'vtscope', request: 'launch', name: 'k' }, '/src/boot.asm').program).toBe('/src/boot.asm');
    const r = resolveLaunch({ type: 'vtscope', request: 'launch', name: 'k' }, undefined, defaults);
    expect(r).toEqual({ error: expect.stringContaining('launch configuration "k" has no "program"') });
  });

  it('are refused for attach, which the adapter does not do', () => {
    expect(resolveLaunch({ type: 'vtscope', request: 'attach', name: 'a', program: 'k.elf' }, undefined, defaults))
      .toEqual({ error: expect.stringContaining('request "attach" is not supported') });
  });
});

describe('VMM settings', () => {
  const vmm: GuestSettings = { defaultMode: 'native', memoryVirtualization: 'ept', costModel: 'nehalem-ept', memoryMiB: 32 };

  it('are left out in native mode, where the adapter refuses them', () => {
    const c = resolved({}, '/k.asm', vmm);
    expect(c.memVirt).toBeUndefined();
    expect(c.costModel).toBeUndefined();
    expect(parseLaunchConfig(c).memoryMiB).toBe(32);
    // The same configuration with the VMM options the adapter would refuse:
    expect(() => parseLaunchConfig({ ...c, costModel: 'nehalem-ept' })).toThrow(/'costModel' applies to the VMM modes/);
  });

  it('fill the gaps of the other modes', () => {
    expect(resolved({ type: 'vtscope', request: 'launch', name: 'k', program: 'k.asm', mode: 'hw' }, undefined, vmm))
      .toMatchObject({ mode: 'hw', memVirt: 'ept', costModel: 'nehalem-ept' });
    const trap = resolved({ type: 'vtscope', request: 'launch', name: 'k', program: 'k.asm', mode: 'trap', costModel: 'core-2006' }, undefined, vmm);
    expect(trap).toMatchObject({ mode: 'trap', costModel: 'core-2006' });
    // memVirt is hw's alone: the adapter refuses it in the other modes.
    expect('memVirt' in trap).toBe(false);
    expect(() => parseLaunchConfig(trap)).not.toThrow();
  });

  it('leave memVirt to the mode when it is auto', () => {
    const c = resolved({ type: 'vtscope', request: 'launch', name: 'k', program: 'k.asm' }, undefined, { ...vmm, defaultMode: 'bt', memoryVirtualization: 'auto' });
    expect(c).toMatchObject({ mode: 'bt', costModel: 'nehalem-ept' });
    expect('memVirt' in c).toBe(false);
  });
});

describe('the initial configuration of a new launch.json', () => {
  it('names the open guest source relative to the folder', () => {
    expect(initialConfiguration('/ws/src/kernel.asm', '/ws')).toEqual({
      type: 'vtscope', request: 'launch', name: 'vtscope: kernel.asm', program: '${workspaceFolder}/src/kernel.asm', stopOnEntry: false,
    });
  });

  it('names a source outside the folder by its absolute path, and falls back to ${file}', () => {
    expect(initialConfiguration('/elsewhere/k.asm', '/ws').program).toBe('/elsewhere/k.asm');
    expect(initialConfiguration('/ws/k.asm', undefined).program).toBe('/ws/k.asm');
    expect(initialConfiguration('/ws/readme.md', '/ws')).toMatchObject({ program: '${file}', name: 'vtscope: active guest source' });
  });
});
