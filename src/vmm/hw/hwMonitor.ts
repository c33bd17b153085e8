/**
 * `hw`: vtscope's own KVM-like hypervisor on the emulated VT-x. The unmodified guest kernel
 * runs in VMX non-root operation at ring 0, in the state the Multiboot loader left; this host
 * code (VMX root operation) programs the VMCS, launches the guest and, on every VM exit, reads
 * the exit reason and qualification with VMREAD, logs the exit, charges a VM exit and entry,
 * handles it through the table indexed by exit reason (exitHandlers.ts, as KVM's
 * kvm_vmx_exit_handlers) and resumes the guest with whatever event is due injected.
 *
 * The devices are the machine's own, emulated on I/O exits and EPT violations; the guest is
 * shown the qemu32 processor it sees on bare metal (CPUID and MSR exits), not the VMX-capable
 * one the VMM runs on.
 */
import { AR_DB, StopReason, type Cpu } from '../../cpu/cpu';
import { QEMU32_VMX, type CpuModel } from '../../cpu/cpuid';
import { decodeFrom } from '../../cpu/decoder';
import { disassemble } from '../../cpu/disasm/index';
import { Insn } from '../../cpu/insn';
import {
  enableVmx, EXIT_REASON_ENTRY_FAILURE, exitReasonName, IA32_VMX_BASIC, PIN_EXTERNAL_INTERRUPT_EXITING,
  PROC_INTERRUPT_WINDOW_EXITING, VMCS, vmclear, vmInstructionErrorText, vmlaunch, vmptrld, vmresume, vmxOn,
  VMX_ENTRY_FAILED, VMX_FAIL_INVALID, VMX_SUCCEED,
} from '../../cpu/vmx/index';
import type { Machine } from '../../machine/machine';
import { smpCpuModel } from '../../machine/smp';
import { hex8, type Qualifier, type Reason } from '../exitLog';
import { GuestMemory, VmmStop, type GuestControl } from '../guestMemory';
import type { ModeMonitor, Vmm } from '../vmm';
import type { VmmMemory } from '../vmmMemory';
import { EptPaging } from './ept';
import { EventInjection } from './eventInjection';
import { EXIT_HANDLERS } from './exitHandlers';
import { GUEST_MODEL } from './guestModel';
import type { MemoryVirtualization, MemVirtName } from './memoryVirtualization';
import { ShadowPaging } from './shadowPaging';
import { Vcpu } from './vcpu';
import { programControls, programGuestState, programHostState, readMsr, type VmcsPages } from './vmcsSetup';

/** A VMX operation's failure in words: VMfailInvalid, or VMfailValid with its VM-instruction error. */
function statusText(status: number): string {
  return status === VMX_FAIL_INVALID ? 'VMfailInvalid (no current VMCS)' : `VM-instruction error ${status} (${vmInstructionErrorText(status)})`;
}

/** An exit no handler takes: reported with its number, never silently ignored. */
const unhandled: Qualifier = () => 'no handler in the hw VMM';

export class HwMonitor implements ModeMonitor {
  readonly cpu: Cpu;
  readonly machine: Machine;
  readonly vcpu: Vcpu;
  readonly injection = new EventInjection();
  /** The processor the guest is shown through CPUID: qemu32 with this processor's APIC ID. */
  readonly guestModel: CpuModel;
  paging!: MemoryVirtualization;
  private readonly memory: VmmMemory;
  /** Pin-based and primary controls as last written, so an entry rewrites them only when they change. */
  private pin = 0;
  private proc = 0;
  private readonly reasons: (Reason | undefined)[] = [];
  private readonly args: Float64Array = new Float64Array(4);
  private readonly insn = new Insn(() => undefined);
  private guestMemory!: GuestMemory;
  /** The guest's paging registers for `guestMemory`, brought up to date before each use. */
  private readonly ctl: GuestControl = { cr0: 0, cr3: 0, cr4: 0 };
  /** The pages of VMX regions, the VMCS and its bitmaps this virtual CPU holds. */
  private readonly pages: number[] = [];
  /** The guest is gone (triple fault, a VMM stop): no more VM entries. */
  private ended = false;

  /** The monitor of processor `processor` (its APIC ID), a virtual CPU with a VMCS of its own. */
  constructor(readonly vmm: Vmm, readonly processor: number, readonly memVirt: MemVirtName) {
    this.machine = vmm.machine;
    this.cpu = this.machine.cpus[processor];
    this.memory = vmm.memory!.forProcessor(processor);
    this.vcpu = new Vcpu(this.cpu);
    this.guestModel = smpCpuModel(GUEST_MODEL, processor, this.machine.cpus.length);
  }

  /** The bootstrap processor: the guest the loader left, with new EPT tables if EPT is on. */
  start(): void { this.launch(undefined); }

  /** With EPT the unrestricted guest runs real mode, so an application processor starts at its STARTUP. */
  get runsRealMode(): boolean { return this.memVirt === 'ept'; }

  /**
   * An application processor, at its STARTUP (EPT) or as the VMM's real-mode emulation left it
   * (shadow paging): one EPT per guest, as KVM's.
   */
  startProcessor(): void {
    const bsp = this.vmm.monitors[0] as HwMonitor;
    this.launch(bsp.paging.controls.eptPointer);
  }

  /** INIT: the virtual CPU's VMX pages and shadows go back to the VMM; it starts again at its next STARTUP. */
  reset(): void {
    if (this.pages.length > 0) this.paging.shadow?.detach();
    for (const p of this.pages) this.memory.release(p);
    this.pages.length = 0;
  }

  vmExit(): void { this.handleExit(); }

  /**
   * Turns VMX on under the guest as it is, programs the VMCS with that guest in it and
   * launches it: from here on the guest runs in non-root operation. `eptPointer`: the EPT
   * tables to share, if another virtual CPU built them.
   */
  private launch(eptPointer: number | undefined): void {
    const cpu = this.cpu, mem = this.memory;
    this.pages.length = 0;
    const boot = { cr0: cpu.cr0, cr3: cpu.cr3, cr4: cpu.cr4 };
    this.injection.reset();
    this.ended = false;
    cpu.model = QEMU32_VMX;
    cpu.vmx.exitToHost = true;
    enableVmx(cpu);

    const revision = readMsr(cpu, IA32_VMX_BASIC).lo & 0x7fff_ffff;
    const vmxon = this.allocate(), vmcs = this.allocate();
    mem.write32(vmxon, revision);
    mem.write32(vmcs, revision);
    this.check('VMXON', vmxOn(cpu, vmxon));
    this.check('VMCLEAR', vmclear(cpu, vmcs));
    this.check('VMPTRLD', vmptrld(cpu, vmcs));

    const pages: VmcsPages = {
      ioBitmapA: this.allocate(), ioBitmapB: this.allocate(), msrBitmap: this.allocate(), hostCr3: this.allocate(),
    };
    this.paging = this.memVirt === 'ept' ? new EptPaging(this.machine, mem, eptPointer) : new ShadowPaging(this, mem, boot);
    const { pin, proc } = programControls(cpu, pages, this.paging.controls);
    this.pin = pin;
    this.proc = proc;
    programHostState(cpu, pages);
    programGuestState(cpu, boot, this.paging.controls);
    this.guestMemory = new GuestMemory(cpu, this.ctl, (p) => !this.isGuestRam(p), (p) => this.paging.shadow?.guestPageWritten(p));

    this.enter(true);
  }

  intercept(): boolean {
    // In non-root operation the processor delivers the guest's events through the guest's IDT.
    return false;
  }

  translate(_cpu: Cpu, insn: Insn): void { this.vmm.accounting.chargeOnExecute(insn); }

  // ---- the VM exit loop ------------------------------------------------------------------

  /** One VM exit: read it, log it, charge it, handle it, enter the guest again. */
  handleExit(): void {
    const vcpu = this.vcpu;
    const full = vcpu.read(VMCS.EXIT_REASON);
    const basic = full & 0xffff;
    if ((full & EXIT_REASON_ENTRY_FAILURE) !== 0) {
      this.fail(`VM entry failed with exit reason ${basic} (${exitReasonName(basic)}): ${this.cpu.vmx.entryFailure}`);
      return;
    }
    const rip = vcpu.rip, cpl = vcpu.cpl;
    this.injection.noteVectoring(vcpu);
    const handler = EXIT_HANDLERS[basic];
    const q = this.args;
    q.fill(0);
    try {
      if (handler === undefined) {
        this.fail(`VM exit ${basic} (${exitReasonName(basic)}) at EIP ${hex8(rip)}: the hw VMM has no handler for it`);
      } else {
        handler.handle(this, q);
      }
    } catch (e) {
      if (!(e instanceof VmmStop)) throw e;
      this.fail(e.message);
    }
    this.record(basic, handler?.qualify ?? unhandled, rip, cpl, q, handler?.work?.(this.vmm.costs.events, q) ?? 0);
    if (!this.ended) this.enter(false);
  }

  /** VM entry: the due event injected, the interrupt controls set, then VMLAUNCH or VMRESUME. */
  private enter(launch: boolean): void {
    const waiting = this.injection.beforeEntry(this.vcpu, this.machine);
    // Waiting for a window: the interrupt is the VMM's already, so it does not exit again meanwhile.
    const pin = waiting ? this.pin & ~PIN_EXTERNAL_INTERRUPT_EXITING : this.pin | PIN_EXTERNAL_INTERRUPT_EXITING;
    const proc = waiting ? this.proc | PROC_INTERRUPT_WINDOW_EXITING : this.proc & ~PROC_INTERRUPT_WINDOW_EXITING;
    if (pin !== this.pin) { this.vcpu.write(VMCS.PIN_BASED, pin); this.pin = pin; }
    if (proc !== this.proc) { this.vcpu.write(VMCS.PRIMARY_PROC, proc); this.proc = proc; }
    const status = launch ? vmlaunch(this.cpu) : vmresume(this.cpu);
    if (status === VMX_SUCCEED) return;
    const what = launch ? 'VMLAUNCH' : 'VMRESUME';
    if (status === VMX_ENTRY_FAILED) {
      this.fail(`${what} failed: invalid guest state (${this.cpu.vmx.entryFailure})`);
    } else {
      const why = this.cpu.vmx.entryFailure;
      this.fail(`${what} failed: ${statusText(status)}${why === '' ? '' : `: ${why}`}`);
    }
  }

  private record(basic: number, qualify: Qualifier, rip: number, cpl: number, q: Float64Array, work: number): void {
    let reason = this.reasons[basic];
    if (reason === undefined) {
      reason = this.vmm.log.reason(exitReasonName(basic), 'vm exit', qualify, basic);
      this.reasons[basic] = reason;
    }
    const cost = this.vmm.costs.events.vmExitEntry.cycles + work;
    const acc = this.vmm.accounting;
    acc.eventCycles += cost;
    this.vmm.log.record(reason, this.cpu.icount, acc.cycles(), this.processor, rip, cpl, cost, q[0], q[1], q[2], q[3]);
  }

  // ---- services for the exit handlers ------------------------------------------------------

  /** Ends the run with a message: the guest did something the VMM cannot give it. */
  fail(message: string): void {
    this.ended = true;
    this.vmm.stop(message);
  }

  /** Ends the run as a triple fault on bare metal would (the run loop reports it). */
  endWithTripleFault(message: string): void {
    this.ended = true;
    this.cpu.requestStop(StopReason.TripleFault, message);
  }

  /** Is guest-physical `phys` RAM (not a device hole, not beyond the guest's RAM)? */
  isGuestRam(phys: number): boolean {
    return phys >= 0 && phys < this.machine.guestRamBytes && this.machine.mmioPages[phys >>> 12] === 0;
  }

  /** Guest memory through the guest's paging, for instructions the VMM emulates. */
  guestMem(): GuestMemory {
    Object.assign(this.ctl, this.paging.guestControl(this.vcpu));
    return this.guestMemory;
  }

  /** Decodes the guest instruction at CS:RIP (the one that exited) from guest memory. */
  decodeGuest(): Insn {
    const mem = this.guestMem(), vcpu = this.vcpu;
    const base = vcpu.read(VMCS.GUEST_CS_BASE), user = vcpu.cpl === 3;
    const code32 = (vcpu.read(VMCS.GUEST_CS_AR) & AR_DB) !== 0;
    decodeFrom((off) => mem.read8((base + off) | 0, user), vcpu.rip, code32, this.insn);
    return this.insn;
  }

  /** The guest instruction at CS:RIP in NASM syntax, for messages. */
  disassembleGuest(): string {
    const mem = this.guestMem(), vcpu = this.vcpu;
    const base = vcpu.read(VMCS.GUEST_CS_BASE);
    const bits = (vcpu.read(VMCS.GUEST_CS_AR) & AR_DB) !== 0 ? 32 : 16;
    return disassemble((lin) => {
      try { return mem.read8(lin); } catch { return -1; }
    }, (base + vcpu.rip) >>> 0, { bits, csBase: base }).text;
  }

  private allocate(): number {
    const p = this.memory.allocate();
    if (p === undefined) throw new VmmStop('the VMM ran out of its own memory');
    this.pages.push(p);
    return p;
  }

  private check(operation: string, status: number): void {
    if (status !== VMX_SUCCEED) throw new Error(`${operation} failed: ${statusText(status)}`);
  }
}
