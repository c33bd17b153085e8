/**
 * samples/smp, a C kernel that starts its application processors with INIT-SIPI-SIPI and has
 * every processor count the primes in its own slice of [0, 50400), on `Machine({ cpus: N })`,
 * under `vtscope run --cpus N` and under `qemu-system-i386 -smp N`. The slices go by APIC ID
 * and the bootstrap processor prints only once all have finished, so QEMU's vCPU threads print
 * the same bytes as vtscope's round-robin schedule, without -icount.
 *
 * Independent truth: the sieve of Eratosthenes below gives each slice's prime count and sum
 * (pi(50400) = 5172); the processors' own instruction counts show that each did its share.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSamples } from '../../scripts/samples.mjs';
import { StopReason } from '../../src/cpu/cpu';
import { Elf32File } from '../../src/loader/elf';
import { Machine } from '../../src/machine/machine';
import type { MemVirtName } from '../../src/vmm/hw/memoryVirtualization';
import { createVmm, type ModeName, type Vmm } from '../../src/vmm/vmm';
import { cliIn, requireBuiltCli } from '../support/cli';
import { qemuAvailable } from '../support/qemu';
import { runQemuProbe, type QemuProbeResult } from '../support/qemuDevices';

const LIMIT = 50400;
/** isa-debug-exit with 0: (0 << 1) | 1. */
const EXIT_SUCCESS = 1;

/** The primes below LIMIT, by the sieve of Eratosthenes. */
function primesBelow(limit: number): number[] {
  const composite = new Uint8Array(limit);
  const primes: number[] = [];
  for (let n = 2; n < limit; n++) {
    if (composite[n]) continue;
    primes.push(n);
    for (let m = n * n; m < limit; m += n) composite[m] = 1;
  }
  return primes;
}

const PRIMES = primesBelow(LIMIT);
const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);

/** What the kernel prints with `cpus` processors: one slice of LIMIT / cpus per APIC ID. */
function expectedOutput(cpus: number): string {
  const width = LIMIT / cpus;
  const slices = Array.from({ length: cpus }, (_, id) => {
    const [low, high] = [id * width, (id + 1) * width];
    const inSlice = PRIMES.filter((p) => p >= low && p < high);
    return `  APIC ID ${id}: [${low}, ${high}) has ${inSlice.length} primes, sum ${sum(inSlice)}`;
  });
  return [
    'smp: Multiboot magic 0x2badb002',
    `fw_cfg: ${cpus} processor(s)`,
    'bootstrap processor: APIC ID 0',
    ...Array.from({ length: cpus - 1 }, (_, k) => `APIC ID ${k + 1} started`),
    `counting the primes below ${LIMIT} in ${cpus} slice(s) of ${width}`,
    ...slices,
    `total: ${PRIMES.length} primes, sum ${sum(PRIMES)}`,
    '',
  ].join('\n');
}

interface Run { out: string; exitCode: number; message: string; perCpu: number[] }

function runVtscope(image: Uint8Array, cpus: number): Run {
  const m = new Machine({ cpus });
  let out = '';
  m.onSerialOutput = (b) => { out += String.fromCharCode(b); };
  m.load(image);
  const result = m.run({ maxInstructions: 50_000_000 });
  return { out, exitCode: result.exitCode, message: result.message, perCpu: m.cpus.map((cpu) => cpu.icount) };
}

const hasQemu = qemuAvailable();
const dir = mkdtempSync(join(tmpdir(), 'vtscope-smp-kernel-'));
let imagePath = '';
let image: Uint8Array;
const qemu = new Map<number, QemuProbeResult>();

beforeAll(async () => {
  imagePath = buildSamples({ outDir: dir, names: ['smp'] })[0].image;
  image = new Uint8Array(readFileSync(imagePath));
  if (!hasQemu) return;
  const results = await Promise.all([2, 4].map((cpus) => runQemuProbe(image, { args: ['-smp', String(cpus)] })));
  results.forEach((r, k) => qemu.set([2, 4][k], r));
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('samples/smp on vtscope', () => {
  it('counts pi(50400) = 5172 primes on the bootstrap processor alone when there is one', () => {
    const run = runVtscope(image, 1);
    expect(run.out).toBe(expectedOutput(1));
    expect(run.out).toContain('total: 5172 primes, sum 122970977\n');
    expect(run.exitCode, run.message).toBe(EXIT_SUCCESS);
  });

  for (const cpus of [2, 4, 8]) {
    it(`splits the count among ${cpus} processors, each doing its own slice, for the same totals`, () => {
      const run = runVtscope(image, cpus);
      expect(run.out).toBe(expectedOutput(cpus));
      expect(run.exitCode, run.message).toBe(EXIT_SUCCESS);
      // A slice of 50400 / 8 numbers takes well over 300000 instructions to sieve by trial
      // division: every application processor ran its own, not the bootstrap processor for it.
      for (const [k, icount] of run.perCpu.entries()) expect(icount, `processor ${k}`).toBeGreaterThan(300_000);
    });
  }

  it('keeps the same schedule when a processor stops at a breakpoint before it retires anything', () => {
    const plain = runVtscope(image, 4);
    const loaded = (): Machine => {
      const m = new Machine({ cpus: 4 });
      m.load(image);
      return m;
    };
    // cpu_main's address, from the ELF symbol table: every processor calls it once.
    const cpuMain = new Elf32File(image, 'smp.elf').symbols().find((s) => s.name === 'cpu_main')!.value;
    // First run: where (in instructions of all processors) each processor arrives at cpu_main.
    const first = loaded();
    for (const cpu of first.cpus) cpu.code.setBreakpoints([cpuMain]);
    const arrivals: number[] = [];
    while (first.runSlice(100_000) === undefined) {
      const cpu = first.running;
      if (cpu.stopReason !== StopReason.Breakpoint) continue;
      arrivals.push(first.instructions());
      cpu.resumeIcount = cpu.icount;
    }
    expect(arrivals).toHaveLength(4);
    // Second run: slices end just there, so each processor meets the breakpoint at the start of
    // the next slice, having retired nothing in it (as when a debugger's slice ends there).
    const m = loaded();
    let out = '';
    m.onSerialOutput = (b) => { out += String.fromCharCode(b); };
    for (const cpu of m.cpus) cpu.code.setBreakpoints([cpuMain]);
    let result;
    for (const at of arrivals) {
      while (m.instructions() < at) expect(m.runSlice(at - m.instructions())).toBeUndefined();
      expect(m.instructions()).toBe(at);
      const before = m.running.icount;
      expect(m.runSlice(1_000)).toBeUndefined();
      expect(m.running.stopReason).toBe(StopReason.Breakpoint);
      expect(m.running.icount).toBe(before);
      m.running.resumeIcount = m.running.icount;
    }
    while ((result = m.runSlice(100_000)) === undefined);
    expect(out).toBe(plain.out);
    expect(result.exitCode).toBe(EXIT_SUCCESS);
    expect(m.cpus.map((cpu) => cpu.icount)).toEqual(plain.perCpu);
  });

  it('prints the same through `vtscope run --cpus 4`, with the guest\'s exit status', () => {
    requireBuiltCli();
    const r = cliIn(dir)('run', imagePath, '--cpus', '4');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(expectedOutput(4));
    expect(r.status).toBe(EXIT_SUCCESS);
  });
});

/** The kernel under a VMM mode with `cpus` virtual CPUs. */
function runUnderVmm(mode: ModeName, cpus: number, memVirt?: MemVirtName): Run & { vmm: Vmm } {
  const vmm = createVmm(mode, { cpus, memVirt });
  let out = '';
  vmm.machine.onSerialOutput = (b) => { out += String.fromCharCode(b); };
  vmm.load(image);
  const result = vmm.run({ maxInstructions: 50_000_000 });
  return { out, exitCode: result.exitCode, message: result.message, perCpu: vmm.machine.cpus.map((cpu) => cpu.icount), vmm };
}

describe('samples/smp under the VMM modes, a virtual CPU per processor', () => {
  const native = new Map<number, number[]>();
  const nativeCounts = (cpus: number): number[] => {
    if (!native.has(cpus)) native.set(cpus, runVtscope(image, cpus).perCpu);
    return native.get(cpus)!;
  };
  const modes: [ModeName, MemVirtName | undefined][] = [['trap', undefined], ['bt', undefined], ['hw', 'shadow'], ['hw', 'ept']];

  for (const [mode, memVirt] of modes) {
    for (const cpus of [2, 4]) {
      it(`prints what QEMU prints under ${mode}${memVirt === undefined ? '' : ` (${memVirt})`} with ${cpus} vCPUs, each running native's instructions`, () => {
        const run = runUnderVmm(mode, cpus, memVirt);
        expect(run.out).toBe(expectedOutput(cpus));
        expect(run.exitCode, run.message).toBe(EXIT_SUCCESS);
        // Turns are counted in guest instructions, which no VMM event changes: the same schedule.
        expect(run.perCpu).toEqual(nativeCounts(cpus));
        // Each application processor's seven real-mode instructions (boot.asm's trampoline, up
        // to the MOV CR0 that sets PE) are emulated by the VMM, on that processor; with EPT the
        // unrestricted guest runs them.
        const records = run.vmm.log.records();
        for (let k = 1; k < cpus; k++) {
          const emulated = records.filter((r) => r.reason === 'emulate real mode' && r.vcpu === k);
          const ips = memVirt === 'ept' ? [] : ['0000', '0001', '0003', '0005', '000a', '000d', '000f'];
          expect(emulated.map((r) => r.qualification.slice(-4))).toEqual(ips);
        }
      });
    }
  }

  it('shows the APIC traffic under hw with EPT: MMIO exits on the processor that made them, COM1 through I/O exits', () => {
    const records = runUnderVmm('hw', 4, 'ept').vmm.log.records();
    const mmio = (vcpu: number, what: string): number => records.filter((r) => r.vcpu === vcpu && r.reason === 'EPT_VIOLATION' && r.qualification.includes(what)).length;
    // The bootstrap processor writes the ICR (0xFEE00300) for INIT, STARTUP, STARTUP to each of
    // three processors and reads it back for the send-pending bit after each (processors.c).
    expect(mmio(0, 'write GPA 0xfee00300')).toBe(9);
    expect(mmio(0, 'read GPA 0xfee00300')).toBe(9);
    // Every processor reads its own APIC ID register (0xFEE00020) once (lapic_id()).
    for (let k = 0; k < 4; k++) expect(mmio(k, 'read GPA 0xfee00020'), `vCPU ${k}`).toBe(1);
    // Every character is an OUT to 0x3F8; serial_init writes the divisor's low byte there too (DLAB set).
    const com1 = records.filter((r) => r.reason === 'IO_INSTRUCTION' && r.qualification.includes('OUT dx=0x3f8'));
    expect(com1.length).toBe(expectedOutput(4).length + 1);
    expect(com1.every((r) => r.vcpu === 0)).toBe(true);
  });

  it('compares the modes with `vtscope compare --cpus 2`: the same output and instructions in each, pv left out', () => {
    requireBuiltCli();
    const json = join(dir, 'compare.json');
    const r = cliIn(dir)('compare', imagePath, '--cpus', '2', '--json', json);
    expect(r.status, r.stderr).toBe(0);
    const rows = JSON.parse(readFileSync(json, 'utf8')).modes as { mode: string; memVirt?: string; ran: boolean; sameOutputAsNative?: boolean | null; instructions?: number; note?: string }[];
    const ran = rows.filter((row) => row.ran);
    expect(ran.map((row) => `${row.mode}${row.memVirt === undefined ? '' : ` (${row.memVirt})`}`)).toEqual(['native', 'trap', 'bt', 'hw (shadow)', 'hw (ept)']);
    const native = runVtscope(image, 2).perCpu.reduce((a, b) => a + b, 0);
    for (const row of ran) {
      expect(row.sameOutputAsNative ?? true, row.mode).toBe(true);
      expect(row.instructions, row.mode).toBe(native);
    }
    expect(rows.find((row) => row.mode === 'pv')).toMatchObject({ ran: false, note: 'pv runs one virtual CPU, not 2' });
  });

  it('runs under `vtscope run --mode bt --cpus 4` and `--mode hw --cpus 4`', () => {
    requireBuiltCli();
    for (const mode of ['bt', 'hw']) {
      const r = cliIn(dir)('run', imagePath, '--mode', mode, '--cpus', '4');
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(expectedOutput(4));
      expect(r.status).toBe(EXIT_SUCCESS);
    }
  });
});

describe.skipIf(!hasQemu)('samples/smp against qemu-system-i386 -smp N', () => {
  for (const cpus of [2, 4]) {
    it(`prints what QEMU prints with ${cpus} processors, and exits the same way`, () => {
      const reference = qemu.get(cpus)!;
      expect(reference.serial).toBe(expectedOutput(cpus));
      expect(reference.status).toBe(EXIT_SUCCESS);
      expect(runVtscope(image, cpus).out).toBe(reference.serial);
    });
  }
});
