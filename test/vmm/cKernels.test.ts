/**
 * The C kernels built by GCC (samples/apic-timer, samples/processes) against QEMU 7.2 and in
 * every mode that runs an unmodified kernel: the same serial bytes and exit status as
 * `qemu-system-i386 -kernel` (with `-drive` for the disk kernel, each machine given its own
 * copy of one generated image, compared byte for byte afterwards) under native, bt and hw
 * with EPT and shadow paging; under hw with EPT, the APIC registers reached through EPT
 * violations (exit 48) and the IDE registers through I/O exits (exit 30), counted exactly.
 *
 * Independent truth besides QEMU: the linear congruential generator, the block sums and the
 * block process 2 writes are computed here; the APIC and IDE access counts follow from the
 * kernels' source (each volatile access is one MOV, each ATA data word one IN or OUT), and
 * the hw counts equal what the devices saw on the bare machine.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSamples } from '../../scripts/samples.mjs';
import { Disk, memoryBacking, SECTOR_SIZE } from '../../src/machine/disk';
import type { AccessSize } from '../../src/cpu/bus';
import { createVmm, type ModeName, type VmmRunResult } from '../../src/vmm/vmm';
import type { MemVirtName } from '../../src/vmm/hw/memoryVirtualization';
import { qemuAvailable } from '../support/qemu';
import { runQemuProbe, type QemuProbeResult } from '../support/qemuDevices';

const LAPIC_PAGE = 0xfee00, IOAPIC_PAGE = 0xfec00;
const isIdePort = (port: number): boolean => port >= 0x1f0 && port <= 0x1f7;
const SECTORS = 64;
const TEXT = (s: number): string => `sector ${s} of the test disk`;

/** Sector s: its text, a zero, then byte k = (7s + k) mod 256. */
function diskImage(): Uint8Array {
  const bytes = new Uint8Array(SECTORS * SECTOR_SIZE);
  for (let s = 0; s < SECTORS; s++) {
    const sector = bytes.subarray(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE);
    for (let k = 0; k < SECTOR_SIZE; k++) sector[k] = (7 * s + k) & 0xff;
    sector.set(Buffer.from(TEXT(s), 'latin1'));
    sector[TEXT(s).length] = 0;
  }
  return bytes;
}

const sum = (bytes: Uint8Array): number => bytes.reduce((a, b) => a + b, 0);
const hex = (v: number): string => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;

/** user.c's loop: x = x * 1103515245 + 12345 (mod 2^32), 200000 times from the pid. */
function lcg(pid: number): number {
  let x = pid;
  for (let i = 0; i < 200_000; i++) x = (Math.imul(x, 1103515245) + 12345) >>> 0;
  return x;
}

/** The block process 2 writes (user.c write_block_8): its text, then byte k = 3k mod 256. */
function block8(block2Sum: number): Uint8Array {
  const text = `written by process 2, block 2 sums to ${hex(block2Sum)}`;
  return Uint8Array.from({ length: SECTOR_SIZE }, (_, k) => (k < text.length ? text.charCodeAt(k) : (3 * k) & 0xff));
}

interface Run {
  serial: string;
  result: VmmRunResult;
  /** The disk afterwards, the guest's writes applied to the original. */
  disk?: Uint8Array;
  /** On the bare machine: accesses the devices saw. Under hw: the exits that carried them. */
  apic: { lapic: number; ioapic: number };
  ide: { all: number; data: number };
  /** The virtualization holes the VMM found (trap). */
  holes: { instruction: string; count: number; effect: string }[];
  /** Under hw: the qualifications of the exits to the APICs and the IDE registers. */
  samples: string[];
}

function run(image: Uint8Array, mode: ModeName, memVirt: MemVirtName, disk?: Uint8Array): Run {
  const vmm = createVmm(mode, { memVirt });
  const m = vmm.machine;
  let serial = '';
  m.onSerialOutput = (b) => { serial += String.fromCharCode(b); };
  const attached = disk === undefined ? undefined : new Disk(memoryBacking(disk));
  if (attached !== undefined) m.attachDisk(attached);
  const apic = { lapic: 0, ioapic: 0 }, ide = { all: 0, data: 0 };
  const samples: string[] = [];
  const countMmio = (address: number): void => {
    if (address >>> 12 === LAPIC_PAGE) apic.lapic++;
    if (address >>> 12 === IOAPIC_PAGE) apic.ioapic++;
  };
  const countPort = (port: number): void => {
    if (isIdePort(port)) ide.all++;
    if (port === 0x1f0) ide.data++;
  };
  if (mode === 'native') {
    // What the devices see: every access the CPU makes through the machine's buses.
    const { mmioRead, mmioWrite, ioRead, ioWrite } = m;
    m.mmioRead = (a: number, s: AccessSize) => { countMmio(a); return mmioRead.call(m, a, s); };
    m.mmioWrite = (a: number, s: AccessSize, v: number) => { countMmio(a); mmioWrite.call(m, a, s, v); };
    m.ioRead = (p: number, s: AccessSize) => { countPort(p); return ioRead.call(m, p, s); };
    m.ioWrite = (p: number, s: AccessSize, v: number) => { countPort(p); ioWrite.call(m, p, s, v); };
  } else if (mode === 'hw') {
    vmm.log.onRecord = (reason, seq) => {
      if (reason.number !== 48 && reason.number !== 30) return;
      const { qualification } = vmm.log.records(seq, 1)[0];
      const address = Number((reason.number === 48 ? /GPA (0x[0-9a-f]+)/ : /[a-z]+=(0x[0-9a-f]+)/).exec(qualification)?.[1]);
      if (reason.number === 48) countMmio(address); else countPort(address);
      const device = reason.number === 48 ? [LAPIC_PAGE, IOAPIC_PAGE].includes(address >>> 12) : isIdePort(address);
      if (device) samples.push(qualification);
    };
  }
  vmm.load(image);
  const result = vmm.run({ maxInstructions: 50_000_000 });
  let after: Uint8Array | undefined;
  if (disk !== undefined) {
    after = disk.slice();
    for (const [lba, sector] of attached!.changedSectors()) after.set(sector, lba * SECTOR_SIZE);
  }
  const holes = vmm.holes.list().map(({ instruction, count, effect }) => ({ instruction, count, effect }));
  return { serial, result, disk: after, apic, ide, samples, holes };
}

const MODES: [ModeName, MemVirtName][] = [['native', 'ept'], ['bt', 'ept'], ['hw', 'ept'], ['hw', 'shadow']];
const hasQemu = qemuAvailable();
const dir = mkdtempSync(join(tmpdir(), 'vtscope-c-kernels-'));
const images: Record<string, Uint8Array> = {};
const original = diskImage();
let qemuApic: QemuProbeResult | undefined;
let qemuProcesses: QemuProbeResult | undefined;
let qemuDisk: Uint8Array | undefined;

beforeAll(async () => {
  for (const s of buildSamples({ outDir: dir, names: ['apic-timer', 'processes'] })) images[s.name] = new Uint8Array(readFileSync(s.image));
  if (!hasQemu) return;
  const diskPath = join(dir, 'qemu-disk.img');
  writeFileSync(diskPath, original);
  [qemuApic, qemuProcesses] = await Promise.all([
    runQemuProbe(images['apic-timer']),
    runQemuProbe(images.processes, { args: ['-drive', `file=${diskPath},format=raw,if=ide,index=0`] }),
  ]);
  qemuDisk = new Uint8Array(readFileSync(diskPath));
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('samples/apic-timer', () => {
  const runs = new Map<string, Run>();
  const get = (mode: ModeName, memVirt: MemVirtName): Run => {
    const key = `${mode}/${memVirt}`;
    if (!runs.has(key)) runs.set(key, run(images['apic-timer'], mode, memVirt));
    return runs.get(key)!;
  };

  it('finds the MP tables SeaBIOS leaves and takes every interrupt through the APICs', () => {
    const { serial, result } = get('native', 'ept');
    expect(result.exitCode, result.message).toBe(1);
    // SeaBIOS 1.16 under QEMU 7.2 puts the floating pointer at 0xF5BA0 and the table after it.
    expect(serial).toContain('MP floating pointer at 0x000f5ba0 (BIOS ROM), spec 1.4, virtual wire mode\n');
    expect(serial).toContain('  ISA IRQ -> INTIN: 0->2 1->1 3->3 4->4 6->6 7->7 8->8 12->12 13->13 14->14 15->15\n');
    expect(serial).toContain('interrupts taken: 10 PIT, 10 APIC timer, 1 self-IPI, 0 spurious\n');
  });

  it.skipIf(!hasQemu)('prints what QEMU prints, in every mode', () => {
    expect(qemuApic!.status).toBe(1);
    for (const [mode, memVirt] of MODES) {
      const r = get(mode, memVirt);
      expect(r.serial, `${mode} ${memVirt}`).toBe(qemuApic!.serial);
      expect(r.result.exitCode, `${mode} ${memVirt}: ${r.result.message}`).toBe(qemuApic!.status);
    }
  });

  it('reaches the APICs through EPT violations under hw, one per register access', () => {
    const native = get('native', 'ept'), hw = get('hw', 'ept');
    // kernel.c: local APIC ID, version, SVR, divide, LVT timer, initial count, ICR high and
    // low, 21 EOIs (10 + 10 + 1), the LVT mask at the 10th tick, ESR write and read.
    expect(native.apic.lapic).toBe(32);
    // I/O APIC: version (select + read), the PIT entry's two halves, its mask at the 10th tick.
    expect(native.apic.ioapic).toBe(8);
    expect(hw.apic).toEqual(native.apic);
    expect(hw.samples).toContain('EPT violation write GPA 0xfee000b0: MMIO write of 4 bytes 0x0');
  });
});

describe('samples/processes', () => {
  const runs = new Map<string, Run>();
  const get = (mode: ModeName, memVirt: MemVirtName): Run => {
    const key = `${mode}/${memVirt}`;
    if (!runs.has(key)) runs.set(key, run(images.processes, mode, memVirt, original));
    return runs.get(key)!;
  };
  const block = (s: number): Uint8Array => original.subarray(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE);

  it('runs three processes in ring 3 that compute, keep private pages, use the disk, and one that faults', () => {
    const { serial, result, disk } = get('native', 'ept');
    expect(result.exitCode, result.message).toBe(1);
    for (const pid of [1, 2, 3]) {
      expect(serial).toContain(`process ${pid}: exit code ${pid === 3 ? -1 : pid}, preempted by the timer\n` +
        `  computed: LCG from the pid after 200000 steps = ${hex(lcg(pid))}\n` +
        `  private page at 0x40000000 holds ${hex(pid * 0x11111111)}\n` +
        `  block ${pid} says "${TEXT(pid)}", sums to ${hex(sum(block(pid)))}\n`);
    }
    // A user-mode read of a present supervisor page: #PF with error code P | U = 5 (SDM Vol. 3A, 4.7).
    expect(serial).toMatch(/ {2}killed: exception 0x0000000e at EIP 0x[0-9a-f]{8}, page fault at 0x00100000 error code 0x00000005\n/);
    const written = block8(sum(block(2)));
    expect(disk!.subarray(8 * SECTOR_SIZE, 9 * SECTOR_SIZE)).toEqual(written);
    expect(serial).toContain(`kernel: block 8 now begins "written by process 2, block 2 sums to ${hex(sum(block(2)))}"\n`);
    // Nothing else on the disk changed.
    expect([...disk!.keys()].filter((k) => disk![k] !== original[k] && (k >> 9) !== 8)).toEqual([]);
  });

  it.skipIf(!hasQemu)('prints what QEMU prints and leaves the same disk, in every mode', () => {
    expect(qemuProcesses!.status).toBe(1);
    for (const [mode, memVirt] of MODES) {
      const r = get(mode, memVirt);
      expect(r.serial, `${mode} ${memVirt}`).toBe(qemuProcesses!.serial);
      expect(r.result.exitCode, `${mode} ${memVirt}: ${r.result.message}`).toBe(qemuProcesses!.status);
      expect(Buffer.from(r.disk!).equals(Buffer.from(qemuDisk!)), `${mode} ${memVirt}: disk image`).toBe(true);
    }
  });

  it('is never preempted under trap: IRET at CPL 1 > IOPL 0 cannot set IF (SDM Vol. 2A, IRET), and nothing traps', () => {
    const trap = run(images.processes, 'trap', 'ept', original);
    const native = get('native', 'ept');
    expect(trap.serial).toBe(native.serial.replaceAll('preempted by the timer', 'never preempted'));
    // The hole, once per process: the IRET that starts it in ring 3 with IF set in its frame.
    expect(trap.holes).toEqual([{ instruction: 'iret', count: 3, effect: 'IRET at CPL 1 dropped a change of IF from 0 to 1' }]);
  });

  it('reaches the IDE registers through I/O exits under hw, one per IN or OUT', () => {
    const native = get('native', 'ept'), hw = get('hw', 'ept');
    // ata.c moves one word per IN or OUT: IDENTIFY, three reads, one write and the kernel's
    // read of block 8 are 6 sectors of 256 words.
    expect(native.ide.data).toBe(6 * 256);
    expect(hw.ide).toEqual(native.ide);
    expect(hw.samples).toContain('OUT dx=0x1f7 size 1 value 0x30');   // WRITE SECTORS
    expect(hw.samples).toContain('OUT dx=0x1f7 size 1 value 0xe7');   // FLUSH CACHE
  });
});
