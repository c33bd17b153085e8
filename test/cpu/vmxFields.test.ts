// The VMCS field table (src/cpu/vmx/vmcsFields.ts) against the fact sheet's section 2, whose
// rows are copied below as they stand in shared/reference/x86-virt-facts.md (checked there
// against Linux and Bochs). Every encoding must be in the table under the same group, and the
// type, width and index the encoding's bits give (SDM Vol. 3C, 24.11.2: access 0, index 9:1,
// type 11:10, width 14:13) must agree with that group.

import { describe, expect, it } from 'vitest';
import {
  encodingHigh, encodingIndex, encodingType, encodingWidth, FieldType, FieldWidth, findField, HIGHEST_FIELD_INDEX,
  VMCS_FIELDS,
} from '../../src/cpu/vmx/vmcsFields';
import { VMCS_LAYOUT_END, VMCS_REGION_SIZE } from '../../src/cpu/vmx/vmcs';
import { makeVmxCpu, runAsm } from './vmxHarness';

const FACT_SHEET_ROWS = `
| guest selectors | ES 0800, CS 0802, SS 0804, DS 0806, FS 0808, GS 080A, LDTR 080C, TR 080E |
| host selectors | ES 0C00, CS 0C02, SS 0C04, DS 0C06, FS 0C08, GS 0C0A, TR 0C0C; VPID 0000 |
| guest limits | ES 4800, CS 4802, SS 4804, DS 4806, FS 4808, GS 480A, LDTR 480C, TR 480E, GDTR 4810, IDTR 4812 |
| guest access rights | ES 4814, CS 4816, SS 4818, DS 481A, FS 481C, GS 481E, LDTR 4820, TR 4822 |
| guest misc 32-bit | INTERRUPTIBILITY 4824, ACTIVITY_STATE 4826, SYSENTER_CS 482A, PREEMPTION_TIMER 482E |
| guest natural | CR0 6800, CR3 6802, CR4 6804, bases ES 6806 CS 6808 SS 680A DS 680C FS 680E GS 6810 LDTR 6812 TR 6814 GDTR 6816 IDTR 6818, DR7 681A, RSP 681C, RIP 681E, RFLAGS 6820, PENDING_DBG 6822, SYSENTER_ESP 6824, SYSENTER_EIP 6826 |
| guest 64-bit | VMCS_LINK_PTR 2800 (all ones), DEBUGCTL 2802, PAT 2804, EFER 2806, PDPTE0-3 280A 280C 280E 2810 |
| host natural | CR0 6C00, CR3 6C02, CR4 6C04, FS_BASE 6C06, GS_BASE 6C08, TR_BASE 6C0A, GDTR_BASE 6C0C, IDTR_BASE 6C0E, SYSENTER_ESP 6C10, SYSENTER_EIP 6C12, RSP 6C14, RIP 6C16; host SYSENTER_CS 4C00 |
| 32-bit controls | PIN_BASED 4000, PRIMARY_PROC 4002, EXCEPTION_BITMAP 4004, PF_ERRCODE_MASK 4006, PF_ERRCODE_MATCH 4008, CR3_TARGET_COUNT 400A, EXIT_CONTROLS 400C, EXIT_MSR_STORE_COUNT 400E, EXIT_MSR_LOAD_COUNT 4010, ENTRY_CONTROLS 4012, ENTRY_MSR_LOAD_COUNT 4014, ENTRY_INTR_INFO 4016, ENTRY_EXCEPTION_ERRCODE 4018, ENTRY_INSTR_LEN 401A, TPR_THRESHOLD 401C, SECONDARY_PROC 401E |
| natural controls | CR0_GUEST_HOST_MASK 6000, CR4_GUEST_HOST_MASK 6002, CR0_READ_SHADOW 6004, CR4_READ_SHADOW 6006, CR3_TARGET0-3 6008 600A 600C 600E |
| 64-bit controls | IO_BITMAP_A 2000, IO_BITMAP_B 2002, MSR_BITMAP 2004, EXIT_MSR_STORE 2006, EXIT_MSR_LOAD 2008, ENTRY_MSR_LOAD 200A, TSC_OFFSET 2010, EPT_POINTER 201A |
| exit info (read-only) | VM_INSTRUCTION_ERROR 4400, EXIT_REASON 4402, EXIT_INTR_INFO 4404, EXIT_INTR_ERRCODE 4406, IDT_VECTORING_INFO 4408, IDT_VECTORING_ERRCODE 440A, EXIT_INSTR_LEN 440C, EXIT_INSTR_INFO 440E, EXIT_QUALIFICATION 6400, GUEST_LINEAR_ADDR 640A, GUEST_PHYSICAL_ADDR 2400 |
`;

/** Each row's group and its encodings: every four-digit hex number in the row. */
function sheet(): { group: string; encodings: number[] }[] {
  return FACT_SHEET_ROWS.trim().split('\n').map((line) => {
    const [, group, body] = line.split('|').map((c) => c.trim());
    const encodings = [...body.matchAll(/\b[0-9A-F]{4}\b/g)].map((m) => parseInt(m[0], 16));
    return { group, encodings };
  });
}

/** The type and width a group's name implies; VPID sits in the host-selector row but is a 16-bit control. */
function implied(group: string, encoding: number): { type: FieldType; width: FieldWidth } {
  if (encoding === 0x0000) return { type: FieldType.Control, width: FieldWidth.Bits16 };
  if (group === 'host natural' && encoding === 0x4c00) return { type: FieldType.Host, width: FieldWidth.Bits32 };
  const type = group.startsWith('guest') ? FieldType.Guest : group.startsWith('host') ? FieldType.Host
    : group.startsWith('exit info') ? FieldType.ExitInfo : FieldType.Control;
  let width: FieldWidth;
  if (group.includes('selectors')) width = FieldWidth.Bits16;
  else if (group.includes('natural')) width = FieldWidth.Natural;
  else if (group.includes('64-bit')) width = FieldWidth.Bits64;
  else if (group === 'exit info (read-only)') {
    width = encoding === 0x2400 ? FieldWidth.Bits64 : encoding >= 0x6400 ? FieldWidth.Natural : FieldWidth.Bits32;
  } else width = FieldWidth.Bits32;
  return { type, width };
}

describe('VMCS field encodings (fact sheet section 2; SDM Vol. 3C, 24.11.2 and appendix B)', () => {
  it('every encoding of the fact sheet is a supported field, and the table has no other', () => {
    const listed = sheet().flatMap((r) => r.encodings).sort((a, b) => a - b);
    expect(listed.length).toBe(new Set(listed).size);
    expect(VMCS_FIELDS.map((f) => f.encoding).sort((a, b) => a - b)).toEqual(listed);
  });

  it("the type (11:10) and width (14:13) decoded from each encoding agree with its row's group, and with the table's", () => {
    for (const { group, encodings } of sheet()) {
      for (const e of encodings) {
        const want = implied(group, e);
        const name = `${group} ${e.toString(16)}`;
        expect({ type: encodingType(e), width: encodingWidth(e) }, name).toEqual(want);
        const f = findField(e)!;
        expect({ type: f.type, width: f.width }, name).toEqual(want);
        expect(f.readOnly, name).toBe(group.startsWith('exit info'));
      }
    }
  });

  it('encodings are full accesses (bit 0 = 0) and bits 15 and up are 0; within a type and width, indexes are distinct', () => {
    const seen = new Set<string>();
    for (const f of VMCS_FIELDS) {
      expect(encodingHigh(f.encoding), f.name).toBe(false);
      expect(f.encoding >>> 15, f.name).toBe(0);
      const key = `${f.type}/${f.width}/${encodingIndex(f.encoding)}`;
      expect(seen.has(key), f.name).toBe(false);
      seen.add(key);
    }
  });

  it('the high access (encoding + 1) exists for 64-bit fields only', () => {
    for (const f of VMCS_FIELDS) {
      expect(findField(f.encoding + 1) === f, f.name).toBe(f.width === FieldWidth.Bits64);
    }
  });

  it('the fields fit in the 4-KiB region IA32_VMX_BASIC reports; IA32_VMX_VMCS_ENUM bits 9:1 give the highest index, 23 (PREEMPTION_TIMER 482E)', () => {
    expect(VMCS_LAYOUT_END).toBeLessThanOrEqual(VMCS_REGION_SIZE);
    expect(HIGHEST_FIELD_INDEX).toBe(23);
    expect(runAsm(makeVmxCpu(), 'mov ecx, 0x48a\nrdmsr').eax).toBe(0x482e & 0x3fe);
  });
});
