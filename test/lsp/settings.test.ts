// The assembler settings (nasm's -I and -D) over the protocol: in the initialization options
// and in workspace/didChangeConfiguration, which makes the open documents assemble again.
// nasm 2.16.01 agrees on the source: `nasm -f bin src/k.asm` stops at "unable to open include
// file `ports.inc'", and `nasm -f bin -I inc/ -DGREETING=65 src/k.asm` assembles it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DidChangeConfigurationNotification } from 'vscode-languageserver/node';
import { assemblerSettings } from '../../src/lsp/server';
import { type Client, startClient } from './lspClient';

const KERNEL = [
  'bits 32',
  '%include "ports.inc"',
  '%ifndef GREETING',
  '%error GREETING is not defined',
  '%endif',
  '    mov dx, PORT',
  '    mov al, GREETING',
  '',
].join('\n');
const FILES = { 'inc/ports.inc': 'PORT equ 0x3f8\n', 'src/k.asm': KERNEL };

let client: Client | undefined;
afterEach(async () => { await client?.dispose(); client = undefined; });

const messages = async (next: Promise<unknown>) => ((await next) as { message: string; range: { start: { line: number } } }[])
  .map((d) => `${d.range.start.line}: ${d.message}`);

describe('assembler settings', () => {
  it('without them, the include file and the define are missing', async () => {
    client = await startClient(FILES);
    const got = client.nextDiagnostics('src/k.asm');
    client.open('src/k.asm', KERNEL);
    expect(await messages(got)).toEqual([
      `1: unable to open include file \`ports.inc' (looked for \`${client.path('src/ports.inc')}')`,
      '3: GREETING is not defined',
      '5: symbol `PORT\' not defined',
      '6: symbol `GREETING\' not defined',
    ]);
  });

  it('takes include paths and defines from the initialization options', async () => {
    const inc = mkdtempSync(join(tmpdir(), 'vtscope-inc-'));
    try {
      writeFileSync(join(inc, 'ports.inc'), FILES['inc/ports.inc']);
      client = await startClient({ 'src/k.asm': KERNEL }, { includePaths: [inc], defines: { GREETING: '65' } });
      const got = client.nextDiagnostics('src/k.asm');
      client.open('src/k.asm', KERNEL);
      expect(await messages(got)).toEqual([]);
    } finally {
      rmSync(inc, { recursive: true, force: true });
    }
  });

  it('assembles the open documents again when the settings change, and when they are taken back', async () => {
    client = await startClient(FILES);
    client.open('src/k.asm', KERNEL);
    expect(await client.diagnostics('src/k.asm')).toHaveLength(4);

    let next = client.nextDiagnostics('src/k.asm');
    await client.connection.sendNotification(DidChangeConfigurationNotification.type,
      { settings: { vtscope: { asm: { includePaths: [client.path('inc')], defines: {} } } } });
    expect(await messages(next)).toEqual(['3: GREETING is not defined', '6: symbol `GREETING\' not defined']);

    next = client.nextDiagnostics('src/k.asm');
    await client.connection.sendNotification(DidChangeConfigurationNotification.type,
      { settings: { vtscope: { asm: { includePaths: [client.path('inc')], defines: { GREETING: '65' } } } } });
    expect(await messages(next)).toEqual([]);

    next = client.nextDiagnostics('src/k.asm');
    await client.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: { vtscope: { asm: {} } } });
    expect(await messages(next)).toHaveLength(4);
  });

  it('ignores a configuration change without its section', async () => {
    client = await startClient(FILES, {});
    client.open('src/k.asm', KERNEL);
    expect(await client.diagnostics('src/k.asm')).toHaveLength(4);
    await client.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
    await client.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: { editor: { tabSize: 2 } } });
    await client.server.settled();
    expect(await client.diagnostics('src/k.asm')).toHaveLength(4);
  });
});

describe('assemblerSettings', () => {
  it('keeps the strings and leaves out entries of the wrong type', () => {
    expect(assemblerSettings({ includePaths: ['/a', 3, '', '/b'], defines: { A: '1', B: 2, C: '' } }))
      .toEqual({ includePaths: ['/a', '/b'], defines: { A: '1', C: '' } });
    expect(assemblerSettings(null)).toEqual({ includePaths: [], defines: {} });
    expect(assemblerSettings({ includePaths: 'inc', defines: ['A'] })).toEqual({ includePaths: [], defines: {} });
  });
});
