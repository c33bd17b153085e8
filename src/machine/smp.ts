/**
 * Several processors on one PC, as `qemu-system-i386 -smp N` has them: N cores of one package
 * (QEMU 7.2 counts -smp N as cores), APIC IDs 0..N-1, processor 0 the bootstrap processor.
 *
 * This module carries the interprocessor interrupts between their local APICs (the APIC bus of
 * SDM Vol. 3A, 10.6): fixed IPIs to other processors, and INIT and STARTUP IPIs, which start an
 * application processor in real mode (processorInit.ts). It also holds each processor's CPUID
 * model, which tells the processor its APIC ID and the package its size.
 *
 * The application processors start the way SeaBIOS leaves them: it has sent them INIT and
 * STARTUP to count them, and they sit halted with interrupts disabled. A kernel starts them
 * with INIT, then STARTUP (a STARTUP IPI reaches only a processor waiting for one, SDM 8.4.4).
 * An INIT resets the processor and its local APIC, which keeps its APIC ID (SDM 10.4.7.3).
 */
import type { Cpu } from '../cpu/cpu';
import type { CpuidRegisters, CpuModel } from '../cpu/cpuid';
import { initProcessor, startupProcessor } from '../cpu/processorInit';
import { type ApicMessage, DeliveryMode, LocalApic, type IpiRecord } from './localApic';

export const MAX_CPUS = 8;

/** CPUID.01H:EDX bit 28: more than one logical processor in the package. */
const CPUID_EDX_HTT = 1 << 28;

const ICR_LOW = 0x300;
const APIC_ID = 0x20;

/** Destination shorthands of the ICR (SDM figure 10-12). */
const SELF = 1, ALL_INCLUDING_SELF = 2, ALL_EXCLUDING_SELF = 3;

/**
 * The CPUID model of processor `apicId` of `count` cores, as QEMU 7.2 builds its leaves: APIC
 * ID in CPUID.01H:EBX[31:24] and, with more than one core, their count in EBX[23:16] with
 * EDX.HTT set, and leaf 4's cores-per-package field (EAX[31:26]) and, for the L3 cache shared
 * by all cores, its sharing count (EAX[25:14]). Checked against QEMU by test/machine/smp.test.ts.
 */
export function smpCpuModel(base: CpuModel, apicId: number, count: number): CpuModel {
  if (count === 1) return base;
  const leaves = new Map(base.fixedLeaves);
  const caches = base.fixedLeaves.get(4) as readonly CpuidRegisters[];
  leaves.set(4, caches.map(([eax, ebx, ecx, edx]) => {
    const shared = ((eax >>> 5) & 7) === 3 ? (count - 1) << 14 : 0;
    return [(eax | ((count - 1) << 26) | shared) >>> 0, ebx, ecx, edx] as const;
  }));
  return {
    ...base,
    leaf1Ebx: (base.leaf1Ebx | (apicId << 24) | (count << 16)) >>> 0,
    featuresEdx: (base.featuresEdx | CPUID_EDX_HTT) >>> 0,
    fixedLeaves: leaves,
  };
}

export type ProcessorsState = ReturnType<Processors['saveState']>;

/**
 * Who takes INIT and STARTUP for the processors: by default the processors themselves (they
 * reset, and start in real mode). A VMM that runs each processor as a virtual CPU is told
 * after the processor's state changed, so it can take over from there.
 */
export interface StartupObserver {
  /** Processor `k` took an INIT: it waits for a STARTUP IPI. */
  initialized(k: number): void;
  /** Processor `k` took a STARTUP IPI: it is in real mode at the page the vector names. */
  started(k: number): void;
}

export class Processors {
  /** Processors in the wait-for-SIPI state (after INIT): they do not run. */
  readonly waitingForSipi: boolean[];
  observer: StartupObserver | undefined = undefined;

  constructor(readonly cpus: readonly Cpu[], readonly lapics: readonly LocalApic[]) {
    this.waitingForSipi = cpus.map(() => false);
    lapics.forEach((lapic, k) => {
      if (k !== 0) lapic.write(APIC_ID, 4, k << 24);
    });
  }

  /** Starts taking INIT and STARTUP IPIs (after the firmware's own, which found the processors). */
  connect(): void {
    this.lapics.forEach((lapic, k) => { lapic.onIpi = (ipi) => this.startupIpi(k, ipi); });
  }

  /** The application processors as SeaBIOS leaves them: halted with interrupts disabled. */
  parkApplicationProcessors(): void {
    for (let k = 1; k < this.cpus.length; k++) {
      const cpu = this.cpus[k];
      cpu.code.invalidateAll();
      initProcessor(cpu);
      cpu.halted = true;
      this.waitingForSipi[k] = false;
    }
  }

  /**
   * Processor `from` wrote its ICR: a fixed IPI also goes to the other processors it names
   * (the local APIC delivers to itself); a lowest-priority one goes to one processor of all it
   * names, the sender included unless it excluded itself (its local APIC leaves that choice to
   * the bus, LocalApic.sharesBus).
   */
  icrWritten(from: number, offset: number): void {
    if ((offset & 0xff0) !== ICR_LOW) return;
    const { icrLow, icrHigh } = this.lapics[from].registers();
    const mode = (icrLow >>> 8) & 7, vector = icrLow & 0xff, shorthand = (icrLow >>> 18) & 3;
    if ((mode !== DeliveryMode.Fixed && mode !== DeliveryMode.LowestPriority) || vector < 16 || shorthand === SELF) return;
    const broadcast = shorthand === ALL_INCLUDING_SELF || shorthand === ALL_EXCLUDING_SELF;
    const message: ApicMessage = {
      vector, mode, levelTriggered: (icrLow & (1 << 15)) !== 0,
      logical: !broadcast && (icrLow & (1 << 11)) !== 0, destination: broadcast ? 0xff : icrHigh >>> 24,
    };
    if (mode === DeliveryMode.LowestPriority) this.deliverLowestPriority(message, shorthand === ALL_EXCLUDING_SELF ? from : -1);
    else this.lapics.forEach((lapic, k) => { if (k !== from) lapic.receive(message); });
  }

  /** A message from the I/O APIC: to every local APIC it names, or to one if lowest priority. */
  deliver(message: ApicMessage): void {
    if (message.mode === DeliveryMode.LowestPriority) this.deliverLowestPriority(message, -1);
    else for (const lapic of this.lapics) lapic.receive(message);
  }

  /**
   * A lowest-priority message reaches one of its destinations (processor `excluded` aside): the
   * one with the lowest TPR, ties going to the first processor (lowest initial APIC ID). This
   * is the SDM's rule for the Pentium 4 and Xeon (Vol. 3A, 10.6.2.4), whose chipset picks the
   * processor of lowest task priority; their local APIC, like this one, has no arbitration
   * priority register and no focus processor (the P6 family's rule). With equal TPRs the SDM
   * says the interrupt may always go to the same processor of the set: here the first one, as
   * in QEMU. QEMU 7.2 differs when the TPRs do (hw/intc/apic.c, apic_bus_deliver): it
   * delivers to the lowest-numbered APIC of the set whatever its priority.
   */
  private deliverLowestPriority(message: ApicMessage, excluded: number): void {
    let chosen: LocalApic | undefined;
    for (let k = 0; k < this.lapics.length; k++) {
      const lapic = this.lapics[k];
      if (k === excluded || !lapic.isDestination(message.destination, message.logical)) continue;
      if (chosen === undefined || lapic.taskPriority < chosen.taskPriority) chosen = lapic;
    }
    chosen?.receive(message);
  }

  /** INIT and STARTUP IPIs sent by processor `from`. */
  private startupIpi(from: number, ipi: IpiRecord): void {
    if (ipi.mode !== DeliveryMode.Init && ipi.mode !== DeliveryMode.Startup) return;
    if (ipi.deassert) return;   // INIT level de-assert only synchronizes arbitration IDs
    for (let k = 0; k < this.cpus.length; k++) {
      if (k === from || !this.isTarget(k, ipi)) continue;
      if (ipi.mode === DeliveryMode.Init) this.init(k);
      else if (this.waitingForSipi[k]) {
        startupProcessor(this.cpus[k], ipi.vector);
        this.waitingForSipi[k] = false;
        this.observer?.started(k);
      }
    }
  }

  private isTarget(k: number, ipi: IpiRecord): boolean {
    if (ipi.shorthand === ALL_INCLUDING_SELF || ipi.shorthand === ALL_EXCLUDING_SELF) return true;
    if (ipi.shorthand === SELF) return false;
    const { id, ldr, dfr } = this.lapics[k].registers();
    if (!ipi.logical) return ipi.destination === 0xff || ipi.destination === id;
    if (dfr === 0xf) return (ipi.destination & ldr) !== 0;
    return (ipi.destination === 0xff || (ipi.destination >>> 4) === (ldr >>> 4)) && (ipi.destination & ldr & 0xf) !== 0;
  }

  private init(k: number): void {
    const cpu = this.cpus[k], lapic = this.lapics[k];
    initProcessor(cpu);
    this.waitingForSipi[k] = true;
    const id = lapic.registers().id;
    lapic.loadState({ ...RESET_APIC_STATE, nowNs: lapic.saveState().nowNs });
    lapic.write(APIC_ID, 4, id << 24);
    this.observer?.initialized(k);
  }

  saveState() { return { waitingForSipi: [...this.waitingForSipi] }; }

  loadState(state: ProcessorsState): void {
    state.waitingForSipi.forEach((w, k) => { this.waitingForSipi[k] = w; });
  }
}

/** A local APIC's power-up state (what INIT restores, but for the APIC ID). */
const RESET_APIC_STATE = new LocalApic(() => 0, () => {}).saveState();
