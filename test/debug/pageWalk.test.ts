// `walk ADDRESS` in the Debug Console: the page-table walk of a linear address (SDM Vol. 3A,
// 4.3, 32-bit paging), with the entries' addresses and values as the kernel wrote them, under
// native and under trap, where the processor walks shadow tables but the debugger the guest's.
import { afterAll, describe, expect, it } from 'vitest';
import { Workdir } from '../loader/toolchain';
import { Driver } from './harness';
import { asmKernel } from './kernels';

const work = new Workdir();
afterAll(() => work.remove());

// Page directory at pd, one page table at pt mapping 0-4 MiB with 4 KiB pages (0x3FF000 onto
// 0x200000, read-only), and a 4 MiB page at 8 MiB onto 12 MiB; then a breakpoint at `ready`.
const path = asmKernel(work, 'walk', `
    mov edi, pt
    mov eax, 0x3
.fill:
    mov [edi], eax
    add edi, 4
    add eax, 0x1000
    cmp edi, pt + 4096
    jne .fill
    mov dword [pt + 0x3ff * 4], 0x200001
    mov eax, pt
    or eax, 3
    mov [pd], eax
    mov dword [pd + 2 * 4], 0x00c00083
    mov eax, cr4
    or eax, 0x10                   ; CR4.PSE
    mov cr4, eax
    mov eax, pd
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
global ready
ready:
    mov al, 0
    out 0xf4, al
section .bss
alignb 4096
pd: resb 4096
pt: resb 4096`);

async function stopAtReady(mode: 'native' | 'trap'): Promise<Driver> {
  const d = new Driver({ program: path, mode });
  d.rt.setFunctionBreakpoints([{ id: 1, name: 'ready' }]);
  d.rt.continue();
  expect((await d.stopped()).reason).toBe('function breakpoint');
  return d;
}

const hex8 = (v: number): string => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;

describe('walk ADDRESS', () => {
  for (const mode of ['native', 'trap'] as const) {
    it(`shows the directory and table entries and the physical address (${mode})`, async () => {
      const d = await stopAtReady(mode);
      const pd = d.rt.info.symbols.lookup('pd')!.address, pt = d.rt.info.symbols.lookup('pt')!.address;
      const small = d.rt.evaluate('walk 0x3ff123');
      expect(small.result).toBe('0x003ff123 -> 0x00200123 (4 KiB page)');
      expect(small.children!.map((n) => [n.name, n.value])).toEqual([
        ['linear', '0x003ff123'],
        ['CR3', hex8(pd)],
        // Nothing has been fetched through the tables yet: no accessed bits.
        ['PDE 0', `[${hex8(pd)}] = ${hex8(pt | 3)} (P RW)`],
        ['PTE 1023', `[${hex8(pt + 0x3ff * 4)}] = 0x00200001 (P)`],
        ['physical', '0x00200123 (4 KiB page)'],
      ]);
      expect(d.rt.evaluate('walk 0x00812345').result).toBe('0x00812345 -> 0x00c12345 (4 MiB page)');
      expect(d.rt.evaluate('walk 0x01000000').result).toBe('0x01000000 -> none: the page directory entry is not present (#PF)');
      expect(d.rt.evaluate('walk eip').children!.at(-1)!.value).toBe(`${hex8(d.pc)} (4 KiB page)`);
      d.rt.terminate();
    });
  }
});
