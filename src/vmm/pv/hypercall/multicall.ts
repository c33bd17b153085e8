/**
 * multicall(calls, count): several hypercalls for the price of one entry into the VMM, as Xen
 * batches page-table updates and context switches. Each entry is a 32-bit multicall_entry
 * { op, result, args[6] } (32 bytes); the VMM runs them in order and writes each one's result.
 * Neither a nested multicall nor iret (which leaves the hypercall some other way) may be batched.
 */
import { hypercall } from '../hypercalls';
import type { PvMonitor } from '../pvMonitor';
import { EINVAL, ENOSYS, HYPERCALL_IRET, HYPERCALL_MULTICALL, MULTICALL_ENTRY_SIZE } from '../xenAbi';

const args = new Int32Array(5);

export function multicall(pv: PvMonitor, a: Int32Array): number {
  const calls = a[0], count = a[1] >>> 0;
  for (let k = 0; k < count; k++) {
    const entry = (calls + k * MULTICALL_ENTRY_SIZE) | 0;
    const op = pv.mem.read32(entry) >>> 0;
    for (let j = 0; j < args.length; j++) args[j] = pv.mem.read32((entry + 8 + 4 * j) | 0);
    const def = hypercall(op);
    let result: number;
    if (op === HYPERCALL_MULTICALL || op === HYPERCALL_IRET) result = -EINVAL;
    else if (def?.handler === undefined) result = -ENOSYS;
    else result = def.handler(pv, args) ?? -EINVAL;
    pv.mem.write32((entry + 4) | 0, result);
  }
  return 0;
}
