/**
 * `pv`: paravirtualization in the manner of Xen. The guest kernel is written for ring 1: it
 * calls the VMM with `int 0x82` (EAX = hypercall number, EBX ECX EDX ESI EDI = arguments,
 * EAX = result or negative errno) instead of executing privileged instructions, names its
 * handlers and kernel stack with hypercalls instead of loading an IDT and a TSS, changes its
 * own page tables (which the processor uses directly) through the VMM, masks events in
 * shared memory instead of with CLI, and prints on the VMM's console.
 *
 * At entry the guest has what a Multiboot loader gives (EAX = 0x2BADB002, EBX = the MBI), in
 * ring 1 on the flat FLAT_RING1 segments, with paging on through the VMM's identity mapping
 * of its RAM, and ESI = the start_info page, mapped with shared_info just above its RAM.
 * An unmodified kernel stops at its first privileged instruction, named with its address.
 */
import type { Cpu } from '../../cpu/cpu';
import { decodeFrom } from '../../cpu/decoder';
import { disassemble } from '../../cpu/disasm';
import { describeException, EXCEPTION_MNEMONICS, GP, PF } from '../../cpu/exceptions';
import { Insn } from '../../cpu/insn';
import { EventKind } from '../../cpu/interrupts';
import {
  CR0_ET, CR0_PE, CR0_PG, CR0_WP, CS, DS, EAX, EBX, ECX, EDI, EDX, ES, ESI, FLAG_IF, FLAG_IOPL, FS, GS, SS,
} from '../../cpu/registers';
import { hex8, type Qualifier } from '../exitLog';
import { GuestFault, GuestMemory, VmmStop, type GuestControl } from '../guestMemory';
import { descriptor, installSystemTables, writeGdtEntry } from '../systemTables';
import { emulatorFor } from '../trap/emulate';
import type { ModeMonitor, Vmm } from '../vmm';
import { GUEST_LINEAR_LIMIT, VMM_PDE_INDEX, type VmmMemory } from '../vmmMemory';
import { bounce, loadVmmSegment } from './bounce';
import { EventChannels, IRQ_BASE } from './eventChannels';
import { hypercall } from './hypercalls';
import {
  ENOSYS, EFAULT, FLAT_RING1_CS, FLAT_RING1_DS, FLAT_RING3_CS, FLAT_RING3_DS, HYPERCALL_VECTOR, SI_CMD_LINE,
  SI_NR_PAGES, SI_NR_PT_FRAMES, SI_PT_BASE, SI_SHARED_INFO, START_INFO_MAGIC, VCPU_CR2, VIRQ_TIMER,
} from './xenAbi';

export interface TrapEntry { cs: number; eip: number; dpl: number; maskEvents: boolean }

const PTE_P = 1, PTE_RW = 2, PTE_US = 4;
const PAGE = 4096;

/** The processor's paging registers, which under direct paging are the guest's. */
class ProcessorPaging implements GuestControl {
  constructor(private readonly cpu: Cpu) {}
  get cr0(): number { return this.cpu.cr0; }
  get cr3(): number { return this.cpu.cr3; }
  get cr4(): number { return this.cpu.cr4; }
}

const NO_ARGS: readonly string[] = [];
/** A hypercall's first three arguments by name, and its result. */
const qualifiers = new Map<readonly string[], Qualifier>();
function qualifierFor(call: string, names: readonly string[]): Qualifier {
  let q = qualifiers.get(names);
  if (q === undefined) {
    q = (a, b, c, result) => {
      const args = [a, b, c].slice(0, names.length).map((v, k) => `${names[k]}=0x${(v >>> 0).toString(16)}`);
      return `${call}(${args.join(', ')}${names.length > 3 ? ', ...' : ''}) = ${result}`;
    };
    qualifiers.set(names, q);
  }
  return q;
}
const bounceQualifier: Qualifier = (vector, handler) =>
  `vector 0x${vector.toString(16)} to the guest's handler at ${hex8(handler)}`;
const timerQualifier: Qualifier = (port) => (port >= 0 ? `timer expired: event on port ${port}` : 'timer not expired yet: re-armed');

export class PvMonitor implements ModeMonitor {
  readonly cpu: Cpu;
  readonly memory: VmmMemory;
  mem!: GuestMemory;
  events!: EventChannels;
  /** The guest's trap table (set_trap_table). */
  readonly traps: (TrapEntry | undefined)[] = new Array(256).fill(undefined);
  /** The kernel stack for events from user code (stack_switch). */
  kernelSs = 0;
  kernelEsp = 0;
  eventCallback: { cs: number; eip: number } | undefined = undefined;
  /** Physical addresses of the pages the VMM lends the guest. */
  private startInfo = 0;
  private sharedInfo = 0;
  private readonly args = new Int32Array(5);
  private readonly insn = new Insn(() => undefined);

  constructor(readonly vmm: Vmm) {
    this.cpu = vmm.cpu;
    this.memory = vmm.memory!;
  }

  /** Guest RAM, which the guest may map and name in hypercalls. */
  isGuestRam(phys: number): boolean { return (phys >>> 0) < this.vmm.machine.guestRamBytes; }

  /** May the guest map the frame at `phys`? Its RAM, the legacy window, and the two lent pages. */
  mayMap(phys: number): boolean {
    return !this.memory.owns(phys) || phys === this.startInfo || phys === this.sharedInfo;
  }

  start(): void {
    const cpu = this.cpu, vm = this.memory;
    this.traps.fill(undefined);
    this.kernelSs = 0; this.kernelEsp = 0; this.eventCallback = undefined;
    installSystemTables(cpu, vm);
    // Flat 4 KiB-granular 32-bit segments ending below the VMM's region; access bytes: present,
    // DPL 1 or 3, code (execute/read) or data (read/write).
    const flat = (access: number): [number, number] => descriptor(0, (GUEST_LINEAR_LIMIT >>> 12), access, 0xc);
    writeGdtEntry(vm, FLAT_RING1_CS >> 3, ...flat(0xba));
    writeGdtEntry(vm, FLAT_RING1_DS >> 3, ...flat(0xb2));
    writeGdtEntry(vm, FLAT_RING3_CS >> 3, ...flat(0xfa));
    writeGdtEntry(vm, FLAT_RING3_DS >> 3, ...flat(0xf2));
    cpu.setCpl(1);
    loadVmmSegment(this, CS, FLAT_RING1_CS, true, 1);
    for (const seg of [ES, SS, DS, FS, GS]) loadVmmSegment(this, seg, FLAT_RING1_DS, false, 1);
    // The VMM takes the machine's interrupts; the guest's own mask is in shared_info.
    cpu.flags = (cpu.flags & ~FLAG_IOPL) | FLAG_IF;

    this.startInfo = this.allocate();
    this.sharedInfo = this.allocate();
    const directory = this.buildInitialTables();
    cpu.cr0 = CR0_PE | CR0_ET | CR0_PG | CR0_WP;
    cpu.cr3 = directory;
    cpu.cr4 = 0;
    cpu.tlb.flush(false);
    this.mem = new GuestMemory(cpu, new ProcessorPaging(cpu), (p) => !this.mayMap(p));
    this.events = new EventChannels(this.vmm.machine, cpu, vm, this.sharedInfo);
    this.events.start();
    this.writeStartInfo(directory);
    cpu.regs[ESI] = this.vmm.machine.guestRamBytes;
  }

  private allocate(): number {
    const p = this.memory.allocate();
    if (p === undefined) throw new VmmStop('the VMM has no memory left for the guest\'s initial page tables');
    return p;
  }

  /**
   * The page tables the guest starts on: its RAM mapped at the same linear addresses, then
   * start_info and shared_info on the next two pages, and the VMM's region at the top.
   */
  private buildInitialTables(): number {
    const vm = this.memory;
    const directory = this.allocate();
    const ramPages = this.vmm.machine.guestRamBytes / PAGE;
    const frames = [...Array.from({ length: ramPages }, (_, k) => k * PAGE), this.startInfo, this.sharedInfo];
    for (let page = 0; page < frames.length; page++) {
      const i = page >>> 10;
      let table = vm.read32(directory + i * 4) & ~0xfff;
      if (table === 0) {
        table = this.allocate();
        vm.write32(directory + i * 4, table | PTE_P | PTE_RW | PTE_US);
      }
      const rw = frames[page] === this.startInfo ? 0 : PTE_RW;
      vm.write32(table + (page & 0x3ff) * 4, frames[page] | PTE_P | PTE_US | rw);
    }
    vm.write32(directory + VMM_PDE_INDEX * 4, vm.regionPde);
    return directory;
  }

  private writeStartInfo(directory: number): void {
    const ram = this.vmm.machine.ram, vm = this.memory, si = this.startInfo;
    for (let k = 0; k < START_INFO_MAGIC.length; k++) ram[si + k] = START_INFO_MAGIC.charCodeAt(k);
    vm.write32(si + SI_NR_PAGES, this.vmm.machine.guestRamBytes / PAGE);
    vm.write32(si + SI_SHARED_INFO, this.sharedInfo);
    vm.write32(si + SI_PT_BASE, directory);
    vm.write32(si + SI_NR_PT_FRAMES, 1);
    ram[si + SI_CMD_LINE] = 0;
  }

  intercept(cpu: Cpu, vector: number, kind: EventKind, errorCode: number, hasErrorCode: boolean): boolean {
    try {
      if (kind === EventKind.External) this.onInterrupt(vector);
      else if (kind === EventKind.Software && vector === HYPERCALL_VECTOR && cpu.cpl === 1) this.hypercall();
      else if (kind === EventKind.Software) this.trap(vector, kind, 0, false, cpu.eip);
      else this.onException(vector, errorCode, hasErrorCode);
      this.deliverEvents();
    } catch (f) {
      if (!(f instanceof GuestFault)) throw f;
      throw new VmmStop(`delivering an event to the guest at ${hex8(cpu.eipStart)} raised ${describeException(f.vector, f.errorCode, f.hasErrorCode)}: its stack is not usable`);
    }
    return true;
  }

  private onException(vector: number, errorCode: number, hasErrorCode: boolean): void {
    const cpu = this.cpu;
    if (vector === GP && cpu.cpl === 1) {
      const insn = this.decodeGuest();
      if (emulatorFor(insn) !== undefined) {
        throw new VmmStop(`the guest kernel executed \`${this.text()}\` at ${hex8(cpu.eipStart)}, which faults in ring 1: ` +
          'a paravirtualized kernel calls the VMM (int 0x82) instead');
      }
    }
    if (vector === PF) this.memory.write32(this.sharedInfo + VCPU_CR2, cpu.cr2);
    this.trap(vector, EventKind.Exception, errorCode, hasErrorCode, cpu.eipStart);
  }

  /** Enters the guest's handler for `vector` from its trap table. */
  private trap(vector: number, kind: EventKind, errorCode: number, hasErrorCode: boolean, returnEip: number): void {
    const cpu = this.cpu;
    let entry = this.traps[vector];
    if (kind === EventKind.Software && (entry === undefined || entry.dpl < cpu.cpl)) {
      // The INT's own #GP (SDM Vol. 3A, 6.12.1.1): the gate is absent or too privileged.
      errorCode = vector * 8 + 2; hasErrorCode = true; returnEip = cpu.eipStart;
      vector = GP; kind = EventKind.Exception;
      entry = this.traps[GP];
    }
    const what = kind === EventKind.Software ? `INT 0x${vector.toString(16)}` : EXCEPTION_MNEMONICS[vector] ?? `vector ${vector}`;
    if (entry === undefined) {
      throw new VmmStop(`${kind === EventKind.Software ? what : describeException(vector, errorCode, hasErrorCode)} at ${hex8(cpu.eipStart)}, and the guest named no handler for vector ${vector} (set_trap_table)`);
    }
    bounce(this, entry.cs, entry.eip, errorCode, hasErrorCode, returnEip, entry.maskEvents);
    const c = this.vmm.costs.events;
    this.vmm.event(this.vmm.log.reason(`bounce ${what}`, kind === EventKind.Software ? 'interrupt' : 'exception', bounceQualifier),
      c.trapRoundTrip.cycles + c.reflect.cycles, vector, entry.eip);
  }

  private onInterrupt(vector: number): void {
    const c = this.vmm.costs.events;
    if (vector !== IRQ_BASE) return;   // every other IRQ is masked
    const port = this.events.onTimerInterrupt(VIRQ_TIMER);
    this.vmm.event(this.vmm.log.reason('timer interrupt', 'interrupt', timerQualifier), c.trapRoundTrip.cycles, port);
  }

  /** The event upcall, when an event is pending and the guest has events unmasked. */
  private deliverEvents(): void {
    const cb = this.eventCallback;
    if (cb === undefined || !this.events.upcallDue()) return;
    bounce(this, cb.cs, cb.eip, 0, false, this.cpu.eip, true);
    const c = this.vmm.costs.events;
    this.vmm.event(this.vmm.log.reason('event upcall', 'interrupt', bounceQualifier), c.reflect.cycles, 0, cb.eip);
  }

  private hypercall(): void {
    const cpu = this.cpu, r = cpu.regs, a = this.args;
    const number = r[EAX] >>> 0;
    a[0] = r[EBX]; a[1] = r[ECX]; a[2] = r[EDX]; a[3] = r[ESI]; a[4] = r[EDI];
    const def = hypercall(number);
    let result: number | undefined = -ENOSYS;
    if (def?.handler !== undefined) {
      try {
        result = def.handler(this, a);
      } catch (f) {
        // A pointer argument the guest's page tables do not map: -EFAULT, as Xen's copy_from_guest.
        if (!(f instanceof GuestFault)) throw f;
        result = -EFAULT;
      }
    }
    if (result !== undefined) r[EAX] = result;
    const name = def?.name ?? `#${number}`;
    const c = this.vmm.costs.events;
    this.vmm.event(this.vmm.log.reason(`hypercall ${name}`, 'hypercall', qualifierFor(name, def?.args ?? NO_ARGS), number),
      c.hypercall.cycles, a[0], a[1], a[2], result ?? r[EAX]);
  }

  private decodeGuest(): Insn {
    const cpu = this.cpu, base = cpu.segBase[CS];
    decodeFrom((off) => this.mem.read8((base + off) | 0), cpu.eipStart, cpu.code32, this.insn);
    return this.insn;
  }

  private text(): string {
    const cpu = this.cpu;
    const read = (lin: number): number => { try { return this.mem.read8(lin | 0); } catch { return -1; } };
    return disassemble(read, (cpu.segBase[CS] + cpu.eipStart) >>> 0, { bits: cpu.code32 ? 32 : 16 }).text;
  }
}

