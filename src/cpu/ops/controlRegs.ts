/**
 * Control and debug registers (SDM Vol. 2 "MOV—Move to/from Control Registers", "MOV—Move
 * to/from Debug Registers", SMSW, LMSW, CLTS, INVLPG, INVD, WBINVD; Vol. 3A, 2.5 and 17.2):
 * the reserved-bit rules of CR0 and CR4, and what a change does to the TLB, the segment
 * bounds and the running code block.
 */
import type { Cpu } from '../cpu';
import {
  CPUID_ECX_VMX, CPUID_EDX_DE, CPUID_EDX_FXSR, CPUID_EDX_MCE, CPUID_EDX_PAE, CPUID_EDX_PGE, CPUID_EDX_PSE,
  CPUID_EDX_SSE, CPUID_EDX_TSC, CPUID_EDX_VME, type CpuModel,
} from '../cpuid';
import { DB, GP, UD } from '../exceptions';
import type { Insn } from '../insn';
import { defineGroup, defineOp } from '../opcodeTable';
import { ea, readRm16, setReg16 } from '../operands';
import {
  CR0_AM, CR0_CD, CR0_EM, CR0_ET, CR0_MP, CR0_NE, CR0_NW, CR0_PE, CR0_PG, CR0_TS, CR0_WP, CR4_DE, CR4_MCE,
  CR4_OSFXSR, CR4_OSXMMEXCPT, CR4_PAE, CR4_PCE, CR4_PGE, CR4_PSE, CR4_PVI, CR4_TSD, CR4_VME, CR4_VMXE,
} from '../registers';
import { pdeFor } from '../paging';
import { readCr0, readCr4, vmxCr0Write, vmxCr4Write } from '../vmx/crAccess';
import { rejectLock } from './lock';
import { requireCpl0 } from './system';

/** CR0 bits a P6 implements; writes to the reserved ones are ignored, and ET is fixed at 1 (SDM Vol. 3A, 2.5). */
const CR0_DEFINED = CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_NE | CR0_WP | CR0_AM | CR0_NW | CR0_CD | CR0_PG;

/**
 * Loads CR0 as MOV CR0 does: #GP(0) for PG without PE or NW without CD; a change of PG, WP or
 * PE flushes the whole TLB, a change of PE rederives the segment bounds (real mode keeps the
 * descriptor caches as they are).
 */
export function writeCr0(cpu: Cpu, value: number): void {
  // VMX operation: fixed bits, and in non-root operation the host-owned bits (vmx/crAccess.ts).
  if (cpu.vmx.on) value = vmxCr0Write(cpu, value);
  const v = (value & CR0_DEFINED) | CR0_ET;
  if ((v & CR0_PG) !== 0 && (v & CR0_PE) === 0) cpu.raiseWithCode(GP, 0);
  if ((v & CR0_NW) !== 0 && (v & CR0_CD) === 0) cpu.raiseWithCode(GP, 0);
  const changed = cpu.cr0 ^ v;
  cpu.cr0 = v;
  if ((changed & (CR0_PG | CR0_WP | CR0_PE)) !== 0) cpu.tlb.flush(false);
  if ((changed & CR0_PE) !== 0) for (let seg = 0; seg < 6; seg++) cpu.updateSegmentBounds(seg);
  cpu.leaveBlock = true;
}

/** CR4 bits that exist with each CPUID feature (SDM Vol. 3A, 2.5); any other bit is reserved. */
const CR4_BY_FEATURE: readonly [edx: number, ecx: number, cr4: number][] = [
  [CPUID_EDX_VME, 0, CR4_VME | CR4_PVI],
  [CPUID_EDX_TSC, 0, CR4_TSD],
  [CPUID_EDX_DE, 0, CR4_DE],
  [CPUID_EDX_PSE, 0, CR4_PSE],
  [CPUID_EDX_PAE, 0, CR4_PAE],
  [CPUID_EDX_MCE, 0, CR4_MCE],
  [CPUID_EDX_PGE, 0, CR4_PGE],
  [CPUID_EDX_FXSR, 0, CR4_OSFXSR],
  [CPUID_EDX_SSE, 0, CR4_OSXMMEXCPT],
  [0, CPUID_ECX_VMX, CR4_VMXE],
];

/** The CR4 bits software may set on `model`; PCE has no CPUID flag of its own: every P6 has RDPMC. */
export function cr4Writable(model: CpuModel): number {
  let bits = CR4_PCE;
  for (let k = 0; k < CR4_BY_FEATURE.length; k++) {
    const [edx, ecx, cr4] = CR4_BY_FEATURE[k];
    if ((model.featuresEdx & edx) !== 0 || (model.featuresEcx & ecx) !== 0) bits |= cr4;
  }
  return bits;
}

/** Loads CR4: #GP(0) for a reserved bit; a change of PGE, PSE or PAE flushes the whole TLB. */
export function writeCr4(cpu: Cpu, value: number): void {
  if (cpu.vmx.on) value = vmxCr4Write(cpu, value);
  if ((value & ~cr4Writable(cpu.model)) !== 0) cpu.raiseWithCode(GP, 0);
  const changed = cpu.cr4 ^ value;
  cpu.cr4 = value;
  if ((changed & (CR4_PGE | CR4_PSE | CR4_PAE)) !== 0) cpu.tlb.flush(false);
  cpu.leaveBlock = true;
}

/**
 * Loads CR3 (bits 2:0 and 11:5 are ignored by 32-bit paging, not checked): every TLB entry but
 * the global ones goes. The next instruction's linear address may now map elsewhere, so the
 * block ends here.
 */
export function writeCr3(cpu: Cpu, value: number): void {
  cpu.cr3 = value;
  cpu.tlb.flush(true);
  cpu.leaveBlock = true;
}

/** CR0, CR2, CR3 and CR4 exist; naming CR1 or CR5-CR7 is #UD, before the privilege check (a decode fault). */
function checkCr(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  if (i.reg === 1 || i.reg > 4) cpu.raise(UD);
  requireCpl0(cpu);
}

/**
 * MOV r32, CRn (0F 20). Only the register form exists: the mod field is ignored, r/m names a
 * general register whatever mod says, and the operand size is always 32.
 */
function movFromCr(cpu: Cpu, i: Insn): void {
  checkCr(cpu, i);
  let v: number;
  switch (i.reg) {
    case 0: v = readCr0(cpu); break;   // with the VMX read shadow in non-root operation
    case 2: v = cpu.cr2; break;
    case 3: v = cpu.cr3; break;
    default: v = readCr4(cpu); break;
  }
  cpu.regs[i.rm] = v;
}

/** MOV CRn, r32 (0F 22). */
function movToCr(cpu: Cpu, i: Insn): void {
  checkCr(cpu, i);
  const v = cpu.regs[i.rm];
  switch (i.reg) {
    case 0: writeCr0(cpu, v); break;
    case 2: cpu.cr2 = v; break;
    case 3: writeCr3(cpu, v); break;
    default: writeCr4(cpu, v); break;
  }
}

/** DR6: B0-B3, BD, BS, BT can be written; bits 4-11 and 16-31 read 1, bit 12 reads 0 (SDM Vol. 3A, 17.2.3). */
const DR6_WRITABLE = 0xe00f;
const DR6_FIXED_ONE = 0xffff0ff0 | 0;
/** DR7: bits 11, 12, 14 and 15 read 0, bit 10 reads 1 (SDM Vol. 3A, 17.2.4). */
const DR7_WRITABLE = 0xffff23ff | 0;
const DR7_FIXED_ONE = 0x400;
const DR7_GD = 1 << 13;
const DR6_BD = 1 << 13;

/**
 * The debug register MOV DR names, after the checks in QEMU's order: #GP(0) above CPL 0;
 * DR4 and DR5 are #UD with CR4.DE and otherwise DR6 and DR7; with DR7.GD set, any access is a
 * #DB fault that sets DR6.BD and clears GD so the handler can use the registers.
 */
function debugRegister(cpu: Cpu, i: Insn): number {
  rejectLock(cpu, i);
  requireCpl0(cpu);
  let n = i.reg;
  if (n === 4 || n === 5) {
    if ((cpu.cr4 & CR4_DE) !== 0) cpu.raise(UD);
    n += 2;
  }
  if ((cpu.dr[7] & DR7_GD) !== 0) {
    cpu.dr[6] |= DR6_BD;
    cpu.dr[7] &= ~DR7_GD;
    cpu.raise(DB);
  }
  return n;
}

/** MOV r32, DRn (0F 21), register form whatever mod says. */
function movFromDr(cpu: Cpu, i: Insn): void {
  const n = debugRegister(cpu, i);
  const v = cpu.dr[n];
  cpu.regs[i.rm] = n === 6 ? (v & DR6_WRITABLE) | DR6_FIXED_ONE : n === 7 ? (v & DR7_WRITABLE) | DR7_FIXED_ONE : v;
}

/** MOV DRn, r32 (0F 23). Breakpoints may have changed: the block ends. */
function movToDr(cpu: Cpu, i: Insn): void {
  const n = debugRegister(cpu, i);
  const v = cpu.regs[i.rm];
  cpu.dr[n] = n === 6 ? (v & DR6_WRITABLE) | DR6_FIXED_ONE : n === 7 ? (v & DR7_WRITABLE) | DR7_FIXED_ONE : v;
  cpu.leaveBlock = true;
}

/**
 * SMSW: the low 16 bits of CR0 to r/m16. With a 32-bit register the SDM leaves the high half
 * undefined; P6 processors and QEMU store all of CR0, and so does vtscope. Not privileged: a
 * sensitive instruction that reveals the real CR0 at any CPL.
 */
function smsw16(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  if (i.mem) cpu.write16(i.seg, ea(cpu, i), readCr0(cpu));
  else setReg16(cpu, i.rm, readCr0(cpu));
}

function smsw32(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  if (i.mem) cpu.write16(i.seg, ea(cpu, i), readCr0(cpu));
  else cpu.regs[i.rm] = readCr0(cpu);
}

/** LMSW r/m16: loads CR0 bits 3:0 (PE MP EM TS); it can set PE but never clear it. */
function lmsw(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  requireCpl0(cpu);
  const src = readRm16(cpu, i);
  writeCr0(cpu, (cpu.cr0 & ~(CR0_MP | CR0_EM | CR0_TS)) | (src & (CR0_PE | CR0_MP | CR0_EM | CR0_TS)));
}

/** CLTS: clears CR0.TS. */
function clts(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  requireCpl0(cpu);
  writeCr0(cpu, cpu.cr0 & ~CR0_TS);
}

const PDE_P = 1;
const PDE_PS = 0x80;

/**
 * Drops the TLB's translation of the page holding `lin`. A 4 MiB page is cached as up to 1024
 * 4 KiB entries, so when the PDE maps one (or is not present any more, the SDM's way of
 * changing a page's size) all of them go.
 */
export function invalidatePage(cpu: Cpu, lin: number): void {
  const page = lin >>> 12;
  if (cpu.pagingEnabled && (cpu.cr4 & CR4_PSE) !== 0) {
    const pde = pdeFor(cpu, lin);
    if ((pde & PDE_P) === 0 || (pde & PDE_PS) !== 0) {
      const first = page & ~0x3ff;
      for (let p = first; p < first + 0x400; p++) cpu.tlb.invalidate(p);
      return;
    }
  }
  cpu.tlb.invalidate(page);
}

/** INVLPG m: no memory access, so no segment or page checks; the next fetch may translate anew. */
function invlpg(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  requireCpl0(cpu);
  invalidatePage(cpu, (cpu.segBase[i.seg] + ea(cpu, i)) | 0);
  cpu.leaveBlock = true;
}

/** INVD and WBINVD: there are no caches to invalidate or write back. */
function cacheControl(cpu: Cpu, i: Insn): void {
  rejectLock(cpu, i);
  requireCpl0(cpu);
}

export function register(): void {
  defineOp(0x106, { name: 'clts', exec: clts });
  defineOp(0x108, { name: 'invd', exec: cacheControl });
  defineOp(0x109, { name: 'wbinvd', exec: cacheControl });
  defineOp(0x120, { name: 'mov', operands: 'Rd,Cd', modrm: true, modIgnored: true, exec: movFromCr });
  defineOp(0x121, { name: 'mov', operands: 'Rd,Dd', modrm: true, modIgnored: true, exec: movFromDr });
  defineOp(0x122, { name: 'mov', operands: 'Cd,Rd', modrm: true, modIgnored: true, exec: movToCr });
  defineOp(0x123, { name: 'mov', operands: 'Dd,Rd', modrm: true, modIgnored: true, exec: movToDr });
  defineGroup(0x101, 4, { name: 'smsw', operands: 'Mw/Rv', exec16: smsw16, exec32: smsw32 });
  defineGroup(0x101, 6, { name: 'lmsw', operands: 'Ew', exec: lmsw });
  defineGroup(0x101, 7, { name: 'invlpg', operands: 'Mb', memOnly: true, exec: invlpg });
}
