/**
 * The paravirtual hypercall ABI as the editor documents it: the VMM's own table of numbers,
 * names and arguments (src/vmm/pv/hypercalls.ts, fact sheet section 6, modelled on Xen 3 for
 * 32-bit guests) with a line on each call and argument, the named values of command and flag
 * arguments (the VMM's constants, xenAbi.ts), and whether the VMM implements the call.
 *
 * Convention: `int 0x82` (or `vmcall` under hardware assistance), EAX = the hypercall number,
 * EBX, ECX, EDX, ESI, EDI = arguments 1-5, EAX = the result (a negative errno on failure).
 */
import { HYPERCALLS as VMM_HYPERCALLS } from '../vmm/pv/hypercalls';
import {
  CONSOLEIO_READ, CONSOLEIO_WRITE, EVTCHNOP_BIND_VIRQ, SCHEDOP_BLOCK, SCHEDOP_SHUTDOWN, SCHEDOP_YIELD, UVMF_INVLPG,
  UVMF_TLB_FLUSH, XENVER_EXTRAVERSION, XENVER_VERSION,
} from '../vmm/pv/xenAbi';

export { HYPERCALL_VECTOR } from '../vmm/pv/xenAbi';

/** Registers holding arguments 1-5, in order. */
export const ARGUMENT_REGISTERS = ['ebx', 'ecx', 'edx', 'esi', 'edi'] as const;

export interface HypercallArgument {
  name: string;
  doc: string;
  /** Named values of a command argument (console_io's cmd: 0 = write). */
  values?: Readonly<Record<number, string>>;
  /** Named bits of a flags argument. */
  flags?: Readonly<Record<number, string>>;
}

export interface Hypercall {
  number: number;
  name: string;
  doc: string;
  args: readonly HypercallArgument[];
  /** The VMM serves it (otherwise it answers -ENOSYS). */
  implemented: boolean;
}

interface Doc {
  doc: string;
  args: Record<string, Omit<HypercallArgument, 'name'>>;
}

const DOCS: Record<string, Doc> = {
  set_trap_table: {
    doc: 'Installs the guest\'s virtual IDT: a table of `{u8 vector, u8 flags (bits 1:0 DPL), u16 cs, u32 address}` entries ended by one with a zero address.',
    args: { table: { doc: 'linear address of the trap table' } },
  },
  mmu_update: {
    doc: 'Applies a batch of page-table updates, each request `{ptr, val}`; bits 1:0 of ptr are the command (0 = normal page-table update).',
    args: { reqs: { doc: 'address of the request array' }, count: { doc: 'number of requests' }, done: { doc: 'address where the number done is stored (or 0)' }, domid: { doc: 'domain whose tables are updated' } },
  },
  set_gdt: {
    doc: 'Installs a new GDT made of the listed page frames.',
    args: { frames: { doc: 'address of the list of frame numbers' }, entries: { doc: 'number of descriptors' } },
  },
  stack_switch: {
    doc: 'Sets the ring-1 stack used on traps from ring 3 (the paravirtual counterpart of TSS.SS1:ESP1).',
    args: { ss: { doc: 'stack segment selector' }, esp: { doc: 'stack pointer' } },
  },
  set_callbacks: {
    doc: 'Registers the guest\'s event and failsafe callback entry points.',
    args: {
      event_selector: { doc: 'code selector of the event callback' }, event_address: { doc: 'event callback address' },
      failsafe_selector: { doc: 'code selector of the failsafe callback' }, failsafe_address: { doc: 'failsafe callback address' },
    },
  },
  fpu_taskswitch: { doc: 'Sets or clears the virtual CR0.TS, the paravirtual counterpart of CLTS.', args: { set: { doc: '1 sets TS, 0 clears it' } } },
  update_descriptor: {
    doc: 'Writes one GDT or LDT descriptor, validated by the hypervisor.',
    args: { ma_lo: { doc: 'machine address of the descriptor, low half' }, ma_hi: { doc: 'machine address, high half' }, desc_lo: { doc: 'descriptor, low 32 bits' }, desc_hi: { doc: 'descriptor, high 32 bits' } },
  },
  memory_op: { doc: 'Memory reservation and translation operations.', args: { cmd: { doc: 'operation' }, arg: { doc: 'address of the operation\'s argument structure' } } },
  multicall: { doc: 'Issues several hypercalls in one trap.', args: { calls: { doc: 'address of the call list' }, count: { doc: 'number of calls' } } },
  update_va_mapping: {
    doc: 'Writes the page-table entry that maps one virtual address.',
    args: {
      va: { doc: 'virtual address whose mapping changes' }, pte: { doc: 'new page-table entry' }, pte_hi: { doc: 'high half of the entry (0)' },
      flags: { doc: 'TLB maintenance afterwards', flags: { [UVMF_TLB_FLUSH]: 'tlb_flush', [UVMF_INVLPG]: 'invlpg' } },
    },
  },
  set_timer_op: { doc: 'Sets a one-shot timer for the current virtual CPU.', args: { timeout_lo: { doc: 'absolute system time of the timeout, low half' }, timeout_hi: { doc: 'high half' } } },
  xen_version: {
    doc: 'Returns the hypervisor version or other version information.',
    args: { cmd: { doc: 'what to return', values: { [XENVER_VERSION]: 'version', [XENVER_EXTRAVERSION]: 'extraversion' } }, arg: { doc: 'address of the result buffer' } },
  },
  console_io: {
    doc: 'Writes a string to, or reads one from, the hypervisor console.',
    args: { cmd: { doc: 'operation', values: { [CONSOLEIO_WRITE]: 'write', [CONSOLEIO_READ]: 'read' } }, count: { doc: 'number of bytes' }, str: { doc: 'address of the buffer' } },
  },
  vm_assist: { doc: 'Enables or disables a hypervisor assist for the guest.', args: { cmd: { doc: 'enable or disable' }, type: { doc: 'which assist' } } },
  iret: { doc: 'Returns from an exception or event handler: the hypervisor pops the frame from the guest stack (the paravirtual IRET).', args: {} },
  vcpu_op: { doc: 'Operations on a virtual CPU.', args: { cmd: { doc: 'operation' }, vcpu: { doc: 'virtual CPU number' }, arg: { doc: 'address of the operation\'s arguments' } } },
  mmuext_op: {
    doc: 'Extended MMU operations, each `{cmd, arg1, arg2}`: NEW_BASEPTR = 5 (load a new page directory), TLB_FLUSH_LOCAL = 6, INVLPG_LOCAL = 7.',
    args: { ops: { doc: 'address of the operation array' }, count: { doc: 'number of operations' }, done: { doc: 'address where the number done is stored (or 0)' }, domid: { doc: 'domain' } },
  },
  sched_op: {
    doc: 'Scheduler operations: give up the CPU, block until an event, or shut the domain down.',
    args: { cmd: { doc: 'operation', values: { [SCHEDOP_YIELD]: 'yield', [SCHEDOP_BLOCK]: 'block', [SCHEDOP_SHUTDOWN]: 'shutdown' } }, arg: { doc: 'operation argument (shutdown: address of the reason)' } },
  },
  callback_op: { doc: 'Registers or unregisters a callback.', args: { cmd: { doc: 'operation' }, arg: { doc: 'address of the callback structure' } } },
  event_channel_op: {
    doc: 'Event-channel operations (virtual interrupts, including the timer).',
    args: { cmd: { doc: 'operation', values: { [EVTCHNOP_BIND_VIRQ]: 'bind_virq' } }, arg: { doc: 'address of the operation\'s argument structure' } },
  },
};

export const HYPERCALLS: readonly Hypercall[] = VMM_HYPERCALLS.map((h) => ({
  number: h.number,
  name: h.name,
  doc: DOCS[h.name]?.doc ?? '',
  args: h.args.map((name) => ({ name, ...(DOCS[h.name]?.args[name] ?? { doc: '' }) })),
  implemented: h.handler !== undefined,
}));

const BY_NUMBER = new Map(HYPERCALLS.map((h) => [h.number, h]));

export function hypercallByNumber(n: number): Hypercall | undefined {
  return BY_NUMBER.get(n);
}

/** The hypercall numbers as ranges, for messages: "0-5, 10, 12-15, ...". */
export function hypercallNumbersText(): string {
  const out: string[] = [];
  const ns = HYPERCALLS.map((h) => h.number).sort((a, b) => a - b);
  for (let i = 0; i < ns.length;) {
    let j = i;
    while (j + 1 < ns.length && ns[j + 1] === ns[j] + 1) j++;
    out.push(j === i ? `${ns[i]}` : `${ns[i]}-${ns[j]}`);
    i = j + 1;
  }
  return out.join(', ');
}
