/**
 * `trap`: classical trap-and-emulate with ring compression. The guest kernel runs in ring 1
 * on the VMM's GDT (its own descriptors, DPL 0 made DPL 1), IDT and TSS, with IOPL 0 and
 * shadow page tables; its privileged instructions, I/O and page faults come to the VMM as
 * exceptions, through the CPU's monitor hook, and the VMM handles each by the kind of event
 * (EVENT_HANDLERS, one module per kind under events/). The sensitive instructions that do not
 * trap run as the hardware runs them in ring 1, and each time they give the guest a wrong
 * answer the VMM records a hole (holes.ts).
 */
import type { Cpu } from '../../cpu/cpu';
import { decodeFrom } from '../../cpu/decoder';
import { describeException, EXCEPTION_MNEMONICS, GP, PF } from '../../cpu/exceptions';
import { EventKind } from '../../cpu/interrupts';
import { Insn } from '../../cpu/insn';
import { CR0_ET, CR0_PE, CR0_PG, CR0_WP, CS, DS, ES, FLAG_IOPL, FS, GS, SS } from '../../cpu/registers';
import { hex8, type EventClass, type Qualifier, type Reason } from '../exitLog';
import { GuestFault, GuestMemory, walkGuest, Walk } from '../guestMemory';
import { ShadowPageTables } from '../shadow/shadowPageTables';
import { descriptor, installSystemTables } from '../systemTables';
import type { ModeMonitor, Vmm } from '../vmm';
import type { VmmMemory } from '../vmmMemory';
import { onException } from './events/exception';
import { onExternalInterrupt } from './events/externalInterrupt';
import { onGeneralProtection } from './events/generalProtection';
import { onPageFault } from './events/pageFault';
import { onSoftwareInterrupt } from './events/softwareInterrupt';
import { wrapSensitive } from './holes';
import { deliverToGuest } from './reflect';
import { cachedDescriptor, loadCompressed, ShadowGdt } from './shadowGdt';
import { ShadowLdt } from './shadowLdt';
import { VirtualCpu } from './virtualCpu';

/** The kinds of event the trap VMM tells apart. */
export type TrapEvent = 'general protection' | 'page fault' | 'exception' | 'software interrupt' | 'external interrupt';

export type EventHandler = (t: TrapMonitor, vector: number, errorCode: number, hasErrorCode: boolean) => void;

/** The trap VMM's handling of each kind of event. */
const EVENT_HANDLERS: Record<TrapEvent, EventHandler> = {
  'general protection': onGeneralProtection,
  'page fault': onPageFault,
  'exception': onException,
  'software interrupt': onSoftwareInterrupt,
  'external interrupt': onExternalInterrupt,
};

function eventOf(vector: number, kind: EventKind): TrapEvent {
  if (kind === EventKind.External) return 'external interrupt';
  if (kind === EventKind.Software) return 'software interrupt';
  return vector === GP ? 'general protection' : vector === PF ? 'page fault' : 'exception';
}

const reflectQualifier: Qualifier = (vector, handler, code, has) => {
  const exception = EXCEPTION_MNEMONICS[vector] !== undefined ? `${describeException(vector, code, has !== 0)}, ` : '';
  return `${exception}vector 0x${vector.toString(16)} to the guest's handler at ${hex8(handler)}`;
};

export class TrapMonitor implements ModeMonitor {
  readonly cpu: Cpu;
  readonly memory: VmmMemory;
  vcpu!: VirtualCpu;
  mem!: GuestMemory;
  gdt!: ShadowGdt;
  ldt!: ShadowLdt;
  shadow!: ShadowPageTables;
  /** A fault of the instruction being executed, to give the guest as it is (see raiseForGuest). */
  private pending: GuestFault | undefined = undefined;
  private readonly insn = new Insn(() => undefined);
  private readonly walk = new Walk();
  /** Guest pages holding its LDT, among the guarded ones. */
  private readonly ldtPages = new Set<number>();
  /** Guest pages holding its GDT and LDT: the guarded ones. */
  private readonly descriptorPages = new Set<number>();
  /** The processor runs the guest on this monitor (from start or startProcessor to an INIT). */
  private started = false;

  /** The monitor of processor `processor` (its APIC ID). */
  constructor(readonly vmm: Vmm, readonly processor = 0) {
    this.cpu = vmm.machine.cpus[processor];
    this.memory = vmm.memory!.forProcessor(processor);
  }

  /** Moves the guest the loader left in ring 0 into ring 1 on the VMM's tables. */
  start(): void {
    const cpu = this.cpu;
    this.takeOver();
    // The loader's flat segments, as the guest's ring 0 would hold them, compressed into ring 1.
    const [clo, chi] = descriptor(0, 0xfffff, 0x9b, 0xc);   // present, DPL 0, code execute/read, accessed; 4 GiB
    const [dlo, dhi] = descriptor(0, 0xfffff, 0x93, 0xc);   // present, DPL 0, data read/write, accessed; 4 GiB
    loadCompressed(cpu, CS, cpu.segSel[CS] | 1, { lo: clo, hi: chi });
    for (const seg of [ES, DS, FS, GS]) loadCompressed(cpu, seg, cpu.segSel[seg], { lo: dlo, hi: dhi });
    loadCompressed(cpu, SS, cpu.segSel[SS] | 1, { lo: dlo, hi: dhi });
    this.enterRing1();
  }

  /**
   * An application processor that has just set CR0.PE in real mode: its GDT (loaded in real
   * mode) is shadowed, and the segments it still holds from real mode are compressed into
   * ring 1 as they are, until it loads its own.
   */
  startProcessor(): void {
    const cpu = this.cpu;
    this.takeOver();
    this.gdt.load(this.mem, this.vcpu.gdtrBase, this.vcpu.gdtrLimit);
    for (let seg = 0; seg < 6; seg++) {
      const ring1 = seg === CS || seg === SS ? 1 : 0;
      loadCompressed(cpu, seg, (cpu.segSel[seg] & ~3) | ring1, cachedDescriptor(cpu, seg));
    }
    this.enterRing1();
  }

  /** The guest's ring-0 state becomes the virtual CPU's, and the processor gets the VMM's tables. */
  private takeOver(): void {
    const cpu = this.cpu;
    this.vcpu = new VirtualCpu(cpu);
    this.mem = new GuestMemory(cpu, this.vcpu, (p) => this.memory.owns(p), (p) => this.shadow.guestPageWritten(p >>> 12));
    this.ldt = new ShadowLdt(cpu, this.memory);
    this.gdt = new ShadowGdt(this.memory, this.ldt);
    installSystemTables(cpu, this.memory);
  }

  /** Ring 1, IOPL 0, the VMM's control registers and shadow page tables. */
  private enterRing1(): void {
    const cpu = this.cpu;
    cpu.setCpl(1);
    cpu.flags &= ~FLAG_IOPL;
    cpu.cr0 = CR0_PE | CR0_ET | CR0_PG | CR0_WP;
    cpu.cr4 = 0;
    this.shadow = new ShadowPageTables(cpu, this.memory, this.vcpu, this.vmm.shadows, this.processor);
    this.shadow.activate();
    this.started = true;
    this.guardDescriptorTables();
  }

  /** INIT: the processor's shadows go; it starts again at its next STARTUP. */
  reset(): void {
    if (this.started) this.shadow.detach();
    this.started = false;
    this.pending = undefined;
    this.descriptorPages.clear();
  }

  intercept(cpu: Cpu, vector: number, kind: EventKind, errorCode: number, hasErrorCode: boolean): boolean {
    const pending = this.pending;
    if (pending !== undefined) {
      this.pending = undefined;
      this.reflect(pending.vector, EventKind.Exception, pending.errorCode, pending.hasErrorCode, cpu.eipStart);
      return true;
    }
    try {
      EVENT_HANDLERS[eventOf(vector, kind)](this, vector, errorCode, hasErrorCode);
    } catch (f) {
      if (!(f instanceof GuestFault)) throw f;
      if (kind === EventKind.Software) this.raiseForGuest(f);
      if (f.vector === PF) this.vcpu.cr2 = f.address;
      this.reflect(f.vector, EventKind.Exception, f.errorCode, f.hasErrorCode, cpu.eipStart);
    }
    return true;
  }

  translate(_cpu: Cpu, insn: Insn, _eip: number): void {
    this.vmm.accounting.chargeOnExecute(insn);
    wrapSensitive(this, insn);
  }

  /** The instruction at EIP writes a page holding a guest page table or the GDT (it trapped); `bt` adapts to it. */
  protectedPageWritten(): void {}

  /**
   * An instruction the VMM carries out itself after its write to a protected page faulted:
   * it gets what `translate` gives instructions in the code cache (here, the hole checks).
   */
  prepareForEmulation(insn: Insn): void {
    wrapSensitive(this, insn);
  }

  /**
   * Guards the guest pages that hold its GDT and LDT (through its current page tables), so that
   * a descriptor it writes after LGDT or LLDT reaches the shadow. Called at LGDT and LLDT and
   * when the guest's paging changes; pages the guest has not mapped are left out.
   */
  guardDescriptorTables(): void {
    this.ldtPages.clear();
    const gdt = this.guestPages(this.vcpu.gdtrBase, this.vcpu.gdtrLimit);
    const table = this.ldt.table;
    if (table !== undefined) for (const p of this.guestPages(table.base, table.limit)) this.ldtPages.add(p);
    this.descriptorPages.clear();
    for (const p of [...gdt, ...this.ldtPages]) this.descriptorPages.add(p);
    this.shadow.guard([...this.descriptorPages]);
  }

  /** Which descriptor table the guarded guest page holding `phys` belongs to (the GDT unless it is the LDT's). */
  descriptorTableOn(phys: number): 'GDT' | 'LDT' {
    return this.ldtPages.has(phys >>> 12) ? 'LDT' : 'GDT';
  }

  /**
   * The guest wrote the guarded page holding `phys`, on this processor: every processor whose
   * GDT or LDT lies on it rebuilds its shadows. Returns how many descriptors changed.
   */
  descriptorPageWritten(phys: number): number {
    let changed = 0;
    for (const m of this.vmm.monitors) {
      if (m instanceof TrapMonitor && m.started && m.descriptorPages.has(phys >>> 12)) changed += m.descriptorTablesWritten();
    }
    return changed;
  }

  /**
   * The guest wrote one of its descriptor tables: both shadows are rebuilt from the guest's
   * tables as LGDT and LLDT would. Returns how many descriptors changed.
   */
  descriptorTablesWritten(): number {
    const table = this.ldt.table;
    return this.gdt.load(this.mem, this.vcpu.gdtrBase, this.vcpu.gdtrLimit, true) +
      (table === undefined ? 0 : this.ldt.load(this.mem, table.base, table.limit, true));
  }

  /** The guest pages (page numbers) holding linear [base, base + limit]. */
  private guestPages(base: number, limit: number): number[] {
    const pages: number[] = [];
    for (let lin = base & ~0xfff; lin <= base + limit; lin += 0x1000) {
      try {
        pages.push(walkGuest(this.cpu, this.vcpu, lin | 0, false, false, false, this.walk).phys >>> 12);
      } catch (f) {
        if (!(f instanceof GuestFault)) throw f;
      }
    }
    return pages;
  }

  // ---- services for the event handlers --------------------------------------------------

  reason(name: string, kind: EventClass, qualify: Qualifier): Reason {
    return this.vmm.log.reason(name, kind, qualify);
  }

  /**
   * Makes `f` a fault of the instruction executing now (an INT whose delivery fails): it is
   * raised in the processor, so the instruction does not complete, and given to the guest as is.
   */
  raiseForGuest(f: GuestFault): never {
    if (f.vector === PF) this.vcpu.cr2 = f.address;
    this.pending = f;
    return this.cpu.raiseWithCode(f.vector, f.errorCode);
  }

  /** Delivers an event to the guest and logs it as "reflect ...". */
  reflect(vector: number, kind: EventKind, errorCode: number, hasErrorCode: boolean, returnEip: number, what?: string): void {
    const handler = deliverToGuest(this, vector, kind, errorCode, hasErrorCode, returnEip);
    const c = this.vmm.costs.events;
    const name = what ?? `reflect ${EXCEPTION_MNEMONICS[vector] ?? `vector ${vector}`}`;
    this.vmm.event(this.reason(name, kind === EventKind.Exception ? 'exception' : 'interrupt', reflectQualifier),
      c.trapRoundTrip.cycles + c.reflect.cycles, vector, handler, errorCode, hasErrorCode ? 1 : 0);
  }

  /** Decodes the guest instruction at CS:EIP (the one that trapped) from guest memory. */
  decodeGuest(): Insn {
    const cpu = this.cpu, mem = this.mem;
    const base = cpu.segBase[CS], user = cpu.cpl === 3;
    decodeFrom((off) => mem.read8((base + off) | 0, user), cpu.eipStart, cpu.code32, this.insn);
    return this.insn;
  }
}
