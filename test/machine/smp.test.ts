/**
 * Several processors (`Machine({ cpus: N })`) against `qemu-system-i386 -smp N`: what the
 * firmware and CPUID tell a kernel about them, and a kernel that starts its application
 * processors with INIT-SIPI-SIPI through a real-mode trampoline at 0x8000. The kernel's output
 * is made deterministic under QEMU too (its vCPUs run in parallel threads there): the
 * processors print in APIC ID order by taking turns on a ticket, and the bootstrap processor
 * waits for each fixed IPI's answer before sending the next.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine';
import { restoreSnapshot, takeSnapshot } from '../../src/machine/snapshot';
import type { ExitRecord } from '../../src/vmm/exitLog';
import type { MemVirtName } from '../../src/vmm/hw/memoryVirtualization';
import { createVmm, type ModeName, type VmmRunResult } from '../../src/vmm/vmm';
import { QEMU, qemuAvailable } from '../support/qemu';
import { AP_STARTUP_CODE, hexBytes, probeImage, sections, START_APS } from './probeKernel';
import { runQemuProbe } from '../support/qemuDevices';

/** What the probe printed under vtscope with `cpus` processors, and how many instructions that took. */
function runSmp(image: Uint8Array, cpus: number): { out: string; instructions: number } {
  const m = new Machine({ cpus });
  let out = '';
  m.onSerialOutput = (b) => { out += String.fromCharCode(b); };
  m.load(image);
  const result = m.run({ maxInstructions: 50_000_000 });
  if (result.haltReason !== 'exit') throw new Error(`probe did not exit: ${result.message}\n${out}`);
  return { out, instructions: result.instructions };
}

/** In the MP configuration table: the checksum, the entry count, the first processor entry's features. */
const CHECKSUM = 7, ENTRY_COUNT = 34, FEATURES = 44 + 8;

async function runQemuSmp(image: Uint8Array, cpus: number): Promise<string> {
  const r = await runQemuProbe(image, { args: ['-smp', String(cpus)] });
  // isa-debug-exit with 0 ends QEMU with status 1.
  if (r.status !== 1) throw new Error(`${QEMU} -smp ${cpus} did not exit through isa-debug-exit (status ${r.status}):\n${r.serial}`);
  return r.serial;
}

/** CPUID leaves 1 and 4, the CMOS processor count, fw_cfg's count, and the MP configuration table. */
const FIRMWARE_PROBE = probeImage(`
main:
  title 'cpuid 1'
  mov eax, 1
  cpuid
  call hex32
  call space
  mov eax, ebx
  call hex32
  call space
  mov eax, ecx
  call hex32
  call space
  mov eax, edx
  call hex32
  call nl
  title 'cpuid 4'
  xor esi, esi
.leaf4:
  mov eax, 4
  mov ecx, esi
  cpuid
  call hex32
  call space
  inc esi
  cmp esi, 5
  jne .leaf4
  call nl
  title 'cmos 5f'
  mov al, 0x5f
  out 0x70, al
  in al, 0x71
  call hex8
  call nl
  title 'fw_cfg cpus'
  mov dx, 0x510
  mov ax, 5
  out dx, ax
  mov dx, 0x511
  in al, dx
  call hex8
  in al, dx
  call hex8
  call nl
  title 'mp config'
  mov esi, 0xf0000
.scan:
  cmp dword [esi], '_MP_'
  je .found
  add esi, 16
  cmp esi, 0x100000
  jne .scan
  jmp exit
.found:
  mov esi, [esi + 4]
  mov eax, esi
  call hex32
  call nl
  movzx ecx, word [esi + 4]
  call dump
  jmp exit
`);

/**
 * The bootstrap processor copies the trampoline to 0x8000, reads the processor count from
 * fw_cfg, sends INIT, STARTUP, STARTUP to all others and waits for them. Each application
 * processor switches to protected mode (LGDT with a 16-bit operand: the base's top byte, 0xFF
 * here, is ignored), takes a stack by APIC ID, adds 1 to a shared counter with LOCK XADD,
 * enables its local APIC and, when the ticket shows its APIC ID, prints its APIC ID from the
 * APIC's ID register and from CPUID, passes the ticket on and halts with interrupts enabled.
 * The bootstrap processor then prints the counter and wakes each one with a fixed IPI to its
 * APIC ID; the handler prints who took it and answers.
 */
const SMP_KERNEL = probeImage(`
%define APIC 0xfee00000

main:
  set_gate 0x40, ipi_handler
  mov dx, 0x510
  mov ax, 5
  out dx, ax
  mov dx, 0x511
  in al, dx
  movzx eax, al
  mov [cpus], eax
  mov esi, msg_bsp
  call puts
  call hex8
  call nl
  mov dword [ticket], 1
${START_APS}.wait_all:
  pause
  mov eax, [ticket]
  cmp eax, [cpus]
  jne .wait_all
  mov esi, msg_count
  call puts
  mov eax, [counter]
  call hex32
  call nl
  mov ebx, 1
.wake:
  cmp ebx, [cpus]
  je .done
  mov dword [answer], -1
  mov eax, ebx
  shl eax, 24
  mov [APIC + 0x310], eax
  mov dword [APIC + 0x300], 0x00004040     ; fixed, vector 0x40, to APIC ID EBX
.wait_answer:
  pause
  cmp [answer], ebx
  jne .wait_answer
  inc ebx
  jmp .wake
.done:
  mov esi, msg_done
  call puts
  jmp exit

${AP_STARTUP_CODE}
bits 32

ap_main:
  ap_enter
  mov eax, 1
  lock xadd [counter], eax
  mov dword [APIC + 0xf0], 0x1ff
.my_turn:
  pause
  cmp [ticket], edi
  jne .my_turn
  mov esi, msg_ap
  call puts
  mov eax, edi
  call hex8
  call space
  mov eax, 1
  cpuid
  shr ebx, 16
  mov eax, ebx
  call hex8
  shr eax, 8
  call space
  call hex8
  call nl
  lock inc dword [ticket]
  sti
.idle:
  hlt
  jmp .idle

ipi_handler:
  push eax
  push esi
  mov esi, msg_ipi
  call puts
  mov eax, [APIC + 0x20]
  shr eax, 24
  call hex8
  call nl
  mov dword [APIC + 0xb0], 0
  mov [answer], eax
  pop esi
  pop eax
  iret

msg_bsp: db 'BSP cpus ', 0
msg_ap: db 'AP ', 0
msg_count: db 'counter ', 0
msg_ipi: db 'IPI taken by ', 0
msg_done: db 'done', 10, 0
align 4
cpus: dd 0
ticket: dd 0
counter: dd 0
answer: dd 0
`);

/**
 * What SMP_KERNEL prints with 4 processors (QEMU's: see the tests against QEMU below).
 * CPUID.01H:EBX[23:16] is the count of logical processors, [31:24] the initial APIC ID.
 */
const SMP_KERNEL_OUTPUT_4 = [
  'BSP cpus 04', 'AP 01 04 01', 'AP 02 04 02', 'AP 03 04 03', 'counter 00000003',
  'IPI taken by 01', 'IPI taken by 02', 'IPI taken by 03', 'done', '',
].join('\n');

/**
 * Self-modifying code across processors: the bootstrap processor runs `constant` often
 * enough to have it decoded and compiled, then the application processor rewrites its
 * immediate; the bootstrap processor's next call must see the new instruction.
 */
const CROSS_SMC_KERNEL = probeImage(`
%define APIC 0xfee00000
main:
  mov ecx, 100
.warm:
  call constant
  loop .warm
  call hex32
  call nl
${START_APS}
.wait:
  pause
  cmp dword [patched], 1
  jne .wait
  call constant
  call hex32
  call nl
  jmp exit

constant:
  mov eax, 0x11111111
  ret

${AP_STARTUP_CODE}
ap_main:
  mov ax, 0x10
  mov ds, ax
  mov dword [constant + 1], 0x22222222
  mov dword [patched], 1
.idle:
  cli
  hlt
  jmp .idle

align 4
patched: dd 0
`);

describe('several processors on the machine', () => {
  it('rejects a processor count outside 1 to 8', () => {
    expect(() => new Machine({ cpus: 0 })).toThrow(/1 to 8 processors, not 0/);
    expect(() => new Machine({ cpus: 9 })).toThrow(/1 to 8 processors, not 9/);
  });

  it('starts the application processors through INIT-SIPI-SIPI, the same way on every run', () => {
    const first = runSmp(SMP_KERNEL, 4), second = runSmp(SMP_KERNEL, 4);
    expect(first.out).toBe(SMP_KERNEL_OUTPUT_4);
    expect(second).toEqual(first);
    // Cut into small slices, as the debugger runs it: the same schedule, so the same run.
    const m = new Machine({ cpus: 4 });
    let out = '';
    m.onSerialOutput = (b) => { out += String.fromCharCode(b); };
    m.load(SMP_KERNEL);
    let result;
    do result = m.runSlice(777); while (result === undefined);
    expect({ out, instructions: result.instructions }).toEqual(first);
  });

  it('drops code one processor cached when another one writes it', () => {
    expect(runSmp(CROSS_SMC_KERNEL, 2).out).toBe('11111111\n22222222\n');
  });

  it('restores all processors from a snapshot and runs the same again', () => {
    const m = new Machine({ cpus: 3 });
    let out = '';
    m.onSerialOutput = (b) => { out += String.fromCharCode(b); };
    m.load(SMP_KERNEL);
    // Part way: once the application processors have started, before they have all printed.
    while (!m.cpus[2].protectedMode) expect(m.runSlice(10)).toBeUndefined();
    expect(out).toMatch(/^BSP cpus 03\n(A|AP 0|AP 01 03 01\n)?$/);
    const snapshot = takeSnapshot(m), printed = out.length;
    const first = m.run({ maxInstructions: 50_000_000 }), rest = out.slice(printed);
    restoreSnapshot(m, snapshot);
    out = '';
    const again = m.run({ maxInstructions: 50_000_000 });
    expect(out).toBe(rest);
    expect(again).toEqual(first);
    expect(first.haltReason).toBe('exit');
  });

  it('leaves the application processors halted until a kernel starts them', () => {
    const m = new Machine({ cpus: 2 });
    m.load(probeImage('main:\n  jmp exit\n'));
    expect(m.cpus[1].halted).toBe(true);
    expect(m.cpus[1].protectedMode).toBe(false);
    expect(m.run({ maxInstructions: 1_000_000 }).haltReason).toBe('exit');
  });
});

interface VmmRun { out: string; result: VmmRunResult; icounts: number[]; records: ExitRecord[] }

/** What a run under a VMM mode printed, each processor's instruction count, and every exit record (the ring keeps only the last ones). */
function runUnderVmm(image: Uint8Array, mode: ModeName, cpus: number, memVirt?: MemVirtName): VmmRun {
  const vmm = createVmm(mode, { cpus, memVirt });
  let out = '';
  const records: ExitRecord[] = [];
  vmm.machine.onSerialOutput = (b) => { out += String.fromCharCode(b); };
  vmm.log.onRecord = (_, seq) => { records.push(...vmm.log.records(seq, 1)); };
  vmm.load(image);
  const result = vmm.run({ maxInstructions: 50_000_000 });
  return { out, result, icounts: vmm.machine.cpus.map((cpu) => cpu.icount), records };
}

describe('several processors under the VMM modes, a virtual CPU per processor', () => {
  const modes: [ModeName, MemVirtName | undefined][] = [['trap', undefined], ['bt', undefined], ['hw', 'shadow'], ['hw', 'ept']];
  // STARTUP vector 0x08 starts the trampoline at CS 0x0800, IP 0. Its bytes (bits 16): CLI (FA),
  // MOV AX,CS (8C C8), MOV DS,AX (8E D8), LGDT [disp16] (0F 01 16 + 2), MOV EAX,CR0 (0F 20 C0,
  // no operand-size prefix: control-register moves are 32-bit in any mode), OR AL,1 (0C 01),
  // MOV CR0,EAX (0F 22 C0): the seven instructions the VMM emulates, up to the one setting CR0.PE.
  // Under hw with EPT the unrestricted guest runs them in non-root operation: none is emulated.
  const REAL_MODE_IPS = ['0000', '0001', '0003', '0005', '000a', '000d', '000f'];

  for (const [mode, memVirt] of modes) {
    const name = memVirt === undefined ? mode : `${mode} (${memVirt})`;
    it(`the INIT-SIPI-SIPI kernel prints QEMU's output under ${name} with 4 vCPUs, each running native's instructions`, () => {
      const m = new Machine({ cpus: 4 });
      m.load(SMP_KERNEL);
      expect(m.run({ maxInstructions: 50_000_000 }).haltReason).toBe('exit');
      const run = runUnderVmm(SMP_KERNEL, mode, 4, memVirt);
      expect(run.out).toBe(SMP_KERNEL_OUTPUT_4);
      expect(run.result.haltReason, run.result.message).toBe('exit');
      // Turns are counted in guest instructions, which no VMM event changes: the same schedule.
      expect(run.icounts).toEqual(m.cpus.map((cpu) => cpu.icount));
      for (let k = 1; k < 4; k++) {
        const emulated = run.records.filter((r) => r.reason === 'emulate real mode' && r.vcpu === k);
        const expected = memVirt === 'ept' ? [] : REAL_MODE_IPS.map((ip) => `real-mode instruction at 0800:${ip}`);
        expect(emulated.map((r) => r.qualification), `vCPU ${k}`).toEqual(expected);
      }
      expect(run.records.some((r) => r.reason === 'emulate real mode' && r.vcpu === 0)).toBe(false);
      if (mode !== 'hw') return;
      // Only the application processors run CPUID (once each, leaf 1) and HLT: each halts after
      // its turn, in ticket order, and again once its IPI handler has returned to `.idle`.
      expect(run.records.filter((r) => r.reason === 'CPUID').map((r) => [r.vcpu, r.qualification])).toEqual(
        [1, 2, 3].map((k) => [k, 'CPUID leaf 0x1']));
      expect(run.records.filter((r) => r.reason === 'HLT').map((r) => r.vcpu)).toEqual([1, 2, 3, 1, 2, 3]);
    });
  }
});

describe.skipIf(!qemuAvailable())('several processors against qemu-system-i386 -smp N', () => {
  it('the cross-processor self-modifying code kernel prints what it prints under QEMU', async () => {
    expect(runSmp(CROSS_SMC_KERNEL, 2).out).toBe(await runQemuSmp(CROSS_SMC_KERNEL, 2));
  });

  for (const cpus of [2, 4]) {
    it(`CPUID, CMOS, fw_cfg and the MP table are QEMU's with ${cpus} processors`, async () => {
      const ours = sections(runSmp(FIRMWARE_PROBE, cpus).out), qemu = sections(await runQemuSmp(FIRMWARE_PROBE, cpus));
      // vtscope's model leaves out PAE, MMX, SSE, SSE2 (EDX) and SSE3 (ECX) (cpuid.ts): those
      // bits aside, leaf 1 is QEMU's, with the count in EBX[23:16] and HTT (EDX bit 28) set.
      const leaf1 = (s: Map<string, string>) => s.get('cpuid 1')!.trim().split(' ').map((v) => parseInt(v, 16));
      const [o, q] = [leaf1(ours), leaf1(qemu)];
      const NOT_MODELLED_EDX = 0x06800040, NOT_MODELLED_ECX = 1;
      expect(o).toEqual([q[0], q[1], (q[2] & ~NOT_MODELLED_ECX) >>> 0, (q[3] & ~NOT_MODELLED_EDX) >>> 0]);
      expect((o[1] >>> 16) & 0xff).toBe(cpus);
      expect(o[3] & (1 << 28)).not.toBe(0);
      expect(ours.get('cpuid 4')).toBe(qemu.get('cpuid 4'));
      expect(ours.get('cmos 5f')).toBe(qemu.get('cmos 5f'));
      expect(ours.get('fw_cfg cpus')).toBe(`0${cpus}00\n`);
      expect(ours.get('fw_cfg cpus')).toBe(qemu.get('fw_cfg cpus'));
      // SeaBIOS lists one processor entry per package, and -smp N is one package of N cores;
      // the entry's feature flags are CPUID's (compared above), and the checksum with them.
      const table = (s: Map<string, string>) => {
        const [address, ...bytes] = s.get('mp config')!.trim().split('\n');
        const t = hexBytes(bytes.join('\n'));
        const view = new DataView(t.buffer);
        expect(view.getUint32(FEATURES, true)).toBe(leaf1(s)[3]);
        view.setUint32(FEATURES, 0);
        t[CHECKSUM] = 0;
        return { address, entries: view.getUint16(ENTRY_COUNT, true), bytes: [...t] };
      };
      expect(table(ours)).toEqual(table(qemu));
      expect(table(ours).entries).toBe(18);
    });

    it(`the INIT-SIPI-SIPI kernel prints what it prints under QEMU with ${cpus} processors`, async () => {
      expect(runSmp(SMP_KERNEL, cpus).out).toBe(await runQemuSmp(SMP_KERNEL, cpus));
    });
  }
});
