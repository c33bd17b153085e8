/**
 * What a run under a VMM reports: the JSON fields of `vtscope run --json` (issue 4) and the
 * `--stats` table, in the spirit of `perf kvm stat report`: one line per event reason with
 * its count, share of the events, cycles, share of the event cycles and mean cycles.
 */
import type { Hole } from './holeLog';
import type { Vmm } from './vmm';

export interface ReasonCount {
  /** The SDM exit-reason number in `hw` mode; null for the software modes' named events. */
  number: number | null;
  name: string;
  count: number;
  cycles: number;
}

export interface HypercallCount {
  number: number;
  name: string;
  count: number;
  cycles: number;
}

export interface VmmReport {
  mode: string;
  costModel: string;
  cycles: number;
  exits: ReasonCount[];
  hypercalls: HypercallCount[];
  holes: Hole[];
}

const HYPERCALL_PREFIX = 'hypercall ';

export function vmmReport(vmm: Vmm): VmmReport {
  const reasons = vmm.log.counters();
  return {
    mode: vmm.mode,
    costModel: vmm.costs.name,
    cycles: vmm.cycles(),
    exits: reasons.map((r) => ({ number: r.kind === 'vm exit' ? r.number : null, name: r.name, count: r.count, cycles: r.cycles })),
    hypercalls: reasons
      .filter((r) => r.kind === 'hypercall' && r.number !== null)
      .map((r) => ({ number: r.number!, name: r.name.slice(HYPERCALL_PREFIX.length), count: r.count, cycles: r.cycles })),
    holes: vmm.holes.list(),
  };
}

function percent(part: number, whole: number): string {
  return whole === 0 ? '0.00%' : `${((100 * part) / whole).toFixed(2)}%`;
}

/** The `--stats` table, ending with a newline. */
export function formatStats(vmm: Vmm): string {
  const reasons = vmm.log.counters();
  const events = vmm.log.eventCount, eventCycles = vmm.log.eventCycles;
  const cycles = vmm.cycles();
  const lines: string[] = [];
  lines.push(`vtscope ${vmm.mode}: ${vmm.machine.instructions()} guest instructions, ${events} VMM events, ${cycles} emulated cycles ` +
    `(cost model ${vmm.costs.name}; events ${percent(eventCycles, cycles)} of the cycles)`);
  if (events === 0) return `${lines[0]}\n`;
  const rows = reasons.map((r) => [r.name, String(r.count), percent(r.count, events), String(r.cycles), percent(r.cycles, eventCycles), (r.cycles / r.count).toFixed(1)]);
  rows.push(['total', String(events), percent(events, events), String(eventCycles), percent(eventCycles, eventCycles), (eventCycles / events).toFixed(1)]);
  const header = ['event', 'count', 'count%', 'cycles', 'cycles%', 'mean'];
  const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k].length)));
  const line = (cells: string[]): string => cells.map((c, k) => (k === 0 ? c.padEnd(widths[k]) : c.padStart(widths[k]))).join('  ');
  lines.push('', line(header), ...rows.slice(0, -1).map(line), line(rows[rows.length - 1]));
  const holes = vmm.holes.list();
  if (holes.length > 0) {
    lines.push('', `${holes.length} virtualization hole${holes.length === 1 ? '' : 's'} (sensitive instructions that ran without trapping):`);
    for (const h of holes) {
      const where = h.source !== null ? ` (${h.source})` : '';
      lines.push(`  0x${h.eip.toString(16).padStart(8, '0')}${where} ${h.instruction}: ${h.effect}, ${h.count} time${h.count === 1 ? '' : 's'}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
