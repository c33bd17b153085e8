/**
 * The emulated PC: RAM, the port bus with QEMU's i386 PC devices at their ports and IRQs,
 * the CPU, and the run loop that keeps virtual time. Time is derived from the instruction
 * count (and skipped forward while the CPU halts), so a run is deterministic.
 */
import type { AccessSize, CpuBus } from '../cpu/bus';
import { createCpu, run as runCpu, StopReason, type Cpu } from '../cpu/index';
import { EAX, EBX, FLAG_IF } from '../cpu/registers';
import { loadMultiboot, MULTIBOOT_BOOTLOADER_MAGIC } from '../loader/multiboot';
import { Cmos } from './cmos';
import { DebugExit } from './debugExit';
import { IoBus } from './ioBus';
import { Pic8259 } from './pic8259';
import { Pit8254 } from './pit8254';
import { SystemPorts } from './systemPorts';
import { Uart16550 } from './uart16550';

export interface MachineOptions {
  /** RAM size in MiB (default 64, as DESIGN.md's machine). */
  memoryMiB?: number;
  /**
   * RAM in MiB above the guest's, for a VMM's own tables (src/vmm). The guest is told only of
   * `memoryMiB` (Multiboot information, CMOS), so it sees the same machine in every mode.
   */
  hostReservedMiB?: number;
}

export type HaltReason = 'exit' | 'halt' | 'triple-fault' | 'exception-loop' | 'max-instructions' | 'reset' | 'vmm-stop';

export interface RunResult {
  haltReason: HaltReason;
  /** The exit status `vtscope run` gives: (v << 1) | 1 for isa-debug-exit, else the codes below. */
  exitCode: number;
  instructions: number;
  eip: number;
  /** One line for stderr. */
  message: string;
}

/** Exit statuses for the ways a run ends other than isa-debug-exit (always odd, so these are even). */
export const EXIT_HALT = 2;
export const EXIT_TRIPLE_FAULT = 4;
export const EXIT_MAX_INSTRUCTIONS = 6;
export const EXIT_RESET = 8;
/** The VMM stopped the guest (src/vmm): something it cannot run, e.g. a privileged instruction under pv. */
export const EXIT_VMM_STOP = 10;

/** Virtual nanoseconds per retired instruction: a 1 GHz, one-instruction-per-cycle machine. */
export const NS_PER_INSTRUCTION = 1;
/** Longest stretch the CPU runs before the machine looks at its devices again. */
const SLICE = 1 << 20;

/** A halted guest that no interrupt has reached for this long (all lines masked) never wakes. */
const MAX_IDLE_NS = 60e9;

const COM1 = 0x3f8, IRQ_COM1 = 4, IRQ_PIT = 0, IRQ_RTC = 8;

export class Machine implements CpuBus {
  readonly ram: Uint8Array;
  /** The RAM the guest is told about: the start of `ram` (the rest belongs to a VMM). */
  readonly guestRamBytes: number;
  readonly mmioPages = new Uint8Array(1 << 20);
  readonly cpu: Cpu;
  readonly io = new IoBus();
  readonly pic = new Pic8259();
  readonly pit: Pit8254;
  readonly uart: Uart16550;
  readonly cmos: Cmos;
  /** Called with every byte the guest transmits on COM1. */
  onSerialOutput: (byte: number) => void = () => {};
  /**
   * Called when the CPU stops for a VM exit to a hypervisor written in TypeScript (src/vmm/hw),
   * before the end of the run is looked for, so the exit it handles (an OUT to isa-debug-exit,
   * a triple fault) ends the run as it would on bare metal.
   */
  onVmExit: (() => void) | undefined = undefined;

  /** Virtual time spent halted, on top of the instruction count. */
  private idleNs = 0;
  private exitStatus = -1;
  private resetRequested = false;
  /** When the CPU went to sleep with no interrupt able to reach it, or -1. */
  private idleSince = -1;

  constructor(opts: MachineOptions = {}) {
    const mib = opts.memoryMiB ?? 64;
    this.guestRamBytes = mib * 1024 * 1024;
    this.ram = new Uint8Array((mib + (opts.hostReservedMiB ?? 0)) * 1024 * 1024);
    // The legacy VGA window and BIOS area are not RAM on a PC (0xA0000-0xFFFFF).
    for (let p = 0xa0; p < 0x100; p++) this.mmioPages[p] = 1;
    this.cpu = createCpu(this);
    this.pit = new Pit8254((level) => this.pic.setIrq(IRQ_PIT, level));
    this.uart = new Uart16550((level) => this.pic.setIrq(IRQ_COM1, level));
    this.uart.onTransmit = (byte) => this.onSerialOutput(byte);
    this.cmos = new Cmos(this.guestRamBytes, (level) => this.pic.setIrq(IRQ_RTC, level));
    const debugExit = new DebugExit((status) => { this.exitStatus = status; this.cpu.requestStop(StopReason.Requested); });
    const system = new SystemPorts(() => { this.resetRequested = true; this.cpu.requestStop(StopReason.Requested); });
    this.io.registerRanges(this.pic.ports);
    this.io.registerRanges(this.pit.ports);
    this.io.register(COM1, 8, this.uart);
    this.io.registerRanges(this.cmos.ports);
    this.io.registerRanges(debugExit.ports);
    this.io.registerRanges(system.ports);
    this.firmwareInit();
  }

  /**
   * What SeaBIOS leaves in the devices before QEMU starts a Multiboot kernel, so a guest sees
   * the same state under both: the PICs at vectors 0x08 and 0x70 with its masks and trigger
   * modes, PIT channel 0 in mode 2 counting 65536.
   */
  private firmwareInit(): void {
    const out = (port: number, v: number): void => this.io.write(port, 1, v);
    out(0x20, 0x11); out(0x21, 0x08); out(0x21, 0x04); out(0x21, 0x01); out(0x21, 0xb8);
    out(0xa0, 0x11); out(0xa1, 0x70); out(0xa1, 0x02); out(0xa1, 0x01); out(0xa1, 0x8e);
    out(0x4d1, 0x0c);
    out(0x43, 0x34); out(0x40, 0x00); out(0x40, 0x00);
  }

  // ---- CpuBus ---------------------------------------------------------------------------

  ioRead(port: number, size: AccessSize): number {
    this.syncDevices();
    return this.io.read(port, size);
  }

  ioWrite(port: number, size: AccessSize, value: number): void {
    this.syncDevices();
    this.io.write(port, size, value);
    // A device programmed just now (the PIT, the UART) may be due before the running slice ends.
    const cpu = this.cpu;
    const due = cpu.icount + Math.max(1, Math.ceil((this.nextDeviceEventNs() - this.nowNs()) / NS_PER_INSTRUCTION));
    if (due < cpu.runUntil) cpu.runUntil = due;
  }

  mmioRead(): number { return 0xffff_ffff; }
  mmioWrite(): void { /* nothing is mapped there yet */ }
  intrPending(): boolean { return this.pic.intrPending(); }
  intrAcknowledge(): number { return this.pic.acknowledge(); }

  // ---- loading and running --------------------------------------------------------------

  serialInput(bytes: Uint8Array): void { this.uart.receive(bytes); }

  /** Loads a Multiboot image and leaves the CPU as a Multiboot loader does. */
  load(image: Uint8Array, opts: { cmdline?: string; fileName?: string } = {}): void {
    const { entry, mbiAddress } = loadMultiboot(image, this.ram.subarray(0, this.guestRamBytes), opts);
    const cpu = this.cpu;
    cpu.code.invalidateAll();
    cpu.resetToFlatProtectedMode();
    cpu.regs.fill(0);
    cpu.regs[EAX] = MULTIBOOT_BOOTLOADER_MAGIC;
    cpu.regs[EBX] = mbiAddress;
    cpu.eip = entry;
  }

  /** Virtual time now, in nanoseconds. */
  nowNs(): number { return this.cpu.icount * NS_PER_INSTRUCTION + this.idleNs; }

  private syncDevices(): void {
    const now = this.nowNs();
    this.pit.advanceTo(now);
    this.cmos.advanceTo(now);
    this.uart.advanceTo(now);
  }

  private nextDeviceEventNs(): number {
    return Math.min(this.pit.nextEventNs(), this.cmos.nextEventNs(), this.uart.nextEventNs());
  }

  /** Runs until the guest exits, halts for good, triple-faults or the budget runs out. */
  run(opts: { maxInstructions?: number } = {}): RunResult {
    const cpu = this.cpu;
    const limit = opts.maxInstructions ?? Number.MAX_SAFE_INTEGER;
    for (;;) {
      const result = this.runSlice(limit - cpu.icount);
      if (result !== undefined) return result;
    }
  }

  /**
   * Runs at most `budget` instructions, stopping early at the next device event. Returns the
   * end of the run, or undefined if the guest can go on (the debugger calls this in slices).
   */
  runSlice(budget: number): RunResult | undefined {
    const cpu = this.cpu;
    if (budget <= 0) return this.finish('max-instructions');
    const untilEvent = Math.ceil((this.nextDeviceEventNs() - this.nowNs()) / NS_PER_INSTRUCTION);
    const before = cpu.icount;
    const steps = Math.max(1, Math.min(budget, SLICE, untilEvent));
    runCpu(cpu, steps);
    if (cpu.stopReason === StopReason.VmExit) this.onVmExit?.();
    this.syncDevices();
    // A whole slice of exception deliveries without one instruction completing: the guest is
    // stuck (an exception handler that faults itself) and would spin forever.
    if (steps === SLICE && cpu.icount === before && !cpu.halted && cpu.stopReason === StopReason.None) {
      return this.finish('exception-loop');
    }
    if (this.exitStatus >= 0) return this.finish('exit');
    if (this.resetRequested) return this.finish('reset');
    if (cpu.stopReason === StopReason.TripleFault) return this.finish('triple-fault');
    if (cpu.halted) {
      if ((cpu.flags & FLAG_IF) === 0) return this.finish('halt');
      if (!this.pic.intrPending()) {
        const next = this.nextDeviceEventNs();
        if (next === Infinity) return this.finish('halt');
        // Nothing to do until the next timer event: skip the idle time.
        if (next > this.nowNs()) this.idleNs += next - this.nowNs();
        this.syncDevices();
        if (this.pic.intrPending()) this.idleSince = -1;
        else if (this.idleSince < 0) this.idleSince = this.nowNs();
        else if (this.nowNs() - this.idleSince > MAX_IDLE_NS) return this.finish('halt');
      }
    }
    return undefined;
  }

  /**
   * Waits as a hypervisor waits for a halted virtual CPU (src/vmm/hw): virtual time skips from
   * one device event to the next until the PIC has an interrupt for the CPU. False when none
   * comes within MAX_IDLE_NS (or no device event is due at all): the CPU sleeps for good.
   */
  idleUntilInterrupt(): boolean {
    this.syncDevices();
    const start = this.nowNs();
    while (!this.pic.intrPending()) {
      const next = this.nextDeviceEventNs();
      if (next === Infinity || next - start > MAX_IDLE_NS) return false;
      this.idleNs += Math.max(1, next - this.nowNs());
      this.syncDevices();
    }
    return true;
  }

  private finish(reason: HaltReason): RunResult {
    const cpu = this.cpu;
    // Where the run stopped: the next instruction after HLT or at the budget, else the
    // instruction that ended it (the OUT to 0xF4, the one that triple-faulted).
    const eip = cpu.halted || reason === 'max-instructions' ? cpu.eip : cpu.eipStart;
    const at = `at EIP 0x${(eip >>> 0).toString(16).padStart(8, '0')}`;
    let exitCode: number, message: string;
    switch (reason) {
      case 'exit':
        exitCode = this.exitStatus;
        message = `guest exited with status ${exitCode} through isa-debug-exit ${at}`;
        break;
      case 'halt':
        exitCode = EXIT_HALT;
        message = (cpu.flags & FLAG_IF) === 0
          ? `guest halted with interrupts disabled ${at}`
          : `guest halted with interrupts enabled but no interrupt can reach it ${at}`;
        break;
      case 'triple-fault':
        exitCode = EXIT_TRIPLE_FAULT;
        message = cpu.stopMessage;
        break;
      case 'exception-loop':
        exitCode = EXIT_TRIPLE_FAULT;
        message = `exception loop ${at}: ${cpu.faultChain[cpu.faultChain.length - 1] ?? 'an exception'} delivered over and over without any instruction completing`;
        break;
      case 'reset':
        exitCode = EXIT_RESET;
        message = `guest requested a system reset ${at}`;
        break;
      default:
        exitCode = EXIT_MAX_INSTRUCTIONS;
        message = `instruction limit of ${cpu.icount} reached ${at}`;
    }
    return { haltReason: reason, exitCode, instructions: cpu.icount, eip: eip >>> 0, message };
  }
}
