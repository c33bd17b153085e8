// "vtscope: Open Sample": the catalogue of the bundled samples with the description each
// source opens with, and the command over it against the editor stand-in (vscodeStub.ts).
// The expected descriptions are copied by hand from the first lines of the samples.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { listSamples, sampleDescription, SampleError } from '../../src/extension/samples';
import { host, Uri } from './vscodeStub';

vi.mock('vscode', () => import('./vscodeStub'));

const { registerOpenSample, OPEN_SAMPLE, READONLY_IN_SESSION } = await import('../../src/extension/openSample');

describe('a sample\'s description', () => {
  it('is the first sentence of its opening NASM comment, without the file name before it', () => {
    expect(sampleDescription('; k.asm: a kernel. It boots.\n;\n; More.\nbits 32\n')).toBe('a kernel.');
  });

  it('may run over several comment lines, and ends with its paragraph', () => {
    expect(sampleDescription('\n;  k.asm: ring 3, and the #GP that\n;   guards privileged instructions.\n')).toBe('ring 3, and the #GP that guards privileged instructions.');
    expect(sampleDescription('; k.asm: no full stop here\n;\n; Next paragraph.\n')).toBe('no full stop here');
  });

  it('comes from the block comment that opens a C source', () => {
    expect(sampleDescription('/*\n * kernel.c: a kernel in C. boot.asm calls it.\n */\n')).toBe('a kernel in C.');
    expect(sampleDescription('/* link.ld: one line. */\nENTRY(_start)\n')).toBe('one line.');
  });

  it('is empty for a source that opens with code', () => {
    expect(sampleDescription('bits 32\n; a comment after code\n')).toBe('');
    expect(sampleDescription('')).toBe('');
  });
});

describe('the bundled samples', () => {
  it('are the NASM kernels, the microbenchmarks and the C kernel, each described', () => {
    const samples = listSamples(resolve('samples'));
    expect(samples.map((s) => [s.group, s.name, s.description])).toEqual([
      ['kernels', 'hello.asm', 'the smallest useful kernel.'],
      ['kernels', 'holes.asm', 'four instructions that let a kernel see it is not in ring 0.'],
      ['kernels', 'paging.asm', 'two-level paging, 4 MiB pages, and page faults handled on demand.'],
      ['kernels', 'pv-hello.asm', 'hello.asm ported to paravirtualization (vtscope run --mode pv).'],
      ['kernels', 'pv-timer.asm', 'timer.asm ported to paravirtualization (vtscope run --mode pv).'],
      ['kernels', 'syscall.asm', 'ring 3, system calls through `int 0x80`, and the #GP that guards privileged instructions.'],
      ['kernels', 'timer.asm', 'hardware interrupts from the 8254 timer through the 8259A PIC.'],
      ['micro', 'micro/callret.asm', 'the cost of a near call and return, which no VMM should see.'],
      ['micro', 'micro/compute.asm', 'computation alone, the baseline of the other kernels.'],
      ['micro', 'micro/ctxswitch.asm', 'the cost of switching address spaces.'],
      ['micro', 'micro/divzero.asm', 'the cost of an exception the guest kernel handles itself.'],
      ['micro', 'micro/io.asm', 'the cost of port I/O to an emulated device.'],
      ['micro', 'micro/pgfault.asm', 'the cost of a page fault that the guest kernel resolves.'],
      ['micro', 'micro/ptemod.asm', 'the cost of changing a live page-table entry.'],
      ['micro', 'micro/syscall.asm', 'the cost of a system call, ring 3 -> kernel -> ring 3.'],
      ['c', 'apic-timer', 'interrupts through the APICs, as an SMP-era kernel takes them.'],
      ['c', 'c-kernel', 'a kernel in C.'],
      ['c', 'processes', 'a kernel with processes.'],
      ['c', 'smp', 'several processors count the primes below a bound together.'],
    ]);
    expect(samples.find((s) => s.name === 'c-kernel')!.file).toBe(resolve('samples/c-kernel/kernel.c'));
    expect(samples.find((s) => s.name === 'micro/io.asm')!.file).toBe(resolve('samples/micro/io.asm'));
  });

  it('cannot be listed from a folder that is not there, and the error names it', () => {
    const missing = join(tmpdir(), 'vtscope-no-such-folder', 'samples');
    expect(() => listSamples(missing)).toThrow(SampleError);
    expect(() => listSamples(missing)).toThrow(`no samples folder at ${missing}`);
  });
});

describe('the Open Sample command', () => {
  let extension: string;

  beforeAll(() => {
    extension = mkdtempSync(join(tmpdir(), 'vtscope-ext-'));
  });
  afterAll(() => rmSync(extension, { recursive: true, force: true }));

  /** Registers the command for an extension installed in `folder`, and returns it. */
  const command = (folder: string) => {
    registerOpenSample({ subscriptions: [], asAbsolutePath: (p: string) => join(folder, p) } as never);
    return host.commands.get(OPEN_SAMPLE)!;
  };

  beforeEach(() => host.reset());

  it('offers the samples under a separator per group, each with its description', async () => {
    await command(resolve('.'))();
    const items = host.quickPickItems as { label: string; kind?: number; detail?: string }[];
    expect(items.filter((i) => i.kind === -1).map((i) => i.label)).toEqual(['kernels', 'microbenchmarks', 'C']);
    expect(items.map((i) => i.label).slice(0, 3)).toEqual(['kernels', 'hello.asm', 'holes.asm']);
    expect(items.find((i) => i.label === 'micro/io.asm')!.detail).toBe('the cost of port I/O to an emulated device.');
    expect(items.slice(-5).map((i) => i.label)).toEqual(['C', 'apic-timer', 'c-kernel', 'processes', 'smp']);
    expect(host.shownDocuments).toEqual([]);
  });

  it('opens the chosen source from the extension\'s folder in a lasting editor, made read-only', async () => {
    host.quickPick = (items) => (items as { label: string }[]).find((i) => i.label === 'micro/io.asm');
    await command(resolve('.'))();
    const file = resolve('samples/micro/io.asm');
    expect(host.shownDocuments).toEqual([{ uri: Uri.file(file), text: readFileSync(file, 'utf8'), options: { preview: false } }]);
    expect(host.executed.map((e) => e.command)).toEqual([READONLY_IN_SESSION]);
  });

  it('does nothing when the pick is cancelled', async () => {
    await command(resolve('.'))();
    expect(host.shownDocuments).toEqual([]);
    expect(host.executed).toEqual([]);
  });

  it('says which folder is missing when the installation has no samples', async () => {
    await command(extension)();
    expect(host.quickPickItems).toEqual([]);
    expect(host.messages).toEqual([{ severity: 'error', text: expect.stringContaining(`no samples folder at ${join(extension, 'samples')}`) }]);
  });

  it('lists a sample whose source opens with code, with no description', async () => {
    mkdirSync(join(extension, 'samples'));
    writeFileSync(join(extension, 'samples', 'bare.asm'), 'bits 32\nhlt\n');
    await command(extension)();
    expect(host.quickPickItems).toEqual([
      { label: 'kernels', kind: -1 },
      { label: 'bare.asm', detail: '', sample: { name: 'bare.asm', group: 'kernels', file: join(extension, 'samples', 'bare.asm'), description: '' } },
    ]);
  });
});
