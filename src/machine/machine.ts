/**
 * The emulated PC: RAM, the port bus with QEMU's i386 PC devices at their ports and IRQs,
 * the CPU, and the run loop that keeps virtual time. Time is derived from the instruction
 * count (and skipped forward while the CPU halts), so a run is deterministic.
 */
import type { AccessSize, CpuBus } from '../cpu/bus';
import { createCpu, run as runCpu, StopReason, type Cpu } from '../cpu/index';
import { EAX, EBX, FLAG_IF } from '../cpu/registers';
import { loadMultiboot, MULTIBOOT_BOOTLOADER_MAGIC } from '../loader/multiboot';
import { CGA_BASE, CGA_SIZE, CgaText } from './cgaText';
import { Cmos, DEFAULT_RTC_EPOCH } from './cmos';
import { DebugExit } from './debugExit';
import { cmosHardDiskBytes, type Disk } from './disk';
import { guestRamDma } from './dmaMemory';
import { BIOS_ROM_BASE, BIOS_ROM_SIZE, BiosRom } from './firmware/biosRom';
import { FpuErrorLatch } from './fpuErrorLatch';
import { writeFixedDiskTables } from './firmware/fixedDiskTables';
import { writeFirmwareTables } from './firmware/seabios';
import { FwCfg } from './fwCfg';
import { I8042 } from './i8042';
import { IDE_DRIVES, IdeChannel, PRIMARY_IDE, SECONDARY_IDE } from './ide';
import { Imcr } from './imcr';
import { IOAPIC_BASE, IoApic } from './ioApic';
import { IoBus } from './ioBus';
import { LAPIC_BASE, LAPIC_VERSION, LocalApic } from './localApic';
import { MmioBus } from './mmioBus';
import { PcInterrupts } from './pcInterrupts';
import { MAX_CPUS, Processors, smpCpuModel } from './smp';
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
  /** Processors, 1 to 8 (default 1): APIC IDs 0..N-1, as `qemu-system-i386 -smp N` (smp.ts). */
  cpus?: number;
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
/**
 * With several processors, each runs this many instructions in turn, processor 0 first
 * (round robin, as QEMU's single-threaded TCG schedules its vCPUs). The clock is the
 * instructions of all processors together, 1 ns each, as under QEMU's -icount: every processor
 * sees time pass while the others run, so N busy processors each run at 1/N GHz.
 */
export const QUANTUM = 1000;

/** A halted guest that no interrupt has reached for this long (all lines masked) never wakes. */
const MAX_IDLE_NS = 60e9;

/** CMOS byte where QEMU's PC stores the number of processors less one (hw/i386/pc.c). */
const CMOS_SMP_COUNT = 0x5f;

const COM1 = 0x3f8, IRQ_COM1 = 4, IRQ_PIT = 0, IRQ_RTC = 8, IRQ_KEYBOARD = 1, IRQ_MOUSE = 12, IRQ_FPU = 13;

export type MachineState = ReturnType<Machine['saveState']>;

export class Machine implements CpuBus {
  readonly ram: Uint8Array;
  /** The RAM the guest is told about: the start of `ram` (the rest belongs to a VMM). */
  readonly guestRamBytes: number;
  readonly mmioPages = new Uint8Array(1 << 20);
  /** The bootstrap processor (cpus[0]). */
  readonly cpu: Cpu;
  /** All processors, by APIC ID. */
  readonly cpus: readonly Cpu[];
  readonly io = new IoBus();
  readonly mmio = new MmioBus(this.mmioPages);
  readonly pic = new Pic8259();
  readonly pit: Pit8254;
  readonly uart: Uart16550;
  readonly cmos: Cmos;
  /** The bootstrap processor's local APIC (lapics[0]). */
  readonly lapic: LocalApic;
  /** Each processor's local APIC: the page at 0xFEE00000 answers for the processor accessing it. */
  readonly lapics: readonly LocalApic[];
  /** Interprocessor interrupts and the application processors' start (smp.ts). */
  readonly processors: Processors;
  readonly ioApic: IoApic;
  readonly imcr = new Imcr();
  readonly fwCfg: FwCfg;
  /** The colour text screen at 0xB8000 and its CRT controller ports. */
  readonly cga: CgaText;
  /** The keyboard controller at 0x60/0x64 with its PS/2 keyboard. */
  readonly i8042: I8042;
  /** The primary IDE channel at 0x1F0/0x3F6 (IRQ 14); disks are attached with attachDisk. */
  readonly ide: IdeChannel;
  /** The secondary IDE channel at 0x170/0x376 (IRQ 15). */
  readonly ideSecondary: IdeChannel;
  /** FERR# and port 0xF0: x87 errors as IRQ 13 while CR0.NE is clear. */
  private readonly fpuErrors: FpuErrorLatch;
  /** ISA IRQ lines to the 8259s and the I/O APIC, and the CPU's INTR (pcInterrupts.ts). */
  readonly interrupts: PcInterrupts;
  private readonly system: SystemPorts;
  /** Called with every byte the guest transmits on COM1. */
  onSerialOutput: (byte: number) => void = () => {};
  /**
   * Called when the CPU stops for a VM exit to a hypervisor written in TypeScript (src/vmm/hw),
   * before the end of the run is looked for, so the exit it handles (an OUT to isa-debug-exit,
   * a triple fault) ends the run as it would on bare metal.
   */
  onVmExit: (() => void) | undefined = undefined;

  /** The processor running now (whose accesses reach the bus), by index. */
  private current = 0;
  /** With several processors: whose turn it is, and how many instructions are left of it (runRound). */
  private turn = 0;
  private turnLeft = QUANTUM;
  /** Instructions each processor ran in a row without retiring one (exception loops), with several processors. */
  private readonly stuck: number[];

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
    const count = opts.cpus ?? 1;
    if (!Number.isInteger(count) || count < 1 || count > MAX_CPUS) {
      throw new RangeError(`a machine has 1 to ${MAX_CPUS} processors, not ${count}`);
    }
    this.cpu = createCpu(this);
    const cpus = [this.cpu];
    // Application processors: IA32_APIC_BASE without the BSP flag (bit 8).
    for (let k = 1; k < count; k++) { const ap = createCpu(this, this.cpu); ap.apicBase = 0xfee00800; cpus.push(ap); }
    cpus.forEach((cpu, k) => { cpu.model = smpCpuModel(cpu.model, k, count); });
    this.cpus = cpus;
    this.stuck = cpus.map(() => 0);
    this.lapics = cpus.map((cpu) => new LocalApic(() => cpu.apicBase, (vector) => this.ioApic.eoi(vector)));
    this.lapic = this.lapics[0];
    this.processors = new Processors(cpus, this.lapics);
    for (const lapic of this.lapics) lapic.sharesBus = count > 1;
    this.ioApic = new IoApic((message) => this.processors.deliver(message));
    this.interrupts = new PcInterrupts(this.pic, this.ioApic, this.lapic, this.imcr);
    this.pit = new Pit8254((level) => this.interrupts.isaIrq(IRQ_PIT, level));
    this.uart = new Uart16550((level) => this.interrupts.isaIrq(IRQ_COM1, level));
    this.uart.onTransmit = (byte) => this.onSerialOutput(byte);
    this.cmos = new Cmos(this.guestRamBytes, (level) => this.interrupts.isaIrq(IRQ_RTC, level));
    if (count > 1) this.cmos.setByte(CMOS_SMP_COUNT, count - 1);
    this.fwCfg = new FwCfg({ ramBytes: this.guestRamBytes, cpus: count }, guestRamDma(this.cpu, this.guestRamBytes));
    const debugExit = new DebugExit((status) => { this.exitStatus = status; this.running.requestStop(StopReason.Requested); });
    this.system = new SystemPorts(() => this.requestReset());
    this.i8042 = new I8042((level) => this.interrupts.isaIrq(IRQ_KEYBOARD, level),
      (level) => this.interrupts.isaIrq(IRQ_MOUSE, level), () => this.requestReset());
    this.fpuErrors = new FpuErrorLatch((level) => this.interrupts.isaIrq(IRQ_FPU, level), this.cpu);
    this.ide = new IdeChannel((level) => this.interrupts.isaIrq(PRIMARY_IDE.irq, level), PRIMARY_IDE);
    this.ideSecondary = new IdeChannel((level) => this.interrupts.isaIrq(SECONDARY_IDE.irq, level), SECONDARY_IDE);
    this.io.registerRanges(this.pic.ports);
    this.io.registerRanges(this.pit.ports);
    this.io.register(COM1, 8, this.uart);
    this.io.registerRanges(this.cmos.ports);
    this.io.registerRanges(debugExit.ports);
    this.io.registerRanges(this.system.ports);
    this.io.registerRanges(this.fpuErrors.ports);
    this.io.registerRanges(this.imcr.ports);
    this.io.registerRanges(this.fwCfg.ports);
    // The CGA text window is memory in the legacy hole (see cgaText.ts).
    this.cga = new CgaText(this.ram.subarray(CGA_BASE, CGA_BASE + CGA_SIZE));
    for (let p = CGA_BASE >>> 12; p < (CGA_BASE + CGA_SIZE) >>> 12; p++) this.mmioPages[p] = 0;
    this.io.registerRanges(this.cga.ports);
    this.io.registerRanges(this.i8042.ports);
    this.io.registerRanges(this.ide.ports);
    this.io.registerRanges(this.ideSecondary.ports);
    this.mmio.register(LAPIC_BASE, 4096, count === 1 ? this.lapic : {
      read: (address, size) => this.lapics[this.current].read(address, size),
      write: (address, size, value) => this.lapics[this.current].write(address, size, value),
    });
    this.mmio.register(IOAPIC_BASE, 4096, this.ioApic);
    this.mmio.register(BIOS_ROM_BASE, BIOS_ROM_SIZE, new BiosRom(this.ram));
    this.firmwareInit();
    this.processors.connect();
    this.processors.parkApplicationProcessors();
  }

  /** The processor running now (the bootstrap processor between runs with one processor). */
  get running(): Cpu { return this.cpus[this.current]; }
  /** The index of `running` (its APIC ID). */
  get runningIndex(): number { return this.current; }

  /**
   * What SeaBIOS leaves in the devices before QEMU starts a Multiboot kernel, so a guest sees
   * the same state under both: the PICs at vectors 0x08 and 0x70 with its masks and trigger
   * modes, PIT channel 0 in mode 2 counting 65536; the local APIC as its smp_setup leaves it
   * (enabled with spurious vector 0xFF, LINT0 ExtINT and LINT1 NMI, level-triggered, after an
   * INIT and a SIPI to all other processors); the BIOS data area and MP tables.
   */
  private firmwareInit(): void {
    const out = (port: number, v: number): void => this.io.write(port, 1, v);
    out(0x20, 0x11); out(0x21, 0x08); out(0x21, 0x04); out(0x21, 0x01); out(0x21, 0xb8);
    out(0xa0, 0x11); out(0xa1, 0x70); out(0xa1, 0x02); out(0xa1, 0x01); out(0xa1, 0x8e);
    out(0x4d1, 0x0c);
    out(0x43, 0x34); out(0x40, 0x00); out(0x40, 0x00);
    const apic = (offset: number, v: number): void => this.mmio.write(LAPIC_BASE + offset, 4, v);
    apic(0xf0, 0x1ff); apic(0x350, 0x8700); apic(0x360, 0x8400); apic(0x300, 0x000c4500); apic(0x300, 0x000c4610);
    const model = this.cpu.model;
    writeFirmwareTables(this.ram, {
      rtcSeconds: DEFAULT_RTC_EPOCH, processors: [{ signature: model.signature, features: model.featuresEdx }],
      localApicVersion: LAPIC_VERSION & 0xff, localApicAddress: LAPIC_BASE, ioApicAddress: IOAPIC_BASE,
    });
  }

  // ---- CpuBus ---------------------------------------------------------------------------

  ioRead(port: number, size: AccessSize): number {
    this.syncDevices();
    return this.io.read(port, size);
  }

  ioWrite(port: number, size: AccessSize, value: number): void {
    this.syncDevices();
    this.io.write(port, size, value);
    this.deviceProgrammed();
  }

  /** A device programmed just now (the PIT, the UART, the APIC timer) may be due before the running slice ends. */
  private deviceProgrammed(): void {
    const cpu = this.running;
    const due = cpu.icount + Math.max(1, Math.ceil((this.nextDeviceEventNs() - this.nowNs()) / NS_PER_INSTRUCTION));
    if (due < cpu.runUntil) cpu.runUntil = due;
  }

  mmioRead(address: number, size: AccessSize): number {
    this.syncDevices();
    return this.mmio.read(address, size);
  }

  mmioWrite(address: number, size: AccessSize, value: number): void {
    this.syncDevices();
    this.mmio.write(address, size, value);
    const page = address >>> 12;
    if (page === LAPIC_BASE >>> 12 || page === IOAPIC_BASE >>> 12) {
      // An APIC write (timer, EOI, TPR, ICR, a redirection entry) may bring the next event or
      // an interrupt forward: it is looked at after this instruction, as after OUT.
      this.deviceProgrammed();
      this.running.leaveBlock = true;
      if (this.cpus.length > 1 && page === LAPIC_BASE >>> 12) this.processors.icrWritten(this.current, address & 0xfff);
    }
  }
  /** FERR# of any processor (the line is shared, as on a PC). */
  fpuError(): void { this.fpuErrors.raise(); }

  // The 8259's INTR reaches the bootstrap processor only (LINT0 of the others is masked).
  intrPending(): boolean { return this.current === 0 ? this.interrupts.pending() : this.lapics[this.current].hasInterrupt(); }
  intrAcknowledge(): number { return this.current === 0 ? this.interrupts.acknowledge() : this.lapics[this.current].acknowledge(); }

  // ---- loading and running --------------------------------------------------------------

  serialInput(bytes: Uint8Array): void { this.uart.receive(bytes); }

  /** Types `text` on the PS/2 keyboard, one key event at a time from now on (ps2Keyboard.ts). */
  typeKeys(text: string): void { this.i8042.typeKeys(text, this.nowNs()); }

  /**
   * Attaches a hard disk, before the guest runs, at IDE drive `index` as QEMU's -drive index
   * counts them (0 primary master, 1 primary slave, 2 secondary master, 3 secondary slave), and
   * records the disks in CMOS as QEMU's firmware setup does and in the BIOS data area as SeaBIOS does.
   */
  attachDisk(disk: Disk, index = 0): void {
    if (!Number.isInteger(index) || index < 0 || index >= IDE_DRIVES) {
      throw new RangeError(`IDE drive ${index}: the PC has drives 0 to ${IDE_DRIVES - 1} (primary master, slave, secondary master, slave)`);
    }
    const channel = (k: number): IdeChannel => (k < 2 ? this.ide : this.ideSecondary);
    channel(index).attach(disk, (index & 1) as 0 | 1);
    const disks = Array.from({ length: IDE_DRIVES }, (_, k) => channel(k).diskAt((k & 1) as 0 | 1));
    for (const [at, value] of cmosHardDiskBytes(disks.map((d) => d?.geometry))) this.cmos.setByte(at, value);
    writeFixedDiskTables(this.ram, disks.filter((d) => d !== undefined));
  }

  private requestReset(): void {
    this.resetRequested = true;
    this.running.requestStop(StopReason.Requested);
  }

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
    this.processors.parkApplicationProcessors();
  }

  /**
   * The devices and the machine's own run state (idle time, a pending exit or reset), for
   * snapshots (snapshot.ts); the CPU and RAM are saved there.
   */
  saveState() {
    return {
      idleNs: this.idleNs, exitStatus: this.exitStatus, resetRequested: this.resetRequested, idleSince: this.idleSince,
      pic: this.pic.saveState(), pit: this.pit.saveState(), uart: this.uart.saveState(), cmos: this.cmos.saveState(),
      system: this.system.saveState(), lapic: this.lapic.saveState(), ioApic: this.ioApic.saveState(),
      imcr: this.imcr.saveState(), fwCfg: this.fwCfg.saveState(),
      cga: this.cga.saveState(), i8042: this.i8042.saveState(), ide: this.ide.saveState(), ideSecondary: this.ideSecondary.saveState(),
      current: this.current, turn: this.turn, turnLeft: this.turnLeft, stuck: [...this.stuck], processors: this.processors.saveState(),
      apLapics: this.lapics.slice(1).map((lapic) => lapic.saveState()),
    };
  }

  loadState(state: MachineState): void {
    const { pic, pit, uart, cmos, system, lapic, ioApic, imcr, fwCfg, cga, i8042, ide, ideSecondary, stuck, processors, apLapics, ...run } = state;
    Object.assign(this, run);
    stuck.forEach((n, k) => { this.stuck[k] = n; });
    this.processors.loadState(processors);
    apLapics.forEach((s, k) => this.lapics[k + 1].loadState(s));
    this.pic.loadState(pic);
    this.pit.loadState(pit);
    this.uart.loadState(uart);
    this.cmos.loadState(cmos);
    this.system.loadState(system);
    this.lapic.loadState(lapic);
    this.ioApic.loadState(ioApic);
    this.imcr.loadState(imcr);
    this.fwCfg.loadState(fwCfg);
    this.cga.loadState(cga);
    this.i8042.loadState(i8042);
    this.ide.loadState(ide);
    this.ideSecondary.loadState(ideSecondary);
  }

  /** Virtual time now, in nanoseconds. */
  nowNs(): number { return this.instructions() * NS_PER_INSTRUCTION + this.idleNs; }

  /** Instructions retired by all processors together. */
  instructions(): number {
    let n = 0;
    for (const cpu of this.cpus) n += cpu.icount;
    return n;
  }

  private syncDevices(): void {
    const now = this.nowNs();
    this.pit.advanceTo(now);
    this.cmos.advanceTo(now);
    this.uart.advanceTo(now);
    for (const lapic of this.lapics) lapic.advanceTo(now);
    this.i8042.advanceTo(now);
    this.ide.advanceTo(now);
    this.ideSecondary.advanceTo(now);
  }

  private nextDeviceEventNs(): number {
    let next = Math.min(this.pit.nextEventNs(), this.cmos.nextEventNs(), this.uart.nextEventNs(), this.lapic.nextEventNs(),
      this.i8042.nextEventNs(), this.ide.nextEventNs(), this.ideSecondary.nextEventNs());
    for (let k = 1; k < this.lapics.length; k++) next = Math.min(next, this.lapics[k].nextEventNs());
    return next;
  }

  /** Runs until the guest exits, halts for good, triple-faults or the budget runs out. */
  run(opts: { maxInstructions?: number } = {}): RunResult {
    const limit = opts.maxInstructions ?? Number.MAX_SAFE_INTEGER;
    for (;;) {
      const result = this.runSlice(limit - this.instructions());
      if (result !== undefined) return result;
    }
  }

  /**
   * Runs at most `budget` instructions, stopping early at the next device event. Returns the
   * end of the run, or undefined if the guest can go on (the debugger calls this in slices).
   */
  runSlice(budget: number): RunResult | undefined {
    if (this.cpus.length > 1) return this.runRound(budget);
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
      if (!this.intrPending()) {
        const next = this.nextDeviceEventNs();
        if (next === Infinity) return this.finish('halt');
        // Nothing to do until the next timer event: skip the idle time.
        if (next > this.nowNs()) this.idleNs += next - this.nowNs();
        this.syncDevices();
        if (this.intrPending()) this.idleSince = -1;
        else if (this.idleSince < 0) this.idleSince = this.nowNs();
        else if (this.nowNs() - this.idleSince > MAX_IDLE_NS) return this.finish('halt');
      }
    }
    return undefined;
  }

  /**
   * runSlice with several processors: the round-robin schedule (QUANTUM instructions a turn,
   * processors waiting for a STARTUP IPI skipped, a turn ending early when its processor
   * halts), for at most `budget` instructions and one round. A turn goes on across calls, so
   * the schedule does not depend on how a run is cut into slices (by the debugger, say). A
   * processor that stops (a breakpoint, an exception the debugger catches) ends the slice and
   * stays `running`. Time skips ahead only while every processor halts.
   */
  private runRound(budget: number): RunResult | undefined {
    if (budget <= 0) return this.finish('max-instructions');
    let left = budget;
    for (let turnsEnded = 0; turnsEnded < this.cpus.length && left > 0;) {
      const k = this.turn, cpu = this.cpus[k];
      // A turn used up just as its processor stopped (a VM exit, a breakpoint) ends when the run goes on.
      if (!this.processors.waitingForSipi[k] && this.turnLeft > 0) {
        this.current = k;
        const untilEvent = Math.ceil((this.nextDeviceEventNs() - this.nowNs()) / NS_PER_INSTRUCTION);
        const before = cpu.icount;
        const steps = Math.max(1, Math.min(left, this.turnLeft, untilEvent));
        runCpu(cpu, steps);
        // The instruction a VMM emulates after a VM exit retires within the turn, as on bare metal.
        if (cpu.stopReason === StopReason.VmExit) this.onVmExit?.();
        // A turn is QUANTUM retired instructions, whatever else happened in it (deliveries, VM exits,
        // a breakpoint or a pause before the first instruction): the schedule depends on neither the
        // mode nor where a debugger cut the run. A processor that retires nothing at all is stuck.
        const used = cpu.icount - before;
        left -= Math.max(1, used);
        this.turnLeft -= used;
        this.syncDevices();
        if (this.exitStatus >= 0) return this.finish('exit');
        if (this.resetRequested) return this.finish('reset');
        if (cpu.stopReason === StopReason.TripleFault) return this.finish('triple-fault');
        const stuck = cpu.icount === before && !cpu.halted && cpu.stopReason === StopReason.None;
        this.stuck[k] = stuck ? this.stuck[k] + steps : 0;
        if (this.stuck[k] >= SLICE) return this.finish('exception-loop');
        if (cpu.stopReason !== StopReason.None) return undefined;
        if (!cpu.halted && this.turnLeft > 0) continue;
      }
      this.turn = (k + 1) % this.cpus.length;
      this.turnLeft = QUANTUM;
      turnsEnded++;
    }
    return this.idleWhileAllHalt();
  }

  /** With several processors, after a round: skips time while all of them halt (runRound). */
  private idleWhileAllHalt(): RunResult | undefined {
    if (this.cpus.some((cpu, k) => !cpu.halted && !this.processors.waitingForSipi[k])) { this.idleSince = -1; return undefined; }
    if (this.interruptWakes()) { this.idleSince = -1; return undefined; }
    const wakeable = this.cpus.some((cpu, k) => !this.processors.waitingForSipi[k] && (cpu.flags & FLAG_IF) !== 0);
    const next = this.nextDeviceEventNs();
    if (!wakeable || next === Infinity) return this.finish('halt');
    if (next > this.nowNs()) this.idleNs += next - this.nowNs();
    this.syncDevices();
    if (this.interruptWakes()) this.idleSince = -1;
    else if (this.idleSince < 0) this.idleSince = this.nowNs();
    else if (this.nowNs() - this.idleSince > MAX_IDLE_NS) return this.finish('halt');
    return undefined;
  }

  /** Whether an interrupt is pending for a halted processor that takes interrupts (leaves processor 0 running). */
  private interruptWakes(): boolean {
    let wakes = false;
    for (let k = 0; k < this.cpus.length && !wakes; k++) {
      this.current = k;
      wakes = !this.processors.waitingForSipi[k] && (this.cpus[k].flags & FLAG_IF) !== 0 && this.intrPending();
    }
    this.current = 0;
    return wakes;
  }

  /**
   * Waits as a hypervisor waits for a halted virtual CPU (src/vmm/hw): virtual time skips from
   * one device event to the next until an interrupt reaches the CPU's INTR. False when none
   * comes within MAX_IDLE_NS (or no device event is due at all): the CPU sleeps for good.
   */
  idleUntilInterrupt(): boolean {
    this.syncDevices();
    const start = this.nowNs();
    while (!this.intrPending()) {
      const next = this.nextDeviceEventNs();
      if (next === Infinity || next - start > MAX_IDLE_NS) return false;
      this.idleNs += Math.max(1, next - this.nowNs());
      this.syncDevices();
    }
    return true;
  }

  private finish(reason: HaltReason): RunResult {
    const cpu = this.running;
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
        message = `instruction limit of ${this.instructions()} reached ${at}`;
    }
    return { haltReason: reason, exitCode, instructions: this.instructions(), eip: eip >>> 0, message };
  }
}
