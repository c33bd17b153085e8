// Debug Console completion over the real adapter (DAP `completions`): registers, the image's
// symbols (nm's names for the test kernel), size keywords and `walk`, replacing the word typed.
import type { DebugProtocol } from '@vscode/debugprotocol';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Workdir } from '../loader/toolchain';
import { CLI } from '../support/cli';
import { completions } from '../../src/debug/completions';
import { asmKernel } from './kernels';

const work = new Workdir();
afterAll(() => work.remove());
let dc: DebugClient | undefined;
afterEach(async () => { await dc?.stop(); dc = undefined; });

describe('completions', () => {
  it('complete the word before the cursor from registers, keywords and symbols', () => {
    const syms = ['counter', 'count_down', 'start'];
    expect(completions('co', 3, syms).map((c) => c.label)).toEqual(['count_down', 'counter']);
    expect(completions('dword [c', 9, syms).map((c) => [c.label, c.start, c.length])).toEqual([
      ['cx', 7, 1], ['cl', 7, 1], ['ch', 7, 1], ['cs', 7, 1], ['cr0', 7, 1], ['cr2', 7, 1], ['cr3', 7, 1], ['cr4', 7, 1],
      ['count_down', 7, 1], ['counter', 7, 1],
    ]);
    expect(completions('w', 2, syms).map((c) => c.label)).toEqual(['walk', 'word']);
    expect(completions('eax + w', 8, syms).map((c) => c.label)).toEqual(['word']);
  });

  it('are offered by the adapter, counted as the client counts columns', async () => {
    const path = asmKernel(work, 'comp', `
    mov eax, 1
    mov al, 0
    out 0xf4, al
section .data
global counter
counter: dd 0`);
    dc = new DebugClient(CLI, 'dap', 'vtscope');
    await dc.start();
    const init = await dc.initializeRequest();
    expect(init.body?.supportsCompletionsRequest).toBe(true);
    await Promise.all([dc.configurationSequence(), dc.launch({ program: path, stopOnEntry: true } as DebugProtocol.LaunchRequestArguments), dc.waitForEvent('stopped')]);
    const r = await dc.send('completions', { text: 'dword [coun', column: 12 }) as DebugProtocol.CompletionsResponse;
    expect(r.body.targets).toEqual([{ label: 'counter', type: 'reference', start: 8, length: 4 }]);
  });
});
