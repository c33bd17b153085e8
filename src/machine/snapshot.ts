/**
 * Snapshots of a whole Machine, for reverse execution: every processor with its internal state
 * (lazy flags, descriptor caches, interrupt shadows, MSRs, VMX state and both TLBs, so that a
 * restored machine runs the same instructions with the same results), RAM, and the devices
 * with the machine's own run state (Machine.saveState: with several processors, the round-robin
 * schedule too: whose turn it is, how much of it is left, which processor runs, which wait for
 * a STARTUP IPI). Since the machine is deterministic, restoring a snapshot and running N
 * instructions reproduces the state N instructions after it was taken.
 *
 * RAM is kept as 4 KiB pages; a page equal to the same page of the snapshot taken before is
 * shared with it rather than copied, so a snapshot costs the pages written since the last one.
 *
 * The CPU's numbers, booleans and strings are saved whatever their names, so a field added to
 * Cpu is saved too; an object on the CPU that has `saveState()` and `loadState()` (a unit with
 * state of its own) is saved through them.
 */
import { StopReason, type Cpu } from '../cpu/cpu';
import type { Tlb } from '../cpu/tlb';
import type { Machine, MachineState } from './machine';

const PAGE = 4096;
/** What every page of a snapshot without a predecessor is compared with. */
const ZERO_PAGE = new Uint8Array(PAGE);

type Scalars = Record<string, number | boolean | string>;

/** The CPU fields held in typed arrays (the rest of its state is numbers, booleans and strings). */
const CPU_ARRAYS = ['regs', 'segSel', 'segBase', 'segLimit', 'segAR', 'segLo', 'segHiRead', 'segHiWrite', 'dr'] as const;
type CpuArrays = { [K in (typeof CPU_ARRAYS)[number]]: Cpu[K] };

interface TlbState { pages: Int32Array; entries: Int32Array }

/** What the CPU refers to without owning: the machine around it, a VMM, the decoded-code cache. */
const NOT_CPU_STATE = new Set(['bus', 'monitor', 'code']);

/** A part of the CPU that saves its own state. */
interface StateOwner { saveState(): unknown; loadState(state: unknown): void }

function isStateOwner(v: unknown): v is StateOwner {
  return typeof v === 'object' && v !== null && typeof (v as StateOwner).saveState === 'function' &&
    typeof (v as StateOwner).loadState === 'function';
}

interface CpuState {
  scalars: Scalars;
  arrays: CpuArrays;
  faultChain: string[];
  msrs: Scalars;
  vmx: Scalars;
  vmxExit: Scalars;
  cr3Targets: Int32Array;
  tlb: TlbState;
  eptTlb: TlbState;
  owners: Record<string, unknown>;
}

export interface MachineSnapshot {
  /** Instructions retired by all processors together when it was taken (Machine.instructions()). */
  readonly icount: number;
  readonly cpu: CpuState;
  /** The application processors, with several (Machine.cpus after the first). */
  readonly aps: readonly CpuState[];
  /** RAM, one array per 4 KiB page (never written after the snapshot is made). */
  readonly pages: readonly Uint8Array[];
  readonly devices: MachineState;
  /** Bytes of RAM copied for this snapshot: the pages it does not share with its predecessor. */
  readonly ownBytes: number;
}

/** The own fields of `obj` that hold numbers, booleans or strings. */
function scalars(obj: object): Scalars {
  const out: Scalars = {};
  for (const [name, v] of Object.entries(obj)) {
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') out[name] = v;
  }
  return out;
}

function saveTlb(tlb: Tlb): TlbState {
  const pages: number[] = [], entries: number[] = [];
  const e = tlb.entries;
  for (let p = 0; p < e.length; p++) if (e[p] !== 0) { pages.push(p); entries.push(e[p]); }
  return { pages: Int32Array.from(pages), entries: Int32Array.from(entries) };
}

function loadTlb(tlb: Tlb, state: TlbState): void {
  tlb.flush(false);   // also moves the epoch on, so no block chain made before survives
  for (let k = 0; k < state.pages.length; k++) tlb.set(state.pages[k], state.entries[k]);
}

function saveCpu(cpu: Cpu): CpuState {
  const arrays = {} as Record<string, unknown>;
  for (const name of CPU_ARRAYS) arrays[name] = cpu[name].slice();
  return {
    scalars: scalars(cpu),
    arrays: arrays as CpuArrays,
    faultChain: [...cpu.faultChain],
    msrs: scalars(cpu.msrBank),
    vmx: scalars(cpu.vmx),
    vmxExit: scalars(cpu.vmx.exit),
    cr3Targets: cpu.vmx.cr3Targets.slice(),
    tlb: saveTlb(cpu.tlb),
    eptTlb: saveTlb(cpu.vmx.eptTlb),
    owners: Object.fromEntries(Object.entries(cpu)
      .filter(([name, v]) => !NOT_CPU_STATE.has(name) && isStateOwner(v))
      .map(([name, v]) => [name, (v as StateOwner).saveState()])),
  };
}

function loadCpu(cpu: Cpu, s: CpuState): void {
  Object.assign(cpu, s.scalars);
  for (const name of CPU_ARRAYS) cpu[name].set(s.arrays[name]);
  cpu.faultChain = [...s.faultChain];
  Object.assign(cpu.msrBank, s.msrs);
  Object.assign(cpu.vmx, s.vmx);
  Object.assign(cpu.vmx.exit, s.vmxExit);
  cpu.vmx.cr3Targets.set(s.cr3Targets);
  loadTlb(cpu.tlb, s.tlb);
  loadTlb(cpu.vmx.eptTlb, s.eptTlb);
  const parts = cpu as unknown as Record<string, StateOwner>;
  for (const [name, state] of Object.entries(s.owners)) parts[name].loadState(state);
  // How the run loop last stopped belongs to the debugger's run, not to the machine.
  cpu.stopReason = StopReason.None;
  cpu.stopMessage = '';
  cpu.resumeIcount = -1;
  cpu.leaveBlock = false;
}

function ramBuffer(machine: Machine): Buffer {
  const ram = machine.ram;
  return Buffer.from(ram.buffer, ram.byteOffset, ram.length);
}

/** Saves the machine; pages equal to those of `previous` are shared with it. */
export function takeSnapshot(machine: Machine, previous?: MachineSnapshot): MachineSnapshot {
  const ram = ramBuffer(machine);
  const count = ram.length / PAGE;
  const pages = new Array<Uint8Array>(count);
  let ownBytes = 0;
  for (let p = 0; p < count; p++) {
    const start = p * PAGE;
    const before = previous?.pages[p] ?? ZERO_PAGE;
    if (ram.compare(before, 0, PAGE, start, start + PAGE) === 0) {
      pages[p] = before;
    } else {
      pages[p] = machine.ram.slice(start, start + PAGE);
      ownBytes += PAGE;
    }
  }
  return {
    icount: machine.instructions(), cpu: saveCpu(machine.cpu), aps: machine.cpus.slice(1).map(saveCpu), pages,
    devices: machine.saveState(), ownBytes,
  };
}

/**
 * Puts the machine back in the state of `s`. Only pages that differ are written, and decoded
 * code on them is dropped (blocks elsewhere still match the bytes they were decoded from).
 */
export function restoreSnapshot(machine: Machine, s: MachineSnapshot): void {
  const cpu = machine.cpu;
  const ram = ramBuffer(machine);
  if (s.pages.length * PAGE !== ram.length) {
    throw new RangeError(`snapshot of ${s.pages.length * PAGE} bytes of RAM does not fit a machine with ${ram.length}`);
  }
  for (let p = 0; p < s.pages.length; p++) {
    const start = p * PAGE;
    if (ram.compare(s.pages[p], 0, PAGE, start, start + PAGE) === 0) continue;
    machine.ram.set(s.pages[p], start);
    if (cpu.codePages[p] !== 0) cpu.code.invalidatePage(p);
  }
  loadCpu(cpu, s.cpu);
  s.aps.forEach((state, k) => loadCpu(machine.cpus[k + 1], state));
  machine.loadState(s.devices);
}
