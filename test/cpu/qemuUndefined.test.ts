// Where the SDM leaves a result or flag undefined, the interpreter does what QEMU does, so a
// lockstep comparison with qemu-system-i386 (the reference PC) shows no differences. Each case
// runs inside one Multiboot kernel under QEMU, which prints the registers, EFLAGS and a memory
// dword on COM1; the same instruction then runs on the interpreter.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FLAGS_ARITH } from '../../src/cpu/registers';
import { nasm } from '../support/nasm';
import { qemuAvailable, runQemu } from '../support/qemu';
import { execSnippet, makeCpu } from './harness';
import { peek32, poke32 } from './snippet';

interface Case {
  /** What the SDM leaves undefined here. */
  why: string;
  asm: string;
  eax?: number; ecx?: number; edx?: number; ebx?: number;
  flags?: number;
  /** Dwords of memory set before and printed after. */
  mem?: { addr: number; value: number }[];
}

const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;
const ALL = CF | PF | AF | ZF | SF | OF;

const CASES: Case[] = [
  { why: 'BSWAP with a 16-bit operand', asm: 'db 0x66, 0x0f, 0xc8', eax: 0x11223344 },
  { why: 'BSWAP with a 16-bit operand', asm: 'db 0x66, 0x0f, 0xcb', ebx: 0xaabbccdd },
  ...[17, 20, 24, 31].flatMap((n): Case[] => [
    { why: 'SHLD r/m16 with a count above 16: result and flags', asm: 'shld ax, dx, cl', eax: 0x11223344, edx: 0xaabbccdd, ecx: n },
    { why: 'SHRD r/m16 with a count above 16: result and flags', asm: 'shrd ax, dx, cl', eax: 0x11223344, edx: 0xaabbccdd, ecx: n },
  ]),
  { why: 'SHLD/SHRD: AF, and OF for a count above 1', asm: 'shld eax, edx, 7', eax: 0x81234567, edx: 0xfedcba98, flags: AF },
  { why: 'SHLD/SHRD: AF, and OF for a count above 1', asm: 'shrd eax, edx, 3', eax: 0x81234567, edx: 0xfedcba98, flags: AF },
  { why: 'BSF/BSR destination and CF OF SF AF PF for a zero source', asm: 'bsf ecx, edx', ecx: 0x12345678, edx: 0, flags: ALL & ~ZF },
  { why: 'BSF/BSR destination and CF OF SF AF PF for a zero source', asm: 'bsr cx, dx', ecx: 0x12345678, edx: 0xffff0000, flags: 0 },
  { why: 'BSF/BSR: CF OF SF AF PF', asm: 'bsf ecx, edx', edx: 0x80000000, flags: ALL },
  { why: 'BSF/BSR: CF OF SF AF PF', asm: 'bsr ecx, edx', edx: 0x00000003, flags: 0 },
  { why: 'MUL: SF ZF AF PF', asm: 'mul ebx', eax: 0x80000000, ebx: 2, flags: AF },
  { why: 'MUL: SF ZF AF PF', asm: 'mul bl', eax: 0x7f, ebx: 0x3, flags: ZF | AF },
  { why: 'IMUL: SF ZF AF PF', asm: 'imul cx, dx', ecx: 0x4000, edx: 4, flags: AF | SF },
  { why: 'IMUL: SF ZF AF PF', asm: 'imul ecx, edx, -3', edx: 0x11111111, flags: 0 },
  { why: 'DIV/IDIV: all status flags', asm: 'div ebx', eax: 1000, edx: 0, ebx: 7, flags: ALL },
  { why: 'DIV/IDIV: all status flags', asm: 'idiv bl', eax: 0xff9c, ebx: 7, flags: 0 },
  { why: 'DAA/DAS: OF', asm: 'daa', eax: 0x7f, flags: AF | OF },
  { why: 'DAA/DAS: OF', asm: 'das', eax: 0x80, flags: CF },
  { why: 'AAA/AAS: OF SF ZF PF', asm: 'aaa', eax: 0x00fb, flags: SF | OF },
  { why: 'AAA/AAS: OF SF ZF PF', asm: 'aas', eax: 0x0103, flags: AF | ZF },
  { why: 'AAA/AAS: OF SF ZF PF', asm: 'aaa', eax: 0x0005, flags: ALL & ~AF & ~CF },
  { why: 'AAM/AAD: OF AF CF', asm: 'aam', eax: 0x00ff, flags: ALL },
  { why: 'AAM/AAD: OF AF CF', asm: 'aad', eax: 0x0909, flags: ALL },
  { why: 'BT: OF SF AF PF', asm: 'bt eax, ecx', eax: 0x5, ecx: 2, flags: OF | SF | AF | PF },
  { why: 'BT: OF SF AF PF', asm: 'btc eax, 31', eax: 0x80000000, flags: 0 },
  { why: 'shifts: AF, and OF for a count above 1', asm: 'shl eax, 3', eax: 0xf0000001, flags: AF },
  { why: 'shifts: AF, and OF for a count above 1', asm: 'shr eax, 5', eax: 0xf0000001, flags: AF },
  { why: 'shifts: AF, and OF for a count above 1', asm: 'sar ax, 2', eax: 0x8001, flags: AF | OF },
  { why: 'SHL/SHR: CF for a count at least the operand size', asm: 'shl dl, cl', edx: 0x81, ecx: 9, flags: ALL },
  { why: 'rotates: OF for a count above 1', asm: 'rol eax, 5', eax: 0x87654321 },
  { why: 'rotates: OF for a count above 1', asm: 'ror al, 3', eax: 0x87654321 },
  { why: 'rotates: OF for a count above 1', asm: 'rcl bx, 6', ebx: 0x87654321, flags: CF },
  { why: 'rotates: OF for a count above 1', asm: 'rcr ebx, 9', ebx: 0x87654321, flags: CF },
  { why: 'AND/OR/XOR/TEST: AF', asm: 'xor eax, ebx', eax: 0x0f, ebx: 0x1f, flags: AF },
  { why: 'AND/OR/XOR/TEST: AF', asm: 'test cl, 0x10', ecx: 0x10, flags: AF },
  { why: 'SHL/SHR: CF for a count at least the operand size', asm: 'shl bx, cl', ebx: 0x8001, ecx: 16, flags: 0 },
  { why: 'SHL/SHR: CF for a count at least the operand size', asm: 'shr dl, cl', edx: 0xff, ecx: 8, flags: 0 },
  { why: 'shifts: AF, and OF for a count above 1', asm: 'sar bl, 7', ebx: 0x40, flags: OF | AF },
  { why: 'rotates: OF for a count above 1', asm: 'rol bl, 8', ebx: 0x81, flags: 0 },
  { why: 'rotates: OF for a count above 1', asm: 'rcl dl, 5', edx: 0x5a, flags: 0 },
  { why: 'rotates: OF (and CF) for a count that rotates through carry back to the start', asm: 'rcr dx, 17', edx: 0x8000, flags: OF },
  { why: 'rotates: OF (and CF) for a count that rotates through carry back to the start', asm: 'rcl bl, 18', ebx: 0x80, flags: CF | OF },
  { why: 'MUL: SF ZF AF PF', asm: 'mul cx', eax: 0x0100, ecx: 0x0100, flags: SF },
  { why: 'IMUL: SF ZF AF PF', asm: 'imul bl', eax: 0x80, ebx: 0x80, flags: 0 },
  { why: 'DIV/IDIV: all status flags', asm: 'idiv ebx', eax: 0xfffffff0, edx: 0xffffffff, ebx: 3, flags: CF | ZF },
  { why: 'AAM/AAD: OF AF CF', asm: 'aam 16', eax: 0x00ff, flags: 0 },
  { why: 'AAM/AAD: OF AF CF', asm: 'aad 7', eax: 0x2525, flags: CF },
  { why: 'DAA/DAS: OF', asm: 'daa', eax: 0x9a, flags: 0 },
  { why: 'DAA/DAS: OF', asm: 'das', eax: 0x03, flags: AF },
  // The SDM does not say whether a 16-bit address wraps when the bit offset is added; QEMU wraps.
  {
    why: 'BTS m16 with a bit offset that takes a 16-bit address past FFFF', asm: 'bts word [bx], ax', ebx: 0xff00, eax: 0x1000,
    mem: [{ addr: 0x100, value: 0x80 }, { addr: 0x10100, value: 0x80 }],
  },
];

const CODE_ADDR = 0x100000;

/** One Multiboot kernel (flat binary with the address fields) that runs every case in turn. */
function kernelSource(cases: Case[]): string {
  const lines = [
    'bits 32', `org 0x${CODE_ADDR.toString(16)}`,
    'MB_FLAGS equ 1 << 16',
    'header: dd 0x1BADB002, MB_FLAGS, -(0x1BADB002 + MB_FLAGS)',
    `dd header, 0x${CODE_ADDR.toString(16)}, 0, 0, start`,
    // Sends a dword to COM1 (DX = 3F8H), waiting for the transmitter each time (LSR bit 5).
    '%macro OUT32 1',
    '  mov ebx, %1',
    '  mov ecx, 4',
    '%%next: mov dx, 0x3fd',
    '%%wait: in al, dx',
    '  test al, 0x20',
    '  jz %%wait',
    '  mov dx, 0x3f8',
    '  mov al, bl',
    '  out dx, al',
    '  shr ebx, 8',
    '  loop %%next',
    '%endmacro',
    'start: mov esp, 0x90000',
  ];
  for (const c of cases) {
    for (const m of c.mem ?? []) lines.push(`mov dword [0x${m.addr.toString(16)}], 0x${m.value.toString(16)}`);
    lines.push(
      `mov eax, 0x${(c.eax ?? 0).toString(16)}`, `mov ecx, 0x${(c.ecx ?? 0).toString(16)}`,
      `mov edx, 0x${(c.edx ?? 0).toString(16)}`, `mov ebx, 0x${(c.ebx ?? 0).toString(16)}`,
      `push dword 0x${((c.flags ?? 0) | 2).toString(16)}`, 'popfd',
      c.asm,
      'pushfd', 'call dump', 'add esp, 4',
      ...(c.mem ?? []).map((m) => `OUT32 [0x${m.addr.toString(16)}]`),
    );
  }
  lines.push(
    'mov al, 0', 'out 0xf4, al', 'hlt',
    // Prints EAX ECX EDX EBX (saved by PUSHAD) and the EFLAGS pushed before the call.
    'dump: pushad',
    'OUT32 [esp+28]', 'OUT32 [esp+24]', 'OUT32 [esp+20]', 'OUT32 [esp+16]', 'OUT32 [esp+36]',
    'popad', 'ret',
  );
  return lines.join('\n');
}

describe('undefined results and flags match QEMU (qemu-system-i386)', () => {
  it.skipIf(!qemuAvailable())(`${CASES.length} cases`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vtscope-qemu-undefined-'));
    try {
      const image = join(dir, 'kernel.bin');
      writeFileSync(image, nasm(kernelSource(CASES)));
      const q = await runQemu(image, { timeoutMs: 20_000 });
      expect(q.status, q.stderr).toBe(1);
      const out = q.stdout;
      expect(out.length).toBe(CASES.reduce((n, c) => n + 4 * (5 + (c.mem?.length ?? 0)), 0));

      const differences: string[] = [];
      let pos = 0;
      for (const c of CASES) {
        const qemu: number[] = [];
        for (let n = 0; n < 5 + (c.mem?.length ?? 0); n++, pos += 4) qemu.push(out.readUInt32LE(pos));
        qemu[4] &= FLAGS_ARITH;
        const cpu = makeCpu();
        for (const m of c.mem ?? []) poke32(cpu, m.addr, m.value);
        const r = execSnippet(nasm(`bits 32\n${c.asm}\n`), { eax: c.eax ?? 0, ecx: c.ecx ?? 0, edx: c.edx ?? 0, ebx: c.ebx ?? 0, eflags: c.flags ?? 0 }, cpu);
        const ours = [r.eax, r.ecx, r.edx, r.ebx, r.eflags & FLAGS_ARITH, ...(c.mem ?? []).map((m) => peek32(cpu, m.addr))];
        if (ours.join() !== qemu.join()) {
          const hex = (v: number[]) => v.map((x) => x.toString(16)).join(' ');
          differences.push(`${c.asm} (${c.why}): eax ecx edx ebx flags memory: ours ${hex(ours)}, QEMU ${hex(qemu)}`);
        }
      }
      expect(differences).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
