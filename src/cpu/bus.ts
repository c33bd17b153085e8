/**
 * What the CPU sees of the machine around it: physical memory, the port I/O space and the
 * INTR line of the interrupt controller. The CPU knows nothing else of the PC (DESIGN.md:
 * dependencies point down), so `src/machine` implements this interface.
 */
export type AccessSize = 1 | 2 | 4;

export interface CpuBus {
  /** Guest RAM from physical address 0. Accesses to pages marked in `mmioPages`, or at or
   *  beyond `ram.length`, go to `mmioRead`/`mmioWrite` instead. */
  readonly ram: Uint8Array;
  /** One byte per 4 KiB physical page below 4 GiB (1 Mi entries): non-zero = device memory. */
  readonly mmioPages: Uint8Array;
  mmioRead(addr: number, size: AccessSize): number;
  mmioWrite(addr: number, size: AccessSize, value: number): void;

  ioRead(port: number, size: AccessSize): number;
  ioWrite(port: number, size: AccessSize, value: number): void;

  /** The INTR pin: true while the interrupt controller has an unmasked request pending. */
  intrPending(): boolean;
  /** The INTA cycle: the controller returns the vector and marks the request in service. */
  intrAcknowledge(): number;
  /** FERR#: an unmasked x87 exception is pending with CR0.NE clear (a PC raises IRQ 13); absent on buses without it. */
  fpuError?(): void;
}
