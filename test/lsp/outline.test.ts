// Document symbols, workspace symbols, folding ranges and completion over the protocol, on a
// file whose structure is known line by line.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DocumentSymbol, FoldingRangeKind, SymbolKind } from 'vscode-languageserver/node';
import { type Client, startClient } from './lspClient';

const SOURCE = [
  '; kernel header comment',     // 0
  '; second line',               // 1
  'bits 32',                     // 2
  'section .text',               // 3
  '%define LIMIT 10',            // 4
  '%macro outb 2',               // 5
  '    mov dx, %1',              // 6
  '    mov al, %2',              // 7
  '    out dx, al',              // 8
  '%endmacro',                   // 9
  'start:',                      // 10
  '    mov ecx, LIMIT',          // 11
  '.next:',                      // 12
  '    outb 0x3F8, \'a\'',       // 13
  '    loop .next',              // 14
  '%if LIMIT > 5',               // 15
  '    nop',                     // 16
  '%endif',                      // 17
  '    hlt',                     // 18
  '',                            // 19
  'print:',                      // 20
  '    ret',                     // 21
  'section .data',               // 22
  'msg: db "hi", 0 ; greeting',  // 23
  'SIZE equ $ - msg',            // 24
  '',
].join('\n');

let client: Client;
beforeAll(async () => {
  client = await startClient({ 'lib/other.asm': 'bits 32\nhelper_routine:\n    ret\n' });
  client.open('k.asm', SOURCE);
  expect(await client.diagnostics('k.asm')).toEqual([]);
});
afterAll(() => client.dispose());

/** SymbolKind's names by number (the protocol sends numbers). */
const KIND = new Map(Object.entries(SymbolKind).map(([name, n]) => [n, name]));

const outline = (list: DocumentSymbol[]): string[] => list.flatMap((s) => [
  `${s.name} ${KIND.get(s.kind)} ${s.range.start.line}-${s.range.end.line}`,
  ...(s.children ?? []).map((c) => `  ${c.name} ${KIND.get(c.kind)} ${c.range.start.line}-${c.range.end.line}`),
]);

describe('document symbols', () => {
  it('lists sections, constants, macros and labels with their local labels', async () => {
    expect(outline(await client.documentSymbols('k.asm'))).toEqual([
      '.text Namespace 3-21',
      'LIMIT Constant 4-4',
      'outb Function 5-9',
      'start Method 10-18',
      '  .next Field 12-18',
      'print Method 20-21',
      '.data Namespace 22-24',
      'msg Variable 23-24',
      'SIZE Constant 24-24',
    ]);
  });
});

describe('workspace symbols', () => {
  it('finds definitions in every source file of the workspace, by fuzzy name', async () => {
    const found = await client.workspaceSymbols('helpr');
    expect(found.map((s) => `${s.name} ${s.location.uri === client.uri('lib/other.asm')} ${s.location.range.start.line}`)).toEqual(['helper_routine true 1']);
    expect((await client.workspaceSymbols('outb')).map((s) => KIND.get(s.kind))).toEqual(['Function']);
  });
});

describe('folding', () => {
  it('folds comment runs, macros, conditionals and labels', async () => {
    const ranges = (await client.folding('k.asm')).map((r) => `${r.startLine}-${r.endLine} ${r.kind === FoldingRangeKind.Comment ? 'comment' : 'region'}`).sort();
    expect(ranges).toEqual(['0-1 comment', '10-18 region', '12-18 region', '15-17 region', '20-21 region', '23-24 region', '5-9 region']);
  });
});

describe('completion', () => {
  const labels = async (line: number, character: number): Promise<string[]> => (await client.completion('k.asm', line, character)).map((i) => i.label);

  it('offers instructions, directives and macros where a statement starts', async () => {
    const items = await labels(16, 4);
    expect(items).toEqual(expect.arrayContaining(['hlt', 'mov', 'vmcall', 'outb', 'db', 'section', 'times']));
    expect(items).not.toContain('eax');
    expect(items).not.toContain('start');
    const hlt = (await client.completion('k.asm', 16, 4)).find((i) => i.label === 'hlt');
    expect(hlt?.detail).toBe('Halts until the next interrupt (or NMI, SMI, INIT, reset).');
  });

  it('offers registers, labels, local labels of the current parent and constants in operands', async () => {
    const items = await labels(11, 13);
    expect(items).toEqual(expect.arrayContaining(['eax', 'cr0', 'LIMIT', 'SIZE', 'start', 'print', 'msg', '.next', 'dword']));
    expect(items).not.toContain('outb');
    expect(items).not.toContain('mov');
  });

  it('offers preprocessor directives after %, and nothing in a comment', async () => {
    client.change('k.asm', `${SOURCE}%`);
    const items = await client.completion('k.asm', 25, 1);
    expect(items.map((i) => i.label)).toEqual(expect.arrayContaining(['%define', '%macro', '%include', '%endif']));
    expect(items.find((i) => i.label === '%define')?.insertText).toBe('define');
    expect(await labels(23, 22)).toEqual([]);
    client.change('k.asm', SOURCE);
  });
});
