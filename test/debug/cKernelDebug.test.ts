/**
 * Source-level debugging of a C kernel built as the samples are (samples/apic-timer: gcc -O2
 * with frame pointers, several compilation units) over the real adapter, `vtscope dap`
 * (dist/cli.js) on stdin/stdout: a breakpoint on a C line, a step over a call into another
 * compilation unit that ends on the next line of the same function, and the Frame scope that
 * shows each frame's stack memory (arguments, return address, saved EBP, locals).
 *
 * The truth comes from the toolchain and the firmware tables: readelf's line table and
 * objdump's call sites for addresses, the Multiboot magic for kmain's argument, and the
 * MP floating pointer address SeaBIOS uses under QEMU 7.2 (0xF5BA0) for the local struct
 * mp_discover fills in kmain's frame.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildSamples, samplesDir } from '../../scripts/samples.mjs';
import { Workdir } from '../loader/toolchain';
import { objdump } from './harness';
import { readelfLines } from './kernels';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const work = new Workdir();
const KERNEL_C = join(samplesDir, 'apic-timer', 'kernel.c');
const MPTABLE_C = join(samplesDir, 'apic-timer', 'mptable.c');
let image: string;

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build (npm test does)`);
  image = buildSamples({ outDir: work.path, names: ['apic-timer'] })[0].image;
});
afterAll(() => work.remove());

let dc: DebugClient;
afterEach(async () => { await dc?.stop(); });

const lineOf = (file: string, text: string): number => {
  const lines = readFileSync(file, 'utf8').split('\n');
  const hits = lines.flatMap((l, k) => (l.includes(text) ? [k + 1] : []));
  if (hits.length !== 1) throw new Error(`${hits.length} lines of ${file} contain ${text}`);
  return hits[0];
};

/** The lowest is_stmt address of a line, as a debugger places a line breakpoint. */
const lineAddress = (file: string, line: number): number =>
  Math.min(...readelfLines(image).filter((r) => r.file === file && r.line === line && r.isStmt).map((r) => r.address));

const hex8 = (v: number): string => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;

async function start(): Promise<void> {
  dc = new DebugClient(CLI, 'dap', 'vtscope');
  await dc.start();
}

async function topFrame(): Promise<DebugProtocol.StackFrame[]> {
  return (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames;
}

async function frameScope(frameId: number): Promise<DebugProtocol.Variable[]> {
  const scopes = (await dc.scopesRequest({ frameId })).body.scopes;
  const frame = scopes.find((s) => s.name === 'Frame');
  if (frame === undefined) throw new Error(`no Frame scope among ${scopes.map((s) => s.name).join(', ')}`);
  return (await dc.variablesRequest({ variablesReference: frame.variablesReference })).body.variables;
}

const word = (v: DebugProtocol.Variable): number => Number(/^(0x[0-9a-f]{8})/.exec(v.value)![1]);

describe('vtscope dap on a C kernel (samples/apic-timer)', () => {
  for (const mode of ['native', 'hw']) {
    it(`stops on a C line and steps over a call to the next line of the same function (${mode})`, async () => {
      await start();
      const call = lineOf(KERNEL_C, 'const char *problem = mp_discover(&mp);');
      await dc.hitBreakpoint({ program: image, mode } as DebugProtocol.LaunchRequestArguments, { path: KERNEL_C, line: call });
      let frames = await topFrame();
      expect(frames[0].name).toMatch(/^kmain\+0x[0-9a-f]+$/);
      expect([frames[0].source?.name, frames[0].line]).toEqual(['kernel.c', call]);
      expect(frames[0].instructionPointerReference).toBe(hex8(lineAddress('kernel.c', call)));

      await Promise.all([dc.nextRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
      frames = await topFrame();
      expect([frames[0].name.replace(/\+0x[0-9a-f]+$/, ''), frames[0].line]).toEqual(['kmain', call + 1]);
      // The step ran mp_discover to its return: the instruction after its call, where gcc
      // starts line `if (problem != 0)` (a statement row, then a location view, at one address).
      const callSite = objdump(image).find((i) => i.target === 'mp_discover')!;
      expect(Number(frames[0].instructionPointerReference)).toBe(callSite.address + callSite.length);
      expect(Number(frames[0].instructionPointerReference)).toBe(lineAddress('kernel.c', call + 1));
    });
  }

  it('shows each frame\'s stack memory: arguments, return address, saved EBP and locals', async () => {
    await start();
    const line = lineOf(MPTABLE_C, 'info->spec_revision = fp->spec_revision;');
    await dc.hitBreakpoint({ program: image } as DebugProtocol.LaunchRequestArguments, { path: MPTABLE_C, line });
    const frames = await topFrame();
    // kmain returns to the `.hang` loop of boot.asm's _start.
    expect(frames.map((f) => f.name.replace(/\+0x[0-9a-f]+$/, ''))).toEqual(['mp_discover', 'kmain', '_start.hang']);
    const regs = new Map((await dc.variablesRequest({
      variablesReference: (await dc.scopesRequest({ frameId: 0 })).body.scopes.find((s) => s.name === 'Registers')!.variablesReference,
    })).body.variables.map((v) => [v.name, Number(v.value)]));
    const ebp = regs.get('ebp')!, esp = regs.get('esp')!;

    const inner = await frameScope(frames[0].id);
    const byName = new Map(inner.map((v) => [v.name.replace(/ \[.*$/, ''), v]));
    // mp_discover(struct mp_info *info): one argument at [ebp+8], the return into kmain at [ebp+4].
    const ret = byName.get('return address')!;
    expect(ret.name).toBe('return address [ebp+4]');
    expect(ret.memoryReference).toBe(hex8(ebp + 4));
    const callSite = objdump(image).find((i) => i.target === 'mp_discover')!;
    expect(word(ret)).toBe(callSite.address + callSite.length);
    expect(ret.value).toMatch(/<kmain\+0x[0-9a-f]+>/);
    expect(byName.get('saved ebp')!.memoryReference).toBe(hex8(ebp));
    expect(byName.get('arg 1')!.name).toBe('arg 1 [ebp+8]');
    // Locals and saved registers: every word from [ebp-4] down to ESP.
    const locals = inner.filter((v) => v.name.startsWith('[ebp-'));
    expect(locals.map((v) => v.memoryReference)).toEqual(
      Array.from({ length: (ebp - esp) / 4 }, (_, k) => hex8(ebp - 4 * (k + 1))));

    // info points at kmain's local struct mp_info, whose first field is the floating pointer
    // address just found: the word lives in kmain's frame, and the Frame scope of frame 1 shows it.
    const info = word(byName.get('arg 1')!);
    const outer = await frameScope(frames[1].id);
    const field = outer.find((v) => v.memoryReference === hex8(info));
    expect(field, `no word at ${hex8(info)} in kmain's frame`).toBeDefined();
    expect(field!.name).toMatch(/^\[ebp-\d+\]$/);
    expect(word(field!)).toBe(0x000f5ba0);
    // kmain(magic, mbi): the Multiboot magic as its first argument.
    expect(word(outer.find((v) => v.name === 'arg 1 [ebp+8]')!)).toBe(0x2badb002);

    // A word of the frame can be changed through its evaluateName, as a watch expression.
    expect(field!.evaluateName).toBe(`dword [${hex8(info)}]`);
    const set = await dc.customRequest('setExpression', { expression: field!.evaluateName!, value: '0x1234' });
    expect(set.body.value).toBe('0x00001234 (4660)');
    expect(word((await frameScope(frames[1].id)).find((v) => v.memoryReference === hex8(info))!)).toBe(0x1234);
  });
});
