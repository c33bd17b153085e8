/**
 * The sample kernels shipped in the extension's `samples/` folder: the NASM kernels at its
 * top, the microbenchmarks in `micro/` and the C kernel in `c-kernel/`, each with the file to
 * open and a one-line description, the first sentence of the comment its source opens with.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export type SampleGroup = 'kernels' | 'micro' | 'c';

export interface Sample {
  /** Its path under samples/, with '/' ('hello.asm', 'micro/io.asm'), or 'c-kernel'. */
  name: string;
  group: SampleGroup;
  /** The source to open. */
  file: string;
  /** Empty when the source opens with no comment. */
  description: string;
}

/** The samples folder is missing or unreadable (an incomplete installation). */
export class SampleError extends Error {}

/** The file a C kernel's entry opens: the C source, which comes with boot.asm and link.ld. */
const C_KERNEL_SOURCE = 'kernel.c';

/** The text of the comment that opens `lines`: `;` lines (NASM) or a `/* ... *\/` block (C). */
function openingComment(lines: string[]): string[] {
  const first = lines.findIndex((l) => l.trim() !== '');
  if (first < 0) return [];
  if (/^\s*;/.test(lines[first])) {
    const comment: string[] = [];
    for (let k = first; k < lines.length && /^\s*;/.test(lines[k]); k++) comment.push(lines[k].replace(/^\s*;+\s?/, ''));
    return comment;
  }
  if (/^\s*\/\*/.test(lines[first])) {
    const comment: string[] = [];
    for (let k = first; k < lines.length; k++) {
      const end = lines[k].indexOf('*/');
      comment.push((end < 0 ? lines[k] : lines[k].slice(0, end)).replace(/^\s*(\/\*+|\*+(?!\/))?\s?/, ''));
      if (end >= 0) break;
    }
    return comment;
  }
  return [];
}

/**
 * The first sentence of the opening comment's first paragraph, without the `NAME:` the
 * samples start it with: "; hello.asm: the smallest useful kernel." gives "the smallest
 * useful kernel.". A sentence may go on over several comment lines.
 */
export function sampleDescription(source: string): string {
  const comment = openingComment(source.split(/\r?\n/));
  const start = comment.findIndex((l) => l.trim() !== '');
  if (start < 0) return '';
  const end = comment.findIndex((l, k) => k > start && l.trim() === '');
  const paragraph = comment.slice(start, end < 0 ? undefined : end).join(' ').replace(/\s+/g, ' ').trim();
  const text = paragraph.replace(/^[\w.-]+:\s+/, '');
  return /^.*?\.(?=\s|$)/.exec(text)?.[0] ?? text;
}

function asmFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => /\.asm$/i.test(f) && statSync(join(dir, f)).isFile()).sort();
}

/** The samples under `root` (the extension's samples/ folder), in the order the quick pick lists them. */
export function listSamples(root: string): Sample[] {
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new SampleError(`vtscope: no samples folder at ${root}; reinstall the extension to get the sample kernels back`);
  }
  const sample = (name: string, group: SampleGroup, file: string): Sample => {
    try {
      return { name, group, file, description: sampleDescription(readFileSync(file, 'utf8')) };
    } catch (e) {
      throw new SampleError(`vtscope: cannot read the sample ${file}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  const samples = asmFiles(root).map((f) => sample(f, 'kernels', join(root, f)));
  const micro = join(root, 'micro');
  if (existsSync(micro)) samples.push(...asmFiles(micro).map((f) => sample(`micro/${f}`, 'micro', join(micro, f))));
  // The C kernels: each folder with a kernel.c (c-kernel, apic-timer, processes, smp).
  const cKernels = readdirSync(root).filter((d) => existsSync(join(root, d, C_KERNEL_SOURCE))).sort();
  for (const d of cKernels) samples.push(sample(d, 'c', join(root, d, C_KERNEL_SOURCE)));
  return samples;
}
