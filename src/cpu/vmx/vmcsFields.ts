/**
 * The VMCS fields as data: every field this processor supports, grouped as the fact sheet
 * (shared/reference/x86-virt-facts.md, section 2) groups them, with the width and type each
 * group has. An encoding packs access type (bit 0), index (9:1), type (11:10) and width
 * (14:13) (SDM Vol. 3C, 24.11.2); the decoders below read those bits back.
 *
 * On a processor without Intel 64 (this one), natural-width fields are 32 bits wide. A 64-bit
 * field has a second encoding, its own plus 1, that reads or writes its high 32 bits.
 */

export const enum FieldWidth { Bits16 = 0, Bits64 = 1, Bits32 = 2, Natural = 3 }
export const enum FieldType { Control = 0, ExitInfo = 1, Guest = 2, Host = 3 }

const GUEST_SELECTORS = {
  GUEST_ES_SELECTOR: 0x0800, GUEST_CS_SELECTOR: 0x0802, GUEST_SS_SELECTOR: 0x0804, GUEST_DS_SELECTOR: 0x0806,
  GUEST_FS_SELECTOR: 0x0808, GUEST_GS_SELECTOR: 0x080a, GUEST_LDTR_SELECTOR: 0x080c, GUEST_TR_SELECTOR: 0x080e,
} as const;

const HOST_SELECTORS = {
  HOST_ES_SELECTOR: 0x0c00, HOST_CS_SELECTOR: 0x0c02, HOST_SS_SELECTOR: 0x0c04, HOST_DS_SELECTOR: 0x0c06,
  HOST_FS_SELECTOR: 0x0c08, HOST_GS_SELECTOR: 0x0c0a, HOST_TR_SELECTOR: 0x0c0c,
} as const;

/** The fact sheet lists VPID in the host-selector row; its encoding says 16-bit control. */
const CONTROLS_16 = { VPID: 0x0000 } as const;

const GUEST_LIMITS = {
  GUEST_ES_LIMIT: 0x4800, GUEST_CS_LIMIT: 0x4802, GUEST_SS_LIMIT: 0x4804, GUEST_DS_LIMIT: 0x4806,
  GUEST_FS_LIMIT: 0x4808, GUEST_GS_LIMIT: 0x480a, GUEST_LDTR_LIMIT: 0x480c, GUEST_TR_LIMIT: 0x480e,
  GUEST_GDTR_LIMIT: 0x4810, GUEST_IDTR_LIMIT: 0x4812,
} as const;

const GUEST_ACCESS_RIGHTS = {
  GUEST_ES_AR: 0x4814, GUEST_CS_AR: 0x4816, GUEST_SS_AR: 0x4818, GUEST_DS_AR: 0x481a,
  GUEST_FS_AR: 0x481c, GUEST_GS_AR: 0x481e, GUEST_LDTR_AR: 0x4820, GUEST_TR_AR: 0x4822,
} as const;

const GUEST_MISC_32 = {
  GUEST_INTERRUPTIBILITY: 0x4824, GUEST_ACTIVITY_STATE: 0x4826, GUEST_SYSENTER_CS: 0x482a,
  GUEST_PREEMPTION_TIMER: 0x482e,
} as const;

const GUEST_NATURAL = {
  GUEST_CR0: 0x6800, GUEST_CR3: 0x6802, GUEST_CR4: 0x6804,
  GUEST_ES_BASE: 0x6806, GUEST_CS_BASE: 0x6808, GUEST_SS_BASE: 0x680a, GUEST_DS_BASE: 0x680c,
  GUEST_FS_BASE: 0x680e, GUEST_GS_BASE: 0x6810, GUEST_LDTR_BASE: 0x6812, GUEST_TR_BASE: 0x6814,
  GUEST_GDTR_BASE: 0x6816, GUEST_IDTR_BASE: 0x6818, GUEST_DR7: 0x681a, GUEST_RSP: 0x681c, GUEST_RIP: 0x681e,
  GUEST_RFLAGS: 0x6820, GUEST_PENDING_DBG: 0x6822, GUEST_SYSENTER_ESP: 0x6824, GUEST_SYSENTER_EIP: 0x6826,
} as const;

const GUEST_64 = {
  VMCS_LINK_PTR: 0x2800, GUEST_DEBUGCTL: 0x2802, GUEST_PAT: 0x2804, GUEST_EFER: 0x2806,
  GUEST_PDPTE0: 0x280a, GUEST_PDPTE1: 0x280c, GUEST_PDPTE2: 0x280e, GUEST_PDPTE3: 0x2810,
} as const;

const HOST_NATURAL = {
  HOST_CR0: 0x6c00, HOST_CR3: 0x6c02, HOST_CR4: 0x6c04, HOST_FS_BASE: 0x6c06, HOST_GS_BASE: 0x6c08,
  HOST_TR_BASE: 0x6c0a, HOST_GDTR_BASE: 0x6c0c, HOST_IDTR_BASE: 0x6c0e, HOST_SYSENTER_ESP: 0x6c10,
  HOST_SYSENTER_EIP: 0x6c12, HOST_RSP: 0x6c14, HOST_RIP: 0x6c16,
} as const;

const HOST_32 = { HOST_SYSENTER_CS: 0x4c00 } as const;

const CONTROLS_32 = {
  PIN_BASED: 0x4000, PRIMARY_PROC: 0x4002, EXCEPTION_BITMAP: 0x4004, PF_ERRCODE_MASK: 0x4006,
  PF_ERRCODE_MATCH: 0x4008, CR3_TARGET_COUNT: 0x400a, EXIT_CONTROLS: 0x400c, EXIT_MSR_STORE_COUNT: 0x400e,
  EXIT_MSR_LOAD_COUNT: 0x4010, ENTRY_CONTROLS: 0x4012, ENTRY_MSR_LOAD_COUNT: 0x4014, ENTRY_INTR_INFO: 0x4016,
  ENTRY_EXCEPTION_ERRCODE: 0x4018, ENTRY_INSTR_LEN: 0x401a, TPR_THRESHOLD: 0x401c, SECONDARY_PROC: 0x401e,
} as const;

const CONTROLS_NATURAL = {
  CR0_GUEST_HOST_MASK: 0x6000, CR4_GUEST_HOST_MASK: 0x6002, CR0_READ_SHADOW: 0x6004, CR4_READ_SHADOW: 0x6006,
  CR3_TARGET0: 0x6008, CR3_TARGET1: 0x600a, CR3_TARGET2: 0x600c, CR3_TARGET3: 0x600e,
} as const;

const CONTROLS_64 = {
  IO_BITMAP_A: 0x2000, IO_BITMAP_B: 0x2002, MSR_BITMAP: 0x2004, EXIT_MSR_STORE: 0x2006, EXIT_MSR_LOAD: 0x2008,
  ENTRY_MSR_LOAD: 0x200a, TSC_OFFSET: 0x2010, EPT_POINTER: 0x201a,
} as const;

const EXIT_INFO_32 = {
  VM_INSTRUCTION_ERROR: 0x4400, EXIT_REASON: 0x4402, EXIT_INTR_INFO: 0x4404, EXIT_INTR_ERRCODE: 0x4406,
  IDT_VECTORING_INFO: 0x4408, IDT_VECTORING_ERRCODE: 0x440a, EXIT_INSTR_LEN: 0x440c, EXIT_INSTR_INFO: 0x440e,
} as const;

const EXIT_INFO_NATURAL = { EXIT_QUALIFICATION: 0x6400, GUEST_LINEAR_ADDR: 0x640a } as const;

const EXIT_INFO_64 = { GUEST_PHYSICAL_ADDR: 0x2400 } as const;

/** Every supported field by name: `VMCS.GUEST_CR0` is 0x6800. */
export const VMCS = {
  ...CONTROLS_16, ...GUEST_SELECTORS, ...HOST_SELECTORS, ...GUEST_LIMITS, ...GUEST_ACCESS_RIGHTS, ...GUEST_MISC_32,
  ...GUEST_NATURAL, ...GUEST_64, ...HOST_NATURAL, ...HOST_32, ...CONTROLS_32, ...CONTROLS_NATURAL, ...CONTROLS_64,
  ...EXIT_INFO_32, ...EXIT_INFO_NATURAL, ...EXIT_INFO_64,
} as const;

export type VmcsFieldName = keyof typeof VMCS;

export interface VmcsField {
  readonly encoding: number;
  readonly name: string;
  readonly width: FieldWidth;
  readonly type: FieldType;
  /** The fact sheet's group. */
  readonly group: string;
  /** VM-exit information: VMWRITE fails with error 13 (IA32_VMX_MISC bit 29 is 0). */
  readonly readOnly: boolean;
  /** Position in VMCS_FIELDS, which is also the field's slot in the VMCS region (vmcs.ts). */
  readonly slot: number;
}

const GROUPS: readonly [group: string, type: FieldType, width: FieldWidth, fields: Record<string, number>][] = [
  ['16-bit controls', FieldType.Control, FieldWidth.Bits16, CONTROLS_16],
  ['guest selectors', FieldType.Guest, FieldWidth.Bits16, GUEST_SELECTORS],
  ['host selectors', FieldType.Host, FieldWidth.Bits16, HOST_SELECTORS],
  ['guest limits', FieldType.Guest, FieldWidth.Bits32, GUEST_LIMITS],
  ['guest access rights', FieldType.Guest, FieldWidth.Bits32, GUEST_ACCESS_RIGHTS],
  ['guest misc 32-bit', FieldType.Guest, FieldWidth.Bits32, GUEST_MISC_32],
  ['guest natural', FieldType.Guest, FieldWidth.Natural, GUEST_NATURAL],
  ['guest 64-bit', FieldType.Guest, FieldWidth.Bits64, GUEST_64],
  ['host natural', FieldType.Host, FieldWidth.Natural, HOST_NATURAL],
  ['host 32-bit', FieldType.Host, FieldWidth.Bits32, HOST_32],
  ['32-bit controls', FieldType.Control, FieldWidth.Bits32, CONTROLS_32],
  ['natural controls', FieldType.Control, FieldWidth.Natural, CONTROLS_NATURAL],
  ['64-bit controls', FieldType.Control, FieldWidth.Bits64, CONTROLS_64],
  ['exit info (read-only)', FieldType.ExitInfo, FieldWidth.Bits32, EXIT_INFO_32],
  ['exit info (read-only)', FieldType.ExitInfo, FieldWidth.Natural, EXIT_INFO_NATURAL],
  ['exit info (read-only)', FieldType.ExitInfo, FieldWidth.Bits64, EXIT_INFO_64],
];

export const VMCS_FIELDS: readonly VmcsField[] = GROUPS.flatMap(([group, type, width, fields]) =>
  Object.entries(fields).map(([name, encoding]) => ({ encoding, name, width, type, group, readOnly: type === FieldType.ExitInfo })))
  .map((f, slot) => ({ ...f, slot }));

/** Field by full encoding; encodings are below 0x8000 (bits 31:15 are 0). */
const BY_ENCODING: (VmcsField | undefined)[] = new Array(0x8000);
for (const f of VMCS_FIELDS) BY_ENCODING[f.encoding] = f;

/** Bits 14:13 of an encoding. */
export function encodingWidth(encoding: number): FieldWidth { return (encoding >>> 13) & 3; }
/** Bits 11:10. */
export function encodingType(encoding: number): FieldType { return (encoding >>> 10) & 3; }
/** Bits 9:1. */
export function encodingIndex(encoding: number): number { return (encoding >>> 1) & 0x1ff; }
/** Bit 0: the high half of a 64-bit field. */
export function encodingHigh(encoding: number): boolean { return (encoding & 1) !== 0; }

/**
 * The field an encoding names, for its full or (64-bit fields only) its high access; undefined
 * for anything else, which VMREAD and VMWRITE report as an unsupported component (error 12).
 */
export function findField(encoding: number): VmcsField | undefined {
  const e = encoding >>> 0;
  if (e >= 0x8000) return undefined;
  if ((e & 1) === 0) return BY_ENCODING[e];
  const f = BY_ENCODING[e & ~1];
  return f !== undefined && f.width === FieldWidth.Bits64 ? f : undefined;
}

/** The field's name, with "_HIGH" for the high access of a 64-bit field, or the encoding in hex. */
export function fieldName(encoding: number): string {
  const f = findField(encoding);
  if (f === undefined) return `VMCS field 0x${(encoding >>> 0).toString(16).padStart(4, '0')}`;
  return encodingHigh(encoding) ? `${f.name}_HIGH` : f.name;
}

/** Highest index (bits 9:1) of any supported encoding: IA32_VMX_VMCS_ENUM reports it. */
export const HIGHEST_FIELD_INDEX = Math.max(...VMCS_FIELDS.map((f) => encodingIndex(f.encoding)));
