/**
 * Which instructions cause VM exits in VMX non-root operation, and why (SDM Vol. 3C, 25.1 and
 * 25.1.3), as one table: opcode, the exit reason, the control that makes it exit, and a check
 * that raises the faults with priority over the exit (invalid opcode, privilege level, the I/O
 * permission bitmap: SDM Vol. 3C, 25.1.1), decides, and fills the exit qualification (fact
 * sheet, section 3). The run loop asks `instructionExits` before each instruction while in
 * non-root operation; an instruction that exits does not execute.
 *
 * An instruction that does not exit behaves as outside VMX, except for CR0/CR4 reads and writes
 * under the guest/host masks (crAccess.ts) and RDTSC under TSC offsetting (the offset is added
 * to the CPU's at VM entry).
 */
import type { AccessSize } from '../bus';
import type { Block } from '../codeCache';
import type { Cpu } from '../cpu';
import { CPUID_EDX_MSR, CPUID_EDX_TSC } from '../cpuid';
import { GP, UD } from '../exceptions';
import type { Insn } from '../insn';
import { checkIoPermission } from '../ioPermission';
import { ea, readRm16 } from '../operands';
import {
  CR0_EM, CR0_MP, CR0_PE, CR0_TS, CR4_DE, CR4_PCE, CR4_TSD, DS, ECX, EDI, EDX, ES, ESI, FLAG_VM,
} from '../registers';
import {
  PROC2_DESCRIPTOR_TABLE_EXITING, PROC2_WBINVD_EXITING, PROC_CR3_LOAD_EXITING, PROC_CR3_STORE_EXITING,
  PROC_HLT_EXITING, PROC_INVLPG_EXITING, PROC_MOV_DR_EXITING, PROC_PAUSE_EXITING, PROC_RDPMC_EXITING,
  PROC_RDTSC_EXITING, PROC_UNCONDITIONAL_IO_EXITING, PROC_USE_IO_BITMAPS, PROC_USE_MSR_BITMAPS,
} from './capabilities';
import { EXIT_REASON } from './exitReasons';
import { vmExit } from './vmExit';

/** Raises the faults that come first, then says whether the instruction exits (and fills `cpu.vmx.exit`). */
type ExitCheck = (cpu: Cpu, i: Insn) => boolean;

export interface InstructionExit {
  /** As in opcodeTable.ts: 0x00-0xFF, or 0x100 + b for 0F b. */
  readonly op: number;
  /** ModR/M.reg of a group opcode. */
  readonly reg?: number;
  /** The register form (mod = 3) with this ModR/M.rm: 0F 01 C1-C4. */
  readonly rm?: number;
  /** Only the memory form (mod != 3). */
  readonly memory?: boolean;
  readonly mnemonic: string;
  readonly reason: number;
  /** When it exits, in words. */
  readonly when: string;
  readonly check: ExitCheck;
}

// ---- helpers ------------------------------------------------------------------------------------

const always: ExitCheck = () => true;

function proc(cpu: Cpu, bit: number): boolean { return (cpu.vmx.proc & bit) !== 0; }

function qualify(cpu: Cpu, q: number): true { cpu.vmx.exit.qualification = q; return true; }

/** #GP(0) above CPL 0 (privileged instructions: the fault comes before the exit). */
function cpl0(cpu: Cpu): void {
  if (cpu.cpl !== 0) cpu.raiseWithCode(GP, 0);
}

/** The VMX instructions are #UD in real-address and virtual-8086 mode, before anything else. */
function vmxModeCheck(cpu: Cpu): void {
  if (!cpu.protectedMode || (cpu.flags & FLAG_VM) !== 0) cpu.raise(UD);
}

/** A memory operand's displacement, sign-extended, as the qualification of VMX and descriptor-table exits. */
function displacement(i: Insn): number {
  return i.a32 ? i.disp | 0 : (i.disp << 16) >> 16;
}

/**
 * VM-exit instruction information for a memory operand (SDM Vol. 3C, tables 27-10 to 27-14):
 * scaling 1:0, address size 9:7, segment 17:15, index 21:18 (22: none), base 26:23 (27: none).
 * A register operand sets bit 10 and names the register in 6:3.
 */
export function operandInfo(i: Insn): number {
  if (!i.mem) return (1 << 10) | (i.rm << 3);
  let v = ((i.a32 ? 1 : 0) << 7) | (i.seg << 15);
  v |= i.index >= 0 ? i.scale | (i.index << 18) : 1 << 22;
  v |= i.base >= 0 ? i.base << 23 : 1 << 27;
  return v;
}

// ---- CR access (exit 28) --------------------------------------------------------------------------

const CR_MOV_TO = 0 << 4, CR_MOV_FROM = 1 << 4, CR_CLTS = 2 << 4, CR_LMSW = 3 << 4;
const CR_LMSW_MEMORY = 1 << 6;

/** MOV CRn faults first: CR1 and CR5-CR7 are #UD, CPL > 0 is #GP(0). */
function crFaults(cpu: Cpu, i: Insn): void {
  if (i.reg === 1 || i.reg > 4) cpu.raise(UD);
  cpl0(cpu);
}

/**
 * MOV to CR0/CR4 exits if it would change a bit the guest/host mask gives the host to a value
 * other than the read shadow's; MOV to CR3 exits with CR3-load exiting unless the value is one
 * of the first CR3_TARGET_COUNT target values.
 */
function movToCr(cpu: Cpu, i: Insn): boolean {
  crFaults(cpu, i);
  const x = cpu.vmx, v = cpu.regs[i.rm];
  let exits: boolean;
  switch (i.reg) {
    case 0: exits = ((v ^ x.cr0Shadow) & x.cr0Mask) !== 0; break;
    case 4: exits = ((v ^ x.cr4Shadow) & x.cr4Mask) !== 0; break;
    case 3: {
      exits = proc(cpu, PROC_CR3_LOAD_EXITING);
      for (let n = 0; exits && n < x.cr3TargetCount; n++) if (x.cr3Targets[n] === v) exits = false;
      break;
    }
    default: exits = false;
  }
  return exits && qualify(cpu, i.reg | CR_MOV_TO | (i.rm << 8));
}

/** MOV from CR3 exits with CR3-store exiting; CR0 and CR4 reads see the shadows instead (crAccess.ts). */
function movFromCr(cpu: Cpu, i: Insn): boolean {
  crFaults(cpu, i);
  return i.reg === 3 && proc(cpu, PROC_CR3_STORE_EXITING) && qualify(cpu, 3 | CR_MOV_FROM | (i.rm << 8));
}

/** CLTS exits when the host owns CR0.TS and the shadow has it set. */
function clts(cpu: Cpu): boolean {
  cpl0(cpu);
  const x = cpu.vmx;
  return (x.cr0Mask & x.cr0Shadow & CR0_TS) !== 0 && qualify(cpu, CR_CLTS);
}

/**
 * LMSW exits when, among the host-owned bits of PE, MP, EM and TS, it would set PE while the
 * shadow's is clear, or give MP, EM or TS a value other than the shadow's. The operand is read
 * first: its faults come before the exit (SDM Vol. 3C, 25.1.1).
 */
function lmsw(cpu: Cpu, i: Insn): boolean {
  cpl0(cpu);
  const src = readRm16(cpu, i);
  const x = cpu.vmx, m = x.cr0Mask, shadow = x.cr0Shadow;
  const setsPe = (m & CR0_PE & ~shadow & src) !== 0;
  const changes = (m & (CR0_MP | CR0_EM | CR0_TS) & (src ^ shadow)) !== 0;
  if (!setsPe && !changes) return false;
  if (i.mem) x.exit.withLinear((cpu.segBase[i.seg] + ea(cpu, i)) | 0);
  return qualify(cpu, CR_LMSW | (i.mem ? CR_LMSW_MEMORY : 0) | (src << 16));
}

// ---- MOV DR (exit 29) -------------------------------------------------------------------------------

/** #UD for DR4/DR5 with CR4.DE and #GP above CPL 0 come first; the exit comes before DR7.GD's #DB. */
function movDr(toDr: boolean): ExitCheck {
  return (cpu, i) => {
    if ((i.reg === 4 || i.reg === 5) && (cpu.cr4 & CR4_DE) !== 0) cpu.raise(UD);
    cpl0(cpu);
    return proc(cpu, PROC_MOV_DR_EXITING) && qualify(cpu, i.reg | (toDr ? 0 : 1 << 4) | (i.rm << 8));
  };
}

// ---- I/O (exit 30) ------------------------------------------------------------------------------------

/**
 * Whether an access to `size` ports from `port` exits: unconditionally, or, with "use I/O
 * bitmaps" (which overrides unconditional exiting), if any port's bit is set in bitmap A
 * (0000-7FFF) or B (8000-FFFF); an access wrapping past FFFF always exits (SDM Vol. 3C, 25.1.3).
 */
function ioExits(cpu: Cpu, port: number, size: number): boolean {
  const x = cpu.vmx;
  if (!proc(cpu, PROC_USE_IO_BITMAPS)) return proc(cpu, PROC_UNCONDITIONAL_IO_EXITING);
  if (port + size > 0x10000) return true;
  for (let p = port; p < port + size; p++) {
    const bitmap = p < 0x8000 ? x.ioBitmapA : x.ioBitmapB;
    if ((cpu.readPhys8(bitmap + ((p & 0x7fff) >>> 3)) >> (p & 7)) & 1) return true;
  }
  return false;
}

const IO_IN = 1 << 3, IO_STRING = 1 << 4, IO_REP = 1 << 5, IO_IMMEDIATE = 1 << 6;

/** IN/OUT/INS/OUTS: the IOPL and TSS-bitmap #GP first, then the VMX decision. */
function io(input: boolean, string: boolean, immediate: boolean, byteSized: boolean): ExitCheck {
  return (cpu, i) => {
    const size: AccessSize = byteSized ? 1 : i.o32 ? 4 : 2;
    const port = immediate ? i.imm & 0xff : cpu.regs[EDX] & 0xffff;
    checkIoPermission(cpu, port, size);
    if (!ioExits(cpu, port, size)) return false;
    if (string) {
      // The guest-linear address of the memory operand: ES:EDI for INS, the source for OUTS.
      const index = input ? cpu.regs[EDI] : cpu.regs[ESI];
      const seg = input ? ES : i.segOverride >= 0 ? i.segOverride : DS;
      cpu.vmx.exit.withLinear((cpu.segBase[seg] + (i.a32 ? index : index & 0xffff)) | 0);
    }
    return qualify(cpu, (size - 1) | (input ? IO_IN : 0) | (string ? IO_STRING : 0) |
      (string && i.rep !== 0 ? IO_REP : 0) | (immediate ? IO_IMMEDIATE : 0) | (port << 16));
  };
}

// ---- RDMSR / WRMSR (exits 31, 32) -----------------------------------------------------------------------

/**
 * Without "use MSR bitmaps" every RDMSR/WRMSR exits; with them, ECX in 0-1FFF or
 * C0000000-C0001FFF exits if its bit in the read or write half is set, any other ECX exits.
 * Only the #UD and CPL checks come first: an MSR that does not exist still exits.
 */
function msr(write: boolean): ExitCheck {
  return (cpu) => {
    if ((cpu.model.featuresEdx & CPUID_EDX_MSR) === 0) cpu.raise(UD);
    cpl0(cpu);
    if (!proc(cpu, PROC_USE_MSR_BITMAPS)) return true;
    const n = cpu.regs[ECX] >>> 0;
    let offset: number;
    if (n <= 0x1fff) offset = write ? 0x800 : 0x000;
    else if (n >= 0xc000_0000 && n <= 0xc000_1fff) offset = write ? 0xc00 : 0x400;
    else return true;
    const bit = n & 0x1fff;
    return ((cpu.readPhys8(cpu.vmx.msrBitmap + offset + (bit >>> 3)) >> (bit & 7)) & 1) !== 0;
  };
}

// ---- descriptor-table instructions (exits 46, 47) ------------------------------------------------------

/** LGDT/LIDT/SGDT/SIDT (identity in bits 29:28: 0 SGDT, 1 SIDT, 2 LGDT, 3 LIDT). */
function gdtrIdtr(identity: number, privileged: boolean): ExitCheck {
  return (cpu, i) => {
    if (privileged) cpl0(cpu);
    if ((cpu.vmx.proc2 & PROC2_DESCRIPTOR_TABLE_EXITING) === 0) return false;
    cpu.vmx.exit.instruction(i.len, operandInfo(i) | ((i.o32 ? 1 : 0) << 11) | (identity << 28));
    return qualify(cpu, displacement(i));
  };
}

/** LLDT/LTR/SLDT/STR (identity: 0 SLDT, 1 STR, 2 LLDT, 3 LTR); #UD outside protected mode first. */
function ldtrTr(identity: number, privileged: boolean): ExitCheck {
  return (cpu, i) => {
    vmxModeCheck(cpu);
    if (privileged) cpl0(cpu);
    if ((cpu.vmx.proc2 & PROC2_DESCRIPTOR_TABLE_EXITING) === 0) return false;
    cpu.vmx.exit.instruction(i.len, operandInfo(i) | (identity << 28));
    return qualify(cpu, i.mem ? displacement(i) : 0);
  };
}

// ---- VMX instructions (exits 18-27) ---------------------------------------------------------------------

/** Every VMX instruction exits in non-root operation, once its #UD checks passed. */
function vmxInstruction(withOperand: boolean, vmreadWrite = false): ExitCheck {
  return (cpu, i) => {
    vmxModeCheck(cpu);
    if (!withOperand) return true;
    // VMREAD/VMWRITE name the field-encoding register in bits 31:28.
    cpu.vmx.exit.instruction(i.len, operandInfo(i) | (vmreadWrite ? i.reg << 28 : 0));
    return qualify(cpu, i.mem ? displacement(i) : 0);
  };
}

/** 0F C7 /6 is VMPTRLD, with 66 VMCLEAR, with F3 VMXON: the prefix picks the exit reason. */
function c7Group6Reason(cpu: Cpu, i: Insn): number {
  if (i.rep === 1) return EXIT_REASON.VMXON;
  return i.o32 !== cpu.code32 ? EXIT_REASON.VMCLEAR : EXIT_REASON.VMPTRLD;
}

// ---- the table ----------------------------------------------------------------------------------------------

export const INSTRUCTION_EXITS: readonly InstructionExit[] = [
  { op: 0x1a2, mnemonic: 'CPUID', reason: EXIT_REASON.CPUID, when: 'always', check: always },
  { op: 0x108, mnemonic: 'INVD', reason: EXIT_REASON.INVD, when: 'always (after the CPL check)', check: (cpu) => { cpl0(cpu); return true; } },
  {
    op: 0xf4, mnemonic: 'HLT', reason: EXIT_REASON.HLT, when: 'HLT exiting (primary bit 7)',
    check: (cpu) => { if (cpu.protectedMode) cpl0(cpu); return proc(cpu, PROC_HLT_EXITING); },
  },
  {
    op: 0x101, reg: 7, memory: true, mnemonic: 'INVLPG', reason: EXIT_REASON.INVLPG, when: 'INVLPG exiting (primary bit 9)',
    check: (cpu, i) => {
      cpl0(cpu);
      // The qualification is the linear-address operand.
      return proc(cpu, PROC_INVLPG_EXITING) && qualify(cpu, (cpu.segBase[i.seg] + ea(cpu, i)) | 0);
    },
  },
  {
    op: 0x133, mnemonic: 'RDPMC', reason: EXIT_REASON.RDPMC, when: 'RDPMC exiting (primary bit 11)',
    check: (cpu) => {
      if ((cpu.cr4 & CR4_PCE) === 0 && cpu.cpl !== 0) cpu.raiseWithCode(GP, 0);
      return proc(cpu, PROC_RDPMC_EXITING);
    },
  },
  {
    op: 0x131, mnemonic: 'RDTSC', reason: EXIT_REASON.RDTSC, when: 'RDTSC exiting (primary bit 12)',
    check: (cpu) => {
      if ((cpu.model.featuresEdx & CPUID_EDX_TSC) === 0) cpu.raise(UD);
      if ((cpu.cr4 & CR4_TSD) !== 0 && cpu.cpl !== 0) cpu.raiseWithCode(GP, 0);
      return proc(cpu, PROC_RDTSC_EXITING);
    },
  },
  {
    op: 0x109, mnemonic: 'WBINVD', reason: EXIT_REASON.WBINVD, when: 'WBINVD exiting (secondary bit 6)',
    check: (cpu) => { cpl0(cpu); return (cpu.vmx.proc2 & PROC2_WBINVD_EXITING) !== 0; },
  },
  {
    op: 0x90, mnemonic: 'PAUSE', reason: EXIT_REASON.PAUSE, when: 'F3 90 with PAUSE exiting (primary bit 30)',
    check: (cpu, i) => i.rep === 1 && proc(cpu, PROC_PAUSE_EXITING),
  },

  // Control registers: the guest/host masks and read shadows, CR3 loads and stores.
  { op: 0x122, mnemonic: 'MOV to CR', reason: EXIT_REASON.CR_ACCESS, when: 'CR0/CR4: a host-owned bit differs from the read shadow; CR3: CR3-load exiting and not a CR3-target value', check: movToCr },
  { op: 0x120, mnemonic: 'MOV from CR', reason: EXIT_REASON.CR_ACCESS, when: 'CR3 with CR3-store exiting (primary bit 16)', check: movFromCr },
  { op: 0x106, mnemonic: 'CLTS', reason: EXIT_REASON.CR_ACCESS, when: 'CR0.TS host-owned and set in the read shadow', check: clts },
  { op: 0x101, reg: 6, mnemonic: 'LMSW', reason: EXIT_REASON.CR_ACCESS, when: 'a host-owned bit of PE/MP/EM/TS would change from the read shadow (PE only to 1)', check: lmsw },
  { op: 0x123, mnemonic: 'MOV to DR', reason: EXIT_REASON.DR_ACCESS, when: 'MOV-DR exiting (primary bit 23)', check: movDr(true) },
  { op: 0x121, mnemonic: 'MOV from DR', reason: EXIT_REASON.DR_ACCESS, when: 'MOV-DR exiting (primary bit 23)', check: movDr(false) },

  // Port I/O: unconditional I/O exiting (primary bit 24) or the I/O bitmaps (bit 25).
  { op: 0xe4, mnemonic: 'IN AL, imm8', reason: EXIT_REASON.IO_INSTRUCTION, when: 'I/O exiting or bitmap', check: io(true, false, true, true) },
  { op: 0xe5, mnemonic: 'IN eAX, imm8', reason: EXIT_REASON.IO_INSTRUCTION, when: 'I/O exiting or bitmap', check: io(true, false, true, false) },
  { op: 0xec, mnemonic: 'IN AL, DX', reason: EXIT_REASON.IO_INSTRUCTION, when: 'I/O exiting or bitmap', check: io(true, false, false, true) },
  { op: 0xed, mnemonic: 'IN eAX, DX', reason: EXIT_REASON.IO_INSTRUCTION, when: 'I/O exiting or bitmap', check: io(true, false, false, false) },
  { op: 0xe6, mnemonic: 'OUT imm8, AL', reason: EXIT_REASON.IO_INSTRUCTION, when: 'I/O exiting or bitmap', check: io(false, false, true, true) },
  { op: 0xe7, mnemonic: 'OUT imm8, eAX', reason: EXIT_REASON.IO_INSTRUCTION, when: 'I/O exiting or bitmap', check: io(false, false, true, false) },
  { op: 0xee, mnemonic: 'OUT DX, AL', reason: EXIT_REASON.IO_INSTRUCTION, when: 'I/O exiting or bitmap', check: io(false, false, false, true) },
  { op: 0xef, mnemonic: 'OUT DX, eAX', reason: EXIT_REASON.IO_INSTRUCTION, when: 'I/O exiting or bitmap', check: io(false, false, false, false) },
  { op: 0x6c, mnemonic: 'INSB', reason: EXIT_REASON.IO_INSTRUCTION, when: 'I/O exiting or bitmap', check: io(true, true, false, true) },
  { op: 0x6d, mnemonic: 'INSW/INSD', reason: EXIT_REASON.IO_INSTRUCTION, when: 'I/O exiting or bitmap', check: io(true, true, false, false) },
  { op: 0x6e, mnemonic: 'OUTSB', reason: EXIT_REASON.IO_INSTRUCTION, when: 'I/O exiting or bitmap', check: io(false, true, false, true) },
  { op: 0x6f, mnemonic: 'OUTSW/OUTSD', reason: EXIT_REASON.IO_INSTRUCTION, when: 'I/O exiting or bitmap', check: io(false, true, false, false) },

  { op: 0x132, mnemonic: 'RDMSR', reason: EXIT_REASON.MSR_READ, when: 'always, or the MSR bitmap (primary bit 28)', check: msr(false) },
  { op: 0x130, mnemonic: 'WRMSR', reason: EXIT_REASON.MSR_WRITE, when: 'always, or the MSR bitmap (primary bit 28)', check: msr(true) },

  // Descriptor tables: descriptor-table exiting (secondary bit 2).
  { op: 0x101, reg: 0, memory: true, mnemonic: 'SGDT', reason: EXIT_REASON.GDTR_IDTR, when: 'descriptor-table exiting', check: gdtrIdtr(0, false) },
  { op: 0x101, reg: 1, memory: true, mnemonic: 'SIDT', reason: EXIT_REASON.GDTR_IDTR, when: 'descriptor-table exiting', check: gdtrIdtr(1, false) },
  { op: 0x101, reg: 2, memory: true, mnemonic: 'LGDT', reason: EXIT_REASON.GDTR_IDTR, when: 'descriptor-table exiting', check: gdtrIdtr(2, true) },
  { op: 0x101, reg: 3, memory: true, mnemonic: 'LIDT', reason: EXIT_REASON.GDTR_IDTR, when: 'descriptor-table exiting', check: gdtrIdtr(3, true) },
  { op: 0x100, reg: 0, mnemonic: 'SLDT', reason: EXIT_REASON.LDTR_TR, when: 'descriptor-table exiting', check: ldtrTr(0, false) },
  { op: 0x100, reg: 1, mnemonic: 'STR', reason: EXIT_REASON.LDTR_TR, when: 'descriptor-table exiting', check: ldtrTr(1, false) },
  { op: 0x100, reg: 2, mnemonic: 'LLDT', reason: EXIT_REASON.LDTR_TR, when: 'descriptor-table exiting', check: ldtrTr(2, true) },
  { op: 0x100, reg: 3, mnemonic: 'LTR', reason: EXIT_REASON.LDTR_TR, when: 'descriptor-table exiting', check: ldtrTr(3, true) },

  // The VMX instructions always exit (VMREAD/VMWRITE too: there is no VMCS shadowing).
  { op: 0x101, reg: 0, rm: 1, mnemonic: 'VMCALL', reason: EXIT_REASON.VMCALL, when: 'always, in any mode', check: always },
  { op: 0x101, reg: 0, rm: 2, mnemonic: 'VMLAUNCH', reason: EXIT_REASON.VMLAUNCH, when: 'always', check: vmxInstruction(false) },
  { op: 0x101, reg: 0, rm: 3, mnemonic: 'VMRESUME', reason: EXIT_REASON.VMRESUME, when: 'always', check: vmxInstruction(false) },
  { op: 0x101, reg: 0, rm: 4, mnemonic: 'VMXOFF', reason: EXIT_REASON.VMXOFF, when: 'always', check: vmxInstruction(false) },
  { op: 0x178, mnemonic: 'VMREAD', reason: EXIT_REASON.VMREAD, when: 'always', check: vmxInstruction(true, true) },
  { op: 0x179, mnemonic: 'VMWRITE', reason: EXIT_REASON.VMWRITE, when: 'always', check: vmxInstruction(true, true) },
  { op: 0x1c7, reg: 6, memory: true, mnemonic: 'VMPTRLD/VMCLEAR/VMXON', reason: -1, when: 'always (66: VMCLEAR, F3: VMXON)', check: vmxInstruction(true) },
  { op: 0x1c7, reg: 7, memory: true, mnemonic: 'VMPTRST', reason: EXIT_REASON.VMPTRST, when: 'always', check: vmxInstruction(true) },
];

/** Entries by opcode: most opcodes have none, so the check costs one array read. */
const BY_OP: (InstructionExit[] | undefined)[] = new Array(512);
for (const e of INSTRUCTION_EXITS) (BY_OP[e.op] ??= []).push(e);

function matches(e: InstructionExit, i: Insn): boolean {
  if (e.reg !== undefined && e.reg !== i.reg) return false;
  if (e.rm !== undefined) return !i.mem && e.rm === i.rm;
  return e.memory !== true || i.mem;
}

/**
 * Before instruction `i` executes in VMX non-root operation: raises a fault that has priority
 * over its VM exit, or performs the VM exit and returns true (the instruction does not
 * execute), or returns false.
 */
export function instructionExits(cpu: Cpu, i: Insn): boolean {
  cpu.vmx.insn = i;
  const list = BY_OP[i.op];
  if (list === undefined || i.def === undefined) return false;
  for (const e of list) {
    if (!matches(e, i)) continue;
    const info = cpu.vmx.exit.reset(e.reason >= 0 ? e.reason : c7Group6Reason(cpu, i));
    if (!e.check(cpu, i)) return false;
    if (!info.hasInstr) info.instruction(i.len);
    vmExit(cpu, info);
    return true;
  }
  return false;
}

/** INT n, INT3, INTO and INT1: the exception bitmap and IDT-vectoring information need to know which one ran. */
const SOFTWARE_INTERRUPTS = new Set([0xcc, 0xcd, 0xce, 0xf1]);

/**
 * Whether `block` may run as compiled code in non-root operation, where nothing checks for VM
 * exits: none of its instructions is in the table above (or a software interrupt), and no
 * interrupt shadow ends inside it (the run loop must stop there for interrupt-window exits).
 */
export function runsWithoutExits(cpu: Cpu, block: Block): boolean {
  if (cpu.icount <= cpu.inhibitUntil) return false;
  return block.vmxQuiet ??= block.insns.every((i) => i.def !== undefined && BY_OP[i.op] === undefined && !SOFTWARE_INTERRUPTS.has(i.op));
}
