// VM exits in VMX non-root operation, one kind at a time, each with its exit information
// checked field by field against values worked out by hand from the fact sheet (sections 1-3)
// and the SDM (Vol. 3C, chapters 25 and 27). The guests run through the TypeScript API with
// `exitToHost`, so every exit stops the run loop with StopReason.VmExit.

import { describe, expect, it } from 'vitest';
import type { Cpu } from '../../src/cpu/cpu';
import { run, StopReason } from '../../src/cpu/index';
import { VMCS, vmread, VMX_SUCCEED } from '../../src/cpu/vmx/index';
import { FAULT_BASE, RamBus } from './harness';
import {
  DATA, GUEST_CODE, GUEST_STACK_TOP, launchGuest, makeVmxCpu, nextExit, PAGE_DIRECTORY, PROC_DEFAULT1, skipAndResume,
} from './vmxHarness';

const SECONDARY = 1 << 31;
const EXIT_ACK = 1 << 15;

function guest(source: string, fields: [number, number][] = [], cpu = makeVmxCpu()): Cpu {
  const status = launchGuest(cpu, source, fields);
  expect(status, cpu.vmx.entryFailure).toBe(VMX_SUCCEED);
  return cpu;
}

/** Runs until the guest halts in the harness's handler for `vector` (delivered through the guest IDT, no VM exit). */
function expectDelivered(cpu: Cpu, vector: number): void {
  run(cpu, 10_000);
  expect(cpu.stopReason).not.toBe(StopReason.VmExit);
  expect(cpu.halted).toBe(true);
  expect(cpu.eip).toBe(FAULT_BASE + vector * 16 + 1);
  expect(cpu.vmxNonRoot).toBe(true);
}

class InterruptingBus extends RamBus {
  vector = -1;
  acknowledged = 0;
  override intrPending(): boolean { return this.vector >= 0; }
  override intrAcknowledge(): number { const v = this.vector; this.vector = -1; this.acknowledged++; return v; }
}

describe('exits at instruction boundaries (SDM Vol. 3C, 25.2 and 26.7.5)', () => {
  it('interrupt-window exiting: exit 7 before the first instruction when RFLAGS.IF = 1', () => {
    const cpu = guest('nop', [[VMCS.PRIMARY_PROC, PROC_DEFAULT1 | (1 << 2)], [VMCS.GUEST_RFLAGS, 0x202]]);
    expect(nextExit(cpu)).toMatchObject({ reason: 7, rip: GUEST_CODE });
  });

  it('interrupt-window exiting waits out blocking by STI: STI, NOP, then exit 7 at the third instruction', () => {
    const cpu = guest('sti\nnop\nnop', [[VMCS.PRIMARY_PROC, PROC_DEFAULT1 | (1 << 2)]]);
    expect(nextExit(cpu)).toMatchObject({ reason: 7, rip: GUEST_CODE + 2 });
  });

  it('external-interrupt exiting with "acknowledge interrupt on exit": exit 1, interruption information 0x80000030 (valid, type 0, vector 30H), even with RFLAGS.IF = 0', () => {
    const bus = new InterruptingBus();
    const cpu = guest('nop', [[VMCS.PIN_BASED, 0x17], [VMCS.EXIT_CONTROLS, 0x36dff | EXIT_ACK]], makeVmxCpu(bus));
    bus.vector = 0x30;
    expect(nextExit(cpu)).toMatchObject({ reason: 1, intrInfo: 0x80000030, rip: GUEST_CODE });
    expect(bus.acknowledged).toBe(1);
  });

  it('without acknowledge-on-exit the interruption information is not valid and the interrupt stays pending', () => {
    const bus = new InterruptingBus();
    const cpu = guest('nop', [[VMCS.PIN_BASED, 0x17]], makeVmxCpu(bus));
    bus.vector = 0x30;
    expect(nextExit(cpu).intrInfo & 0x80000000).toBe(0);
    expect(bus.acknowledged).toBe(0);
    expect(bus.vector).toBe(0x30);
  });

  it('an external interrupt wakes a guest halted by HLT (no HLT exiting): the saved activity state is HLT (1), RIP past the HLT', () => {
    const bus = new InterruptingBus();
    const cpu = guest('hlt', [[VMCS.PIN_BASED, 0x17]], makeVmxCpu(bus));
    run(cpu, 100);
    expect(cpu.halted).toBe(true);
    bus.vector = 0x21;
    expect(nextExit(cpu)).toMatchObject({ reason: 1, rip: GUEST_CODE + 1 });
    expect(vmread(cpu, VMCS.GUEST_ACTIVITY_STATE)).toBe(1);
  });
});

describe('compiled code in non-root operation (a block runs compiled only if nothing in it can exit)', () => {
  it('a hot loop of 1000 iterations, then CPUID: the exit comes at the CPUID with exactly 1 + 2 * 1000 instructions retired', () => {
    const cpu = makeVmxCpu();
    const start = cpu.icount;
    guest('mov ecx, 1000\nl: dec ecx\njnz l\ncpuid', [], cpu);
    expect(nextExit(cpu)).toMatchObject({ reason: 10, rip: GUEST_CODE + 8 });
    expect(cpu.icount - start).toBe(1 + 2 * 1000);
    expect(cpu.regs[1]).toBe(0);
  });

  it('a hot block holding an instruction that exits stays interpreted: RDTSC exits on every one of 20 iterations', () => {
    const cpu = guest('mov ecx, 20\nl: rdtsc\ndec ecx\njnz l\ncpuid', [[VMCS.PRIMARY_PROC, PROC_DEFAULT1 | (1 << 12)]]);
    let rdtscExits = 0;
    for (let exit = nextExit(cpu); exit.reason === 16; exit = nextExit(cpu)) {
      rdtscExits++;
      skipAndResume(cpu, exit);
    }
    expect(rdtscExits).toBe(20);
  });

  it('interrupt-window exiting after STI inside a hot loop still exits right after the shadowed instruction', () => {
    const cpu = guest('mov ecx, 500\nl: dec ecx\njnz l\nsti\ninc eax\ninc eax', [[VMCS.PRIMARY_PROC, PROC_DEFAULT1 | (1 << 2)]]);
    expect(nextExit(cpu)).toMatchObject({ reason: 7, rip: GUEST_CODE + 10 });
  });
});

describe('exceptions and the exception bitmap (SDM Vol. 3C, 25.2, 27.2.2-27.2.3)', () => {
  it('#GP(30H) from MOV DS with a selector past the GDT limit: exit 0, interruption information 0x80000B0D, error code 0x30', () => {
    const cpu = guest('mov ax, 0x33\nmov ds, ax', [[VMCS.EXCEPTION_BITMAP, 1 << 13]]);
    expect(nextExit(cpu)).toMatchObject({ reason: 0, intrInfo: 0x80000b0d, intrError: 0x30, rip: GUEST_CODE + 4 });
  });

  it('#PF with bit 14 clear, mask = match = 2 (W): a read fault (PFEC 0) exits with the address as qualification and CR2 untouched', () => {
    const cpu = guest(`mov eax, [0x1000000]`, [[VMCS.PF_ERRCODE_MASK, 2], [VMCS.PF_ERRCODE_MATCH, 2]]);
    cpu.cr2 = 0xdead;
    expect(nextExit(cpu)).toMatchObject({ reason: 0, qualification: 0x1000000, intrInfo: 0x80000b0e, intrError: 0 });
    expect(cpu.cr2).toBe(0xdead);
  });

  it('... while a write fault (PFEC 2, so PFEC & mask = match) goes to the guest IDT and sets CR2', () => {
    const cpu = guest(`mov [0x1000000], eax`, [[VMCS.PF_ERRCODE_MASK, 2], [VMCS.PF_ERRCODE_MATCH, 2]]);
    expectDelivered(cpu, 14);
    expect(cpu.cr2).toBe(0x1000000);
  });

  it('INT3 with bitmap bit 3: exit 0 as a software exception (type 6): 0x80000603, instruction length 1; INT 3 (CD 03) is a software interrupt and does not exit', () => {
    expect(nextExit(guest('int3', [[VMCS.EXCEPTION_BITMAP, 1 << 3]]))).toMatchObject({ reason: 0, intrInfo: 0x80000603, instrLen: 1, rip: GUEST_CODE });
    expectDelivered(guest('int 3', [[VMCS.EXCEPTION_BITMAP, 1 << 3]]), 3);
  });

  it('#NP while delivering #UD (gate 6 not present): exit 0 for #NP(33H), IDT-vectoring information 0x80000306 for the #UD', () => {
    const cpu = makeVmxCpu();
    const idt = 0x200000;
    cpu.writePhys32(idt + 6 * 8, 0x00080000);
    cpu.writePhys32(idt + 6 * 8 + 4, 0x00000e00);   // 32-bit interrupt gate, P = 0
    guest('ud2', [[VMCS.EXCEPTION_BITMAP, 1 << 11], [VMCS.GUEST_IDTR_BASE, idt]], cpu);
    // Error code: IDT vector 6 (6 * 8), IDT bit (2), EXT (1): 0x33.
    expect(nextExit(cpu)).toMatchObject({ reason: 0, intrInfo: 0x80000b0b, intrError: 0x33, vectoring: 0x80000306, rip: GUEST_CODE });
  });

  it('a triple fault (IDT limit 0) is exit 2, with no IDT-vectoring information', () => {
    const exit = nextExit(guest('ud2', [[VMCS.GUEST_IDTR_LIMIT, 0]]));
    expect(exit.reason).toBe(2);
    expect(exit.vectoring & 0x80000000).toBe(0);
  });

  it('with bitmap bit 8 the #DF itself exits: 0x80000B08, error code 0, and it is not "during event delivery" (27.2.3)', () => {
    const exit = nextExit(guest('ud2', [[VMCS.GUEST_IDTR_LIMIT, 0], [VMCS.EXCEPTION_BITMAP, 1 << 8]]));
    expect(exit).toMatchObject({ reason: 0, intrInfo: 0x80000b08, intrError: 0 });
    expect(exit.vectoring & 0x80000000).toBe(0);
  });
});

describe('event injection (SDM Vol. 3C, 26.5)', () => {
  it('a hardware exception (#BR, type 3) is delivered through the guest IDT with RIP as the return address', () => {
    const cpu = guest('nop', [[VMCS.ENTRY_INTR_INFO, 0x80000305]]);
    expectDelivered(cpu, 5);
    expect(cpu.readPhys32(GUEST_STACK_TOP - 12)).toBe(GUEST_CODE);
  });

  it('a software interrupt (type 4) returns past an instruction of the VM-entry instruction length', () => {
    const cpu = guest('nop', [[VMCS.ENTRY_INTR_INFO, 0x80000403], [VMCS.ENTRY_INSTR_LEN, 2]]);
    expectDelivered(cpu, 3);
    expect(cpu.readPhys32(GUEST_STACK_TOP - 12)).toBe(GUEST_CODE + 2);
  });

  it('an injected #PF does not exit through the exception bitmap; the next VM exit clears the valid bit', () => {
    const cpu = guest('nop', [[VMCS.ENTRY_INTR_INFO, 0x80000b0e], [VMCS.ENTRY_EXCEPTION_ERRCODE, 2],
      [VMCS.EXCEPTION_BITMAP, 1 << 14], [VMCS.PRIMARY_PROC, PROC_DEFAULT1 | (1 << 7)]]);
    // The handler's HLT exits (HLT exiting): the #PF was delivered, with its error code on the stack.
    expect(nextExit(cpu)).toMatchObject({ reason: 12, rip: FAULT_BASE + 14 * 16 });
    expect(cpu.readPhys32(GUEST_STACK_TOP - 16)).toBe(2);
    expect(vmread(cpu, VMCS.ENTRY_INTR_INFO) & 0x80000000).toBe(0);
  });
});

describe('CR access, exit 28 (SDM Vol. 3C, 25.1.3; qualification: fact sheet section 3)', () => {
  it('MOV CR0, ECX setting TS, which the mask gives the host and the shadow has clear: qualification 0x100 (CR0, MOV to CR, ECX)', () => {
    const cpu = guest('mov ecx, cr0\nor ecx, 8\nmov cr0, ecx', [[VMCS.CR0_GUEST_HOST_MASK, 8], [VMCS.CR0_READ_SHADOW, 0]]);
    expect(nextExit(cpu)).toMatchObject({ reason: 28, qualification: 0x100, instrLen: 3, rip: GUEST_CODE + 6 });
  });

  it('MOV from CR0 reads host-owned bits from the shadow; CLTS with the shadow TS clear neither exits nor clears the real TS', () => {
    const cpu = makeVmxCpu();
    guest('mov eax, cr0\nclts\nmov ebx, cr0\ncpuid', [[VMCS.GUEST_CR0, cpu.cr0 | 8], [VMCS.CR0_GUEST_HOST_MASK, 8], [VMCS.CR0_READ_SHADOW, 0]], cpu);
    expect(nextExit(cpu).reason).toBe(10);
    expect(cpu.regs[0] & 8).toBe(0);
    expect(cpu.regs[3] & 8).toBe(0);
    expect(vmread(cpu, VMCS.GUEST_CR0) & 8).toBe(8);
  });

  it('CLTS exits when TS is host-owned and set in the shadow: qualification 0x20 (access type 2)', () => {
    const cpu = guest('clts', [[VMCS.CR0_GUEST_HOST_MASK, 8], [VMCS.CR0_READ_SHADOW, 8]]);
    expect(nextExit(cpu)).toMatchObject({ reason: 28, qualification: 0x20, instrLen: 2 });
  });

  it('LMSW changing a host-owned MP: register form 0x000B0030, memory form 0x000B0070 with the operand\'s linear address', () => {
    const fields: [number, number][] = [[VMCS.CR0_GUEST_HOST_MASK, 2], [VMCS.CR0_READ_SHADOW, 0]];
    expect(nextExit(guest('mov ax, 0x0b\nlmsw ax', fields))).toMatchObject({ reason: 28, qualification: 0x000b0030, rip: GUEST_CODE + 4 });
    const cpu = makeVmxCpu();
    cpu.writePhys32(DATA, 0x000b);
    expect(nextExit(guest(`lmsw [${DATA}]`, fields, cpu))).toMatchObject({ reason: 28, qualification: 0x000b0070, linear: DATA, instrLen: 7 });
  });

  it('MOV EDX, CR3 with CR3-store exiting (a default1 control): qualification 0x213 (CR3, MOV from CR, EDX)', () => {
    expect(nextExit(guest('mov edx, cr3'))).toMatchObject({ reason: 28, qualification: 0x213 });
  });

  it('MOV to CR3 of a CR3-target value does not exit; of another value it does (qualification 3: CR3, MOV to CR, EAX)', () => {
    const fields: [number, number][] = [[VMCS.CR3_TARGET_COUNT, 1], [VMCS.CR3_TARGET0, PAGE_DIRECTORY]];
    expect(nextExit(guest(`mov eax, ${PAGE_DIRECTORY}\nmov cr3, eax\ncpuid`, fields)).reason).toBe(10);
    expect(nextExit(guest('mov eax, 0x71000\nmov cr3, eax', fields))).toMatchObject({ reason: 28, qualification: 3 });
  });

  it('a CR4 read shadow hides VMXE; a write clearing VMXE neither exits (it matches the shadow) nor clears it', () => {
    const cpu = guest('mov eax, cr4\nmov ebx, eax\nmov cr4, ebx\ncpuid', [[VMCS.CR4_GUEST_HOST_MASK, 0x2000], [VMCS.CR4_READ_SHADOW, 0]]);
    expect(nextExit(cpu).reason).toBe(10);
    expect(cpu.regs[0]).toBe(0x10);   // PSE only
    expect(vmread(cpu, VMCS.GUEST_CR4)).toBe(0x2010);
  });
});

describe('MOV DR, exit 29 (MOV-DR exiting)', () => {
  it('MOV DR7, ECX: qualification 0x107 (DR7, to DR, ECX); MOV EAX, DR6: 0x16 (DR6, from DR, EAX)', () => {
    const fields: [number, number][] = [[VMCS.PRIMARY_PROC, PROC_DEFAULT1 | (1 << 23)]];
    expect(nextExit(guest('mov dr7, ecx', fields))).toMatchObject({ reason: 29, qualification: 0x107, instrLen: 3 });
    expect(nextExit(guest('mov eax, dr6', fields))).toMatchObject({ reason: 29, qualification: 0x16 });
  });
});

describe('I/O, exit 30, through the I/O bitmaps (SDM Vol. 3C, 25.1.3; qualification: fact sheet section 3)', () => {
  it('port 80H with its bit clear runs; IN AL, DX at 3F8H exits (0x03F80008); OUT DX, AX at 8003H exits on 8004H\'s bit in bitmap B (0x80030001); REP OUTSB: 0x03F80030 with DS:ESI as linear address', () => {
    const bus = new RamBus();
    const cpu = makeVmxCpu(bus);
    cpu.bus.ram[0x200000 + (0x3f8 >> 3)] |= 1 << (0x3f8 & 7);
    cpu.bus.ram[0x201000 + ((0x8004 & 0x7fff) >> 3)] |= 1 << (0x8004 & 7);
    guest(`
      mov dx, 0x80
      out dx, al
      mov dx, 0x3f8
      in al, dx
      mov dx, 0x8003
      out dx, ax
      mov dx, 0x3f8
      mov esi, ${DATA}
      mov ecx, 3
      rep outsb`, [[VMCS.PRIMARY_PROC, PROC_DEFAULT1 | (1 << 25)], [VMCS.IO_BITMAP_A, 0x200000], [VMCS.IO_BITMAP_B, 0x201000]], cpu);
    const first = nextExit(cpu);
    expect(first).toMatchObject({ reason: 30, qualification: 0x03f80008, instrLen: 1, rip: GUEST_CODE + 9 });
    expect(bus.ioWrites.map((w) => w.port)).toEqual([0x80]);
    skipAndResume(cpu, first);
    const second = nextExit(cpu);
    expect(second).toMatchObject({ reason: 30, qualification: 0x80030001, instrLen: 2, rip: GUEST_CODE + 14 });
    skipAndResume(cpu, second);
    expect(nextExit(cpu)).toMatchObject({ reason: 30, qualification: 0x03f80030, linear: DATA, instrLen: 2, rip: GUEST_CODE + 30 });
  });

  it('unconditional I/O exiting: OUT 0xF4, AL exits with 0x00F40040 (immediate operand)', () => {
    expect(nextExit(guest('out 0xf4, al', [[VMCS.PRIMARY_PROC, PROC_DEFAULT1 | (1 << 24)]]))).toMatchObject({ reason: 30, qualification: 0x00f40040 });
  });
});

describe('RDMSR and WRMSR, exits 31 and 32, through the MSR bitmap (SDM Vol. 3C, 24.6.9)', () => {
  it('read bit clear: RDMSR runs; write bit set: WRMSR exits; an ECX outside both ranges exits; C0000080H with its read-high bit exits', () => {
    const cpu = makeVmxCpu();
    const bitmap = 0x202000;
    cpu.bus.ram[bitmap + 0x800 + (0x174 >> 3)] |= 1 << (0x174 & 7);
    cpu.bus.ram[bitmap + 0x400 + (0x80 >> 3)] |= 1 << (0x80 & 7);
    cpu.sysenterCs = 0x5a;
    guest(`
      mov ecx, 0x174
      rdmsr
      wrmsr
      mov ecx, 0x40000000
      rdmsr
      mov ecx, 0xc0000080
      rdmsr`, [[VMCS.PRIMARY_PROC, PROC_DEFAULT1 | (1 << 28)], [VMCS.MSR_BITMAP, bitmap], [VMCS.GUEST_SYSENTER_CS, 0x5a]], cpu);
    const wr = nextExit(cpu);
    expect(wr).toMatchObject({ reason: 32, rip: GUEST_CODE + 7 });
    expect(cpu.regs[0]).toBe(0x5a);   // the RDMSR before it ran
    skipAndResume(cpu, wr);
    const unlisted = nextExit(cpu);
    expect(unlisted).toMatchObject({ reason: 31, rip: GUEST_CODE + 14 });
    skipAndResume(cpu, unlisted);
    expect(nextExit(cpu)).toMatchObject({ reason: 31, rip: GUEST_CODE + 21 });
  });
});

describe('other instruction exits (SDM Vol. 3C, 25.1.2-25.1.3; fact sheet section 1)', () => {
  const cases: [string, string, [number, number][], number, number][] = [
    ['RDTSC with RDTSC exiting', 'rdtsc', [[VMCS.PRIMARY_PROC, PROC_DEFAULT1 | (1 << 12)]], 16, 2],
    ['RDPMC with RDPMC exiting', 'rdpmc', [[VMCS.PRIMARY_PROC, PROC_DEFAULT1 | (1 << 11)]], 15, 2],
    ['INVD, always', 'invd', [], 13, 2],
    ['WBINVD with WBINVD exiting (secondary bit 6)', 'wbinvd', [[VMCS.PRIMARY_PROC, PROC_DEFAULT1 | SECONDARY], [VMCS.SECONDARY_PROC, 1 << 6]], 54, 2],
    ['PAUSE with PAUSE exiting', 'pause', [[VMCS.PRIMARY_PROC, PROC_DEFAULT1 | (1 << 30)]], 40, 2],
    ['HLT with HLT exiting', 'hlt', [[VMCS.PRIMARY_PROC, PROC_DEFAULT1 | (1 << 7)]], 12, 1],
    ['VMCALL', 'vmcall', [], 18, 3],
    ['VMLAUNCH', 'vmlaunch', [], 20, 3],
    ['VMRESUME', 'vmresume', [], 24, 3],
    ['VMXOFF', 'vmxoff', [], 26, 3],
    ['VMPTRST', `vmptrst [${DATA}]`, [], 22, 7],
    ['VMXON (F3 0F C7 /6)', `vmxon [${DATA}]`, [], 27, 8],
    ['VMWRITE', 'vmwrite ebx, eax', [], 25, 3],
  ];
  for (const [what, source, fields, reason, len] of cases) {
    it(`${what}: exit ${reason}, instruction length ${len}`, () => {
      expect(nextExit(guest(source, fields))).toMatchObject({ reason, instrLen: len, rip: GUEST_CODE });
    });
  }

  it('WBINVD without WBINVD exiting and NOP do not exit', () => {
    expect(nextExit(guest('wbinvd\nnop\ncpuid')).rip).toBe(GUEST_CODE + 3);
  });

  it('VMREAD EAX, EBX: exit 23; instruction information 0x30000400 (register operand EAX in 6:3 and bit 10, field register EBX in 31:28)', () => {
    expect(nextExit(guest('vmread eax, ebx'))).toMatchObject({ reason: 23, instrInfo: 0x30000400 });
  });

  it('VMPTRLD [disp32]: exit 21, qualification = displacement, information 0x08418080 (32-bit address, DS, no index, no base)', () => {
    expect(nextExit(guest(`vmptrld [${DATA}]`))).toMatchObject({ reason: 21, qualification: DATA, instrInfo: 0x08418080 });
  });

  it('VMCLEAR [ESI+16] (66 0F C7 /6): exit 19, qualification 16, information 0x03418080 (base ESI in 26:23)', () => {
    expect(nextExit(guest('vmclear [esi+16]'))).toMatchObject({ reason: 19, qualification: 16, instrInfo: 0x03418080, instrLen: 5 });
  });
});

describe('descriptor-table exits 46 and 47 (secondary bit 2; instruction information: SDM Vol. 3C, tables 27-10, 27-11)', () => {
  const fields: [number, number][] = [[VMCS.PRIMARY_PROC, PROC_DEFAULT1 | SECONDARY], [VMCS.SECONDARY_PROC, 1 << 2]];
  it('LGDT [disp32]: exit 46, qualification = displacement, information 0x28418880 (LGDT = 2 in 29:28, 32-bit operand, DS, no index or base)', () => {
    expect(nextExit(guest(`lgdt [${DATA}]`, fields))).toMatchObject({ reason: 46, qualification: DATA, instrInfo: 0x28418880, instrLen: 7 });
  });

  it('SIDT [ESP]: exit 46, information 0x12410880 (SIDT = 1, SS, base ESP)', () => {
    expect(nextExit(guest('sidt [esp]', fields))).toMatchObject({ reason: 46, qualification: 0, instrInfo: 0x12410880 });
  });

  it('SLDT EAX: exit 47, information 0x400 (register operand EAX, SLDT = 0)', () => {
    expect(nextExit(guest('sldt eax', fields))).toMatchObject({ reason: 47, instrInfo: 0x400, instrLen: 3 });
  });

  it('STR [EBX+8]: exit 47, qualification 8, information 0x11C18080 (STR = 1, DS, base EBX)', () => {
    expect(nextExit(guest('str [ebx+8]', fields))).toMatchObject({ reason: 47, qualification: 8, instrInfo: 0x11c18080 });
  });

  it('without the control SGDT runs: the guest sees its own GDTR', () => {
    const cpu = guest(`sgdt [${DATA}]\ncpuid`);
    expect(nextExit(cpu).reason).toBe(10);
    expect(cpu.readPhys32(DATA) & 0xffff).toBe(0x27);
  });
});

describe('TSC offsetting (SDM Vol. 3C, 25.3)', () => {
  it('RDTSC in the guest returns the TSC plus TSC_OFFSET; the host TSC is unchanged afterwards', () => {
    const cpu = guest('rdtsc\ncpuid', [[VMCS.PRIMARY_PROC, PROC_DEFAULT1 | (1 << 3)], [VMCS.TSC_OFFSET, 1_000_000], [VMCS.TSC_OFFSET + 1, 0]]);
    nextExit(cpu);
    // RDTSC ran with icount one below the count at the CPUID exit (CPUID did not retire).
    expect(cpu.regs[0] - 1_000_000).toBe(cpu.icount - 1);
    expect(cpu.tscOffset).toBe(0);
  });
});

// ---- EPT ------------------------------------------------------------------------------------------

const EPT = 0x300000;

/** Identity EPT: 4-KiB pages below 2 MiB (changed by `pages`), 2-MiB pages to 16 MiB; WB, R W X. */
function buildEpt(cpu: Cpu, pages: Record<number, number> = {}): void {
  cpu.writePhys32(EPT, (EPT + 0x1000) | 7);
  cpu.writePhys32(EPT + 0x1000, (EPT + 0x2000) | 7);
  cpu.writePhys32(EPT + 0x2000, (EPT + 0x3000) | 7);
  for (let i = 1; i < 8; i++) cpu.writePhys32(EPT + 0x2000 + i * 8, (i << 21) | 0xb7);
  for (let i = 0; i < 512; i++) cpu.writePhys32(EPT + 0x3000 + i * 8, pages[i] ?? ((i << 12) | 0x37));
}

/** An unrestricted guest with paging off (CR0 = PE NE ET) on EPT; `ad` turns on the EPT A/D flags. */
function eptGuest(source: string, pages: Record<number, number>, ad = false, extra: [number, number][] = []): Cpu {
  const cpu = makeVmxCpu();
  buildEpt(cpu, pages);
  return guest(source, [
    [VMCS.PRIMARY_PROC, PROC_DEFAULT1 | SECONDARY], [VMCS.SECONDARY_PROC, (1 << 1) | (1 << 7)],
    [VMCS.EPT_POINTER, EPT | 6 | (3 << 3) | (ad ? 1 << 6 : 0)], [VMCS.GUEST_CR0, 0x31], [VMCS.GUEST_CR3, 0], ...extra,
  ], cpu);
}

describe('EPT (SDM Vol. 3C, 28.2-28.3; qualification: fact sheet section 3)', () => {
  it('a write to a page EPT does not map: exit 48, qualification 0x182 (write, nothing allowed, linear valid, translated access)', () => {
    const cpu = eptGuest('mov dword [0x150008], 1', { 0x150: 0 });
    expect(nextExit(cpu)).toMatchObject({ reason: 48, qualification: 0x182, physical: 0x150008, linear: 0x150008, rip: GUEST_CODE });
  });

  it('a read of it: 0x181', () => {
    expect(nextExit(eptGuest('mov eax, [0x150004]', { 0x150: 0 })).qualification).toBe(0x181);
  });

  it('an instruction fetch from a read/write page without execute: 0x19C (fetch, readable, writable, linear valid, translated)', () => {
    const exit = nextExit(eptGuest('jmp 0x152000', { 0x152: (0x152 << 12) | 0x33 }));
    expect(exit).toMatchObject({ reason: 48, qualification: 0x19c, physical: 0x152000, rip: 0x152000 });
  });

  it('write-without-read and a reserved memory type (2) are EPT misconfigurations: exit 49 with the guest-physical address', () => {
    expect(nextExit(eptGuest('mov eax, [0x151000]', { 0x151: (0x151 << 12) | 0x32 }))).toMatchObject({ reason: 49, physical: 0x151000 });
    expect(nextExit(eptGuest('mov eax, [0x153000]', { 0x153: (0x153 << 12) | 0x17 }))).toMatchObject({ reason: 49, physical: 0x153000 });
  });

  it('guest-physical pages map to other host-physical pages: a write to 170010H lands at 180010H', () => {
    const cpu = eptGuest('mov dword [0x170010], 0xabcd\ncpuid', { 0x170: (0x180 << 12) | 0x37 });
    expect(nextExit(cpu).reason).toBe(10);
    expect(cpu.readPhys32(0x180010)).toBe(0xabcd);
    expect(cpu.readPhys32(0x170010)).toBe(0);
  });

  it('the guest\'s own page walk goes through EPT: its page directory unmapped gives 0x81 (read, linear valid, bit 8 clear: a paging-structure access)', () => {
    const exit = nextExit(eptGuest('nop', { 0x160: 0 }, false, [[VMCS.GUEST_CR0, 0x80000031], [VMCS.GUEST_CR3, 0x160000]]));
    expect(exit).toMatchObject({ reason: 48, qualification: 0x81, physical: 0x160000, linear: GUEST_CODE, rip: GUEST_CODE });
  });

  it('with EPT A/D flags a paging-structure access counts as a write: 0x83 (SDM Vol. 3C, 28.3.3.2)', () => {
    const exit = nextExit(eptGuest('nop', { 0x160: 0 }, true, [[VMCS.GUEST_CR0, 0x80000031], [VMCS.GUEST_CR3, 0x160000]]));
    expect(exit.qualification).toBe(0x83);
  });

  it('an EPT violation while delivering an injected #BR (its stack page unmapped): IDT-vectoring information 0x80000305', () => {
    const cpu = eptGuest('nop', { [(GUEST_STACK_TOP - 4) >>> 12]: 0 }, false, [[VMCS.ENTRY_INTR_INFO, 0x80000305]]);
    const exit = nextExit(cpu);
    expect(exit).toMatchObject({ reason: 48, qualification: 0x182, vectoring: 0x80000305, rip: GUEST_CODE });
    expect(exit.physical >>> 12).toBe((GUEST_STACK_TOP - 4) >>> 12);
  });

  it('EPT A/D flags: reading sets accessed (bit 8) on each entry used; writing a 2-MiB page sets its dirty flag (bit 9)', () => {
    const cpu = eptGuest('mov eax, [0x150000]\nmov dword [0x400000], 1\ncpuid', {}, true);
    expect(nextExit(cpu).reason).toBe(10);
    expect(cpu.readPhys32(EPT) & 0x100).toBe(0x100);
    expect(cpu.readPhys32(EPT + 0x3000 + 0x150 * 8) & 0x300).toBe(0x100);
    expect(cpu.readPhys32(EPT + 0x2000 + 2 * 8) & 0x300).toBe(0x300);
  });
});
