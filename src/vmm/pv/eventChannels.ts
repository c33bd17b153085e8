/**
 * Event channels and the one-shot timer of the PV interface, kept in the shared_info page
 * the guest reads directly (xenAbi.ts has its layout). A pending event sets its bit in
 * `evtchn_pending`, its word's bit in vCPU 0's `evtchn_pending_sel` and `evtchn_upcall_pending`;
 * the guest masks events by writing `evtchn_upcall_mask` itself, without a hypercall, which
 * is the point of the design. The VMM delivers the upcall (the event callback named with
 * set_callbacks) when an event is pending and events are unmasked, after any hypercall or
 * interrupt.
 *
 * The timer is the platform's: the VMM owns the 8254 and the 8259A under pv (the guest has
 * no I/O ports) and programs PIT channel 0 in mode 0 for the guest's deadline, re-arming it
 * while the deadline is further than one count of 65536 away. Virtual time is the machine's,
 * so the timer is as deterministic as the rest.
 */
import type { Cpu } from '../../cpu/cpu';
import type { Machine } from '../../machine/machine';
import type { VmmMemory } from '../vmmMemory';
import {
  EVTCHN_PORTS, SHARED_EVTCHN_MASK, SHARED_EVTCHN_PENDING, VCPU_PENDING_SEL, VCPU_UPCALL_MASK, VCPU_UPCALL_PENDING,
} from './xenAbi';

const PIT_HZ = 1193182;
const PIC1_CMD = 0x20, PIC1_DATA = 0x21, PIC2_CMD = 0xa0, PIC2_DATA = 0xa1, PIT_CH0 = 0x40, PIT_CMD = 0x43;
const EOI = 0x20;
/** The VMM's vectors for the PIC's IRQs 0-15. */
export const IRQ_BASE = 0x20;

export class EventChannels {
  private readonly virqPorts = new Map<number, number>();
  private nextPort = 1;
  /** The timer's deadline in virtual nanoseconds, or -1. */
  private deadline = -1;

  constructor(private readonly machine: Machine, private readonly cpu: Cpu, private readonly memory: VmmMemory,
    /** Physical address of the shared_info page. */
    private readonly shared: number) {}

  /** Takes the PIC over: IRQs at IRQ_BASE, all masked until the guest sets a timer. */
  start(): void {
    const out = (port: number, v: number): void => this.cpu.bus.ioWrite(port, 1, v);
    out(PIC1_CMD, 0x11); out(PIC1_DATA, IRQ_BASE); out(PIC1_DATA, 0x04); out(PIC1_DATA, 0x01); out(PIC1_DATA, 0xff);
    out(PIC2_CMD, 0x11); out(PIC2_DATA, IRQ_BASE + 8); out(PIC2_DATA, 0x02); out(PIC2_DATA, 0x01); out(PIC2_DATA, 0xff);
    this.setMasked(true);
  }

  // ---- the guest's mask, in shared_info ------------------------------------------------

  masked(): boolean { return this.machine.ram[this.shared + VCPU_UPCALL_MASK] !== 0; }
  setMasked(m: boolean): void { this.machine.ram[this.shared + VCPU_UPCALL_MASK] = m ? 1 : 0; }
  /** An upcall is due: an event is pending and the guest has events unmasked. */
  upcallDue(): boolean { return !this.masked() && this.machine.ram[this.shared + VCPU_UPCALL_PENDING] !== 0; }

  // ---- channels -----------------------------------------------------------------------

  /** EVTCHNOP_bind_virq: the port the VIRQ's events arrive on. */
  bindVirq(virq: number): number | undefined {
    let port = this.virqPorts.get(virq);
    if (port === undefined) {
      if (this.nextPort >= EVTCHN_PORTS) return undefined;
      port = this.nextPort++;
      this.virqPorts.set(virq, port);
    }
    return port;
  }

  /** Marks `port` pending; unless the guest masked the port, the vCPU sees an event pending. */
  raise(port: number): void {
    const word = port >>> 5, bit = 1 << (port & 31);
    const pending = this.shared + SHARED_EVTCHN_PENDING + word * 4;
    this.memory.write32(pending, this.memory.read32(pending) | bit);
    if ((this.memory.read32(this.shared + SHARED_EVTCHN_MASK + word * 4) & bit) !== 0) return;
    const sel = this.shared + VCPU_PENDING_SEL;
    this.memory.write32(sel, this.memory.read32(sel) | (1 << word));
    this.machine.ram[this.shared + VCPU_UPCALL_PENDING] = 1;
  }

  // ---- the timer ----------------------------------------------------------------------

  /** set_timer_op: a deadline in nanoseconds of system time (0 cancels). */
  setTimer(deadlineNs: number): void {
    this.deadline = deadlineNs === 0 ? -1 : deadlineNs;
    if (this.deadline < 0) { this.cpu.bus.ioWrite(PIC1_DATA, 1, 0xff); return; }
    this.arm();
  }

  /** IRQ 0 reached the VMM: the timer fires if its deadline has come, else it counts on. Returns the port raised, or -1. */
  onTimerInterrupt(timerVirq: number): number {
    this.cpu.bus.ioWrite(PIC1_CMD, 1, EOI);
    if (this.deadline < 0) return -1;
    if (this.machine.nowNs() < this.deadline) { this.arm(); return -1; }
    this.deadline = -1;
    this.cpu.bus.ioWrite(PIC1_DATA, 1, 0xff);
    const port = this.virqPorts.get(timerVirq);
    if (port === undefined) return -1;
    this.raise(port);
    return port;
  }

  /** PIT channel 0, mode 0 (interrupt on terminal count), for the time left; IRQ 0 unmasked. */
  private arm(): void {
    const left = Math.max(0, this.deadline - this.machine.nowNs());
    const count = Math.min(0xffff, Math.max(1, Math.ceil((left * PIT_HZ) / 1e9)));
    const out = (port: number, v: number): void => this.cpu.bus.ioWrite(port, 1, v);
    out(PIT_CMD, 0x30);
    out(PIT_CH0, count & 0xff);
    out(PIT_CH0, count >> 8);
    out(PIC1_DATA, 0xfe);
  }
}
