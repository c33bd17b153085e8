/**
 * The guest's virtual CPU as the `hw` VMM sees it between a VM exit and the next VM entry.
 * Like KVM's vcpu, most of it is in the VMCS (RIP, RSP, RFLAGS, segments, control registers,
 * interruptibility); the other general registers are not switched by VMX at all, so they stay
 * in the processor (`cpu.regs`), where the TypeScript host never disturbs them.
 */
import type { Cpu } from '../../cpu/cpu';
import { arDpl } from '../../cpu/cpu';
import { pushesErrorCode } from '../../cpu/exceptions';
import { CR0_PE, ESP, FLAG_IF } from '../../cpu/registers';
import {
  BLOCKING_BY_MOV_SS, BLOCKING_BY_STI, INTR_VALID, interruptionInfo, InterruptionType, VMCS, vmread, vmwrite,
} from '../../cpu/vmx/index';

export class Vcpu {
  constructor(readonly cpu: Cpu) {}

  read(field: number): number { return vmread(this.cpu, field); }
  write(field: number, value: number): void { vmwrite(this.cpu, field, value); }

  /** General register `n` in ModR/M order; ESP is the VMCS's, the others the processor's. */
  gpr(n: number): number { return n === ESP ? this.read(VMCS.GUEST_RSP) : this.cpu.regs[n]; }
  setGpr(n: number, v: number): void {
    if (n === ESP) this.write(VMCS.GUEST_RSP, v); else this.cpu.regs[n] = v;
  }

  get rip(): number { return this.read(VMCS.GUEST_RIP); }
  get rflags(): number { return this.read(VMCS.GUEST_RFLAGS); }
  /** CPL is SS.DPL in the guest-state area. */
  get cpl(): number { return arDpl(this.read(VMCS.GUEST_SS_AR)); }

  /**
   * The instruction that exited was emulated: it retires (it counts as a guest instruction,
   * as on bare metal), RIP moves past it (`length` bytes: exits that report no instruction
   * length leave it to the VMM's own decoding), and the STI or MOV SS shadow it sat in is over
   * (KVM's skip_emulated_instruction).
   */
  skipInstruction(length = this.read(VMCS.EXIT_INSTR_LEN)): void {
    this.write(VMCS.GUEST_RIP, (this.rip + length) | 0);
    this.retire();
  }

  /** A guest instruction the VMM carried out completed: it counts, and ends an STI or MOV SS shadow. */
  retire(): void {
    const blocking = this.read(VMCS.GUEST_INTERRUPTIBILITY);
    if ((blocking & (BLOCKING_BY_STI | BLOCKING_BY_MOV_SS)) !== 0) {
      this.write(VMCS.GUEST_INTERRUPTIBILITY, blocking & ~(BLOCKING_BY_STI | BLOCKING_BY_MOV_SS));
    }
    this.cpu.icount++;
  }

  /** An event is already set up for the next VM entry. */
  get injecting(): boolean { return (this.read(VMCS.ENTRY_INTR_INFO) & INTR_VALID) !== 0; }

  /**
   * Makes the next VM entry deliver hardware exception `vector` through the guest's IDT, with
   * `errorCode` if the exception has one (none in real-address mode, SDM Vol. 3C, 26.2.1.3).
   */
  injectException(vector: number, errorCode = 0): void {
    const withCode = pushesErrorCode(vector) && (this.read(VMCS.GUEST_CR0) & CR0_PE) !== 0;
    this.write(VMCS.ENTRY_INTR_INFO, interruptionInfo(InterruptionType.HardwareException, vector, withCode));
    if (withCode) this.write(VMCS.ENTRY_EXCEPTION_ERRCODE, errorCode & 0xffff);
  }

  /** External interrupt `vector` on the next VM entry (the guest must be interruptible). */
  injectInterrupt(vector: number): void {
    this.write(VMCS.ENTRY_INTR_INFO, interruptionInfo(InterruptionType.External, vector));
  }

  /** The guest would take an external interrupt now: IF set, no STI or MOV SS shadow, nothing else injected. */
  get interruptible(): boolean {
    return (this.rflags & FLAG_IF) !== 0 &&
      (this.read(VMCS.GUEST_INTERRUPTIBILITY) & (BLOCKING_BY_STI | BLOCKING_BY_MOV_SS)) === 0 && !this.injecting;
  }
}
