// VM exits of the `hw` VMM that are known by construction: each kernel executes a known
// number of instructions that exit (fact sheet, section 1, for the reason numbers), and the
// exit log must count exactly those, with the qualification fields of the fact sheet
// (section 3) and the guest ending as it does on the bare emulated PC.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildSamples } from '../../scripts/samples.mjs';
import { QEMU32_VMX } from '../../src/cpu/cpuid';
import { vmread } from '../../src/cpu/vmx/index';
import type { MemVirtName } from '../../src/vmm/hw/memoryVirtualization';
import { vmmReport } from '../../src/vmm/report';
import { createVmm } from '../../src/vmm/vmm';
import { addressOf, counts, kernel, run, type Run } from './support';

/** An exit whose instruction the VMM emulates costs the VM exit and entry plus the emulation (costModel.ts). */
function exitAndEmulation(r: Run): number {
  const c = r.vmm.costs.events;
  return c.vmExitEntry.cycles + c.emulateInstruction.cycles;
}

/** Runs `image` natively and under hw; both must end the same way. */
function hwAgainstNative(image: Uint8Array, memVirt: MemVirtName = 'ept'): { native: Run; hw: Run; c: Record<string, number> } {
  const native = run('native', image);
  const hw = run('hw', image, { memVirt });
  expect(hw.result.exitCode, hw.result.message).toBe(native.result.exitCode);
  expect(hw.result.haltReason).toBe(native.result.haltReason);
  expect(hw.serial).toBe(native.serial);
  expect(hw.result.instructions).toBe(native.result.instructions);
  return { native, hw, c: counts(hw.vmm) };
}

function qualifications(r: Run, reason: string): string[] {
  return r.vmm.log.records().filter((x) => x.reason === reason).map((x) => x.qualification);
}

const EXIT = 'xor eax, eax\n  out 0xf4, al';

describe('CPUID (exit 10)', () => {
  const k = kernel(`
  mov esi, 100
.again:
  mov eax, 1
  cpuid
  dec esi
  jnz .again
  mov [leaf1], eax
  mov [leaf1 + 4], ebx
  mov [leaf1 + 8], ecx
  mov [leaf1 + 12], edx
  ${EXIT}`, `
align 4
leaf1:
  dd 0
  dd 0
  dd 0
  dd 0`);

  it('100 CPUIDs are 100 CPUID exits, each logged with its leaf', () => {
    const { hw, c } = hwAgainstNative(k.image);
    expect(c).toEqual({ CPUID: 100, IO_INSTRUCTION: 1 });
    expect(new Set(qualifications(hw, 'CPUID'))).toEqual(new Set(['CPUID leaf 0x1']));
    const cpuid = addressOf(k.listing, /^\s*cpuid/);
    expect(hw.vmm.log.records().filter((x) => x.reason === 'CPUID').every((x) => x.eip === cpuid && x.cpl === 0)).toBe(true);
    const report = vmmReport(hw.vmm);
    expect(report.exits).toContainEqual({ number: 10, name: 'CPUID', count: 100, cycles: 100 * exitAndEmulation(hw) });
    expect(report.exits).toContainEqual({ number: 30, name: 'IO_INSTRUCTION', count: 1, cycles: exitAndEmulation(hw) });
  });

  it('answers as the qemu32 processor of bare metal, without the VMX bit of the processor the VMM runs on', () => {
    const { native, hw } = hwAgainstNative(k.image);
    expect(hw.vmm.cpu.model).toBe(QEMU32_VMX);
    const at = addressOf(k.listing, /^leaf1:/);
    const regs = (r: Run) => Array.from(new Int32Array(r.vmm.machine.ram.slice(at, at + 16).buffer));
    expect(regs(hw)).toEqual(regs(native));
    expect(regs(hw)[2] & (1 << 5)).toBe(0);   // CPUID.01H:ECX.VMX
  });
});

describe('I/O instructions (exit 30)', () => {
  it('N OUTs to COM1 are N I/O exits, each decoded with port, size and value', () => {
    const { hw, c } = hwAgainstNative(kernel(`
  mov ecx, 50
  mov dx, 0x3f8
  mov al, 'a'
.out:
  out dx, al
  loop .out
  ${EXIT}`).image);
    expect(hw.serial).toBe('a'.repeat(50));
    expect(c).toEqual({ IO_INSTRUCTION: 51 });
    const q = qualifications(hw, 'IO_INSTRUCTION');
    expect(q.slice(0, 50)).toEqual(Array(50).fill('OUT dx=0x3f8 size 1 value 0x61'));
    expect(q[50]).toBe('OUT imm=0xf4 size 1 value 0x0');
  });

  it('the exit qualification has size - 1, direction, string, REP, operand kind and port where the fact sheet puts them', () => {
    const k = kernel(`
  mov dx, 0x3f8
  mov al, 'A'
  out dx, al
  mov dx, 0x500
  mov ax, 0x1234
  out dx, ax
  mov eax, 0x12345678
  out dx, eax
  mov dx, 0x3fd
  in al, dx
  in al, 0x21
  out 0x80, al
  mov esi, text
  mov ecx, 3
  mov dx, 0x3f8
  rep outsb
  mov edi, buffer
  mov ecx, 2
  mov dx, 0x500
  cld
  rep insw
  ${EXIT}`, `
text: db 'xyz'
align 4
buffer: dd 0`);
    const native = run('native', k.image);
    // Read the exit fields the way the VMM does, by their encodings: reason 4402, qualification 6400, length 440C.
    const vmm = createVmm('hw', { memVirt: 'ept' });
    let serial = '';
    vmm.machine.onSerialOutput = (byte) => { serial += String.fromCharCode(byte); };
    vmm.load(k.image);
    const exits: [number, number, number][] = [];
    const handle = vmm.machine.onVmExit!;
    vmm.machine.onVmExit = () => {
      exits.push([vmread(vmm.cpu, 0x4402), vmread(vmm.cpu, 0x6400) >>> 0, vmread(vmm.cpu, 0x440c)]);
      handle();
    };
    const r = vmm.run({ maxInstructions: 1_000_000 });
    expect(r.exitCode).toBe(native.result.exitCode);
    expect(serial).toBe(native.serial);
    expect(serial).toBe('Axyz');
    expect(exits).toEqual([
      [30, 0x03f8_0000, 1],   // OUT DX, AL: size 1, out, DX operand (EE)
      [30, 0x0500_0001, 2],   // OUT DX, AX: size 2 (66 EF)
      [30, 0x0500_0003, 1],   // OUT DX, EAX: size 4 (EF)
      [30, 0x03fd_0008, 1],   // IN AL, DX: bit 3 in (EC)
      [30, 0x0021_0048, 2],   // IN AL, 0x21: bit 6 immediate (E4 21); OUT to port 0x80 passes through
      [30, 0x03f8_0030, 2],   // REP OUTSB: bits 4 string, 5 REP (F3 6E)
      [30, 0x0500_0039, 3],   // REP INSW: size 2, in, string, REP (F3 66 6D)
      [30, 0x00f4_0040, 2],   // OUT 0xF4, AL
    ]);
    const at = addressOf(k.listing, /^buffer:/);
    expect(vmm.machine.ram.slice(at, at + 4)).toEqual(native.vmm.machine.ram.slice(at, at + 4));
    expect(vmm.log.records().map((x) => x.qualification).slice(5, 7)).toEqual(['REP OUTS dx=0x3f8 size 1, 3 elements', 'REP INS dx=0x500 size 2, 2 elements']);
  });
});

/**
 * A GDT of its own (the loader's may be anywhere: its gates need CS 0x08 to exist) and an IDT
 * at `idt` whose every vector goes to `handler`: 32 gates, and the PIC's vector 0x20.
 */
const IDT = `
  lgdt [gdtr]
  jmp 0x08:.cs_reloaded
.cs_reloaded:
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov edi, idt
  mov ecx, 0x21
.gate:
  mov eax, handler
  mov [edi], ax
  mov word [edi + 2], 0x08
  mov word [edi + 4], 0x8e00
  shr eax, 16
  mov [edi + 6], ax
  add edi, 8
  loop .gate
  lidt [idtr]`;
const IDT_DATA = `
align 8
gdt: dq 0, 0x00cf9a000000ffff, 0x00cf92000000ffff
gdtr: dw 3 * 8 - 1
  dd gdt
align 8
idt: times 0x21 dq 0
idtr: dw 0x21 * 8 - 1
  dd idt`;

describe('interrupts: external-interrupt and interrupt-window exits (1, 7), injection on VM entry', () => {
  // The PIC at vectors 0x20-0x27 with only IRQ 0 unmasked; PIT channel 0 in mode 0 (one
  // interrupt at terminal count) after 100 input clocks, about 84 us: well inside the loop,
  // which also outlasts the machine's longest run slice (2^20 instructions), where a bare
  // run notices device events it did not know of when the slice began.
  const k = kernel(`
  ${IDT}
  mov al, 0x11
  out 0x20, al
  mov al, 0x20
  out 0x21, al
  mov al, 0x04
  out 0x21, al
  mov al, 0x01
  out 0x21, al
  mov al, 0xfe
  out 0x21, al
  mov al, 0x30
  out 0x43, al
  mov al, 100
  out 0x40, al
  xor al, al
  out 0x40, al
  mov ecx, 1500000
.spin:
  loop .spin
  sti
  jmp short .after_sti
.after_sti:
  cli
  mov eax, [ticks]
  out 0xf4, al`, `
handler:
  inc dword [ticks]
  mov eax, [esp]
  mov [interrupted_at], eax
  mov al, 0x20
  out 0x20, al
  iret
align 4
ticks: dd 0
interrupted_at: dd 0
${IDT_DATA}`);

  it('an interrupt raised while IF = 0 waits for the window, and arrives after STI and its shadow as on bare metal', () => {
    const { native, hw, c } = hwAgainstNative(k.image);
    expect(hw.result.exitCode).toBe((1 << 1) | 1);
    expect(c.EXTERNAL_INTERRUPT).toBe(1);
    expect(c.INTERRUPT_WINDOW).toBe(1);
    expect(qualifications(hw, 'EXTERNAL_INTERRUPT')).toEqual(['interrupt request at the PIC: the guest has interrupts blocked, interrupt window requested']);
    expect(qualifications(hw, 'INTERRUPT_WINDOW')).toEqual(['window open: vector 0x20 injected']);
    const at = addressOf(k.listing, /^interrupted_at:/);
    const eip = (r: Run) => r.vmm.machine.ram[at] | (r.vmm.machine.ram[at + 1] << 8) | (r.vmm.machine.ram[at + 2] << 16);
    // STI's shadow covers the JMP (2 bytes after the 1-byte STI): the interrupt returns to its target.
    expect(eip(hw)).toBe(eip(native));
    expect(eip(hw)).toBe(addressOf(k.listing, /^\s*sti/) + 3);
  });

  it('a HLT with interrupts enabled idles the vCPU until the PIT interrupts (timer sample: one HLT exit per tick)', () => {
    const outDir = mkdtempSync(join(tmpdir(), 'vtscope-hw-timer-'));
    let image: Uint8Array;
    try {
      image = new Uint8Array(readFileSync(buildSamples({ outDir, names: ['timer'] })[0].image));
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
    const { hw, c } = hwAgainstNative(image);
    expect(c.HLT).toBe(10);
    expect(qualifications(hw, 'HLT').every((q) => /^HLT: vCPU idle for \d+ ns until an interrupt$/.test(q))).toBe(true);
    // 2 exits per byte printed (IN from LSR, OUT to THR), 7 OUTs setting up COM1, 10 for the
    // PICs, 3 for the PIT, an EOI per tick, one IN from LSR that finds the transmitter empty
    // (this machine's UART sends each byte at once) and the OUT to isa-debug-exit.
    expect(c.IO_INSTRUCTION).toBe(2 * hw.serial.length + 7 + 10 + 3 + 10 + 1 + 1);
  });

  it('a HLT with IF = 0 halts the guest for good, as on bare metal', () => {
    const { hw, c } = hwAgainstNative(kernel('cli\n  hlt').image);
    expect(hw.result.haltReason).toBe('halt');
    expect(c).toEqual({ HLT: 1 });
    expect(qualifications(hw, 'HLT')).toEqual(['HLT with no interrupt to come: vCPU halted for good']);
  });
});

describe('triple fault (exit 2)', () => {
  it('ends the run as a triple fault ends it on bare metal', () => {
    const { hw, c } = hwAgainstNative(kernel(`
  lidt [idtr]
  int3`, `
idtr: dw 0
  dd 0`).image);
    expect(hw.result.haltReason).toBe('triple-fault');
    expect(c).toEqual({ TRIPLE_FAULT: 1 });
    expect(hw.result.message).toMatch(/^triple fault at EIP 0x[0-9a-f]{8}: .*\(VM exit 2, TRIPLE_FAULT\)$/);
  });
});

describe('MSRs (exits 31, 32), VMX instructions (18-27), INVD (13)', () => {
  // The #GP and #UD handlers count and step over the 2-byte RDMSR/WRMSR or 3-byte VMCALL.
  const k = kernel(`
  ${IDT}
  mov ecx, 0x1b
  rdmsr
  mov [apic_base], eax
  mov ecx, 0x3a
  rdmsr
  mov ecx, 0x174
  mov eax, 0x08
  xor edx, edx
  wrmsr
  rdmsr
  mov [sysenter_cs], eax
  mov ecx, 0x277
  mov eax, 0x02
  wrmsr
  vmcall
  invd
  mov eax, [faults]
  out 0xf4, al`, `
handler:
  inc dword [faults]
  ; #GP pushes an error code (0): skip the 2-byte MSR instruction; #UD does not: skip VMCALL's 3 bytes.
  cmp dword [esp], 0
  je .gp
  add dword [esp], 3
  iret
.gp:
  add esp, 4
  add dword [esp], 2
  iret
align 4
faults: dd 0
apic_base: dd 0
sysenter_cs: dd 0
${IDT_DATA}`);

  it('gives the guest the MSRs of qemu32: #GP for IA32_FEATURE_CONTROL and a bad PAT, #UD for VMCALL', () => {
    const { native, hw, c } = hwAgainstNative(k.image);
    // #GP for RDMSR 0x3a and WRMSR 0x277 with a reserved memory type, #UD for VMCALL.
    expect(hw.result.exitCode).toBe((3 << 1) | 1);
    expect(c.MSR_READ).toBe(2);        // 0x1b and 0x3a; IA32_SYSENTER_CS passes through
    expect(c.MSR_WRITE).toBe(1);       // 0x277
    expect(c.VMCALL).toBe(1);
    expect(c.INVD).toBe(1);
    expect(qualifications(hw, 'MSR_READ')).toEqual([
      'RDMSR 0x1b (IA32_APIC_BASE) = 0x00000000fee00900',
      'RDMSR 0x3a: not an MSR of qemu32, #GP(0) injected',
    ]);
    expect(qualifications(hw, 'MSR_WRITE')).toEqual(['WRMSR 0x277 (IA32_PAT) = 0x0000000000000002: value refused, #GP(0) injected']);
    expect(qualifications(hw, 'VMCALL')).toEqual(['#UD injected: the guest\'s processor (qemu32) has no VMX']);
    const word = (r: Run, label: RegExp) => { const a = addressOf(k.listing, label); return new DataView(r.vmm.machine.ram.buffer, a, 4).getUint32(0, true); };
    expect(word(hw, /^apic_base:/)).toBe(word(native, /^apic_base:/));
    expect(word(hw, /^sysenter_cs:/)).toBe(8);
  });
});

describe('control registers (exit 28)', () => {
  const k = kernel(`
  ${IDT}
  mov eax, cr0
  or eax, 0x20
  mov cr0, eax
  mov ebx, cr0
  mov [cr0_after], ebx
  mov eax, cr4
  or eax, 0x2000
  mov cr4, eax
  mov eax, 0x200000
  mov cr3, eax
  mov ebx, cr3
  mov [cr3_after], ebx
  invlpg [0x1000]
  mov eax, [faults]
  out 0xf4, al`, `
handler:
  inc dword [faults]
  add esp, 4
  add dword [esp], 3
  iret
align 4
faults: dd 0
cr0_after: dd 0
cr3_after: dd 0
${IDT_DATA}`);

  const word = (r: Run, label: RegExp) => { const a = addressOf(k.listing, label); return new DataView(r.vmm.machine.ram.buffer, a, 4).getUint32(0, true); };

  it('under EPT only host-owned bits exit: CR0.NE set by the guest, CR4.VMXE refused with #GP as qemu32 does', () => {
    const { native, hw, c } = hwAgainstNative(k.image, 'ept');
    expect(hw.result.exitCode).toBe((1 << 1) | 1);   // one #GP: CR4.VMXE is reserved on qemu32
    expect(qualifications(hw, 'CR_ACCESS')).toEqual(['MOV to CR0 from EAX = 0x31', 'MOV to CR4 from EAX = 0x2000: #GP(0) injected']);
    expect(c.INVLPG).toBeUndefined();
    expect(word(hw, /^cr0_after:/)).toBe(word(native, /^cr0_after:/));
    expect(word(hw, /^cr0_after:/)).toBe(0x31);   // PE, ET, NE
    expect(word(hw, /^cr3_after:/)).toBe(0x200000);
  });

  it('under shadow paging CR3 loads and stores and INVLPG exit too', () => {
    const { hw, c } = hwAgainstNative(k.image, 'shadow');
    expect(qualifications(hw, 'CR_ACCESS')).toEqual([
      'MOV to CR0 from EAX = 0x31',
      'MOV to CR4 from EAX = 0x2000: #GP(0) injected',
      'MOV to CR3 from EAX = 0x200000',
      'MOV from CR3 to EBX = 0x200000',
    ]);
    expect(c.INVLPG).toBe(1);
    expect(qualifications(hw, 'INVLPG')).toEqual(['INVLPG 0x1000']);
    expect(word(hw, /^cr3_after:/)).toBe(0x200000);
  });
});

describe('EPT violations (exit 48): device memory emulated on the machine\'s MMIO bus', () => {
  const word = (r: Run, label: RegExp) => { const a = addressOf(k.listing, label); return new DataView(r.vmm.machine.ram.buffer, a, 4).getUint32(0, true); };
  const k = kernel(`
  mov dword [0xfec00000], 0x12345678
  mov eax, [0xfec00000]
  mov [ioapic], eax
  mov byte [0xb8000], 'x'
  movzx eax, word [0xb8000]
  mov [vga], eax
  ${EXIT}`, `
align 4
ioapic: dd 0
vga: dd 0`);

  it('each access to device memory is one EPT violation, decoded and emulated as on bare metal; the CGA text window is memory', () => {
    const { native, hw, c } = hwAgainstNative(k.image, 'ept');
    expect(c.EPT_VIOLATION).toBe(2);
    // The I/O APIC's IOREGSEL keeps 8 bits (82093AA datasheet); the CGA cell reads 'x' on attribute 7.
    expect(qualifications(hw, 'EPT_VIOLATION')).toEqual([
      'EPT violation write GPA 0xfec00000: MMIO write of 4 bytes 0x12345678',
      'EPT violation read GPA 0xfec00000: MMIO read of 4 bytes 0x78',
    ]);
    expect(word(hw, /^ioapic:/)).toBe(0x78);
    expect(word(hw, /^vga:/)).toBe(0x0778);
    for (const label of [/^ioapic:/, /^vga:/]) {
      const a = addressOf(k.listing, label);
      expect(hw.vmm.machine.ram.slice(a, a + 4)).toEqual(native.vmm.machine.ram.slice(a, a + 4));
    }
  });

  it('stops the guest, naming the instruction and the address, on an access it cannot emulate', () => {
    const hw = run('hw', kernel(`
  add dword [0xfec00000], 1
  ${EXIT}`).image, { memVirt: 'ept' });
    expect(hw.result.haltReason).toBe('vmm-stop');
    expect(hw.result.message).toMatch(/MMIO write at guest-physical 0xfec00000 \(EIP 0x[0-9a-f]{8}\) by 'add .*0xfec00000.*': the hw VMM emulates only MOV/);
  });
});

describe('shadow paging (--mem-virt shadow): the paging sample', () => {
  const outDir = mkdtempSync(join(tmpdir(), 'vtscope-hw-paging-'));
  let image: Uint8Array;
  try {
    image = new Uint8Array(readFileSync(buildSamples({ outDir, names: ['paging'] })[0].image));
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }

  it('exits for its CR3, CR0 and CR4 accesses, its two page faults, its two page-table writes and its two INVLPGs', () => {
    const { hw, c } = hwAgainstNative(image, 'shadow');
    const q = qualifications(hw, 'CR_ACCESS');
    expect(q).toHaveLength(4);
    expect(q[0]).toBe('MOV to CR4 from EAX = 0x10');                        // PSE
    expect(q[1]).toMatch(/^MOV to CR3 from EAX = 0x1[0-9a-f]{2}000$/);
    expect(q[2]).toBe('MOV to CR0 from EAX = 0x80010011');                  // PG, WP, ET, PE
    expect(q[3]).toMatch(/^MOV from CR3 to EAX = 0x1[0-9a-f]{2}000$/);
    const faults = qualifications(hw, 'EXCEPTION_NMI');
    // The demand fault (SDM error code 2: not present, write) and the write-protect fault (3:
    // protection, write), as the guest's page tables give them; the exit's own error code is
    // the processor's against the shadow entry, which is not present until the VMM fills it.
    expect(faults.filter((f) => f.includes("the guest's own page fault"))).toEqual([
      '#PF at 0x00801000 error code 0x2: the guest\'s own page fault, injected with error code 0x2',
      expect.stringMatching(/^#PF at 0x001[0-9a-f]{2}000 error code 0x2: the guest's own page fault, injected with error code 0x3$/),
    ]);
    expect(faults.filter((f) => f.includes('write to a guest page table emulated, 1 entry changed'))).toHaveLength(2);
    expect(c.INVLPG).toBe(2);
  });

  it('under EPT the same kernel pages on its own: no CR, #PF or INVLPG exits', () => {
    const { c } = hwAgainstNative(image, 'ept');
    expect(Object.keys(c).sort()).toEqual(['IO_INSTRUCTION']);
  });
});
