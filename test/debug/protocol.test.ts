/**
 * The debug adapter over its real protocol: `vtscope dap` (dist/cli.js, built by `npm run
 * build`, which `npm test` runs first) driven by @vscode/debugadapter-testsupport's DebugClient
 * on stdin/stdout, and once through `vtscope dap --port 0` over TCP.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Workdir } from '../loader/toolchain';
import { ndisasm } from './harness';
import { asmKernel, cKernel, nmSymbols, readelfLines } from './kernels';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const work = new Workdir();
afterAll(() => work.remove());
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build (npm test does)`);
});

const C_SOURCE = `
int counter;

int bump(int by)
{
    counter += by;              /* @bump */
    return counter;
}

void kmain(void)
{
    int total = bump(2);        /* @call */
    total = bump(total);        /* @again */
    for (const char *p = "hi\\n"; *p != 0; p++)
        __asm__ volatile("outb %0, %1" :: "a"(*p), "Nd"((unsigned short)0x3f8));
    __asm__ volatile("outb %0, $0xf4" :: "a"((char)total));
}
`;
const cPath = cKernel(work, 'pk', C_SOURCE);
const cFile = join(work.path, 'pk.c');
const lineOf = (marker: string): number => C_SOURCE.split('\n').findIndex((l) => l.includes(marker)) + 1;

let dc: DebugClient;
/** The client to stop after the test, if it is still connected. */
let connected: DebugClient | undefined;
afterEach(async () => {
  await connected?.stop();
  connected = undefined;
});

/** An adapter process speaking DAP on its stdin/stdout (the CLI is executable: `dist/cli.js dap`). */
async function startAdapter(): Promise<DebugClient> {
  dc = new DebugClient(CLI, 'dap', 'vtscope');
  await dc.start();
  connected = dc;
  return dc;
}

function launchArgs(extra: Record<string, unknown> = {}): DebugProtocol.LaunchRequestArguments {
  return { program: cPath, ...extra } as DebugProtocol.LaunchRequestArguments;
}

async function variablesOf(ref: number): Promise<Map<string, DebugProtocol.Variable>> {
  const r = await dc.variablesRequest({ variablesReference: ref });
  return new Map(r.body.variables.map((v) => [v.name, v]));
}

describe('vtscope dap on stdin/stdout', () => {
  it('declares what it implements', async () => {
    await startAdapter();
    const r = await dc.initializeRequest();
    expect(r.body).toMatchObject({
      supportsConfigurationDoneRequest: true, supportsFunctionBreakpoints: true, supportsInstructionBreakpoints: true,
      supportsSteppingGranularity: true, supportsReadMemoryRequest: true, supportsWriteMemoryRequest: true,
      supportsDisassembleRequest: true, supportsConditionalBreakpoints: true, supportsStepBack: true,
    });
    const filters = r.body?.exceptionBreakpointFilters?.map((f) => f.filter) ?? [];
    expect(filters.slice(0, 15)).toEqual(['DE', 'DB', 'BP', 'OF', 'BR', 'UD', 'NM', 'DF', 'TS', 'NP', 'SS', 'GP', 'PF', 'AC', 'triple-fault']);
    // Then the VMM's: VM-exit reasons, event classes, holes (vmm.test.ts checks them).
    for (const f of filters.slice(15)) expect(f).toMatch(/^(vmexit-\d+|vmm-[a-z-]+|hole)$/);
  });

  it('hits a source breakpoint, shows the stack and registers, steps, and runs to the exit', async () => {
    await startAdapter();
    const line = lineOf('@bump');
    await dc.hitBreakpoint(launchArgs(), { path: cFile, line });
    const trace = await dc.stackTraceRequest({ threadId: 1 });
    const frames = trace.body.stackFrames;
    expect(frames.map((f) => [f.name.replace(/\+0x[0-9a-f]+$/, ''), f.source?.name, f.line])).toEqual([
      ['bump', 'pk.c', line], ['kmain', 'pk.c', lineOf('@call')], ['start', 'pk-boot.asm', expect.any(Number)],
    ]);
    const address = Math.min(...readelfLines(cPath).filter((r) => r.file === 'pk.c' && r.line === line && r.isStmt).map((r) => r.address));
    expect(frames[0].instructionPointerReference).toBe(`0x${address.toString(16).padStart(8, '0')}`);

    const scopes = (await dc.scopesRequest({ frameId: frames[0].id })).body.scopes;
    expect(scopes.map((s) => s.name)).toEqual(['Registers', 'Segments', 'Control registers', 'Descriptor tables', 'Devices', 'Frame']);
    const regs = await variablesOf(scopes[0].variablesReference);
    expect(regs.get('eip')?.value).toBe(frames[0].instructionPointerReference);
    const flags = await variablesOf(regs.get('eflags')!.variablesReference);
    expect(flags.get('IF')?.value).toBe('0');
    const cs = await variablesOf((await variablesOf(scopes[1].variablesReference)).get('cs')!.variablesReference);
    expect(cs.get('base')?.value).toBe('0x00000000');
    // The argument is at [ebp+8] once the frame is set up: bump(2).
    expect((await dc.evaluateRequest({ expression: 'dword [ebp+8]', context: 'watch' })).body.result).toBe('0x00000002 (2)');

    // Step over the line: counter becomes 2; then out of bump back into kmain.
    await Promise.all([dc.nextRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    expect((await dc.evaluateRequest({ expression: '[counter]' })).body.result).toBe('0x00000002 (2)');
    const [, out] = await Promise.all([dc.stepOutRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    expect(out.body.reason).toBe('step');
    expect((await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames[0].name).toMatch(/^kmain\+/);

    await dc.setBreakpointsRequest({ source: { path: cFile }, breakpoints: [] });
    const [, , exited] = await Promise.all([
      dc.continueRequest({ threadId: 1 }), dc.assertOutput('stdout', 'hi\n'), dc.waitForEvent('exited'), dc.waitForEvent('terminated'),
    ]);
    expect(exited.body.exitCode).toBe((4 << 1) | 1);   // total = bump(bump(2)) = 4
  });

  it('stops on entry, reads and writes memory, disassembles at EIP, steps by instruction', async () => {
    await startAdapter();
    await Promise.all([dc.configurationSequence(), dc.launch(launchArgs({ stopOnEntry: true })), dc.waitForEvent('stopped')
      .then((e) => expect(e.body).toMatchObject({ reason: 'entry', threadId: 1 }))]);
    const start = nmSymbols(cPath).get('start')!;
    const frame = (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames[0];
    expect(frame.instructionPointerReference).toBe(`0x${start.toString(16).padStart(8, '0')}`);

    const dis = await dc.disassembleRequest({ memoryReference: frame.instructionPointerReference!, instructionCount: 3 });
    expect(dis.body?.instructions.map((i) => [i.address, i.instruction.replace(/ ; \S+$/, '')])).toEqual(
      ndisasm(cPath, start).slice(0, 3).map((i) => [`0x${i.address.toString(16).padStart(8, '0')}`, i.text]));
    expect(dis.body?.instructions[0].symbol).toBe('start');

    const counter = nmSymbols(cPath).get('counter')!;
    const ref = `0x${counter.toString(16)}`;
    const w = await dc.send('writeMemory', { memoryReference: ref, data: Buffer.from([0x10, 0, 0, 0]).toString('base64') });
    expect(w.body?.bytesWritten).toBe(4);
    const m = await dc.send('readMemory', { memoryReference: ref, count: 4 });
    expect([...Buffer.from(m.body.data, 'base64')]).toEqual([0x10, 0, 0, 0]);

    // The first instruction is `mov esp, stack_top`: one instruction later ESP holds it.
    await Promise.all([dc.stepInRequest({ threadId: 1, granularity: 'instruction' }), dc.waitForEvent('stopped')]);
    expect((await dc.evaluateRequest({ expression: 'esp' })).body.result)
      .toMatch(new RegExp(`^0x${nmSymbols(cPath).get('stack_top')!.toString(16).padStart(8, '0')} `));

    // The guest sees the value written: 0x10 + 2 + 0x12 = 0x24.
    const [, exited] = await Promise.all([dc.continueRequest({ threadId: 1 }), dc.waitForEvent('exited')]);
    expect(exited.body.exitCode).toBe((0x24 << 1) | 1);
  });

  it('pauses a spinning guest, and stops on a guest exception with its name and error code', async () => {
    await startAdapter();
    const path = asmKernel(work, 'pspin', `
spin:
    cmp byte [go], 0
    je spin
    mov ax, 0x1230
fault:
    mov ds, ax
section .data
go: db 0
`);
    await Promise.all([dc.configurationSequence(), dc.launch({ program: path } as DebugProtocol.LaunchRequestArguments)]);
    await dc.setExceptionBreakpointsRequest({ filters: ['GP'] });
    await new Promise((r) => setTimeout(r, 50));
    const [, paused] = await Promise.all([dc.pauseRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    expect(paused.body.reason).toBe('pause');
    const sym = nmSymbols(path);
    const pc = parseInt((await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames[0].instructionPointerReference!, 16);
    expect(pc >= sym.get('spin')! && pc < sym.get('fault')!).toBe(true);

    await dc.send('writeMemory', { memoryReference: `0x${sym.get('go')!.toString(16)}`, data: Buffer.from([1]).toString('base64') });
    const [, stopped] = await Promise.all([dc.continueRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    expect(stopped.body).toMatchObject({ reason: 'exception', text: expect.stringMatching(/^#GP\(0x1230\) general protection raised at fault/) });
    const info = await dc.exceptionInfoRequest({ threadId: 1 });
    expect(info.body).toMatchObject({ exceptionId: 'GP', breakMode: 'always' });
  });

  it('answers bad launches and broken requests with errors naming the problem, and keeps serving', async () => {
    await startAdapter();
    await dc.initializeRequest();
    const missing = join(work.path, 'nothere.elf');
    await expect(dc.launchRequest({ program: missing } as DebugProtocol.LaunchRequestArguments))
      .rejects.toThrow(`${missing}: cannot read the program: no such file`);
    await expect(dc.launchRequest({ program: cPath, mode: 'fast' } as DebugProtocol.LaunchRequestArguments))
      .rejects.toThrow('launch: \'mode\' must be one of native, trap, bt, pv, hw, not "fast"');
    await expect(dc.launchRequest({} as DebugProtocol.LaunchRequestArguments)).rejects.toThrow("launch: 'program' is missing");
    await expect(dc.launchRequest({ program: cPath, memoryMiB: 1 } as DebugProtocol.LaunchRequestArguments))
      .rejects.toThrow("'memoryMiB' must be a whole number of MiB from 2 to 3583, not 1");
    const notMultiboot = work.write('plain.bin', new Uint8Array(64));
    await expect(dc.launchRequest({ program: notMultiboot } as DebugProtocol.LaunchRequestArguments))
      .rejects.toThrow(`${notMultiboot}: not a Multiboot image`);
    await expect(dc.send('setBreakpoints')).rejects.toThrow('setBreakpoints: missing argument source.path');
    await expect(dc.send('readMemory', { memoryReference: '0x1000', count: 4 })).rejects.toThrow('readMemory: no guest is loaded');
    await expect(dc.stackTraceRequest({ threadId: 1 })).rejects.toThrow('stackTrace: no guest is loaded (launch first)');
    // Still serving: a good launch works after all that.
    await dc.launchRequest(launchArgs({ stopOnEntry: true }));
    await expect(dc.send('readMemory', { memoryReference: 'lots', count: 4 })).rejects.toThrow("readMemory: 'lots' is not an address");
    await expect(dc.evaluateRequest({ expression: '[0xfffff000]' })).rejects.toThrow('cannot read linear address 0xfffff000');
  });
});

describe('console input, restart and breakpoints set before the launch', () => {
  const ECHO = `
echo:
    mov dx, 0x3fd
.poll:
    in al, dx                   ; line status: bit 0 = a byte has arrived
    test al, 1
    jz .poll
    mov dx, 0x3f8
    in al, dx
    out dx, al                  ; echo it
    cmp al, 10
    jne echo
    inc byte [lines]
    cmp byte [lines], 2
    jne echo
    mov al, 0
    out 0xf4, al
section .data
lines: db 0
`;

  it('serialInput reaches COM1 at the start, and console lines after ">" later', async () => {
    await startAdapter();
    const path = asmKernel(work, 'echo', ECHO);
    await Promise.all([dc.configurationSequence(), dc.launch({ program: path, serialInput: 'ab\n' } as DebugProtocol.LaunchRequestArguments),
      dc.assertOutput('stdout', 'ab\n')]);
    const [, , exited] = await Promise.all([
      dc.evaluateRequest({ expression: '>cd', context: 'repl' }), dc.assertOutput('stdout', 'cd\n'), dc.waitForEvent('exited'),
    ]);
    expect(exited.body.exitCode).toBe(1);
  });

  it('serial sends COM1 to a file instead of the Debug Console; a bad target is a launch error', async () => {
    await startAdapter();
    const path = asmKernel(work, 'echo2', ECHO);
    const file = join(work.path, 'com1.txt');
    const [, , exited] = await Promise.all([dc.configurationSequence(),
      dc.launch({ program: path, serialInput: 'ab\nxy\n', serial: file } as DebugProtocol.LaunchRequestArguments), dc.waitForEvent('exited')]);
    expect(exited.body.exitCode).toBe(1);
    expect(readFileSync(file, 'utf8')).toBe('ab\nxy\n');
    await dc.stop();
    await startAdapter();
    await dc.initializeRequest();
    await expect(dc.launchRequest({ program: path, serial: '' } as DebugProtocol.LaunchRequestArguments))
      .rejects.toThrow("launch: 'serial' must be 'console', 'none' or the path of a file, not an empty string");
    const dir = join(work.path, 'no', 'such', 'dir', 'com1.txt');
    await expect(dc.launchRequest({ program: path, serial: dir } as DebugProtocol.LaunchRequestArguments))
      .rejects.toThrow(`launch: cannot write the serial output to ${dir}`);
  });

  it('restart runs the guest again from its entry with the same breakpoints', async () => {
    await startAdapter();
    await dc.initializeRequest();
    // Sent before the launch: pending until the image is loaded.
    const early = await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'bump' }] });
    const id = early.body.breakpoints[0].id;
    expect(early.body.breakpoints[0]).toMatchObject({ verified: false, message: 'pending: the program is not loaded yet' });
    await expect(dc.setExceptionBreakpointsRequest({ filters: ['all'] })).rejects.toThrow('setExceptionBreakpoints: unknown filter all');
    const [, changed, first] = await Promise.all([
      dc.launchRequest(launchArgs()), dc.waitForEvent('breakpoint'),
      dc.waitForEvent('stopped'), dc.waitForEvent('initialized').then(() => dc.configurationDoneRequest()),
    ]);
    const bump = nmSymbols(cPath).get('bump')!;
    expect(changed.body).toMatchObject({ reason: 'changed', breakpoint: { id, verified: true, instructionReference: `0x${bump.toString(16).padStart(8, '0')}` } });
    expect(first.body).toMatchObject({ reason: 'function breakpoint', hitBreakpointIds: [id] });
    await Promise.all([dc.continueRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);   // bump's second call
    expect((await dc.evaluateRequest({ expression: '[counter]' })).body.result).toBe('0x00000002 (2)');
    const [, again] = await Promise.all([dc.restartRequest({}), dc.waitForEvent('stopped')]);
    expect(again.body).toMatchObject({ reason: 'function breakpoint', hitBreakpointIds: [id] });
    expect((await dc.evaluateRequest({ expression: '[counter]' })).body.result).toBe('0x00000000 (0)');
    const [, terminated] = await Promise.all([dc.terminateRequest(), dc.waitForEvent('terminated')]);
    expect(terminated.event).toBe('terminated');
  });

  it('an instruction breakpoint set from the disassembly stops there', async () => {
    await startAdapter();
    await Promise.all([dc.configurationSequence(), dc.launch(launchArgs({ stopOnEntry: true })), dc.waitForEvent('stopped')]);
    const kmain = nmSymbols(cPath).get('kmain')!;
    const r = await dc.send('setInstructionBreakpoints', { breakpoints: [{ instructionReference: `0x${kmain.toString(16)}`, offset: 1 }] });
    expect(r.body.breakpoints[0]).toMatchObject({ verified: true, instructionReference: `0x${(kmain + 1).toString(16).padStart(8, '0')}` });
    const [, stop] = await Promise.all([dc.continueRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    expect(stop.body).toMatchObject({ reason: 'instruction breakpoint', hitBreakpointIds: [r.body.breakpoints[0].id] });
    expect((await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames[0].name).toBe('kmain+0x1');
  });
});

describe('vtscope dap --port', () => {
  it('serves the protocol on 127.0.0.1 and runs a guest to its exit', async () => {
    const server = spawn(process.execPath, [CLI, 'dap', '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let text = '';
        server.stderr.on('data', (b: Buffer) => {
          text += b.toString();
          const m = /listening on 127\.0\.0\.1:(\d+)/.exec(text);
          if (m) resolve(Number(m[1]));
        });
        server.on('exit', () => reject(new Error(`the adapter exited: ${text}`)));
      });
      dc = new DebugClient('node', 'unused', 'vtscope');
      await dc.start(port);
      connected = dc;
      const [, exited] = await Promise.all([
        Promise.all([dc.configurationSequence(), dc.launch(launchArgs())]), dc.waitForEvent('exited', 20_000),
      ]);
      expect(exited.body.exitCode).toBe((4 << 1) | 1);
      await dc.stop();
      connected = undefined;
    } finally {
      server.kill();
    }
  });
});
