/**
 * Paravirtual hypercall sites: every `int 0x82` and `vmcall` in a file (or in a macro it
 * calls), with the hypercall number and arguments that constant propagation knows there.
 * From a site come its inlay hint (`console_io(cmd=write, count=ecx, str=edx)`), its hover
 * (the ABI documentation) and, when the number is unknown or not in the ABI, a warning.
 */
import { evaluate, type Value } from './evaluate';
import { ARGUMENT_REGISTERS, type Hypercall, hypercallByNumber, hypercallNumbersText, HYPERCALL_VECTOR } from './hypercalls';
import { ENOSYS } from '../vmm/pv/xenAbi';
import { type Environment, walk } from './propagation';
import type { FileIndex } from './sourceIndex';

export interface HypercallSite {
  line: number;
  /** Columns of the instruction, or of the macro call it came from. */
  start: number;
  end: number;
  instruction: 'int 0x82' | 'vmcall';
  /** EAX before the instruction, if known. */
  eax?: Value;
  hypercall?: Hypercall;
  /** EBX, ECX, EDX, ESI, EDI before the instruction. */
  args: (Value | undefined)[];
  /** The macro whose expansion holds the instruction. */
  viaMacro?: string;
}

export function findHypercallSites(index: FileIndex, env: Environment): HypercallSite[] {
  const sites: HypercallSite[] = [];
  walk(index, env, (v) => {
    const op = v.statement.op?.name;
    let instruction: HypercallSite['instruction'];
    if (op === 'vmcall') {
      instruction = 'vmcall';
    } else if (op === 'int' && v.statement.operands.length === 1) {
      const vector = evaluate(v.statement.operands[0].tokens, v.resolve);
      if (vector?.kind !== 'num' || vector.n !== HYPERCALL_VECTOR) return;
      instruction = 'int 0x82';
    } else {
      return;
    }
    const at = v.viaMacro ?? v.statement;
    const eax = v.before.get('eax');
    sites.push({
      line: v.line,
      start: at.op?.start ?? 0,
      end: at.codeEnd,
      instruction,
      eax,
      hypercall: eax?.kind === 'num' ? hypercallByNumber(eax.n) : undefined,
      args: ARGUMENT_REGISTERS.map((r) => v.before.get(r)),
      viaMacro: v.viaMacro?.op?.name,
    });
  });
  return sites;
}

function formatNumber(n: number): string {
  return n < 1000 ? String(n) : `0x${n.toString(16)}`;
}

function formatValue(v: Value): string {
  if (v.kind === 'num') return formatNumber(v.n);
  if (v.offset === 0) return v.name;
  return v.offset > 0 ? `${v.name}+${v.offset}` : `${v.name}-${-v.offset}`;
}

/** An argument's value as the hint shows it: its named value, its flags, or the number. */
function argumentText(h: Hypercall, k: number, v: Value | undefined): string {
  const a = h.args[k];
  if (v === undefined) return ARGUMENT_REGISTERS[k];
  if (v.kind === 'num' && a.values?.[v.n] !== undefined) return a.values[v.n];
  if (v.kind === 'num' && a.flags !== undefined && v.n !== 0) {
    const names: string[] = [];
    let rest = v.n;
    for (const [bit, name] of Object.entries(a.flags)) {
      if (v.n & Number(bit)) { names.push(name); rest &= ~Number(bit); }
    }
    if (rest === 0) return names.join('|');
  }
  return formatValue(v);
}

/** `console_io(cmd=write, count=ecx, str=edx)`; undefined when the number is not known to be a hypercall. */
export function hintLabel(site: HypercallSite): string | undefined {
  const h = site.hypercall;
  if (h === undefined) return undefined;
  return `${h.name}(${h.args.map((a, k) => `${a.name}=${argumentText(h, k, site.args[k])}`).join(', ')})`;
}

/** The warning for a site whose hypercall is unknown or not in the ABI. */
export function siteProblem(site: HypercallSite): string | undefined {
  if (site.hypercall !== undefined) return undefined;
  const where = site.viaMacro ? `\`${site.instruction}\` (in macro ${site.viaMacro})` : `\`${site.instruction}\``;
  if (site.eax === undefined) {
    return `hypercall number unknown: EAX is not set to a constant before this ${where} in its basic block`;
  }
  const value = site.eax.kind === 'num' ? `EAX = ${site.eax.n}` : `EAX = ${formatValue(site.eax)}`;
  return `${value} at this ${where} is not a hypercall number (the ABI has ${hypercallNumbersText()})`;
}

/** Markdown for a hover on a site. */
export function siteHover(site: HypercallSite): string {
  const h = site.hypercall;
  const call = site.instruction === 'vmcall' ? '`vmcall`' : '`int 0x82`';
  if (h === undefined) return `**Hypercall** (${call}): ${siteProblem(site)}.`;
  const lines = [
    `**${h.name}**: hypercall ${h.number}, ${call} with EAX = ${h.number}${site.viaMacro ? ` (in macro \`${site.viaMacro}\`)` : ''}`,
    '',
    h.doc,
    '',
  ];
  if (h.args.length === 0) {
    lines.push('No arguments.');
  } else {
    lines.push('| register | argument | here |', '|---|---|---|');
    h.args.forEach((a, k) => {
      const named = a.values ?? a.flags;
      const choices = named ? ` (${Object.entries(named).map(([n, s]) => `${s} = ${n}`).join(', ')})` : '';
      const v = site.args[k];
      const here = v === undefined ? 'not known' : `\`${argumentText(h, k, v)}\`${v.kind === 'num' && argumentText(h, k, v) !== formatValue(v) ? ` (${v.n})` : ''}`;
      lines.push(`| ${ARGUMENT_REGISTERS[k].toUpperCase()} | \`${a.name}\`: ${a.doc}${choices} | ${here} |`);
    });
  }
  lines.push('', 'Result in EAX (a negative errno on failure).');
  if (!h.implemented) lines.push('', `vtscope's VMM does not implement ${h.name}: it answers -ENOSYS (${ENOSYS}), as Xen does for a call it lacks.`);
  return lines.join('\n');
}
