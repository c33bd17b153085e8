/**
 * Basic VM-exit reasons (EXIT_REASON bits 15:0) and VM-instruction error numbers, as the fact
 * sheet lists them (shared/reference/x86-virt-facts.md, sections 1 and 4).
 */

export const EXIT_REASON = {
  EXCEPTION_NMI: 0, EXTERNAL_INTERRUPT: 1, TRIPLE_FAULT: 2, INIT_SIGNAL: 3, SIPI: 4, INTERRUPT_WINDOW: 7,
  NMI_WINDOW: 8, TASK_SWITCH: 9, CPUID: 10, HLT: 12, INVD: 13, INVLPG: 14, RDPMC: 15, RDTSC: 16, VMCALL: 18,
  VMCLEAR: 19, VMLAUNCH: 20, VMPTRLD: 21, VMPTRST: 22, VMREAD: 23, VMRESUME: 24, VMWRITE: 25, VMXOFF: 26,
  VMXON: 27, CR_ACCESS: 28, DR_ACCESS: 29, IO_INSTRUCTION: 30, MSR_READ: 31, MSR_WRITE: 32,
  INVALID_GUEST_STATE: 33, MSR_LOAD_FAIL: 34, MONITOR_TRAP_FLAG: 37, MONITOR: 39, PAUSE: 40,
  MCE_DURING_VMENTRY: 41, TPR_BELOW_THRESHOLD: 43, APIC_ACCESS: 44, GDTR_IDTR: 46, LDTR_TR: 47,
  EPT_VIOLATION: 48, EPT_MISCONFIG: 49, INVEPT: 50, RDTSCP: 51, PREEMPTION_TIMER: 52, INVVPID: 53, WBINVD: 54,
  XSETBV: 55,
} as const;

/** Bit 31 of the exit-reason field: the VM entry failed. */
export const EXIT_REASON_ENTRY_FAILURE = 0x8000_0000 | 0;

const REASON_NAMES = new Map<number, string>(Object.entries(EXIT_REASON).map(([name, n]) => [n, name]));

/** "CPUID", "EPT_VIOLATION", ... for a basic exit reason; "reason N" for one not in the table. */
export function exitReasonName(reason: number): string {
  return REASON_NAMES.get(reason & 0xffff) ?? `reason ${reason & 0xffff}`;
}

/** VM-instruction errors reported through VMfailValid in VM_INSTRUCTION_ERROR (field 4400). */
export const VM_ERROR = {
  VMCALL_IN_ROOT: 1,
  VMCLEAR_INVALID_ADDRESS: 2,
  VMCLEAR_VMXON_POINTER: 3,
  VMLAUNCH_NON_CLEAR: 4,
  VMRESUME_NON_LAUNCHED: 5,
  VMRESUME_AFTER_VMXOFF: 6,
  ENTRY_INVALID_CONTROLS: 7,
  ENTRY_INVALID_HOST_STATE: 8,
  VMPTRLD_INVALID_ADDRESS: 9,
  VMPTRLD_VMXON_POINTER: 10,
  VMPTRLD_WRONG_REVISION: 11,
  UNSUPPORTED_COMPONENT: 12,
  READ_ONLY_COMPONENT: 13,
  VMXON_IN_ROOT: 15,
  ENTRY_MOV_SS_BLOCKING: 26,
  INVALID_INVEPT_OPERAND: 28,
} as const;

const ERROR_TEXT: Record<number, string> = {
  1: 'VMCALL in VMX root operation', 2: 'VMCLEAR with invalid physical address', 3: 'VMCLEAR with VMXON pointer',
  4: 'VMLAUNCH with non-clear VMCS', 5: 'VMRESUME with non-launched VMCS', 6: 'VMRESUME after VMXOFF',
  7: 'VM entry with invalid control fields', 8: 'VM entry with invalid host-state fields',
  9: 'VMPTRLD with invalid physical address', 10: 'VMPTRLD with VMXON pointer', 11: 'VMPTRLD with wrong VMCS revision',
  12: 'VMREAD/VMWRITE of unsupported component', 13: 'VMWRITE to read-only component', 15: 'VMXON in VMX root operation',
  26: 'VM entry with events blocked by MOV SS', 28: 'invalid operand to INVEPT/INVVPID',
};

export function vmInstructionErrorText(error: number): string {
  return ERROR_TEXT[error] ?? `VM-instruction error ${error}`;
}
