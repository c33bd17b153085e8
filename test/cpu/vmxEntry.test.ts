// VM entry (SDM Vol. 3C, chapter 26): the checks on VMX controls (VMfailValid error 7), on the
// host-state area (error 8), and on the guest-state area, whose failure is not a VMfail but a
// VM exit with basic reason 33 and bit 31 set (fact sheet sections 1, 3, 4); MSR loading
// (reason 34); and what a successful entry loads.

import { describe, expect, it } from 'vitest';
import { VMCS, vmlaunch, vmread, vmwrite, VMX_ENTRY_FAILED, VMX_SUCCEED } from '../../src/cpu/vmx/index';
import {
  CODE_BASE, GUEST_CODE, launchGuest, makeVmxCpu, nextExit, runAsm, validVmcs, VMCS_A, vmxStatus, VMXON_REGION,
} from './vmxHarness';

const ENTRY_FAILURE = 0x80000000;
const INVALID_GUEST_STATE = 33, MSR_LOAD_FAIL = 34;

/** Launches `cpu`'s guest with the valid VMCS changed by `fields`; returns the VMLAUNCH status. */
function launchWith(fields: [number, number][]): { status: number; reason: number; qualification: number; why: string } {
  const cpu = makeVmxCpu();
  const status = launchGuest(cpu, 'cpuid', fields);
  return {
    status, reason: vmread(cpu, VMCS.EXIT_REASON) >>> 0, qualification: vmread(cpu, VMCS.EXIT_QUALIFICATION),
    why: cpu.vmx.entryFailure,
  };
}

describe('VM entry with a valid VMCS (SDM Vol. 3C, 26.3.2)', () => {
  it('loads the guest state: the guest runs from GUEST_RIP and CPUID exits with reason 10', () => {
    const cpu = makeVmxCpu();
    expect(launchGuest(cpu, 'mov eax, 0x1234\ncpuid')).toBe(VMX_SUCCEED);
    expect(cpu.vmxNonRoot).toBe(true);
    const exit = nextExit(cpu);
    expect(exit.reason).toBe(10);
    expect(exit.rip).toBe(GUEST_CODE + 5);
    expect(vmread(cpu, VMCS.GUEST_RIP)).toBe(GUEST_CODE + 5);
  });

  it('the CPL comes from SS.DPL: a ring-3 guest (selectors 0x1B/0x23) executing HLT takes #GP, not the HLT exit (SDM Vol. 3C, 25.1.1)', () => {
    const cpu = makeVmxCpu();
    const ring3: [number, number][] = [
      [VMCS.PRIMARY_PROC, 0x0401e172 | (1 << 7)], [VMCS.EXCEPTION_BITMAP, 1 << 13],
      [VMCS.GUEST_CS_SELECTOR, 0x1b], [VMCS.GUEST_CS_AR, 0xc0fb],
      ...[VMCS.GUEST_SS_SELECTOR, VMCS.GUEST_DS_SELECTOR, VMCS.GUEST_ES_SELECTOR].map((f): [number, number] => [f, 0x23]),
      ...[VMCS.GUEST_SS_AR, VMCS.GUEST_DS_AR, VMCS.GUEST_ES_AR].map((f): [number, number] => [f, 0xc0f3]),
    ];
    expect(launchGuest(cpu, 'hlt', ring3)).toBe(VMX_SUCCEED);
    expect(cpu.cpl).toBe(3);
    expect(nextExit(cpu)).toMatchObject({ reason: 0, intrInfo: 0x80000b0d, intrError: 0 });
  });
});

describe('guest-state checks fail as a VM exit with reason 33 | bit 31 (SDM Vol. 3C, 26.3.1 and 26.8)', () => {
  const cases: [string, [number, number][]][] = [
    ['CR0 without PG (IA32_VMX_CR0_FIXED0; no unrestricted guest)', [[VMCS.GUEST_CR0, 0x31]]],
    ['CR4 without VMXE (IA32_VMX_CR4_FIXED0)', [[VMCS.GUEST_CR4, 0x10]]],
    ['RFLAGS with reserved bit 1 clear', [[VMCS.GUEST_RFLAGS, 0]]],
    ['RFLAGS with reserved bit 15 set', [[VMCS.GUEST_RFLAGS, 0x8002]]],
    ['SS.RPL different from CS.RPL', [[VMCS.GUEST_SS_SELECTOR, 0x13]]],
    ['CS of type 3 (data) without the unrestricted guest', [[VMCS.GUEST_CS_AR, 0xc093]]],
    ['CS not present', [[VMCS.GUEST_CS_AR, 0xc01b]]],
    ['SS of a read-only type (1)', [[VMCS.GUEST_SS_AR, 0xc091]]],
    ['DS not accessed (type 2)', [[VMCS.GUEST_DS_AR, 0xc092]]],
    ['ES with reserved access-rights bit 8 set', [[VMCS.GUEST_ES_AR, 0xc193]]],
    ['FS limit 0x12345 with G = 1 (bits 11:0 must then be all ones)', [[VMCS.GUEST_FS_LIMIT, 0x12345]]],
    ['GS limit 0x100000 with G = 0 (bits 31:20 set need G = 1)', [[VMCS.GUEST_GS_LIMIT, 0x100000], [VMCS.GUEST_GS_AR, 0x4093]]],
    ['TR of type 9 (available, not busy)', [[VMCS.GUEST_TR_AR, 0x89]]],
    ['TR unusable', [[VMCS.GUEST_TR_AR, 0x1008b]]],
    ['LDTR usable with type 3', [[VMCS.GUEST_LDTR_AR, 0x83]]],
    ['GDTR limit with bits 31:16 set', [[VMCS.GUEST_GDTR_LIMIT, 0x10000]]],
    ['activity state 3 (wait-for-SIPI: not supported, IA32_VMX_MISC bits 8:6)', [[VMCS.GUEST_ACTIVITY_STATE, 3]]],
    ['blocking by STI with RFLAGS.IF = 0', [[VMCS.GUEST_INTERRUPTIBILITY, 1]]],
    ['blocking by STI and by MOV SS at once', [[VMCS.GUEST_INTERRUPTIBILITY, 3], [VMCS.GUEST_RFLAGS, 0x202]]],
    ['injecting an external interrupt with RFLAGS.IF = 0', [[VMCS.ENTRY_INTR_INFO, 0x80000020]]],
    ['pending debug exceptions with reserved bit 4 set', [[VMCS.GUEST_PENDING_DBG, 0x10]]],
  ];
  for (const [rule, fields] of cases) {
    it(rule, () => {
      const r = launchWith(fields);
      expect(r.status, r.why).toBe(VMX_ENTRY_FAILED);
      expect(r.reason).toBe((ENTRY_FAILURE | INVALID_GUEST_STATE) >>> 0);
      expect(r.qualification).toBe(0);   // fact sheet: 0 = default
      expect(r.why).not.toBe('');
    });
  }

  it('a VMCS link pointer that is not all ones: qualification 4', () => {
    const r = launchWith([[VMCS.VMCS_LINK_PTR, 0x5000], [VMCS.VMCS_LINK_PTR + 1, 0]]);
    expect(r).toMatchObject({ status: VMX_ENTRY_FAILED, reason: (ENTRY_FAILURE | INVALID_GUEST_STATE) >>> 0, qualification: 4 });
  });

  it('from VMLAUNCH: control goes to HOST_RIP with host state, no status flags; the launch state stays clear, so VMLAUNCH works once the state is fixed', () => {
    const cpu = makeVmxCpu();
    runAsm(cpu, `vmxon [p]\nvmclear [q]\nvmptrld [q]\njmp done\np: dq ${VMXON_REGION}\nq: dq ${VMCS_A}\ndone:`);
    for (const [f, v] of validVmcs(cpu, { guestRip: GUEST_CODE, hostRip: 0 })) vmwrite(cpu, f, v);
    vmwrite(cpu, VMCS.GUEST_CR4, 0x10);
    cpu.bus.ram.set([0x0f, 0xa2], GUEST_CODE);   // cpuid
    const r = runAsm(cpu, `
      mov eax, 0x6c16
      mov ebx, failed
      vmwrite eax, ebx
      or eax, -1                ; flags not those of VMsucceed
      vmlaunch
      hlt
    failed:
      pushfd
      pop esi
      mov eax, 0x4402
      vmread edi, eax
      mov eax, 0x6804
      mov ebx, 0x2010
      vmwrite eax, ebx
      mov eax, 0x6c16
      mov ebx, exited
      vmwrite eax, ebx
      vmlaunch
      hlt
    exited:
      mov eax, 0x4402
      vmread edx, eax`);
    expect(r.edi).toBe((ENTRY_FAILURE | INVALID_GUEST_STATE) >>> 0);
    expect(r.esi).toBe(2);           // RFLAGS after a VM exit: only bit 1 (SDM Vol. 3C, 27.5.3)
    expect(r.edx).toBe(10);          // the second VMLAUNCH entered the guest, whose CPUID exited
    expect(vmxStatus(r.esi)).toBe('succeed');
  });
});

describe('VMX-control checks fail with VMfailValid error 7 (SDM Vol. 3C, 26.2.1)', () => {
  const cases: [string, [number, number][]][] = [
    ['primary controls without default1 bit 1', [[VMCS.PRIMARY_PROC, 0x0401e170]]],
    ['"host address-space size" (exit bit 9): no Intel 64 here', [[VMCS.EXIT_CONTROLS, 0x00036dff | (1 << 9)]]],
    ['"IA-32e mode guest" (entry bit 9)', [[VMCS.ENTRY_CONTROLS, 0x11ff | (1 << 9)]]],
    ['secondary control "enable VPID" (not supported)', [[VMCS.PRIMARY_PROC, 0x8401e172], [VMCS.SECONDARY_PROC, 1 << 5]]],
    ['unrestricted guest without EPT', [[VMCS.PRIMARY_PROC, 0x8401e172], [VMCS.SECONDARY_PROC, 1 << 7]]],
    ['EPT pointer with a 3-level walk (bits 5:3 = 2)', [[VMCS.PRIMARY_PROC, 0x8401e172], [VMCS.SECONDARY_PROC, 2], [VMCS.EPT_POINTER, 0x200016]]],
    ['EPT pointer with memory type 1 (WC)', [[VMCS.PRIMARY_PROC, 0x8401e172], [VMCS.SECONDARY_PROC, 2], [VMCS.EPT_POINTER, 0x200019]]],
    ['CR3-target count 5 (IA32_VMX_MISC reports 4)', [[VMCS.CR3_TARGET_COUNT, 5]]],
    ['I/O bitmap A not 4-KiB aligned', [[VMCS.PRIMARY_PROC, 0x0601e172], [VMCS.IO_BITMAP_A, 0x200800]]],
    ['MSR bitmap above 4 GiB', [[VMCS.PRIMARY_PROC, 0x1401e172], [VMCS.MSR_BITMAP + 1, 1]]],
    ['VM-entry MSR-load area not 16-byte aligned', [[VMCS.ENTRY_MSR_LOAD_COUNT, 1], [VMCS.ENTRY_MSR_LOAD, 0x200008]]],
    ['injection of interruption type 1 (reserved)', [[VMCS.ENTRY_INTR_INFO, 0x80000120]]],
    ['injection of a hardware exception with vector 32', [[VMCS.ENTRY_INTR_INFO, 0x80000320]]],
    ['injection of #GP without deliver-error-code', [[VMCS.ENTRY_INTR_INFO, 0x8000030d]]],
    ['injection of #UD with deliver-error-code', [[VMCS.ENTRY_INTR_INFO, 0x80000b06]]],
    ['injection of a software interrupt with instruction length 0', [[VMCS.ENTRY_INTR_INFO, 0x80000480], [VMCS.ENTRY_INSTR_LEN, 0]]],
  ];
  for (const [rule, fields] of cases) {
    it(rule, () => {
      const r = launchWith(fields);
      expect(r.status, r.why).toBe(7);
    });
  }
});

describe('host-state checks fail with VMfailValid error 8 (SDM Vol. 3C, 26.2.2-26.2.3)', () => {
  const cases: [string, [number, number][]][] = [
    ['host CR4 without VMXE', [[VMCS.HOST_CR4, 0x10]]],
    ['host CR0 without NE', [[VMCS.HOST_CR0, 0x80000011]]],
    ['host CS selector with RPL 1', [[VMCS.HOST_CS_SELECTOR, 0x09]]],
    ['host DS selector with TI set', [[VMCS.HOST_DS_SELECTOR, 0x14]]],
    ['host CS selector 0', [[VMCS.HOST_CS_SELECTOR, 0]]],
    ['host TR selector 0', [[VMCS.HOST_TR_SELECTOR, 0]]],
    ['host SS selector 0 (a 32-bit host needs one)', [[VMCS.HOST_SS_SELECTOR, 0]]],
  ];
  for (const [rule, fields] of cases) {
    it(rule, () => {
      const r = launchWith(fields);
      expect(r.status, r.why).toBe(8);
    });
  }
});

describe('the VM-entry MSR-load list (SDM Vol. 3C, 26.4 and 26.8)', () => {
  it('loads IA32_SYSENTER_CS for the guest', () => {
    const cpu = makeVmxCpu();
    cpu.writePhys32(0x200000, 0x174); cpu.writePhys32(0x200004, 0);
    cpu.writePhys32(0x200008, 0x1234); cpu.writePhys32(0x20000c, 0);
    expect(launchGuest(cpu, 'cpuid', [[VMCS.ENTRY_MSR_LOAD_COUNT, 1], [VMCS.ENTRY_MSR_LOAD, 0x200000]])).toBe(VMX_SUCCEED);
    expect(cpu.sysenterCs).toBe(0x1234);
  });

  it('an entry naming an MSR that does not exist fails with reason 34 | bit 31 and the entry number as qualification', () => {
    const cpu = makeVmxCpu();
    for (const [k, msr] of [[0, 0x174], [1, 0x12345678]] as const) {
      cpu.writePhys32(0x200000 + 16 * k, msr); cpu.writePhys32(0x200004 + 16 * k, 0);
      cpu.writePhys32(0x200008 + 16 * k, 0); cpu.writePhys32(0x20000c + 16 * k, 0);
    }
    expect(launchGuest(cpu, 'cpuid', [[VMCS.ENTRY_MSR_LOAD_COUNT, 2], [VMCS.ENTRY_MSR_LOAD, 0x200000]])).toBe(VMX_ENTRY_FAILED);
    expect(vmread(cpu, VMCS.EXIT_REASON) >>> 0).toBe((ENTRY_FAILURE | MSR_LOAD_FAIL) >>> 0);
    expect(vmread(cpu, VMCS.EXIT_QUALIFICATION)).toBe(2);
    expect(cpu.vmxNonRoot).toBe(false);
    expect(cpu.eip).toBe(CODE_BASE);   // host RIP of validVmcs in launchGuest
    expect(vmlaunch(cpu)).toBe(VMX_ENTRY_FAILED);   // still clear: VMLAUNCH, not VMRESUME
  });
});
