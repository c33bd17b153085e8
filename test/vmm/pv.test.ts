// Paravirtualization (fact sheet section 6: int 0x82, EAX = number, EBX ECX EDX ESI EDI =
// arguments, EAX = result or negative errno; the Xen 3 hypercall numbers).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSamples } from '../../scripts/samples.mjs';
import { EXIT_VMM_STOP } from '../../src/machine/machine';
import { isPvImage } from '../../src/vmm/pv/pvImage';
import { vmmReport } from '../../src/vmm/report';
import { addressesOf, counts, kernel, run } from './support';

let outDir = '';
const images = new Map<string, Uint8Array>();
let helloListing = '';

beforeAll(() => {
  outDir = mkdtempSync(join(tmpdir(), 'vtscope-pv-'));
  for (const s of buildSamples({ outDir, names: ['hello', 'timer', 'pv-hello', 'pv-timer'] })) images.set(s.name, new Uint8Array(readFileSync(s.image)));
  helloListing = readFileSync(join(outDir, 'hello.lst'), 'latin1');
});
afterAll(() => { if (outDir) rmSync(outDir, { recursive: true, force: true }); });

describe('pv-hello, the PV port of hello', () => {
  it('prints under pv exactly what hello prints natively, and exits with its status', () => {
    const hello = run('native', images.get('hello')!);
    const pv = run('pv', images.get('pv-hello')!);
    expect(pv.serial).toBe(hello.serial);
    expect(pv.result.exitCode).toBe(hello.result.exitCode);
  });

  it('makes one console_io (18) per string and one sched_op (29) to shut down, and nothing traps', () => {
    const pv = run('pv', images.get('pv-hello')!);
    expect(counts(pv.vmm)).toEqual({ 'hypercall console_io': 9, 'hypercall sched_op': 1 });
    expect(vmmReport(pv.vmm).hypercalls.map(({ number, name, count }) => ({ number, name, count })))
      .toEqual([{ number: 18, name: 'console_io', count: 9 }, { number: 29, name: 'sched_op', count: 1 }]);
  });

  it('is marked as a PV kernel (XEN_VER=xen-3.0 in its first 8 KiB); hello is not', () => {
    expect(isPvImage(images.get('pv-hello')!)).toBe(true);
    expect(isPvImage(images.get('hello')!)).toBe(false);
  });
});

describe('pv-timer, the PV port of timer', () => {
  it('prints under pv exactly what timer prints natively: ten timer events through the event callback', () => {
    const timer = run('native', images.get('timer')!);
    const pv = run('pv', images.get('pv-timer')!);
    expect(pv.serial).toBe(timer.serial);
    expect(pv.result.exitCode).toBe(timer.result.exitCode);
    const c = counts(pv.vmm);
    expect(c['event upcall']).toBe(10);
    expect(c['hypercall iret']).toBe(10);
    // The deadlines are 10 ms apart in virtual time: the tenth event comes at 100 ms.
    expect(pv.vmm.machine.nowNs()).toBeGreaterThanOrEqual(100_000_000);
    expect(pv.vmm.machine.nowNs()).toBeLessThan(101_000_000);
  });
});

describe('an unmodified kernel under pv (fact sheet section 5: OUT is privileged at CPL 1 > IOPL 0)', () => {
  it('stops at its first privileged instruction, named with its address from the listing', () => {
    const pv = run('pv', images.get('hello')!);
    const firstOut = addressesOf(helloListing, /^out dx, al/)[0];
    expect(pv.result.haltReason).toBe('vmm-stop');
    expect(pv.result.exitCode).toBe(EXIT_VMM_STOP);
    expect(pv.result.eip).toBe(firstOut);
    expect(pv.result.message).toContain(`\`out dx,al\` at 0x${firstOut.toString(16).padStart(8, '0')}, which faults in ring 1`);
    expect(pv.serial).toBe('');
  });
});

/** Hypercall helpers for the test kernels, with the fact sheet's numbers. */
const PV_MACROS = `
%define FLAT_RING1_CS 0xe019
%define RESULTS 0x200000
%macro hypercall 1
  mov eax, %1
  int 0x82
%endmacro
%macro result 1
  mov [RESULTS + 4 * %1], eax
%endmacro
`;

const SHUTDOWN = `
  mov dword [reason], 0
  mov ebx, 2
  mov ecx, reason
  hypercall 29`;

function results(ram: Uint8Array, n: number): number[] {
  return Array.from(new Int32Array(ram.buffer, 0x200000, n));
}

describe('PV memory management: the guest\'s page tables are the processor\'s, changed through the VMM', () => {
  const MEM = kernel(`${PV_MACROS}
  xor ebx, ebx
  hypercall 17                              ; xen_version(XENVER_version)
  result 0
  hypercall 99                              ; no such hypercall
  result 1
  mov dword [frame], 0x600DF00D
  mov ebx, 0x00800000                       ; update_va_mapping(8 MiB, frame | P RW US, 0, UVMF_INVLPG)
  mov ecx, frame + 7
  xor edx, edx
  mov esi, 2
  hypercall 14
  result 2
  mov eax, [0x00800000]
  result 3
  mov ebx, 0x00801000                       ; the same with a frame of the VMM's own memory
  mov ecx, 0x04030007
  xor edx, edx
  mov esi, 2
  hypercall 14
  result 4
  mov edi, pt                               ; page tables of its own: 0-4 MiB identity
  mov eax, 7
  mov ecx, 1024
.fill:
  stosd
  add eax, 4096
  loop .fill
  mov dword [pt + 1023 * 4], 0              ; the last page stays unmapped for now
  mov dword [pd], pt + 7
  mov dword [op], 5                         ; mmuext_op(MMUEXT_NEW_BASEPTR, pd's frame)
  mov eax, pd
  shr eax, 12
  mov [op + 4], eax
  mov ebx, op
  mov ecx, 1
  xor edx, edx
  mov esi, 0x7ff0
  hypercall 26
  result 5
  mov dword [req], pt + 1023 * 4            ; mmu_update({pt[1023], frame | P RW US})
  mov dword [req + 8], frame + 7
  mov ebx, req
  mov ecx, 1
  mov edx, done
  mov esi, 0x7ff0
  hypercall 1
  result 6
  mov eax, [done]
  result 7
  mov dword [op], 7                         ; mmuext_op(MMUEXT_INVLPG_LOCAL, 0x3FF000)
  mov dword [op + 4], 0x3ff000
  mov ebx, op
  mov ecx, 1
  xor edx, edx
  mov esi, 0x7ff0
  hypercall 26
  result 8
  mov eax, [0x3ff000]
  result 9
  mov dword [req], pd + 1023 * 4            ; the directory entry that maps the VMM
  mov ebx, req
  mov ecx, 1
  xor edx, edx
  mov esi, 0x7ff0
  hypercall 1
  result 10
${SHUTDOWN}`, `
reason: dd 0
done: dd 0
op: dd 0, 0, 0
req: dd 0, 0, 0, 0
  align 4096
frame: times 1024 dd 0
pd: times 1024 dd 0
pt: times 1024 dd 0`, { pv: true }).image;

  it('checks and carries out update_va_mapping (14), mmuext_op (26) and mmu_update (1); unknown numbers give -ENOSYS', () => {
    const pv = run('pv', MEM);
    expect(pv.result.exitCode, pv.result.message).toBe(1);
    const ENOSYS = 38, EPERM = 1;
    expect(results(pv.vmm.machine.ram, 11)).toEqual([
      0x00030000,      // xen_version: 3.0
      -ENOSYS,
      0, 0x600DF00D,   // the new mapping reads the frame
      -EPERM,          // a frame beyond the guest's RAM (the VMM's) may not be mapped
      0,               // NEW_BASEPTR: the guest's own tables are now the processor's
      0, 1,            // mmu_update: one request done
      0, 0x600DF00D,   // after INVLPG_LOCAL the new entry is used
      -EPERM,          // entry 1023 of the directory maps the VMM
    ]);
    expect(counts(pv.vmm)).toMatchObject({
      'hypercall xen_version': 1, 'hypercall #99': 1, 'hypercall update_va_mapping': 2,
      'hypercall mmuext_op': 2, 'hypercall mmu_update': 2, 'hypercall sched_op': 1,
    });
  });
});

describe('PV traps and events: set_trap_table, iret, set_callbacks, event_channel_op, set_timer_op, sched_op', () => {
  const IRET = `
  push eax
  hypercall 23`;

  it('bounces INT 0x80 and #UD to the handlers of the trap table, which return with the iret hypercall', () => {
    const pv = run('pv', kernel(`${PV_MACROS}
  mov eax, syscall
  mov [traps + 4], eax
  mov eax, invalid
  mov [traps + 12], eax
  mov ebx, traps
  hypercall 0                               ; set_trap_table
  result 0
  mov eax, 1234
  int 0x80
  result 1
  ud2
  mov eax, [count]
  result 2
${SHUTDOWN}
syscall:                                    ; EAX + 1, like a system call's result
  inc eax
${IRET}
invalid:                                    ; skip the 2-byte UD2
  inc dword [count]
  add dword [esp], 2
${IRET}`, `
count: dd 0
reason: dd 0
traps:
  db 0x80, 1
  dw FLAT_RING1_CS
  dd 0
  db 6, 0
  dw FLAT_RING1_CS
  dd 0
  dd 0, 0`, { pv: true }).image);
    expect(pv.result.exitCode, pv.result.message).toBe(1);
    expect(results(pv.vmm.machine.ram, 3)).toEqual([0, 1235, 1]);
    expect(counts(pv.vmm)).toMatchObject({ 'bounce INT 0x80': 1, 'bounce #UD': 1, 'hypercall iret': 2 });
  });

  it('delivers three timer events through the event callback, 1 ms of virtual time apart', () => {
    const pv = run('pv', kernel(`${PV_MACROS}
  lea eax, [esi + 4096]                     ; shared_info follows start_info
  mov [shared], eax
  mov ebx, FLAT_RING1_CS                    ; set_callbacks(event callback, no failsafe)
  mov ecx, upcall
  mov edx, FLAT_RING1_CS
  xor esi, esi
  hypercall 4
  mov ebx, 1                                ; event_channel_op(EVTCHNOP_bind_virq, {VIRQ_TIMER, vCPU 0})
  mov ecx, bind
  hypercall 32
  result 0
  mov ebx, 1000000                          ; set_timer_op(1 ms)
  xor ecx, ecx
  hypercall 15
.wait:
  cmp dword [ticks], 3
  jae .done
  mov ebx, 1                                ; sched_op(SCHEDOP_block): unmask events, sleep
  hypercall 29
  jmp .wait
.done:
  mov eax, [bind + 8]
  result 1
${SHUTDOWN}
upcall:
  push eax
  push ebx
  push ecx
  mov ebx, [shared]
  mov byte [ebx], 0                         ; evtchn_upcall_pending
  mov dword [ebx + 4], 0                    ; evtchn_pending_sel
  mov dword [ebx + 2048], 0                 ; evtchn_pending
  inc dword [ticks]
  mov eax, [ticks]
  inc eax
  imul ebx, eax, 1000000                    ; the next deadline: (ticks + 1) ms
  xor ecx, ecx
  hypercall 15
  pop ecx
  pop ebx
  pop eax
${IRET}`, `
shared: dd 0
ticks: dd 0
reason: dd 0
bind: dd 0, 0, 0`, { pv: true }).image);
    expect(pv.result.exitCode, pv.result.message).toBe(1);
    expect(results(pv.vmm.machine.ram, 2)).toEqual([0, 1]);   // bound, on port 1
    const c = counts(pv.vmm);
    expect(c['event upcall']).toBe(3);
    expect(c['hypercall set_timer_op']).toBe(4);
    expect(pv.vmm.machine.nowNs()).toBeGreaterThanOrEqual(3_000_000);
    expect(pv.vmm.machine.nowNs()).toBeLessThan(3_100_000);
  });
});

describe('multicall (13): several hypercalls for one entry into the VMM', () => {
  it('runs each entry in order and writes its result; a nested multicall, iret and unknown numbers are refused', () => {
    const k = kernel(`${PV_MACROS}
  mov dword [frame], 0x600DF00D
  mov ebx, calls                            ; multicall(calls, 5)
  mov ecx, 5
  hypercall 13
  result 0
  mov eax, [0x00800000]                     ; mapped by the second entry
  result 1
${SHUTDOWN}`, `
reason: dd 0
align 4
calls:
  dd 17, -1, 0, 0, 0, 0, 0, 0                ; xen_version(XENVER_version)
  dd 14, -1, 0x00800000, frame + 7, 0, 2, 0, 0   ; update_va_mapping(8 MiB, frame | P RW US, 0, UVMF_INVLPG)
  dd 13, -1, calls, 1, 0, 0, 0, 0            ; a nested multicall
  dd 23, -1, 0, 0, 0, 0, 0, 0                ; iret
  dd 99, -1, 0, 0, 0, 0, 0, 0                ; no such hypercall
  align 4096
frame: times 1024 dd 0`, { pv: true });
    const pv = run('pv', k.image);
    expect(pv.result.exitCode, pv.result.message).toBe(1);
    const EINVAL = 22, ENOSYS = 38;
    expect(results(pv.vmm.machine.ram, 2)).toEqual([0, 0x600DF00D]);
    const calls = addressesOf(k.listing, /^calls:/)[0];
    const result = (n: number): number => pv.vmm.cpu.readPhys32(calls + n * 32 + 4) | 0;
    expect([0, 1, 2, 3, 4].map(result)).toEqual([0x00030000, 0, -EINVAL, -EINVAL, -ENOSYS]);
    expect(counts(pv.vmm)['hypercall multicall']).toBe(1);
    expect(counts(pv.vmm)['hypercall update_va_mapping']).toBeUndefined();
  });
});
