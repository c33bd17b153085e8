// package.json's debugger and settings contributions against the code that interprets them:
// the adapter's launch parser, the loader's RAM bounds, the VMM's cost presets, memory
// virtualizations and exit ring.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MODES } from '../../src/debug/launchConfig';
import { MAX_RAM_MIB, MIN_RAM_MIB } from '../../src/loader/multiboot';
import { COST_PRESETS, DEFAULT_COST_PRESET } from '../../src/vmm/costModel';
import { RING_CAPACITY } from '../../src/vmm/exitLog';
import { MEM_VIRT_NAMES } from '../../src/vmm/hw/memoryVirtualization';

interface Schema { type: string; enum?: string[]; default?: unknown; minimum?: number; maximum?: number }
interface Manifest {
  main: string;
  engines: { vscode: string };
  contributes: {
    debuggers: { type: string; label: string; languages: string[]; configurationAttributes: { launch: { required: string[]; properties: Record<string, Schema> } } }[];
    configuration: { properties: Record<string, Schema> };
    breakpoints: { language: string }[];
    languages: { id: string }[];
  };
}

const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as Manifest;
const debuggerEntry = manifest.contributes.debuggers.find((d) => d.type === 'vtscope')!;
const launch = debuggerEntry.configurationAttributes.launch.properties;
const settings = manifest.contributes.configuration.properties;
const launchSource = readFileSync('src/debug/launchConfig.ts', 'utf8');

describe('the vtscope debugger contribution', () => {
  it('describes every attribute the adapter reads, and only those', () => {
    // Every `a.NAME`, 'NAME' given to optional(), and the VMM-only list in the parser.
    const read = new Set([...launchSource.matchAll(/optional\('(\w+)'|'(memVirt|costModel)'/g)].map((m) => m[1] ?? m[2]));
    expect(read.size).toBeGreaterThanOrEqual(7);
    expect(new Set(Object.keys(launch))).toEqual(read);
    expect(debuggerEntry.configurationAttributes.launch.required).toEqual(['program']);
  });

  it('offers the modes the adapter knows, and the memory bounds of the loader', () => {
    expect(launch.mode.enum).toEqual([...MODES]);
    expect(settings['vtscope.defaultMode'].enum).toEqual([...MODES]);
    for (const s of [launch.memoryMiB, settings['vtscope.memoryMiB']]) {
      expect([s.minimum, s.maximum]).toEqual([MIN_RAM_MIB, MAX_RAM_MIB]);
    }
  });

  it('offers the cost presets of the VMM, with its default', () => {
    const names = COST_PRESETS.map((p) => p.name);
    expect(launch.costModel.enum).toEqual(names);
    expect(settings['vtscope.costModel'].enum).toEqual(names);
    expect(settings['vtscope.costModel'].default).toBe(DEFAULT_COST_PRESET);
  });

  it('offers the memory virtualizations of the hw VMM, and auto in the setting', () => {
    expect(launch.memVirt.enum).toEqual([...MEM_VIRT_NAMES]);
    expect(settings['vtscope.memoryVirtualization'].enum).toEqual(['auto', ...MEM_VIRT_NAMES]);
  });

  it('keeps as many exit records as the VMM ring by default', () => {
    expect(settings['vtscope.exitLog.ringSize'].default).toBe(RING_CAPACITY);
  });

  it('takes breakpoints in the language its guest sources have', () => {
    expect(debuggerEntry.languages).toEqual(['nasm']);
    expect(manifest.contributes.breakpoints).toEqual([{ language: 'nasm' }]);
    expect(manifest.contributes.languages.map((l) => l.id)).toContain('nasm');
  });

  it('loads in VS Code 1.100 (code-server 4.100), as vscode-languageclient 11 needs 1.91 or newer', () => {
    expect(manifest.engines.vscode).toBe('^1.100.0');
    expect(manifest.main).toBe('./dist/extension.js');
  });
});
