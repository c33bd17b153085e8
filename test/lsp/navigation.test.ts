// Go to definition, references and rename over the protocol, across an %include (the header
// only on disk), with local labels scoped to their parent as nasm scopes them (`.loop` under
// `start` is `start.loop`, a different symbol from `.loop` under `other`), and macros.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Location, TextEdit, WorkspaceEdit } from 'vscode-languageserver/node';
import { type Client, startClient } from './lspClient';

const MAIN = [
  'bits 32',                   // 0
  '%include "lib/io.inc"',     // 1
  'start:',                    // 2
  '    mov ecx, COUNT',        // 3
  '.loop:',                    // 4
  '    print_char \'x\'',      // 5
  '    call putc',             // 6
  '    dec ecx',               // 7
  '    jnz .loop',             // 8
  '    jmp start.loop',        // 9
  'other:',                    // 10
  '.loop:',                    // 11
  '    jmp .loop',             // 12
  '    jmp start',             // 13
  '',
].join('\n');

const IO = [
  'COUNT equ 3',               // 0
  '%macro print_char 1',       // 1
  '    mov al, %1',            // 2
  '    call putc',             // 3
  '%endmacro',                 // 4
  'putc:',                     // 5
  '    out 0xE9, al',          // 6
  '    ret',                   // 7
  '',
].join('\n');

let client: Client;
beforeAll(async () => {
  client = await startClient({ 'lib/io.inc': IO });
  client.open('main.asm', MAIN);
  expect(await client.diagnostics('main.asm')).toEqual([]);
});
afterAll(() => client.dispose());

const where = (locations: Location[]): string[] =>
  locations.map((l) => `${l.uri === client.uri('main.asm') ? 'main' : l.uri === client.uri('lib/io.inc') ? 'io' : l.uri}:${l.range.start.line}:${l.range.start.character}-${l.range.end.character}`).sort();

const edits = (e: WorkspaceEdit | null): string[] =>
  Object.entries(e?.changes ?? {}).flatMap(([uri, list]: [string, TextEdit[]]) =>
    list.map((t) => `${uri === client.uri('main.asm') ? 'main' : 'io'}:${t.range.start.line}:${t.range.start.character}-${t.range.end.character}=${t.newText}`)).sort();

describe('go to definition', () => {
  it('finds labels, constants and macros in the included file', async () => {
    expect(where(await client.definition('main.asm', 6, 10))).toEqual(['io:5:0-4']);
    expect(where(await client.definition('main.asm', 5, 6))).toEqual(['io:1:7-17']);
    expect(where(await client.definition('main.asm', 3, 14))).toEqual(['io:0:0-5']);
  });

  it('resolves a local label against its parent', async () => {
    expect(where(await client.definition('main.asm', 8, 9))).toEqual(['main:4:0-5']);
    expect(where(await client.definition('main.asm', 12, 9))).toEqual(['main:11:0-5']);
    expect(where(await client.definition('main.asm', 9, 12))).toEqual(['main:4:0-5']);
  });

  it('has nothing for registers and instructions', async () => {
    expect(await client.definition('main.asm', 7, 9)).toEqual([]);
    expect(await client.definition('main.asm', 7, 5)).toEqual([]);
  });
});

describe('references', () => {
  it('finds a label in both files, macro bodies included', async () => {
    expect(where(await client.references('lib/io.inc', 5, 1))).toEqual(['io:3:9-13', 'io:5:0-4', 'main:6:9-13']);
    expect(where(await client.references('lib/io.inc', 5, 1, false))).toEqual(['io:3:9-13', 'main:6:9-13']);
  });

  it('keeps local labels of different parents apart, and counts the full form', async () => {
    expect(where(await client.references('main.asm', 4, 2))).toEqual(['main:4:0-5', 'main:8:8-13', 'main:9:8-18']);
    expect(where(await client.references('main.asm', 12, 9))).toEqual(['main:11:0-5', 'main:12:8-13']);
  });

  it('finds a macro\'s calls', async () => {
    expect(where(await client.references('main.asm', 5, 6))).toEqual(['io:1:7-17', 'main:5:4-14']);
  });
});

describe('rename', () => {
  it('renames a local label under its parent only, keeping the forms as written', async () => {
    expect(edits(await client.rename('main.asm', 8, 10, '.again'))).toEqual([
      'main:4:0-5=.again', 'main:8:8-13=.again', 'main:9:8-18=start.again',
    ]);
  });

  it('renames a parent label and the full names of its locals', async () => {
    expect(edits(await client.rename('main.asm', 2, 2, 'entry'))).toEqual([
      'main:13:8-13=entry', 'main:2:0-5=entry', 'main:9:8-18=entry.loop',
    ]);
  });

  it('renames across the include, in macro bodies too', async () => {
    expect(edits(await client.rename('main.asm', 6, 10, 'put_char'))).toEqual([
      'io:3:9-13=put_char', 'io:5:0-4=put_char', 'main:6:9-13=put_char',
    ]);
    expect(edits(await client.rename('main.asm', 5, 6, 'emit'))).toEqual(['io:1:7-17=emit', 'main:5:4-14=emit']);
  });

  it('refuses what cannot be renamed', async () => {
    expect(await client.prepareRename('main.asm', 7, 9)).toBeNull();
    expect(await client.prepareRename('main.asm', 6, 10)).toEqual({ range: { start: { line: 6, character: 9 }, end: { line: 6, character: 13 } }, placeholder: 'putc' });
    await expect(client.rename('main.asm', 6, 10, '9lives')).rejects.toThrow(/not a valid nasm identifier/);
    await expect(client.rename('main.asm', 8, 10, 'again')).rejects.toThrow(/keeps its leading '\.'/);
  });
});
