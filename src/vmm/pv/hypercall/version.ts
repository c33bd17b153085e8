/** xen_version(cmd, arg): the interface version (3.0) and the extra-version string. */
import { ENOSYS, XEN_EXTRAVERSION, XEN_VERSION, XENVER_EXTRAVERSION, XENVER_VERSION } from '../xenAbi';
import type { PvMonitor } from '../pvMonitor';

/** XEN_EXTRAVERSION_LEN: the guest's buffer for the string. */
const EXTRAVERSION_LEN = 16;

export function xenVersion(pv: PvMonitor, a: Int32Array): number {
  if (a[0] === XENVER_VERSION) return XEN_VERSION;
  if (a[0] === XENVER_EXTRAVERSION) {
    for (let k = 0; k < EXTRAVERSION_LEN; k++) pv.mem.write8((a[1] + k) | 0, k < XEN_EXTRAVERSION.length ? XEN_EXTRAVERSION.charCodeAt(k) : 0);
    return 0;
  }
  return -ENOSYS;
}
