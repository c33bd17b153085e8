// Hovers over the protocol. Instruction facts are checked against the fact sheet: exit
// reasons (section 1), control bits (section 2), the sensitive-but-unprivileged list and the
// privileged list (section 5). Register bits against the Intel SDM Vol. 3A 2.5 (and the CPU's
// own constants); numbers computed by hand; label addresses against nasm's map file.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CR0_PE, CR0_PG, CR0_WP, CR4_PAE, CR4_PSE, CR4_VMXE } from '../../src/cpu/registers';
import { type Client, find, startClient } from './lspClient';

const SOURCE = [
  'bits 32',                       // 0
  'org 0x100000',                  // 1
  'start:',                        // 2
  '    hlt',                       // 3
  '    cpuid',                     // 4
  '    out dx, al',                // 5
  '    invlpg [eax]',              // 6
  '    rdtsc',                     // 7
  '    mov cr3, eax',              // 8
  '    mov eax, cr3',              // 9
  '    mov dr7, eax',              // 10
  '    sgdt [gdtr]',               // 11
  '    sldt ax',                   // 12
  '    wbinvd',                    // 13
  '    rdmsr',                     // 14
  '    wrmsr',                     // 15
  '    popf',                      // 16
  '    pushf',                     // 17
  '    push cs',                   // 18
  '    push ds',                   // 19
  '    cli',                       // 20
  '    smsw ax',                   // 21
  '    vmcall',                    // 22
  '    mov eax, 0x11',             // 23
  '    or eax, 0x80000000',        // 24
  '    mov cr0, eax',              // 25
  '    mov ax, 0x2B',              // 26
  '    mov ds, ax',                // 27
  '    jmp 0x08:start',            // 28
  '    mov al, 0xFF',              // 29
  '    mov eax, cr4',              // 30
  '    add eax, eax',              // 31
  'gdtr: dw 0',                    // 32
  '      dd 0',                    // 33
  'far_ptr: dd start',             // 34
  '         dw 0x1C',              // 35
  'nop: ret',                      // 36
  '',
].join('\n');

let client: Client;
beforeAll(async () => {
  client = await startClient();
  client.open('h.asm', SOURCE);
  await client.diagnostics('h.asm');
});
afterAll(() => client.dispose());

const hoverAt = (line: number, character: number) => client.hover('h.asm', line, character);

describe('instruction hovers', () => {
  it('HLT: privileged, exit reason 12 under primary processor-based control bit 7', async () => {
    const h = await hoverAt(3, 5);
    expect(h).toContain('**HLT**');
    expect(h).toContain('**Privileged**: #GP(0) unless CPL = 0');
    expect(h).toContain('exit reason 12 (HLT) when HLT exiting (primary processor-based control bit 7) is set');
    expect(h).toMatch(/\*\*trap\*\*: faults with #GP\(0\) at CPL 1/);
    expect(h).toMatch(/\*\*bt\*\*: replaced by a call into the VMM/);
    expect(h).toContain('**pv**: sched_op (29) with cmd block (1)');
  });

  it('CPUID: exit reason 10, unconditional; no trap on IA-32 without VT-x', async () => {
    const h = await hoverAt(4, 5);
    expect(h).toContain('exit reason 10 (CPUID) unconditional');
    expect(h).toContain('runs without trapping (CPUID does not trap on IA-32 without VT-x) and reveals the host processor');
  });

  it('OUT: exit reason 30 under unconditional I/O exiting (bit 24) or the I/O bitmaps (bit 25)', async () => {
    const h = await hoverAt(5, 5);
    expect(h).toContain('exit reason 30 (IO_INSTRUCTION)');
    expect(h).toContain('unconditional I/O exiting (primary processor-based control bit 24)');
    expect(h).toContain('use I/O bitmaps (bit 25, overrides 24)');
    expect(h).toContain('**Privileged (IOPL-sensitive)**: #GP(0) when CPL > IOPL');
  });

  it.each([
    [6, 'exit reason 14 (INVLPG) when INVLPG exiting (primary processor-based control bit 9) is set'],
    [7, 'exit reason 16 (RDTSC) when RDTSC exiting (primary processor-based control bit 12) is set'],
    [8, 'exit reason 28 (CR_ACCESS) when CR3-load exiting (primary processor-based control bit 15) is set'],
    [9, 'exit reason 28 (CR_ACCESS) when CR3-store exiting (primary processor-based control bit 16) is set'],
    [10, 'exit reason 29 (DR_ACCESS) when MOV-DR exiting (primary processor-based control bit 23) is set'],
    [11, 'exit reason 46 (GDTR_IDTR) when descriptor-table exiting (secondary processor-based control bit 2'],
    [12, 'exit reason 47 (LDTR_TR) when descriptor-table exiting (secondary processor-based control bit 2'],
    [13, 'exit reason 54 (WBINVD) when WBINVD exiting (secondary processor-based control bit 6) is set'],
    [14, 'exit reason 31 (MSR_READ) unconditional, or with use MSR bitmaps (primary processor-based control bit 28)'],
    [15, 'exit reason 32 (MSR_WRITE) unconditional, or with use MSR bitmaps (primary processor-based control bit 28)'],
    [22, 'exit reason 18 (VMCALL) unconditional'],
  ])('line %i: %s', async (line, text) => {
    expect(await hoverAt(line, 5)).toContain(text);
  });

  it('sensitive but unprivileged instructions say what goes wrong at CPL 1 or 3 (fact sheet section 5)', async () => {
    const popf = await hoverAt(16, 5);
    expect(popf).toContain('**Sensitive but unprivileged**');
    expect(popf).toContain('at CPL > 0 an IOPL change is silently dropped; at CPL > IOPL an IF change is silently dropped; no trap');
    expect(popf).toMatch(/\*\*trap\*\*: runs without trapping at CPL 1 and gives the wrong answer: a virtualization hole/);
    expect(popf).toMatch(/\*\*bt\*\*: replaced by a call into the VMM that does what ring 0 would: no hole/);
    expect(popf).toContain('**VT-x**: no VM exit');
    expect(await hoverAt(17, 5)).toContain('pushes the real EFLAGS (IF, IOPL), not the guest\'s virtual ones');
    expect(await hoverAt(11, 5)).toContain('no fault at any CPL; it reveals the VMM\'s own GDTR');
    expect(await hoverAt(21, 5)).toContain('no fault; reveals the real CR0 low bits');
  });

  it('distinguishes operand forms: PUSH CS reveals the CPL, PUSH DS is innocuous', async () => {
    expect(await hoverAt(18, 5)).toContain('the selector\'s RPL reveals the real CPL');
    const pushDs = await hoverAt(19, 5);
    expect(pushDs).not.toContain('Sensitive');
    expect(pushDs).toContain('**trap**: runs directly');
    const far = await hoverAt(28, 5);
    expect(far).toContain('gate DPL, RPL and stack-switch checks depend on CPL');
    expect(far).toContain('exit reason 9 (TASK_SWITCH)');
  });

  it('CLI is IOPL-privileged; under trap the VMM clears the virtual IF', async () => {
    const h = await hoverAt(20, 5);
    expect(h).toContain('#GP(0) when CPL > IOPL');
    expect(h).toContain('the VMM clears the guest\'s virtual IF');
  });

  it('a word followed by a colon is a label even when it names an instruction', async () => {
    expect(await hoverAt(36, 1)).toContain('**nop**: label');
  });
});

describe('register hovers', () => {
  it('CR0 lists its bits at the SDM positions', async () => {
    const h = await client.hover('h.asm', 25, 9);
    expect(h).toContain('**CR0** (32-bit)');
    // The CPU's constants are independent of this table: the positions must agree.
    expect(h).toContain(`bit ${Math.log2(CR0_PE)} **PE**`);
    expect(h).toContain(`bit ${Math.log2(CR0_WP)} **WP**`);
    expect(h).toContain(`bit ${Math.log2(CR0_PG >>> 0)} **PG**`);
  });

  it('CR4 and general registers', async () => {
    const cr4 = await client.hover('h.asm', 30, 14);
    expect(cr4).toContain(`bit ${Math.log2(CR4_PSE)} **PSE**`);
    expect(cr4).toContain(`bit ${Math.log2(CR4_PAE)} **PAE**`);
    expect(cr4).toContain(`bit ${Math.log2(CR4_VMXE)} **VMXE**`);
    expect(await client.hover('h.asm', 29, 8)).toContain('**AL** (8-bit): bits 7:0 of EAX');
  });
});

describe('number hovers', () => {
  it('shows hex, decimal, signed and binary', async () => {
    // 0x80000000 = 2^31 = 2147483648; as a signed 32-bit value -2147483648.
    const h = await hoverAt(24, 14);
    expect(h).toContain('hex `0x80000000` · decimal `2147483648`');
    expect(h).toContain('signed (32-bit) `-2147483648`');
    expect(h).toContain('binary `1000 0000 0000 0000 0000 0000 0000 0000`');
    // `mov al, 0xFF`: an 8-bit destination, so 0xFF is -1.
    const al = await hoverAt(29, 13);
    expect(al).toContain('signed (8-bit) `-1`');
    expect(al).toContain('binary `1111 1111`');
  });

  it('a value that reaches MOV CR0 is shown as CR0 bits, with the whole register there', async () => {
    const h = await hoverAt(24, 14);
    expect(h).toContain('Reaches CR0 at line 26');
    expect(h).toContain('- **PG** (bit 31): paging');
    // 0x11 | 0x80000000 = 0x80000011: PE (bit 0), ET (bit 4), PG (bit 31).
    expect(h).toContain('CR0 = 0x80000011 there:');
    expect(h).toMatch(/\*\*PE\*\* \(bit 0\)[\s\S]*\*\*ET\*\* \(bit 4\)[\s\S]*\*\*PG\*\* \(bit 31\)/);
  });

  it('a value that reaches a segment register, a far jump or a far pointer is a selector', async () => {
    // 0x2B = 0b101011: index 5, TI 0, RPL 3.
    expect(await hoverAt(26, 13)).toContain('selector: index 5 in the GDT (TI = 0, descriptor at offset 0x28), RPL 3 (loaded into DS at line 28)');
    // 0x08: index 1, GDT, RPL 0.
    expect(await hoverAt(28, 9)).toContain('selector: index 1 in the GDT (TI = 0, descriptor at offset 0x8), RPL 0');
    // 0x1C = 0b11100: index 3, TI 1 (LDT), RPL 0.
    expect(await hoverAt(35, 14)).toContain('selector: index 3 in the LDT (TI = 1, descriptor at offset 0x18), RPL 0');
    // 0x11 in `mov eax, 0x11` reaches CR0 too, but 0xFF into AL reaches nothing.
    expect(await hoverAt(29, 13)).not.toContain('Reaches');
  });
});

describe('label and constant hovers', () => {
  let dir: string;
  let map: Map<string, number>;
  const kernel = readFileSync(join(__dirname, '../../samples/syscall.asm'), 'utf8');

  beforeAll(() => {
    // nasm's own symbol map of the same kernel is the oracle for the addresses.
    dir = mkdtempSync(join(tmpdir(), 'vtscope-lsp-map-'));
    writeFileSync(join(dir, 'syscall.asm'), kernel);
    writeFileSync(join(dir, 'wrap.asm'), '[map symbols out.map]\n%include "syscall.asm"\n');
    const r = spawnSync('nasm', ['-f', 'bin', 'wrap.asm', '-o', 'out.bin'], { cwd: dir, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    map = new Map([...readFileSync(join(dir, 'out.map'), 'utf8').matchAll(/^\s+([0-9A-F]+)\s+[0-9A-F]+\s+(\S+)$/gim)].map((m) => [m[2], parseInt(m[1], 16)]));
    client.open('syscall.asm', kernel);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('labels show the address of the last assembly, equal to nasm\'s', async () => {
    await client.diagnostics('syscall.asm');
    for (const name of ['start', 'start.reload_segments', 'set_gate', 'user_main']) {
      const written = name.includes('.') ? name.slice(name.indexOf('.')) : name;
      // The definition at the start of a line (the name also appears in comments).
      const line = kernel.split('\n').findIndex((l) => l.startsWith(`${written}:`));
      const h = await client.hover('syscall.asm', line, 1);
      const address = map.get(name);
      expect(address, name).toBeDefined();
      expect(h).toContain(`address \`0x${address!.toString(16).toUpperCase().padStart(8, '0')}\``);
    }
  });

  it('a constant used as a selector is decoded as one (the sample\'s own comments agree)', async () => {
    // KERNEL_CS equ 0x08 ; GDT index 1, RPL 0 -- used in `jmp KERNEL_CS:.reload_segments`.
    const cs = find(kernel, 'KERNEL_CS');
    const h = await client.hover('syscall.asm', cs.line, cs.character + 2);
    expect(h).toContain('**KERNEL_CS**: constant (`equ`)');
    expect(h).toContain('selector: index 1 in the GDT (TI = 0, descriptor at offset 0x8), RPL 0');
    // USER_DS equ 0x20 | 3 ; GDT index 4, RPL 3 -- `mov ax, USER_DS` then `mov ds, ax`.
    const ds = find(kernel, 'USER_DS');
    expect(await client.hover('syscall.asm', ds.line, ds.character + 2)).toContain('selector: index 4 in the GDT (TI = 0, descriptor at offset 0x20), RPL 3');
    // TSS_SEL equ 0x28 ; GDT index 5 -- `mov ax, TSS_SEL` then `ltr ax`.
    const tss = find(kernel, 'TSS_SEL');
    expect(await client.hover('syscall.asm', tss.line, tss.character + 2)).toContain('selector: index 5 in the GDT (TI = 0, descriptor at offset 0x28), RPL 0');
  });
});
