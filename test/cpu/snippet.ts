/**
 * Helpers for instruction tests that touch memory: assemble a snippet with nasm, run it on
 * the harness CPU, and read back the exception frame when it faulted.
 */
import type { Cpu } from '../../src/cpu/index';
import { pushesErrorCode } from '../../src/cpu/exceptions';
import { CR0_PG, CR0_WP, ESP } from '../../src/cpu/registers';
import { nasm } from '../support/nasm';
import { CODE_BASE, execSnippet, type SnippetResult, type SnippetState } from './harness';

/** Where tests keep their memory operands (ordinary RAM, identity-mapped when paging is on). */
export const DATA = 0x20000;

export interface RunResult extends SnippetResult {
  /** The exception's error code, when it pushes one. */
  errorCode?: number;
  /** The EIP the exception frame holds: the faulting instruction for a fault. */
  faultEip?: number;
}

/** Assembles `source` (32-bit code at CODE_BASE) and runs it to its end or to an exception handler. */
export function runAsm(cpu: Cpu, source: string, state: SnippetState = {}): RunResult {
  const code = nasm(`bits 32\norg 0x${CODE_BASE.toString(16)}\n${source}\n`);
  const result: RunResult = execSnippet(code, state, cpu);
  if (result.fault !== undefined) {
    // Same-privilege delivery pushed EFLAGS, CS, EIP and maybe an error code (SDM Vol. 3A, 6.12.1).
    const esp = cpu.regs[ESP];
    if (pushesErrorCode(result.fault)) {
      result.errorCode = cpu.readPhys32(esp);
      result.faultEip = cpu.readPhys32(esp + 4) >>> 0;
    } else {
      result.faultEip = cpu.readPhys32(esp) >>> 0;
    }
  }
  return result;
}

export function poke32(cpu: Cpu, addr: number, v: number): void { cpu.writePhys32(addr, v); }
export function peek32(cpu: Cpu, addr: number): number { return cpu.readPhys32(addr) >>> 0; }
export function peek8(cpu: Cpu, addr: number): number { return cpu.ram[addr]; }

/** Physical addresses of the page directory and the one page table paging tests use. */
const PAGE_DIR = 0x100000, PAGE_TABLE = 0x101000;

/**
 * Turns on 32-bit paging with the first 4 MiB identity-mapped, present and writable, except
 * the pages listed as not present and those listed as read-only (CR0.WP set, so ring 0 too).
 */
export function enablePaging(cpu: Cpu, { notPresent = [] as number[], readOnly = [] as number[] } = {}): void {
  for (let p = 0; p < 1024; p++) {
    let pte = (p << 12) | 0x3; // P, R/W
    if (notPresent.includes(p << 12)) pte = 0;
    else if (readOnly.includes(p << 12)) pte = (p << 12) | 0x1;
    cpu.writePhys32(PAGE_TABLE + p * 4, pte);
  }
  cpu.writePhys32(PAGE_DIR, PAGE_TABLE | 0x3);
  cpu.cr3 = PAGE_DIR;
  cpu.cr0 |= CR0_PG | CR0_WP;
  cpu.tlb.flush(false);
}
