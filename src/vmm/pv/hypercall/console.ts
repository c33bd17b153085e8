/**
 * console_io(cmd, count, str): the VMM's console, the host's end of the machine's serial
 * line, so a PV kernel's output appears where its native twin's COM1 output does. Reading
 * finds nothing: the console has no input.
 */
import { CONSOLEIO_READ, CONSOLEIO_WRITE, EINVAL } from '../xenAbi';
import type { PvMonitor } from '../pvMonitor';

export function consoleIo(pv: PvMonitor, a: Int32Array): number {
  const cmd = a[0], count = a[1], str = a[2];
  if (cmd === CONSOLEIO_READ) return 0;
  if (cmd !== CONSOLEIO_WRITE || count < 0) return -EINVAL;
  const bytes = new Uint8Array(count);
  for (let k = 0; k < count; k++) bytes[k] = pv.mem.read8((str + k) | 0);
  for (const b of bytes) pv.vmm.machine.onSerialOutput(b);
  return 0;
}
