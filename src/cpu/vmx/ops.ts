/**
 * The VMX instructions (SDM Vol. 2 and Vol. 3C, chapter 30) in VMX root operation and outside
 * VMX operation: their #UD and #GP checks, operands and the status flags, around the
 * operations of operations.ts and entry.ts. In non-root operation every one of them is a VM
 * exit (exits.ts) and never reaches these handlers.
 *
 *   0F 01 C1 VMCALL   0F 01 C2 VMLAUNCH   0F 01 C3 VMRESUME   0F 01 C4 VMXOFF
 *   0F 78 VMREAD r/m32, r32               0F 79 VMWRITE r32, r/m32
 *   0F C7 /6 m64: VMPTRLD, 66 VMCLEAR, F3 VMXON           0F C7 /7 m64: VMPTRST
 */
import type { Cpu } from '../cpu';
import { GP, UD } from '../exceptions';
import { setFlagBits } from '../flags';
import type { Insn } from '../insn';
import { defineGroup, defineGroupMod3, defineOp } from '../opcodeTable';
import { ea } from '../operands';
import { FEATURE_CONTROL_LOCK, FEATURE_CONTROL_VMX_OUTSIDE_SMX } from '../msrs';
import { rejectLock } from '../ops/lock';
import { CR4_VMXE, FLAG_CF, FLAG_VM, FLAG_ZF, FLAGS_ARITH } from '../registers';
import { CR0_FIXED0, CR4_FIXED0, cr4Fixed1 } from './capabilities';
import { VMX_ENTRY_FAILED, vmEntry } from './entry';
import {
  vmcallInRoot, vmclear, vmptrld, vmread, vmreadResult, vmwrite, vmxoff, vmxon, VMX_FAIL_INVALID, VMX_SUCCEED,
} from './operations';
import { NO_VMCS } from './vmcs';

/** VMsucceed clears the six status flags; VMfailInvalid sets CF, VMfailValid ZF (SDM Vol. 3C, 30.2). */
function setStatusFlags(cpu: Cpu, status: number): void {
  const flags = status === VMX_SUCCEED ? 0 : status === VMX_FAIL_INVALID ? FLAG_CF : FLAG_ZF;
  setFlagBits(cpu, FLAGS_ARITH, flags);
}

/**
 * The checks every VMX instruction but VMXON starts with in root operation: #UD outside VMX
 * operation, in real-address or virtual-8086 mode; #GP(0) above CPL 0.
 */
function rootChecks(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  if (!cpu.vmx.on || !cpu.protectedMode || (cpu.flags & FLAG_VM) !== 0) cpu.raise(UD);
  if (cpu.cpl !== 0) cpu.raiseWithCode(GP, 0);
}

/** The 64-bit memory operand of VMXON, VMCLEAR and VMPTRLD, both halves read before anything changes. */
const pointer = { lo: 0, hi: 0 };
function readPointer(cpu: Cpu, i: Insn): void {
  const off = ea(cpu, i);
  pointer.lo = cpu.read32(i.seg, off);
  pointer.hi = cpu.read32(i.seg, i.a32 ? (off + 4) | 0 : (off + 4) & 0xffff);
}

/**
 * VMXON: #UD without CR4.VMXE, in real or virtual-8086 mode; outside VMX operation #GP(0)
 * above CPL 0, with CR0 or CR4 not valid in VMX operation, or unless IA32_FEATURE_CONTROL is
 * locked with VMXON enabled outside SMX.
 */
function vmxonOp(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  if (!cpu.protectedMode || (cpu.cr4 & CR4_VMXE) === 0 || (cpu.flags & FLAG_VM) !== 0) cpu.raise(UD);
  if (cpu.cpl !== 0) cpu.raiseWithCode(GP, 0);
  if (!cpu.vmx.on) {
    const fc = cpu.msrBank.featureControl;
    const enabled = FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX;
    if ((fc & enabled) !== enabled) cpu.raiseWithCode(GP, 0);
    if ((cpu.cr0 & CR0_FIXED0) !== CR0_FIXED0 || (cpu.cr4 & CR4_FIXED0) !== CR4_FIXED0 ||
        (cpu.cr4 & ~cr4Fixed1(cpu)) !== 0) cpu.raiseWithCode(GP, 0);
  }
  readPointer(cpu, i);
  setStatusFlags(cpu, vmxon(cpu, pointer.lo, pointer.hi));
}

/** 0F C7 /6 with a memory operand: the prefix picks VMXON (F3), VMCLEAR (66) or VMPTRLD (none). */
function c7Group6(cpu: Cpu, i: Insn): void {
  if (i.rep === 1) { vmxonOp(cpu, i); return; }
  rootChecks(cpu, i);
  readPointer(cpu, i);
  const has66 = i.o32 !== cpu.code32;
  setStatusFlags(cpu, has66 ? vmclear(cpu, pointer.lo, pointer.hi) : vmptrld(cpu, pointer.lo, pointer.hi));
}

/** VMPTRST m64: the current-VMCS pointer (all ones when there is none); both dwords are checked before either is written. */
function vmptrstOp(cpu: Cpu, i: Insn): void {
  rootChecks(cpu, i);
  const off = ea(cpu, i);
  const lo = cpu.linWrite(i.seg, off, 4), hi = cpu.linWrite(i.seg, i.a32 ? (off + 4) | 0 : (off + 4) & 0xffff, 4);
  cpu.probeWrite(lo, 4);
  cpu.probeWrite(hi, 4);
  const current = cpu.vmx.current;
  cpu.writeLin32(lo, current);
  cpu.writeLin32(hi, current === NO_VMCS ? -1 : 0);
  setStatusFlags(cpu, VMX_SUCCEED);
}

/** VMREAD r/m32, r32: the field encoding in the reg operand; the operand size is 32 whatever CS.D or 66 say. */
function vmreadOp(cpu: Cpu, i: Insn): void {
  rootChecks(cpu, i);
  const status = vmread(cpu, cpu.regs[i.reg]);
  if (status === VMX_SUCCEED) {
    if (i.mem) cpu.write32(i.seg, ea(cpu, i), vmreadResult.value);
    else cpu.regs[i.rm] = vmreadResult.value;
  }
  setStatusFlags(cpu, status);
}

/**
 * VMWRITE r32, r/m32: a memory source is read after the current-VMCS check and before the
 * field is looked at (SDM Vol. 2, VMWRITE).
 */
function vmwriteOp(cpu: Cpu, i: Insn): void {
  rootChecks(cpu, i);
  if (cpu.vmx.current === NO_VMCS) { setStatusFlags(cpu, VMX_FAIL_INVALID); return; }
  const value = i.mem ? cpu.read32(i.seg, ea(cpu, i)) : cpu.regs[i.rm];
  setStatusFlags(cpu, vmwrite(cpu, cpu.regs[i.reg], value));
}

/**
 * VMLAUNCH/VMRESUME: on success the guest runs and its RFLAGS stand; a failed entry (guest
 * state) is a VM exit to HOST_RIP with host RFLAGS; only VMfail sets the status flags.
 */
function entryOp(launch: boolean) {
  return (cpu: Cpu, i: Insn): void => {
    rootChecks(cpu, i);
    const status = vmEntry(cpu, launch, true);
    if (status !== VMX_SUCCEED && status !== VMX_ENTRY_FAILED) setStatusFlags(cpu, status);
  };
}

function vmxoffOp(cpu: Cpu, i: Insn): void {
  rootChecks(cpu, i);
  setStatusFlags(cpu, vmxoff(cpu));
}

/** VMCALL in root operation: #UD outside VMX operation or in virtual-8086 mode, #GP(0) above CPL 0, else error 1. */
function vmcallOp(cpu: Cpu, i: Insn): void {
  rootChecks(cpu, i);
  setStatusFlags(cpu, vmcallInRoot(cpu));
}

export function register(): void {
  defineGroupMod3(0x101, 0, 1, { name: 'vmcall', exec: vmcallOp });
  defineGroupMod3(0x101, 0, 2, { name: 'vmlaunch', endsBlock: true, exec: entryOp(true) });
  defineGroupMod3(0x101, 0, 3, { name: 'vmresume', endsBlock: true, exec: entryOp(false) });
  defineGroupMod3(0x101, 0, 4, { name: 'vmxoff', exec: vmxoffOp });
  // The operand size is 32 whatever CS.D and 66 say, hence 'd' rather than 'v'.
  defineOp(0x178, { name: 'vmread', operands: 'Ed,Gd', modrm: true, exec: vmreadOp });
  defineOp(0x179, { name: 'vmwrite', operands: 'Gd,Ed', modrm: true, exec: vmwriteOp });
  defineGroup(0x1c7, 6, { name: 'vmptrld', operands: 'Mq', memOnly: true, exec: c7Group6 });
  defineGroup(0x1c7, 7, { name: 'vmptrst', operands: 'Mq', memOnly: true, exec: vmptrstOp });
}
