/**
 * Events in VMX non-root operation (SDM Vol. 3C, 25.2, 26.5, 27.2.3-27.2.4): the event VM
 * entry injects, the VM exits for interrupt windows, external interrupts, exceptions (the
 * exception bitmap with the #PF error-code mask and match), double and triple faults, and the
 * IDT-vectoring information of an exit that interrupts an event's delivery.
 *
 * The run loop calls `nonRootEvent` before each code block (in non-root operation a block also
 * ends where an interrupt shadow ends, so no boundary where an event is due is skipped);
 * interrupts.ts calls the delivery hooks.
 */
import type { Cpu } from '../cpu';
import { CpuFault, DF, PF } from '../exceptions';
import { deliver, deliverException, EventKind } from '../interrupts';
import { FLAG_IF } from '../registers';
import { EXIT_ACK_INTERRUPT_ON_EXIT, PIN_EXTERNAL_INTERRUPT_EXITING, PROC_INTERRUPT_WINDOW_EXITING } from './capabilities';
import { EXIT_REASON } from './exitReasons';
import { VM_EXIT_VECTOR } from './state';
import { INTR_ERROR_CODE_VALID, interruptionInfo, InterruptionType, intrType, vmExit } from './vmExit';

/**
 * What happens at an instruction boundary before the next guest instruction, in priority
 * order: the event VM entry injects, an interrupt-window exit (IF = 1 and no blocking by STI
 * or MOV SS), an external-interrupt exit (RFLAGS.IF does not mask interrupts that exit).
 * Returns whether it did anything.
 */
export function nonRootEvent(cpu: Cpu): boolean {
  const x = cpu.vmx;
  if (x.injectInfo !== 0) { inject(cpu); return true; }
  const unblocked = cpu.icount > cpu.inhibitUntil;
  if ((x.proc & PROC_INTERRUPT_WINDOW_EXITING) !== 0 && unblocked && (cpu.flags & FLAG_IF) !== 0) {
    cpu.eipStart = cpu.eip;
    vmExit(cpu, x.exit.reset(EXIT_REASON.INTERRUPT_WINDOW));
    return true;
  }
  if ((x.pin & PIN_EXTERNAL_INTERRUPT_EXITING) !== 0 && unblocked && cpu.bus.intrPending()) {
    cpu.eipStart = cpu.eip;
    const info = x.exit.reset(EXIT_REASON.EXTERNAL_INTERRUPT);
    // With "acknowledge interrupt on exit" the vector goes in the exit interruption information;
    // without it the interrupt stays pending at the controller for the host to take.
    if ((x.exitControls & EXIT_ACK_INTERRUPT_ON_EXIT) !== 0) {
      info.intrInfo = interruptionInfo(InterruptionType.External, cpu.bus.intrAcknowledge());
    }
    vmExit(cpu, info);
    return true;
  }
  return false;
}

/**
 * Delivers the event of the VM-entry interruption-information field through the guest IDT
 * (SDM Vol. 3C, 26.5.1): software interrupts and exceptions (types 4-6) return past an
 * instruction of the VM-entry instruction length; the exception bitmap does not apply to it.
 */
function inject(cpu: Cpu): void {
  const x = cpu.vmx;
  const info = x.injectInfo;
  x.injectInfo = 0;
  const vector = info & 0xff, type = intrType(info);
  const kind = type === InterruptionType.SoftwareInterrupt || type === InterruptionType.SoftwareException ? EventKind.Software
    : type === InterruptionType.HardwareException || type === InterruptionType.PrivilegedSoftwareException ? EventKind.Exception
    : EventKind.External;
  cpu.eipStart = cpu.eip;
  const returnEip = type >= InterruptionType.SoftwareInterrupt ? (cpu.eip + x.injectLength) | 0 : cpu.eip;
  x.injecting = type;
  // A fault while delivering an injected exception follows the double-fault rule.
  cpu.delivering = type === InterruptionType.HardwareException ? vector : -1;
  try {
    deliver(cpu, vector, kind, x.injectError, (info & INTR_ERROR_CODE_VALID) !== 0, returnEip);
    // An injected INT n, INT3, INTO or INT1 is its instruction, which retires with the delivery.
    if (type >= InterruptionType.SoftwareInterrupt) cpu.icount++;
  } catch (e) {
    if (!(e instanceof CpuFault)) throw e;
    deliverException(cpu);
  }
  cpu.delivering = -1;
}

/** Whether the exception bitmap makes `vector` (with #PF error code `code`) a VM exit (SDM Vol. 3C, 25.2). */
function bitmapExits(cpu: Cpu, vector: number, code: number): boolean {
  const x = cpu.vmx;
  const bit = ((x.exceptionBitmap >>> vector) & 1) !== 0;
  if (vector !== PF) return bit;
  // #PF: with bit 14 set, exit if (PFEC & MASK) = MATCH; with it clear, exit if they differ.
  return ((code & x.pfMask) === x.pfMatch) === bit;
}

/**
 * deliverException's hook, before anything else: a VM exit carried out of an instruction
 * (EPT), or an exception the exception bitmap turns into exit reason 0. During the delivery
 * of another event, that event becomes the IDT-vectoring information.
 */
export function exceptionExit(cpu: Cpu): boolean {
  const f = cpu.fault, x = cpu.vmx;
  if (f.vector === VM_EXIT_VECTOR) {
    vmExit(cpu, x.exit);
    return true;
  }
  if (!bitmapExits(cpu, f.vector, f.errorCode)) return false;
  const info = x.exit.reset(EXIT_REASON.EXCEPTION_NMI);
  info.intrInfo = interruptionInfo(InterruptionType.HardwareException, f.vector, f.hasErrorCode);
  info.intrError = f.errorCode;
  if (f.vector === PF) {
    // The qualification is the faulting address; CR2 keeps its value (SDM Vol. 3C, 27.1).
    info.qualification = cpu.cr2;
    cpu.cr2 = x.cr2BeforeFault;
  }
  vmExit(cpu, info);
  return true;
}

/**
 * A double fault the bitmap makes a VM exit. It is a new event, not one being delivered, so
 * the IDT-vectoring information is not valid (SDM Vol. 3C, 27.2.3).
 */
export function doubleFaultExit(cpu: Cpu): boolean {
  const x = cpu.vmx;
  if (((x.exceptionBitmap >>> DF) & 1) === 0) return false;
  x.vectoringInfo = 0;
  x.vectoringLength = 0;
  const info = x.exit.reset(EXIT_REASON.EXCEPTION_NMI);
  info.intrInfo = interruptionInfo(InterruptionType.HardwareException, DF, true);
  info.intrError = 0;
  vmExit(cpu, info);
  return true;
}

/** A triple fault in non-root operation is always a VM exit (reason 2), never a shutdown. */
export function tripleFaultExit(cpu: Cpu): void {
  const x = cpu.vmx;
  x.vectoringInfo = 0;
  x.vectoringLength = 0;
  vmExit(cpu, x.exit.reset(EXIT_REASON.TRIPLE_FAULT));
}

/**
 * deliver's hook when an event's delivery through the guest IDT begins: INT3 and INTO (and
 * INT1) may exit through the exception bitmap; any other event becomes the IDT-vectoring
 * information until its delivery completes. Returns whether a VM exit took the event's place.
 */
export function deliveryStarts(cpu: Cpu, vector: number, kind: EventKind, errorCode: number, hasErrorCode: boolean): boolean {
  const x = cpu.vmx;
  let type: InterruptionType;
  let length = 0;
  const injected = x.injecting >= 0;
  if (injected) {
    type = x.injecting as InterruptionType;
    x.injecting = -1;
    if (type >= InterruptionType.SoftwareInterrupt) length = x.injectLength;
  } else if (kind === EventKind.External) {
    type = InterruptionType.External;
  } else if (kind === EventKind.Software) {
    const op = x.insn?.op;
    type = op === 0xcc || op === 0xce ? InterruptionType.SoftwareException : InterruptionType.SoftwareInterrupt;
    length = x.insn?.len ?? 0;
  } else {
    // Exceptions come through deliverException, which marks them as being delivered; INT1
    // calls deliver directly.
    type = cpu.delivering >= 0 ? InterruptionType.HardwareException : InterruptionType.PrivilegedSoftwareException;
    if (type === InterruptionType.PrivilegedSoftwareException) length = x.insn?.len ?? 0;
  }
  if (!injected && (type === InterruptionType.SoftwareException || type === InterruptionType.PrivilegedSoftwareException) &&
      ((x.exceptionBitmap >>> vector) & 1) !== 0) {
    const info = x.exit.reset(EXIT_REASON.EXCEPTION_NMI).instruction(length);
    info.intrInfo = interruptionInfo(type, vector);
    vmExit(cpu, info);
    return true;
  }
  x.vectoringInfo = interruptionInfo(type, vector, hasErrorCode);
  x.vectoringError = errorCode;
  x.vectoringLength = length;
  return false;
}

/** deliver's hook when the delivery completed: the next exit is not during event delivery. */
export function deliveryDone(cpu: Cpu): void {
  cpu.vmx.vectoringInfo = 0;
  cpu.vmx.vectoringLength = 0;
}
