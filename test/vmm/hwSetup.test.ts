// The VMCS the `hw` VMM programs and the identity EPT it builds, read back with VMREAD by the
// field encodings and control bits of the fact sheet (section 2) and walked by hand from the
// EPT pointer with the EPT formats of the fact sheet ("Formats").
import { describe, expect, it } from 'vitest';
import type { Cpu } from '../../src/cpu/cpu';
import { vmread } from '../../src/cpu/vmx/index';
import { createVmm, type Vmm } from '../../src/vmm/vmm';
import type { MemVirtName } from '../../src/vmm/hw/memoryVirtualization';
import { addressOf, counts, kernel, run } from './support';

const MIB = 1024 * 1024;
const image = kernel('xor eax, eax\n  out 0xf4, al').image;

function loaded(memVirt: MemVirtName, costModel?: string): Vmm {
  const vmm = createVmm('hw', { memVirt, costModel });
  vmm.load(image);
  return vmm;
}

/**
 * The VMCS fields at the guest's first VM exit, read with VMREAD there (in root operation,
 * before the VMM handles the exit), by encoding.
 */
function atFirstExit(memVirt: MemVirtName): { vmm: Vmm; rd: (field: number) => number } {
  const vmm = loaded(memVirt);
  const fields = new Map<number, number>();
  const handle = vmm.machine.onVmExit!;
  vmm.machine.onVmExit = () => {
    if (fields.size === 0) for (let f = 0; f < 0x7000; f++) {
      try { fields.set(f, vmread(vmm.cpu, f) >>> 0); } catch { /* not a field of this processor */ }
    }
    handle();
  };
  vmm.run({ maxInstructions: 1000 });
  return { vmm, rd: (f) => fields.get(f) ?? NaN };
}

const bit = (n: number) => (1 << n) >>> 0;
const has = (v: number, ...bits: number[]) => bits.every((n) => (v & bit(n)) !== 0);

describe('VMCS programming', () => {
  const { vmm, rd } = atFirstExit('ept');
  const cpu = vmm.cpu;

  it('asks for the exits the VMM handles: external interrupts, HLT, I/O and MSR bitmaps, EPT with the unrestricted guest', () => {
    expect(has(rd(0x4000), 0)).toBe(true);                   // pin-based: external-interrupt exiting
    expect(has(rd(0x4002), 7, 25, 28, 31)).toBe(true);       // HLT, use I/O bitmaps, use MSR bitmaps, secondary
    expect(has(rd(0x4002), 15) || has(rd(0x4002), 16) || has(rd(0x4002), 9)).toBe(false);   // no CR3 or INVLPG exits with EPT
    expect(has(rd(0x401e), 1, 7)).toBe(true);                // secondary: enable EPT, unrestricted guest
    // Exception bitmap: the guest's exceptions are its own, but for #MF (16), which VMX raises
    // even when the guest cleared CR0.NE (NE is fixed to 1 in VMX operation).
    expect(rd(0x4004)).toBe(bit(16));
    expect(has(rd(0x400c), 9) || has(rd(0x4012), 9)).toBe(false);   // 32-bit host, 32-bit guest
  });

  it('owns only what VMX fixes in CR0 and CR4, and shows the guest its own values', () => {
    expect(rd(0x6000)).toBe(bit(5));                         // CR0 guest/host mask: NE
    expect(rd(0x6002)).toBe(bit(13));                        // CR4 guest/host mask: VMXE
    expect(rd(0x6004)).toBe(0x11);                           // CR0 read shadow: PE and ET, as the loader left it
    expect(rd(0x6800)).toBe(0x31);                           // guest CR0: NE on, as VMX requires
    expect(rd(0x6006)).toBe(0);
    expect(rd(0x6804)).toBe(bit(13));
  });

  it('exits on every port but the POST port 0x80, and on every MSR but the three SYSENTER MSRs', () => {
    const ioA = rd(0x2000), ioB = rd(0x2002), msr = rd(0x2004);
    const portExits = (p: number) => ((cpu.ram[(p < 0x8000 ? ioA : ioB) + ((p & 0x7fff) >> 3)] >> (p & 7)) & 1) === 1;
    expect([0x20, 0x40, 0x3f8, 0x3fd, 0xf4, 0x8000, 0xffff].every(portExits)).toBe(true);
    expect(portExits(0x80)).toBe(false);
    const msrExits = (n: number, write: boolean) => ((cpu.ram[msr + (write ? 0x800 : 0) + (n >> 3)] >> (n & 7)) & 1) === 1;
    for (const n of [0x174, 0x175, 0x176]) expect([msrExits(n, false), msrExits(n, true)]).toEqual([false, false]);
    for (const n of [0x10, 0x1b, 0x3a, 0x277, 0x480]) expect([msrExits(n, false), msrExits(n, true)]).toEqual([true, true]);
  });

  it('holds a host state VM entry accepts and the guest state the loader left', () => {
    expect(has(rd(0x6c00), 0, 5, 31)).toBe(true);            // host CR0: PE, NE, PG
    expect(has(rd(0x6c04), 13)).toBe(true);                  // host CR4: VMXE
    expect(rd(0x0c02)).not.toBe(0);                          // host CS
    expect(rd(0x0c0c)).not.toBe(0);                          // host TR
    expect([rd(0x2800), rd(0x2801)]).toEqual([0xffffffff, 0xffffffff]);   // VMCS link pointer
    expect(rd(0x0802)).toBe(0x08);                           // guest CS selector of the Multiboot hand-off
    expect(rd(0x681e)).toBe(0x100020 + 5 + 2);               // guest RIP: the OUT that exited
  });
});

/** Guest-physical -> host-physical through the EPT tables with the leaf's permissions, or undefined. */
function eptWalk(cpu: Cpu, eptp: number, gpa: number): { hpa: number; rwx: number; large: boolean } | undefined {
  const rd = (a: number) => cpu.readPhys32(a) >>> 0;
  let table = (eptp & ~0xfff) >>> 0;
  const shifts = [39, 30, 21, 12];
  for (let level = 0; level < 4; level++) {
    const index = level === 0 ? 0 : Math.floor(gpa / 2 ** shifts[level]) & 511;
    const e = rd(table + index * 8);
    if ((e & 7) === 0) return undefined;
    const leaf = level === 3 || (level === 2 && (e & 0x80) !== 0);
    if (leaf) {
      const pageSize = level === 3 ? 0x1000 : 0x200000;
      return { hpa: ((e & ~(pageSize - 1) & ~0xfff) >>> 0) + (gpa % pageSize), rwx: e & 7, large: level === 2 };
    }
    table = (e & ~0xfff) >>> 0;
  }
  return undefined;
}

describe('identity EPT', () => {
  const { vmm, rd } = atFirstExit('ept');
  const cpu = vmm.cpu;
  const eptp = rd(0x201a);

  it('uses a write-back, 4-level EPT pointer (memory type 6, walk length - 1 = 3)', () => {
    expect(eptp & 7).toBe(6);
    expect((eptp >> 3) & 7).toBe(3);
    expect(rd(0x201b)).toBe(0);
  });

  it('maps guest RAM one to one, read, write and execute, with 2-MiB pages where no hole interrupts it', () => {
    for (const gpa of [0, 0x9f000, 0x100000, 0x1fffff, 0x200000, 0x3ff_ffff]) {
      expect(eptWalk(cpu, eptp, gpa), `GPA ${gpa.toString(16)}`).toMatchObject({ hpa: gpa, rwx: 7 });
    }
    expect(eptWalk(cpu, eptp, 0x200000)?.large).toBe(true);
    expect(eptWalk(cpu, eptp, 0x100000)?.large).toBe(false);   // the first 2 MiB hold the VGA and BIOS hole
  });

  it('leaves out the device holes, the VMM\'s own memory above the guest\'s RAM and the MMIO region', () => {
    for (const gpa of [0xa0000, 0xb7fff, 0xc0000, 0xfffff, 64 * MIB, 64 * MIB + 0x1000, 72 * MIB - 1, 0xfec00000, 0xfee00000]) {
      expect(eptWalk(cpu, eptp, gpa), `GPA ${gpa.toString(16)}`).toBeUndefined();
    }
  });

  it('maps the CGA text window, which is memory, as KVM maps VGA memory', () => {
    expect(eptWalk(cpu, eptp, 0xb8000)).toEqual({ hpa: 0xb8000, rwx: 7, large: false });
    expect(eptWalk(cpu, eptp, 0xbffff)?.hpa).toBe(0xbffff);
  });

  it('keeps the guest out of the VMM\'s memory: a write there is an EPT violation, dropped as on bare metal', () => {
    const k = kernel(`
  mov dword [0x4000000], 0xdeadbeef
  mov eax, [0x4000000]
  mov [seen], eax
  xor eax, eax
  out 0xf4, al`, `
align 4
seen: dd 0`);
    const native = run('native', k.image), hw = run('hw', k.image, { memVirt: 'ept' });
    expect(hw.result.exitCode).toBe(native.result.exitCode);
    expect(counts(hw.vmm).EPT_VIOLATION).toBe(2);
    expect(hw.vmm.cpu.readPhys32(64 * MIB)).toBe(loaded('ept').cpu.readPhys32(64 * MIB));
    const seen = addressOf(k.listing, /^seen:/);
    expect(hw.vmm.cpu.readPhys32(seen)).toBe(native.vmm.cpu.readPhys32(seen));
    expect(hw.vmm.cpu.readPhys32(seen)).toBe(-1);   // nothing there: the bus reads all ones
  });
});

describe('shadow paging controls', () => {
  const { rd } = atFirstExit('shadow');

  it('exits on CR3 loads and stores and INVLPG, puts #PF in the exception bitmap and owns CR0.PG, PE, WP, NE and CR4.PSE', () => {
    expect(has(rd(0x4002), 9, 15, 16)).toBe(true);
    expect(has(rd(0x4002), 31)).toBe(false);                 // no secondary controls: no EPT
    expect(rd(0x4004)).toBe(bit(14) | bit(16));              // #PF, and #MF as under EPT
    expect(rd(0x6000)).toBe((bit(0) | bit(5) | bit(16) | bit(31)) >>> 0);
    expect(rd(0x6002)).toBe((bit(4) | bit(13)) >>> 0);
    expect(has(rd(0x6800), 0, 5, 16, 31)).toBe(true);        // the processor pages, on the shadow tables
    expect(rd(0x6802)).toBeGreaterThanOrEqual(64 * MIB);      // CR3: a shadow root in the VMM's memory
  });
});

describe('exit records', () => {
  it('charge the cost model\'s VM exit and entry, and the emulation, and carry the guest\'s EIP, CPL and decoded qualification', () => {
    const vmm = loaded('ept', 'nehalem-ept');
    vmm.run({ maxInstructions: 1000 });
    const [r] = vmm.log.records();
    expect(r).toMatchObject({
      seq: 0, vcpu: 0, mode: 'hw', kind: 'vm exit', reason: 'IO_INSTRUCTION', cpl: 0,
      cost: 2000 + 100,   // nehalem-ept: exit + entry 2000 (Landau et al. 2011); emulating the OUT, trap round trip 400 / 4
      qualification: 'OUT imm=0xf4 size 1 value 0x0', eip: 0x100020 + 5 + 2,   // after MOV ESP and XOR EAX
    });
  });
});
