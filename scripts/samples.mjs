// The sample kernels under samples/ and how each is built with nasm, gcc and ld.
// Used by `npm run samples` (build-samples.mjs) and by the tests.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const samplesDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'samples');
export const defaultOutDir = join(samplesDir, 'build');

/**
 * Flat binaries carry a Multiboot header with the address fields; the ELF is linked by link.ld.
 * `mode` names the VMM mode a sample is written for, when it cannot run on bare metal.
 */
const SAMPLES = [
  { name: 'hello', kind: 'flat', sources: ['hello.asm'] },
  { name: 'timer', kind: 'flat', sources: ['timer.asm'] },
  { name: 'syscall', kind: 'flat', sources: ['syscall.asm'] },
  { name: 'paging', kind: 'flat', sources: ['paging.asm'] },
  { name: 'holes', kind: 'flat', sources: ['holes.asm'] },
  { name: 'pv-hello', kind: 'flat', sources: ['pv-hello.asm'], mode: 'pv' },
  { name: 'pv-timer', kind: 'flat', sources: ['pv-timer.asm'], mode: 'pv' },
  { name: 'c-kernel', kind: 'elf', sources: ['c-kernel/boot.asm', 'c-kernel/kernel.c', 'lib/console.c', 'c-kernel/link.ld'] },
  {
    name: 'apic-timer', kind: 'elf',
    sources: ['apic-timer/boot.asm', 'apic-timer/kernel.c', 'apic-timer/mptable.c', 'lib/console.c', 'apic-timer/link.ld'],
  },
  {
    name: 'processes', kind: 'elf',
    sources: ['processes/boot.asm', 'processes/kernel.c', 'processes/descriptors.c', 'processes/proc.c',
      'processes/user.c', 'processes/ata.c', 'lib/console.c', 'processes/link.ld'],
  },
  {
    name: 'smp', kind: 'elf',
    sources: ['smp/boot.asm', 'smp/kernel.c', 'smp/processors.c', 'lib/console.c', 'smp/link.ld'],
  },
];

const DEBIAN_PACKAGE = { nasm: 'nasm', gcc: 'gcc-multilib', ld: 'binutils' };

const CFLAGS = [
  '-m32', '-ffreestanding', '-nostdlib', '-fno-pic', '-fno-pie', '-no-pie', '-O2', '-g',
  '-Wall', '-Wextra', '-Werror',
  // Integer instructions only, and nothing the kernel does not need.
  '-mgeneral-regs-only', '-fno-stack-protector', '-fcf-protection=none',
  '-fno-asynchronous-unwind-tables',
  // EBP chains the frames: the debugger walks the stack and shows each frame's memory through it.
  '-fno-omit-frame-pointer',
];

export class SampleBuildError extends Error {
  constructor(message) {
    super(message);
    this.name = 'SampleBuildError';
  }
}

/** Every sample with its source paths and the image it builds to in outDir. */
export function listSamples(outDir = defaultOutDir) {
  return SAMPLES.map((s) => ({
    name: s.name,
    kind: s.kind,
    mode: s.mode ?? 'native',
    sources: s.sources.map((f) => join(samplesDir, f)),
    image: join(outDir, `${s.name}.${s.kind === 'flat' ? 'bin' : 'elf'}`),
  }));
}

/** Builds the named samples (all by default) into outDir; throws SampleBuildError. */
export function buildSamples({ outDir = defaultOutDir, names } = {}) {
  const all = listSamples(outDir);
  const unknown = (names ?? []).filter((n) => !all.some((s) => s.name === n));
  if (unknown.length > 0) {
    throw new SampleBuildError(`unknown sample ${unknown.join(', ')}; the samples are ${all.map((s) => s.name).join(', ')}`);
  }
  const chosen = names ? all.filter((s) => names.includes(s.name)) : all;
  mkdirSync(outDir, { recursive: true });
  for (const sample of chosen) {
    if (sample.kind === 'flat') buildFlat(sample, outDir);
    else buildElf(sample, outDir);
  }
  return chosen;
}

function buildFlat(sample, outDir) {
  const [source] = sample.sources;
  // The listing maps each address to its source line: handy next to a printed EIP.
  run('nasm', ['-f', 'bin', '-o', sample.image, '-l', join(outDir, `${sample.name}.lst`), source], source);
}

/** sources: the boot code (nasm), the C files in link order, the linker script. */
function buildElf(sample, outDir) {
  const bootAsm = sample.sources[0], linkerScript = sample.sources[sample.sources.length - 1];
  const objDir = join(outDir, `${sample.name}.obj`);
  mkdirSync(objDir, { recursive: true });
  const bootObj = join(objDir, 'boot.o');
  run('nasm', ['-f', 'elf32', '-g', '-F', 'dwarf', '-o', bootObj, bootAsm], bootAsm);
  const cObjects = sample.sources.slice(1, -1).map((source) => {
    const obj = join(objDir, `${basename(source, '.c')}.o`);
    run('gcc', [...CFLAGS, '-c', '-o', obj, source], source);
    return obj;
  });
  // Segment permissions in the ELF file mean nothing to a kernel that sets up its own.
  run('ld', ['-m', 'elf_i386', '-T', linkerScript, '-z', 'noexecstack', '--no-warn-rwx-segments',
    '-o', sample.image, bootObj, ...cObjects], linkerScript);
}

function run(tool, args, file) {
  try {
    execFileSync(tool, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    if (error.code === 'ENOENT') {
      throw new SampleBuildError(
        `${tool} not found on PATH; it is needed to build ${file} (on Debian: apt-get install ${DEBIAN_PACKAGE[tool]})`);
    }
    const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim();
    throw new SampleBuildError(`${tool} failed on ${file}${output ? `:\n${output}` : ` (${error.message})`}`);
  }
}
