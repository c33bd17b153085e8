/**
 * The IA-32 registers a guest kernel names in NASM syntax: width and what each holds, and the
 * named bits of CR0, CR3, CR4, DR6 and DR7 (Intel SDM Vol. 3A, 2.5 and 17.2).
 */

export interface NamedBit {
  /** Lowest bit of the field. */
  bit: number;
  /** Width of the field in bits (1 for a flag). */
  width?: number;
  name: string;
  meaning: string;
}

export interface RegisterDescription {
  width: 8 | 16 | 32;
  holds: string;
  bits?: readonly NamedBit[];
}

export const CR0_BITS: readonly NamedBit[] = [
  { bit: 0, name: 'PE', meaning: 'protection enable: protected mode' },
  { bit: 1, name: 'MP', meaning: 'monitor coprocessor: WAIT honours TS' },
  { bit: 2, name: 'EM', meaning: 'emulation: x87 instructions raise #NM' },
  { bit: 3, name: 'TS', meaning: 'task switched: the next x87 instruction raises #NM' },
  { bit: 4, name: 'ET', meaning: 'extension type (always 1)' },
  { bit: 5, name: 'NE', meaning: 'numeric error: x87 errors raise #MF' },
  { bit: 16, name: 'WP', meaning: 'write protect: ring 0 honours read-only pages' },
  { bit: 18, name: 'AM', meaning: 'alignment mask: EFLAGS.AC checks at CPL 3' },
  { bit: 29, name: 'NW', meaning: 'not write-through' },
  { bit: 30, name: 'CD', meaning: 'cache disable' },
  { bit: 31, name: 'PG', meaning: 'paging' },
];

export const CR3_BITS: readonly NamedBit[] = [
  { bit: 3, name: 'PWT', meaning: 'page-level write-through of the page directory' },
  { bit: 4, name: 'PCD', meaning: 'page-level cache disable of the page directory' },
  { bit: 12, width: 20, name: 'PDB', meaning: 'page-directory base (physical address bits 31:12)' },
];

export const CR4_BITS: readonly NamedBit[] = [
  { bit: 0, name: 'VME', meaning: 'virtual-8086 mode extensions' },
  { bit: 1, name: 'PVI', meaning: 'protected-mode virtual interrupts' },
  { bit: 2, name: 'TSD', meaning: 'time stamp disable: RDTSC only at CPL 0' },
  { bit: 3, name: 'DE', meaning: 'debugging extensions: I/O breakpoints, DR4/DR5 reserved' },
  { bit: 4, name: 'PSE', meaning: 'page size extensions: 4-MiB pages' },
  { bit: 5, name: 'PAE', meaning: 'physical address extension' },
  { bit: 6, name: 'MCE', meaning: 'machine-check enable' },
  { bit: 7, name: 'PGE', meaning: 'page global enable' },
  { bit: 8, name: 'PCE', meaning: 'performance-monitoring counter enable: RDPMC at any CPL' },
  { bit: 9, name: 'OSFXSR', meaning: 'OS supports FXSAVE/FXRSTOR' },
  { bit: 10, name: 'OSXMMEXCPT', meaning: 'OS handles SIMD floating-point exceptions' },
  { bit: 11, name: 'UMIP', meaning: 'user-mode instruction prevention: SGDT, SIDT, SLDT, SMSW, STR fault at CPL > 0' },
  { bit: 13, name: 'VMXE', meaning: 'VMX enable' },
  { bit: 14, name: 'SMXE', meaning: 'SMX enable' },
  { bit: 16, name: 'FSGSBASE', meaning: 'FS/GS base instructions' },
  { bit: 17, name: 'PCIDE', meaning: 'process-context identifiers' },
  { bit: 18, name: 'OSXSAVE', meaning: 'XSAVE and processor extended states' },
  { bit: 20, name: 'SMEP', meaning: 'supervisor-mode execution prevention' },
  { bit: 21, name: 'SMAP', meaning: 'supervisor-mode access prevention' },
  { bit: 22, name: 'PKE', meaning: 'protection keys' },
];

export const DR6_BITS: readonly NamedBit[] = [
  { bit: 0, name: 'B0', meaning: 'breakpoint 0 condition met' },
  { bit: 1, name: 'B1', meaning: 'breakpoint 1 condition met' },
  { bit: 2, name: 'B2', meaning: 'breakpoint 2 condition met' },
  { bit: 3, name: 'B3', meaning: 'breakpoint 3 condition met' },
  { bit: 13, name: 'BD', meaning: 'debug-register access detected' },
  { bit: 14, name: 'BS', meaning: 'single step' },
  { bit: 15, name: 'BT', meaning: 'task switch' },
];

export const DR7_BITS: readonly NamedBit[] = [
  ...[0, 1, 2, 3].flatMap((n): NamedBit[] => [
    { bit: 2 * n, name: `L${n}`, meaning: `breakpoint ${n} enabled for the current task` },
    { bit: 2 * n + 1, name: `G${n}`, meaning: `breakpoint ${n} enabled for all tasks` },
  ]),
  { bit: 8, name: 'LE', meaning: 'local exact breakpoint' },
  { bit: 9, name: 'GE', meaning: 'global exact breakpoint' },
  { bit: 13, name: 'GD', meaning: 'general detect: debug-register accesses raise #DB' },
  ...[0, 1, 2, 3].flatMap((n): NamedBit[] => [
    { bit: 16 + 4 * n, width: 2, name: `R/W${n}`, meaning: `breakpoint ${n} condition (0 execute, 1 write, 2 I/O, 3 read/write)` },
    { bit: 18 + 4 * n, width: 2, name: `LEN${n}`, meaning: `breakpoint ${n} length (0: 1 byte, 1: 2, 3: 4)` },
  ]),
];

const general = (width: 8 | 16 | 32, holds: string): RegisterDescription => ({ width, holds });
const segment = (holds: string): RegisterDescription => ({ width: 16, holds: `segment selector: ${holds}` });

export const REGISTERS: Readonly<Record<string, RegisterDescription>> = {
  eax: general(32, 'accumulator; return values, MUL/DIV, I/O data, CPUID leaf; the hypercall number and result'),
  ebx: general(32, 'base register; hypercall argument 1'),
  ecx: general(32, 'count for LOOP, REP and shifts; the MSR number of RDMSR/WRMSR; hypercall argument 2'),
  edx: general(32, 'data; high half of MUL/DIV results and RDMSR/WRMSR/RDTSC; the port of IN/OUT; hypercall argument 3'),
  esi: general(32, 'source index of string instructions; hypercall argument 4'),
  edi: general(32, 'destination index of string instructions; hypercall argument 5'),
  esp: general(32, 'stack pointer'),
  ebp: general(32, 'frame pointer'),
  ax: general(16, 'low 16 bits of EAX'),
  bx: general(16, 'low 16 bits of EBX'),
  cx: general(16, 'low 16 bits of ECX'),
  dx: general(16, 'low 16 bits of EDX; the port of IN/OUT'),
  si: general(16, 'low 16 bits of ESI'),
  di: general(16, 'low 16 bits of EDI'),
  sp: general(16, 'low 16 bits of ESP'),
  bp: general(16, 'low 16 bits of EBP'),
  al: general(8, 'bits 7:0 of EAX'),
  bl: general(8, 'bits 7:0 of EBX'),
  cl: general(8, 'bits 7:0 of ECX; the shift count'),
  dl: general(8, 'bits 7:0 of EDX'),
  ah: general(8, 'bits 15:8 of EAX'),
  bh: general(8, 'bits 15:8 of EBX'),
  ch: general(8, 'bits 15:8 of ECX'),
  dh: general(8, 'bits 15:8 of EDX'),
  cs: segment('code segment; its RPL is the current privilege level (CPL)'),
  ds: segment('data segment, the default for most memory operands'),
  ss: segment('stack segment; the default for ESP- and EBP-based operands'),
  es: segment('extra segment; the destination of string instructions'),
  fs: segment('extra data segment'),
  gs: segment('extra data segment'),
  cr0: { width: 32, holds: 'control register 0: operating mode and state of the processor', bits: CR0_BITS },
  cr2: { width: 32, holds: 'control register 2: the linear address of the last page fault' },
  cr3: { width: 32, holds: 'control register 3: the page-directory base and its cache attributes', bits: CR3_BITS },
  cr4: { width: 32, holds: 'control register 4: architectural extensions', bits: CR4_BITS },
  dr0: { width: 32, holds: 'debug register 0: linear address of breakpoint 0' },
  dr1: { width: 32, holds: 'debug register 1: linear address of breakpoint 1' },
  dr2: { width: 32, holds: 'debug register 2: linear address of breakpoint 2' },
  dr3: { width: 32, holds: 'debug register 3: linear address of breakpoint 3' },
  dr6: { width: 32, holds: 'debug status: which condition raised the last #DB', bits: DR6_BITS },
  dr7: { width: 32, holds: 'debug control: enables and conditions of breakpoints 0-3', bits: DR7_BITS },
};

/** A field's value in `value`. */
export function fieldValue(value: number, f: NamedBit): number {
  const width = f.width ?? 1;
  return width >= 32 ? value >>> 0 : (value >>> f.bit) & ((1 << width) - 1);
}

/** The fields of `bits` that are set (non-zero) in `value`, and the bits no field names. */
export function decodeBits(value: number, bits: readonly NamedBit[]): { set: NamedBit[]; unnamed: number } {
  let named = 0;
  const set: NamedBit[] = [];
  for (const f of bits) {
    const width = f.width ?? 1;
    const mask = (width >= 32 ? 0xffffffff : ((1 << width) - 1) << f.bit) >>> 0;
    named = (named | mask) >>> 0;
    if (fieldValue(value, f) !== 0) set.push(f);
  }
  return { set, unnamed: (value & ~named) >>> 0 };
}
