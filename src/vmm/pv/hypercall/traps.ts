/**
 * set_trap_table, stack_switch, set_callbacks, iret and fpu_taskswitch: how a PV kernel,
 * which cannot load an IDT or a TSS, tells the VMM where its handlers and its kernel stack
 * are, returns from them, and switches the FPU lazily.
 */
import { CR0_TS, CS, EAX, ESP, FLAG_IF, FLAG_IOPL, FLAG_VM, FLAGS_FIXED_ONE, FLAGS_WRITABLE, SS } from '../../../cpu/registers';
import { nullInaccessibleSegments } from '../../../cpu/segmentation';
import { EINVAL, TRAP_INFO_SIZE } from '../xenAbi';
import { loadVmmSegment } from '../bounce';
import type { PvMonitor } from '../pvMonitor';

/** set_trap_table(table): entries { uint8 vector; uint8 flags (1:0 DPL, bit 2 mask events); uint16 cs; uint32 address }, ended by address 0. */
export function setTrapTable(pv: PvMonitor, a: Int32Array): number {
  const table = a[0];
  if (table === 0) { pv.traps.fill(undefined); return 0; }
  for (let k = 0; k < 256; k++) {
    const at = (table + k * TRAP_INFO_SIZE) | 0;
    const address = pv.mem.read32((at + 4) | 0);
    if (address === 0) return 0;
    const word = pv.mem.read32(at);
    const cs = word >>> 16;
    if ((cs & 3) !== 1) return -EINVAL;
    pv.traps[word & 0xff] = { cs, eip: address, dpl: (word >> 8) & 3, maskEvents: ((word >> 8) & 4) !== 0 };
  }
  return 0;
}

/** stack_switch(ss, esp): the kernel stack for events from user code. */
export function stackSwitch(pv: PvMonitor, a: Int32Array): number {
  if ((a[0] & 3) !== 1) return -EINVAL;
  pv.kernelSs = a[0] & 0xffff;
  pv.kernelEsp = a[1];
  return 0;
}

/** set_callbacks(event_selector, event_address, failsafe_selector, failsafe_address). */
export function setCallbacks(pv: PvMonitor, a: Int32Array): number {
  if ((a[0] & 3) !== 1) return -EINVAL;
  pv.eventCallback = { cs: a[0] & 0xffff, eip: a[1] };
  return 0;
}

/** fpu_taskswitch(set): sets or clears CR0.TS, which the guest cannot write itself. */
export function fpuTaskswitch(pv: PvMonitor, a: Int32Array): number {
  if (a[0] !== 0) pv.cpu.cr0 |= CR0_TS; else pv.cpu.cr0 &= ~CR0_TS;
  return 0;
}

/**
 * iret(): the guest's stack holds EAX, EIP, CS, EFLAGS, then ESP and SS for a return to user
 * code (Xen's x86_32 iret frame: the guest pushed EAX, which the hypercall number took).
 * EFLAGS.IF in the image unmasks events; IOPL and VM stay the VMM's.
 */
export function iret(pv: PvMonitor): undefined {
  const cpu = pv.cpu, mem = pv.mem;
  const top = cpu.regs[ESP];
  const word = (k: number): number => mem.read32((top + 4 * k) | 0);
  const eax = word(0), eip = word(1), cs = word(2) & 0xffff, image = word(3);
  const ring = cs & 3;
  if (ring === 3) {
    const esp = word(4), ss = word(5) & 0xffff;
    loadVmmSegment(pv, CS, cs, true, 3);
    cpu.setCpl(3);
    loadVmmSegment(pv, SS, ss, false, 3);
    cpu.regs[ESP] = esp;
    nullInaccessibleSegments(cpu);
  } else {
    loadVmmSegment(pv, CS, cs, true, 1);
    cpu.regs[ESP] = (top + 16) | 0;
  }
  cpu.regs[EAX] = eax;
  cpu.flags = (image & FLAGS_WRITABLE & ~(FLAG_IOPL | FLAG_VM)) | FLAG_IF | FLAGS_FIXED_ONE;
  cpu.lzMask = 0;
  pv.events.setMasked((image & FLAG_IF) === 0);
  cpu.eip = eip;
  cpu.leaveBlock = true;
  return undefined;
}
