/**
 * Go to definition, find references and rename for labels (local `.labels` under their
 * parent), `equ` constants, `%define`s and macros, across the files that share an assembly
 * (a kernel and what it `%include`s).
 */
import { type Location, type Range, ResponseError, type TextEdit, type WorkspaceEdit, ErrorCodes } from 'vscode-languageserver';
import type { LanguageService } from './service';
import { isLocalName, resolveName } from './sourceIndex';
import { wordAt } from './statement';

/** The name under the cursor, if it names something the user can define. */
interface NameAt {
  /** Full name (`parent.local` for a local label). */
  name: string;
  written: string;
  range: Range;
}

function nameAt(service: LanguageService, path: string, line: number, character: number): NameAt | undefined {
  const index = service.index(path);
  const st = index?.statements[line];
  if (index === undefined || st === undefined) return undefined;
  const w = wordAt(st, character);
  if (w === undefined || !(w.role === 'symbol' || w.role === 'label' || w.role === 'macro')) return undefined;
  const def = st.definition?.word === w ? st.definition : undefined;
  const name = def && (def.kind === 'define' || def.kind === 'macro') ? w.text : resolveName(w.text, index.parents[line]);
  return { name, written: w.text, range: { start: { line, character: w.start }, end: { line, character: w.end } } };
}

export function definition(service: LanguageService, path: string, line: number, character: number): Location[] {
  const at = nameAt(service, path, line, character);
  if (at === undefined) return [];
  const found = service.symbols(path).lookup(at.name);
  const best = found.filter((l) => !l.def.alone || found.every((m) => m.def.alone));
  return best.map((l) => ({
    uri: service.uriOf(l.index.path),
    range: { start: { line: l.def.line, character: l.def.start }, end: { line: l.def.line, character: l.def.end } },
  }));
}

interface Occurrence {
  path: string;
  line: number;
  start: number;
  end: number;
  written: string;
  name: string;
  declaration: boolean;
}

function matches(candidate: string, name: string, caseInsensitive: boolean): boolean {
  return candidate === name || (caseInsensitive && candidate.toLowerCase() === name.toLowerCase());
}

/** Every place in the scope of `path` that names `name` (and, with `children`, `name.local`). */
function occurrences(service: LanguageService, path: string, name: string, children: boolean): Occurrence[] {
  const table = service.symbols(path);
  const defs = table.lookup(name);
  const caseInsensitive = defs.some((l) => l.def.caseInsensitive);
  const isMacro = defs.some((l) => l.def.kind === 'macro');
  const out: Occurrence[] = [];
  const seen = new Set<string>();
  const add = (o: Occurrence): void => {
    const key = `${o.path}:${o.line}:${o.start}`;
    if (!seen.has(key)) { seen.add(key); out.push(o); }
  };
  const under = (n: string): boolean => children && n.startsWith(`${name}.`);
  for (const index of table.files) {
    for (const d of index.defs) {
      if (d.kind === 'section') continue;
      const written = index.lines[d.line].slice(d.start, d.end);
      // A label alone on its line is a call when a macro of that name exists.
      const declaration = !(d.alone && isMacro);
      if (matches(d.name, name, caseInsensitive) || under(d.name)) add({ path: index.path, line: d.line, start: d.start, end: d.end, written, name: d.name, declaration });
    }
    for (const r of index.refs) {
      if (matches(r.name, name, caseInsensitive) || under(r.name)) add({ path: index.path, ...r, declaration: false });
    }
  }
  return out;
}

export function references(service: LanguageService, path: string, line: number, character: number, includeDeclaration: boolean): Location[] {
  const at = nameAt(service, path, line, character);
  if (at === undefined) return [];
  return occurrences(service, path, at.name, false)
    .filter((o) => includeDeclaration || !o.declaration)
    .map((o) => ({ uri: service.uriOf(o.path), range: { start: { line: o.line, character: o.start }, end: { line: o.line, character: o.end } } }));
}

export function prepareRename(service: LanguageService, path: string, line: number, character: number): { range: Range; placeholder: string } | undefined {
  const at = nameAt(service, path, line, character);
  if (at === undefined || service.symbols(path).lookup(at.name).length === 0) return undefined;
  return { range: at.range, placeholder: at.written };
}

const IDENTIFIER = /^[A-Za-z_.?@$][\w.?@$#~]*$/;

/** The new text for an occurrence written `written` of `oldName` renamed to `newName`. */
function replacement(o: Occurrence, oldName: string, newName: string): string {
  if (o.written === o.name) return newName + o.name.slice(oldName.length);
  // Written relative to its parent (`.x` for `parent.x`): keep it relative.
  const parentLength = o.name.length - o.written.length;
  return (newName + o.name.slice(oldName.length)).slice(parentLength);
}

export function rename(service: LanguageService, path: string, line: number, character: number, newText: string): WorkspaceEdit {
  const at = nameAt(service, path, line, character);
  if (at === undefined || service.symbols(path).lookup(at.name).length === 0) {
    throw new ResponseError(ErrorCodes.InvalidRequest, 'nothing to rename here: not a label, constant or macro defined in the workspace');
  }
  if (!IDENTIFIER.test(newText)) throw new ResponseError(ErrorCodes.InvalidParams, `'${newText}' is not a valid nasm identifier`);
  let newName = newText;
  if (isLocalName(at.written)) {
    if (!isLocalName(newText)) throw new ResponseError(ErrorCodes.InvalidParams, `a local label keeps its leading '.': '.${newText}'?`);
    newName = at.name.slice(0, at.name.length - at.written.length) + newText;
  }
  const changes: Record<string, TextEdit[]> = {};
  for (const o of occurrences(service, path, at.name, !isLocalName(at.written))) {
    // `.x` under a renamed parent follows the parent by itself.
    if (o.name !== at.name && isLocalName(o.written)) continue;
    const text = replacement(o, at.name, newName);
    (changes[service.uriOf(o.path)] ??= []).push({ range: { start: { line: o.line, character: o.start }, end: { line: o.line, character: o.end } }, newText: text });
  }
  return { changes };
}

