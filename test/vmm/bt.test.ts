// `bt` (binary translation, DESIGN.md): the guest kernel is deprivileged as under trap, but its
// blocks are translated before they run, so privileged instructions become callouts (no #GP),
// the sensitive instructions of fact sheet section 5 give ring 0's answers (no holes), and an
// instruction that writes page tables is retranslated to update them without a trap.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSamples, listSamples } from '../../scripts/samples.mjs';
import { addressOf, assembleFile, counts, kernel, run } from './support';

const names = listSamples().filter((s) => s.mode === 'native').map((s) => s.name);
let outDir = '';
const images = new Map<string, Uint8Array>();

beforeAll(() => {
  outDir = mkdtempSync(join(tmpdir(), 'vtscope-bt-samples-'));
  for (const s of buildSamples({ outDir, names })) images.set(s.name, new Uint8Array(readFileSync(s.image)));
});
afterAll(() => { if (outDir) rmSync(outDir, { recursive: true, force: true }); });

const EXIT = 'mov al, 0\n  out 0xf4, al';

describe('unmodified sample kernels under bt', () => {
  it.each(names)('%s gives the serial bytes, exit status and instruction count of native, without a hole or an emulating #GP', (name) => {
    const native = run('native', images.get(name)!);
    const bt = run('bt', images.get(name)!);
    expect(bt.serial).toBe(native.serial);
    expect(bt.result.exitCode, bt.result.message).toBe(native.result.exitCode);
    expect(bt.result.instructions).toBe(native.result.instructions);
    expect(bt.vmm.holes.list()).toEqual([]);
    const reasons = Object.keys(counts(bt.vmm));
    // Kernel code never traps for a privileged instruction: each one is a callout.
    expect(reasons.filter((r) => r.startsWith('#GP emulate'))).toEqual([]);
    expect(counts(bt.vmm)['bt callout OUT']).toBeGreaterThan(0);
    expect(counts(bt.vmm)['bt translate']).toBeGreaterThan(0);
  }, 60_000);

  it('timer: the handler\'s IRET and the idle loop\'s STI and HLT are callouts, once per tick', () => {
    const c = counts(run('bt', images.get('timer')!).vmm);
    expect(c['reflect external interrupt']).toBe(10);
    expect(c['bt callout IRET']).toBe(10);
    expect(c['bt callout HLT']).toBe(10);
  });

  it('syscall: user code runs untranslated, so its INT 0x80 still traps and CLI in ring 3 is the guest\'s own #GP', () => {
    const c = counts(run('bt', images.get('syscall')!).vmm);
    expect(c['reflect INT 0x80']).toBe(3);
    expect(c['reflect #GP']).toBe(2);
    expect(c['bt callout LTR']).toBe(1);
  });
});

describe('holes.asm under bt', () => {
  const SOURCE = fileURLToPath(new URL('../../samples/holes.asm', import.meta.url));

  it('sees no VMM in any of the four checks: POPF, SGDT, SMSW and PUSH CS are callouts that answer as ring 0', () => {
    const holes = assembleFile(SOURCE);
    const native = run('native', holes.image), bt = run('bt', holes.image), trap = run('trap', holes.image);
    expect(native.serial).toContain('holes: 0 of 4 checks see a VMM\n');
    expect(trap.serial).toContain('holes: 4 of 4 checks see a VMM\n');
    expect(bt.serial).toBe(native.serial);
    expect(bt.vmm.holes.list()).toEqual([]);
    const c = counts(bt.vmm);
    expect([c['bt callout POPF'], c['bt callout SGDT'], c['bt callout SMSW'], c['bt callout PUSH CS']].every((n) => n >= 1)).toBe(true);
  });
});

/** A kernel on its own GDT, TSS and LDT that stores what each sensitive instruction tells it. */
const SENSITIVE = kernel(`
  lgdt [gdt_desc]
  jmp 0x08:.reload
.reload:
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov ax, 0x18
  ltr ax
  mov ax, 0x20
  lldt ax
  lidt [idt_desc]
  sgdt [r_sgdt]
  sidt [r_sidt]
  sldt [r_sldt]
  str eax
  mov [r_str], eax
  smsw eax
  mov [r_smsw32], eax
  smsw [r_smsw16]
  push cs
  pop eax
  mov [r_push_cs], eax
  push ss
  pop eax
  mov [r_push_ss], eax
  xor eax, eax
  mov ax, cs
  mov [r_mov_cs], eax
  mov [r_mov_ss], ss
  pushfd
  or dword [esp], (1 << 9) | (3 << 12)   ; IF and IOPL 3
  popfd
  pushfd
  pop eax
  push 2
  popfd                                  ; IF and IOPL 0 again
  mov [r_flags], eax
  mov ecx, 0x08
  lar eax, ecx
  mov [r_lar_cs], eax
  lsl eax, ecx
  mov [r_lsl_cs], eax
  mov ecx, 0x18
  lar eax, ecx
  mov [r_lar_tss], eax
  ${EXIT}`, `
align 8
gdt:
  dq 0
  dq 0x00cf9a000000ffff        ; 0x08 code, DPL 0, 4 GiB
  dq 0x00cf92000000ffff        ; 0x10 data, DPL 0, 4 GiB
  dq 0x0000890900000067        ; 0x18 32-bit TSS at 0x90000, limit 0x67
  dq 0x000082091000000f        ; 0x20 LDT at 0x91000, limit 0xf
gdt_end:
gdt_desc: dw gdt_end - gdt - 1
  dd gdt
idt_desc: dw 0x7ff
  dd 0x92000
results:
r_sgdt: dw 0
  dd 0
r_sidt: dw 0
  dd 0
r_sldt: dw 0
r_smsw16: dw 0
r_str: dd 0
r_smsw32: dd 0
r_push_cs: dd 0
r_push_ss: dd 0
r_mov_cs: dd 0
r_mov_ss: dw 0
r_flags: dd 0
r_lar_cs: dd 0
r_lsl_cs: dd 0
r_lar_tss: dd 0
results_end: db 0`);

describe('the sensitive instructions in translated kernel code (fact sheet section 5)', () => {
  const results = addressOf(SENSITIVE.listing, /^results:/);
  const length = addressOf(SENSITIVE.listing, /^results_end:/) - results;
  const dump = (r: ReturnType<typeof run>): number[] => Array.from({ length }, (_, k) => r.vmm.cpu.readPhys8(results + k));
  const at = (r: ReturnType<typeof run>, label: string, bytes = 4): number => {
    const a = addressOf(SENSITIVE.listing, new RegExp(`^${label}:`));
    let v = 0;
    for (let k = bytes - 1; k >= 0; k--) v = v * 256 + r.vmm.cpu.readPhys8(a + k);
    return v;
  };

  it('give the values ring 0 gets (computed from the tables by hand), as native does, where trap gives the VMM\'s', () => {
    const native = run('native', SENSITIVE.image), bt = run('bt', SENSITIVE.image), trap = run('trap', SENSITIVE.image);
    expect(native.result.exitCode, native.result.message).toBe(1);
    expect(bt.result.exitCode, bt.result.message).toBe(1);
    const gdt = addressOf(SENSITIVE.listing, /^gdt:/);
    const expected: [string, number, number?][] = [
      ['r_sgdt', 5 * 8 - 1, 2], ['r_sidt', 0x7ff, 2], ['r_sldt', 0x20, 2], ['r_str', 0x18],
      ['r_smsw32', 0x11], ['r_smsw16', 0x11, 2],          // CR0 = PE | ET, as the Multiboot loader leaves it
      ['r_push_cs', 0x08, 2], ['r_push_ss', 0x10, 2], ['r_mov_cs', 0x08], ['r_mov_ss', 0x10, 2],
      ['r_lar_cs', 0x00c09b00],                           // G D, P DPL 0 code accessed; LAR masks with 0x00F0FF00
      ['r_lsl_cs', 0xffffffff],                           // limit 0xFFFFF in 4 KiB units
      ['r_lar_tss', 0x00008b00],                          // busy 32-bit TSS after LTR
    ];
    for (const r of [native, bt]) {
      for (const [label, value, bytes] of expected) expect(at(r, label, bytes), `${r.vmm.mode} ${label}`).toBe(value);
      expect(at(r, 'r_flags') & 0x3200).toBe(0x3200);      // IF and IOPL 3 as popped
    }
    const base = (r: ReturnType<typeof run>): number => r.vmm.cpu.readPhys32(results + 2) >>> 0;
    expect(base(native)).toBe(gdt);
    expect(dump(bt)).toEqual(dump(native));
    // The same kernel under trap reads the VMM's state in every one of them.
    for (const label of ['r_sldt', 'r_str', 'r_smsw32', 'r_push_cs', 'r_mov_cs', 'r_flags', 'r_lar_cs', 'r_lsl_cs']) {
      expect(at(trap, label), label).not.toBe(at(native, label));
    }
    expect(base(trap)).not.toBe(gdt);
    expect(trap.vmm.holes.total).toBeGreaterThan(0);
    expect(bt.vmm.holes.total).toBe(0);
  });
});

describe('adaptive translation of page-table writers', () => {
  // Identity paging with one 4 KiB page table; the loop remaps linear 0x3FF000 ROUNDS times
  // from one MOV, reading the page each time.
  const ROUNDS = 40;
  const PAGING = kernel(`
  mov edi, pt0
  mov eax, 0x3                   ; present, writable
.fill:
  mov [edi], eax
  add edi, 4
  add eax, 0x1000
  cmp edi, pt0 + 4096
  jne .fill
  mov eax, pt0
  or eax, 3
  mov [pd], eax
  mov eax, pd
  mov cr3, eax
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax
  mov dword [0x200000], 0x11111111
  mov dword [0x201000], 0x22222222
  xor esi, esi
  mov ecx, ${ROUNDS}
.remap:
  mov eax, ecx
  and eax, 1
  shl eax, 12
  add eax, 0x200003              ; frame 0x200000 or 0x201000
.pte_write:
  mov [pt0 + 0x3ff * 4], eax
  invlpg [0x3ff000]
  add esi, [0x3ff000]
  loop .remap
  mov [sum], esi
  ${EXIT}`, `
align 4
sum: dd 0
align 4096
pd: times 1024 dd 0
pt0: times 1024 dd 0`);

  it('traps on the first write, then carries the writes out in a callout: the same memory as native, one trap', () => {
    const native = run('native', PAGING.image), trap = run('trap', PAGING.image), bt = run('bt', PAGING.image);
    const sum = addressOf(PAGING.listing, /^sum:/);
    const expected = (ROUNDS / 2) * (0x11111111 + 0x22222222);
    for (const r of [native, trap, bt]) {
      expect(r.result.exitCode, r.result.message).toBe(1);
      expect(r.vmm.cpu.ram32[sum >>> 2] >>> 0, r.vmm.mode).toBe(expected >>> 0);
    }
    expect(bt.result.instructions).toBe(native.result.instructions);
    const t = counts(trap.vmm), b = counts(bt.vmm);
    expect(t['PTE write']).toBe(ROUNDS);
    expect(b['PTE write']).toBe(1);
    expect(b['bt callout PTE write']).toBe(ROUNDS - 1);
    const writer = addressOf(PAGING.listing, /^\.pte_write:/);
    const adapted = bt.vmm.log.records().filter((r) => r.reason === 'bt callout PTE write');
    expect(adapted.every((r) => r.eip === writer)).toBe(true);
    expect(bt.vmm.cycles()).toBeLessThan(trap.vmm.cycles());
  });
});

describe('translations follow the code', () => {
  it('code the guest writes is translated again: a NOP patched into CLI becomes a callout, a patched immediate is seen', () => {
    const smc = kernel(`
  xor esi, esi
  mov ecx, 3
.again:
  call patched
  add esi, eax
  mov byte [site], 0xfa          ; NOP -> CLI
  mov byte [value + 1], 5        ; mov eax, 1 -> mov eax, 5
  loop .again
  mov [sum], esi
  ${EXIT}
patched:
site:
  nop
value:
  mov eax, 1
  ret`, 'align 4\nsum: dd 0');
    const native = run('native', smc.image), bt = run('bt', smc.image);
    const sum = addressOf(smc.listing, /^sum:/);
    expect(native.vmm.cpu.ram32[sum >>> 2]).toBe(1 + 5 + 5);
    expect(bt.vmm.cpu.ram32[sum >>> 2]).toBe(1 + 5 + 5);
    expect(counts(bt.vmm)['bt callout CLI']).toBe(2);
  });

  it('logs each translated block with its size and callouts, charged per instruction', () => {
    const k = kernel(`
  mov ecx, 5
.l:
  cli
  sti
  loop .l
  ${EXIT}`);
    const bt = run('bt', k.image);
    const perInstruction = bt.vmm.costs.events.translatePerInstruction.cycles;
    const translations = bt.vmm.log.records().filter((r) => r.reason === 'bt translate');
    expect(translations.length).toBeGreaterThan(0);
    for (const r of translations) {
      const m = /^block at (0x[0-9a-f]{8}): (\d+) instructions?, (\d+) callouts?$/.exec(r.qualification);
      expect(m, r.qualification).not.toBeNull();
      expect(r.cost).toBe(Number(m![2]) * perInstruction);
      expect(r.kind).toBe('translation');
    }
    const loop = translations.find((r) => r.qualification.startsWith(`block at 0x${addressOf(k.listing, /^cli/).toString(16).padStart(8, '0')}`));
    expect(loop?.qualification).toMatch(/: 3 instructions, 2 callouts$/);
    const c = counts(bt.vmm);
    expect([c['bt callout CLI'], c['bt callout STI']]).toEqual([5, 5]);
  });
});
