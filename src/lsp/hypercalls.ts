/**
 * The paravirtual hypercall ABI guest kernels use under `pv` (fact sheet section 6, modelled
 * on Xen 3+ for 32-bit guests): `int 0x82` (or `vmcall` under hardware assistance), EAX = the
 * hypercall number, EBX, ECX, EDX, ESI, EDI = arguments 1-5, EAX = the result (a negative
 * errno on failure).
 *
 * Numbers and names are the fact sheet's. Argument lists the fact sheet gives are used as
 * written there; the others follow the `do_*` prototypes in Xen's asm-x86/hypercall.h, with a
 * 64-bit argument split into two registers, low half first, as 32-bit guests pass it.
 *
 * Pure data with no dependencies, so the VMM and the language server can share it.
 */

/** The software interrupt vector of a hypercall from the ring-1 guest kernel. */
export const HYPERCALL_VECTOR = 0x82;

/** Registers holding arguments 1-5, in order. */
export const ARGUMENT_REGISTERS = ['ebx', 'ecx', 'edx', 'esi', 'edi'] as const;
export type ArgumentRegister = typeof ARGUMENT_REGISTERS[number];

export interface HypercallArgument {
  name: string;
  /** What the argument is, for documentation. */
  doc: string;
  /** Named values of the argument (e.g. console_io's cmd: 0 = write). */
  values?: Readonly<Record<number, string>>;
  /** Named bits of a flags argument. */
  flags?: Readonly<Record<number, string>>;
}

export interface Hypercall {
  number: number;
  name: string;
  doc: string;
  args: readonly HypercallArgument[];
}

const arg = (name: string, doc: string, extra: Partial<HypercallArgument> = {}): HypercallArgument => ({ name, doc, ...extra });

export const HYPERCALLS: readonly Hypercall[] = [
  {
    number: 0, name: 'set_trap_table', doc: 'Installs the guest\'s virtual IDT: a table of `{u8 vector, u8 flags (bits 1:0 DPL), u16 cs, u32 address}` entries ended by one with a zero address.',
    args: [arg('table', 'linear address of the trap table')],
  },
  {
    number: 1, name: 'mmu_update', doc: 'Applies a batch of page-table updates, each request `{ptr, val}`; bits 1:0 of ptr are the command (0 = normal page-table update).',
    args: [arg('reqs', 'address of the request array'), arg('count', 'number of requests'), arg('done', 'address where the number done is stored (or 0)'), arg('domid', 'domain whose tables are updated')],
  },
  {
    number: 2, name: 'set_gdt', doc: 'Installs a new GDT made of the listed page frames.',
    args: [arg('frame_list', 'address of the list of frame numbers'), arg('entries', 'number of descriptors')],
  },
  {
    number: 3, name: 'stack_switch', doc: 'Sets the ring-1 stack used on traps from ring 3 (the paravirtual counterpart of TSS.SS1:ESP1).',
    args: [arg('ss', 'stack segment selector'), arg('esp', 'stack pointer')],
  },
  {
    number: 4, name: 'set_callbacks', doc: 'Registers the guest\'s event and failsafe callback entry points.',
    args: [arg('event_selector', 'code selector of the event callback'), arg('event_address', 'event callback address'),
      arg('failsafe_selector', 'code selector of the failsafe callback'), arg('failsafe_address', 'failsafe callback address')],
  },
  {
    number: 5, name: 'fpu_taskswitch', doc: 'Sets or clears the virtual CR0.TS, the paravirtual counterpart of CLTS.',
    args: [arg('set', '1 sets TS, 0 clears it')],
  },
  {
    number: 10, name: 'update_descriptor', doc: 'Writes one GDT or LDT descriptor, validated by the hypervisor.',
    args: [arg('pa_lo', 'machine address of the descriptor, low half'), arg('pa_hi', 'machine address, high half'),
      arg('desc_lo', 'descriptor, low 32 bits'), arg('desc_hi', 'descriptor, high 32 bits')],
  },
  {
    number: 12, name: 'memory_op', doc: 'Memory reservation and translation operations.',
    args: [arg('cmd', 'operation'), arg('arg', 'address of the operation\'s argument structure')],
  },
  {
    number: 13, name: 'multicall', doc: 'Issues several hypercalls in one trap.',
    args: [arg('call_list', 'address of the call list'), arg('nr_calls', 'number of calls')],
  },
  {
    number: 14, name: 'update_va_mapping', doc: 'Writes the page-table entry that maps one virtual address.',
    args: [arg('va', 'virtual address whose mapping changes'), arg('pte', 'new page-table entry'), arg('pte_hi', 'high half of the entry (0)'),
      arg('flags', 'TLB maintenance afterwards', { flags: { 1: 'tlb_flush', 2: 'invlpg' } })],
  },
  {
    number: 15, name: 'set_timer_op', doc: 'Sets a one-shot timer for the current virtual CPU.',
    args: [arg('timeout_lo', 'absolute system time of the timeout, low half'), arg('timeout_hi', 'high half')],
  },
  {
    number: 17, name: 'xen_version', doc: 'Returns the hypervisor version or other version information.',
    args: [arg('cmd', 'what to return'), arg('arg', 'address of the result buffer')],
  },
  {
    number: 18, name: 'console_io', doc: 'Writes a string to, or reads one from, the hypervisor console.',
    args: [arg('cmd', 'operation', { values: { 0: 'write', 1: 'read' } }), arg('count', 'number of bytes'), arg('str', 'address of the buffer')],
  },
  {
    number: 21, name: 'vm_assist', doc: 'Enables or disables a hypervisor assist for the guest.',
    args: [arg('cmd', 'enable or disable'), arg('type', 'which assist')],
  },
  {
    number: 23, name: 'iret', doc: 'Returns from an exception or event handler: the hypervisor pops the frame from the guest stack (the paravirtual IRET).',
    args: [],
  },
  {
    number: 24, name: 'vcpu_op', doc: 'Operations on a virtual CPU.',
    args: [arg('cmd', 'operation'), arg('vcpuid', 'virtual CPU number'), arg('extra_args', 'address of the operation\'s arguments')],
  },
  {
    number: 26, name: 'mmuext_op', doc: 'Extended MMU operations, each `{cmd, arg1, arg2}`: NEW_BASEPTR = 5 (load a new page directory), TLB_FLUSH_LOCAL = 6, INVLPG_LOCAL = 7.',
    args: [arg('ops', 'address of the operation array'), arg('count', 'number of operations'), arg('done', 'address where the number done is stored (or 0)'), arg('domid', 'domain')],
  },
  {
    number: 29, name: 'sched_op', doc: 'Scheduler operations: give up the CPU, block until an event, or shut the domain down.',
    args: [arg('cmd', 'operation', { values: { 0: 'yield', 1: 'block', 2: 'shutdown' } }), arg('arg', 'operation argument (shutdown: the reason)')],
  },
  {
    number: 30, name: 'callback_op', doc: 'Registers or unregisters a callback.',
    args: [arg('cmd', 'operation'), arg('arg', 'address of the callback structure')],
  },
  {
    number: 32, name: 'event_channel_op', doc: 'Event-channel operations (virtual interrupts, including the timer).',
    args: [arg('cmd', 'operation'), arg('arg', 'address of the operation\'s argument structure')],
  },
];

const BY_NUMBER = new Map(HYPERCALLS.map((h) => [h.number, h]));

export function hypercallByNumber(n: number): Hypercall | undefined {
  return BY_NUMBER.get(n);
}

/** The known numbers as ranges, for messages: "0-5, 10, 12-15, ...". */
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
