/**
 * Memory through shadow page tables (`--mem-virt shadow`), the way VMMs on first-generation
 * VT-x ran guests: the processor walks page tables the VMM keeps (src/vmm/shadow), filled
 * from the guest's own on the page faults the guest never sees. The VMM owns CR0.PG, PE, WP
 * and NE and CR4.PSE (the guest sees its own values in the read shadows), CR3 loads and
 * stores exit, INVLPG exits, #PF is in the exception bitmap, and the guest's writes to the
 * page tables the shadows follow fault and are emulated.
 *
 * Without the unrestricted guest, the guest runs with paging on always: with its paging off,
 * on a shadow that maps guest-physical memory one to one. It cannot leave protected mode.
 */
import { PF } from '../../cpu/exceptions';
import { CR0_NE, CR0_PE, CR0_PG, CR0_WP, CR4_PSE, CR4_VMXE } from '../../cpu/registers';
import {
  PROC_CR3_LOAD_EXITING, PROC_CR3_STORE_EXITING, PROC_INVLPG_EXITING, VMCS,
} from '../../cpu/vmx/index';
import { hex8 } from '../exitLog';
import { GuestFault, VmmStop, Walk, walkGuest, type GuestControl } from '../guestMemory';
import { ShadowPageTables } from '../shadow/shadowPageTables';
import { VMM_PDE_INDEX, type VmmMemory } from '../vmmMemory';
import { executeGuestInstruction } from './guestInstruction';
import type { HwMonitor } from './hwMonitor';
import type { MemoryVirtualization } from './memoryVirtualization';
import type { PagingControls } from './vmcsSetup';
import type { Vcpu } from './vcpu';

const PF_W = 2, PF_U = 4;
const PTE_RW = 2, PTE_D = 0x40;
const CR0_OWNED = CR0_PE | CR0_PG | CR0_WP | CR0_NE;
const CR4_OWNED = CR4_VMXE | CR4_PSE;
/** The same instruction's page-table write faulting this often in a row makes no progress. */
const MAX_RETRIES = 4;

/** What a #PF exit turned out to be. */
export const enum PageFaultOutcome { ShadowFilled, GuestFault, PageTableWrite }

export class ShadowPaging implements MemoryVirtualization {
  readonly name = 'shadow';
  readonly controls: PagingControls;
  readonly shadow = this;
  /** The guest's CR0, CR3 and CR4 as its paging sees them. */
  private readonly ctl: GuestControl;
  private readonly tables: ShadowPageTables;
  private readonly walk = new Walk();
  private retryRip = -1;
  private retries = 0;
  /** Guest page-table entries the last emulated write changed. */
  changedEntries = 0;
  /** The error code of the last page fault that was the guest's own, as its page tables give it. */
  guestErrorCode = 0;

  constructor(private readonly hw: HwMonitor, private readonly mem: VmmMemory, boot: GuestControl) {
    this.ctl = { cr0: boot.cr0, cr3: boot.cr3, cr4: boot.cr4 };
    this.tables = new ShadowPageTables(hw.cpu, mem, this.ctl, hw.vmm.shadows, hw.processor);
    this.controls = {
      proc: PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING | PROC_INVLPG_EXITING,
      proc2: 0,
      exceptionBitmap: 1 << PF,
      cr0Mask: CR0_OWNED,
      cr4Mask: CR4_OWNED,
      realCr0: (v) => v | CR0_OWNED,
      realCr4: (v) => v | CR4_VMXE,
      realCr3: (v) => { this.ctl.cr3 = v; return this.activate(); },
    };
  }

  get guestCr3(): number { return this.ctl.cr3; }

  guestControl(): GuestControl { return this.ctl; }

  /**
   * Makes the shadow root for the guest's CR3 (or for paging off) current and returns it. The
   * shared shadow code maps the VMM's region at the top 4 MiB for the software modes; a guest
   * at ring 0 on its own segments could reach it there, so the hw VMM takes it out.
   */
  private activate(): number {
    const cpu = this.hw.cpu;
    this.tables.activate();
    const root = cpu.cr3;
    this.mem.write32(root + VMM_PDE_INDEX * 4, 0);
    return root;
  }

  /** MOV to CR3. */
  loadCr3(value: number): void {
    this.ctl.cr3 = value;
    this.hw.vcpu.write(VMCS.GUEST_CR3, this.activate());
  }

  controlRegistersChanged(vcpu: Vcpu, cr0: number, cr4: number): void {
    if ((cr0 & CR0_PE) === 0) {
      throw new VmmStop('the guest left protected mode: shadow paging cannot run it without the unrestricted guest (use --mem-virt ept)');
    }
    const changed = ((this.ctl.cr0 ^ cr0) & (CR0_PG | CR0_WP)) !== 0 || ((this.ctl.cr4 ^ cr4) & CR4_PSE) !== 0;
    this.ctl.cr0 = cr0;
    this.ctl.cr4 = cr4;
    // The meaning of every guest entry may have changed (paging on or off, WP, 4-MiB pages).
    if (changed) this.tables.flushAll();
    vcpu.write(VMCS.GUEST_CR3, this.activate());
  }

  invlpg(lin: number): void { this.tables.invalidate(lin); }

  /** The virtual CPU is reset (INIT): its shadows go. */
  detach(): void { this.tables.detach(); }

  /** The VMM wrote guest page `phys` (string I/O): shadows built from it go. */
  guestPageWritten(phys: number): void { this.tables.guestPageWritten(phys >>> 12); }

  /**
   * A #PF exit at linear `lin` with the processor's `errorCode`: the guest's own fault
   * (injected with the guest's error code and CR2), a missing shadow entry (filled, and the
   * instruction runs again), or a write to a page table the shadows follow (emulated).
   */
  pageFault(errorCode: number, lin: number): PageFaultOutcome {
    const hw = this.hw, cpu = hw.cpu;
    const write = (errorCode & PF_W) !== 0, user = (errorCode & PF_U) !== 0;
    try {
      walkGuest(cpu, this.ctl, lin, write, user, true, this.walk);
    } catch (f) {
      if (!(f instanceof GuestFault)) throw f;
      cpu.cr2 = lin;
      this.guestErrorCode = f.errorCode;
      hw.vcpu.injectException(PF, f.errorCode);
      return PageFaultOutcome.GuestFault;
    }
    if (write && this.tables.follows(this.walk.phys)) {
      this.emulatePageTableWrite(lin);
      return PageFaultOutcome.PageTableWrite;
    }
    this.tables.fill(lin, this.walk, write);
    return PageFaultOutcome.ShadowFilled;
  }

  /**
   * Carries out the instruction writing a followed guest page at `lin`, with the shadow entry
   * writable for it alone, then drops the shadow entries built from the entries it changed.
   */
  private emulatePageTableWrite(lin: number): void {
    const hw = this.hw, cpu = hw.cpu;
    const page = (this.walk.phys & ~0xfff) >>> 0;
    const insn = hw.decodeGuest();
    const rip = hw.vcpu.rip;
    this.tables.fill(lin, this.walk, false);
    const at = this.tables.shadowEntry(lin);
    const entry = this.mem.read32(at);
    const before = cpu.ram32.slice(page >>> 2, (page >>> 2) + 1024);
    this.mem.write32(at, entry | PTE_RW | PTE_D);
    const fault = executeGuestInstruction(cpu, hw.vcpu, insn);
    this.mem.write32(at, entry);
    this.changedEntries = 0;
    if (fault !== undefined) {
      // The guest executes it again and takes the fault its own way (another #PF exit).
      this.retries = rip === this.retryRip ? this.retries + 1 : 1;
      this.retryRip = rip;
      if (this.retries > MAX_RETRIES) throw new VmmStop(`the write to the guest page table at ${hex8(page)} by the instruction at EIP ${hex8(rip)} keeps faulting`);
      return;
    }
    this.retryRip = -1;
    hw.vcpu.retire();
    const base = page >>> 2;
    for (let k = 0; k < 1024; k++) {
      if (before[k] !== cpu.ram32[base + k]) {
        this.changedEntries++;
        this.tables.guestEntryChanged(page >>> 12, k);
      }
    }
  }
}
