/**
 * What LAR and LSL answer in the guest's own ring (SDM Vol. 2, LAR and LSL): whether the
 * guest's descriptor for a selector is visible from its virtual CPL and, if so, its access
 * rights or limit. Under ring compression the processor answers from the VMM's shadow
 * descriptors instead (DPL 1, the limit cut below the VMM): holes.ts reports the difference,
 * and `bt` gives the guest this answer.
 */
import { descDpl, descLimit } from '../../cpu/segmentation';
import type { Descriptor } from './shadowGdt';
import type { TrapMonitor } from './trapMonitor';
import { virtualCpl } from './virtualCpu';

const DESC_S = 1 << 12;
const desc: Descriptor = { lo: 0, hi: 0 };

export interface DescriptorAnswer {
  /** ZF: the descriptor is valid for the instruction and visible. */
  zf: boolean;
  /** The access rights (LAR, masked for the operand size) or limit (LSL); 0 when zf is false. */
  value: number;
}

export function guestDescriptorQuery(t: TrapMonitor, what: 'LAR' | 'LSL', sel: number, o32: boolean, out: DescriptorAnswer): DescriptorAnswer {
  out.zf = false;
  out.value = 0;
  if ((sel & ~3) === 0 || t.gdt.guestDescriptor(sel, desc) === undefined) return out;
  const systemTypes = what === 'LAR' ? 0x1a3e : 0x0a0e;   // LAR: 1 2 3 4 5 9 B C; LSL: 1 2 3 9 B
  const system = (desc.hi & DESC_S) === 0;
  const typeOk = !system || ((systemTypes >> ((desc.hi >> 8) & 0xf)) & 1) !== 0;
  const conforming = !system && ((desc.hi >> 8) & 0xc) === 0xc;
  const dpl = descDpl(desc.hi);
  out.zf = typeOk && (conforming || (dpl >= virtualCpl(t.cpu.cpl) && dpl >= (sel & 3)));
  if (out.zf) out.value = what === 'LAR' ? (o32 ? desc.hi & 0x00f0ff00 : desc.hi & 0xff00) : descLimit(desc.lo, desc.hi);
  return out;
}
