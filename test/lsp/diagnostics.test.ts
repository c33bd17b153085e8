// Assembler diagnostics over the protocol: positions checked by hand against the source text
// (and the lines against nasm 2.16.01, which reports the same three problems on lines 5-7 of
// ERRORS: "symbol `nothere' not defined", "invalid combination of opcode and operands",
// "byte data exceeds bounds"), diagnostics of an included file sent to that file, unsaved
// edits of an open included file taking part, and comment-only edits reusing the last run.
import { afterEach, describe, expect, it } from 'vitest';
import { type Diagnostic, DiagnosticSeverity } from 'vscode-languageserver/node';
import { ASSEMBLER_SOURCE } from '../../src/lsp/diagnostics';
import { type Client, startClient } from './lspClient';

const ERRORS = [
  'bits 32',
  'start:',
  '    mov eax, 1',
  '    mvo ebx, 2',
  '    mov eax, [nothere]',
  '    add eax, ebx, ecx',
  '    mov al, 300',
  '    jmp start',
  '',
].join('\n');

let client: Client | undefined;
afterEach(async () => { await client?.dispose(); client = undefined; });

const summary = (list: Diagnostic[]) =>
  list.map((d) => `${d.range.start.line}:${d.range.start.character}-${d.range.end.character} ${d.severity === DiagnosticSeverity.Error ? 'E' : 'W'} ${d.message}`);

describe('assembler diagnostics', () => {
  it('reports each problem at the word the assembler points to', async () => {
    client = await startClient();
    const got = client.nextDiagnostics('errors.asm');
    client.open('errors.asm', ERRORS);
    const list = await got;
    expect(list.every((d) => d.source === ASSEMBLER_SOURCE)).toBe(true);
    expect(summary(list)).toEqual([
      // `    mvo ebx, 2`: after the unknown word `mvo` (taken as a label), `ebx` at columns 8-11.
      '3:8-11 E parser: instruction expected',
      // `    mov eax, [nothere]`: the name starts after 14 characters.
      '4:14-21 E symbol `nothere\' not defined',
      '5:4-7 E invalid combination of opcode and operands',
      '6:4-7 W byte data exceeds bounds',
    ]);
  });

  it('clears a fixed error after the next edit', async () => {
    client = await startClient();
    client.open('a.asm', 'bits 32\n    mov eax, [nothere]\n');
    expect(await client.diagnostics('a.asm')).toHaveLength(1);
    const next = client.nextDiagnostics('a.asm');
    client.change('a.asm', 'bits 32\nnothere:\n    mov eax, [nothere]\n');
    expect(await next).toEqual([]);
  });

  it('sends an included file its own diagnostics, and counts its unsaved edits', async () => {
    const main = 'bits 32\n%include "inc/defs.inc"\nstart:\n    mov eax, LIMIT\n    jmp helper\n';
    const defs = 'LIMIT equ 10\nhelper:\n    mov ebx, [missing]\n    ret\n';
    client = await startClient({ 'inc/defs.inc': defs });
    const forDefs = client.nextDiagnostics('inc/defs.inc');
    const forMain = client.nextDiagnostics('main.asm');
    client.open('main.asm', main);
    expect(summary(await forMain)).toEqual([]);
    // `    mov ebx, [missing]` in the header: column 14.
    expect(summary(await forDefs)).toEqual(['2:14-21 E symbol `missing\' not defined']);

    // Open the header and fix it without saving: the kernel is assembled with the new text.
    const fixed = client.nextDiagnostics('inc/defs.inc');
    client.open('inc/defs.inc', 'LIMIT equ 10\nmissing:\nhelper:\n    mov ebx, [missing]\n    ret\n');
    expect(await fixed).toEqual([]);
    // Remove a label the kernel uses, still unsaved: the error appears in the kernel.
    const broken = client.nextDiagnostics('main.asm');
    client.change('inc/defs.inc', 'LIMIT equ 10\nmissing:\n    ret\n');
    expect(summary(await broken)).toEqual(['4:8-14 E symbol `helper\' not defined']);
  });

  it('relates an error inside a macro to the macro line it came from', async () => {
    const src = '%macro load 1\n    mov eax, %1 + nowhere\n%endmacro\nbits 32\n    load 3\n';
    client = await startClient();
    const got = client.nextDiagnostics('m.asm');
    client.open('m.asm', src);
    const [d] = await got;
    expect(d.message).toBe('symbol `nowhere\' not defined');
    expect(d.range.start.line).toBe(4);
    expect(d.relatedInformation?.map((r) => r.location.range.start.line)).toEqual([1]);
    expect(d.relatedInformation?.[0].location.uri).toBe(client.uri('m.asm'));
  });

  it('does not assemble again for an edit inside a comment', async () => {
    client = await startClient();
    const src = 'bits 32\nstart: jmp start ; spin\n';
    client.open('c.asm', src);
    await client.diagnostics('c.asm');
    const service = client.server.service!;
    expect(service.runsFor(client.path('c.asm'))[0].reused).toBe(false);
    client.change('c.asm', src.replace('spin', 'spin forever; the ; is still comment'));
    // A request is answered after the edit before it; then wait for the analysis it started.
    await client.hover('c.asm', 0, 0);
    await client.server.settled();
    expect(service.runsFor(client.path('c.asm'))[0].reused).toBe(true);
    const again = client.nextDiagnostics('c.asm');
    client.change('c.asm', src.replace('jmp start', 'jmp start2'));
    expect(summary(await again)).toEqual(['1:11-17 E symbol `start2\' not defined']);
    expect(service.runsFor(client.path('c.asm'))[0].reused).toBe(false);
  });

  it('clears the diagnostics of a closed document', async () => {
    client = await startClient();
    client.open('x.asm', 'bits 32\n    mov eax, [nothere]\n');
    expect(await client.diagnostics('x.asm')).toHaveLength(1);
    const cleared = client.nextDiagnostics('x.asm');
    client.close('x.asm');
    expect(await cleared).toEqual([]);
  });
});
