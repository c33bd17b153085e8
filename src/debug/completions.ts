/**
 * Completion in the Debug Console (DAP `completions`): the word being typed, completed from
 * what `evaluate` understands: registers, the image's symbols, the operand-size keywords of
 * memory references (`dword [counter]`) and the console's own command `walk`.
 */
import type { DebugProtocol } from '@vscode/debugprotocol';

const REGISTERS = [
  'eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi', 'eip', 'eflags',
  'ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di', 'al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh',
  'cs', 'ds', 'es', 'fs', 'gs', 'ss', 'cr0', 'cr2', 'cr3', 'cr4',
];
const KEYWORDS = ['byte', 'word', 'dword'];

/**
 * Completions for `text` with the cursor at `column` (1-based, in UTF-16 units): the word before
 * the cursor, at most `limit` items, registers and keywords first; `start` counts from 0.
 */
export function completions(text: string, column: number, symbols: Iterable<string>, limit = 200): DebugProtocol.CompletionItem[] {
  const before = text.slice(0, Math.max(0, column - 1));
  const word = /[A-Za-z_.$?@][\w.$?@#~]*$/.exec(before)?.[0] ?? '';
  const start = before.length - word.length;
  const atStart = before.slice(0, start).trim() === '';
  const lower = word.toLowerCase();
  const items: DebugProtocol.CompletionItem[] = [];
  const add = (label: string, type: DebugProtocol.CompletionItemType): void => {
    if (items.length < limit && label.toLowerCase().startsWith(lower) && label !== word) {
      items.push({ label, type, start, length: word.length });
    }
  };
  if (atStart) add('walk', 'keyword');
  for (const k of KEYWORDS) add(k, 'keyword');
  for (const r of REGISTERS) add(r, 'variable');
  for (const s of [...symbols].sort()) add(s, 'reference');
  return items;
}
