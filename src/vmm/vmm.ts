/**
 * A virtual machine monitor over the emulated PC: it owns the Machine (and, in the software
 * modes, ring 0 of its CPU), runs one guest in one of DESIGN.md's modes, logs every event it
 * handles and charges emulated cycles for it.
 *
 * Every mode gets the same machine: the guest's RAM is what `memoryMiB` says and the VMM's
 * own tables live in RAM above it that the guest is never told of, so a kernel printing its
 * Multiboot memory map prints the same thing in every mode.
 */
import type { Cpu } from '../cpu/cpu';
import { StopReason } from '../cpu/cpu';
import type { Monitor } from '../cpu/monitor';
import { EXIT_VMM_STOP, Machine, type RunResult } from '../machine/machine';
import { Accounting } from './accounting';
import { DEFAULT_COST_PRESET, findCostPreset, COST_PRESETS, type CostPreset } from './costModel';
import { ExitLog, hex8, type Reason } from './exitLog';
import { VmmStop } from './guestMemory';
import { HoleLog } from './holeLog';
import { HwMonitor } from './hw/hwMonitor';
import type { MemVirtName } from './hw/memoryVirtualization';
import { NativeMonitor } from './native';
import { BtMonitor } from './bt/btMonitor';
import { RealModeStartup } from './processorStartup';
import { ShadowCoherence } from './shadow/shadowPageTables';
import { PvMonitor } from './pv/pvMonitor';
import { TrapMonitor } from './trap/trapMonitor';
import { VMM_RESERVED_MIB, VmmMemory } from './vmmMemory';

export const MODE_NAMES = ['native', 'trap', 'bt', 'pv', 'hw'] as const;
export type ModeName = (typeof MODE_NAMES)[number];

/** A mode the VMM cannot run (yet), or a cost preset it does not know. */
export class VmmConfigError extends Error {
  override readonly name = 'VmmConfigError';
}

/**
 * What a mode plugs into one processor, and how it takes the guest over: each processor has a
 * monitor of its own (a virtual CPU), as each vCPU had its own monitor under VMware and its
 * own VMCS under KVM; the VMM's memory pool, exit log and accounting are shared.
 */
export interface ModeMonitor extends Monitor {
  /** The bootstrap processor, after each load: deprivilege the guest, build the VMM's tables. */
  start(): void;
  /**
   * An application processor to take over as it is: after the VMM emulated its real mode up
   * to CR0.PE (processorStartup.ts), or at its STARTUP if the monitor runs real mode itself.
   */
  startProcessor?(): void;
  /** The monitor runs a guest in real mode (hw with the unrestricted guest): no emulation needed. */
  readonly runsRealMode?: boolean;
  /** The processor took an INIT: what the monitor held of it is gone (it starts again at STARTUP). */
  reset?(): void;
  /** The processor stopped into the VMM with a VM exit (hw). */
  vmExit?(): void;
}

export interface VmmOptions {
  /** Guest RAM in MiB (default 64). */
  memoryMiB?: number;
  /** Processors of the machine (default 1); more than one in every mode but pv. */
  cpus?: number;
  /** Cost preset name (costModel.ts); default DEFAULT_COST_PRESET. */
  costModel?: string;
  /**
   * Count cycles in native mode, where this puts a monitor on the CPU that only charges the
   * instruction-cost table (default true). Without it native runs exactly as a bare Machine.
   */
  accounting?: boolean;
  /** How `hw` virtualizes memory: EPT or shadow page tables (default: EPT if the cost preset's processor has it). */
  memVirt?: MemVirtName;
}

export interface VmmRunResult extends RunResult {
  mode: ModeName;
  cycles: number;
  /** Events the VMM handled. */
  events: number;
}

/** The monitor of processor `k`. */
function monitorFor(mode: ModeName, vmm: Vmm, k: number, accounting: boolean, memVirt: MemVirtName): ModeMonitor | undefined {
  switch (mode) {
    case 'native': return accounting ? new NativeMonitor(vmm) : undefined;
    case 'trap': return new TrapMonitor(vmm, k);
    case 'bt': return new BtMonitor(vmm, k);
    case 'pv': return new PvMonitor(vmm);
    case 'hw': return new HwMonitor(vmm, k, memVirt);
  }
}

export class Vmm {
  readonly machine: Machine;
  readonly cpu: Cpu;
  readonly log: ExitLog;
  readonly holes = new HoleLog();
  readonly accounting: Accounting;
  readonly costs: CostPreset;
  /** Every processor's shadow page tables, kept coherent (trap, bt, hw with shadow paging). */
  readonly shadows = new ShadowCoherence();
  /** The VMM's own RAM, in the modes that deprivilege the guest. */
  readonly memory: VmmMemory | undefined;
  /** Each processor's monitor (undefined in native mode without accounting); new ones at each load after the first. */
  monitors: readonly (ModeMonitor | undefined)[];
  /** Application processors whose real-mode start the VMM is emulating (processorStartup.ts). */
  private readonly startups: (RealModeStartup | undefined)[];
  private stopMessage: string | undefined = undefined;
  /** What the monitors are made with: VmmOptions.accounting and the memory virtualization of `hw`. */
  private readonly accountingNative: boolean;
  private readonly memVirt: MemVirtName;
  private loaded = false;

  constructor(readonly mode: ModeName, opts: VmmOptions = {}) {
    const preset = findCostPreset(opts.costModel ?? DEFAULT_COST_PRESET);
    if (preset === undefined) {
      throw new VmmConfigError(`unknown cost model '${opts.costModel}' (the presets are ${COST_PRESETS.map((p) => p.name).join(', ')})`);
    }
    this.costs = preset;
    const deprivileged = mode !== 'native';
    if ((opts.cpus ?? 1) > 1 && mode === 'pv') {
      throw new VmmConfigError('pv runs one virtual CPU: its hypercall interface has no call that starts another');
    }
    this.machine = new Machine({ memoryMiB: opts.memoryMiB, cpus: opts.cpus, hostReservedMiB: deprivileged ? VMM_RESERVED_MIB : 0 });
    this.cpu = this.machine.cpu;
    this.log = new ExitLog(mode);
    this.accounting = new Accounting(this.machine);
    this.memory = deprivileged ? VmmMemory.create(this.machine) : undefined;
    this.accountingNative = opts.accounting ?? true;
    this.memVirt = opts.memVirt ?? (preset.ept ? 'ept' : 'shadow');
    this.monitors = this.newMonitors();
    this.startups = this.machine.cpus.map(() => undefined);
  }

  /** The bootstrap processor's monitor: a debugger reads its state. */
  get monitor(): ModeMonitor | undefined { return this.monitors[0]; }

  private newMonitors(): (ModeMonitor | undefined)[] {
    return this.machine.cpus.map((_, k) => monitorFor(this.mode, this, k, this.accountingNative, this.memVirt));
  }

  /**
   * Loads a Multiboot image as the loader would, then lets the mode take the guest over. A
   * guest loaded again gets new monitors: nothing one learned of the guest before (its
   * translations, shadows, virtual CPU, VMX pages) survives into the new run.
   */
  load(image: Uint8Array, opts: { cmdline?: string; fileName?: string } = {}): void {
    if (this.loaded) this.monitors = this.newMonitors();
    this.loaded = true;
    this.machine.load(image, opts);
    const m = this.monitor;
    if (m === undefined) return;
    this.stopMessage = undefined;
    this.memory?.reset();
    this.shadows.reset();
    this.startups.fill(undefined);
    const cpus = this.machine.cpus;
    // Native application processors run as they are; under a VMM each waits for its STARTUP.
    cpus.forEach((cpu, k) => { cpu.monitor = k === 0 || this.mode === 'native' ? this.hook(this.monitors[k]!) : undefined; });
    if (this.memory !== undefined) this.machine.processors.observer = { initialized: (k) => this.initialized(k), started: (k) => this.started(k) };
    this.machine.onVmExit = () => this.vmExit();
    this.guard(() => m.start());
    for (const cpu of cpus) cpu.code.invalidateAll();
  }

  /** Runs until the guest ends, the VMM stops it or the budget runs out. */
  run(opts: { maxInstructions?: number } = {}): VmmRunResult {
    const limit = opts.maxInstructions ?? Number.MAX_SAFE_INTEGER;
    for (;;) {
      const r = this.runSlice(limit - this.machine.instructions());
      if (r !== undefined) return r;
    }
  }

  /** At most `budget` instructions of `run` (as Machine.runSlice): the end of the run, or undefined if the guest can go on. */
  runSlice(budget: number): VmmRunResult | undefined {
    const r = this.stopMessage === undefined ? this.machine.runSlice(budget) : undefined;
    if (this.stopMessage !== undefined) return this.result(this.stopped());
    return r === undefined ? undefined : this.result(r);
  }

  /** Ends the run at the next instruction boundary with `message` (exit status EXIT_VMM_STOP). */
  stop(message: string): void {
    this.stopMessage ??= message;
    this.machine.running.requestStop(StopReason.Requested, message);
  }

  /** Records an event the VMM handled on the running processor and charges its cost. */
  event(reason: Reason, cost: number, a = 0, b = 0, c = 0, d = 0): void {
    this.accounting.eventCycles += cost;
    const m = this.machine, cpu = m.running;
    this.log.record(reason, cpu.icount, this.accounting.cycles(), m.runningIndex, cpu.eipStart, cpu.cpl, cost, a, b, c, d);
  }

  cycles(): number { return this.accounting.cycles(); }

  /** Forgets what the VMM recorded of the run (exit log, holes, cycles), for a run that starts again from the launch. */
  clearRecords(): void {
    this.log.clear();
    this.holes.clear();
    this.accounting.clear();
  }

  /** The CPU hook for monitor `m`: a VMM stop inside it ends the run instead of escaping the CPU. */
  private hook(m: Monitor): Monitor {
    return {
      intercept: (cpu, vector, kind, errorCode, hasErrorCode) => {
        try {
          return m.intercept(cpu, vector, kind, errorCode, hasErrorCode);
        } catch (e) {
          if (!(e instanceof VmmStop)) throw e;
          this.stop(e.message);
          return true;
        }
      },
      translate: m.translate?.bind(m),
      blockDecoded: m.blockDecoded?.bind(m),
    };
  }

  /** Runs `f`, turning a VMM stop into the end of the run. */
  private guard(f: () => void): void {
    try {
      f();
    } catch (e) {
      if (!(e instanceof VmmStop)) throw e;
      this.stop(e.message);
    }
  }

  /** Application processor `k` took an INIT: its monitor lets it go; it waits for STARTUP. */
  private initialized(k: number): void {
    const cpu = this.machine.cpus[k];
    cpu.monitor = undefined;
    this.startups[k] = undefined;
    this.monitors[k]!.reset?.();
    cpu.code.invalidateAll();
  }

  /** Application processor `k` took a STARTUP IPI: its monitor takes it in real mode, or the VMM emulates that. */
  private started(k: number): void {
    const cpu = this.machine.cpus[k], m = this.monitors[k]!;
    if (m.runsRealMode === true) {
      cpu.monitor = this.hook(m);
      this.guard(() => m.startProcessor?.());
    } else {
      const startup = new RealModeStartup(this);
      this.startups[k] = startup;
      cpu.monitor = this.hook(startup);
    }
    cpu.code.invalidateAll();
  }

  /** The running processor stopped into the VMM: its real-mode start ended, or a VM exit. */
  private vmExit(): void {
    const k = this.machine.runningIndex, cpu = this.machine.cpus[k], m = this.monitors[k]!;
    if (this.startups[k]?.ended === true) {
      this.startups[k] = undefined;
      cpu.monitor = this.hook(m);
      cpu.code.invalidateAll();
      this.guard(() => m.startProcessor?.());
      return;
    }
    m.vmExit?.();
  }

  private stopped(): RunResult {
    const cpu = this.machine.running;
    const eip = cpu.eipStart >>> 0;
    return {
      haltReason: 'vmm-stop', exitCode: EXIT_VMM_STOP, instructions: this.machine.instructions(), eip,
      message: `${this.mode}: ${this.stopMessage} (stopped at EIP ${hex8(eip)})`,
    };
  }

  private result(r: RunResult): VmmRunResult {
    return { ...r, mode: this.mode, cycles: this.cycles(), events: this.log.eventCount };
  }
}

export function createVmm(mode: ModeName, opts: VmmOptions = {}): Vmm {
  return new Vmm(mode, opts);
}
