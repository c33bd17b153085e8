// package.json's debugger and settings contributions against the code that interprets them:
// the adapter's launch parser, the loader's RAM bounds, the VMM's cost presets, memory
// virtualizations and exit ring; and the .vsix that `vsce package` makes of it, read as the
// zip file it is: what it holds and the marketplace metadata in its extension.vsixmanifest.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODES } from '../../src/debug/launchConfig';
import { MAX_RAM_MIB, MIN_RAM_MIB } from '../../src/loader/multiboot';
import { COST_PRESETS, DEFAULT_COST_PRESET } from '../../src/vmm/costModel';
import { RING_CAPACITY } from '../../src/vmm/exitLog';
import { MEM_VIRT_NAMES } from '../../src/vmm/hw/memoryVirtualization';

interface Schema { type: string; enum?: string[]; default?: unknown; minimum?: number; maximum?: number }
interface Manifest {
  main: string;
  engines: { vscode: string };
  contributes: {
    debuggers: { type: string; label: string; languages: string[]; configurationAttributes: { launch: { required: string[]; properties: Record<string, Schema> } } }[];
    configuration: { properties: Record<string, Schema> };
    breakpoints: { language: string }[];
    languages: { id: string }[];
  };
}

const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as Manifest;
const debuggerEntry = manifest.contributes.debuggers.find((d) => d.type === 'vtscope')!;
const launch = debuggerEntry.configurationAttributes.launch.properties;
const settings = manifest.contributes.configuration.properties;
const launchSource = readFileSync('src/debug/launchConfig.ts', 'utf8');

describe('the vtscope debugger contribution', () => {
  it('describes every attribute the adapter reads, and only those', () => {
    // Every `a.NAME`, 'NAME' given to optional(), and the VMM-only list in the parser.
    const read = new Set([...launchSource.matchAll(/optional\('(\w+)'|'(memVirt|costModel)'/g)].map((m) => m[1] ?? m[2]));
    expect(read.size).toBeGreaterThanOrEqual(7);
    expect(new Set(Object.keys(launch))).toEqual(read);
    expect(debuggerEntry.configurationAttributes.launch.required).toEqual(['program']);
  });

  it('offers the modes the adapter knows, and the memory bounds of the loader', () => {
    expect(launch.mode.enum).toEqual([...MODES]);
    expect(settings['vtscope.defaultMode'].enum).toEqual([...MODES]);
    for (const s of [launch.memoryMiB, settings['vtscope.memoryMiB']]) {
      expect([s.minimum, s.maximum]).toEqual([MIN_RAM_MIB, MAX_RAM_MIB]);
    }
  });

  it('offers the cost presets of the VMM, with its default', () => {
    const names = COST_PRESETS.map((p) => p.name);
    expect(launch.costModel.enum).toEqual(names);
    expect(settings['vtscope.costModel'].enum).toEqual(names);
    expect(settings['vtscope.costModel'].default).toBe(DEFAULT_COST_PRESET);
  });

  it('offers the memory virtualizations of the hw VMM, and auto in the setting', () => {
    expect(launch.memVirt.enum).toEqual([...MEM_VIRT_NAMES]);
    expect(settings['vtscope.memoryVirtualization'].enum).toEqual(['auto', ...MEM_VIRT_NAMES]);
  });

  it('keeps as many exit records as the VMM ring by default', () => {
    expect(settings['vtscope.exitLog.ringSize'].default).toBe(RING_CAPACITY);
  });

  it('takes breakpoints in the language its guest sources have', () => {
    expect(debuggerEntry.languages).toEqual(['nasm']);
    expect(manifest.contributes.breakpoints).toEqual([{ language: 'nasm' }]);
    expect(manifest.contributes.languages.map((l) => l.id)).toContain('nasm');
  });

  it('loads in VS Code 1.100 (code-server 4.100), as vscode-languageclient 11 needs 1.91 or newer', () => {
    expect(manifest.engines.vscode).toBe('^1.100.0');
    expect(manifest.main).toBe('./dist/extension.js');
  });
});

/** The entries of a zip file, by name: its central directory (APPNOTE.TXT 4.3.12 and 4.3.16). */
function unzip(zip: Buffer): Map<string, () => Buffer> {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0) throw new Error('not a zip file: no end of central directory record');
  const entries = new Map<string, () => Buffer>();
  let at = zip.readUInt32LE(end + 16);
  for (let k = zip.readUInt16LE(end + 10); k > 0; k--) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`bad central directory entry at ${at}`);
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    entries.set(name, () => {
      const data = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const raw = zip.subarray(data, data + size);
      return method === 8 ? inflateRawSync(raw) : Buffer.from(raw);
    });
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return entries;
}

describe('the packaged extension', () => {
  let dir: string;
  let vsix: Map<string, () => Buffer>;

  beforeAll(() => {
    for (const f of ['dist/extension.js', 'dist/cli.js', 'dist/lsp.js']) if (!existsSync(f)) throw new Error(`${f} is not built: run npm run build first`);
    dir = mkdtempSync(join(tmpdir(), 'vtscope-vsix-'));
    const out = join(dir, 'vtscope.vsix');
    // The command of `npm run package`, after its build.
    execFileSync(resolve('node_modules/.bin/vsce'), ['package', '--no-dependencies', '--out', out], { stdio: 'pipe', timeout: 90_000 });
    vsix = unzip(readFileSync(out));
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('holds the bundles, the language definition, the icon, the docs and the sample sources, and nothing else', () => {
    // The sources "vtscope: Open Sample" lists, micro.inc they include, the C kernel's boot
    // code and linker script; not what `npm run samples` builds into samples/build.
    const samples = [
      'README.md', 'hello.asm', 'holes.asm', 'paging.asm', 'pv-hello.asm', 'pv-timer.asm', 'syscall.asm', 'timer.asm',
      'micro/callret.asm', 'micro/compute.asm', 'micro/ctxswitch.asm', 'micro/divzero.asm', 'micro/io.asm',
      'micro/micro.inc', 'micro/pgfault.asm', 'micro/ptemod.asm', 'micro/syscall.asm',
      'c-kernel/boot.asm', 'c-kernel/kernel.c', 'c-kernel/link.ld',
      'apic-timer/boot.asm', 'apic-timer/kernel.c', 'apic-timer/link.ld', 'apic-timer/mptable.c', 'apic-timer/mptable.h',
      'processes/ata.c', 'processes/boot.asm', 'processes/descriptors.c', 'processes/kernel.c', 'processes/kernel.h',
      'processes/link.ld', 'processes/proc.c', 'processes/user.c',
      'smp/boot.asm', 'smp/kernel.c', 'smp/link.ld', 'smp/processors.c', 'smp/processors.h',
      'lib/console.c', 'lib/console.h',
    ];
    expect([...vsix.keys()].sort()).toEqual([
      '[Content_Types].xml', 'extension.vsixmanifest',
      'extension/LICENSE.txt', 'extension/changelog.md',
      'extension/dist/cli.js', 'extension/dist/extension.js', 'extension/dist/lsp.js',
      'extension/language-configuration.json', 'extension/media/icon.png', 'extension/package.json',
      'extension/readme.md', ...samples.map((f) => `extension/samples/${f}`), 'extension/syntaxes/nasm.tmLanguage.json',
    ].sort());
    for (const f of samples) expect(vsix.get(`extension/samples/${f}`)!().equals(readFileSync(join('samples', f)))).toBe(true);
    expect(vsix.get('extension/LICENSE.txt')!().toString()).toMatch(/^MIT License\n\nCopyright \(c\) 2026 the vtscope authors\n/);
    expect(vsix.get('extension/changelog.md')!().toString()).toMatch(/^# Changelog\n\n## 0\.1\.0\n/);
  });

  it('has a 128x128 PNG icon', () => {
    const png = vsix.get('extension/media/icon.png')!();
    // The PNG signature, then IHDR: width, height, bit depth 8, colour type 6 (RGBA).
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.toString('latin1', 12, 16)).toBe('IHDR');
    expect([png.readUInt32BE(16), png.readUInt32BE(20), png[24], png[25]]).toEqual([128, 128, 8, 6]);
  });

  it('gives the marketplace its categories, keywords, license, icon and links', () => {
    const meta = vsix.get('extension.vsixmanifest')!().toString();
    const tag = (name: string) => new RegExp(`<${name}[^>]*>([^<]*)</${name}>`).exec(meta)?.[1];
    const property = (id: string) => new RegExp(`<Property Id="${id.replace(/\./g, '\\.')}" Value="([^"]*)"`).exec(meta)?.[1];
    expect(tag('Categories')).toBe('Debuggers,Programming Languages,Education');
    expect(tag('Tags')!.split(',')).toEqual(expect.arrayContaining(['x86', 'virtualization', 'hypervisor', 'VT-x', 'nasm', 'debugger']));
    expect(tag('License')).toBe('extension/LICENSE.txt');
    expect(tag('Icon')).toBe('extension/media/icon.png');
    expect(property('Microsoft.VisualStudio.Code.Engine')).toBe('^1.100.0');
    expect(property('Microsoft.VisualStudio.Services.Links.Source')).toBe('https://github.com/vtscope/vtscope.git');
    expect(property('Microsoft.VisualStudio.Services.Links.Support')).toBe('https://github.com/vtscope/vtscope/issues');
    expect(property('Microsoft.VisualStudio.Services.Links.Learn')).toBe('https://github.com/vtscope/vtscope#readme');
    const packaged = JSON.parse(vsix.get('extension/package.json')!().toString()) as { main: string; icon: string };
    expect(vsix.has(`extension/${packaged.main.replace(/^\.\//, '')}`)).toBe(true);
    expect(vsix.has(`extension/${packaged.icon}`)).toBe(true);
  });
});
