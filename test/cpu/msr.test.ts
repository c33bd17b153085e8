// RDMSR and WRMSR (SDM Vol. 2; MSRs in Vol. 4). The registers' reset values and what they keep
// of a write are compared with QEMU 7.2's qemu32: a Multiboot kernel runs one sequence of
// RDMSR/WRMSR/CPUID under QEMU (recorded below, and re-checked live when QEMU is installed)
// and the same sequence runs on vtscope. Faults follow the SDM, where QEMU's TCG differs: it
// reads unknown MSRs as 0 instead of raising #GP(0).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Cpu } from '../../src/cpu/cpu';
import { CPUID_ECX_VMX, CPUID_EDX_MSR, CPUID_EDX_SEP, QEMU32 } from '../../src/cpu/cpuid';
import { CS, DS, ES, ESP, FS, GS, SS } from '../../src/cpu/registers';
import { nasm } from '../support/nasm';
import { qemuAvailable, runQemu } from '../support/qemu';
import { CODE_BASE, execSnippet, makeCpu, type SnippetResult, type SnippetState } from './harness';
import { PUTC } from '../support/guestSerial';

const UD = 6, GP = 13;

interface Outcome extends SnippetResult { errorCode?: number }

function run(cpu: Cpu, source: string, state: SnippetState = {}): Outcome {
  const r: Outcome = execSnippet(nasm(`bits 32\norg ${CODE_BASE}\n${source}\n`), state, cpu);
  if (r.fault === GP) r.errorCode = cpu.readPhys32(cpu.regs[ESP]);
  return r;
}

const hex = (v: number) => (v >>> 0).toString(16).padStart(8, '0');

// ---------------------------------------------------------------- the QEMU comparison

type Step = { rd: number } | { wr: number; edx: number; eax: number } | { cpuidApic: true };

/** Reset values, then writes and what reads back; CPUID.01H:EDX.APIC (bit 9) around IA32_APIC_BASE writes. */
const SEQUENCE: Step[] = [
  { rd: 0x1b }, { rd: 0x8b }, { rd: 0x174 }, { rd: 0x175 }, { rd: 0x176 }, { rd: 0x1a0 }, { rd: 0x277 },
  { wr: 0x174, edx: 0, eax: 0x12345 }, { rd: 0x174 },
  { wr: 0x175, edx: 1, eax: 0x87654321 }, { rd: 0x175 },
  { wr: 0x176, edx: 0, eax: 0xc0001000 }, { rd: 0x176 },
  { wr: 0x1a0, edx: 0x12, eax: 0x34 }, { rd: 0x1a0 },
  { wr: 0x277, edx: 0x00070106, eax: 0x00070106 }, { rd: 0x277 },
  { wr: 0x8b, edx: 0, eax: 0 }, { rd: 0x8b },
  { cpuidApic: true },
  { wr: 0x1b, edx: 0, eax: 0xfee00100 }, { rd: 0x1b }, { cpuidApic: true },
  { wr: 0x1b, edx: 0, eax: 0xfee00900 }, { rd: 0x1b }, { cpuidApic: true },
  { wr: 0x1b, edx: 0, eax: 0xfec00800 }, { rd: 0x1b },
];

/** What QEMU 7.2 (`-cpu qemu32`, TCG) printed for SEQUENCE: "rdmsr N: EDX EAX" and "apic: EDX & 200H". */
const QEMU_72 = `
rdmsr 0000001b: 00000000 fee00900
rdmsr 0000008b: 00000001 00000000
rdmsr 00000174: 00000000 00000000
rdmsr 00000175: 00000000 00000000
rdmsr 00000176: 00000000 00000000
rdmsr 000001a0: 00000000 00000001
rdmsr 00000277: 00070406 00070406
rdmsr 00000174: 00000000 00002345
rdmsr 00000175: 00000000 87654321
rdmsr 00000176: 00000000 c0001000
rdmsr 000001a0: 00000012 00000034
rdmsr 00000277: 00070106 00070106
rdmsr 0000008b: 00000001 00000000
apic: 00000200
rdmsr 0000001b: 00000000 fee00100
apic: 00000000
rdmsr 0000001b: 00000000 fee00100
apic: 00000000
rdmsr 0000001b: 00000000 fec00100
`.trim();

/** SEQUENCE as assembly; `report` is the macro that records EDX:EAX (printing it, or storing it). */
function sequenceSource(): string {
  return SEQUENCE.map((s) => {
    if ('rd' in s) return `mov ecx, 0x${hex(s.rd)}\nrdmsr\nREPORT_MSR 0x${hex(s.rd)}`;
    if ('wr' in s) return `mov ecx, 0x${hex(s.wr)}\nmov edx, 0x${hex(s.edx)}\nmov eax, 0x${hex(s.eax)}\nwrmsr`;
    return 'mov eax, 1\ncpuid\nand edx, 0x200\nREPORT_APIC';
  }).join('\n');
}

/** The kernel that prints SEQUENCE's results on COM1 under QEMU. */
function probeKernel(): Uint8Array {
  return nasm(`bits 32
org 0x100000
%macro REPORT_MSR 1
    push eax
    push edx
    mov esi, s_rdmsr
    call puts
    mov eax, %1
    call put_hex
    mov esi, s_colon
    call puts
    pop eax
    call put_hex
    mov al, ' '
    call putc
    pop eax
    call put_hex
    mov al, 10
    call putc
%endmacro
%macro REPORT_APIC 0
    mov esi, s_apic
    call puts
    mov eax, edx
    call put_hex
    mov al, 10
    call putc
%endmacro
header: dd 0x1badb002, 1 << 16, -(0x1badb002 + (1 << 16)), header, 0x100000, image_end, image_end, start
start:
    mov esp, 0x90000
${sequenceSource()}
    mov al, 0
    out 0xf4, al
    hlt
puts:
    lodsb
    test al, al
    jz .end
    call putc
    jmp puts
.end:
    ret
put_hex:
    push ecx
    push edx
    mov ecx, 8
    mov edx, eax
.digit:
    rol edx, 4
    mov eax, edx
    and eax, 15
    mov al, [digits + eax]
    call putc
    loop .digit
    pop edx
    pop ecx
    ret
${PUTC}
digits: db '0123456789abcdef'
s_rdmsr: db 'rdmsr ', 0
s_colon: db ': ', 0
s_apic: db 'apic: ', 0
image_end:
`);
}

/** SEQUENCE on vtscope: each report stores to a buffer, formatted like the QEMU kernel's lines. */
function vtscopeTranscript(): string {
  const BUF = 0x20000;
  const cpu = makeCpu();
  const r = run(cpu, `
%macro REPORT_MSR 1
    mov dword [edi], %1
    mov [edi + 4], edx
    mov [edi + 8], eax
    add edi, 12
%endmacro
%macro REPORT_APIC 0
    mov dword [edi], -1
    mov [edi + 4], edx
    add edi, 12
%endmacro
    mov edi, ${BUF}
${sequenceSource()}`);
  expect(r.fault).toBeUndefined();
  const lines: string[] = [];
  for (let p = BUF; p < r.edi; p += 12) {
    const [a, b, c] = [0, 4, 8].map((k) => cpu.readPhys32(p + k));
    lines.push(a === -1 ? `apic: ${hex(b)}` : `rdmsr ${hex(a)}: ${hex(b)} ${hex(c)}`);
  }
  return lines.join('\n');
}

describe('MSRs against QEMU 7.2 qemu32', () => {
  it('reset values and what a write keeps equal QEMU\'s: SYSENTER_CS keeps 16 bits, a disabled APIC stays off and clears CPUID.01H:EDX.APIC', () => {
    expect(vtscopeTranscript()).toBe(QEMU_72);
  });

  it('the QEMU kernel itself, run on vtscope\'s machine, prints the recording', async () => {
    const { Machine } = await import('../../src/machine/machine');
    const machine = new Machine({ memoryMiB: 64 });
    const serial: number[] = [];
    machine.onSerialOutput = (byte) => serial.push(byte);
    machine.load(probeKernel(), { fileName: 'msr-probe.bin' });
    const result = machine.run({ maxInstructions: 10_000_000 });
    expect(result.exitCode, result.message).toBe(1);
    expect(Buffer.from(serial).toString('latin1').trim()).toBe(QEMU_72);
  });

  const hasQemu = qemuAvailable();
  it.skipIf(!hasQemu)(`qemu-system-i386 still prints the recording${hasQemu ? '' : ' [skipped: no qemu-system-i386]'}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vtscope-msr-'));
    try {
      const image = join(dir, 'msr.bin');
      writeFileSync(image, probeKernel());
      const result = await runQemu(image);
      expect(result.status, result.stderr).toBe(1);
      expect(result.stdout.toString('latin1').trim()).toBe(QEMU_72);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------- SDM rules

function enterRing3(cpu: Cpu): void {
  cpu.writePhys32(0x3004, 0x8000);
  cpu.writePhys32(0x3008, 0x10);
  cpu.trBase = 0x3000; cpu.trLimit = 0x67; cpu.trAR = 0x8b;
  cpu.setSegmentCache(CS, 0x1b, 0, 0xffff_ffff, 0xc0fb);
  for (const s of [ES, SS, DS, FS, GS]) cpu.setSegmentCache(s, 0x23, 0, 0xffff_ffff, 0xc0f3);
  cpu.setCpl(3);
  cpu.regs[ESP] = 0x7000;
}

describe('RDMSR and WRMSR (SDM Vol. 2)', () => {
  it.each(['rdmsr', 'wrmsr'])('%s at CPL 3 raises #GP(0) — SDM Vol. 2 RDMSR/WRMSR: "#GP(0) if the current privilege level is not 0"', (insn) => {
    const cpu = makeCpu();
    enterRing3(cpu);
    const r = run(cpu, insn, { ecx: 0x174, eax: 0x08, edx: 0 });
    expect([r.fault, r.errorCode, cpu.sysenterCs]).toEqual([GP, 0, 0]);
  });

  // QEMU's TCG answers 0 for all of these; the SDM says #GP(0) for an MSR the processor does not have.
  it.each([
    ['MTRRcap (qemu32 reports no MTRR)', 0xfe],
    ['IA32_MTRR_PHYSBASE0', 0x200],
    ['IA32_MCG_CAP (no MCA)', 0x179],
    ['IA32_FEATURE_CONTROL (no VMX)', 0x3a],
    ['IA32_EFER (no NX, no Intel 64)', 0xc0000080],
    ['an unused number', 0x12345],
  ])('%s: RDMSR and WRMSR raise #GP(0)', (_name, msr) => {
    const cpu = makeCpu();
    for (const insn of ['rdmsr', 'wrmsr']) {
      const r = run(cpu, insn, { ecx: msr, eax: 0, edx: 0 });
      expect([r.fault, r.errorCode]).toEqual([GP, 0]);
    }
  });

  it('WRMSR to IA32_TIME_STAMP_COUNTER sets all 64 bits of the TSC, which RDTSC and RDMSR then count on from', () => {
    const r = run(makeCpu(), `
      mov ecx, 0x10
      mov edx, 1
      mov eax, 0xfffffffe
      wrmsr
      rdtsc                 ; one instruction (the WRMSR) retired since: 1_FFFFFFFFH
      mov esi, eax
      mov edi, edx
      rdmsr                 ; three more: 2_00000002H`);
    expect([r.edi, r.esi]).toEqual([1, 0xffffffff]);
    expect([r.edx, r.eax]).toEqual([2, 2]);
  });

  it.each([
    ['memory type 2 (reserved)', 0x00070206],
    ['memory type 3 (reserved)', 0x03070406],
    ['memory type 8 (reserved)', 0x00080406],
    ['bits 7:3 of an entry set', 0x00070446],
  ])('IA32_PAT with %s raises #GP(0) and keeps its value (SDM Vol. 3A, 11.12.2)', (_what, value) => {
    const cpu = makeCpu();
    const r = run(cpu, 'mov ecx, 0x277\nmov edx, 0x00070406\nwrmsr\nmov esi, 1', { eax: value });
    expect([r.fault, r.errorCode]).toEqual([GP, 0]);
    const back = run(cpu, 'mov ecx, 0x277\nrdmsr');
    expect([back.edx, back.eax]).toEqual([0x00070406, 0x00070406]);
  });

  it.each([
    ['bit 10 (x2APIC enable: no x2APIC)', 0xfee00d00, 0],
    ['bit 0', 0xfee00901, 0],
    ['a base above 4 GiB (MAXPHYADDR is 32)', 0xfee00900, 1],
  ])('IA32_APIC_BASE with %s set raises #GP(0)', (_what, eax, edx) => {
    const cpu = makeCpu();
    const r = run(cpu, 'mov ecx, 0x1b\nwrmsr', { eax, edx });
    expect([r.fault, r.errorCode, cpu.apicBase >>> 0]).toEqual([GP, 0, 0xfee00900]);
  });

  it('IA32_FEATURE_CONTROL exists on a model with VMX: reads 0, takes the lock and VMXON bits, then refuses writes (SDM Vol. 3C, 23.7)', () => {
    const cpu = makeCpu();
    cpu.model = { ...QEMU32, featuresEcx: QEMU32.featuresEcx | CPUID_ECX_VMX };
    expect(run(cpu, 'mov ecx, 0x3a\nrdmsr', { eax: 1, edx: 1 })).toMatchObject({ eax: 0, edx: 0 });
    expect(run(cpu, 'mov ecx, 0x3a\nwrmsr', { eax: 2, edx: 0 }).fault).toBe(GP);   // bit 1 needs SMX
    const locked = run(cpu, 'mov ecx, 0x3a\nwrmsr\nrdmsr', { eax: 5, edx: 0 });
    expect([locked.fault, locked.eax]).toEqual([undefined, 5]);
    expect(run(cpu, 'mov ecx, 0x3a\nwrmsr', { eax: 0, edx: 0 }).fault).toBe(GP);   // locked
  });

  it('without CPUID.01H:EDX.MSR, RDMSR and WRMSR are #UD; without SEP, the SYSENTER MSRs do not exist', () => {
    const cpu = makeCpu();
    cpu.model = { ...QEMU32, featuresEdx: QEMU32.featuresEdx & ~CPUID_EDX_MSR };
    expect(run(cpu, 'rdmsr', { ecx: 0x1b }).fault).toBe(UD);
    cpu.model = { ...QEMU32, featuresEdx: QEMU32.featuresEdx & ~CPUID_EDX_SEP };
    expect(run(cpu, 'rdmsr', { ecx: 0x174 }).fault).toBe(GP);
    expect(run(cpu, 'sysenter').fault).toBe(UD);
  });
});
