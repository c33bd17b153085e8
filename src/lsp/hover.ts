/**
 * Hovers: instructions (operation, privilege, sensitivity, VM exit, what `trap` and `bt` do),
 * hypercall sites (the ABI), registers, numbers (with their meaning where the code gives one),
 * labels and constants (values from the last assembly), macros, directives and keywords.
 */
import type { Hover, MarkupContent } from 'vscode-languageserver';
import { exitReasonName } from '../cpu/vmx/exitReasons';
import { DIRECTIVES, KEYWORDS, PREPROCESSOR_DIRECTIVES } from './directives';
import { siteHover } from './hypercallSites';
import { type InstructionInfo, instructionInfo, modeBehaviour } from './instructionInfo';
import { describeControlRegister, describeNumber, describeSelector, type ValueUse, valueUse, type Width } from './numberInfo';
import { registerOf } from './propagation';
import { REGISTERS } from './registerInfo';
import type { LanguageService } from './service';
import { type FileIndex, resolveName, type SymbolDef } from './sourceIndex';
import { type Statement, type Word, wordAt } from './statement';
import type { Located, SymbolTable } from './symbolTable';

const PREFIXES: Record<string, string> = {
  lock: 'Makes the read-modify-write of the memory operand atomic.',
  rep: 'Repeats the string instruction ECX times.',
  repe: 'Repeats the string comparison while equal, at most ECX times.',
  repz: 'Repeats the string comparison while equal, at most ECX times.',
  repne: 'Repeats the string comparison while not equal, at most ECX times.',
  repnz: 'Repeats the string comparison while not equal, at most ECX times.',
  o16: 'Forces a 16-bit operand size (66 prefix in 32-bit code).',
  o32: 'Forces a 32-bit operand size (66 prefix in 16-bit code).',
  a16: 'Forces a 16-bit address size (67 prefix in 32-bit code).',
  a32: 'Forces a 32-bit address size (67 prefix in 16-bit code).',
};

function markdown(lines: string[]): MarkupContent {
  return { kind: 'markdown', value: lines.join('\n') };
}

function hex32(n: number): string {
  return `0x${(n >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
}

function where(index: FileIndex, def: SymbolDef): string {
  const file = index.path.split(/[\\/]/).pop();
  return `defined at ${file}:${def.line + 1}`;
}

export function instructionHover(mnemonic: string, operands: readonly string[]): string[] | undefined {
  const info = instructionInfo(mnemonic, operands);
  if (info === undefined) return undefined;
  return describeInstruction(mnemonic, info);
}

function describeInstruction(mnemonic: string, info: InstructionInfo): string[] {
  const lines = [`**${mnemonic.toUpperCase()}**: ${info.summary}`, ''];
  if (info.privileged === 'cpl0') lines.push('- **Privileged**: #GP(0) unless CPL = 0.');
  else if (info.privileged === 'iopl') lines.push('- **Privileged (IOPL-sensitive)**: #GP(0) when CPL > IOPL.');
  else if (info.privileged !== undefined) lines.push(`- **Conditionally privileged**: ${info.privileged}.`);
  if (info.note) lines.push(`- ${info.note[0].toUpperCase()}${info.note.slice(1)}.`);
  if (info.sensitive) lines.push(`- **Sensitive but unprivileged** (at CPL 1 or 3): ${info.sensitive}.`);
  if (info.exit) {
    lines.push(`- **VT-x**: exit reason ${info.exit.reason} (${exitReasonName(info.exit.reason)}) ${info.exit.when}.`);
  } else if (info.sensitive) {
    lines.push('- **VT-x**: no VM exit; the guest kernel runs in ring 0 of VMX non-root operation, where the answer is right.');
  }
  const modes = modeBehaviour(info);
  lines.push(`- **trap**: ${modes.trap}.`, `- **bt**: ${modes.bt}.`);
  if (info.pv) lines.push(`- **pv**: ${info.pv}.`);
  return lines;
}

function registerHover(name: string): string[] {
  const r = REGISTERS[name.toLowerCase()];
  if (r === undefined) return [`**${name.toUpperCase()}**: a register nasm reserves; not available to 32-bit code in the built-in assembler.`];
  const lines = [`**${name.toUpperCase()}** (${r.width}-bit): ${r.holds}.`];
  if (r.bits) {
    lines.push('');
    for (const b of r.bits) {
      const w = b.width ?? 1;
      lines.push(`- ${w === 1 ? `bit ${b.bit}` : `bits ${b.bit + w - 1}:${b.bit}`} **${b.name}**: ${b.meaning}`);
    }
  }
  return lines;
}

/** The width of a number from where it stands: the destination register or the data size. */
function widthOf(st: Statement): Width {
  const op = st.op?.name;
  if (op === 'db') return 8;
  if (op === 'dw') return 16;
  const first = st.operands[0];
  if (first?.tokens.length === 1 && first.tokens[0].kind === 'id') {
    const r = registerOf(first.tokens[0].text);
    if (r) return r.bits as Width;
  }
  return 32;
}

function useLines(use: ValueUse | undefined, literal: number | undefined, index: FileIndex): string[] {
  if (use === undefined) return [];
  const at = use.line + 1;
  if (use.kind === 'selector') {
    const v = literal ?? use.value;
    if (v === undefined) return [];
    const into = use.register ? ` (loaded into ${use.register.toUpperCase()} at line ${at})` : '';
    return ['', `As a segment ${describeSelector(v)}${into}.`];
  }
  const reg = use.register.toUpperCase();
  const lines = ['', `Reaches ${reg} at line ${at} (\`${index.lines[use.line].trim()}\`).`];
  if (literal !== undefined) lines.push('', `Bits of this value in ${reg}:`, ...describeControlRegister(use.register, literal));
  if (use.value !== undefined && use.value !== literal) lines.push('', `${reg} = ${hex32(use.value)} there:`, ...describeControlRegister(use.register, use.value));
  return lines;
}

function numberHover(service: LanguageService, index: FileIndex, line: number, word: Word): string[] {
  const st = index.statements[line];
  const value = word.value ?? 0n;
  const lines = [`**${word.text}**`, '', ...describeNumber(value, widthOf(st))];
  const table = service.symbols(index.path);
  const use = valueUse(index, table, line, word.start, (v) => table.numeric(v));
  lines.push(...useLines(use, Number(BigInt.asUintN(32, value)), index));
  return lines;
}

/** Where a constant's value is used as a selector or control-register value, if anywhere. */
function constantUse(name: string, table: SymbolTable): ValueUse | undefined {
  for (const index of table.files) {
    for (const ref of index.refs) {
      if (ref.name !== name) continue;
      const use = valueUse(index, table, ref.line, ref.start, (v) => table.numeric(v));
      if (use) return use;
    }
  }
  return undefined;
}

function macroLines(l: Located): string[] {
  const m = l.def.macro;
  const count = m === undefined ? '' : m.min === m.max ? `${m.min}` : `${m.min}-${m.max === Infinity ? '*' : m.max}`;
  const body = m ? l.index.lines.slice(m.bodyStart, Math.min(m.bodyEnd, m.bodyStart + 12)) : [];
  return [
    `**${l.def.name}**: macro, ${count} parameter${count === '1' ? '' : 's'}${m?.greedy ? ' (the last takes the rest of the line)' : ''}`,
    '', '```nasm', ...body, ...(m && m.bodyEnd - m.bodyStart > 12 ? ['...'] : []), '```',
  ];
}

function symbolHover(service: LanguageService, path: string, name: string): string[] | undefined {
  const table = service.symbols(path);
  const found = table.lookup(name);
  const assembled = table.assembledSymbol(name);
  const l = found[0];
  if (l === undefined && assembled === undefined) return undefined;
  if (l?.def.kind === 'macro') return macroLines(l);
  if (l?.def.kind === 'define') {
    const value = table.resolve(l.def.name, '');
    const text = l.index.lines[l.def.line].slice(l.def.start).trim();
    const lines = [`**${l.def.name}**: single-line macro`, '', '```nasm', `%define ${text}`, '```'];
    const n = table.numeric(value);
    if (n !== undefined) lines.push('', ...describeNumber(BigInt(n), 32));
    lines.push('', where(l.index, l.def));
    return lines;
  }
  const isEqu = l?.def.kind === 'equ' || assembled?.kind === 'equ';
  if (isEqu) {
    const value = assembled?.value ?? table.numeric(table.resolve(name, ''));
    const lines = [`**${name}**: constant (\`equ\`)`];
    if (value !== undefined) {
      lines.push('', ...describeNumber(BigInt(value), 32));
      lines.push(...useLines(constantUse(name, table), value >>> 0, l?.index ?? service.index(path)!));
    } else {
      lines.push('', 'Value not known (the file has not assembled yet).');
    }
    if (l) lines.push('', where(l.index, l.def));
    return lines;
  }
  const kind = l?.def.local ? 'local label' : 'label';
  const lines = [`**${name}**: ${kind}`];
  if (assembled) lines.push('', `address \`${hex32(assembled.value)}\`${assembled.section ? ` in section \`${assembled.section}\`` : ''} (last assembly)`);
  else lines.push('', 'Address not known (the file has not assembled yet).');
  if (l) lines.push('', where(l.index, l.def));
  return lines;
}

export function hover(service: LanguageService, path: string, line: number, character: number): Hover | undefined {
  const index = service.index(path);
  const st = index?.statements[line];
  if (index === undefined || st === undefined) return undefined;
  const word = wordAt(st, character);
  if (word === undefined) return undefined;
  const range = { start: { line, character: word.start }, end: { line, character: word.end } };
  const text = index.lines[line];
  const operands = st.operands.map((o) => text.slice(o.start, o.end));
  const lower = word.text.toLowerCase();
  let lines: string[] | undefined;
  switch (word.role) {
    case 'mnemonic': {
      const site = service.hypercallSites(path).find((s) => s.line === line && s.viaMacro === undefined);
      const info = instructionHover(lower, word === st.op ? operands : []);
      lines = site ? [siteHover(site), '', '---', '', ...(info ?? [])] : info;
      break;
    }
    case 'macro': {
      const m = service.symbols(path).macro(word.text);
      const site = service.hypercallSites(path).find((s) => s.line === line && s.viaMacro !== undefined);
      lines = [...(site ? [siteHover(site), '', '---', ''] : []), ...(m ? macroLines(m) : [`**${word.text}**: macro call (no definition found)`])];
      break;
    }
    case 'register': lines = registerHover(lower); break;
    case 'number': lines = numberHover(service, index, line, word); break;
    case 'symbol':
    case 'label':
      lines = symbolHover(service, path, resolveName(word.text, index.parents[line]));
      break;
    case 'directive': lines = DIRECTIVES[lower] ? [`**${lower}**: ${DIRECTIVES[lower]}`] : undefined; break;
    case 'preprocessor': lines = PREPROCESSOR_DIRECTIVES[lower] ? [`**${lower}**: ${PREPROCESSOR_DIRECTIVES[lower]}`] : undefined; break;
    case 'keyword': lines = KEYWORDS[lower] ? [`**${lower}**: ${KEYWORDS[lower]}`] : undefined; break;
    case 'prefix': lines = PREFIXES[lower] ? [`**${lower}**: ${PREFIXES[lower]}`] : registerHover(lower); break;
    default: lines = undefined;
  }
  return lines === undefined ? undefined : { contents: markdown(lines), range };
}
