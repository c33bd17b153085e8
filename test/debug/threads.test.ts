/**
 * One thread per vCPU over the adapter's protocol, with a two-processor kernel that starts its
 * application processor by INIT-SIPI (SDM Vol. 3A, 8.4.4): thread names with the processor's
 * state, breakpoints that apply to every processor and stop on the one that reached them,
 * registers, stack, evaluate, setVariable and disassemble of the thread asked for, and steps
 * of one thread while the others run their turns. Each processor learns its APIC ID from
 * CPUID.01H:EBX[31:24]; addresses come from nasm's listing of the same source.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { QUANTUM } from '../../src/machine/machine';
import { inProcessClient } from './inProcessAdapter';
import { AP_TRAMPOLINE } from '../machine/probeKernel';

const SOURCE = `bits 32
org 0x100000
APIC equ 0xFEE00000
header:
  dd 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000)
  dd header, header, image_end, bss_end, start
start:
  mov esp, bsp_stack_top
  mov esi, trampoline
  mov edi, 0x8000
  mov ecx, trampoline_end - trampoline
  rep movsb
  mov dword [APIC + 0x310], 0
  mov dword [APIC + 0x300], 0x000c4500      ; INIT, all excluding self
  call delay
init_sent:
  mov dword [APIC + 0x300], 0x000c4608      ; STARTUP at 0x8000, all excluding self
  call who
bsp_spin:
  inc dword [bsp_spins]
  cmp dword [done], 0
  je bsp_spin
  mov al, 0
  out 0xF4, al

; EBX = this processor's APIC ID
who:
  push eax
  push ecx
  push edx
  mov eax, 1
  cpuid
  shr ebx, 24
  pop edx
  pop ecx
  pop eax
  ret

delay:
  mov ecx, 1000
.again:
  loop .again
  ret

ap_main:
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov esp, ap_stack_top
  call who
  mov eax, 0x1234
ap_counting:
  inc dword [ap_count]
  cmp dword [ap_count], 100000
  jb ap_counting
  mov dword [done], 1
.park:
  cli
  hlt
  jmp .park

${AP_TRAMPOLINE}image_end:

section .bss
bsp_spins: resd 1
ap_count: resd 1
done: resd 1
  resb 1024
bsp_stack_top:
  resb 1024
ap_stack_top:
bss_end:
`;

const dir = mkdtempSync(join(tmpdir(), 'vtscope-threads-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const program = join(dir, 'smp.asm');
writeFileSync(program, SOURCE);
execFileSync('nasm', ['-f', 'bin', program, '-o', join(dir, 'smp.bin'), '-l', join(dir, 'smp.lst')]);
/** nasm's listing: source line -> offset in the image of its first byte. */
const listing = new Map(readFileSync(join(dir, 'smp.lst'), 'latin1').split('\n').flatMap((l) => {
  const m = /^\s*(\d+) ([0-9A-F]{8}) [0-9A-F]/.exec(l);
  return m === null ? [] : [[Number(m[1]), parseInt(m[2], 16)] as const];
}));
const lineOf = (text: string): number => SOURCE.split('\n').findIndex((l) => l.trim().startsWith(text)) + 1;
const address = (text: string): number => 0x100000 + listing.get(lineOf(text))!;
/** ndisasm's first two instructions of the trampoline decoded as `bits`-bit code. */
function ndisasm(bits: 16 | 32): string[] {
  const at = listing.get(lineOf('trampoline:') + 1)!;
  return execFileSync('ndisasm', ['-b', String(bits), '-e', String(at), join(dir, 'smp.bin')], { encoding: 'latin1' })
    .split('\n').slice(0, 2).map((l) => l.split(/\s+/).slice(2).join(' '));
}
const hex = (v: number): string => `0x${v.toString(16).padStart(8, '0')}`;

let client: Awaited<ReturnType<typeof inProcessClient>> | undefined;
afterEach(async () => { await client?.close(); client = undefined; });

async function start(configure: (dc: DebugClient) => Promise<unknown>): Promise<DebugClient> {
  client = await inProcessClient();
  const dc = client.dc;
  await dc.initializeRequest();
  await dc.launch({ program, cpus: 2 } as DebugProtocol.LaunchRequestArguments);
  await configure(dc);
  await dc.configurationDoneRequest();
  return dc;
}

async function resume(dc: DebugClient, request: Promise<unknown>): Promise<DebugProtocol.StoppedEvent> {
  const [, stop] = await Promise.all([request, dc.waitForEvent('stopped')]);
  return stop as DebugProtocol.StoppedEvent;
}

async function top(dc: DebugClient, threadId: number): Promise<DebugProtocol.StackFrame> {
  return (await dc.stackTraceRequest({ threadId })).body.stackFrames[0];
}

async function evaluate(dc: DebugClient, expression: string, frameId?: number): Promise<number> {
  return parseInt((await dc.evaluateRequest({ expression, frameId, context: 'watch' })).body.result.slice(2, 10), 16);
}

const sourceBreakpoint = (dc: DebugClient, ...texts: string[]) =>
  dc.setBreakpointsRequest({ source: { path: program }, breakpoints: texts.map((t) => ({ line: lineOf(t) })) });

describe('threads of a two-processor guest', () => {
  it('names each vCPU with its APIC ID and whether it waits for a SIPI or halts', async () => {
    const dc = await start((c) => sourceBreakpoint(c, 'init_sent:'));
    const stop = await dc.waitForEvent('stopped');
    expect(stop.body).toMatchObject({ threadId: 1, allThreadsStopped: true });
    // After INIT the application processor waits for a STARTUP IPI (SDM 8.4.4).
    expect((await dc.threadsRequest()).body.threads).toEqual([
      { id: 1, name: 'vCPU 0 (APIC ID 0)' }, { id: 2, name: 'vCPU 1 (APIC ID 1): waiting for SIPI' },
    ]);
    await sourceBreakpoint(dc, 'mov dword [done], 1');
    await resume(dc, dc.continueRequest({ threadId: 1 }));
    await sourceBreakpoint(dc, 'mov al, 0');
    const last = await resume(dc, dc.continueRequest({ threadId: 1 }));
    expect(last.body.threadId).toBe(1);
    // The application processor parked itself with CLI; HLT.
    expect((await dc.threadsRequest()).body.threads[1].name).toBe('vCPU 1 (APIC ID 1): halted');
  });

  it('stops on the processor that reached a breakpoint and shows that processor\'s state', async () => {
    const dc = await start((c) => c.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'who' }] }));
    // Both processors call who: the bootstrap processor first (it sends the SIPI in its turn), then vCPU 1.
    const first = await dc.waitForEvent('stopped');
    expect(first.body).toMatchObject({ reason: 'function breakpoint', threadId: 1, allThreadsStopped: true });
    const second = await resume(dc, dc.continueRequest({ threadId: 1 }));
    expect(second.body).toMatchObject({ reason: 'function breakpoint', threadId: 2 });
    expect(second.body.description).toMatch(/on vCPU 1/);

    const apFrames = (await dc.stackTraceRequest({ threadId: 2 })).body.stackFrames;
    const callerOffset = address('mov eax, 0x1234') - address('mov ax, 0x10');
    expect(apFrames.map((f) => f.name)).toEqual(['who', `ap_main+0x${callerOffset.toString(16)}`]);
    expect(apFrames[1].instructionPointerReference).toBe(hex(address('mov eax, 0x1234')));
    const bsp = await top(dc, 1);
    expect(bsp.name).toMatch(/^bsp_spin/);
    expect(apFrames[0].id).not.toBe(bsp.id);

    // Step out of who on vCPU 1: EBX holds its APIC ID, and the registers are that thread's.
    const out = await resume(dc, dc.stepOutRequest({ threadId: 2 }));
    expect(out.body).toMatchObject({ reason: 'step', threadId: 2 });
    const ap = await top(dc, 2);
    expect(ap.instructionPointerReference).toBe(hex(address('mov eax, 0x1234')));
    expect(await evaluate(dc, 'ebx', ap.id)).toBe(1);
    expect(await evaluate(dc, 'esp', ap.id)).not.toBe(await evaluate(dc, 'esp', (await top(dc, 1)).id));
    const scopes = (await dc.scopesRequest({ frameId: ap.id })).body.scopes;
    const regs = (await dc.variablesRequest({ variablesReference: scopes[0].variablesReference })).body.variables;
    expect(regs.find((r) => r.name === 'eip')!.value).toBe(hex(address('mov eax, 0x1234')));
    // setVariable changes the thread the variables are of, not the other.
    await dc.setVariableRequest({ variablesReference: scopes[0].variablesReference, name: 'ecx', value: '0x5a5a' });
    expect(await evaluate(dc, 'ecx', ap.id)).toBe(0x5a5a);
    expect(await evaluate(dc, 'ecx', (await top(dc, 1)).id)).not.toBe(0x5a5a);
  });

  it('stops on the processor whose write a data breakpoint watched', async () => {
    // inc dword [ap_count] is FF 05 disp32: the counter's address is in its last four bytes.
    const image = readFileSync(join(dir, 'smp.bin'));
    const counter = image.readUInt32LE(address('inc dword [ap_count]') - 0x100000 + 2);
    const dc = await start((c) => c.setDataBreakpointsRequest({ breakpoints: [{ dataId: `${hex(counter)}/4`, accessType: 'write' }] }));
    const stop = await dc.waitForEvent('stopped');
    expect(stop.body).toMatchObject({ reason: 'data breakpoint', threadId: 2, allThreadsStopped: true });
    expect(stop.body.description).toMatch(/write to .*: 0x00000000 -> 0x00000001/);
    // Stopped after the write, at the CMP that follows the six-byte INC.
    expect((await top(dc, 2)).instructionPointerReference).toBe(hex(address('inc dword [ap_count]') + 6));
  });

  it('steps one thread while the others run their turns', async () => {
    const dc = await start((c) => sourceBreakpoint(c, 'mov eax, 0x1234'));
    const stop = await dc.waitForEvent('stopped');
    expect(stop.body.threadId).toBe(2);
    await sourceBreakpoint(dc);
    // A line step of vCPU 1 moves vCPU 1 to its next line.
    const apStep = await resume(dc, dc.nextRequest({ threadId: 2 }));
    expect(apStep.body).toMatchObject({ reason: 'step', threadId: 2 });
    expect((await top(dc, 2)).line).toBe(lineOf('inc dword [ap_count]'));
    const before = await evaluate(dc, 'dword [ap_count]');
    const bspPc = (await top(dc, 1)).instructionPointerReference!;
    // An instruction step of vCPU 0 during vCPU 1's turn: vCPU 1 runs the rest of its turn first.
    const step = await resume(dc, dc.nextRequest({ threadId: 1, granularity: 'instruction' }));
    expect(step.body).toMatchObject({ reason: 'step', threadId: 1 });
    const bspAfter = (await top(dc, 1)).instructionPointerReference!;
    expect(bspAfter).not.toBe(bspPc);
    const lines = [lineOf('inc dword [bsp_spins]'), lineOf('cmp dword [done], 0'), lineOf('je bsp_spin')].map((l) => hex(0x100000 + listing.get(l)!));
    expect(lines).toContain(bspAfter);
    const counted = await evaluate(dc, 'dword [ap_count]', (await top(dc, 2)).id);
    expect(counted).toBeGreaterThan(before);
    expect(counted - before).toBeLessThanOrEqual(QUANTUM);
  });

  it('stops an application processor at an instruction breakpoint in real mode and disassembles its code as 16-bit', async () => {
    const dc = await start((c) => c.customRequest('setInstructionBreakpoints', { breakpoints: [{ instructionReference: '0x00008000' }] }));
    const stop = await dc.waitForEvent('stopped');
    expect(stop.body).toMatchObject({ reason: 'instruction breakpoint', threadId: 2 });
    expect((await top(dc, 2)).instructionPointerReference).toBe('0x00008000');
    const text = async (): Promise<string[]> => (await dc.disassembleRequest({ memoryReference: '0x00008000', instructionCount: 2 }))
      .body!.instructions.map((i) => i.instruction.replace(/\s+/g, ' '));
    // Disassembly follows the thread in focus: vCPU 1 is in real mode, vCPU 0 in 32-bit protected mode.
    expect(await text()).toEqual(ndisasm(16));
    await top(dc, 1);
    expect(await text()).toEqual(ndisasm(32));
    expect(ndisasm(16)).not.toEqual(ndisasm(32));
  });
});
