/**
 * `native` with cycle accounting: no VMM at all, only the instruction-cost table charged as
 * the guest runs. Every event goes to the processor as on bare metal.
 */
import type { Cpu } from '../cpu/cpu';
import type { Insn } from '../cpu/insn';
import type { ModeMonitor, Vmm } from './vmm';

export class NativeMonitor implements ModeMonitor {
  constructor(private readonly vmm: Vmm) {}

  start(): void { /* the guest runs as the loader left it */ }

  intercept(): boolean { return false; }

  translate(_cpu: Cpu, insn: Insn): void { this.vmm.accounting.chargeOnExecute(insn); }
}
