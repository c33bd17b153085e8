/**
 * #PF from the deprivileged guest, which runs on shadow page tables. The VMM walks the
 * guest's own page tables for the address:
 * - the guest's tables do not allow the access: the fault is the guest's, reflected with the
 *   guest's error code and CR2 ("reflect #PF");
 * - they allow it and it writes a page the shadows follow (a guest page directory or page
 *   table): the VMM carries the instruction out with the page writable for it alone, then
 *   drops the shadow entries built from what changed ("PTE write");
 * - it writes a page of the guest's GDT or LDT: carried out the same way, then the shadow
 *   table is rebuilt ("GDT write", "LDT write");
 * - otherwise the shadow lacked the entry, or had it read-only until the guest's dirty bit
 *   is set: the VMM fills it and the instruction runs again ("shadow #PF", a hidden fault).
 */
import { CpuFault, PF } from '../../../cpu/exceptions';
import { EventKind } from '../../../cpu/interrupts';
import { hex8, type Qualifier } from '../../exitLog';
import { GuestFault, VmmStop, walkGuest, Walk } from '../../guestMemory';
import type { TrapMonitor } from '../trapMonitor';

const PF_W = 2, PF_U = 4;
const PTE_RW = 2, PTE_D = 0x40;
/** Nested faults while a PTE write is carried out (a write spanning two followed pages would loop). */
const MAX_NESTING = 4;

const walk = new Walk();
let nesting = 0;

const shadowFill: Qualifier = (lin, access, guest, shadow) =>
  `linear ${hex8(lin)} ${(access & 1) !== 0 ? 'write' : 'read'} from CPL ${(access & 2) !== 0 ? 3 : 1}: guest entry ${hex8(guest)}, shadow PTE ${hex8(shadow)}`;
const tableWrite = (table: 'GDT' | 'LDT'): Qualifier => (page, lin, changed) =>
  `guest ${table} page ${hex8(page)} written through linear ${hex8(lin)}: ${changed} descriptor${changed === 1 ? '' : 's'} changed, shadow ${table} rebuilt`;
const TABLE_WRITE = { GDT: tableWrite('GDT'), LDT: tableWrite('LDT') };
const pteWrite: Qualifier = (page, lin, changed, dropped) =>
  `guest page table ${hex8(page)} written through linear ${hex8(lin)}: ${changed} entr${changed === 1 ? 'y' : 'ies'} changed, ${dropped} shadow entr${dropped === 1 ? 'y' : 'ies'} dropped`;

export function onPageFault(t: TrapMonitor, _vector: number, errorCode: number): void {
  const cpu = t.cpu;
  const lin = cpu.cr2;
  const write = (errorCode & PF_W) !== 0, user = (errorCode & PF_U) !== 0;
  try {
    walkGuest(cpu, t.vcpu, lin, write, user, true, walk);
  } catch (f) {
    if (!(f instanceof GuestFault)) throw f;
    t.vcpu.cr2 = lin;
    t.reflect(PF, EventKind.Exception, f.errorCode, true, cpu.eipStart);
    return;
  }
  const table = write ? protectedTable(t, walk.phys) : undefined;
  if (table !== undefined) {
    t.protectedPageWritten();
    emulateProtectedWrite(t, lin, false, table);
    return;
  }
  const spte = t.shadow.fill(lin, walk, write);
  const c = t.vmm.costs.events;
  t.vmm.event(t.reason('shadow #PF', 'page fault', shadowFill), c.shadowPageFault.cycles,
    lin >>> 0, (write ? 1 : 0) | (user ? 2 : 0), walk.pteAddr >= 0 ? walk.pte >>> 0 : walk.pde >>> 0, spte >>> 0);
}

type ProtectedTable = 'page table' | 'GDT' | 'LDT';

/** The kind of VMM-shadowed table on the guest page holding `phys`, if any. */
function protectedTable(t: TrapMonitor, phys: number): ProtectedTable | undefined {
  return t.shadow.follows(phys) ? 'page table' : t.shadow.guards(phys) ? t.descriptorTableOn(phys) : undefined;
}

/**
 * `bt`'s translated writer of a protected page: its write to `lin` faulted on a page holding a guest page table or the GDT.
 * If the guest's own tables allow the write, the VMM carries it out in the callout, with no
 * trap, and returns true; otherwise the fault is delivered as usual (false).
 */
export function pteWriteInCallout(t: TrapMonitor, lin: number, errorCode: number): boolean {
  const write = (errorCode & PF_W) !== 0, user = (errorCode & PF_U) !== 0;
  if (!write) return false;
  try {
    walkGuest(t.cpu, t.vcpu, lin, write, user, true, walk);
  } catch (f) {
    if (!(f instanceof GuestFault)) throw f;
    return false;
  }
  const table = protectedTable(t, walk.phys);
  if (table === undefined) return false;
  emulateProtectedWrite(t, lin, true, table);
  return true;
}

/**
 * Carries out the faulting instruction with the guest page writable for it alone, then brings
 * what the VMM built from the page in line: the shadow entries made from what changed (a page
 * table) or the shadow GDT. After a trap the instruction retires here; in a `bt` callout the
 * translated block retires it, and a nested fault is left to the CPU.
 */
function emulateProtectedWrite(t: TrapMonitor, lin: number, inCallout: boolean, table: ProtectedTable): void {
  const cpu = t.cpu;
  const page = (walk.phys & ~0xfff) >>> 0;
  const insn = t.decodeGuest();
  t.prepareForEmulation(insn);
  t.shadow.fill(lin, walk, false);
  const at = t.shadow.shadowEntry(lin);
  const entry = t.memory.read32(at);
  const before = cpu.ram32.slice(page >>> 2, (page >>> 2) + 1024);
  const start = cpu.eipStart;
  t.memory.write32(at, entry | PTE_RW | PTE_D);
  cpu.tlb.invalidate(lin >>> 12);
  cpu.eip = cpu.code32 ? (start + insn.len) | 0 : (start + insn.len) & 0xffff;
  try {
    insn.exec(cpu, insn);
  } catch (e) {
    if (!(e instanceof CpuFault)) throw e;
    t.memory.write32(at, entry);
    cpu.tlb.invalidate(lin >>> 12);
    if (inCallout) throw e;
    cpu.eip = start;
    const { vector, errorCode, hasErrorCode } = e;
    if (nesting >= MAX_NESTING) throw new VmmStop(`a write to the guest ${table} at ${hex8(page)} keeps faulting`);
    nesting++;
    try {
      t.intercept(cpu, vector, EventKind.Exception, errorCode, hasErrorCode);
    } finally {
      nesting--;
    }
    return;
  }
  t.memory.write32(at, entry);
  cpu.tlb.invalidate(lin >>> 12);
  if (!inCallout) t.vmm.accounting.retire(insn);
  cpu.leaveBlock = true;
  const c = t.vmm.costs.events;
  // In a callout: the same upkeep as after the trap, without the trap.
  const cost = inCallout ? c.callout.cycles + c.pteWrite.cycles - c.trapRoundTrip.cycles : c.pteWrite.cycles;
  const prefix = inCallout ? 'bt callout ' : '';
  const base = page >>> 2;
  let changed = 0, dropped = 0;
  if (table !== 'page table') {
    changed = t.descriptorPageWritten(page);
    t.vmm.event(t.reason(`${prefix}${table} write`, 'page fault', TABLE_WRITE[table]), cost, page, lin >>> 0, changed);
    return;
  }
  for (let k = 0; k < 1024; k++) {
    if (before[k] !== cpu.ram32[base + k]) {
      changed++;
      dropped += t.shadow.guestEntryChanged(page >>> 12, k);
    }
  }
  t.vmm.event(t.reason(`${prefix}PTE write`, 'page fault', pteWrite), cost, page, lin >>> 0, changed, dropped);
}
