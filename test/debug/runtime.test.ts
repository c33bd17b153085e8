/**
 * The debugger runtime driven directly (no protocol) on kernels built here with gcc and nasm:
 * source, function and instruction breakpoints at the addresses binutils give, stepping over,
 * into and out of calls, pause of a spinning guest, exception stops before delivery, and the
 * registers, memory and stack it shows, against values computed by hand.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Workdir, nasmMapSymbols } from '../loader/toolchain';
import { Driver, ndisasm, objdump } from './harness';
import { asmKernel, cKernel, nmSymbols, readelfLines } from './kernels';

const work = new Workdir();
afterAll(() => work.remove());

const C_SOURCE = `
volatile int calls;
int result;

int add(int a, int b)
{
    calls++;                    /* @add-body */
    return a + b;
}

int twice(int x)
{
    int y = add(x, x);          /* @call-add */
    y = y + 1;                  /* @after-call */
    return y;
}

static void putc_com1(char c)
{
    __asm__ volatile("outb %0, %1" :: "a"(c), "Nd"((unsigned short)0x3f8));
}

void kmain(void)
{
    result = twice(20);         /* @call-twice */
    putc_com1('o');
    putc_com1('k');
    putc_com1('\\n');
    __asm__ volatile("outb %0, $0xf4" :: "a"((char)result));
}
`;

/** The 1-based line of `source` holding `marker`. */
function lineOf(source: string, marker: string): number {
  const k = source.split('\n').findIndex((l) => l.includes(marker));
  if (k < 0) throw new Error(`no ${marker}`);
  return k + 1;
}

const cPath = cKernel(work, 'k', C_SOURCE);
const cFile = join(work.path, 'k.c');
const cSymbols = nmSymbols(cPath);
const cCode = objdump(cPath);
/** The lowest is_stmt address readelf gives `line` of k.c: where gdb would put a breakpoint. */
function lineAddress(line: number): number {
  const rows = readelfLines(cPath).filter((r) => r.file === 'k.c' && r.line === line && r.isStmt);
  expect(rows.length).toBeGreaterThan(0);
  return Math.min(...rows.map((r) => r.address));
}
/** The address after the `call <target>` inside `fn`: the return address of that call. */
function returnAddressOfCall(fn: string, target: string): number {
  const start = cSymbols.get(fn)!;
  const call = cCode.find((i) => i.address >= start && i.mnemonic === 'call' && i.target === target)!;
  return call.address + call.length;
}

describe('a C kernel (gcc -m32 -g -O0)', () => {
  it('stops on a source line at the address of the line table, with the call stack from the EBP chain', async () => {
    const d = new Driver({ program: cPath });
    const line = lineOf(C_SOURCE, '@after-call');
    const [bp] = d.rt.setSourceBreakpoints(cFile, [{ id: 1, line }]);
    expect(bp).toMatchObject({ verified: true, line, address: lineAddress(line) });
    d.rt.continue();
    const stop = await d.stopped();
    expect(stop).toMatchObject({ reason: 'breakpoint', breakpointIds: [bp.id] });
    expect(d.pc).toBe(lineAddress(line));
    const frames = d.rt.stackTrace();
    expect(frames.map((f) => f.name)).toEqual([
      `twice+0x${(lineAddress(line) - cSymbols.get('twice')!).toString(16)}`,
      `kmain+0x${(returnAddressOfCall('kmain', 'twice') - cSymbols.get('kmain')!).toString(16)}`,
      `start+0x${(returnAddressOfCall('start', 'kmain') - cSymbols.get('start')!).toString(16)}`,
    ]);
    expect(frames.map((f) => f.address)).toEqual([lineAddress(line), returnAddressOfCall('kmain', 'twice'), returnAddressOfCall('start', 'kmain')]);
    expect(frames[0].source).toEqual({ file: cFile, line });
    expect(frames[1].source).toEqual({ file: cFile, line: lineOf(C_SOURCE, '@call-twice') });
    expect(frames[2].source?.file).toBe(join(work.path, 'k-boot.asm'));
    // The line gdb would show for the caller: `call kmain` is line 11 of the boot code.
    expect(frames[2].source?.line).toBe(readFileSync(join(work.path, 'k-boot.asm'), 'utf8').split('\n').indexOf('    call kmain') + 1);
  });

  it('steps over a call to the next line, the callee having run', async () => {
    const d = new Driver({ program: cPath });
    d.rt.setSourceBreakpoints(cFile, [{ id: 1, line: lineOf(C_SOURCE, '@call-add') }]);
    d.rt.continue();
    await d.stopped();
    expect(d.rt.evaluate('dword [calls]').result).toMatch(/^0x00000000 /);
    d.rt.stepLine(true);
    expect(await d.stopped()).toMatchObject({ reason: 'step' });
    expect(d.pc).toBe(lineAddress(lineOf(C_SOURCE, '@after-call')));
    expect(d.rt.evaluate('dword [calls]').result).toMatch(/^0x00000001 /);
  });

  it('steps into a call, then out of it to the return address', async () => {
    const d = new Driver({ program: cPath });
    d.rt.setSourceBreakpoints(cFile, [{ id: 1, line: lineOf(C_SOURCE, '@call-add') }]);
    d.rt.continue();
    await d.stopped();
    const espBefore = d.reg('esp');
    d.rt.stepLine(false);
    expect(await d.stopped()).toMatchObject({ reason: 'step' });
    // add's first line is its opening brace, at the function's first instruction.
    expect(d.pc).toBe(cSymbols.get('add'));
    expect(d.rt.stackTrace()[0].source).toEqual({ file: cFile, line: lineOf(C_SOURCE, '@add-body') - 1 });
    expect(d.rt.stackTrace()[1].name).toMatch(/^twice\+/);
    // The two arguments and the return address are on the stack: 12 bytes below ESP before the line.
    expect(d.reg('esp')).toBe(espBefore - 12);
    d.rt.stepLine(false);
    await d.stopped();
    expect(d.rt.stackTrace()[0].source?.line).toBe(lineOf(C_SOURCE, '@add-body'));
    d.rt.stepOut();
    expect(await d.stopped()).toMatchObject({ reason: 'step' });
    expect(d.pc).toBe(returnAddressOfCall('twice', 'add'));
    expect(d.reg('esp')).toBe(espBefore - 8);   // the caller pops the arguments after the call
    expect(d.reg('eax')).toBe(40);              // add(20, 20)
  });

  it('stops at a function breakpoint, and runs to the guest exit with its output', async () => {
    const d = new Driver({ program: cPath });
    expect(d.rt.setFunctionBreakpoints([{ id: 1, name: 'add' }, { id: 2, name: 'nosuch' }])).toEqual([
      { id: 1, verified: true, address: cSymbols.get('add'), line: lineOf(C_SOURCE, '@add-body') - 1 },
      { id: 2, verified: false, message: `no symbol 'nosuch' in ${cPath}` },
    ]);
    const [bp] = d.rt.setFunctionBreakpoints([{ id: 3, name: 'add' }]);
    expect(bp.address).toBe(cSymbols.get('add'));
    d.rt.continue();
    expect(await d.stopped()).toMatchObject({ reason: 'function breakpoint' });
    expect(d.pc).toBe(cSymbols.get('add'));
    d.rt.continue();
    const end = await d.ended();
    expect(end.haltReason).toBe('exit');
    expect(end.exitCode).toBe((41 << 1) | 1);   // result = twice(20) = 41
    expect(d.output).toBe('ok\n');
  });
});

/**
 * An assembly kernel that sets up flat segments and a 64-entry IDT whose gates all lead to
 * `unexpected` (exit status 0xCD), then runs `body` from `main`. `set_gate` installs the
 * handler in EAX for vector ECX.
 */
function asmWithIdt(name: string, body: string): string {
  return asmKernel(work, name, `
    lgdt [gdtr]
    jmp 0x08:.flat
.flat:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, stack_top
    xor ecx, ecx
.fill:
    mov eax, unexpected
    call set_gate
    inc ecx
    cmp ecx, 64
    jne .fill
    lidt [idtr]
    jmp main

set_gate:
    mov [idt + ecx*8], ax
    mov word [idt + ecx*8 + 2], 0x08
    mov word [idt + ecx*8 + 4], 0x8e00
    shr eax, 16
    mov [idt + ecx*8 + 6], ax
    ret

unexpected:
    mov al, 0x66
    out 0xf4, al

${body}

section .data
gdt:    dq 0, 0x00cf9a000000ffff, 0x00cf92000000ffff
gdtr:   dw 23
        dd gdt
idtr:   dw 64*8-1
        dd idt
section .bss
idt:    resb 64*8
        resb 4096
stack_top:
`);
}

describe('an assembly kernel', () => {
  it('pause stops a guest spinning in jmp $ before its next slice', async () => {
    const path = asmWithIdt('spin', 'main:\nspin:\n    jmp spin\n');
    const d = new Driver({ program: path, sliceInstructions: 5000 });
    d.rt.continue();
    while (d.rt.slices < 3) await new Promise((r) => setImmediate(r));
    const at = d.rt.slices;
    d.rt.pause();
    expect(await d.stopped()).toMatchObject({ reason: 'pause' });
    expect(d.rt.slices - at).toBeLessThanOrEqual(1);
    expect(d.pc).toBe(nmSymbols(path).get('spin'));
    // It goes on from there when continued, and pauses again.
    d.rt.continue();
    while (d.rt.slices < at + 3) await new Promise((r) => setImmediate(r));
    d.rt.pause();
    expect(await d.stopped()).toMatchObject({ reason: 'pause' });
  });

  const GP = `
main:
    mov ecx, 13
    mov eax, gp_handler
    call set_gate
    mov ax, 0x1230              ; GDT index 0x246, far beyond the limit of 23
fault:
    mov ds, ax
    hlt
gp_handler:
    pop eax                     ; the error code
    out 0xf4, al                ; exit status (0x30 << 1) | 1 = 97
`;

  it('an exception breakpoint on #GP stops before delivery with the error code; resuming delivers it once', async () => {
    const path = asmWithIdt('gp', GP);
    const sym = nmSymbols(path);
    const d = new Driver({ program: path });
    d.rt.setExceptionFilters(['GP']);
    d.rt.continue();
    const stop = await d.stopped();
    // SDM Vol. 3A, MOV: a selector beyond the descriptor table limit is #GP(selector).
    expect(stop).toMatchObject({ reason: 'exception', exception: { id: 'GP', errorCode: 0x1230 } });
    expect(stop.description).toMatch(/^Paused before delivering #GP\(0x1230\) general protection raised at fault /);
    expect(d.pc).toBe(sym.get('fault'));
    expect(d.reg('esp')).toBe(sym.get('stack_top'));   // no exception frame pushed yet
    d.rt.continue();
    const end = await d.ended();
    expect(end.exitCode).toBe((0x30 << 1) | 1);
  });

  it('without the filter the exception is delivered without a stop', async () => {
    const d = new Driver({ program: asmWithIdt('gp2', GP) });
    d.rt.setExceptionFilters([]);
    d.rt.continue();
    expect((await d.ended()).exitCode).toBe((0x30 << 1) | 1);
  });

  it('a #GP whose delivery faults stops as #GP, then #DF, then triple fault, then ends', async () => {
    const path = asmKernel(work, 'triple', `
    lidt [idtr]
    mov ax, 0x1230
fault:
    mov ds, ax
    hlt
idtr: dw 0
      dd 0
`);
    const d = new Driver({ program: path });
    d.rt.setExceptionFilters(['GP', 'DF', 'triple-fault']);
    d.rt.continue();
    expect((await d.stopped()).exception).toMatchObject({ id: 'GP', errorCode: 0x1230 });
    d.rt.continue();
    // Delivering #GP through an IDT of limit 0 faults; #GP then #GP is a double fault (SDM table 6-5).
    expect((await d.stopped()).exception).toMatchObject({ id: 'DF', errorCode: 0 });
    expect(d.pc).toBe(nmSymbols(path).get('fault'));
    d.rt.continue();
    const tf = await d.stopped();
    expect(tf.exception?.id).toBe('triple-fault');
    expect(tf.description).toMatch(/triple fault at EIP 0x[0-9a-f]{8}: #GP\(0x1230\) then #GP\(0x6b\) then #DF then #GP/);
    d.rt.continue();
    expect(await d.ended()).toMatchObject({ haltReason: 'triple-fault', exitCode: 4 });
  });

  it('a triple fault ends the session at once without the triple-fault filter', async () => {
    const d = new Driver({ program: asmKernel(work, 'triple2', 'lidt [idtr]\nint3\nidtr: dw 0\n dd 0\n') });
    d.rt.setExceptionFilters([]);
    d.rt.continue();
    expect(await d.ended()).toMatchObject({ haltReason: 'triple-fault', exitCode: 4 });
  });

  const BP = `
main:
    mov ecx, 3
    mov eax, bp_handler
    call set_gate
    mov ebx, 7
trap:
    int3
    hlt
bp_handler:
    mov eax, ebx
    out 0xf4, al                ; exit status (7 << 1) | 1 = 15
`;

  it('#BP from INT3 stops at the INT3 before delivery; the instruction count is as if it had not stopped', async () => {
    const plain = new Driver({ program: asmWithIdt('bp0', BP) });
    plain.rt.setExceptionFilters([]);
    plain.rt.continue();
    const expected = await plain.ended();

    const path = asmWithIdt('bp', BP);
    const d = new Driver({ program: path });
    d.rt.setExceptionFilters(['BP']);
    d.rt.continue();
    expect((await d.stopped()).exception).toMatchObject({ id: 'BP', errorCode: undefined });
    expect(d.pc).toBe(nmSymbols(path).get('trap'));
    d.rt.continue();
    const end = await d.ended();
    expect(end.exitCode).toBe(15);
    expect(end.instructions).toBe(expected.instructions);
  });

  it('registers, flags, segments and memory have the values computed by hand', async () => {
    const path = asmWithIdt('regs', `
main:
    mov eax, 0x12345678
    mov ebx, 0x9abcdef0
    mov ecx, 3
    mov edx, 0xffffffff
    mov esi, data_word
    mov edi, 0x200000
    mov dword [edi], 0xcafebabe
    mov ebp, 0x1000
    add edx, ecx
here:
    hlt
section .data
data_word: dd 0x0badf00d
`);
    const sym = nmSymbols(path);
    const d = new Driver({ program: path });
    d.rt.setInstructionBreakpoints([{ id: 1, address: sym.get('here')! }]);
    d.rt.continue();
    expect(await d.stopped()).toMatchObject({ reason: 'instruction breakpoint' });
    const [general, segments, control, tables] = d.rt.registerGroups();
    const value = (nodes: typeof general.registers, name: string) => nodes.find((n) => n.name === name)!;
    expect(general.registers.map((r) => `${r.name}=${r.value}`).slice(0, 9)).toEqual([
      'eax=0x12345678', 'ecx=0x00000003', 'edx=0x00000002', 'ebx=0x9abcdef0', `esp=0x${sym.get('stack_top')!.toString(16).padStart(8, '0')}`,
      'ebp=0x00001000', `esi=0x${sym.get('data_word')!.toString(16).padStart(8, '0')}`, 'edi=0x00200000',
      `eip=0x${sym.get('here')!.toString(16).padStart(8, '0')}`,
    ]);
    // 0xffffffff + 3: result 2, carry out (CF), carry out of bit 3 (AF), one bit set in the low byte (PF = 0),
    // plus the always-one bit 1 and IF = 0 as the loader leaves it: 0x13.
    const eflags = value(general.registers, 'eflags');
    expect(eflags.value).toBe('0x00000013 [AF CF IOPL=0]');
    expect(Object.fromEntries(eflags.children!.map((c) => [c.name, c.value]))).toMatchObject({ CF: '1', PF: '0', AF: '1', ZF: '0', SF: '0', IF: '0', OF: '0' });
    const cs = value(segments.registers, 'cs');
    expect(Object.fromEntries(cs.children!.map((c) => [c.name, c.value]))).toEqual({
      selector: '0x0008 (index 1, GDT, RPL 0)', base: '0x00000000', limit: '0xffffffff',
      type: '11 (code, execute/read, accessed)', S: '1', DPL: '0', P: '1', 'D/B': '1', G: '1',
    });
    expect(value(control.registers, 'cr0').value).toBe('0x00000011 [ET PE]');
    expect(value(tables.registers, 'gdtr').value).toBe(`base 0x${sym.get('gdt')!.toString(16).padStart(8, '0')} limit 0x0017`);
    expect(value(tables.registers, 'idtr').value).toBe(`base 0x${sym.get('idt')!.toString(16).padStart(8, '0')} limit 0x01ff`);
    // Memory, little-endian.
    expect([...d.rt.memory.read(0x200000, 4).data]).toEqual([0xbe, 0xba, 0xfe, 0xca]);
    expect(d.rt.evaluate('dword [edi]').result).toBe('0xcafebabe (3405691582)');
    expect(d.rt.evaluate('byte [edi+1]').result).toBe('0x000000ba (186)');
    expect(d.rt.evaluate('word ptr [0x200002]').result).toBe('0x0000cafe (51966)');
    expect(d.rt.evaluate('[data_word]').result).toBe('0x0badf00d (195948557)');
    expect(d.rt.evaluate('$eip').result).toBe(`0x${sym.get('here')!.toString(16).padStart(8, '0')} (${sym.get('here')})`);
    expect(d.rt.evaluate('data_word + 2').result).toBe(`0x${(sym.get('data_word')! + 2).toString(16).padStart(8, '0')} (${sym.get('data_word')! + 2}) <data_word+0x2>`);
    expect(d.rt.evaluate('al').result).toBe('0x00000078 (120)');
    expect(d.rt.evaluate('ah + (dx << 4)').result).toBe('0x00000076 (118)');
    expect(() => d.rt.evaluate('nosuch')).toThrow("'nosuch' is neither a register nor a symbol of the image");
    // RAM ends at 64 MiB: reading across the end gives the readable part and the count of the rest.
    const end = 64 * 1024 * 1024;
    const r = d.rt.memory.read(end - 2, 6);
    expect([r.data.length, r.unreadable]).toEqual([2, 4]);
    expect(() => d.rt.evaluate(`[${end}]`)).toThrow(`cannot read linear address 0x04000000: physical address 0x04000000 is not RAM`);
  });

  it('memory written by the debugger is what the guest reads', async () => {
    const path = asmWithIdt('poke', `
main:
poll:
    cmp dword [flag], 0
    je poll
    mov eax, [flag]
    out 0xf4, al
section .data
flag: dd 0
`);
    const sym = nmSymbols(path);
    const d = new Driver({ program: path });
    d.rt.setInstructionBreakpoints([{ id: 1, address: sym.get('poll')! }]);
    d.rt.continue();
    await d.stopped();
    d.rt.continue();
    await d.stopped();   // the loop came round: it is waiting
    expect(d.rt.memory.write(sym.get('flag')!, Uint8Array.of(0x21, 0, 0, 0))).toBe(4);
    d.rt.setInstructionBreakpoints([]);
    d.rt.continue();
    expect((await d.ended()).exitCode).toBe((0x21 << 1) | 1);
  });

  const CALLS = `
main:
    mov ecx, 0x30
    mov eax, int_handler
    call set_gate
do_int:
    int 0x30
do_call:
    call sub
after_call:
    mov eax, [count]
    out 0xf4, al
int_handler:
    inc dword [count]
    iret
sub:
    add dword [count], 0x10
    ret
section .data
count: dd 0
`;

  it('steps over INT n and CALL at instruction level, and into them', async () => {
    const path = asmWithIdt('calls', CALLS);
    const sym = nmSymbols(path);
    const d = new Driver({ program: path });
    d.rt.setInstructionBreakpoints([{ id: 1, address: sym.get('do_int')! }]);
    d.rt.continue();
    await d.stopped();
    const esp = d.reg('esp');
    d.rt.stepInstruction(true);
    expect(await d.stopped()).toMatchObject({ reason: 'step' });
    expect([d.pc, d.reg('esp'), d.rt.memory.readValue(sym.get('count')!, 4)]).toEqual([sym.get('do_call'), esp, 1]);
    d.rt.stepInstruction(false);
    await d.stopped();
    expect([d.pc, d.reg('esp'), d.rt.memory.readValue(d.reg('esp'), 4)]).toEqual([sym.get('sub'), esp - 4, sym.get('after_call')]);
    d.rt.stepOut();
    await d.stopped();
    expect([d.pc, d.reg('esp'), d.rt.memory.readValue(sym.get('count')!, 4)]).toEqual([sym.get('after_call'), esp, 0x11]);
  });

  it('steps over a CALL by source line in nasm DWARF, and into the INT handler', async () => {
    const path = asmWithIdt('lines', CALLS);
    const sym = nmSymbols(path);
    const d = new Driver({ program: path });
    const source = join(work.path, 'lines.asm');
    const text = readFileSync(source, 'utf8').split('\n');
    const [bp] = d.rt.setSourceBreakpoints(source, [{ id: 7, line: text.indexOf('    call sub') + 1 }]);
    expect(bp.address).toBe(sym.get('do_call'));
    d.rt.continue();
    await d.stopped();
    d.rt.stepLine(true);
    await d.stopped();
    expect(d.pc).toBe(sym.get('after_call'));
    expect(d.rt.memory.readValue(sym.get('count')!, 4)).toBe(0x11);
  });

  it('a HLT with interrupts off stops the guest; resuming ends the session', async () => {
    const d = new Driver({ program: asmKernel(work, 'halt', 'cli\nhlt\n') });
    d.rt.continue();
    const stop = await d.stopped();
    expect(stop.reason).toBe('halt');
    expect(stop.description).toMatch(/^guest halted with interrupts disabled at EIP 0x[0-9a-f]{8}; resuming ends the session$/);
    d.rt.continue();
    expect(await d.ended()).toMatchObject({ haltReason: 'halt', exitCode: 2 });
  });

  it('disassembles on instruction boundaries as objdump does, also backwards, in the text ndisasm gives', () => {
    const path = asmWithIdt('dis', CALLS);
    const sym = nmSymbols(path);
    const d = new Driver({ program: path });
    const code = objdump(path);
    const k = code.findIndex((i) => i.address === sym.get('do_call'));
    const lines = d.rt.disassemble(code[k].address, -4, 8);
    expect(lines.map((l) => l.address)).toEqual(code.slice(k - 4, k + 4).map((i) => i.address));
    expect(lines.map((l) => l.bytes.split(' ').length)).toEqual(code.slice(k - 4, k + 4).map((i) => i.length));
    const reference = ndisasm(path, code[k - 4].address).slice(0, 8);
    // Relative targets carry their label as a comment, which ndisasm does not print.
    expect(lines.map((l) => l.text.replace(/ ; \S+$/, ''))).toEqual(reference.map((r) => r.text));
    expect(lines[4]).toMatchObject({ symbol: 'do_call', text: `call 0x${sym.get('sub')!.toString(16)} ; sub`, invalid: false });
    expect(lines[4].location).toEqual({ file: join(work.path, 'dis.asm'), line: readFileSync(join(work.path, 'dis.asm'), 'utf8').split('\n').indexOf('    call sub') + 1 });
  });

  it('reads memory through the page tables without setting accessed bits or filling the TLB', async () => {
    const path = asmWithIdt('paged', `
main:
    mov ecx, 0
.identity:                      ; page table 0 at 0x301000: the first 4 MiB, identity
    mov eax, ecx
    shl eax, 12
    or eax, 3
    mov [0x301000 + ecx*4], eax
    inc ecx
    cmp ecx, 1024
    jne .identity
    mov dword [0x302000], 0x200003      ; page table 1: linear 0x400000 -> physical 0x200000
    mov dword [0x300000], 0x301003      ; page directory at 0x300000
    mov dword [0x300004], 0x302003
    mov dword [0x200000], 0x11223344
    mov eax, 0x300000
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
paged_on:
    mov ebx, [0x400000]
after_read:
    hlt
`);
    const sym = nmSymbols(path);
    const d = new Driver({ program: path });
    d.rt.setInstructionBreakpoints([{ id: 1, address: sym.get('paged_on')! }]);
    d.rt.continue();
    await d.stopped();
    const pte = () => d.rt.cpu.ram[0x302000];
    expect(pte()).toBe(0x03);
    expect(d.rt.evaluate('[0x400000]').result).toBe('0x11223344 (287454020)');
    expect([...d.rt.memory.read(0x400000, 4).data]).toEqual([0x44, 0x33, 0x22, 0x11]);
    expect(() => d.rt.evaluate('[0x401000]')).toThrow('cannot read linear address 0x00401000: not mapped by the page tables');
    // No accessed bit (PTE bit 5) and no TLB entry from the debugger's reads.
    expect(pte()).toBe(0x03);
    expect(d.rt.cpu.tlb.entries[0x400]).toBe(0);
    // The guest's own read of the same address sets it (SDM Vol. 3A, 4.8).
    d.rt.setInstructionBreakpoints([{ id: 2, address: sym.get('after_read')! }]);
    d.rt.continue();
    await d.stopped();
    expect([d.reg('ebx'), pte()]).toEqual([0x11223344, 0x23]);
  });

  it('refuses what it cannot debug with an error naming the file', () => {
    expect(() => new Driver({ program: join(work.path, 'missing.elf') })).toThrow(`${join(work.path, 'missing.elf')}: cannot read the program: no such file`);
    expect(() => new Driver({ program: work.write('junk.bin', 'not a kernel at all') })).toThrow(/junk\.bin: not a Multiboot image/);
    expect(() => new Driver({ program: work.write('k.asm', 'hlt') })).toThrow(/k\.asm: not a Multiboot image/);
    const bad = work.write('bad.asm', 'bits 32\n  mov eax, ebx, ecx\n  add eax\n');
    expect(() => new Driver({ program: bad })).toThrow(new RegExp(`^${bad}: does not assemble:\n${bad}:2:\\d+: error: .*\n${bad}:3:\\d+: error: `));
  });
});

describe('a .asm program, assembled in process', () => {
  const SOURCE = `[map symbols flat.map]
bits 32
org 0x100000
header:
    dd 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000)
    dd header, header, image_end, image_end, start
start:
    mov esp, 0x90000
    mov eax, 5
    call double
back:
    out 0xf4, al                ; exit status (10 << 1) | 1
double:
    add eax, eax
    ret
image_end:
`;

  it('stops on a source line at the address nasm gives its label, steps over the call, and runs to the exit', async () => {
    const source = work.write('flat.asm', SOURCE);
    work.nasm('flat-ref', SOURCE, 'bin');   // the reference assembler, for the label addresses (flat.map)
    const labels = nasmMapSymbols(work.file('flat.map'));
    const lines = SOURCE.split('\n');
    const d = new Driver({ program: source });
    const [bp] = d.rt.setSourceBreakpoints(source, [{ id: 7, line: lines.indexOf('    add eax, eax') + 1 }]);
    expect(bp).toMatchObject({ verified: true, address: labels.get('double') });
    d.rt.continue();
    expect(await d.stopped()).toMatchObject({ reason: 'breakpoint', breakpointIds: [bp.id] });
    const frames = d.rt.stackTrace();
    expect(frames.map((f) => [f.name, f.source?.line])).toEqual([
      ['double', lines.indexOf('    add eax, eax') + 1], ['back', lines.indexOf('    call double') + 1],
    ]);
    d.rt.stepOut();
    await d.stopped();
    expect([d.pc, d.reg('eax')]).toEqual([labels.get('back'), 10]);
    d.rt.continue();
    expect((await d.ended()).exitCode).toBe(21);
  });
});
