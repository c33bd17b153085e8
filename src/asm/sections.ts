/**
 * Sections of nasm's `-f bin` format (output/outbin.c): their attributes (`start=`,
 * `vstart=`, `align=`, `valign=`, `follows=`, `vfollows=`, `progbits`/`nobits`), the layout
 * that places them once assembly is done, and the flat image with zeros between them.
 * A section has two bases: its virtual start, which its labels are relative to, and its load
 * start (`section.NAME.start`).
 */
import type { SourceLocation } from './source';

export class Section {
  // Attributes, re-read in every pass as nasm does (start/vstart/align/valign are reset).
  start = 0;
  vstart = 0;
  align = 0;
  valign = 0;
  startDefined = false;
  vstartDefined = false;
  alignDefined = false;
  valignDefined = false;
  follows?: string;
  vfollows?: string;
  type?: 'progbits' | 'nobits';
  /** Bytes assembled into the section in the current pass. */
  length = 0;
  /** The section defined before this one, which it implicitly follows; none for `.bss`. */
  prev: Section | undefined;

  constructor(readonly name: string, readonly index: number, prev: Section | undefined, readonly location: SourceLocation) {
    this.prev = prev;
  }

  /** Base id of the section's virtual start: what its labels are relative to. */
  get vbase(): number { return 2 * this.index; }
  /** Base id of the section's load start. */
  get lbase(): number { return 2 * this.index + 1; }

  resetForPass(): void {
    this.startDefined = this.vstartDefined = this.alignDefined = this.valignDefined = false;
    this.length = 0;
  }

  get nobits(): boolean { return this.type === 'nobits'; }
}

const isPowerOfTwo = (v: number): boolean => v > 0 && Number.isInteger(Math.log2(v));
const alignUp = (x: number, a: number): number => Math.ceil(x / a) * a;

/** Applies one attribute of a `section` directive; returns nasm's complaint, if any. */
export function assignAttribute(sec: Section, key: string, value: number | undefined, name: string | undefined): string | undefined {
  switch (key) {
    case 'nobits':
      if (sec.type === 'progbits') return 'attempt to change section type from progbits to nobits';
      sec.type = 'nobits';
      return undefined;
    case 'progbits':
      if (sec.type === 'nobits') return 'attempt to change section type from nobits to progbits';
      sec.type = 'progbits';
      return undefined;
    case 'align':
    case 'valign': {
      let v = value!;
      if (!isPowerOfTwo(v)) return `argument to \`${key}' is not a power of two`;
      if (key === 'align') {
        if (sec.alignDefined && v < sec.align) v = sec.align;
        if (sec.startDefined && sec.start % v !== 0) return "`align' value conflicts with section start address";
        sec.align = v;
        sec.alignDefined = true;
      } else {
        if (sec.valignDefined && v < sec.valign) v = sec.valign;
        if (sec.vstartDefined && sec.vstart % v !== 0) return "`valign' value conflicts with `vstart' address";
        sec.valign = v;
        sec.valignDefined = true;
      }
      return undefined;
    }
    case 'start':
      if (sec.follows !== undefined) return "cannot combine `start' and `follows' section attributes";
      if (sec.startDefined && value !== sec.start) return 'section start address redefined';
      sec.start = value!;
      sec.startDefined = true;
      if (sec.alignDefined) {
        sec.alignDefined = false;
        if (sec.start % sec.align !== 0) return "`start' address conflicts with section alignment";
      }
      return undefined;
    case 'vstart':
      if (sec.vfollows !== undefined) return "cannot combine `vstart' and `vfollows' section attributes";
      if (sec.vstartDefined && value !== sec.vstart) return 'section virtual start address (vstart) redefined';
      sec.vstart = value!;
      sec.vstartDefined = true;
      if (sec.valignDefined) {
        sec.valignDefined = false;
        if (sec.vstart % sec.valign !== 0) return "`vstart' address conflicts with `valign' value";
      }
      return undefined;
    case 'follows':
      if (!name) return "expecting section name for `follows' attribute";
      if (sec.startDefined) return "cannot combine `start' and `follows' section attributes";
      sec.follows = name;
      return undefined;
    case 'vfollows':
      if (sec.vstartDefined) return "cannot combine `vstart' and `vfollows' section attributes";
      if (!name) return "expecting section name for `vfollows' attribute";
      sec.vfollows = name;
      return undefined;
    default:
      return undefined;
  }
}

/** `sectalign` and the `align` macro raise the section's alignment. */
export function raiseAlignment(sec: Section, value: number): void {
  if (!isPowerOfTwo(value)) return;
  if (!sec.alignDefined || value > sec.align) sec.align = Math.max(value, sec.alignDefined ? sec.align : 0);
  sec.alignDefined = true;
}

export interface LayoutProblem { message: string; section: Section }

export interface Layout {
  origin: number;
  /** Progbits sections in file order. */
  fileOrder: Section[];
  /** Load and virtual start of each section, by section index. */
  start: number[];
  vstart: number[];
  problems: LayoutProblem[];
}

/** The address a base id stands for once the sections are placed. */
export function baseAddress(layout: Layout, base: number): number {
  return base & 1 ? layout.start[base >> 1] : layout.vstart[base >> 1];
}

/**
 * Places the sections as bin_cleanup does: nobits sections aside, progbits sections ordered
 * by `follows=` groups and `start=` addresses, start addresses from the origin and each
 * section's alignment (4 by default), then virtual starts, nobits sections after the last
 * progbits section or after the section they follow.
 */
export function layoutSections(sections: Section[], origin: number | undefined): Layout {
  const problems: LayoutProblem[] = [];
  const problem = (message: string, section: Section): void => { problems.push({ message, section }); };

  // Step 1: nobits sections aside; for them real and virtual attributes mean the same.
  const progbits: Section[] = [sections[0]];
  const nobits: Section[] = [];
  for (const s of sections.slice(1)) {
    if (s.type === 'progbits') { progbits.push(s); continue; }
    if (s.startDefined || s.alignDefined || s.follows !== undefined) {
      if (s.vstartDefined || s.valignDefined || s.vfollows !== undefined) {
        problem(`cannot mix real and virtual attributes in nobits section (${s.name})`, s);
      }
      if (s.startDefined) { s.vstart = s.start; s.vstartDefined = true; }
      if (s.alignDefined) { s.valign = s.align; s.valignDefined = true; }
      if (s.follows !== undefined) { s.vfollows = s.follows; s.follows = undefined; }
    }
    if (s.vstartDefined) { s.start = s.vstart; s.startDefined = true; }
    nobits.push(s);
  }

  // Step 2: order the progbits sections.
  let order = orderByFollows(progbits, problem);
  order = orderByStart(order);

  // Step 3: start addresses.
  const first = order[0];
  let programOrigin: number;
  if (origin !== undefined) {
    if (first.startDefined) {
      if (first.start < origin) problem(`section ${first.name} begins before program origin`, first);
    } else if (first.alignDefined) {
      first.start = alignUp(origin, first.align);
    } else {
      first.start = origin;
    }
    programOrigin = origin;
  } else {
    if (!first.startDefined) first.start = 0;
    programOrigin = first.start;
  }
  first.startDefined = true;

  let pend = first.start;
  let next: Section | undefined;
  let lastNonEmpty: Section | undefined;
  for (let gi = 0; gi < order.length; gi++) {
    const g = order[gi];
    if (g === next || gi === 0) {
      next = undefined;
      for (let si = gi + 1; si < order.length; si++) {
        if (order[si].length !== 0 && order[si].startDefined) { next = order[si]; break; }
      }
    }
    if (!g.startDefined) {
      if (!g.alignDefined) { g.align = 4; g.alignDefined = true; }
      g.start = alignUp(pend, g.align);
      g.startDefined = true;
    }
    if (!g.vstartDefined && g.vfollows === undefined) {
      g.vstart = g.valignDefined ? alignUp(pend, g.valign) : g.start;
      g.vstartDefined = true;
    }
    if (g.start < pend) continue; // an empty section
    pend = g.start + g.length;
    if (next) {
      if (next.start < programOrigin) problem(`section ${next.name} begins before program origin`, next);
      else if (g.start > next.start) problem(`sections ${lastNonEmpty?.name ?? g.name} ~ ${g.name} and ${next.name} overlap!`, g);
      else if (pend > next.start) problem(`sections ${g.name} and ${next.name} overlap!`, g);
    }
    lastNonEmpty = g;
  }

  // Step 4: virtual starts for everything, nobits sections after the last progbits one.
  const all = [...order, ...nobits];
  const lastProgbits = order[order.length - 1];
  for (let found = true; found;) {
    found = false;
    for (const g of all) {
      if (g.vstartDefined) continue;
      let s: Section | undefined;
      if (g.vfollows !== undefined) {
        s = all.find((x) => x.name === g.vfollows);
        if (!s) {
          problem(`section ${g.name} vfollows unknown section (${g.vfollows})`, g);
          g.vfollows = undefined;
          s = lastProgbits;
        }
      } else {
        s = g.prev && all.includes(g.prev) ? g.prev : lastProgbits;
      }
      if (!s.vstartDefined) continue;
      if (!g.valignDefined) { g.valign = 4; g.valignDefined = true; }
      g.vstart = alignUp(s.vstart + s.length, g.valign);
      g.vstartDefined = true;
      if (g.nobits) g.start = g.vstart;
      found = true;
    }
  }
  for (const s of all) {
    if (!s.vstartDefined) {
      problem(`cannot compute vstart for section ${s.name} (circular vfollows path)`, s);
      s.vstart = 0;
      s.vstartDefined = true;
    }
  }
  return {
    origin: programOrigin,
    fileOrder: order,
    start: sections.map((x) => x.start),
    vstart: sections.map((x) => x.vstart),
    problems,
  };
}

/**
 * Moves each `follows=` group after the section it follows: bin_cleanup's first sort, kept
 * in its linked-list form so that odd arrangements come out the way nasm orders them.
 */
function orderByFollows(list: Section[], problem: (m: string, s: Section) => void): Section[] {
  interface Node { s: Section; next: Node | undefined }
  const nodes: Node[] = list.map((s) => ({ s, next: undefined }));
  nodes.forEach((n, i) => { n.next = nodes[i + 1]; });
  const head: Node = { s: list[0], next: nodes[0] }; // head.next is nasm's `sections`
  const follows = (n: Node | undefined, name: string): boolean => n !== undefined && n.s.follows !== undefined && n.s.follows !== name;

  let gp: Node = head;
  let g: Node | undefined = head.next;
  for (let guard = 0; g && guard < 4 * list.length + 4; guard++) {
    if (g.s.follows === undefined) {
      while (g.next && !follows(g.next, g.s.name)) g = g.next;
      if (!g.next) break;
      gp = g;
      g = g.next;
    }
    const leader: Node = g;
    let s = head.next;
    while (s && s.s.name !== leader.s.follows) s = s.next;
    if (!s || s === leader) {
      problem(s ? `section ${leader.s.name} is self following` : `section ${leader.s.name} follows an invalid or unknown section (${leader.s.follows})`, leader.s);
      leader.s.follows = undefined;
      g = leader.next;
      gp = leader;
      continue;
    }
    if (s.next && s.next.s.follows === s.s.name) {
      problem(`sections ${leader.s.name} and ${s.next.s.name} can't both follow section ${s.s.name}`, leader.s);
      leader.s.follows = undefined;
      continue;
    }
    // The end of the group: gsp is its last node, gs the node after it.
    let gsp: Node = leader;
    let gs: Node | undefined = leader.next;
    while (gs && gs !== s && !gs.s.startDefined) {
      if (follows(gs.next, gs.s.name)) {
        gsp = gs;
        gs = gs.next;
        break;
      }
      gsp = gs;
      gs = gs.next;
    }
    gsp.next = s.next;
    s.next = leader;
    gp.next = gs;
    g = gs;
  }
  const order: Section[] = [];
  for (let n = head.next; n && order.length < list.length; n = n.next) order.push(n.s);
  return order.length === list.length ? order : list;
}

/** Sorts groups headed by a section with `start=` by address (bin_cleanup's second sort). */
function orderByStart(list: Section[]): Section[] {
  const sorted: Section[] = [];
  let i = 0;
  while (i < list.length) {
    const g = list[i];
    let end = i + 1;
    while (end < list.length && !list[end].startDefined) end++;
    const group = list.slice(i, end);
    let at = sorted.findIndex((s) => s.startDefined && g.start < s.start);
    if (at < 0) at = sorted.length;
    sorted.splice(at, 0, ...group);
    i = end;
  }
  return sorted;
}

/** The size of the flat file: from the origin to the end of the last non-empty progbits section. */
export function imageSize(layout: Layout): number {
  let size = 0;
  for (const s of layout.fileOrder) {
    if (s.length > 0) size = Math.max(size, layout.start[s.index] + s.length - layout.origin);
  }
  return size;
}

/** The flat file: progbits sections in order, zeros between them, empty sections skipped. */
export function buildImage(layout: Layout, contents: (s: Section) => Uint8Array): Uint8Array {
  const image = new Uint8Array(imageSize(layout));
  for (const s of layout.fileOrder) {
    const bytes = contents(s);
    const at = layout.start[s.index] - layout.origin;
    if (bytes.length > 0 && at >= 0) image.set(bytes, at);
  }
  return image;
}
