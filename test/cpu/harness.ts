/**
 * A bare CPU over plain RAM for instruction-level tests: flat ring-0 protected mode with a
 * GDT and an IDT whose every vector points at its own HLT, so a test can tell which
 * exception an instruction raised.
 */
import type { AccessSize, CpuBus } from '../../src/cpu/bus';
import { createCpu, run, type Cpu } from '../../src/cpu/index';
import { getEflags, setArithFlags } from '../../src/cpu/flags';
import { FLAGS_WRITABLE } from '../../src/cpu/registers';
import { COMPILE_THRESHOLD } from '../../src/cpu/blockCompiler';

export const CODE_BASE = 0x10000;
export const STACK_TOP = 0x9000;
export const GDT_BASE = 0x500;
export const IDT_BASE = 0x800;
/** Vector v's handler is a HLT at FAULT_BASE + v * 16. */
export const FAULT_BASE = 0x2000;

export class RamBus implements CpuBus {
  readonly ram: Uint8Array;
  readonly mmioPages = new Uint8Array(1 << 20);
  readonly ioWrites: { port: number; size: number; value: number }[] = [];
  ioReadValue = 0xffffffff;
  constructor(bytes = 16 << 20) { this.ram = new Uint8Array(bytes); }
  mmioRead(): number { return 0xffffffff; }
  mmioWrite(): void { /* nothing there */ }
  ioRead(_port: number, size: AccessSize): number { return size === 4 ? this.ioReadValue >>> 0 : this.ioReadValue & ((1 << (size * 8)) - 1); }
  ioWrite(port: number, size: AccessSize, value: number): void { this.ioWrites.push({ port, size, value }); }
  intrPending(): boolean { return false; }
  intrAcknowledge(): number { return 0; }
}

function put32(ram: Uint8Array, addr: number, v: number): void {
  ram[addr] = v; ram[addr + 1] = v >> 8; ram[addr + 2] = v >> 16; ram[addr + 3] = v >> 24;
}

/** GDT: 0x08 ring-0 code, 0x10 ring-0 data, 0x18 ring-3 code, 0x20 ring-3 data, all flat 4 GiB. */
export function writeFlatGdt(ram: Uint8Array): void {
  const entries: [number, number][] = [
    [0, 0],
    [0x0000ffff, 0x00cf9a00],
    [0x0000ffff, 0x00cf9200],
    [0x0000ffff, 0x00cffa00],
    [0x0000ffff, 0x00cff200],
  ];
  entries.forEach(([lo, hi], k) => { put32(ram, GDT_BASE + k * 8, lo); put32(ram, GDT_BASE + k * 8 + 4, hi); });
}

export function makeCpu(bus: CpuBus = new RamBus()): Cpu {
  const cpu = createCpu(bus);
  resetCpu(cpu);
  return cpu;
}

/** Puts `cpu` back in the harness's start state: tables in RAM, flat ring 0, nothing halted. */
export function resetCpu(cpu: Cpu): void {
  const ram = cpu.bus.ram;
  writeFlatGdt(ram);
  for (let v = 0; v < 32; v++) {
    const handler = FAULT_BASE + v * 16;
    ram[handler] = 0xf4; // hlt
    // 32-bit interrupt gate, DPL 3 so INT n works from any ring, selector 0x08.
    put32(ram, IDT_BASE + v * 8, (0x08 << 16) | (handler & 0xffff));
    put32(ram, IDT_BASE + v * 8 + 4, (handler & 0xffff0000) | 0xee00);
  }
  cpu.resetToFlatProtectedMode();
  cpu.gdtrBase = GDT_BASE; cpu.gdtrLimit = 5 * 8 - 1;
  cpu.idtrBase = IDT_BASE; cpu.idtrLimit = 32 * 8 - 1;
  cpu.regs.fill(0);
  cpu.regs[4] = STACK_TOP;
  cpu.code.invalidateAll();
}

let shared: Cpu | undefined;

export interface SnippetState { eax?: number; ecx?: number; edx?: number; ebx?: number; esp?: number; ebp?: number; esi?: number; edi?: number; eflags?: number }
export interface SnippetResult { eax: number; ecx: number; edx: number; ebx: number; esp: number; ebp: number; esi: number; edi: number; eflags: number; fault?: number }

const NAMES = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'] as const;

/** Which exception vector the CPU stopped in, if it is halted in one of the harness's handlers. */
export function faultVector(cpu: Cpu): number | undefined {
  const off = cpu.eip - 1 - FAULT_BASE;
  if (cpu.halted && off >= 0 && off < 32 * 16 && off % 16 === 0) return off / 16;
  return undefined;
}

/** Runs `code` once in flat 32-bit ring 0 from its first byte to its end; values are unsigned 32-bit. */
export interface SnippetOptions {
  /**
   * Run the snippet in whole blocks (a HLT placed after it ends the last one), compiling each
   * block after this many interpreted runs (0: compiled from the start, Infinity: never).
   * Without it the snippet is interpreted one instruction at a time.
   */
  compileAfter?: number;
}

export function execSnippet(code: Uint8Array, state: SnippetState, cpu?: Cpu, opts: SnippetOptions = {}): SnippetResult {
  if (cpu === undefined) {
    shared ??= makeCpu();
    cpu = shared;
    resetCpu(cpu);
  }
  cpu.bus.ram.set(code, CODE_BASE);
  const blocks = opts.compileAfter !== undefined;
  if (blocks) cpu.bus.ram[CODE_BASE + code.length] = 0xf4;   // hlt ends the last block
  cpu.code.invalidateAll();   // the bytes were written behind the CPU's back
  cpu.code.compileAfter = opts.compileAfter ?? COMPILE_THRESHOLD;
  NAMES.forEach((n, k) => { const v = state[n]; if (v !== undefined) cpu.regs[k] = v; });
  if (state.eflags !== undefined) {
    cpu.flags = (state.eflags & FLAGS_WRITABLE) | 2;
    setArithFlags(cpu, state.eflags);
  }
  cpu.eip = CODE_BASE;
  cpu.halted = false;
  const end = CODE_BASE + code.length;
  if (blocks) {
    for (let n = 0; n < 100 && !cpu.halted; n++) run(cpu, 10_000);
    if (faultVector(cpu) === undefined && cpu.eip === end + 1) cpu.eip = end;   // step back over the hlt
  } else {
    for (let n = 0; n < 10_000 && cpu.eip !== end && !cpu.halted; n++) run(cpu, 1);
  }
  const out = { eflags: getEflags(cpu) >>> 0 } as SnippetResult;
  NAMES.forEach((n, k) => { out[n] = cpu.regs[k] >>> 0; });
  const v = faultVector(cpu);
  if (v !== undefined) out.fault = v;
  return out;
}
