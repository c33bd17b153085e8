/**
 * Which mnemonics take memory operands of more than one size, read off the opcode map: for
 * those nasm needs a size keyword ("inc dword [eax]") unless a register operand shows the
 * size, and for the others the mnemonic says it ("setz [eax]", "lgdt [eax]").
 */
import type { OpDef } from '../insn';
import { OPCODE_MAP } from '../opcodeMap';

/** Widths in bits of a memory operand of SDM type `type` (v and z follow the operand size). */
function widths(type: string): number[] {
  switch (type) {
    case 'b': return [8];
    case 'w': return [16];
    case 'd': return [32];
    case 'q': return [64];
    case 'v': case 'z': return [16, 32];
    default: return [];   // s, p, a and untyped M have no size keyword
  }
}

/** The SDM type of the memory (E or M) operand in an operands string, if it has one. */
export function memoryType(operands: string | undefined): string | undefined {
  if (operands === undefined) return undefined;
  for (const token of operands.split(',')) {
    for (const part of token.split('/')) {
      if (part[0] === 'E' || part[0] === 'M') return part.slice(1);
    }
  }
  return undefined;
}

let several: Set<string> | undefined;

function collect(): Set<string> {
  const sizes = new Map<string, Set<number>>();
  const visit = (def: OpDef | undefined): void => {
    if (def === undefined) return;
    const type = memoryType(def.operands);
    if (type !== undefined) {
      let set = sizes.get(def.name);
      if (set === undefined) sizes.set(def.name, set = new Set());
      for (const w of widths(type)) set.add(w);
    }
    def.group?.forEach(visit);
    def.groupMod3?.forEach(visit);
  };
  OPCODE_MAP.forEach(visit);
  return new Set([...sizes].filter(([, set]) => set.size > 1).map(([name]) => name));
}

/** Does the mnemonic `name` (OpDef.name) have memory operands of more than one size? */
export function hasSeveralMemorySizes(name: string): boolean {
  several ??= collect();
  return several.has(name);
}
