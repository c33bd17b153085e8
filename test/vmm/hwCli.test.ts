/**
 * `vtscope run IMAGE --mode hw` as a user runs it: `node dist/cli.js` (built by `npm run
 * build`, which `npm test` runs first) in a child process, with --mem-virt, --stats and --json.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernel } from './support';
import { cliIn, requireBuiltCli, type CliResult } from '../support/cli';

const dir = mkdtempSync(join(tmpdir(), 'vtscope-hw-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
  requireBuiltCli();
});

function vtscope(...args: string[]): CliResult { return cliIn(dir)(...args); }

/** Prints "hi", executes CPUID three times, exits with status (2 << 1) | 1. */
const IMAGE = join(dir, 'hi.bin');
writeFileSync(IMAGE, kernel(`
  mov dx, 0x3f8
  mov al, 'h'
  out dx, al
  mov al, 'i'
  out dx, al
  mov ecx, 3
.id:
  push ecx
  xor eax, eax
  cpuid
  pop ecx
  loop .id
  mov al, 2
  out 0xf4, al`).image);

describe('vtscope run --mode hw', () => {
  for (const memVirt of [[], ['--mem-virt', 'ept'], ['--mem-virt', 'shadow']]) {
    it(`gives the guest's serial output and exit status ${memVirt.join(' ')}`, () => {
      const native = vtscope('run', IMAGE);
      const hw = vtscope('run', IMAGE, '--mode', 'hw', ...memVirt);
      expect(hw.stdout).toBe('hi');
      expect(hw.stdout).toBe(native.stdout);
      expect(hw.status).toBe((2 << 1) | 1);
      expect(hw.status).toBe(native.status);
    });
  }

  it('--stats prints the exits per reason and --json lists {number, name, count, cycles} with the SDM numbers', () => {
    const json = join(dir, 'hi.json');
    const r = vtscope('run', IMAGE, '--mode', 'hw', '--stats', '--json', json, '--cost-model', 'core-2006', '--mem-virt', 'ept');
    expect(r.status).toBe(5);
    // core-2006: VM exit + entry 940 cycles (Adams and Agesen), emulating the instruction 500 / 4 = 125.
    expect(r.stderr).toMatch(/^IO_INSTRUCTION +3 +50\.00% +3195 +50\.00% +1065\.0$/m);
    expect(r.stderr).toMatch(/^CPUID +3 +50\.00% +3195 +50\.00% +1065\.0$/m);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    expect(report.mode).toBe('hw');
    expect(report.exits).toEqual(expect.arrayContaining([
      { number: 30, name: 'IO_INSTRUCTION', count: 3, cycles: 3 * 1065 },
      { number: 10, name: 'CPUID', count: 3, cycles: 3 * 1065 },
    ]));
    expect(report.exits).toHaveLength(2);
  });

  it('refuses --mem-virt outside hw and an unknown memory virtualization, naming them', () => {
    const a = vtscope('run', IMAGE, '--mem-virt', 'shadow');
    expect(a.status).toBe(64);
    expect(a.stderr).toContain('--mem-virt applies to --mode hw only');
    const b = vtscope('run', IMAGE, '--mode', 'hw', '--mem-virt', 'npt');
    expect(b.status).toBe(64);
    expect(b.stderr).toContain("--mem-virt must be one of ept, shadow, not 'npt'");
  });
});
