/**
 * What each instruction does, and what virtualization makes of it: whether it is privileged
 * (faults at CPL > 0, or at CPL > IOPL), sensitive but unprivileged (fact sheet section 5:
 * what goes wrong when a deprivileged guest kernel runs it), which VM exit it causes in VMX
 * non-root operation and under which controls (exit reasons from fact sheet section 1, control
 * bits from section 2), and what the `trap` and `bt` modes do with it.
 *
 * Keyed by lower-case mnemonic. Instructions whose behaviour depends on the operands (MOV to a
 * control register, PUSH CS, a far JMP) carry `forms`, chosen by `instructionForm`.
 */
import { EXIT_REASON } from '../cpu/vmx/exitReasons';

export interface VmExitInfo {
  /** Basic exit reason (fact sheet section 1). */
  reason: number;
  /** The controls under which it exits, or 'unconditional'. */
  when: string;
}

export interface InstructionInfo {
  summary: string;
  /** `cpl0`: #GP(0) unless CPL = 0; `iopl`: #GP(0) when CPL > IOPL; a string: the condition. */
  privileged?: 'cpl0' | 'iopl' | string;
  /** Sensitive but unprivileged: what goes wrong at CPL 1 or 3 (fact sheet section 5). */
  sensitive?: string;
  exit?: VmExitInfo;
  /** What `trap` / `bt` do with it, where the class default (see `modeBehaviour`) says too little. */
  trap?: string;
  bt?: string;
  /** What a paravirtualized kernel calls instead (fact sheet section 6). */
  pv?: string;
  /** Anything else worth knowing about its privilege. */
  note?: string;
  forms?: Readonly<Record<string, InstructionInfo>>;
}

const PRIMARY = 'primary processor-based control';
const SECONDARY = 'secondary processor-based control';

const unconditional = (reason: number): VmExitInfo => ({ reason, when: 'unconditional' });
const onControl = (reason: number, control: string): VmExitInfo => ({ reason, when: `when ${control} is set` });
const exceptionExit = (vector: number, name: string): VmExitInfo => ({
  reason: EXIT_REASON.EXCEPTION_NMI, when: `for the ${name} it raises, when bit ${vector} of the exception bitmap is set`,
});

const IO_EXIT: VmExitInfo = {
  reason: EXIT_REASON.IO_INSTRUCTION,
  when: `with unconditional I/O exiting (${PRIMARY} bit 24), or, when use I/O bitmaps (bit 25, overrides 24) is set, if the port's bit in I/O bitmap A (ports 0000-7FFF) or B (8000-FFFF) is 1`,
};
const DESCRIPTOR_TABLE = `descriptor-table exiting (${SECONDARY} bit 2, with activate secondary controls, ${PRIMARY} bit 31)`;
const VMX_ONLY = 'raises #UD outside VMX operation';

const SEGMENT_LOAD = 'privilege checks against CPL differ from ring 0 (fact sheet: POP / MOV to segment registers)';
const SELECTOR_RPL = 'the selector\'s RPL reveals the real CPL (1 for a deprivileged kernel, not 0)';
const FAR_TRANSFER = 'gate DPL, RPL and stack-switch checks depend on CPL, so they differ at CPL 1 from ring 0';
const POPF_DROPS = 'at CPL > 0 an IOPL change is silently dropped; at CPL > IOPL an IF change is silently dropped; no trap';
const TABLE_REGISTER = (what: string) => `no fault at any CPL; it reveals the VMM's own ${what}, not the guest's`;
const DESCRIPTOR_CHECK = 'the result depends on CPL and RPL against the descriptor\'s DPL, so it differs at CPL 1';

const PORT_IO: Pick<InstructionInfo, 'privileged' | 'exit' | 'trap' | 'bt' | 'pv'> = {
  privileged: 'iopl',
  exit: IO_EXIT,
  trap: 'faults with #GP(0) at CPL 1 (the VMM runs the guest with IOPL 0); the VMM emulates the device access',
  bt: 'replaced by a call into the VMM, which emulates the device access',
  pv: 'console output goes through console_io (18) instead',
};

// ---- condition-code families ---------------------------------------------------------------------

const CONDITIONS: readonly [string[], string][] = [
  [['o'], 'overflow (OF = 1)'],
  [['no'], 'not overflow (OF = 0)'],
  [['b', 'c', 'nae'], 'below, unsigned / carry (CF = 1)'],
  [['ae', 'nb', 'nc'], 'above or equal, unsigned / no carry (CF = 0)'],
  [['e', 'z'], 'equal / zero (ZF = 1)'],
  [['ne', 'nz'], 'not equal / not zero (ZF = 0)'],
  [['be', 'na'], 'below or equal, unsigned (CF = 1 or ZF = 1)'],
  [['a', 'nbe'], 'above, unsigned (CF = 0 and ZF = 0)'],
  [['s'], 'sign (SF = 1)'],
  [['ns'], 'not sign (SF = 0)'],
  [['p', 'pe'], 'parity even (PF = 1)'],
  [['np', 'po'], 'parity odd (PF = 0)'],
  [['l', 'nge'], 'less, signed (SF ≠ OF)'],
  [['ge', 'nl'], 'greater or equal, signed (SF = OF)'],
  [['le', 'ng'], 'less or equal, signed (ZF = 1 or SF ≠ OF)'],
  [['g', 'nle'], 'greater, signed (ZF = 0 and SF = OF)'],
];

const BRANCH_BT = 'ends the translated block; its targets are translated when first reached and chained in the translation cache';

function conditionFamily(prefix: string, make: (condition: string) => InstructionInfo): Record<string, InstructionInfo> {
  const out: Record<string, InstructionInfo> = {};
  for (const [codes, condition] of CONDITIONS) for (const cc of codes) out[prefix + cc] = make(condition);
  return out;
}

// ---- the table ---------------------------------------------------------------------------------

const INT_N: InstructionInfo = {
  summary: 'Software interrupt: calls the handler of vector n through the IDT.',
  sensitive: `${FAR_TRANSFER}; the gate's DPL is checked against CPL`,
  trap: 'the VMM owns the real IDT: the interrupt enters the VMM, which delivers it through the guest\'s virtual IDT',
  bt: 'replaced by a call into the VMM that delivers it through the guest\'s virtual IDT',
  pv: 'vector 0x82 is the hypercall trap (EAX = hypercall number)',
};

const IRET: InstructionInfo = {
  summary: 'Interrupt return: pops EIP, CS and EFLAGS (and ESP, SS on a return to an outer ring).',
  sensitive: `the same silent drops as POPF on the popped EFLAGS (${POPF_DROPS})`,
  exit: { reason: EXIT_REASON.TASK_SWITCH, when: 'unconditional when EFLAGS.NT = 1 makes it a task switch' },
  pv: 'the iret hypercall (23)',
};

const POPF: InstructionInfo = {
  summary: 'Pops the top of the stack into EFLAGS.',
  sensitive: POPF_DROPS,
};

const PUSHF: InstructionInfo = {
  summary: 'Pushes EFLAGS.',
  sensitive: 'pushes the real EFLAGS (IF, IOPL), not the guest\'s virtual ones',
};

const RET_FAR: InstructionInfo = {
  summary: 'Far return: pops EIP and CS (and ESP, SS on a return to an outer ring).',
  sensitive: FAR_TRANSFER,
  bt: BRANCH_BT,
};

const RET_NEAR: InstructionInfo = { summary: 'Near return: pops EIP (and releases n more bytes of stack).', bt: BRANCH_BT };

const FAR_FORM = (what: string): InstructionInfo => ({
  summary: `Far ${what}: loads CS:EIP from a selector and offset (or through a call gate or task gate).`,
  sensitive: FAR_TRANSFER,
  exit: { reason: EXIT_REASON.TASK_SWITCH, when: 'unconditional when the target is a TSS or task gate' },
  bt: BRANCH_BT,
});

const LOOP = (condition: string): InstructionInfo => ({ summary: `Decrements ECX and jumps if ECX ≠ 0${condition}.`, bt: BRANCH_BT });

const STRING = (op: string, width: string): InstructionInfo => ({ summary: `${op} a ${width} (string instruction; repeats with REP).` });

const BCD = (what: string): InstructionInfo => ({ summary: `${what} (BCD arithmetic on AL/AX).` });

const MOV_CR_DATA = 'the VMM keeps the guest\'s virtual control registers';

export const INSTRUCTIONS: Readonly<Record<string, InstructionInfo>> = {
  // Data movement
  mov: {
    summary: 'Copies the source operand to the destination.',
    forms: {
      'to CR0/CR4': {
        summary: 'Loads a control register (CR0: protection, paging, caching; CR4: extensions).',
        privileged: 'cpl0',
        exit: { reason: EXIT_REASON.CR_ACCESS, when: 'when the value differs from the read shadow in a bit set in the CR0/CR4 guest/host mask' },
        trap: `faults with #GP(0) at CPL 1; the VMM updates the guest's virtual register (${MOV_CR_DATA})`,
      },
      'to CR3': {
        summary: 'Loads CR3: the page-directory base; flushes the non-global TLB entries.',
        privileged: 'cpl0',
        exit: { reason: EXIT_REASON.CR_ACCESS, when: `when CR3-load exiting (${PRIMARY} bit 15) is set and the value is not one of the CR3-target values` },
        trap: 'faults with #GP(0) at CPL 1; the VMM switches to the shadow page tables of the new guest page directory',
        bt: 'replaced by a call into the VMM, which switches to the shadow page tables of the new guest page directory',
        pv: 'mmuext_op (26) with NEW_BASEPTR (5)',
      },
      'to CR2': { summary: 'Loads CR2 (the page-fault linear address).', privileged: 'cpl0' },
      'from CR0/CR4': {
        summary: 'Reads a control register.',
        privileged: 'cpl0',
        trap: `faults with #GP(0) at CPL 1; the VMM returns the guest's virtual register (${MOV_CR_DATA})`,
      },
      'from CR2': { summary: 'Reads CR2: the linear address of the last page fault.', privileged: 'cpl0' },
      'from CR3': {
        summary: 'Reads CR3: the page-directory base.',
        privileged: 'cpl0',
        exit: onControl(EXIT_REASON.CR_ACCESS, `CR3-store exiting (${PRIMARY} bit 16)`),
      },
      'to DR': { summary: 'Loads a debug register.', privileged: 'cpl0', exit: onControl(EXIT_REASON.DR_ACCESS, `MOV-DR exiting (${PRIMARY} bit 23)`) },
      'from DR': { summary: 'Reads a debug register.', privileged: 'cpl0', exit: onControl(EXIT_REASON.DR_ACCESS, `MOV-DR exiting (${PRIMARY} bit 23)`) },
      'to Sreg': { summary: 'Loads a segment register with a selector (and the descriptor it selects).', sensitive: SEGMENT_LOAD },
      'from CS/SS': { summary: 'Copies the CS or SS selector.', sensitive: SELECTOR_RPL },
    },
  },
  movzx: { summary: 'Copies a byte or word, zero-extended.' },
  movsx: { summary: 'Copies a byte or word, sign-extended.' },
  xchg: { summary: 'Exchanges the two operands (locked when one is memory).' },
  lea: { summary: 'Loads the effective address of the memory operand (no memory access).' },
  push: {
    summary: 'Decrements ESP and stores the operand on the stack.',
    forms: { 'CS/SS': { summary: 'Pushes the CS or SS selector.', sensitive: SELECTOR_RPL } },
  },
  pop: {
    summary: 'Loads the operand from the stack and increments ESP.',
    forms: { Sreg: { summary: 'Pops a selector into a segment register.', sensitive: SEGMENT_LOAD } },
  },
  pusha: { summary: 'Pushes the eight general registers (16- or 32-bit by operand size).' },
  pushad: { summary: 'Pushes EAX, ECX, EDX, EBX, the original ESP, EBP, ESI, EDI.' },
  pushaw: { summary: 'Pushes AX, CX, DX, BX, the original SP, BP, SI, DI.' },
  popa: { summary: 'Pops the eight general registers (the saved ESP is skipped).' },
  popad: { summary: 'Pops EDI, ESI, EBP, (skips ESP), EBX, EDX, ECX, EAX.' },
  popaw: { summary: 'Pops DI, SI, BP, (skips SP), BX, DX, CX, AX.' },
  pushf: PUSHF,
  pushfd: PUSHF,
  pushfw: PUSHF,
  popf: POPF,
  popfd: POPF,
  popfw: POPF,
  lahf: { summary: 'Loads SF, ZF, AF, PF and CF into AH.' },
  sahf: { summary: 'Stores AH into SF, ZF, AF, PF and CF.' },
  cbw: { summary: 'Sign-extends AL into AX.' },
  cwde: { summary: 'Sign-extends AX into EAX.' },
  cwd: { summary: 'Sign-extends AX into DX:AX.' },
  cdq: { summary: 'Sign-extends EAX into EDX:EAX.' },
  bswap: { summary: 'Reverses the byte order of a 32-bit register.' },
  xlat: { summary: 'AL = byte at [EBX + AL].' },
  xlatb: { summary: 'AL = byte at [EBX + AL].' },
  lds: { summary: 'Loads a far pointer into DS and a register.', sensitive: SEGMENT_LOAD },
  les: { summary: 'Loads a far pointer into ES and a register.', sensitive: SEGMENT_LOAD },
  lfs: { summary: 'Loads a far pointer into FS and a register.', sensitive: SEGMENT_LOAD },
  lgs: { summary: 'Loads a far pointer into GS and a register.', sensitive: SEGMENT_LOAD },
  lss: { summary: 'Loads a far pointer into SS and a register (a stack switch in one instruction).', sensitive: SEGMENT_LOAD },
  cmpxchg: { summary: 'Compares EAX (AL, AX) with the destination; if equal stores the source there, else loads the destination into EAX.' },
  cmpxchg8b: { summary: 'Compares EDX:EAX with a quadword; if equal stores ECX:EBX there, else loads it into EDX:EAX.' },
  xadd: { summary: 'Exchanges the operands and stores their sum in the destination.' },
  ...conditionFamily('cmov', (c) => ({ summary: `Moves if ${c}.` })),

  // Arithmetic and logic
  add: { summary: 'Adds the source to the destination.' },
  adc: { summary: 'Adds the source and CF to the destination.' },
  sub: { summary: 'Subtracts the source from the destination.' },
  sbb: { summary: 'Subtracts the source and CF from the destination.' },
  cmp: { summary: 'Subtracts the source from the destination, setting the flags only.' },
  inc: { summary: 'Adds 1 (CF unchanged).' },
  dec: { summary: 'Subtracts 1 (CF unchanged).' },
  neg: { summary: 'Two\'s-complement negation.' },
  mul: { summary: 'Unsigned multiply: EDX:EAX = EAX × operand (AX = AL × byte, DX:AX = AX × word).' },
  imul: { summary: 'Signed multiply (one operand: into EDX:EAX; two or three operands: into the destination).' },
  div: { summary: 'Unsigned divide of EDX:EAX (DX:AX, AX) by the operand: quotient in EAX, remainder in EDX.', exit: exceptionExit(0, '#DE on a zero divisor or an overflowing quotient') },
  idiv: { summary: 'Signed divide of EDX:EAX (DX:AX, AX) by the operand: quotient in EAX, remainder in EDX.', exit: exceptionExit(0, '#DE on a zero divisor or an overflowing quotient') },
  and: { summary: 'Bitwise AND.' },
  or: { summary: 'Bitwise OR.' },
  xor: { summary: 'Bitwise exclusive OR (`xor r, r` clears a register).' },
  not: { summary: 'Bitwise complement (flags unchanged).' },
  test: { summary: 'Bitwise AND, setting the flags only.' },
  shl: { summary: 'Shifts left; the last bit out goes to CF.' },
  sal: { summary: 'Shifts left (the same as SHL).' },
  shr: { summary: 'Shifts right unsigned; the last bit out goes to CF.' },
  sar: { summary: 'Shifts right signed (copies of the sign bit come in).' },
  rol: { summary: 'Rotates left.' },
  ror: { summary: 'Rotates right.' },
  rcl: { summary: 'Rotates left through CF.' },
  rcr: { summary: 'Rotates right through CF.' },
  shld: { summary: 'Shifts left, filling from the second operand (double-precision shift).' },
  shrd: { summary: 'Shifts right, filling from the second operand (double-precision shift).' },
  bt: { summary: 'Copies bit n of the operand to CF.' },
  bts: { summary: 'Copies bit n to CF and sets it.' },
  btr: { summary: 'Copies bit n to CF and clears it.' },
  btc: { summary: 'Copies bit n to CF and complements it.' },
  bsf: { summary: 'Index of the lowest set bit (ZF = 1 if the source is zero).' },
  bsr: { summary: 'Index of the highest set bit (ZF = 1 if the source is zero).' },
  aaa: BCD('ASCII adjust after addition'),
  aas: BCD('ASCII adjust after subtraction'),
  aam: BCD('ASCII adjust after multiplication'),
  aad: BCD('ASCII adjust before division'),
  daa: BCD('Decimal adjust after addition'),
  das: BCD('Decimal adjust after subtraction'),
  salc: { summary: 'Sets AL to 0xFF if CF = 1, else 0 (undocumented).' },
  ...conditionFamily('set', (c) => ({ summary: `Sets the byte to 1 if ${c}, else 0.` })),

  // Control transfer
  jmp: {
    summary: 'Jumps to the target.',
    bt: BRANCH_BT,
    forms: { far: FAR_FORM('jump') },
  },
  call: {
    summary: 'Pushes the return address and jumps to the target.',
    bt: BRANCH_BT,
    forms: { far: FAR_FORM('call') },
  },
  ret: RET_NEAR,
  retn: RET_NEAR,
  retw: RET_NEAR,
  retd: RET_NEAR,
  retnw: RET_NEAR,
  retnd: RET_NEAR,
  retf: RET_FAR,
  retfw: RET_FAR,
  retfd: RET_FAR,
  iret: IRET,
  iretd: IRET,
  iretw: IRET,
  ...conditionFamily('j', (c) => ({ summary: `Jumps if ${c}.`, bt: BRANCH_BT })),
  jcxz: { summary: 'Jumps if CX = 0.', bt: BRANCH_BT },
  jecxz: { summary: 'Jumps if ECX = 0.', bt: BRANCH_BT },
  loop: LOOP(''),
  loope: LOOP(' and ZF = 1'),
  loopz: LOOP(' and ZF = 1'),
  loopne: LOOP(' and ZF = 0'),
  loopnz: LOOP(' and ZF = 0'),
  enter: { summary: 'Makes a stack frame: pushes EBP, sets EBP = ESP, reserves n bytes (nested levels optional).' },
  leave: { summary: 'Releases the stack frame: ESP = EBP, pops EBP.' },
  int: INT_N,
  int3: { summary: 'Breakpoint: raises #BP (vector 3).', sensitive: FAR_TRANSFER, exit: exceptionExit(3, '#BP') },
  int03: { summary: 'Breakpoint: raises #BP (vector 3), the two-byte form CD 03.', sensitive: FAR_TRANSFER, exit: exceptionExit(3, '#BP') },
  into: { summary: 'Raises #OF (vector 4) if OF = 1.', sensitive: FAR_TRANSFER, exit: exceptionExit(4, '#OF') },
  int1: { summary: 'ICEBP: raises #DB (vector 1).', exit: exceptionExit(1, '#DB') },
  int01: { summary: 'ICEBP: raises #DB (vector 1).', exit: exceptionExit(1, '#DB') },
  icebp: { summary: 'ICEBP: raises #DB (vector 1).', exit: exceptionExit(1, '#DB') },
  smi: { summary: 'ICEBP (F1), nasm\'s name for it as an SMM entry on some processors: raises #DB (vector 1).', exit: exceptionExit(1, '#DB') },
  bound: { summary: 'Raises #BR (vector 5) if the index is outside the bounds in memory.', exit: exceptionExit(5, '#BR') },
  ud0: { summary: 'Undefined instruction: raises #UD (vector 6).', exit: exceptionExit(6, '#UD') },
  ud1: { summary: 'Undefined instruction: raises #UD (vector 6).', exit: exceptionExit(6, '#UD') },
  ud2: { summary: 'Undefined instruction: raises #UD (vector 6).', exit: exceptionExit(6, '#UD') },
  ud2a: { summary: 'Undefined instruction: raises #UD (vector 6).', exit: exceptionExit(6, '#UD') },
  ud2b: { summary: 'Undefined instruction: raises #UD (vector 6).', exit: exceptionExit(6, '#UD') },
  sysenter: { summary: 'Fast system call: loads CS, EIP, SS, ESP from the SYSENTER MSRs and enters ring 0.' },
  sysexit: { summary: 'Fast return to ring 3: CS and SS from SYSENTER_CS + 16/24, EIP = EDX, ESP = ECX.', privileged: 'cpl0' },

  // Flags
  clc: { summary: 'Clears CF.' },
  stc: { summary: 'Sets CF.' },
  cmc: { summary: 'Complements CF.' },
  cld: { summary: 'Clears DF: string instructions go up.' },
  std: { summary: 'Sets DF: string instructions go down.' },
  cli: {
    summary: 'Clears IF: maskable interrupts are held off.',
    privileged: 'iopl',
    trap: 'faults with #GP(0) at CPL 1 (IOPL 0); the VMM clears the guest\'s virtual IF',
    bt: 'replaced by a call into the VMM (or an inline write) that clears the guest\'s virtual IF',
  },
  sti: {
    summary: 'Sets IF: maskable interrupts are taken after the next instruction.',
    privileged: 'iopl',
    trap: 'faults with #GP(0) at CPL 1 (IOPL 0); the VMM sets the guest\'s virtual IF and delivers pending interrupts',
    bt: 'replaced by a call into the VMM that sets the guest\'s virtual IF',
  },

  // Strings
  movsb: STRING('Copies [ESI] to [EDI]:', 'byte'),
  movsw: STRING('Copies [ESI] to [EDI]:', 'word'),
  movsd: STRING('Copies [ESI] to [EDI]:', 'doubleword'),
  cmpsb: STRING('Compares [ESI] with [EDI]:', 'byte'),
  cmpsw: STRING('Compares [ESI] with [EDI]:', 'word'),
  cmpsd: STRING('Compares [ESI] with [EDI]:', 'doubleword'),
  scasb: STRING('Compares AL with [EDI]:', 'byte'),
  scasw: STRING('Compares AX with [EDI]:', 'word'),
  scasd: STRING('Compares EAX with [EDI]:', 'doubleword'),
  lodsb: STRING('Loads [ESI] into AL:', 'byte'),
  lodsw: STRING('Loads [ESI] into AX:', 'word'),
  lodsd: STRING('Loads [ESI] into EAX:', 'doubleword'),
  stosb: STRING('Stores AL at [EDI]:', 'byte'),
  stosw: STRING('Stores AX at [EDI]:', 'word'),
  stosd: STRING('Stores EAX at [EDI]:', 'doubleword'),

  // Port I/O
  in: { summary: 'Reads a byte, word or doubleword from an I/O port (immediate or DX) into AL/AX/EAX.', ...PORT_IO },
  out: { summary: 'Writes AL/AX/EAX to an I/O port (immediate or DX).', ...PORT_IO },
  insb: { summary: 'Reads a byte from port DX to [EDI] (repeats with REP).', ...PORT_IO },
  insw: { summary: 'Reads a word from port DX to [EDI] (repeats with REP).', ...PORT_IO },
  insd: { summary: 'Reads a doubleword from port DX to [EDI] (repeats with REP).', ...PORT_IO },
  outsb: { summary: 'Writes the byte at [ESI] to port DX (repeats with REP).', ...PORT_IO },
  outsw: { summary: 'Writes the word at [ESI] to port DX (repeats with REP).', ...PORT_IO },
  outsd: { summary: 'Writes the doubleword at [ESI] to port DX (repeats with REP).', ...PORT_IO },

  // System
  hlt: {
    summary: 'Halts until the next interrupt (or NMI, SMI, INIT, reset).',
    privileged: 'cpl0',
    exit: onControl(EXIT_REASON.HLT, `HLT exiting (${PRIMARY} bit 7)`),
    trap: 'faults with #GP(0) at CPL 1; the VMM idles the virtual CPU until its next virtual interrupt',
    pv: 'sched_op (29) with cmd block (1)',
  },
  lgdt: {
    summary: 'Loads GDTR (limit and base) from memory.',
    privileged: 'cpl0',
    exit: onControl(EXIT_REASON.GDTR_IDTR, DESCRIPTOR_TABLE),
    trap: 'faults with #GP(0) at CPL 1; the VMM records the guest\'s virtual GDTR and builds its own GDT from it',
    pv: 'set_gdt (2)',
  },
  lidt: {
    summary: 'Loads IDTR (limit and base) from memory.',
    privileged: 'cpl0',
    exit: onControl(EXIT_REASON.GDTR_IDTR, DESCRIPTOR_TABLE),
    trap: 'faults with #GP(0) at CPL 1; the VMM records the guest\'s virtual IDTR and keeps the real IDT its own',
    pv: 'set_trap_table (0)',
  },
  lldt: { summary: 'Loads LDTR with a selector of an LDT descriptor in the GDT.', privileged: 'cpl0', exit: onControl(EXIT_REASON.LDTR_TR, DESCRIPTOR_TABLE) },
  ltr: {
    summary: 'Loads TR with a selector of an available TSS descriptor and marks it busy.',
    privileged: 'cpl0',
    exit: onControl(EXIT_REASON.LDTR_TR, DESCRIPTOR_TABLE),
    pv: 'stack_switch (3) for the kernel stack used on traps from ring 3',
  },
  sgdt: { summary: 'Stores GDTR (limit and base) to memory.', sensitive: TABLE_REGISTER('GDTR'), exit: onControl(EXIT_REASON.GDTR_IDTR, DESCRIPTOR_TABLE) },
  sidt: { summary: 'Stores IDTR (limit and base) to memory.', sensitive: TABLE_REGISTER('IDTR'), exit: onControl(EXIT_REASON.GDTR_IDTR, DESCRIPTOR_TABLE) },
  sldt: { summary: 'Stores the LDTR selector.', sensitive: TABLE_REGISTER('LDTR'), exit: onControl(EXIT_REASON.LDTR_TR, DESCRIPTOR_TABLE) },
  str: { summary: 'Stores the TR selector.', sensitive: TABLE_REGISTER('TR'), exit: onControl(EXIT_REASON.LDTR_TR, DESCRIPTOR_TABLE) },
  lmsw: {
    summary: 'Loads the machine status word: CR0 bits 3:0 (PE, MP, EM, TS); PE cannot be cleared.',
    privileged: 'cpl0',
    exit: { reason: EXIT_REASON.CR_ACCESS, when: 'when it would change a bit of PE, MP, EM or TS that is set in the CR0 guest/host mask from its read shadow' },
  },
  smsw: { summary: 'Stores the machine status word (the low 16 bits of CR0).', sensitive: 'no fault; reveals the real CR0 low bits' },
  clts: {
    summary: 'Clears CR0.TS (task switched), after the FPU state of the new task is in place.',
    privileged: 'cpl0',
    exit: { reason: EXIT_REASON.CR_ACCESS, when: 'when TS is set in both the CR0 guest/host mask and the CR0 read shadow' },
    pv: 'fpu_taskswitch (5) with set = 0',
  },
  invlpg: {
    summary: 'Invalidates the TLB entry of the page holding the memory operand.',
    privileged: 'cpl0',
    exit: onControl(EXIT_REASON.INVLPG, `INVLPG exiting (${PRIMARY} bit 9)`),
    trap: 'faults with #GP(0) at CPL 1; the VMM drops the shadow mapping of that page',
    pv: 'mmuext_op (26) with INVLPG_LOCAL (7), or update_va_mapping (14) with flags invlpg (2)',
  },
  invd: { summary: 'Invalidates the caches without writing them back.', privileged: 'cpl0', exit: unconditional(EXIT_REASON.INVD) },
  wbinvd: { summary: 'Writes back and invalidates the caches.', privileged: 'cpl0', exit: onControl(EXIT_REASON.WBINVD, `WBINVD exiting (${SECONDARY} bit 6)`) },
  rdmsr: {
    summary: 'Reads the model-specific register ECX into EDX:EAX.',
    privileged: 'cpl0',
    exit: { reason: EXIT_REASON.MSR_READ, when: `unconditional, or with use MSR bitmaps (${PRIMARY} bit 28) when the MSR's read bit is set` },
  },
  wrmsr: {
    summary: 'Writes EDX:EAX to the model-specific register ECX.',
    privileged: 'cpl0',
    exit: { reason: EXIT_REASON.MSR_WRITE, when: `unconditional, or with use MSR bitmaps (${PRIMARY} bit 28) when the MSR's write bit is set` },
  },
  rdtsc: {
    summary: 'Reads the time-stamp counter into EDX:EAX.',
    privileged: '#GP(0) at CPL > 0 when CR4.TSD = 1',
    exit: onControl(EXIT_REASON.RDTSC, `RDTSC exiting (${PRIMARY} bit 12)`),
  },
  rdpmc: {
    summary: 'Reads performance-monitoring counter ECX into EDX:EAX.',
    privileged: '#GP(0) at CPL > 0 when CR4.PCE = 0',
    exit: onControl(EXIT_REASON.RDPMC, `RDPMC exiting (${PRIMARY} bit 11)`),
  },
  cpuid: {
    summary: 'Processor identification: EAX (and ECX) select a leaf; results in EAX, EBX, ECX, EDX.',
    exit: unconditional(EXIT_REASON.CPUID),
    trap: 'runs without trapping (CPUID does not trap on IA-32 without VT-x) and reveals the host processor',
    bt: 'replaced by a call into the VMM, which returns the virtual processor\'s identification',
  },
  lar: { summary: 'Loads the access rights of the descriptor a selector names (ZF = 1 if it is accessible).', sensitive: DESCRIPTOR_CHECK },
  lsl: { summary: 'Loads the segment limit of the descriptor a selector names (ZF = 1 if it is accessible).', sensitive: DESCRIPTOR_CHECK },
  verr: { summary: 'Sets ZF if the segment a selector names is readable at the current CPL.', sensitive: DESCRIPTOR_CHECK },
  verw: { summary: 'Sets ZF if the segment a selector names is writable at the current CPL.', sensitive: DESCRIPTOR_CHECK },
  arpl: { summary: 'Raises the RPL of the destination selector to that of the source (ZF = 1 if changed).' },
  nop: { summary: 'No operation.' },
  pause: { summary: 'Spin-wait hint (F3 90).', exit: onControl(EXIT_REASON.PAUSE, `PAUSE exiting (${PRIMARY} bit 30)`) },
  wait: { summary: 'Waits for pending unmasked x87 exceptions.' },
  fwait: { summary: 'Waits for pending unmasked x87 exceptions.' },

  // VMX
  vmxon: { summary: 'Enters VMX operation with the VMXON region at the given physical address.', privileged: 'cpl0', note: VMX_ONLY, exit: unconditional(EXIT_REASON.VMXON) },
  vmxoff: { summary: 'Leaves VMX operation.', privileged: 'cpl0', note: VMX_ONLY, exit: unconditional(EXIT_REASON.VMXOFF) },
  vmclear: { summary: 'Makes a VMCS clear (inactive, not launched) and writes its state to memory.', privileged: 'cpl0', note: VMX_ONLY, exit: unconditional(EXIT_REASON.VMCLEAR) },
  vmptrld: { summary: 'Makes the VMCS at the given physical address current.', privileged: 'cpl0', note: VMX_ONLY, exit: unconditional(EXIT_REASON.VMPTRLD) },
  vmptrst: { summary: 'Stores the physical address of the current VMCS.', privileged: 'cpl0', note: VMX_ONLY, exit: unconditional(EXIT_REASON.VMPTRST) },
  vmread: { summary: 'Reads the VMCS field whose encoding is in the source register.', privileged: 'cpl0', note: VMX_ONLY, exit: unconditional(EXIT_REASON.VMREAD) },
  vmwrite: { summary: 'Writes a VMCS field; the encoding is in the first source register.', privileged: 'cpl0', note: VMX_ONLY, exit: unconditional(EXIT_REASON.VMWRITE) },
  vmlaunch: { summary: 'Enters VMX non-root operation with the current (clear) VMCS.', privileged: 'cpl0', note: VMX_ONLY, exit: unconditional(EXIT_REASON.VMLAUNCH) },
  vmresume: { summary: 'Re-enters VMX non-root operation with the current (launched) VMCS.', privileged: 'cpl0', note: VMX_ONLY, exit: unconditional(EXIT_REASON.VMRESUME) },
  vmcall: {
    summary: 'Calls the VMM from VMX non-root operation.',
    exit: unconditional(EXIT_REASON.VMCALL),
    note: 'raises #UD outside VMX non-root operation, as under `trap` and `bt`',
    trap: 'raises #UD: there is no VMX operation under `trap`',
    bt: 'raises #UD: there is no VMX operation under `bt`',
    pv: 'the hypercall instruction under hardware assistance (EAX = hypercall number)',
  },
  vmfunc: { summary: 'Invokes VM function EAX (such as EPTP switching) without a VM exit.' },
  invept: { summary: 'Invalidates EPT-derived TLB entries (type in the register, descriptor in memory).', privileged: 'cpl0', note: VMX_ONLY, exit: unconditional(EXIT_REASON.INVEPT) },
  invvpid: { summary: 'Invalidates TLB entries by VPID (type in the register, descriptor in memory).', privileged: 'cpl0', note: VMX_ONLY, exit: unconditional(EXIT_REASON.INVVPID) },
};

/** Segment registers whose selector reveals the CPL when copied (fact sheet: PUSH CS / SS, MOV from CS / SS). */
const RPL_REVEALING = new Set(['cs', 'ss']);
const SEGMENT_REGISTERS = new Set(['es', 'cs', 'ss', 'ds', 'fs', 'gs']);

/**
 * The operand form of an instruction with `forms`, from its lower-case operand texts:
 * MOV to/from a control, debug or segment register, PUSH CS/SS, POP Sreg, far JMP/CALL.
 */
function instructionForm(mnemonic: string, operands: readonly string[]): string | undefined {
  const [a = '', b = ''] = operands.map((o) => o.trim().toLowerCase());
  switch (mnemonic) {
    case 'mov':
      if (/^cr[04]$/.test(a)) return 'to CR0/CR4';
      if (a === 'cr3') return 'to CR3';
      if (a === 'cr2') return 'to CR2';
      if (/^cr[04]$/.test(b)) return 'from CR0/CR4';
      if (b === 'cr3') return 'from CR3';
      if (b === 'cr2') return 'from CR2';
      if (/^dr\d$/.test(a)) return 'to DR';
      if (/^dr\d$/.test(b)) return 'from DR';
      if (SEGMENT_REGISTERS.has(a)) return 'to Sreg';
      if (RPL_REVEALING.has(b)) return 'from CS/SS';
      return undefined;
    case 'push':
      return RPL_REVEALING.has(a) ? 'CS/SS' : undefined;
    case 'pop':
      return SEGMENT_REGISTERS.has(a) ? 'Sreg' : undefined;
    case 'jmp':
    case 'call':
      return /^far\b/.test(a) || /^[^[]*:/.test(a) ? 'far' : undefined;
    default:
      return undefined;
  }
}

/** The entry for an instruction with its operands, the form's entry where it has one. */
export function instructionInfo(mnemonic: string, operands: readonly string[] = []): InstructionInfo | undefined {
  const base = INSTRUCTIONS[mnemonic];
  if (base === undefined) return undefined;
  const form = instructionForm(mnemonic, operands);
  return (form !== undefined && base.forms?.[form]) || base;
}

/** What `trap` and `bt` do with an instruction: its own text, or its class's. */
export function modeBehaviour(info: InstructionInfo): { trap: string; bt: string } {
  if (info.privileged === 'cpl0' || info.privileged === 'iopl') {
    const why = info.privileged === 'iopl' ? ' (the VMM runs the guest with IOPL 0)' : '';
    return {
      trap: info.trap ?? `faults with #GP(0) at CPL 1${why}; the VMM emulates it on the virtual CPU`,
      bt: info.bt ?? 'replaced by a call into the VMM, which emulates it on the virtual CPU (no fault)',
    };
  }
  if (info.sensitive !== undefined) {
    return {
      trap: info.trap ?? 'runs without trapping at CPL 1 and gives the wrong answer: a virtualization hole, recorded by the VMM',
      bt: info.bt ?? 'replaced by a call into the VMM that does what ring 0 would: no hole',
    };
  }
  return {
    trap: info.trap ?? 'runs directly',
    bt: info.bt ?? 'copied into the translation unchanged',
  };
}
