// The sample kernels against two machines: QEMU, the reference PC, and vtscope.
// Each sample must print exactly what it was written to print, and vtscope must
// give the same serial bytes and the same exit status as QEMU.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSamples, listSamples, type Sample } from '../scripts/samples.mjs';
import { qemuAvailable, runQemu, type QemuResult } from './support/qemu';

const MEMORY_MIB = 64;
const MAX_INSTRUCTIONS = 200_000_000;
const LOAD_ADDR = 0x100000; // where the flat samples are loaded (their `org`)
const EXIT_SUCCESS = (0 << 1) | 1; // every sample writes 0 to port 0xF4 when all went well

type Line = string | RegExp;
interface Expectation {
  /** The whole serial output, line by line; a RegExp stands for one line. */
  lines: Line[];
  /** Further checks against the image itself. */
  check?: (output: string, image: Buffer) => void;
}

const hex8 = '[0-9A-F]{8}';
const frame = '001[0-9A-F]{2}000'; // a 4 KiB-aligned frame in the image's .bss, just above 1 MiB

const expected: Record<string, Expectation> = {
  hello: {
    lines: [
      'Hello from vtscope!',
      'Multiboot magic 0x2BADB002: ok',
      // QEMU (SeaBIOS) with 64 MiB: 639 KiB below the EBDA; 64 MiB - 1 MiB - the
      // 128 KiB SeaBIOS reserves at the top of RAM = 65536 - 1024 - 128 KiB.
      'mem_lower: 639 KiB, mem_upper: 64384 KiB',
    ],
  },
  timer: {
    lines: [
      'timer: IRQs at vectors 0x20-0x2F, PIT channel 0 at 100 Hz',
      ...Array.from({ length: 10 }, (_, i) => `tick ${i + 1}`),
      'timer: 10 ticks, 100 ms of PIT time',
    ],
  },
  syscall: {
    lines: [
      'syscall: kernel at CPL 0, entering the user program with IRET',
      'Hello from ring 3 through int 0x80!',
      // SDM: CLI at CPL > IOPL and HLT at CPL > 0 raise #GP(0).
      new RegExp(`#GP\\(0x00000000\\) at EIP 0x(?<cli>${hex8}) from CPL 3: CLI is privileged, skipped`),
      new RegExp(`#GP\\(0x00000000\\) at EIP 0x(?<hlt>${hex8}) from CPL 3: HLT is privileged, skipped`),
      'ring 3 survived CLI and HLT, now calling exit(0)',
      'syscall: exit(0) from CPL 3',
    ],
    check(output, image) {
      // The saved EIP points at the faulting instruction itself: FA (CLI), then F4 (HLT).
      const eip = (name: string) => Number.parseInt(output.match(new RegExp(`EIP 0x(${hex8})[^\\n]*${name}`))![1], 16);
      expect(image[eip('CLI') - LOAD_ADDR]).toBe(0xfa);
      expect(eip('HLT')).toBe(eip('CLI') + 1);
      expect(image[eip('HLT') - LOAD_ADDR]).toBe(0xf4);
    },
  },
  paging: {
    lines: [
      new RegExp(`paging: on \\(CR0\\.PG, CR0\\.WP, CR4\\.PSE\\), page directory at CR3 = 0x${frame}`),
      '4 MiB page: linear 0x00C01234 -> physical 0x00401234 holds 0x12345678',
      new RegExp(`alias: wrote 0x600DF00D at linear 0x00800000, linear 0x${frame} reads 0x600DF00D`),
      'demand: writing 0xCAFEBABE at linear 0x00801000, not mapped yet',
      // SDM #PF error code: bit 0 P (0 = not present), bit 1 W/R (1 = write), bit 2 U/S (0 = CPL < 3).
      new RegExp(`#PF at CR2 = 0x00801000, error code 0x00000002 \\(not present, write, supervisor\\): mapped to frame 0x${frame}`),
      'read back 0xCAFEBABE',
      new RegExp(`write-protect: writing 0xDEADBEEF to the read-only page at 0x(?<ro>${frame})`),
      // The same address again: \k<ro> refers back to the line above (one RegExp is built from all lines).
      new RegExp('#PF at CR2 = 0x\\k<ro>, error code 0x00000003 \\(protection, write, supervisor\\): made writable'),
      'read back 0xDEADBEEF',
    ],
  },
  holes: {
    lines: [
      'holes: four sensitive instructions that do not trap (Robin and Irvine, 2000)',
      // On bare metal each instruction answers as ring 0 expects: POPF sets IF, SGDT shows the
      // GDT just loaded, SMSW equals CR0 (PE | ET, paging off), CS has RPL 0.
      'POPF of an image with IF = 1, then IF = 1',
      new RegExp(`SGDT: GDTR base 0x(?<gdt>${hex8}) limit 0x0017 \\(we loaded 0x\\k<gdt>\\)`),
      'SMSW: 0x00000011, MOV from CR0: 0x00000011',
      'PUSH CS: 0x0008 (RPL 0)',
      'holes: 0 of 4 checks see a VMM',
    ],
  },
  'c-kernel': {
    lines: [
      'c-kernel: hello from C, Multiboot magic 0x2badb002',
      // pi(10^4) = 1229, the largest prime below 10^4 is 9973, their sum is 5736396.
      'primes below 10000: 2 3 5 7 11 13 17 19 23 29 ... 9973, 1229 of them, sum 5736396',
      // The CRC-32 check value, and the value every zlib gives for the pangram.
      'crc32("123456789") = 0xcbf43926',
      'crc32("The quick brown fox jumps over the lazy dog") = 0x414fa339',
      'unsorted: 31 -4 1000000 0 -2147483648 7 7 2147483647 -15 42',
      'sorted:   -2147483648 -15 -4 0 7 7 31 42 1000000 2147483647',
    ],
  },
  // test/vmm/cKernels.test.ts checks these two in every mode, and with a disk.
  'apic-timer': {
    lines: [
      'apic-timer: Multiboot magic 0x2badb002',
      'MP floating pointer at 0x000f5ba0 (BIOS ROM), spec 1.4, virtual wire mode',
      'MP configuration table at 0x000f5bb0: OEM "BOCHSCPU", product "0.1", 18 entries',
      '  1 processor(s), the bootstrap processor has APIC ID 0, local APICs at 0xfee00000',
      '  I/O APIC 0 (version 0x11) at 0xfec00000',
      '  ISA IRQ -> INTIN: 0->2 1->1 3->3 4->4 6->6 7->7 8->8 12->12 13->13 14->14 15->15',
      'local APIC: ID 0, version 0x14, 6 LVT entries',
      'I/O APIC: version 0x20, 24 inputs',
      'PIT: 1000 Hz on ISA IRQ 0 -> I/O APIC INTIN 2 -> vector 0x30',
      'APIC timer: periodic, divide by 16, initial count 62500 -> vector 0x40',
      'interrupts taken: 10 PIT, 10 APIC timer, 1 self-IPI, 0 spurious',
      'APIC error status 0x00000000',
    ],
  },
  processes: {
    // Without a disk; x -> 1103515245x + 12345 (mod 2^32) 200000 times from the pid gives the LCG values.
    lines: [
      'processes: Multiboot magic 0x2badb002',
      'disk: none on the primary IDE channel',
      'scheduler: 3 processes, round robin on PIT IRQ 0 every 60 PIT cycles',
      ...[[1, 'ae3700c1'], [2, '3ababdc2'], [3, 'c73e7ac3']].flatMap(([pid, lcg]) => [
        `process ${pid}: exit code ${pid === 3 ? -1 : pid}, preempted by the timer`,
        `  computed: LCG from the pid after 200000 steps = 0x${lcg}`,
        `  private page at 0x40000000 holds 0x${String(pid).repeat(8)}`,
        `  block ${pid}: read failed`,
      ]),
      '  reading kernel memory at 0x00100000',
      /  killed: exception 0x0000000e at EIP 0x[0-9a-f]{8}, page fault at 0x00100000 error code 0x00000005/,
    ],
  },
  // With one processor, as every sample runs here; test/machine/smpKernel.test.ts runs it with several.
  smp: {
    lines: [
      'smp: Multiboot magic 0x2badb002',
      'fw_cfg: 1 processor(s)',
      'bootstrap processor: APIC ID 0',
      'counting the primes below 50400 in 1 slice(s) of 50400',
      // pi(50400) = 5172; the sum of the primes below 50400 is 122970977.
      '  APIC ID 0: [0, 50400) has 5172 primes, sum 122970977',
      'total: 5172 primes, sum 122970977',
    ],
  },
};

function wholeOutput(lines: Line[]): RegExp {
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${lines.map((line) => `${typeof line === 'string' ? escape(line) : line.source}\\n`).join('')}$`);
}

function expectDesignedOutput(name: string, serial: Buffer, image: Buffer): void {
  const output = serial.toString('latin1');
  expect(output).toMatch(wholeOutput(expected[name].lines));
  expected[name].check?.(output, image);
}

/** Runs fn over items, at most `limit` at a time, keeping the order of results. */
async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

// The samples written for bare metal; the PV ones need a VMM (test/vmm/pv.test.ts runs them).
const names = listSamples().filter((sample) => sample.mode === 'native').map((sample) => sample.name);
const hasQemu = qemuAvailable();
const skipReason = hasQemu ? '' : ' [skipped: qemu-system-i386 not found on PATH]';
let outDir = '';
const built = new Map<string, Sample>();
const qemuResults = new Map<string, QemuResult>();

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'vtscope-samples-'));
  for (const sample of buildSamples({ outDir, names })) built.set(sample.name, sample);
  if (hasQemu) {
    const samples = [...built.values()];
    const results = await mapLimited(samples, availableParallelism(), (sample) =>
      runQemu(sample.image, { memoryMiB: MEMORY_MIB, timeoutMs: 60_000 }));
    samples.forEach((sample, i) => qemuResults.set(sample.name, results[i]));
  }
});

afterAll(() => {
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

function image(name: string): Buffer {
  return readFileSync(built.get(name)!.image);
}

const vtscopeRuns = new Map<string, Promise<{ serial: Buffer; exitCode: number; message: string }>>();

/** One vtscope run per sample, shared by the tests that look at it. */
function runVtscope(name: string) {
  let run = vtscopeRuns.get(name);
  if (!run) {
    run = (async () => {
      // Imported here so that the QEMU half of this file runs even while the machine cannot.
      const { Machine } = await import('../src/machine/machine');
      const machine = new Machine({ memoryMiB: MEMORY_MIB });
      const serial: number[] = [];
      machine.onSerialOutput = (byte) => serial.push(byte);
      machine.load(image(name), { fileName: built.get(name)!.image });
      const result = machine.run({ maxInstructions: MAX_INSTRUCTIONS });
      return { serial: Buffer.from(serial), exitCode: result.exitCode, message: result.message };
    })();
    vtscopeRuns.set(name, run);
  }
  return run;
}

it('has an expected output for every sample', () => {
  expect(Object.keys(expected).sort()).toEqual([...names].sort());
});

describe.skipIf(!hasQemu)('samples under QEMU', () => {
  it.each(names)(`%s prints what it is written to print and exits with 0${skipReason}`, (name) => {
    const result = qemuResults.get(name)!;
    expect(result.timedOut, `${name} timed out under QEMU`).toBe(false);
    expectDesignedOutput(name, result.stdout, image(name));
    expect(result.status, result.stderr).toBe(EXIT_SUCCESS);
  });
});

describe('samples under vtscope', () => {
  it.each(names)('%s prints what it is written to print and exits with 0', async (name) => {
    const run = await runVtscope(name);
    expectDesignedOutput(name, run.serial, image(name));
    expect(run.exitCode, run.message).toBe(EXIT_SUCCESS);
  }, 120_000);

  it.skipIf(!hasQemu).each(names)(`%s gives the same serial bytes and exit status as QEMU${skipReason}`, async (name) => {
    const run = await runVtscope(name);
    const reference = qemuResults.get(name)!;
    expect(run.serial.toString('latin1')).toBe(reference.stdout.toString('latin1'));
    expect(run.exitCode, run.message).toBe(reference.status);
  }, 120_000);
});
