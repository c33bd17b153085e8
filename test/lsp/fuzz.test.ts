// The language server never throws, whatever the text: random sources built from nasm-like
// fragments (broken strings, unbalanced %macro/%if, self-includes, deep macros, odd numbers,
// non-ASCII) go through every feature at random positions, in process and over the protocol.
// Recursive includes are left out: a file that includes itself inside macros makes the
// preprocessor expand up to its limit of two million lines, which takes the assembler (and
// nasm) many seconds; the bundled server stops such an assembly in its worker (bundle.test.ts).
import { describe, expect, it } from 'vitest';
import { ResponseError } from 'vscode-languageserver/node';
import { completion } from '../../src/lsp/completion';
import { hover } from '../../src/lsp/hover';
import { inlayHints } from '../../src/lsp/inlayHints';
import { lensSites } from '../../src/lsp/lens';
import { definition, prepareRename, references, rename } from '../../src/lsp/navigation';
import { documentSymbols, foldingRanges, workspaceSymbols } from '../../src/lsp/outline';
import type { FileSystem } from '../../src/lsp/project';
import { LanguageService } from '../../src/lsp/service';
import { startClient } from './lspClient';

/** mulberry32: a small seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FRAGMENTS = [
  'mov', 'eax', 'ax', 'al', 'cr0', 'ds', 'cs', ',', ' ', '  ', '\t', ':', 'start', '.loop', '..@x', 'start.loop', '[', ']', '+', '-', '*',
  '0x82', '0x80000011', '10h', '$', '$$', '0b1010', '1e3', '0x1.8p3', '99999999999999999999999', "'a'", '"str', '`esc\\n`', ';', '; c',
  'int', 'vmcall', 'hlt', 'jmp', 'call', 'ret', 'push', 'pop', 'xor', 'db', 'dw', 'dd', 'times', 'equ', 'section', '.text', 'bits 32',
  '%define', '%macro m 1', '%macro m2 0-*', '%endmacro', '%if', '%endif', '%rep 3', '%endrep',
  '%1', '%%l', '%$ctx', 'm', 'm2', 'struc', 'endstruc', 'é', '\u0000', '(', ')', '0x08:start', 'far', 'byte', 'lea', '{', '}', '\\',
];

/** Random lines; `include` adds a line that includes the header (which includes nothing). */
function source(r: () => number, lines: number, include = false): string {
  const out: string[] = include ? ['%include "inc.asm"'] : [];
  for (let l = 0; l < lines; l++) {
    const n = Math.floor(r() * 8);
    let line = '';
    for (let k = 0; k < n; k++) line += FRAGMENTS[Math.floor(r() * FRAGMENTS.length)] + (r() < 0.6 ? ' ' : '');
    out.push(line);
  }
  return out.join(r() < 0.1 ? '\r\n' : '\n');
}

function memoryFs(files: Map<string, string>): FileSystem {
  return { readFile: (p) => files.get(p), readBinary: () => undefined, listFiles: () => [...files.keys()] };
}

describe('never throws', () => {
  it('in process: every feature on random sources at random positions', async () => {
    const r = random(0x5eed);
    for (let round = 0; round < 150; round++) {
      const files = new Map<string, string>([['/ws/inc.asm', source(r, 15)]]);
      const service = new LanguageService({ fs: memoryFs(files), uriOf: (p) => `file://${p}` });
      const path = '/ws/self.asm';
      const text = source(r, 40, true);
      files.set(path, text);
      service.project.setOpen(path, text);
      service.project.scan(['/ws']);
      const report = await service.analyze();
      expect(report?.diagnostics.has(path)).toBe(true);
      const lines = text.split(/\r\n|\n/);
      const index = service.index(path)!;
      documentSymbols(index, () => false);
      foldingRanges(index);
      inlayHints(service.hypercallSites(path), { start: { line: 0, character: 0 }, end: { line: lines.length, character: 0 } });
      lensSites(index, service.hypercallSites(path));
      workspaceSymbols(service, 'st');
      for (let k = 0; k < 25; k++) {
        const line = Math.floor(r() * (lines.length + 2));
        const character = Math.floor(r() * ((lines[line]?.length ?? 0) + 2));
        hover(service, path, line, character);
        definition(service, path, line, character);
        references(service, path, line, character, true);
        prepareRename(service, path, line, character);
        completion(service, path, line, character);
        try {
          rename(service, path, line, character, r() < 0.5 ? 'renamed' : '.renamed');
        } catch (e) {
          // Refusals are protocol errors with a message, nothing else.
          expect(e).toBeInstanceOf(ResponseError);
        }
      }
    }
  });

  it('over the protocol: requests on random documents get answers, not errors', async () => {
    const r = random(42);
    const client = await startClient({ 'inc.asm': source(r, 10) });
    try {
      for (let round = 0; round < 8; round++) {
        const name = `doc${round}.asm`;
        const text = source(r, 30, true);
        client.open(name, text);
        await client.diagnostics(name);
        const lines = text.split(/\r\n|\n/);
        for (let k = 0; k < 10; k++) {
          const line = Math.floor(r() * lines.length);
          const character = Math.floor(r() * ((lines[line]?.length ?? 0) + 1));
          await client.hover(name, line, character);
          await client.completion(name, line, character);
          await client.references(name, line, character);
          await client.definition(name, line, character);
        }
        await client.documentSymbols(name);
        await client.folding(name);
        await client.inlayHints(name);
      }
    } finally {
      await client.dispose();
    }
  });
});
