/**
 * The "VMM" scope of the software modes: what the guest believes its ring-0 state is (kept
 * by the VMM, since the processor holds the VMM's own), what the processor really holds
 * where that differs (the shadow page-table root, the real CPL), and the VMM's event counts.
 * `trap` and `bt` keep a virtual CPU (trap/virtualCpu.ts); `pv` has none (the guest asks by
 * hypercall), so its view is the interface the guest named: trap table, callbacks, event mask.
 */
import { FLAG_IF } from '../cpu/registers';
import { PvMonitor } from '../vmm/pv/pvMonitor';
import { TrapMonitor } from '../vmm/trap/trapMonitor';
import { virtualCpl } from '../vmm/trap/virtualCpu';
import type { Vmm } from '../vmm/vmm';
import { hex8 } from './guestMemory';
import type { RegisterNode } from './registers';

const leaf = (name: string, value: number, memoryReference?: number): RegisterNode =>
  (memoryReference === undefined ? { name, value: hex8(value) } : { name, value: hex8(value), memoryReference });

function trapState(t: TrapMonitor): RegisterNode[] {
  const v = t.vcpu, cpu = t.cpu;
  return [
    { name: 'virtual IF', value: (cpu.flags & FLAG_IF) !== 0 ? '1' : '0' },
    { name: 'virtual IOPL', value: String(v.iopl) },
    { name: 'virtual CPL', value: `${virtualCpl(cpu.cpl)} (the processor runs it at CPL ${cpu.cpl})` },
    leaf('virtual CR0', v.cr0), leaf('virtual CR2', v.cr2), leaf('virtual CR3', v.cr3), leaf('virtual CR4', v.cr4),
    { name: 'guest GDTR', value: `base ${hex8(v.gdtrBase)} limit 0x${v.gdtrLimit.toString(16)}`, memoryReference: v.gdtrBase >>> 0 },
    { name: 'guest IDTR', value: `base ${hex8(v.idtrBase)} limit 0x${v.idtrLimit.toString(16)}`, memoryReference: v.idtrBase >>> 0 },
    { name: 'guest LDTR', value: `selector 0x${v.ldtrSel.toString(16).padStart(4, '0')}` },
    { name: 'guest TR', value: `selector 0x${v.trSel.toString(16).padStart(4, '0')} base ${hex8(v.trBase)} limit 0x${v.trLimit.toString(16)}` },
    { name: 'shadow page-table root', value: `${hex8(cpu.cr3 & ~0xfff)} (the processor's CR3)` },
    { name: 'processor GDTR', value: `base ${hex8(cpu.gdtrBase)} limit 0x${cpu.gdtrLimit.toString(16)} (the VMM's)` },
    { name: 'processor IDTR', value: `base ${hex8(cpu.idtrBase)} limit 0x${cpu.idtrLimit.toString(16)} (the VMM's)` },
  ];
}

function pvState(p: PvMonitor): RegisterNode[] {
  const cpu = p.cpu;
  const traps = p.traps.flatMap((t, vector) => (t === undefined ? [] : [{
    name: `vector 0x${vector.toString(16)}`,
    value: `${t.cs.toString(16).padStart(4, '0')}:${hex8(t.eip)} DPL ${t.dpl}${t.maskEvents ? ', masks events' : ''}`,
  }]));
  const callback = p.eventCallback;
  return [
    { name: 'virtual IF', value: p.events.masked() ? '0 (events masked in shared_info)' : '1 (events unmasked in shared_info)' },
    { name: 'page directory (CR3)', value: `${hex8(cpu.cr3 & ~0xfff)} (the guest's own: direct paging)` },
    { name: 'kernel stack (stack_switch)', value: `${p.kernelSs.toString(16).padStart(4, '0')}:${hex8(p.kernelEsp)}` },
    { name: 'event callback', value: callback === undefined ? 'none' : `${callback.cs.toString(16).padStart(4, '0')}:${hex8(callback.eip)}` },
    { name: 'trap table', value: `${traps.length} vectors`, children: traps },
  ];
}

/** The scope's nodes for processor `k`, or undefined in the modes that have no such view (native, hw). */
export function vmmScope(vmm: Vmm, k = 0): RegisterNode[] | undefined {
  const m = vmm.monitors[k];
  const state = m instanceof TrapMonitor ? trapState(m) : m instanceof PvMonitor ? pvState(m) : undefined;
  if (state === undefined) return undefined;
  const reasons = vmm.log.counters();
  const last = vmm.log.total === 0 ? undefined : vmm.log.records(vmm.log.total - 1, 1)[0];
  return [
    ...state,
    {
      name: 'events', value: `${vmm.log.eventCount} handled, ${vmm.holes.total} hole executions`,
      children: reasons.map((r) => ({ name: r.name, value: `${r.count} (${r.cycles} cycles)` })),
    },
    { name: 'last event', value: last === undefined ? 'none' : `${last.reason}: ${last.qualification} at ${hex8(last.eip)}` },
  ];
}
