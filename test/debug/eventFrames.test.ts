/**
 * Interrupt and exception frames in the stack trace, over the adapter's protocol: the samples
 * syscall.asm (int 0x80 and #GP from ring 3) and timer.asm (IRQ 0 at vector 0x20 while the
 * kernel waits in HLT). Addresses and lines come from nasm's listing and image of the same
 * sources; the pushed words are those SDM Vol. 3A, 6.12.1 (figure 6-4) says the processor
 * pushes: EIP, CS, EFLAGS, and with a privilege change ESP and SS, and for #GP an error code.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { inProcessClient } from './inProcessAdapter';

const SAMPLES = fileURLToPath(new URL('../../samples/', import.meta.url));
const LOAD = 0x100000;
const dir = mkdtempSync(join(tmpdir(), 'vtscope-event-frames-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** nasm's image and listing of a sample: each listed instruction's source line, offset and bytes. */
function nasmListing(name: string): { image: Buffer; lines: { line: number; offset: number; text: string }[] } {
  const out = join(dir, `${name}.bin`), lst = join(dir, `${name}.lst`);
  execFileSync('nasm', ['-f', 'bin', join(SAMPLES, name), '-o', out, '-l', lst]);
  const lines = readFileSync(lst, 'latin1').split('\n').flatMap((l) => {
    const m = /^\s*(\d+) ([0-9A-F]{8}) [0-9A-F[\]()]+\s+(.*)$/.exec(l);
    return m === null ? [] : [{ line: Number(m[1]), offset: parseInt(m[2], 16), text: m[3].trim() }];
  });
  return { image: readFileSync(out), lines };
}

/** The first listed instruction at or after source line `after` whose text starts with `text`. */
function find(l: ReturnType<typeof nasmListing>, text: string, after = 0): { line: number; offset: number } {
  const hit = l.lines.find((x) => x.line >= after && x.text.startsWith(text));
  if (hit === undefined) throw new Error(`no '${text}' in the listing`);
  return hit;
}

/** The source line of a label (the listing shows no offset for a line without bytes). */
function labelLine(name: string, label: string): number {
  return readFileSync(join(SAMPLES, name), 'utf8').split('\n').findIndex((l) => l.startsWith(`${label}:`)) + 1;
}

let client: Awaited<ReturnType<typeof inProcessClient>> | undefined;
afterEach(async () => { await client?.close(); client = undefined; });

async function launch(program: string, functionBreakpoint: string): Promise<DebugClient> {
  client = await inProcessClient();
  const dc = client.dc;
  await dc.initializeRequest();
  await dc.launch({ program: join(SAMPLES, program) } as DebugProtocol.LaunchRequestArguments);
  await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: functionBreakpoint }] });
  await dc.configurationDoneRequest();
  return dc;
}

async function frames(dc: DebugClient): Promise<DebugProtocol.StackFrame[]> {
  return (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames;
}

/** The Frame scope of a frame: its words by name. */
async function frameWords(dc: DebugClient, frameId: number): Promise<Record<string, number>> {
  const scopes = (await dc.scopesRequest({ frameId })).body.scopes;
  const frame = scopes.find((s) => s.name === 'Frame')!;
  const vars = (await dc.variablesRequest({ variablesReference: frame.variablesReference })).body.variables;
  return Object.fromEntries(vars.map((v) => [v.name, parseInt(v.value.slice(2, 10), 16)]));
}

const hex = (v: number): string => `0x${v.toString(16).padStart(8, '0')}`;

describe('stack traces through interrupt and exception frames', () => {
  it('shows int 0x80 from ring 3 between the handler and the user code, and no stale frame afterwards', async () => {
    const l = nasmListing('syscall.asm');
    const firstInt = find(l, 'int 0x80', labelLine('syscall.asm', 'user_main'));
    const cli = find(l, 'cli', firstInt.line);
    // The user's stack pointer, as the kernel pushed it for IRET: push imm32, whose operand nasm resolved.
    const pushEsp = find(l, 'push user_stack_top');
    const userEsp = l.image.readUInt32LE(pushEsp.offset + 1);

    const dc = await launch('syscall.asm', 'syscall_entry');
    const stop = await dc.waitForEvent('stopped');
    expect(stop.body).toMatchObject({ reason: 'function breakpoint', threadId: 1, allThreadsStopped: true });
    const f = await frames(dc);
    expect(f.map((x) => x.name)).toEqual(['syscall_entry', '<int 0x80 from ring 3>', 'user_main+0x16']);
    expect(f[0].line).toBe(labelLine('syscall.asm', 'syscall_entry') + 1);
    expect(f[1].presentationHint).toBe('label');
    // INT n pushes the address of the next instruction; the frame shows the INT's line.
    expect(f[2].instructionPointerReference).toBe(hex(LOAD + firstInt.offset + 2));
    expect(f[2].line).toBe(firstInt.line);
    expect(await frameWords(dc, f[1].id)).toEqual({
      ss: 0x23, esp: userEsp, eflags: 0x002, cs: 0x1b, eip: LOAD + firstInt.offset + 2,
    });

    // Back in ring 3 after the IRET: the record of the frame on the kernel stack is not shown.
    await dc.setFunctionBreakpointsRequest({ breakpoints: [] });
    await dc.setBreakpointsRequest({ source: { path: join(SAMPLES, 'syscall.asm') }, breakpoints: [{ line: cli.line }] });
    await Promise.all([dc.continueRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    expect((await frames(dc)).map((x) => [x.name, x.line])).toEqual([['user_main+0x16', cli.line]]);
  });

  it('shows #GP with its error code from ring 3, at the faulting instruction', async () => {
    const l = nasmListing('syscall.asm');
    const cli = find(l, 'cli', labelLine('syscall.asm', 'user_main'));
    const dc = await launch('syscall.asm', 'general_protection');
    await dc.waitForEvent('stopped');
    const f = await frames(dc);
    expect(f.map((x) => x.name)).toEqual(['general_protection', '<#GP error 0x0 from ring 3>', 'user_main+0x16']);
    // A fault pushes the address of the faulting instruction itself (CLI at CPL 3 > IOPL 0).
    expect(f[2].instructionPointerReference).toBe(hex(LOAD + cli.offset));
    expect(f[2].line).toBe(cli.line);
    const words = await frameWords(dc, f[1].id);
    expect(Object.keys(words)).toEqual(['ss', 'esp', 'eflags', 'cs', 'eip', 'error code']);
    expect(words).toMatchObject({ 'error code': 0, cs: 0x1b, eip: LOAD + cli.offset });
  });

  it('shows the timer interrupt that woke the kernel from HLT', async () => {
    const l = nasmListing('timer.asm');
    const hlt = find(l, 'hlt', labelLine('timer.asm', 'start'));
    const dc = await launch('timer.asm', 'timer_irq');
    await dc.waitForEvent('stopped');
    const f = await frames(dc);
    expect(f.map((x) => x.name).slice(0, 2)).toEqual(['timer_irq', '<interrupt 0x20>']);
    expect(f).toHaveLength(3);
    // An interrupt returns to the instruction after HLT (jmp .wait), and the frame shows that line.
    expect(f[2].instructionPointerReference).toBe(hex(LOAD + hlt.offset + 1));
    expect(f[2].line).toBe(hlt.line + 1);
    const words = await frameWords(dc, f[1].id);
    expect(Object.keys(words)).toEqual(['eflags', 'cs', 'eip']);   // same ring: no stack switch
    expect(words.cs).toBe(0x08);
    expect(words.eflags & 0x200).toBe(0x200);   // STI had set IF
  });
});
