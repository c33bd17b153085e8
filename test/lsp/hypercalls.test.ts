// Paravirtual hypercall annotations over the protocol: inlay hints at `int 0x82` / `vmcall`
// sites whose number constant propagation finds (through mov, xor, arithmetic, %define,
// %assign, equ from an included file, a macro's arguments), arguments named from the ABI and
// constant ones decoded, the ABI hover, and warnings where the number is unknown or not a
// hypercall. Numbers and names are those of the fact sheet, section 6.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, startClient } from './lspClient';
import { HYPERCALL_SOURCE } from '../../src/lsp/diagnostics';
import { HYPERCALLS } from '../../src/lsp/hypercalls';

const XEN_INC = [
  'HC_CONSOLE_IO equ 18',
  '%define HC_SCHED_OP 29',
  '%assign HC_UPDATE_VA_MAPPING 10 + 4',
  '%define HYPERCALL 0x82',
  'SCHEDOP_block equ 1',
  '%macro hypercall 1',
  '    mov eax, %1',
  '    int HYPERCALL',
  '%endmacro',
  '',
].join('\n');

const KERNEL = [
  'bits 32',                          // 0
  '%include "xen.inc"',               // 1
  'org 0x100000',                     // 2
  'start:',                           // 3
  '    mov eax, HC_CONSOLE_IO',       // 4
  '    xor ebx, ebx',                 // 5
  '    mov ecx, msg_len',             // 6
  '    mov edx, msg',                 // 7
  '    int HYPERCALL',                // 8
  '    mov eax, HC_SCHED_OP',         // 9
  '    mov ebx, SCHEDOP_block',       // 10
  '    mov ecx, [esp]',               // 11
  '    int 0x82',                     // 12
  'write:',                           // 13
  '    mov eax, 18',                  // 14
  '    mov ebx, 0',                   // 15
  '    mov edx, esi',                 // 16
  '    int 0x82 ; write ECX bytes',   // 17
  'flush:',                           // 18
  '    mov eax, HC_UPDATE_VA_MAPPING',// 19
  '    mov ebx, 0x400000',            // 20
  '    mov ecx, 0x1003',              // 21
  '    xor edx, edx',                 // 22
  '    mov esi, 2',                   // 23
  '    int 0x82',                     // 24
  '    hypercall 23',                 // 25
  'unknown:',                         // 26
  '    int 0x82',                     // 27
  '    mov eax, 7',                   // 28
  '    int 0x82',                     // 29
  '    mov eax, 3 + 3*5',             // 30
  '    add eax, 11',                  // 31
  '    push eax',                     // 32
  '    pop ebx',                      // 33
  '    mov eax, ebx',                 // 34
  '    vmcall',                       // 35
  '    mov eax, 18',                  // 36
  '    call write',                   // 37
  '    int 0x82',                     // 38
  'msg: db "Hello, world", 10',       // 39
  'msg_len equ $ - msg',              // 40
  '',
].join('\n');

let client: Client;
beforeAll(async () => {
  client = await startClient({ 'xen.inc': XEN_INC });
  client.open('pv.asm', KERNEL);
  await client.diagnostics('pv.asm');
});
afterAll(() => client.dispose());

describe('hypercall inlay hints', () => {
  it('names each known site\'s hypercall and arguments', async () => {
    const hints = (await client.inlayHints('pv.asm')).map((h) => `${h.position.line}:${h.position.character} ${h.label as string}`);
    expect(hints).toEqual([
      // EAX from an equ in the include; EBX zeroed by xor (cmd 0 = write); msg_len = 13 bytes.
      '8:17 console_io(cmd=write, count=13, str=msg)',
      // EAX from a %define, EBX from an equ (block = 1), ECX loaded from memory: unknown.
      '12:12 sched_op(cmd=block, arg=ecx)',
      // The fact sheet's own example: ECX and EDX not known here.
      '17:12 console_io(cmd=write, count=ecx, str=edx)',
      // %assign 10 + 4 = 14; flags 2 = INVLPG.
      '24:12 update_va_mapping(va=0x400000, pte=0x1003, pte_hi=0, flags=invlpg)',
      // Through the macro's argument: iret takes none; the hint sits at the macro call.
      '25:16 iret()',
      // 3 + 3*5 + 11 = 29 carried through push/pop and a register copy.
      // (the `unknown:` label started a new block, so ECX is not known).
      '35:10 sched_op(cmd=29, arg=ecx)',
    ]);
  });

  it('warns where the number is unknown or not a hypercall', async () => {
    const warnings = (await client.diagnostics('pv.asm')).filter((d) => d.source === HYPERCALL_SOURCE).map((d) => `${d.range.start.line} ${d.message}`);
    expect(warnings).toEqual([
      '27 hypercall number unknown: EAX is not set to a constant before this `int 0x82` in its basic block',
      '29 EAX = 7 at this `int 0x82` is not a hypercall number (the ABI has 0-5, 10, 12-15, 17-18, 21, 23-24, 26, 29-30, 32)',
      // A call in between leaves EAX unknown.
      '38 hypercall number unknown: EAX is not set to a constant before this `int 0x82` in its basic block',
    ]);
    // The kernel itself assembles.
    expect((await client.diagnostics('pv.asm')).filter((d) => d.source !== HYPERCALL_SOURCE)).toEqual([]);
  });

  it('follows edits: a new number changes the hint', async () => {
    const next = client.nextDiagnostics('pv.asm');
    client.change('pv.asm', KERNEL.replace('    mov eax, 7', '    mov eax, 17'));
    await next;
    const hints = (await client.inlayHints('pv.asm')).map((h) => `${h.position.line} ${h.label as string}`);
    expect(hints).toContain('29 xen_version(cmd=ebx, arg=ecx)');
    const restored = client.nextDiagnostics('pv.asm');
    client.change('pv.asm', KERNEL);
    await restored;
  });
});

describe('hypercall hover', () => {
  it('documents the ABI at the site, with the values known there', async () => {
    const h = await client.hover('pv.asm', 8, 5);
    expect(h).toContain('**console_io**: hypercall 18, `int 0x82` with EAX = 18');
    expect(h).toContain('| EBX | `cmd`: operation (write = 0, read = 1) | `write` (0) |');
    expect(h).toContain('| ECX | `count`: number of bytes | `13` |');
    expect(h).toContain('| EDX | `str`: address of the buffer | `msg` |');
    expect(h).toContain('Result in EAX (a negative errno on failure).');
    // The instruction's own facts follow: INT n is sensitive (fact sheet section 5).
    expect(h).toContain('**Sensitive but unprivileged**');
  });

  it('on a macro call that makes a hypercall', async () => {
    const h = await client.hover('pv.asm', 25, 6);
    expect(h).toContain('**iret**: hypercall 23');
    expect(h).toContain('(in macro `hypercall`)');
    expect(h).toContain('**hypercall**: macro, 1 parameter');
  });
});

describe('the hypercall table', () => {
  it('has the fact sheet\'s numbers and names (section 6)', () => {
    const factSheet: Record<string, number> = {
      set_trap_table: 0, mmu_update: 1, set_gdt: 2, stack_switch: 3, set_callbacks: 4, fpu_taskswitch: 5,
      update_descriptor: 10, memory_op: 12, multicall: 13, update_va_mapping: 14, set_timer_op: 15,
      xen_version: 17, console_io: 18, vm_assist: 21, iret: 23, vcpu_op: 24, mmuext_op: 26, sched_op: 29,
      callback_op: 30, event_channel_op: 32,
    };
    expect(Object.fromEntries(HYPERCALLS.map((h) => [h.name, h.number]))).toEqual(factSheet);
  });

  it('documents every call and argument, with the fact sheet\'s argument lists', () => {
    for (const h of HYPERCALLS) {
      expect(h.doc, h.name).not.toBe('');
      for (const a of h.args) expect(a.doc, `${h.name}.${a.name}`).not.toBe('');
    }
    const args = (name: string) => HYPERCALLS.find((h) => h.name === name)?.args.map((a) => a.name);
    expect(args('console_io')).toEqual(['cmd', 'count', 'str']);
    expect(args('mmu_update')).toEqual(['reqs', 'count', 'done', 'domid']);
    expect(args('sched_op')).toEqual(['cmd', 'arg']);
    expect(args('stack_switch')).toEqual(['ss', 'esp']);
    expect(HYPERCALLS.find((h) => h.name === 'sched_op')?.args[0].values).toEqual({ 0: 'yield', 1: 'block', 2: 'shutdown' });
  });
});
