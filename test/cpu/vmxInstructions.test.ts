// The VMX instructions in VMX root operation and outside it, executed as x86 code (nasm
// assembles them): their #UD and #GP conditions, VMsucceed / VMfailInvalid / VMfailValid
// (SDM Vol. 3C, 30.2), and every VM-instruction error number of the fact sheet's section 4
// provoked by the situation the SDM names for it.

import { describe, expect, it } from 'vitest';
import type { Cpu } from '../../src/cpu/cpu';
import { QEMU32 } from '../../src/cpu/cpuid';
import { CR0_NE, CR4_VMXE } from '../../src/cpu/registers';
import { vmwrite } from '../../src/cpu/vmx/index';
import { nasm } from '../support/nasm';
import { makeCpu } from './harness';
import {
  DATA, GUEST_CODE, makeVmxCpu, NOT_A_VMCS, runAsm, validVmcs, VMCS_A, VMCS_B, vmxStatus, VMXON_REGION,
} from './vmxHarness';

const UD = 6, GP = 13;

/** 64-bit pointer operands, jumped over. */
const POINTERS = `
jmp start
p_vmxon: dq ${VMXON_REGION}
p_a: dq ${VMCS_A}
p_b: dq ${VMCS_B}
p_bad_rev: dq ${NOT_A_VMCS}
p_unaligned: dq ${VMCS_A + 0x10}
p_above_4g: dq 0x100000000 + ${VMCS_A}
start:
`;

/** Runs `body` after the pointers; then ESI = EFLAGS right after it and EDI = VM_INSTRUCTION_ERROR (VMREAD 4400H). */
function attempt(cpu: Cpu, setup: string, instruction: string): { status: string; error: number; fault?: number } {
  const r = runAsm(cpu, `${POINTERS}\n${setup}\n${instruction}\npushfd\npop esi\nmov edi, -1\nmov eax, 0x4400\nvmread edi, eax`);
  return { status: vmxStatus(r.esi), error: r.edi, fault: r.fault };
}

const ON = 'vmxon [p_vmxon]';
const ON_WITH_VMCS = `${ON}\nvmclear [p_a]\nvmptrld [p_a]`;

/** A launchable current VMCS A whose guest executes CPUID (which always exits) at GUEST_CODE. */
function launchable(cpu: Cpu): void {
  runAsm(cpu, `${POINTERS}\n${ON_WITH_VMCS}`);
  for (const [f, v] of validVmcs(cpu, { guestRip: GUEST_CODE, hostRip: 0 })) vmwrite(cpu, f, v);
  cpu.bus.ram.set(nasm(`bits 32\ncpuid\nhlt\n`), GUEST_CODE);
}

/** VMLAUNCH with HOST_RIP at the label `exited`, then `after` (which runs on the host after the CPUID exit). */
function launchThen(after: string): string {
  return `mov eax, 0x6c16\nmov ebx, exited\nvmwrite eax, ebx\nvmlaunch\nhlt\nexited:\n${after}`;
}

describe('VMXON (SDM Vol. 3C, 30.3 VMXON "Operation")', () => {
  it('enters VMX operation with VMsucceed: all six status flags clear', () => {
    const cpu = makeVmxCpu();
    expect(attempt(cpu, '', ON).status).toBe('succeed');
    expect(cpu.vmx.on).toBe(true);
  });

  it('is #UD with CR4.VMXE clear', () => {
    const cpu = makeVmxCpu();
    cpu.cr4 &= ~CR4_VMXE;
    expect(attempt(cpu, '', ON).fault).toBe(UD);
  });

  it('is #UD with a register operand (0F C7 /6 with mod = 3 is not VMXON)', () => {
    expect(attempt(makeVmxCpu(), '', 'db 0xf3, 0x0f, 0xc7, 0xf0').fault).toBe(UD);
  });

  it('is #GP(0) unless IA32_FEATURE_CONTROL is locked with VMXON outside SMX enabled', () => {
    const cpu = makeVmxCpu();
    cpu.msrBank.featureControl = 1;   // locked, VMXON disabled
    expect(attempt(cpu, '', ON).fault).toBe(GP);
  });

  it('is #GP(0) with CR0.NE clear: CR0 must hold the bits of IA32_VMX_CR0_FIXED0', () => {
    const cpu = makeVmxCpu();
    cpu.cr0 &= ~CR0_NE;
    expect(attempt(cpu, '', ON).fault).toBe(GP);
  });

  it('is VMfailInvalid (CF) for a region without the VMCS revision identifier, and for an unaligned or >4 GiB pointer', () => {
    for (const p of ['p_bad_rev', 'p_unaligned', 'p_above_4g']) {
      const cpu = makeVmxCpu();
      expect(attempt(cpu, '', `vmxon [${p}]`).status, p).toBe('failInvalid');
      expect(cpu.vmx.on).toBe(false);
    }
  });

  it('in VMX root operation: VMfailValid with error 15 when a VMCS is current, VMfailInvalid when none is', () => {
    expect(attempt(makeVmxCpu(), ON_WITH_VMCS, ON)).toMatchObject({ status: 'failValid', error: 15 });
    expect(attempt(makeVmxCpu(), ON, ON).status).toBe('failInvalid');
  });
});

describe('VMfailInvalid and VMfailValid (SDM Vol. 3C, 30.2)', () => {
  it('VMCLEAR of an invalid address: CF=1 ZF=0 with no current VMCS, ZF=1 CF=0 and error 2 in field 4400 with one', () => {
    expect(attempt(makeVmxCpu(), ON, 'vmclear [p_unaligned]').status).toBe('failInvalid');
    expect(attempt(makeVmxCpu(), ON_WITH_VMCS, 'vmclear [p_unaligned]')).toMatchObject({ status: 'failValid', error: 2 });
  });

  it('VMREAD and VMWRITE without a current VMCS are VMfailInvalid', () => {
    expect(attempt(makeVmxCpu(), ON, 'mov eax, 0x6800\nvmread ebx, eax').status).toBe('failInvalid');
    expect(attempt(makeVmxCpu(), ON, 'mov eax, 0x6800\nvmwrite eax, ebx').status).toBe('failInvalid');
  });

  it('VMCLEAR of the current VMCS leaves none current (VMCLEAR "Operation")', () => {
    expect(attempt(makeVmxCpu(), `${ON_WITH_VMCS}\nvmclear [p_a]`, 'mov eax, 0x6800\nvmread ebx, eax').status).toBe('failInvalid');
  });
});

describe('VM-instruction errors (fact sheet section 4; SDM Vol. 3C, table 30-1)', () => {
  it('1: VMCALL in VMX root operation', () => {
    expect(attempt(makeVmxCpu(), ON_WITH_VMCS, 'vmcall')).toMatchObject({ status: 'failValid', error: 1 });
  });

  it('2: VMCLEAR with an invalid physical address (not 4-KiB aligned, or beyond 32 bits)', () => {
    expect(attempt(makeVmxCpu(), ON_WITH_VMCS, 'vmclear [p_unaligned]').error).toBe(2);
    expect(attempt(makeVmxCpu(), ON_WITH_VMCS, 'vmclear [p_above_4g]').error).toBe(2);
  });

  it('3: VMCLEAR with the VMXON pointer', () => {
    expect(attempt(makeVmxCpu(), ON_WITH_VMCS, 'vmclear [p_vmxon]')).toMatchObject({ status: 'failValid', error: 3 });
  });

  it('4: VMLAUNCH with a non-clear (launched) VMCS', () => {
    const cpu = makeVmxCpu();
    launchable(cpu);
    expect(attempt(cpu, '', launchThen('vmlaunch'))).toMatchObject({ status: 'failValid', error: 4 });
  });

  it('5: VMRESUME with a non-launched (clear) VMCS', () => {
    const cpu = makeVmxCpu();
    launchable(cpu);
    expect(attempt(cpu, '', 'vmresume')).toMatchObject({ status: 'failValid', error: 5 });
  });

  it('6: VMRESUME after VMXOFF: the VMCS was launched before a VMXOFF/VMXON pair', () => {
    const cpu = makeVmxCpu();
    launchable(cpu);
    const r = attempt(cpu, '', launchThen('vmxoff\nvmxon [p_vmxon]\nvmptrld [p_a]\nvmresume'));
    expect(r).toMatchObject({ status: 'failValid', error: 6 });
  });

  it('7: VM entry with invalid control fields (pin-based controls without their default1 bits)', () => {
    const cpu = makeVmxCpu();
    launchable(cpu);
    vmwrite(cpu, 0x4000, 0);
    expect(attempt(cpu, '', 'vmlaunch')).toMatchObject({ status: 'failValid', error: 7 });
    expect(cpu.vmx.entryFailure).toMatch(/pin-based/);
  });

  it('8: VM entry with invalid host-state fields (host CR0 without PG, IA32_VMX_CR0_FIXED0)', () => {
    const cpu = makeVmxCpu();
    launchable(cpu);
    vmwrite(cpu, 0x6c00, cpu.cr0 & 0x7fffffff);
    expect(attempt(cpu, '', 'vmlaunch')).toMatchObject({ status: 'failValid', error: 8 });
  });

  it('9: VMPTRLD with an invalid physical address', () => {
    expect(attempt(makeVmxCpu(), ON_WITH_VMCS, 'vmptrld [p_unaligned]')).toMatchObject({ status: 'failValid', error: 9 });
  });

  it('10: VMPTRLD with the VMXON pointer', () => {
    expect(attempt(makeVmxCpu(), ON_WITH_VMCS, 'vmptrld [p_vmxon]')).toMatchObject({ status: 'failValid', error: 10 });
  });

  it('11: VMPTRLD of a region with the wrong VMCS revision identifier', () => {
    expect(attempt(makeVmxCpu(), ON_WITH_VMCS, 'vmptrld [p_bad_rev]')).toMatchObject({ status: 'failValid', error: 11 });
  });

  it('12: VMREAD/VMWRITE of an unsupported component (no such field; high access of a 32-bit field; bits 31:15 set)', () => {
    for (const field of [0x2012, 0x4001, 0x6801, 0x10000 | 0x6800]) {
      expect(attempt(makeVmxCpu(), ON_WITH_VMCS, `mov eax, ${field}\nvmread ebx, eax`).error, field.toString(16)).toBe(12);
      expect(attempt(makeVmxCpu(), ON_WITH_VMCS, `mov eax, ${field}\nvmwrite eax, ebx`).error, field.toString(16)).toBe(12);
    }
  });

  it('13: VMWRITE to a read-only component (VM-exit information fields; IA32_VMX_MISC bit 29 is 0)', () => {
    for (const field of [0x4400, 0x4402, 0x6400, 0x2400, 0x2401]) {
      expect(attempt(makeVmxCpu(), ON_WITH_VMCS, `mov eax, ${field}\nvmwrite eax, ebx`).error, field.toString(16)).toBe(13);
    }
  });

  it('15: VMXON in VMX root operation', () => {
    expect(attempt(makeVmxCpu(), ON_WITH_VMCS, ON).error).toBe(15);
  });

  it('26: VM entry with events blocked by MOV SS (VMLAUNCH right after MOV SS)', () => {
    const cpu = makeVmxCpu();
    launchable(cpu);
    expect(attempt(cpu, '', 'mov ax, ss\nmov ss, ax\nvmlaunch')).toMatchObject({ status: 'failValid', error: 26 });
  });

  it('28 cannot arise: INVEPT (66 0F 38 80) is not supported, so it is #UD and IA32_VMX_EPT_VPID_CAP reports neither INVEPT nor INVVPID', () => {
    const cpu = makeVmxCpu();
    expect(attempt(cpu, ON_WITH_VMCS, 'invept eax, [p_a]').fault).toBe(UD);
    const cap = runAsm(makeVmxCpu(), 'mov ecx, 0x48c\nrdmsr');
    expect(cap.eax & (1 << 20)).toBe(0);   // bit 20: INVEPT
    expect(cap.edx & 1).toBe(0);           // bit 32: INVVPID
  });
});

describe('VMREAD and VMWRITE (SDM Vol. 3C, 24.11.2)', () => {
  it('16-bit fields keep bits 15:0; 32-bit and natural-width fields all 32 bits', () => {
    const r = runAsm(makeVmxCpu(), `${POINTERS}\n${ON_WITH_VMCS}
      mov eax, 0x0802
      mov ebx, 0xabcd1234
      vmwrite eax, ebx
      vmread ecx, eax
      mov eax, 0x6800
      mov ebx, 0x80000031
      vmwrite eax, ebx
      vmread edx, eax`);
    expect(r.ecx).toBe(0x1234);
    expect(r.edx).toBe(0x80000031);
  });

  it('a 64-bit field: the full encoding writes bits 31:0 and clears 63:32; encoding + 1 reaches bits 63:32', () => {
    const r = runAsm(makeVmxCpu(), `${POINTERS}\n${ON_WITH_VMCS}
      mov eax, 0x2011
      mov ebx, 0x11223344
      vmwrite eax, ebx
      vmread esi, eax
      mov eax, 0x2010
      mov ebx, 0x55667788
      vmwrite eax, ebx
      vmread ecx, eax
      mov eax, 0x2011
      vmread edx, eax`);
    expect(r.esi).toBe(0x11223344);
    expect(r.ecx).toBe(0x55667788);
    expect(r.edx).toBe(0);
  });

  it('memory operands: VMWRITE reads its source, VMREAD writes its destination; VMCS data survives VMCLEAR and VMPTRLD', () => {
    const r = runAsm(makeVmxCpu(), `${POINTERS}\n${ON_WITH_VMCS}
      mov dword [${DATA}], 0xcafe0000
      mov eax, 0x681e
      vmwrite eax, [${DATA}]
      vmclear [p_a]
      vmclear [p_b]
      vmptrld [p_b]
      vmptrld [p_a]
      vmread [${DATA + 4}], eax
      mov ecx, [${DATA + 4}]`);
    expect(r.ecx).toBe(0xcafe0000);
  });

  it('VM-exit information fields are readable (VM_INSTRUCTION_ERROR after a failure)', () => {
    expect(attempt(makeVmxCpu(), ON_WITH_VMCS, 'vmptrld [p_bad_rev]').error).toBe(11);
  });
});

describe('VMPTRST, VMXOFF and the #UD outside VMX operation (SDM Vol. 3C, chapter 30)', () => {
  it('VMPTRST stores the current-VMCS pointer, all ones when there is none', () => {
    const r = runAsm(makeVmxCpu(), `${POINTERS}\n${ON}
      vmptrst [${DATA}]
      vmptrld [p_b]
      vmptrst [${DATA + 8}]
      mov eax, [${DATA}]
      mov ebx, [${DATA + 4}]
      mov ecx, [${DATA + 8}]
      mov edx, [${DATA + 12}]`);
    expect([r.eax, r.ebx, r.ecx, r.edx]).toEqual([0xffffffff, 0xffffffff, VMCS_B, 0]);
  });

  it('VMCLEAR, VMPTRLD, VMPTRST, VMREAD, VMWRITE, VMLAUNCH, VMRESUME, VMXOFF and VMCALL are #UD outside VMX operation', () => {
    for (const insn of ['vmclear [p_a]', 'vmptrld [p_a]', 'vmptrst [p_a]', 'vmread eax, ebx', 'vmwrite eax, ebx',
      'vmlaunch', 'vmresume', 'vmxoff', 'vmcall']) {
      expect(attempt(makeVmxCpu(), '', insn).fault, insn).toBe(UD);
    }
  });

  it('VMXOFF leaves VMX operation with VMsucceed; afterwards CR4.VMXE can be cleared, before it #GP(0) (IA32_VMX_CR4_FIXED0)', () => {
    const cpu = makeVmxCpu();
    expect(attempt(cpu, ON, 'mov eax, cr4\nand eax, ~0x2000\nmov cr4, eax').fault).toBe(GP);
    const cpu2 = makeVmxCpu();
    const r = runAsm(cpu2, `${POINTERS}\n${ON}\nvmxoff\npushfd\npop esi\nmov eax, cr4\nand eax, ~0x2000\nmov cr4, eax`);
    expect(r.fault).toBeUndefined();
    expect(vmxStatus(r.esi)).toBe('succeed');
    expect(cpu2.vmx.on).toBe(false);
    expect(cpu2.cr4 & CR4_VMXE).toBe(0);
  });

  it('in VMX operation CR0.PG and CR0.NE cannot be cleared (IA32_VMX_CR0_FIXED0 = PE | NE | PG)', () => {
    expect(attempt(makeVmxCpu(), ON, 'mov eax, cr0\nand eax, 0x7fffffff\nmov cr0, eax').fault).toBe(GP);
    expect(attempt(makeVmxCpu(), ON, 'mov eax, cr0\nand eax, ~0x20\nmov cr0, eax').fault).toBe(GP);
  });
});

describe('VMX capability reporting (SDM Vol. 3C, appendix A; Vol. 2A CPUID)', () => {
  it('QEMU32_VMX reports VMX in CPUID.01H:ECX bit 5; qemu32 does not and has no IA32_VMX_BASIC (#GP)', () => {
    expect(runAsm(makeVmxCpu(), 'mov eax, 1\ncpuid').ecx & (1 << 5)).toBe(1 << 5);
    const plain = makeCpu();
    plain.model = QEMU32;
    expect(runAsm(plain, 'mov eax, 1\ncpuid').ecx & (1 << 5)).toBe(0);
    expect(runAsm(plain, 'mov ecx, 0x480\nrdmsr').fault).toBe(GP);
  });

  it('IA32_VMX_BASIC: revision in 30:0, 4096-byte regions (44:32), 32-bit addresses (48), write-back (53:50), TRUE MSRs (55)', () => {
    const r = runAsm(makeVmxCpu(), 'mov ecx, 0x480\nrdmsr');
    expect(r.eax >>> 31).toBe(0);
    expect(r.edx & 0x1fff).toBe(0x1000);
    expect((r.edx >>> 16) & 1).toBe(1);
    expect((r.edx >>> 18) & 0xf).toBe(6);
    expect((r.edx >>> 23) & 1).toBe(1);
  });

  it('control MSRs report the default1 bits as must-be-1 (A.3-A.5): pin 16H, processor-based 0401E172H, exit 00036DFFH, entry 000011FFH', () => {
    const read = (msr: number) => runAsm(makeVmxCpu(), `mov ecx, ${msr}\nrdmsr`);
    expect(read(0x481).eax).toBe(0x16);
    expect(read(0x482).eax).toBe(0x0401e172);
    expect(read(0x483).eax).toBe(0x00036dff);
    expect(read(0x484).eax).toBe(0x000011ff);
    // The TRUE processor-based MSR lets CR3-load and CR3-store exiting (bits 15, 16) be 0.
    expect(read(0x48e).eax).toBe(0x0401e172 & ~0x18000);
    // No IA-32e: "host address-space size" (exit bit 9) and "IA-32e mode guest" (entry bit 9) cannot be 1.
    expect(read(0x483).edx & (1 << 9)).toBe(0);
    expect(read(0x484).edx & (1 << 9)).toBe(0);
  });

  it('CR0_FIXED0 is PE | NE | PG, CR4_FIXED0 is VMXE, and the capability MSRs are read-only (#GP on WRMSR)', () => {
    expect(runAsm(makeVmxCpu(), 'mov ecx, 0x486\nrdmsr').eax).toBe(0x80000021);
    expect(runAsm(makeVmxCpu(), 'mov ecx, 0x488\nrdmsr').eax).toBe(0x2000);
    expect(runAsm(makeVmxCpu(), 'mov ecx, 0x480\nxor eax, eax\nxor edx, edx\nwrmsr').fault).toBe(GP);
  });
});
