/**
 * The paravirtual interface, modelled on Xen 3 for 32-bit guests (fact sheet section 6 for
 * the trap vector, registers, hypercall numbers and arguments). Where the fact sheet is
 * silent, the values are those of Xen's public headers (xen.h, arch-x86/xen-x86_32.h,
 * event_channel.h, sched.h, version.h, errno.h), named here so a PV kernel can use the
 * same numbers.
 */

/** `int 0x82` from the ring-1 guest kernel. */
export const HYPERCALL_VECTOR = 0x82;

/** Flat 4 GiB segments the VMM's GDT provides (xen-x86_32.h FLAT_RING1_CS ... FLAT_RING3_DS). */
export const FLAT_RING1_CS = 0xe019;
export const FLAT_RING1_DS = 0xe021;
export const FLAT_RING3_CS = 0xe02b;
export const FLAT_RING3_DS = 0xe033;

/** Hypercall results: 0 or a negative errno (Xen's errno.h, the Linux numbers). */
export const EPERM = 1, EFAULT = 14, EINVAL = 22, ENOSYS = 38;

/** console_io commands. */
export const CONSOLEIO_WRITE = 0, CONSOLEIO_READ = 1;
/** sched_op commands and shutdown reasons (sched.h). */
export const SCHEDOP_YIELD = 0, SCHEDOP_BLOCK = 1, SCHEDOP_SHUTDOWN = 2;
export const SHUTDOWN_POWEROFF = 0, SHUTDOWN_REBOOT = 1, SHUTDOWN_CRASH = 3;
/** update_va_mapping flags: 1 flush the TLB, 2 INVLPG the address. */
export const UVMF_TLB_FLUSH = 1, UVMF_INVLPG = 2;
/** mmuext_op commands. */
export const MMUEXT_NEW_BASEPTR = 5, MMUEXT_TLB_FLUSH_LOCAL = 6, MMUEXT_INVLPG_LOCAL = 7;
/** mmu_update request command in bits 1:0 of `ptr`. */
export const MMU_NORMAL_PT_UPDATE = 0;
/** xen_version commands; the version reported is 3.0. */
export const XENVER_VERSION = 0, XENVER_EXTRAVERSION = 1;
export const XEN_VERSION = (3 << 16) | 0;
export const XEN_EXTRAVERSION = '-vtscope';
/** event_channel_op commands and the timer VIRQ (event_channel.h, xen.h). */
export const EVTCHNOP_BIND_VIRQ = 1;
export const VIRQ_TIMER = 0;

/** Sizes of the structures hypercalls read (x86_32). */
export const MMU_UPDATE_SIZE = 16;     // { uint64 ptr; uint64 val; }
export const MULTICALL_ENTRY_SIZE = 32;   // { op; result; args[6] }, 32-bit words
/** Hypercall numbers the VMM itself needs to know (fact sheet section 6). */
export const HYPERCALL_MULTICALL = 13, HYPERCALL_IRET = 23;
export const MMUEXT_OP_SIZE = 12;      // { uint32 cmd; uint32 arg1; uint32 arg2; }
export const TRAP_INFO_SIZE = 8;       // { uint8 vector; uint8 flags; uint16 cs; uint32 address; }

/** start_info (xen.h): what the VMM tells the guest at entry, at ESI. */
export const START_INFO_MAGIC = 'xen-3.0-x86_32';
export const SI_NR_PAGES = 32, SI_SHARED_INFO = 36, SI_PT_BASE = 60, SI_NR_PT_FRAMES = 64, SI_CMD_LINE = 80;

/**
 * shared_info (xen.h, x86_32): vcpu_info[32] of 64 bytes each, then the event-channel
 * pending and mask bitmaps (32 words each).
 */
export const VCPU_UPCALL_PENDING = 0, VCPU_UPCALL_MASK = 1, VCPU_PENDING_SEL = 4, VCPU_CR2 = 8;
export const SHARED_EVTCHN_PENDING = 2048, SHARED_EVTCHN_MASK = 2176;
export const EVTCHN_PORTS = 1024;
