/**
 * The processor state as trees of named values for the debugger's Variables view: general
 * registers, EFLAGS and the control registers decoded into their bits (SDM Vol. 1, 3.4.3;
 * Vol. 3A, 2.5), segment registers with their descriptor caches (Vol. 3A, 3.4.5), and the
 * descriptor-table and task registers.
 *
 * The debugger may change what an instruction could change without side effects: the general
 * registers (and their 16- and 8-bit parts), EIP and EFLAGS or one of its fields
 * (`assignRegister`). Segment, control and table registers stay read-only: loading them reads
 * descriptors or switches modes, which is the guest's to do.
 */
import { AR_DB, AR_G, AR_P, AR_S, AR_UNUSABLE, arDpl, type Cpu } from '../cpu/cpu';
import { getEflags, setFlagBits } from '../cpu/flags';
import { CS, FLAG_VM, FLAGS_FIXED_ONE, FLAGS_WRITABLE, REG32_NAMES, SEG_NAMES } from '../cpu/registers';
import { DebugRequestError, hex8 } from './guestMemory';

export interface RegisterNode {
  name: string;
  value: string;
  /** An expression `evaluate` accepts for this value. */
  evaluateName?: string;
  /** The value is an address worth opening in a memory view. */
  memoryReference?: number;
  children?: RegisterNode[];
  /** What `assignRegister` calls it, for a value the debugger may change ('eax', 'eflags.ZF'). */
  assignName?: string;
}

type BitDef = readonly [name: string, bit: number, width?: number];

/** EFLAGS bits by name (SDM Vol. 1, figure 3-8). */
const EFLAGS_BITS: readonly BitDef[] = [
  ['CF', 0], ['PF', 2], ['AF', 4], ['ZF', 6], ['SF', 7], ['TF', 8], ['IF', 9], ['DF', 10], ['OF', 11],
  ['IOPL', 12, 2], ['NT', 14], ['RF', 16], ['VM', 17], ['AC', 18], ['VIF', 19], ['VIP', 20], ['ID', 21],
];
const CR0_BITS: readonly BitDef[] = [
  ['PE', 0], ['MP', 1], ['EM', 2], ['TS', 3], ['ET', 4], ['NE', 5], ['WP', 16], ['AM', 18], ['NW', 29], ['CD', 30], ['PG', 31],
];
const CR4_BITS: readonly BitDef[] = [
  ['VME', 0], ['PVI', 1], ['TSD', 2], ['DE', 3], ['PSE', 4], ['PAE', 5], ['MCE', 6], ['PGE', 7], ['PCE', 8],
  ['OSFXSR', 9], ['OSXMMEXCPT', 10], ['VMXE', 13],
];

function field(value: number, [, bit, width = 1]: BitDef): number {
  return (value >>> bit) & ((1 << width) - 1);
}

/** "0x00000246 [IF ZF PF]": the value and the names of the one-bit fields that are set, high to low. */
function describeBits(value: number, bits: readonly BitDef[]): string {
  const set = bits.filter((b) => (b[2] ?? 1) === 1 && field(value, b) !== 0).map((b) => b[0]).reverse();
  const multi = bits.filter((b) => (b[2] ?? 1) > 1).map((b) => `${b[0]}=${field(value, b)}`);
  return `${hex8(value)} [${[...set, ...multi].join(' ')}]`;
}

function bitNodes(value: number, bits: readonly BitDef[], assignPrefix?: string): RegisterNode[] {
  return bits.map((b) => {
    const node: RegisterNode = { name: b[0], value: String(field(value, b)) };
    if (assignPrefix !== undefined && b[0] !== 'VM') node.assignName = `${assignPrefix}.${b[0]}`;
    return node;
  });
}

function leaf(name: string, value: number, evaluateName?: string, isAddress = false): RegisterNode {
  const node: RegisterNode = { name, value: hex8(value) };
  if (evaluateName !== undefined) node.evaluateName = evaluateName;
  if (isAddress) node.memoryReference = value >>> 0;
  return node;
}

export function generalRegisters(cpu: Cpu): RegisterNode[] {
  const eflags = getEflags(cpu);
  const nodes: RegisterNode[] = REG32_NAMES.map((name, k) => ({
    ...leaf(name, cpu.regs[k], name, name === 'esp' || name === 'ebp' || name === 'esi' || name === 'edi'), assignName: name,
  }));
  nodes.push({ ...leaf('eip', cpu.eip, 'eip', true), assignName: 'eip' });
  nodes.push({
    name: 'eflags', value: describeBits(eflags, EFLAGS_BITS), evaluateName: 'eflags', assignName: 'eflags',
    children: bitNodes(eflags, EFLAGS_BITS, 'eflags'),
  });
  return nodes;
}

const REG16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
const REG8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'];

/** Whether `name` is a register `assignRegister` can change (any case, as `evaluate` reads it). */
export function isAssignable(name: string): boolean {
  const n = name.toLowerCase();
  return (REG32_NAMES as readonly string[]).includes(n) || REG16.includes(n) || REG8.includes(n) || n === 'eip' ||
    n === 'eflags' || (n.startsWith('eflags.') && EFLAGS_BITS.some((b) => `eflags.${b[0].toLowerCase()}` === n));
}

/** `value` (an unsigned 32-bit number) in `bits` bits, also taking negative numbers written as such. */
function fit(name: string, value: number, bits: 8 | 16): number {
  const max = (1 << bits) - 1;
  if (value <= max) return value;
  if ((value | 0) < 0 && (value | 0) >= -(max + 1) / 2) return value & max;
  throw new DebugRequestError(`${name} is ${bits} bits: ${hex8(value)} does not fit`);
}

/**
 * Changes a register as `assignName` names it: a general register or one of its parts, EIP
 * (within the CS limit) or EFLAGS, whole or one field ('eflags.IOPL'). Reserved EFLAGS bits
 * must keep their fixed values, and VM cannot change: entering or leaving virtual-8086 mode is
 * the guest's to do.
 */
export function assignRegister(cpu: Cpu, assignName: string, value: number): void {
  const name = assignName.toLowerCase();
  const v = value >>> 0;
  let k = (REG32_NAMES as readonly string[]).indexOf(name);
  if (k >= 0) { cpu.regs[k] = v; return; }
  k = REG16.indexOf(name);
  if (k >= 0) { cpu.regs[k] = (cpu.regs[k] & ~0xffff) | fit(name, v, 16); return; }
  k = REG8.indexOf(name);
  if (k >= 0) {
    const shift = k >= 4 ? 8 : 0;
    cpu.regs[k & 3] = (cpu.regs[k & 3] & ~(0xff << shift)) | (fit(name, v, 8) << shift);
    return;
  }
  if (name === 'eip') {
    const limit = cpu.code32 ? cpu.segLimit[CS] : Math.min(cpu.segLimit[CS], 0xffff);
    if (v > limit) throw new DebugRequestError(`eip ${hex8(v)} is beyond the CS limit ${hex8(limit)}`);
    cpu.eip = v;
    return;
  }
  if (name === 'eflags') {
    // Reserved bits read as fixed values (SDM Vol. 1, figure 3-8): bit 1 is 1, the others 0.
    const reserved = (v & ~FLAGS_WRITABLE) ^ FLAGS_FIXED_ONE;
    if (reserved !== 0) throw new DebugRequestError(`eflags ${hex8(v)} changes reserved bit ${31 - Math.clz32(reserved)} (bit 1 is always 1, bits 3, 5, 15 and 22-31 always 0)`);
    if (((v ^ getEflags(cpu)) & FLAG_VM) !== 0) throw new DebugRequestError('eflags.VM cannot be changed from the debugger (virtual-8086 mode is entered by the guest)');
    setFlagBits(cpu, FLAGS_WRITABLE, v);
    return;
  }
  const bit = name.startsWith('eflags.') ? EFLAGS_BITS.find((b) => b[0].toLowerCase() === name.slice(7)) : undefined;
  if (bit === undefined) {
    throw new DebugRequestError(`${assignName} cannot be changed from the debugger: only the general registers, eip and eflags can`);
  }
  const [field, shift, width = 1] = bit;
  if (v >= 1 << width) throw new DebugRequestError(`eflags.${field} is ${width === 1 ? 'one bit: give 0 or 1' : `${width} bits: give 0 to ${(1 << width) - 1}`}, not ${v}`);
  assignRegister(cpu, 'eflags', (getEflags(cpu) & ~(((1 << width) - 1) << shift)) | (v << shift));
}

/** The node named `assignName` in `nodes` or their children. */
export function findAssignable(nodes: readonly RegisterNode[], assignName: string): RegisterNode | undefined {
  for (const n of nodes) {
    if (n.assignName === assignName) return n;
    const inner = n.children === undefined ? undefined : findAssignable(n.children, assignName);
    if (inner !== undefined) return inner;
  }
  return undefined;
}

/** Segment type in words (SDM Vol. 3A, table 3-1 and 3-2). */
function segmentType(ar: number): string {
  const type = ar & 0xf;
  if ((ar & AR_S) === 0) {
    const system: Record<number, string> = {
      1: '16-bit TSS (available)', 2: 'LDT', 3: '16-bit TSS (busy)', 4: '16-bit call gate', 5: 'task gate',
      6: '16-bit interrupt gate', 7: '16-bit trap gate', 9: '32-bit TSS (available)', 11: '32-bit TSS (busy)',
      12: '32-bit call gate', 14: '32-bit interrupt gate', 15: '32-bit trap gate',
    };
    return `${type} (${system[type] ?? 'reserved'})`;
  }
  const accessed = (type & 1) !== 0 ? ', accessed' : '';
  if ((type & 8) !== 0) {
    return `${type} (code, execute${(type & 2) !== 0 ? '/read' : '-only'}${(type & 4) !== 0 ? ', conforming' : ''}${accessed})`;
  }
  return `${type} (data, read${(type & 2) !== 0 ? '/write' : '-only'}${(type & 4) !== 0 ? ', expand-down' : ''}${accessed})`;
}

/** The hidden part of a segment register, in the VMCS access-rights layout the CPU keeps. */
function cacheNodes(sel: number, base: number, limit: number, ar: number): RegisterNode[] {
  const nodes: RegisterNode[] = [
    { name: 'selector', value: `0x${sel.toString(16).padStart(4, '0')} (index ${sel >> 3}, ${(sel & 4) !== 0 ? 'LDT' : 'GDT'}, RPL ${sel & 3})` },
    leaf('base', base, undefined, true),
    leaf('limit', limit),
  ];
  if ((ar & AR_UNUSABLE) !== 0) {
    nodes.push({ name: 'unusable', value: '1' });
    return nodes;
  }
  nodes.push(
    { name: 'type', value: segmentType(ar) },
    { name: 'S', value: String((ar & AR_S) !== 0 ? 1 : 0) },
    { name: 'DPL', value: String(arDpl(ar)) },
    { name: 'P', value: String((ar & AR_P) !== 0 ? 1 : 0) },
    { name: 'D/B', value: String((ar & AR_DB) !== 0 ? 1 : 0) },
    { name: 'G', value: String((ar & AR_G) !== 0 ? 1 : 0) },
  );
  return nodes;
}

function cacheSummary(sel: number, base: number, limit: number, ar: number): string {
  const s = `0x${sel.toString(16).padStart(4, '0')}`;
  if ((ar & AR_UNUSABLE) !== 0) return `${s} (unusable)`;
  return `${s} base ${hex8(base)} limit ${hex8(limit)} DPL ${arDpl(ar)}`;
}

export function segmentRegisters(cpu: Cpu): RegisterNode[] {
  const order = [1, 2, 3, 0, 4, 5];   // cs ss ds es fs gs, as debuggers list them
  return order.map((seg) => {
    const sel = cpu.segSel[seg], base = cpu.segBase[seg], limit = cpu.segLimit[seg], ar = cpu.segAR[seg];
    return {
      name: SEG_NAMES[seg], value: cacheSummary(sel, base, limit, ar), evaluateName: SEG_NAMES[seg],
      children: cacheNodes(sel, base, limit, ar),
    };
  });
}

export function controlRegisters(cpu: Cpu): RegisterNode[] {
  return [
    { name: 'cr0', value: describeBits(cpu.cr0, CR0_BITS), evaluateName: 'cr0', children: bitNodes(cpu.cr0, CR0_BITS) },
    leaf('cr2', cpu.cr2, 'cr2', true),
    {
      name: 'cr3', value: hex8(cpu.cr3), evaluateName: 'cr3',
      children: [leaf('page directory base', cpu.cr3 & ~0xfff), { name: 'PWT', value: String((cpu.cr3 >> 3) & 1) }, { name: 'PCD', value: String((cpu.cr3 >> 4) & 1) }],
    },
    { name: 'cr4', value: describeBits(cpu.cr4, CR4_BITS), evaluateName: 'cr4', children: bitNodes(cpu.cr4, CR4_BITS) },
  ];
}

export function descriptorTableRegisters(cpu: Cpu): RegisterNode[] {
  const table = (name: string, base: number, limit: number): RegisterNode => ({
    name, value: `base ${hex8(base)} limit 0x${limit.toString(16).padStart(4, '0')}`,
    children: [leaf('base', base, undefined, true), leaf('limit', limit)],
  });
  return [
    table('gdtr', cpu.gdtrBase, cpu.gdtrLimit),
    table('idtr', cpu.idtrBase, cpu.idtrLimit),
    { name: 'ldtr', value: cacheSummary(cpu.ldtrSel, cpu.ldtrBase, cpu.ldtrLimit, cpu.ldtrAR), children: cacheNodes(cpu.ldtrSel, cpu.ldtrBase, cpu.ldtrLimit, cpu.ldtrAR) },
    { name: 'tr', value: cacheSummary(cpu.trSel, cpu.trBase, cpu.trLimit, cpu.trAR), children: cacheNodes(cpu.trSel, cpu.trBase, cpu.trLimit, cpu.trAR) },
  ];
}
