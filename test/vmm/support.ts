/** Running kernels under the VMM for tests: nasm-built images, runs, event counts. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VmmOptions, VmmRunResult } from '../../src/vmm/vmm';
import { createVmm, type ModeName, type Vmm } from '../../src/vmm/vmm';

export const LOAD_ADDR = 0x100000;

export interface Assembled { image: Uint8Array; listing: string }

/** Assembles with the real nasm, keeping the listing (`nasm -l`) to find instruction addresses. */
export function assemble(source: string, file?: string): Assembled {
  const dir = mkdtempSync(join(tmpdir(), 'vtscope-vmm-'));
  try {
    const src = file ?? join(dir, 'in.asm');
    if (file === undefined) writeFileSync(src, source);
    const out = join(dir, 'out.bin'), lst = join(dir, 'out.lst');
    execFileSync('nasm', ['-f', 'bin', src, '-o', out, '-l', lst], { stdio: ['ignore', 'ignore', 'pipe'] });
    return { image: new Uint8Array(readFileSync(out)), listing: readFileSync(lst, 'latin1') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function assembleFile(path: string): Assembled { return assemble('', path); }

/**
 * A flat Multiboot kernel at 1 MiB: `body` runs first with a 4 KiB stack; `data` follows the
 * code. Labels `stack_top` and `image_end` are defined. A `pv` kernel carries the PV mark.
 */
export function kernel(body: string, data = '', { pv = false } = {}): Assembled {
  return assemble(`
bits 32
org 0x100000
header:
  dd 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000)
  dd header, header, image_end, bss_end, start
${pv ? 'db "GUEST_OS=test,XEN_VER=xen-3.0", 0' : ''}
start:
  mov esp, stack_top
${body}
${data}
image_end:
  align 16
  times 4096 db 0
stack_top:
bss_end:
`);
}

/**
 * Address of the listing line whose source matches `source` (a regular expression on the
 * source text); a label alone on its line takes the address of the next line with bytes. The
 * listing's offsets are from `org` LOAD_ADDR.
 */
export function addressOf(listing: string, source: RegExp): number {
  const hits = addressesOf(listing, source);
  if (hits.length !== 1) throw new Error(`${hits.length} listing lines match ${source}`);
  return hits[0];
}

/** Addresses of every listing line that matches, in order. */
export function addressesOf(listing: string, source: RegExp): number[] {
  const hits: number[] = [];
  let label = false;
  for (const line of listing.split('\n')) {
    const m = /^\s*\d+\s+([0-9A-F]{8})\s+[0-9A-F[\]()]+-?\s+(.*)$/.exec(line);
    if (m !== null) {
      if (label || source.test(m[2])) hits.push(LOAD_ADDR + Number.parseInt(m[1], 16));
      label = false;
    } else if (source.test(line.replace(/^\s*\d+\s+/, ''))) {
      label = true;
    }
  }
  return hits;
}

export interface Run { vmm: Vmm; result: VmmRunResult; serial: string }

export function run(mode: ModeName, image: Uint8Array, opts: VmmOptions & { maxInstructions?: number } = {}): Run {
  const vmm = createVmm(mode, opts);
  const bytes: number[] = [];
  vmm.machine.onSerialOutput = (b) => bytes.push(b);
  vmm.load(image);
  const result = vmm.run({ maxInstructions: opts.maxInstructions ?? 200_000_000 });
  return { vmm, result, serial: Buffer.from(bytes).toString('latin1') };
}

/** Count of each event reason. */
export function counts(vmm: Vmm): Record<string, number> {
  return Object.fromEntries(vmm.log.counters().map((r) => [r.name, r.count]));
}
