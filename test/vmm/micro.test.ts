// The microbenchmark kernels of samples/micro, modelled on Adams and Agesen's comparison of
// software and hardware virtualization (ASPLOS 2006). Each loops ITERATIONS times on one
// operation and prints one line whose checksum the loop computes; the checksums here come
// from the formulas in each kernel's header comment, and QEMU is the reference machine.
// Every kernel must assemble to nasm's bytes with the built-in assembler (the plain build
// and the PARAVIRT one), print the same line under trap, hw (shadow and EPT) and, built
// for it, pv, and make exactly the VMM events its loop forces, per iteration.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assemble } from '../../src/asm';
import { fileHost } from '../../src/cli/assembleFile';
import type { MemVirtName } from '../../src/vmm/hw/memoryVirtualization';
import { isPvImage } from '../../src/vmm/pv/pvImage';
import type { ModeName } from '../../src/vmm/vmm';
import { qemuAvailable, runQemu, type QemuResult } from '../support/qemu';
import { counts, run, type Run } from './support';

const MICRO_DIR = fileURLToPath(new URL('../../samples/micro/', import.meta.url));
const EXIT_SUCCESS = (0 << 1) | 1;      // the kernels write 0 to isa-debug-exit when all went well

type Defines = Record<string, string>;
const PARAVIRT: Defines = { PARAVIRT: '' };

/** The memory-size bytes QEMU's pc_cmos_init stores for 64 MiB at CMOS 0x18, 0x15, 0x16, 0x17. */
const CMOS_BY_ITERATION_MOD_4 = [0xfc, 0x80, 0x02, 0x00];

function sum(n: number, term: (i: number) => bigint): bigint {
  let s = 0n;
  for (let i = 1; i <= n; i++) s += term(i);
  return s;
}

function primesBelow(n: number): bigint {
  const composite = new Uint8Array(n);
  let s = 0n;
  for (let p = 2; p < n; p++) {
    if (composite[p]) continue;
    s += BigInt(p);
    for (let m = p * p; m < n; m += p) composite[m] = 1;
  }
  return s;
}

/** Per-iteration VMM events of the loop under one configuration; `free` reasons are not counted exactly. */
interface LoopEvents { perIteration: Record<string, number>; free?: string[] }
type Config = 'trap' | 'bt' | 'hw-shadow' | 'hw-ept' | 'pv';

interface Kernel {
  name: string;
  /** The checksum the kernel prints after n iterations (before the 32-bit truncation). */
  checksum: (n: number) => bigint;
  /** The events its loop forces; no pv entry: the kernel has no PV build. */
  events: Partial<Record<Config, LoopEvents>>;
}

const NOTHING: LoopEvents = { perIteration: {} };
// With shadow page tables the VMM fills shadow entries on hidden faults as it pleases; the
// tests leave their number free.
const SHADOW_FILLS_TRAP = ['shadow #PF'];
const SHADOW_FILLS_HW = ['EXCEPTION_NMI'];

const KERNELS: Kernel[] = [
  {
    // Ring 3 INT 0x80 enters the VMM (it owns the IDT) and is reflected; the ring-1 kernel's
    // IRET to ring 3 runs on the processor. Under VT-x neither exits.
    name: 'syscall',
    checksum: (n) => BigInt(n) * BigInt(n + 2),
    events: {
      trap: { perIteration: { 'reflect INT 0x80': 1 } },
      'hw-shadow': NOTHING,
      'hw-ept': NOTHING,
      pv: { perIteration: { 'bounce INT 0x80': 1 } },
    },
  },
  {
    // One OUT and one IN per round: #GP at CPL 1 > IOPL 0, and I/O exits (reason 30).
    name: 'io',
    checksum: (n) => sum(n, (i) => BigInt(CMOS_BY_ITERATION_MOD_4[i % 4])),
    events: {
      trap: { perIteration: { '#GP emulate OUT': 1, '#GP emulate IN': 1 } },
      bt: { perIteration: { 'bt callout OUT': 1, 'bt callout IN': 1 } },
      'hw-shadow': { perIteration: { IO_INSTRUCTION: 2 } },
      'hw-ept': { perIteration: { IO_INSTRUCTION: 2 } },
    },
  },
  {
    // The guest's #PF, its MOV from CR2, two PTE writes (map in the handler, unmap in the
    // loop), its INVLPG and its IRET (a frame with a ring-0 CS).
    name: 'pgfault',
    checksum: (n) => (BigInt(n) * BigInt(n + 1)) / 2n,
    events: {
      trap: {
        perIteration: { 'reflect #PF': 1, '#GP emulate MOV from CR2': 1, 'PTE write': 2, '#GP emulate INVLPG': 1, '#GP emulate IRET': 1 },
        free: SHADOW_FILLS_TRAP,
      },
      // The two page-table writers trap once each, then are translated again as callouts.
      bt: {
        perIteration: { 'reflect #PF': 1, 'bt callout MOV from CR2': 1, 'bt callout PTE write': 2, 'bt callout INVLPG': 1, 'bt callout IRET': 1 },
        free: SHADOW_FILLS_TRAP,
      },
      'hw-shadow': { perIteration: { INVLPG: 1 }, free: SHADOW_FILLS_HW },
      'hw-ept': NOTHING,
      pv: { perIteration: { 'bounce #PF': 1, 'hypercall update_va_mapping': 2 } },
    },
  },
  {
    name: 'ptemod',
    checksum: (n) => sum(n, (i) => (i % 2 === 1 ? 1n : 0x10000n)),
    events: {
      trap: { perIteration: { 'PTE write': 1, '#GP emulate INVLPG': 1 }, free: SHADOW_FILLS_TRAP },
      bt: { perIteration: { 'bt callout PTE write': 1, 'bt callout INVLPG': 1 }, free: SHADOW_FILLS_TRAP },
      'hw-shadow': { perIteration: { INVLPG: 1 }, free: SHADOW_FILLS_HW },
      'hw-ept': NOTHING,
      pv: { perIteration: { 'hypercall update_va_mapping': 1 } },
    },
  },
  {
    // CR3 loads exit under shadow paging (the shadow root changes), not under EPT.
    name: 'ctxswitch',
    checksum: (n) => sum(n, (i) => (i % 2 === 1 ? 0xa000n : 0xb000n)),
    events: {
      trap: { perIteration: { '#GP emulate MOV to CR3': 1 }, free: SHADOW_FILLS_TRAP },
      bt: { perIteration: { 'bt callout MOV to CR3': 1 }, free: SHADOW_FILLS_TRAP },
      'hw-shadow': { perIteration: { CR_ACCESS: 1 }, free: SHADOW_FILLS_HW },
      'hw-ept': NOTHING,
      pv: { perIteration: { 'hypercall mmuext_op': 1 } },
    },
  },
  {
    // #DE is reflected, and the handler's IRET (ring-0 CS in the frame) traps; VT-x's
    // exception bitmap has no reason to include #DE.
    name: 'divzero',
    checksum: (n) => BigInt(n) * BigInt(n + 1),
    events: {
      trap: { perIteration: { 'reflect #DE': 1, '#GP emulate IRET': 1 } },
      bt: { perIteration: { 'reflect #DE': 1, 'bt callout IRET': 1 } },
      'hw-shadow': NOTHING,
      'hw-ept': NOTHING,
      pv: { perIteration: { 'bounce #DE': 1 } },
    },
  },
  {
    name: 'callret',
    checksum: (n) => (5n * BigInt(n) * BigInt(n + 1)) / 2n + 7n * BigInt(n),
    events: { trap: NOTHING, bt: NOTHING, 'hw-shadow': NOTHING, 'hw-ept': NOTHING, pv: NOTHING },
  },
  {
    // A larger sieve touches more pages: under shadow paging each may take a hidden fault.
    name: 'compute',
    checksum: (n) => primesBelow(n),
    events: {
      trap: { perIteration: {}, free: SHADOW_FILLS_TRAP },
      bt: { perIteration: {}, free: SHADOW_FILLS_TRAP },
      'hw-shadow': { perIteration: {}, free: SHADOW_FILLS_HW },
      'hw-ept': NOTHING,
      pv: NOTHING,
    },
  },
];

const hasPvBuild = (k: Kernel): boolean => k.events.pv !== undefined;
const sourcePath = (k: Kernel): string => join(MICRO_DIR, `${k.name}.asm`);

let outDir = '';

/** nasm -f bin, with the kernel's directory on the include path as nasm needs. */
function nasmBuild(k: Kernel, defines: Defines = {}): Uint8Array {
  const out = join(outDir, `${k.name}-${Object.entries(defines).map(([n, v]) => `${n}${v}`).join('-')}.bin`);
  const flags = Object.entries(defines).map(([n, v]) => (v === '' ? `-D${n}` : `-D${n}=${v}`));
  try {
    execFileSync('nasm', ['-f', 'bin', '-I', MICRO_DIR, ...flags, sourcePath(k), '-o', out], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    throw new Error(`nasm failed on ${k.name}.asm:\n${(e as { stderr?: Buffer }).stderr?.toString() ?? String(e)}`);
  }
  return new Uint8Array(readFileSync(out));
}

function defaultIterations(k: Kernel): number {
  const m = /^\s*%define ITERATIONS (\d+)\s*$/m.exec(readFileSync(sourcePath(k), 'utf8'));
  if (m === null) throw new Error(`${k.name}.asm sets no default ITERATIONS`);
  return Number(m[1]);
}

function expectedLine(k: Kernel, n: number): string {
  const checksum = Number(BigInt.asUintN(32, k.checksum(n)));
  return `${k.name}: ${n} iterations, checksum 0x${checksum.toString(16).padStart(8, '0')}\n`;
}

function runConfig(config: Config | 'native', image: Uint8Array): Run {
  const [mode, memVirt] = config.split('-') as [ModeName, MemVirtName | undefined];
  return run(mode, image, { memVirt });
}

const images = new Map<string, Uint8Array>();
const pvImages = new Map<string, Uint8Array>();
const nativeRuns = new Map<string, Run>();

beforeAll(() => {
  outDir = mkdtempSync(join(tmpdir(), 'vtscope-micro-'));
  for (const k of KERNELS) {
    images.set(k.name, nasmBuild(k));
    if (hasPvBuild(k)) pvImages.set(k.name, nasmBuild(k, PARAVIRT));
    nativeRuns.set(k.name, run('native', images.get(k.name)!));
  }
});
afterAll(() => { if (outDir) rmSync(outDir, { recursive: true, force: true }); });

describe('the built-in assembler against nasm', () => {
  for (const k of KERNELS) it(`${k.name}.asm gives nasm's bytes, in the plain and the PARAVIRT build`, () => {
    const plain = assemble(sourcePath(k), fileHost);
    expect(plain.diagnostics).toEqual([]);
    expect(Buffer.from(plain.binary).equals(Buffer.from(images.get(k.name)!))).toBe(true);
    if (!hasPvBuild(k)) return;
    const pv = assemble(sourcePath(k), fileHost, { defines: PARAVIRT });
    expect(pv.diagnostics).toEqual([]);
    expect(Buffer.from(pv.binary).equals(Buffer.from(pvImages.get(k.name)!))).toBe(true);
  });

  it('refuses a PARAVIRT build of io.asm in both, saying why', () => {
    const io = KERNELS.find((k) => k.name === 'io')!;
    expect(() => nasmBuild(io, PARAVIRT)).toThrow(/io\.asm has no PV build: a PV domain has no port access/);
    const ours = assemble(sourcePath(io), fileHost, { defines: PARAVIRT });
    expect(ours.ok).toBe(false);
    expect(ours.diagnostics.map((d) => d.message)).toContain('io.asm has no PV build: a PV domain has no port access (see the comment at the top)');
  });

  it('marks exactly the PARAVIRT builds as PV kernels (XEN_VER=xen-3.0)', () => {
    for (const k of KERNELS) {
      expect(isPvImage(images.get(k.name)!), k.name).toBe(false);
      if (hasPvBuild(k)) expect(isPvImage(pvImages.get(k.name)!), k.name).toBe(true);
    }
  });
});

describe('on the bare emulated PC', () => {
  for (const k of KERNELS) it(`${k.name} prints the checksum of its header comment's formula and exits with 0`, () => {
    const native = nativeRuns.get(k.name)!;
    expect(native.serial).toBe(expectedLine(k, defaultIterations(k)));
    expect(native.result.exitCode, native.result.message).toBe(EXIT_SUCCESS);
    // Long enough to measure, short enough for `compare` to run it in every mode.
    expect(native.result.instructions).toBeGreaterThanOrEqual(200_000);
    expect(native.result.instructions).toBeLessThanOrEqual(2_000_000);
  });
});

describe.skipIf(!qemuAvailable())('under QEMU, the reference PC', () => {
  const qemu = new Map<string, QemuResult>();
  beforeAll(async () => {
    const results = await Promise.all(KERNELS.map((k) => {
      const path = join(outDir, `${k.name}.qemu.bin`);
      writeFileSync(path, images.get(k.name)!);
      return runQemu(path, { memoryMiB: 64, timeoutMs: 60_000 });
    }));
    KERNELS.forEach((k, i) => qemu.set(k.name, results[i]));
  });

  for (const k of KERNELS) it(`${k.name} prints the same line and exits with the same status as on vtscope`, () => {
    const q = qemu.get(k.name)!, native = nativeRuns.get(k.name)!;
    expect(q.timedOut).toBe(false);
    expect(q.stdout.toString('latin1')).toBe(native.serial);
    expect(q.status, q.stderr).toBe(native.result.exitCode);
  });
});

// Under the VMM the kernels run with fewer iterations than their defaults (which `vtscope
// compare` uses): two runs that differ only in ITERATIONS, with as many digits, print lines of
// the same length, so the events of setup and output cancel and the difference between the
// runs is the loop's.
const FEW = 1000, MANY = 2000;
const sized = new Map<string, Run>();

/** One run per kernel, configuration and size, shared by the tests that look at it. */
function sizedRun(k: Kernel, config: Config | 'native', n: number): Run {
  const key = `${k.name} ${config} ${n}`;
  let r = sized.get(key);
  if (r === undefined) {
    r = runConfig(config, nasmBuild(k, { ...(config === 'pv' ? PARAVIRT : {}), ITERATIONS: String(n) }));
    sized.set(key, r);
  }
  return r;
}

describe('under the VMM', () => {
  for (const config of ['trap', 'bt', 'hw-shadow', 'hw-ept'] as const) {
    for (const k of KERNELS) it(`${k.name} under ${config} gives native's line, exit status and instruction count`, () => {
      const native = sizedRun(k, 'native', MANY), r = sizedRun(k, config, MANY);
      expect(native.serial).toBe(expectedLine(k, MANY));
      expect(r.serial).toBe(native.serial);
      expect(r.result.exitCode, r.result.message).toBe(native.result.exitCode);
      expect(r.result.instructions).toBe(native.result.instructions);
      // None of the kernels executes a sensitive but unprivileged instruction.
      expect(r.vmm.holes.list()).toEqual([]);
    });
  }

  for (const k of KERNELS.filter(hasPvBuild)) it(`${k.name} built with PARAVIRT gives native's line and exit status under pv`, () => {
    const native = sizedRun(k, 'native', MANY), pv = sizedRun(k, 'pv', MANY);
    expect(pv.serial).toBe(native.serial);
    expect(pv.result.exitCode, pv.result.message).toBe(native.result.exitCode);
  });
});

describe('VMM events per iteration, known by construction', () => {
  const cases = KERNELS.flatMap((k) => (Object.entries(k.events) as [Config, LoopEvents][]).map(([config, loop]) => ({ k, config, loop })));

  for (const { k, config, loop } of cases) it(`${k.name} under ${config}`, () => {
    const a = counts(sizedRun(k, config, FEW).vmm), b = counts(sizedRun(k, config, MANY).vmm);
    const loopEvents: Record<string, number> = {};
    for (const reason of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = (b[reason] ?? 0) - (a[reason] ?? 0);
      if (d !== 0 && !(loop.free ?? []).includes(reason)) loopEvents[reason] = d;
    }
    expect(loopEvents).toEqual(Object.fromEntries(Object.entries(loop.perIteration).map(([r, n]) => [r, n * (MANY - FEW)])));
  });

  it('under hw with shadow paging every guest page fault exits: at least one #PF exit per pgfault round', () => {
    const pgfault = KERNELS.find((k) => k.name === 'pgfault')!;
    expect(counts(sizedRun(pgfault, 'hw-shadow', FEW).vmm).EXCEPTION_NMI).toBeGreaterThanOrEqual(FEW);
  });
});
