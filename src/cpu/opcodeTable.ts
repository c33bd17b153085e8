/**
 * The opcode map as data: 512 entries, 0x00-0xFF for one-byte opcodes and 0x100 + b for
 * 0F b. Each ops/ module enters its instructions with these functions (opcodeMap.ts calls
 * them all), and a clash is an error at load time.
 */
import type { Imm, OpDef } from './insn';

export const OPCODE_TABLE: (OpDef | undefined)[] = new Array(512).fill(undefined);

function hex(op: number): string {
  return op >= 0x100 ? `0F ${(op & 0xff).toString(16).padStart(2, '0')}` : op.toString(16).padStart(2, '0');
}

/** A plain opcode. */
export function defineOp(op: number, def: OpDef): void {
  if (OPCODE_TABLE[op] !== undefined) throw new Error(`opcode ${hex(op)} defined twice`);
  OPCODE_TABLE[op] = def;
}

/** One member of an opcode group (the ModR/M.reg extension). */
export function defineGroup(op: number, reg: number, def: OpDef, parentImm?: Imm): void {
  let parent = OPCODE_TABLE[op];
  if (parent === undefined) {
    parent = { name: `group ${hex(op)}`, modrm: true, group: new Array(8).fill(undefined), imm: parentImm };
    OPCODE_TABLE[op] = parent;
  }
  if (parent.group === undefined) throw new Error(`opcode ${hex(op)} is not a group`);
  if (parent.group[reg] !== undefined) throw new Error(`opcode ${hex(op)} /${reg} defined twice`);
  parent.group[reg] = def;
}

/** A register form (mod = 3) of a group selected by reg and rm, e.g. 0F 01 C1 VMCALL. */
export function defineGroupMod3(op: number, reg: number, rm: number, def: OpDef): void {
  let parent = OPCODE_TABLE[op];
  if (parent === undefined) {
    parent = { name: `group ${hex(op)}`, modrm: true, group: new Array(8).fill(undefined) };
    OPCODE_TABLE[op] = parent;
  }
  if (parent.group === undefined) throw new Error(`opcode ${hex(op)} is not a group`);
  parent.groupMod3 ??= new Array(64).fill(undefined);
  if (parent.groupMod3[reg * 8 + rm] !== undefined) throw new Error(`opcode ${hex(op)} /${reg} rm ${rm} defined twice`);
  parent.groupMod3[reg * 8 + rm] = def;
}
