/**
 * What a kernel relies on when two processors share memory structures, under every mode that
 * runs several processors: a page-table write one processor makes is seen by the other once it
 * flushes its TLB (MOV CR3 or INVLPG, SDM Vol. 3A, 4.10.4), and a descriptor-table write is seen
 * by the next segment load on any processor, while a segment register already loaded keeps the
 * descriptor it was loaded with (its hidden part, SDM Vol. 3A, 3.4.3). The expected output is
 * worked out by hand below and checked against qemu-system-i386 -smp 2.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine';
import type { MemVirtName } from '../../src/vmm/hw/memoryVirtualization';
import { createVmm, type ModeName } from '../../src/vmm/vmm';
import { AP_STARTUP_CODE, probeImage, START_APS } from '../machine/probeKernel';
import { QEMU, qemuAvailable } from '../support/qemu';
import { runQemuProbe } from '../support/qemuDevices';

/**
 * The bootstrap processor (BSP) and the application processor (AP) take turns: the BSP sets
 * `go` to a step number and waits for the AP to set `done` to it, so only one of them prints at
 * a time, in the same order under QEMU (whose vCPUs run in parallel) as here.
 *
 * Page tables: a page directory with the low 4 MiB identity-mapped by 4 KiB pages and one more
 * page table whose first entry maps the window at linear 0x400000 to frame A, B or C, each
 * holding its own dword. Descriptor tables: one GDT for both, with data segments 0x18 and 0x20
 * based at `seg_p` (set before the AP starts) until the BSP moves them.
 */
const COHERENCE_KERNEL = probeImage(`
%define APIC 0xfee00000
%define WINDOW 0x400000
%define PRESENT_RW 3

; the BSP lets the AP take step N and waits until it has
%macro step 1
  mov dword [go], %1
%%wait:
  pause
  cmp dword [done], %1
  jne %%wait
%endmacro

; the AP waits for step N
%macro await 1
%%wait:
  pause
  cmp dword [go], %1
  jne %%wait
%endmacro

; prints "text EAX" on a line
%macro report 1
  jmp %%after
%%text: db %1, ' ', 0
%%after:
  push esi
  mov esi, %%text
  call puts
  pop esi
  call hex32
  call nl
%endmacro

; points the window's page-table entry at a frame
%macro map_window 1
  mov dword [window_pt], %1 + PRESENT_RW
%endmacro

; sets the base of GDT entry SELECTOR to ADDRESS
%macro set_base 2
  mov eax, %2
  mov [shared_gdt + %1 + 2], ax
  shr eax, 16
  mov [shared_gdt + %1 + 4], al
  mov [shared_gdt + %1 + 7], ah
%endmacro

main:
  lgdt [shared_gdtr]
  jmp 0x08:.reload
.reload:
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  mov ss, ax
  set_base 0x18, seg_p
  set_base 0x20, seg_p
${START_APS}
  title 'page tables'
  mov dword [frame_a], 0xaaaa1111
  mov dword [frame_b], 0xbbbb2222
  mov dword [frame_c], 0xcccc3333
  mov edi, low_pt
  mov eax, PRESENT_RW
.identity:
  stosd
  add eax, 0x1000
  cmp edi, low_pt + 4096
  jne .identity
  mov dword [page_directory], low_pt + PRESENT_RW
  mov dword [page_directory + 4], window_pt + PRESENT_RW
  map_window frame_a
  mov eax, page_directory
  mov cr3, eax
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax
  mov eax, [WINDOW]
  report 'bsp window'
  step 1
  map_window frame_b
  step 2
  map_window frame_a
  step 3
  mov eax, cr3
  mov cr3, eax
  mov eax, [WINDOW]
  report 'bsp after its own remap and CR3 reload'
  step 4
  mov eax, cr3
  mov cr3, eax
  mov eax, [WINDOW]
  report 'bsp after the AP remapped and CR3 reload'

  title 'descriptor tables'
  set_base 0x18, seg_r
  step 5
  set_base 0x20, seg_q
  step 6
  jmp exit

${AP_STARTUP_CODE}
ap_main:
  mov ax, 0x10                  ; DS still holds the trampoline's real-mode segment
  mov ds, ax
  lgdt [shared_gdtr]
  jmp 0x08:.reload
.reload:
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov esp, ap_stack_top

  await 1
  mov eax, page_directory
  mov cr3, eax
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax
  mov eax, [WINDOW]
  report 'ap window'
  mov dword [done], 1

  await 2
  mov eax, cr3
  mov cr3, eax
  mov eax, [WINDOW]
  report 'ap after CR3 reload'
  mov dword [done], 2

  await 3
  invlpg [WINDOW]
  mov eax, [WINDOW]
  report 'ap after INVLPG'
  mov dword [done], 3

  await 4
  map_window frame_c
  mov dword [done], 4

  await 5
  mov ax, 0x18
  mov fs, ax
  mov eax, [fs:0]
  report 'ap fs, first load'
  mov ax, 0x20
  mov gs, ax
  mov eax, [gs:0]
  report 'ap gs, first load'
  mov dword [done], 5

  await 6
  mov eax, [gs:0]
  report 'ap gs, before reloading'
  mov ax, 0x20
  mov gs, ax
  mov eax, [gs:0]
  report 'ap gs, reloaded'
  mov dword [done], 6
.idle:
  cli
  hlt
  jmp .idle

align 4096, db 0                ; the GDT on a page of its own, apart from code and the turns
shared_gdt:
  dq 0, 0x00cf9a000000ffff, 0x00cf92000000ffff
  dq 0x00cf92000000ffff, 0x00cf92000000ffff
shared_gdt_end:
shared_gdtr:
  dw shared_gdt_end - shared_gdt - 1
  dd shared_gdt
seg_p: dd 0x50505050
seg_q: dd 0x51515151
seg_r: dd 0x52525252

section .bss align=4096
go: resd 1
done: resd 1
alignb 4096
page_directory: resb 4096
low_pt: resb 4096
window_pt: resb 4096
frame_a: resb 4096
frame_b: resb 4096
frame_c: resb 4096
ap_stack: resb 4096
ap_stack_top:
section .text
`);

/**
 * By hand: the BSP reads frame A through the window; the AP, on the same CR3, reads A; after
 * the BSP maps B, the AP's CR3 reload must show B; after the BSP maps A again, the AP's INVLPG
 * must show A; the BSP, after its own remap and a CR3 reload, reads A, and after the AP maps C
 * and the BSP reloads CR3, C. Segment 0x18, moved to seg_r before the AP ever loads it, reads
 * seg_r's dword; 0x20 first reads seg_p's; once the BSP has moved it to seg_q, GS keeps seg_p
 * until the AP reloads it, then reads seg_q's.
 */
const EXPECTED = [
  '== page tables',
  'bsp window AAAA1111',
  'ap window AAAA1111',
  'ap after CR3 reload BBBB2222',
  'ap after INVLPG AAAA1111',
  'bsp after its own remap and CR3 reload AAAA1111',
  'bsp after the AP remapped and CR3 reload CCCC3333',
  '== descriptor tables',
  'ap fs, first load 52525252',
  'ap gs, first load 50505050',
  'ap gs, before reloading 50505050',
  'ap gs, reloaded 51515151',
  '',
].join('\n');

const MAX_INSTRUCTIONS = 50_000_000;

function runNative(): { out: string; icounts: number[] } {
  const m = new Machine({ cpus: 2 });
  let out = '';
  m.onSerialOutput = (b) => { out += String.fromCharCode(b); };
  m.load(COHERENCE_KERNEL);
  const result = m.run({ maxInstructions: MAX_INSTRUCTIONS });
  if (result.haltReason !== 'exit') throw new Error(`the coherence kernel did not exit natively: ${result.message}\n${out}`);
  return { out, icounts: m.cpus.map((cpu) => cpu.icount) };
}

describe('page tables and descriptor tables shared by two processors', () => {
  it('reads what the hand-worked SDM rules give on the bare machine', () => {
    expect(runNative().out).toBe(EXPECTED);
  });

  it.skipIf(!qemuAvailable())('reads the same under qemu-system-i386 -smp 2', async () => {
    const r = await runQemuProbe(COHERENCE_KERNEL, { args: ['-smp', '2'] });
    // isa-debug-exit with 0 ends QEMU with status 1.
    expect(r.status, `${QEMU} did not exit through isa-debug-exit:\n${r.serial}`).toBe(1);
    expect(r.serial).toBe(EXPECTED);
  });

  const modes: [ModeName, MemVirtName | undefined][] = [['trap', undefined], ['bt', undefined], ['hw', 'shadow'], ['hw', 'ept']];
  for (const [mode, memVirt] of modes) {
    it(`reads the same under ${memVirt === undefined ? mode : `${mode} (${memVirt})`}, each vCPU running native's instructions`, () => {
      const vmm = createVmm(mode, { cpus: 2, memVirt });
      let out = '';
      vmm.machine.onSerialOutput = (b) => { out += String.fromCharCode(b); };
      vmm.load(COHERENCE_KERNEL);
      const result = vmm.run({ maxInstructions: MAX_INSTRUCTIONS });
      expect(out).toBe(EXPECTED);
      expect(result.haltReason, result.message).toBe('exit');
      // Turns are counted in guest instructions, which no VMM event changes: the same schedule.
      expect(vmm.machine.cpus.map((cpu) => cpu.icount)).toEqual(runNative().icounts);
    });
  }
});
