/**
 * sched_op(cmd, arg) and set_timer_op(timeout): giving the processor up, blocking until an
 * event, shutting down, and the one-shot timer. A shutdown ends the run with the status the
 * native kernel gets from isa-debug-exit, which the VMM writes for it as the owner of the
 * machine: poweroff is exit value 0, crash exit value 1; reboot resets the machine.
 */
import { EINVAL, SCHEDOP_BLOCK, SCHEDOP_SHUTDOWN, SCHEDOP_YIELD, SHUTDOWN_CRASH, SHUTDOWN_POWEROFF, SHUTDOWN_REBOOT } from '../xenAbi';
import type { PvMonitor } from '../pvMonitor';

const DEBUG_EXIT_PORT = 0xf4;
/** System control port A: bit 0 resets the machine. */
const PORT_92 = 0x92;

export function schedOp(pv: PvMonitor, a: Int32Array): number {
  const cpu = pv.cpu;
  switch (a[0]) {
    case SCHEDOP_YIELD: return 0;
    case SCHEDOP_BLOCK:
      // Blocking unmasks events; with none pending the processor sleeps until the timer.
      pv.events.setMasked(false);
      if (!pv.events.upcallDue()) { cpu.halted = true; cpu.leaveBlock = true; }
      return 0;
    case SCHEDOP_SHUTDOWN: {
      const reason = pv.mem.read32(a[1]);
      if (reason === SHUTDOWN_POWEROFF) cpu.bus.ioWrite(DEBUG_EXIT_PORT, 1, 0);
      else if (reason === SHUTDOWN_CRASH) cpu.bus.ioWrite(DEBUG_EXIT_PORT, 1, 1);
      else if (reason === SHUTDOWN_REBOOT) cpu.bus.ioWrite(PORT_92, 1, 1);
      else return -EINVAL;
      return 0;
    }
    default: return -EINVAL;
  }
}

/** The deadline is 64 bits of nanoseconds of system time (time since the machine started). */
export function setTimerOp(pv: PvMonitor, a: Int32Array): number {
  pv.events.setTimer((a[1] >>> 0) * 0x1_0000_0000 + (a[0] >>> 0));
  return 0;
}
