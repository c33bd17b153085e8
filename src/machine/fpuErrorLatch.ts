/**
 * How a PC/AT reports x87 errors when CR0.NE is clear (SDM Vol. 1, appendix D, "MS-DOS
 * compatibility mode"): the FPU's FERR# output raises IRQ 13 through the chipset, and a write
 * of any value to port 0xF0 lowers it again and asserts IGNNE#, so that the FPU ignores the
 * pending error until the handler clears it (FNCLEX, FNINIT, or a loaded status word without
 * it); FERR# then drops, and IGNNE# with it (fpu/state.ts). As in QEMU 7.2 (hw/i386/pc.c,
 * ioportF0; target/i386/tcg/sysemu/fpu_helper.c), IGNNE# reaches the bootstrap processor only,
 * and reads of port 0xF0 return all ones.
 */
import type { Cpu } from '../cpu/cpu';
import type { PortRange } from './ioBus';

export const FPU_ERROR_PORT = 0xf0;

export class FpuErrorLatch {
  readonly ports: readonly PortRange[];

  constructor(private readonly irq13: (level: boolean) => void, private readonly bsp: Cpu) {
    this.ports = [{
      first: FPU_ERROR_PORT, count: 1,
      handler: { read: () => 0xff, write: () => this.acknowledge() },
    }];
  }

  /** FERR#: a waiting x87 instruction found an unmasked exception pending. */
  raise(): void { this.irq13(true); }

  /** The handler's write to port 0xF0. */
  private acknowledge(): void {
    this.irq13(false);
    this.bsp.fpu.ignne = true;
  }
}
