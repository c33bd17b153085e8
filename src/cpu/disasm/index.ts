/** Disassembly in nasm syntax, from the CPU's own decoder and opcode map. */
export { disassemble, type DisassembledInstruction, type DisassembleOptions } from './disassemble';
