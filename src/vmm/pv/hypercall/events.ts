/** event_channel_op(cmd, arg): binding the timer VIRQ to a port, the one operation the timer needs. */
import { EINVAL, ENOSYS, EVTCHNOP_BIND_VIRQ, VIRQ_TIMER } from '../xenAbi';
import type { PvMonitor } from '../pvMonitor';

/** EVTCHNOP_bind_virq's argument: { uint32 virq; uint32 vcpu; uint32 port (out); }. */
export function eventChannelOp(pv: PvMonitor, a: Int32Array): number {
  if (a[0] !== EVTCHNOP_BIND_VIRQ) return -ENOSYS;
  const arg = a[1];
  const virq = pv.mem.read32(arg), vcpu = pv.mem.read32((arg + 4) | 0);
  if (virq !== VIRQ_TIMER || vcpu !== 0) return -EINVAL;
  const port = pv.events.bindVirq(virq);
  if (port === undefined) return -EINVAL;
  pv.mem.write32((arg + 8) | 0, port);
  return 0;
}
