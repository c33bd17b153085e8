// A whole VT-x round trip, twice: a tiny hypervisor written in x86 (nasm) turns on VMX,
// programs a VMCS with EPT and launches a guest that executes CPUID, HLT, OUT, MOV to CR3,
// RDMSR, INVLPG, touches an unmapped page (#PF under the exception bitmap, which the
// hypervisor injects back into the guest) and writes a page EPT maps read/execute only;
// the hypervisor logs every exit's information fields and resumes the guest until VMCALL.
// Then vtscope's TypeScript API drives the same guest with the same VMCS. Both must see the
// exits below, whose reasons and qualifications are worked out by hand from the SDM and the
// fact sheet (sections 1 and 3).

import { describe, expect, it } from 'vitest';
import type { Cpu } from '../../src/cpu/cpu';
import { QEMU32_VMX } from '../../src/cpu/cpuid';
import { run, StopReason } from '../../src/cpu/index';
import { CR4_PSE } from '../../src/cpu/registers';
import {
  enableVmx, VMCS, vmclear, VMCS_REVISION_ID, vmlaunch, vmptrld, vmread, vmresume, vmwrite, vmxOn, VMX_SUCCEED,
} from '../../src/cpu/vmx/index';
import { nasm } from '../support/nasm';
import { CODE_BASE, IDT_BASE, makeCpu } from './harness';

// ---- the machine's memory, all inside one image loaded at CODE_BASE (0x10000) --------------------
const HOST_CODE = 0x10000, EXIT_HANDLER = 0x10800;
const GUEST_CODE = 0x11000, GUEST_PF_HANDLER = 0x11800;
const GDT = 0x12000, TSS = 0x12100, GUEST_IDT = 0x12800;
const GUEST_PD = 0x13000, GUEST_PT = 0x14000, HOST_PD = 0x15000;
const EPT_PML4 = 0x16000, EPT_PDPT = 0x17000, EPT_PD = 0x18000, EPT_PT = 0x19000;
const VMXON = 0x1a000, VMCS_REGION = 0x1b000;
const HOST_STACK_TOP = 0x1d000, GUEST_STACK_TOP = 0x1e000;
const LOG = 0x1e000, RECORD = 36;
const VARS = 0x1f000, LOG_PTR = VARS, FAIL_FLAGS = VARS + 4, FAIL_ERROR = VARS + 8, GUEST_CR2 = VARS + 12, GUEST_PFERR = VARS + 16;
const IMAGE_END = 0x20000;
/** A page the EPT maps read + execute only, and a linear address the guest's page directory leaves unmapped. */
const RO_PAGE = 0x30000, UNMAPPED = 0x400010;

/** EPTP: PML4 address, write-back (6), 4-level walk (3 << 3), accessed/dirty flags (bit 6). */
const EPTP = EPT_PML4 | 6 | (3 << 3) | (1 << 6);

/** Controls: every default1 bit, plus what this test wants to see exit (fact sheet, "Control bits"). */
const PIN = 0x16;
const PROC = 0x0401e172 /* default1, includes CR3-load/store exiting */ | (1 << 7) /* HLT */ | (1 << 9) /* INVLPG */ |
  (1 << 24) /* unconditional I/O */ | (1 << 31) /* secondary controls */;
const PROC2 = 1 << 1;   // enable EPT
const EXIT_CTLS = 0x00036dff, ENTRY_CTLS = 0x000011ff;

const CR0 = 0x80000031;   // PG NE ET PE
const FLAT_CODE_AR = 0xc09b, FLAT_DATA_AR = 0xc093;

/** The VMCS, as the hypervisor writes it (field, value); the 64-bit fields as two halves. */
const VMCS_SETTINGS: [number, number][] = [
  [VMCS.PIN_BASED, PIN], [VMCS.PRIMARY_PROC, PROC], [VMCS.SECONDARY_PROC, PROC2],
  [VMCS.EXIT_CONTROLS, EXIT_CTLS], [VMCS.ENTRY_CONTROLS, ENTRY_CTLS],
  [VMCS.EXCEPTION_BITMAP, 1 << 14], [VMCS.PF_ERRCODE_MASK, 0], [VMCS.PF_ERRCODE_MATCH, 0],
  [VMCS.EPT_POINTER, EPTP], [VMCS.EPT_POINTER + 1, 0],
  [VMCS.VMCS_LINK_PTR, -1], [VMCS.VMCS_LINK_PTR + 1, -1],
  [VMCS.HOST_CR0, CR0], [VMCS.HOST_CR3, HOST_PD], [VMCS.HOST_CR4, 0x2010],
  [VMCS.HOST_CS_SELECTOR, 0x08], [VMCS.HOST_SS_SELECTOR, 0x10], [VMCS.HOST_DS_SELECTOR, 0x10],
  [VMCS.HOST_ES_SELECTOR, 0x10], [VMCS.HOST_FS_SELECTOR, 0x10], [VMCS.HOST_GS_SELECTOR, 0x10],
  [VMCS.HOST_TR_SELECTOR, 0x18], [VMCS.HOST_TR_BASE, TSS], [VMCS.HOST_GDTR_BASE, GDT], [VMCS.HOST_IDTR_BASE, IDT_BASE],
  [VMCS.HOST_RSP, HOST_STACK_TOP], [VMCS.HOST_RIP, EXIT_HANDLER],
  [VMCS.GUEST_CR0, CR0], [VMCS.GUEST_CR3, GUEST_PD], [VMCS.GUEST_CR4, 0x2000], [VMCS.GUEST_DR7, 0x400],
  [VMCS.GUEST_RSP, GUEST_STACK_TOP], [VMCS.GUEST_RIP, GUEST_CODE], [VMCS.GUEST_RFLAGS, 2],
  [VMCS.GUEST_CS_SELECTOR, 0x08], [VMCS.GUEST_CS_BASE, 0], [VMCS.GUEST_CS_LIMIT, -1], [VMCS.GUEST_CS_AR, FLAT_CODE_AR],
  ...([VMCS.GUEST_SS_SELECTOR, VMCS.GUEST_DS_SELECTOR, VMCS.GUEST_ES_SELECTOR, VMCS.GUEST_FS_SELECTOR, VMCS.GUEST_GS_SELECTOR]
    .flatMap((sel): [number, number][] => {
      const k = (sel - VMCS.GUEST_ES_SELECTOR) / 2;
      return [[sel, 0x10], [VMCS.GUEST_ES_BASE + 2 * k, 0], [VMCS.GUEST_ES_LIMIT + 2 * k, -1], [VMCS.GUEST_ES_AR + 2 * k, FLAT_DATA_AR]];
    })),
  [VMCS.GUEST_LDTR_SELECTOR, 0], [VMCS.GUEST_LDTR_AR, 0x10000],
  [VMCS.GUEST_TR_SELECTOR, 0x18], [VMCS.GUEST_TR_BASE, TSS], [VMCS.GUEST_TR_LIMIT, 0x67], [VMCS.GUEST_TR_AR, 0x8b],
  [VMCS.GUEST_GDTR_BASE, GDT], [VMCS.GUEST_GDTR_LIMIT, 0x1f], [VMCS.GUEST_IDTR_BASE, GUEST_IDT], [VMCS.GUEST_IDTR_LIMIT, 0xff],
  [VMCS.GUEST_INTERRUPTIBILITY, 0], [VMCS.GUEST_ACTIVITY_STATE, 0], [VMCS.GUEST_PENDING_DBG, 0],
  [VMCS.GUEST_DEBUGCTL, 0], [VMCS.GUEST_DEBUGCTL + 1, 0],
];

/** What the handler logs for each exit, in this order (one dword each). */
const LOGGED = [VMCS.EXIT_REASON, VMCS.EXIT_QUALIFICATION, VMCS.EXIT_INSTR_LEN, VMCS.GUEST_LINEAR_ADDR,
  VMCS.GUEST_PHYSICAL_ADDR, VMCS.EXIT_INTR_INFO, VMCS.EXIT_INTR_ERRCODE, VMCS.IDT_VECTORING_INFO, VMCS.GUEST_RIP];

interface Exit { reason: number; qual: number; len: number; linear: number; gpa: number; intr: number; intrErr: number; vectoring: number; rip: number }

/**
 * The exits, by hand. Guest RIPs follow from the instruction lengths (SDM Vol. 2 encodings):
 * CPUID 0F A2 (2), HLT F4 (1), MOV AL,imm8 (2), OUT imm8,AL E6 ib (2), MOV DX,imm16 66 BA iw (4),
 * MOV AX,imm16 (4), OUT DX,AX 66 EF (2), MOV EBX,imm32 (5), MOV CR3,EBX 0F 22 DB (3),
 * MOV ECX,imm32 (5), RDMSR 0F 32 (2), INVLPG [disp32] 0F 01 3D d32 (7), MOV EAX,[moffs32] A1 (5),
 * MOV [disp32],imm32 C7 05 (10), VMCALL 0F 01 C1 (3).
 */
const EXPECTED: (Partial<Exit> & { what: string })[] = [
  { what: 'CPUID: exit 10, always', reason: 10, qual: 0, len: 2, rip: 0x11000 },
  { what: 'HLT: exit 12 (HLT exiting)', reason: 12, qual: 0, len: 1, rip: 0x11002 },
  // I/O qualification: size-1 = 0, OUT (bit 3 = 0), immediate operand (bit 6), port 0x80 in 31:16.
  { what: 'OUT 0x80, AL: exit 30', reason: 30, qual: 0x00800040, len: 2, rip: 0x11005 },
  // size-1 = 1 (two bytes), OUT, DX operand (bit 6 = 0), port 0x3F8.
  { what: 'OUT DX, AX: exit 30', reason: 30, qual: 0x03f80001, len: 2, rip: 0x1100f },
  // CR access: CR number 3 in 3:0, access type 0 (MOV to CR) in 5:4, GPR 3 (EBX) in 11:8.
  { what: 'MOV CR3, EBX: exit 28 (CR3-load exiting, no CR3-target values)', reason: 28, qual: 0x303, len: 3, rip: 0x11016 },
  { what: 'RDMSR: exit 31 (no MSR bitmaps)', reason: 31, qual: 0, len: 2, rip: 0x1101e },
  // INVLPG: the qualification is the linear-address operand.
  { what: 'INVLPG [0x12345000]: exit 14', reason: 14, qual: 0x12345000, len: 7, rip: 0x11020 },
  // #PF, exception bitmap bit 14 with mask = match = 0: qualification = faulting linear address; interruption
  // information = valid (31) | error code valid (11) | hardware exception (3 << 8) | vector 14 = 0x80000B0E;
  // error code 0: not present, read, supervisor.
  { what: '#PF at 0x400010: exit 0', reason: 0, qual: UNMAPPED, intr: 0x80000b0e, intrErr: 0, rip: 0x11027 },
  // EPT violation qualification: write (bit 1) | the entries allow read (bit 3) and execute (bit 5) | linear
  // address valid (bit 7) | access to the translated address, not a page walk (bit 8) = 0x1AA.
  { what: 'write to an EPT read/execute page: exit 48', reason: 48, qual: 0x1aa, linear: RO_PAGE + 0x10, gpa: RO_PAGE + 0x10, rip: 0x1102c },
  { what: 'VMCALL: exit 18', reason: 18, qual: 0, len: 3, rip: 0x11036 },
];

function tableSource(): string {
  return VMCS_SETTINGS.map(([f, v]) => `dd 0x${f.toString(16)}, 0x${(v >>> 0).toString(16)}`).join('\n');
}

/** `times` padding that puts the next byte at absolute address `addr`. */
const at = (addr: number): string => `times 0x${(addr - CODE_BASE).toString(16)} - ($ - $$) db 0`;

function hex(v: number): string { return `0x${(v >>> 0).toString(16)}`; }

/** The TSS descriptor (32-bit available TSS, type 9, present) and the guest's #PF interrupt gate. */
const TSS_DESCRIPTOR = [((TSS & 0xffff) << 16) | 0x67, ((TSS >>> 16) & 0xff) | 0x8900 | (TSS & 0xff000000)];
const PF_GATE = [(0x08 << 16) | (GUEST_PF_HANDLER & 0xffff), (GUEST_PF_HANDLER & 0xffff0000) | 0x8e00];

const IMAGE = `
bits 32
org ${hex(CODE_BASE)}

; ---- the hypervisor --------------------------------------------------------------------------
host_start:
  lgdt [gdt_desc]
  jmp 0x08:.flat
.flat:
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  mov fs, ax
  mov gs, ax
  mov ss, ax
  mov esp, ${hex(HOST_STACK_TOP)}
  mov ax, 0x18
  ltr ax
  mov eax, ${hex(HOST_PD)}
  mov cr3, eax
  mov eax, cr4
  or eax, 0x2010                  ; VMXE | PSE
  mov cr4, eax
  mov eax, cr0
  or eax, 0x80000020              ; PG | NE: IA32_VMX_CR0_FIXED0
  mov cr0, eax
  mov ecx, 0x3a                   ; IA32_FEATURE_CONTROL: lock, VMXON outside SMX
  mov eax, 5
  xor edx, edx
  wrmsr
  mov ecx, 0x480                  ; IA32_VMX_BASIC: the revision identifier
  rdmsr
  mov [${hex(VMXON)}], eax
  mov [${hex(VMCS_REGION)}], eax
  mov dword [${hex(LOG_PTR)}], ${hex(LOG)}
  vmxon [vmxon_ptr]
  jbe fail
  vmclear [vmcs_ptr]
  jbe fail
  vmptrld [vmcs_ptr]
  jbe fail
  mov esi, vmcs_table
.write:
  mov eax, [esi]
  cmp eax, -1
  je .written
  vmwrite eax, [esi + 4]
  jbe fail
  add esi, 8
  jmp .write
.written:
  vmlaunch
fail:
  pushfd
  pop dword [${hex(FAIL_FLAGS)}]
  mov eax, 0x4400
  vmread [${hex(FAIL_ERROR)}], eax
failed:
  hlt

vmxon_ptr: dq ${hex(VMXON)}
vmcs_ptr: dq ${hex(VMCS_REGION)}
gdt_desc: dw 0x1f
  dd ${hex(GDT)}
vmcs_table:
${tableSource()}
  dd -1

${at(EXIT_HANDLER)}
exit_handler:
  mov edi, [${hex(LOG_PTR)}]
${LOGGED.map((f, k) => `  mov eax, ${hex(f)}\n  vmread [edi + ${4 * k}], eax`).join('\n')}
  add dword [${hex(LOG_PTR)}], ${RECORD}
  mov eax, [edi]
  cmp eax, 48
  je .ept_violation
  cmp eax, 0
  je .exception
  cmp eax, 18
  je finished
  mov eax, 0x681e                 ; skip the instruction: GUEST_RIP += EXIT_INSTR_LEN
  vmread ebx, eax
  add ebx, [edi + 8]
  vmwrite eax, ebx
.resume:
  vmresume
  jmp fail
.ept_violation:                   ; let the guest write the page, and retry the instruction
  mov eax, [edi + 16]
  shr eax, 12
  or dword [${hex(EPT_PT)} + eax * 8], 2
  jmp .resume
.exception:                       ; give the #PF to the guest: CR2, then inject it on entry
  mov eax, [edi + 4]
  mov cr2, eax
  mov eax, 0x4016
  vmwrite eax, [edi + 20]
  mov eax, 0x4018
  vmwrite eax, [edi + 24]
  jmp .resume
finished:
  hlt

; ---- the guest ----------------------------------------------------------------------------------
${at(GUEST_CODE)}
  cpuid
  hlt
  mov al, 0x41
  out 0x80, al
  mov dx, 0x3f8
  mov ax, 0x4142
  out dx, ax
  mov ebx, ${hex(GUEST_PD)}
  mov cr3, ebx
  mov ecx, 0x10
  rdmsr
  invlpg [0x12345000]
  mov eax, [${hex(UNMAPPED)}]
  mov dword [${hex(RO_PAGE + 0x10)}], 0x12345678
  vmcall
  jmp $

${at(GUEST_PF_HANDLER)}
  push eax
  mov eax, cr2
  mov [${hex(GUEST_CR2)}], eax
  mov eax, [esp + 4]
  mov [${hex(GUEST_PFERR)}], eax
  pop eax
  add esp, 4                      ; the error code
  add dword [esp], 5              ; past the 5-byte MOV EAX, [moffs32]
  iretd

; ---- tables -------------------------------------------------------------------------------------
${at(GDT)}
  dq 0
  dq 0x00cf9a000000ffff
  dq 0x00cf92000000ffff
  dd ${hex(TSS_DESCRIPTOR[0])}, ${hex(TSS_DESCRIPTOR[1])}
${at(GUEST_IDT)}
  times 14 dq 0
  dd ${hex(PF_GATE[0])}, ${hex(PF_GATE[1])}
  times 17 dq 0
${at(GUEST_PD)}
  dd ${hex(GUEST_PT + 3)}         ; 0-4 MiB through the page table; 4-8 MiB not present
${at(GUEST_PT)}
%assign i 0
%rep 1024
  dd (i << 12) | 3
%assign i i+1
%endrep
${at(HOST_PD)}
  dd 0x83, 0x400083, 0x800083, 0xc00083
${at(EPT_PML4)}
  dq ${hex(EPT_PDPT + 7)}
${at(EPT_PDPT)}
  dq ${hex(EPT_PD + 7)}
${at(EPT_PD)}
  dq ${hex(EPT_PT + 7)}
%assign i 1
%rep 7
  dq (i << 21) | 0xb7             ; 2-MiB pages: large (bit 7), write-back (6 << 3), R W X
%assign i i+1
%endrep
${at(EPT_PT)}
%assign i 0
%rep 512
%if i == ${RO_PAGE >>> 12}
  dq (i << 12) | 0x35             ; write-back, read + execute
%else
  dq (i << 12) | 0x37             ; write-back, read + write + execute
%endif
%assign i i+1
%endrep
${at(IMAGE_END)}
`;

let image: Uint8Array | undefined;
function loadImage(cpu: Cpu): void {
  image ??= nasm(IMAGE);
  cpu.bus.ram.set(image, CODE_BASE);
  cpu.code.invalidateAll();
}

function readLog(cpu: Cpu, count: number): Exit[] {
  const out: Exit[] = [];
  for (let n = 0; n < count; n++) {
    const d = (k: number) => cpu.readPhys32(LOG + n * RECORD + 4 * k) >>> 0;
    out.push({ reason: d(0), qual: d(1), len: d(2), linear: d(3), gpa: d(4), intr: d(5), intrErr: d(6), vectoring: d(7), rip: d(8) });
  }
  return out;
}

function checkExits(log: Exit[]): void {
  expect(log.length).toBe(EXPECTED.length);
  EXPECTED.forEach(({ what, ...want }, k) => {
    const got = log[k];
    expect({ ...pick(got, Object.keys(want) as (keyof Exit)[]) }, what).toEqual(want);
    // None of these exits happens while an event is being delivered (SDM Vol. 3C, 27.2.3).
    expect(got.vectoring & 0x80000000, `${what}: IDT-vectoring information`).toBe(0);
    if (got.reason !== 0) expect(got.intr & 0x80000000, `${what}: exit interruption information`).toBe(0);
  });
}

function pick(e: Exit, keys: (keyof Exit)[]): Partial<Exit> {
  const o: Partial<Exit> = {};
  for (const k of keys) o[k] = e[k];
  return o;
}

/** What the guest and the EPT look like once the guest reached VMCALL. */
function checkAftermath(cpu: Cpu): void {
  // The injected #PF reached the guest's handler with CR2 and the error code the hypervisor gave.
  expect(cpu.readPhys32(GUEST_CR2) >>> 0).toBe(UNMAPPED);
  expect(cpu.readPhys32(GUEST_PFERR)).toBe(0);
  // After the hypervisor granted write access the retried write went through.
  expect(cpu.readPhys32(RO_PAGE + 0x10) >>> 0).toBe(0x12345678);
  // EPT A/D flags (EPTP bit 6): accessed (bit 8) on every entry used, dirty (bit 9) on written leaves only.
  const leaf = (page: number) => cpu.readPhys32(EPT_PT + page * 8);
  expect(leaf(RO_PAGE >>> 12) & 0x3ff).toBe(0x37 | 0x100 | 0x200);
  expect(leaf(GUEST_CODE >>> 12) & 0x300).toBe(0x100);
  expect(leaf(VARS >>> 12) & 0x300).toBe(0x300);
  expect(cpu.readPhys32(EPT_PML4) & 0x100).toBe(0x100);
}

describe('a guest hypervisor in x86 (SDM Vol. 3C, chapters 24-28)', () => {
  it('launches a guest whose CPUID, HLT, OUT, MOV CR3, RDMSR, INVLPG, #PF and EPT violation exit with the SDM reasons and qualifications, and resumes it to VMCALL', () => {
    const cpu = makeCpu();
    cpu.model = QEMU32_VMX;
    loadImage(cpu);
    cpu.eip = HOST_CODE;
    for (let n = 0; n < 200 && !cpu.halted; n++) {
      run(cpu, 10_000);
      if (cpu.stopReason === StopReason.TripleFault) throw new Error(cpu.stopMessage);
    }
    const stoppedAt = cpu.eip - 1;
    if (stoppedAt !== EXIT_HANDLER && cpu.readPhys32(FAIL_FLAGS) !== 0) {
      throw new Error(`VMX failure: flags ${hex(cpu.readPhys32(FAIL_FLAGS))} error ${cpu.readPhys32(FAIL_ERROR)} (${cpu.vmx.entryFailure})`);
    }
    const count = (cpu.readPhys32(LOG_PTR) - LOG) / RECORD;
    checkExits(readLog(cpu, count));
    checkAftermath(cpu);
    expect(cpu.vmxNonRoot).toBe(false);
  });
});

describe("vtscope's TypeScript VMM API on the same guest (exitToHost, StopReason.VmExit)", () => {
  it('sees the same exits, handles them the same way, and the guest ends the same', () => {
    const cpu = makeCpu();
    cpu.model = QEMU32_VMX;
    loadImage(cpu);
    cpu.vmx.exitToHost = true;
    // What the x86 hypervisor does before VMXON, the host way.
    enableVmx(cpu);
    cpu.cr4 |= CR4_PSE;
    cpu.cr3 = HOST_PD;
    cpu.writePhys32(VMXON, VMCS_REVISION_ID);
    cpu.writePhys32(VMCS_REGION, VMCS_REVISION_ID);
    expect(vmxOn(cpu, VMXON)).toBe(VMX_SUCCEED);
    expect(vmclear(cpu, VMCS_REGION)).toBe(VMX_SUCCEED);
    expect(vmptrld(cpu, VMCS_REGION)).toBe(VMX_SUCCEED);
    for (const [f, v] of VMCS_SETTINGS) vmwrite(cpu, f, v);
    // The host page directory, the guest's tables and the EPT come with the image, as for the x86 hypervisor.
    const log: Exit[] = [];
    let status = vmlaunch(cpu);
    for (let n = 0; n < 50; n++) {
      expect(status, cpu.vmx.entryFailure).toBe(VMX_SUCCEED);
      run(cpu, 100_000);
      expect(cpu.stopReason).toBe(StopReason.VmExit);
      const [reason, qual, len, linear, gpa, intr, intrErr, vectoring, rip] = LOGGED.map((f) => vmread(cpu, f) >>> 0);
      log.push({ reason, qual, len, linear, gpa, intr, intrErr, vectoring, rip });
      if (reason === 18) break;
      if (reason === 48) {
        const entry = EPT_PT + (gpa >>> 12) * 8;
        cpu.writePhys32(entry, cpu.readPhys32(entry) | 2);
      } else if (reason === 0) {
        cpu.cr2 = qual;
        vmwrite(cpu, VMCS.ENTRY_INTR_INFO, intr);
        vmwrite(cpu, VMCS.ENTRY_EXCEPTION_ERRCODE, intrErr);
      } else {
        vmwrite(cpu, VMCS.GUEST_RIP, rip + len);
      }
      status = vmresume(cpu);
    }
    checkExits(log);
    checkAftermath(cpu);
    // After the exit the CPU holds the host state of the VMCS.
    expect(cpu.vmxNonRoot).toBe(false);
    expect(cpu.eip).toBe(EXIT_HANDLER);
    expect(cpu.cr3).toBe(HOST_PD);
  });
});
