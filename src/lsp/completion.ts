/**
 * Completion: at the start of a statement, instructions, directives and macros; after `%`,
 * preprocessor directives; in operands, registers, labels (local ones of the current parent
 * as `.x`), constants and size keywords. Nothing inside comments and strings.
 */
import { type CompletionItem, CompletionItemKind, MarkupKind } from 'vscode-languageserver';
import { isMnemonic, isRegister } from '../asm/encoder';
import { DIRECTIVES, KEYWORDS, PREPROCESSOR_DIRECTIVES } from './directives';
import { INSTRUCTIONS, instructionInfo } from './instructionInfo';
import { instructionHover } from './hover';
import { REGISTERS } from './registerInfo';
import type { LanguageService } from './service';
import { parseStatement } from './statement';

type Place = 'statement' | 'preprocessor' | 'operand' | 'none';

/** Where the cursor is, from the text before it. */
function placeOf(before: string): Place {
  const st = parseStatement(before);
  if (st.commentStart !== undefined) return 'none';
  // An unterminated string before the cursor: inside it.
  if ((before.match(/["'`]/g)?.length ?? 0) % 2 === 1) return 'none';
  if (/^\s*%[A-Za-z]*$/.test(before)) return 'preprocessor';
  if (/^\s*(?:[\w.$@?~#]+:\s*)?[\w]*$/.test(before)) return 'statement';
  return 'operand';
}

const MNEMONICS: readonly string[] = Object.keys(INSTRUCTIONS).filter((m) => isMnemonic(m));

function mnemonicItems(): CompletionItem[] {
  return MNEMONICS.map((m) => ({
    label: m,
    kind: CompletionItemKind.Keyword,
    detail: instructionInfo(m)?.summary,
    documentation: { kind: MarkupKind.Markdown, value: (instructionHover(m, []) ?? []).join('\n') },
    sortText: `1${m}`,
  }));
}

function tableItems(table: Readonly<Record<string, string>>, kind: CompletionItemKind, sort: string): CompletionItem[] {
  return Object.entries(table).map(([label, doc]) => ({ label, kind, detail: doc, sortText: `${sort}${label}` }));
}

function registerItems(): CompletionItem[] {
  return Object.entries(REGISTERS).filter(([r]) => isRegister(r)).map(([label, r]) => ({
    label, kind: CompletionItemKind.Variable, detail: `${r.width}-bit: ${r.holds}`, sortText: `3${label}`,
  }));
}

export function completion(service: LanguageService, path: string, line: number, character: number): CompletionItem[] {
  const index = service.index(path);
  if (index === undefined) return [];
  const before = (index.lines[line] ?? '').slice(0, character);
  const place = placeOf(before);
  if (place === 'none') return [];
  if (place === 'preprocessor') {
    // The client replaces the word it sees, which starts after the `%`.
    return tableItems(PREPROCESSOR_DIRECTIVES, CompletionItemKind.Keyword, '1').map((i) => ({ ...i, insertText: i.label.slice(1), filterText: i.label.slice(1) }));
  }
  const table = service.symbols(path);
  const parent = index.parents[line] ?? '';
  if (place === 'statement') {
    const macros: CompletionItem[] = table.all().filter((l) => l.def.kind === 'macro').map((l) => ({
      label: l.def.name, kind: CompletionItemKind.Function, detail: 'macro', sortText: `0${l.def.name}`,
    }));
    return [...macros, ...mnemonicItems(), ...tableItems(DIRECTIVES, CompletionItemKind.Keyword, '2')];
  }
  const symbols: CompletionItem[] = [];
  const seen = new Set<string>();
  for (const { def } of table.all()) {
    if (def.kind === 'macro' || def.kind === 'section' || def.alone) continue;
    let label = def.name;
    if (def.local) {
      if (def.parent !== parent) continue;
      label = def.name.slice(parent.length);
    }
    if (seen.has(label)) continue;
    seen.add(label);
    const assembled = table.assembledSymbol(def.name);
    const value = assembled === undefined ? undefined : `0x${(assembled.value >>> 0).toString(16).toUpperCase()}`;
    symbols.push({
      label,
      kind: def.kind === 'label' ? CompletionItemKind.Reference : CompletionItemKind.Constant,
      detail: [def.kind === 'label' ? (def.data ? 'data label' : 'label') : def.kind, value].filter(Boolean).join(' = '),
      sortText: `${def.local ? '0' : '1'}${label}`,
    });
  }
  return [...symbols, ...registerItems(), ...tableItems(KEYWORDS, CompletionItemKind.Keyword, '4')];
}
