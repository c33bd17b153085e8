// The code-lens extension point: with a provider plugged into the server, a codeLens request
// hands it the file's virtualization sites (hypercalls with their names, privileged and
// sensitive instructions), and its lenses go back to the client. Without one, the server
// does not offer code lenses at all.
import { describe, expect, it } from 'vitest';
import { type CodeLens, CodeLensRequest } from 'vscode-languageserver/node';
import type { LensSite } from '../../src/lsp/lens';
import { startClient } from './lspClient';

const KERNEL = [
  'bits 32',              // 0
  'start:',               // 1
  '    cli',              // 2
  '    mov eax, 18',      // 3
  '    xor ebx, ebx',     // 4
  '    int 0x82',         // 5
  '    pushf',            // 6
  '    mov cr3, eax',     // 7
  '    add eax, 1',       // 8
  '    hlt',              // 9
  '',
].join('\n');

describe('code lenses', () => {
  it('passes the sites to the provider and returns its lenses', async () => {
    const seen: { uri: string; sites: readonly LensSite[] }[] = [];
    const client = await startClient({}, {}, {
      lensProvider: {
        lenses(uri, sites) {
          seen.push({ uri, sites });
          return sites.map((s): CodeLens => ({
            range: { start: { line: s.line, character: s.start }, end: { line: s.line, character: s.end } },
            command: { title: `${s.kind} ${s.name}: 0 exits`, command: '' },
          }));
        },
      },
    });
    try {
      client.open('k.asm', KERNEL);
      await client.diagnostics('k.asm');
      const lenses = await client.connection.sendRequest(CodeLensRequest.type, { textDocument: { uri: client.uri('k.asm') } });
      expect(lenses?.map((l) => `${l.range.start.line} ${l.command?.title}`)).toEqual([
        '2 privileged cli: 0 exits',
        '5 hypercall console_io: 0 exits',
        '6 sensitive pushf: 0 exits',
        '7 privileged mov: 0 exits',
        '9 privileged hlt: 0 exits',
      ]);
      expect(seen[0].uri).toBe(client.uri('k.asm'));
    } finally {
      await client.dispose();
    }
  });

  it('offers no code lenses without a provider', async () => {
    const client = await startClient();
    try {
      expect(client.capabilities.codeLensProvider).toBeUndefined();
      expect(client.capabilities.inlayHintProvider).toBe(true);
    } finally {
      await client.dispose();
    }
  });
});
