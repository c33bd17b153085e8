/** The TextMate grammar for guest sources, run through VS Code's own tokenizer (vscode-textmate). */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as oniguruma from 'vscode-oniguruma';
import { INITIAL, parseRawGrammar, Registry, type IGrammar } from 'vscode-textmate';

const root = join(__dirname, '..', '..');
let grammar: IGrammar;

beforeAll(async () => {
  const require = createRequire(import.meta.url);
  const wasm = readFileSync(join(require.resolve('vscode-oniguruma'), '..', 'onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (sources: string[]) => new oniguruma.OnigScanner(sources),
      createOnigString: (s: string) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scope) => scope === 'source.asm.nasm'
      ? parseRawGrammar(readFileSync(join(root, 'syntaxes', 'nasm.tmLanguage.json'), 'utf8'), 'nasm.tmLanguage.json')
      : null,
  });
  grammar = (await registry.loadGrammar('source.asm.nasm'))!;
});

/** The innermost scope of each token of `line`, as `text=scope` (whitespace-only tokens left out). */
function scopes(line: string): string[] {
  const { tokens } = grammar.tokenizeLine(line, INITIAL);
  return tokens
    .map((t) => ({ text: line.slice(t.startIndex, t.endIndex), scope: t.scopes[t.scopes.length - 1] }))
    .filter((t) => t.text.trim() !== '')
    .map((t) => `${t.text.trim()}=${t.scope}`);
}

describe('NASM grammar', () => {
  it('labels, mnemonics, registers, numbers and comments', () => {
    expect(scopes('start: mov eax, 0x2BADB002 ; magic')).toEqual([
      'start=entity.name.function.label.nasm', ':=source.asm.nasm', 'mov=keyword.other.instruction.nasm',
      'eax=variable.language.register.nasm', ',=source.asm.nasm', '0x2BADB002=constant.numeric.nasm',
      '; magic=comment.line.semicolon.nasm',
    ]);
  });

  it('marks privileged, sensitive-but-unprivileged and VMX instructions apart (fact sheet section 5)', () => {
    expect(scopes('  cli')).toEqual(['cli=keyword.other.instruction.privileged.nasm']);
    expect(scopes('  popf')).toEqual(['popf=keyword.other.instruction.sensitive.nasm']);
    expect(scopes('  sgdt [gdtr]')[0]).toBe('sgdt=keyword.other.instruction.sensitive.nasm');
    expect(scopes('  vmlaunch')).toEqual(['vmlaunch=keyword.other.instruction.vmx.nasm']);
    expect(scopes('.l: rep outsb')).toContain('outsb=keyword.other.instruction.privileged.nasm');
  });

  it('directives, preprocessor, strings in all three quote styles and local labels', () => {
    expect(scopes('%define COM1 0x3F8')[0]).toBe('%define=keyword.control.preprocessor.nasm');
    expect(scopes('msg: db "hi", 10')).toContain('db=keyword.other.directive.nasm');
    expect(scopes("db 'a', `b\\n`, \"c\"")).toEqual([
      'db=keyword.other.directive.nasm',
      "'=string.quoted.single.nasm", 'a=string.quoted.single.nasm', "'=string.quoted.single.nasm", ',=source.asm.nasm',
      '`=string.quoted.other.backquote.nasm', 'b=string.quoted.other.backquote.nasm',
      '\\n=constant.character.escape.nasm', '`=string.quoted.other.backquote.nasm', ',=source.asm.nasm',
      '"=string.quoted.double.nasm', 'c=string.quoted.double.nasm', '"=string.quoted.double.nasm',
    ]);
    expect(scopes('.loop: dec ecx')[0]).toBe('.loop=entity.name.function.label.local.nasm');
    expect(scopes('mov byte [es:edi], 1')).toContain('byte=storage.type.size.nasm');
  });
});
