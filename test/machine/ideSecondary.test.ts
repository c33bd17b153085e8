/**
 * Both IDE channels with disks at any of the four positions, against QEMU 7.2 with the same
 * raw images (`-drive file=...,format=raw,if=ide,index=N`): a probe kernel dumps what the
 * firmware left (the task files at entry, the BIOS data area's disk count, the EBDA's fixed
 * disk parameter tables, the CMOS disk bytes), then on each of the four positions, present or
 * absent, selects the device, IDENTIFYs it, reads, writes, flushes and reads back sectors,
 * sets the multiple count and reads multiple, asks for the native max address and runs the
 * diagnostic, printing the registers and the IRQ 14 and IRQ 15 counts after each command. It
 * then waits in HLT for the secondary channel's interrupt through the 8259 and through the
 * I/O APIC. The output must equal QEMU's, and the images afterwards QEMU's images.
 *
 * QEMU puts an empty ATAPI CD-ROM at index 2 when no -drive has that index; vtscope has no
 * CD-ROM, so the run with an empty secondary channel gives QEMU -nodefaults, which leaves the
 * position empty (and drops the default VGA, floppy and parallel port, which the probe does
 * not look at).
 */
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cmosHardDiskBytes, Disk, memoryBacking, SECTOR_SIZE, type DiskBacking } from '../../src/machine/disk';
import { buildMpTables } from '../../src/machine/firmware/mpTable';
import { Machine } from '../../src/machine/machine';
import { qemuAvailable } from '../support/qemu';
import { runQemuProbe } from '../support/qemuDevices';
import { probeImage, sections } from './probeKernel';

const dir = mkdtempSync(join(tmpdir(), 'vtscope-ide2-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Drive N's image: 2048 + 1024 N sectors (so each has its own geometry and the tables show
 * which is which); byte k of sector s is (7s + k + 0x40 N) mod 256.
 */
function image(n: number): Uint8Array {
  const bytes = new Uint8Array((2048 + 1024 * n) * SECTOR_SIZE);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (7 * Math.floor(i / SECTOR_SIZE) + (i % SECTOR_SIZE) + 0x40 * n) & 0xff;
  return bytes;
}

const HELPERS = `
%define IOREGSEL 0xfec00000
%define IOWIN 0xfec00010
%define LAPIC_EOI 0xfee000b0

; outp REG, VALUE: a byte to register REG of the channel's command block
%macro outp 2
  mov dx, [base]
  add dx, %1
  mov al, %2
  out dx, al
%endmacro
; channel 0|1: the primary (0x1F0/0x3F6) or the secondary (0x170/0x376) channel
%macro channel 1
%if %1 == 0
  mov word [base], 0x1f0
  mov word [ctrl], 0x3f6
%else
  mov word [base], 0x170
  mov word [ctrl], 0x376
%endif
%endmacro
; task COUNT, LBA0, COMMAND: LBA28 on the selected device (its device register is [dev])
%macro task 3
  outp 6, [dev]
  outp 2, %1
  outp 3, %2
  outp 4, 0
  outp 5, 0
  outp 7, %3
%endmacro
%macro ioapic_set 2
  mov dword [IOREGSEL], %1
  mov dword [IOWIN], %2
%endmacro

; waits (a bounded while) for BSY to clear in the alternate status
wait_bsy:
  push eax
  push ecx
  push edx
  mov dx, [ctrl]
  mov ecx, 1000000
.w:
  in al, dx
  test al, 0x80
  loopnz .w
  pop edx
  pop ecx
  pop eax
  ret

; registers 1-7 of the command block, then the alternate status
regs:
  push eax
  push ecx
  push edx
  mov dx, [base]
  inc dx
  mov ecx, 7
.r:
  in al, dx
  call hex8
  inc dx
  loop .r
  mov dx, [ctrl]
  in al, dx
  call hex8
  call space
  pop edx
  pop ecx
  pop eax
  ret

; with the HOB bit: the previous count, LBA and feature values (then HOB off again)
hob_regs:
  push eax
  push ecx
  push edx
  mov dx, [ctrl]
  mov al, 0x80
  out dx, al
  mov dx, [base]
  inc dx
  mov ecx, 5
.r:
  in al, dx
  call hex8
  inc dx
  loop .r
  mov dx, [ctrl]
  xor al, al
  out dx, al
  call space
  pop edx
  pop ecx
  pop eax
  ret

; the interrupts counted since the last call: IRQ 14, IRQ 15
irqs:
  push eax
  mov al, [count14]
  call hex8
  mov al, [count15]
  call hex8
  mov dword [count14], 0
  mov dword [count15], 0
  call nl
  pop eax
  ret

; after a command without data: wait, registers, interrupts
step:
  call wait_bsy
  call regs
  call irqs
  ret

; PIO in: ECX sectors in blocks of ESI sectors (as many as a device that went on would send),
; 16-bit transfers; prints the registers before each block and at the end, the checksum of
; the words read, the interrupts.
pio_in:
  pushad
  xor ebx, ebx
.block:
  call wait_bsy
  call regs
  mov dx, [ctrl]
  in al, dx
  test al, 0x08
  jz .done
  mov eax, esi
  cmp eax, ecx
  jbe .n
  mov eax, ecx
.n:
  sub ecx, eax
  push ecx
  shl eax, 8
  mov ecx, eax
  mov dx, [base]
.word:
  in ax, dx
  movzx eax, ax
  add ebx, eax
  rol ebx, 5
  loop .word
  pop ecx
  test ecx, ecx
  jnz .block
  call wait_bsy
  call regs
.done:
  mov eax, ebx
  call hex32
  call space
  call irqs
  popad
  ret

; PIO out: blocks while DRQ is set, one sector each; word i is (EBP + i) * 0x9E37.
pio_out:
  pushad
  xor edi, edi
.block:
  call wait_bsy
  call regs
  mov dx, [ctrl]
  in al, dx
  test al, 0x08
  jz .done
  mov dx, [base]
  mov ecx, 256
.word:
  lea eax, [ebp + edi]
  imul eax, eax, 0x9e37
  out dx, ax
  inc edi
  loop .word
  jmp .block
.done:
  call irqs
  popad
  ret

; IDENTIFY DEVICE: the serial number and model if the device sends data, the checksum
identify:
  pushad
  outp 7, 0xec
  call wait_bsy
  call regs
  mov dx, [ctrl]
  in al, dx
  test al, 0x08
  jz .none
  mov dx, [base]
  mov edi, buffer
  mov ecx, 256
  rep insw
  mov esi, buffer + 20           ; words 10-19 and 27-46, two characters a word, high byte first
  mov ecx, 10
  call ata_string
  mov esi, buffer + 54
  mov ecx, 20
  call ata_string
  call space
  mov esi, buffer
  mov ecx, 256
  xor ebx, ebx
.sum:
  lodsw
  movzx eax, ax
  add ebx, eax
  rol ebx, 5
  loop .sum
  mov eax, ebx
  call hex32
  call space
.none:
  mov dx, [base]                 ; one more word: 0 once the data is over, or from no device
  in ax, dx
  call hex8
  call space
  call regs
  call irqs
  popad
  ret
ata_string:
  lodsw
  xchg al, ah
  call putc
  mov al, ah
  call putc
  loop ata_string
  ret

; every command on the device [dev] of the channel [base]
commands:
  outp 6, [dev]
  call wait_bsy
  call regs
  call hob_regs
  call irqs
  call identify
  task 2, 3, 0x20                  ; READ SECTORS: LBA 3-4
  mov ecx, 2
  mov esi, 1
  call pio_in
  task 2, 20, 0x30                 ; WRITE SECTORS: LBA 20-21
  movzx ebp, byte [dev]
  call pio_out
  outp 7, 0xe7                     ; FLUSH CACHE
  call step
  task 4, 19, 0x20                 ; read back LBA 19-22
  mov ecx, 4
  call pio_in
  outp 2, 2                        ; SET MULTIPLE MODE 2, then READ MULTIPLE 5 at LBA 8
  outp 7, 0xc6
  call step
  task 5, 8, 0xc4
  mov ecx, 5
  mov esi, 2
  call pio_in
  outp 7, 0xf8                     ; READ NATIVE MAX ADDRESS
  call step
  outp 7, 0x90                     ; EXECUTE DEVICE DIAGNOSTIC
  call step
  ret

; waits in HLT for an IRQ 15 (or three timer ticks, if none comes), prints the count
wait_irq15:
  mov dword [ticks], 0
.sleep:
  sti
  hlt
  cli
  cmp dword [count15], 0
  jne .done
  cmp dword [ticks], 3
  jb .sleep
.done:
  sti
  ret

irq0:
  inc dword [ticks]
  jmp eoi
irq14:
  inc dword [count14]
  jmp eoi
irq15:
  inc dword [count15]
eoi:
  push eax
  mov al, 0x20
  out 0xa0, al
  out 0x20, al
  mov dword [LAPIC_EOI], 0
  pop eax
  iret

base: dw 0
ctrl: dw 0
dev: db 0
count14: dd 0
count15: dd 0
ticks: dd 0
; the CMOS bytes QEMU sets for disks: types, drive 0 and 1 type 47 and geometry, translations
cmos_bytes: db 0x12, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23
            db 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x39
cmos_end:
section .bss
buffer: resb 16 * 512
section .text
`;

const PROBE = probeImage(`${HELPERS}
main:
  title 'entry'                    ; as SeaBIOS left the channels: device 1 selected
  channel 0
  call regs
  call hob_regs
  channel 1
  call regs
  call hob_regs
  call nl

  title 'firmware'                 ; disk count, fixed disk parameter tables, CMOS
  mov al, [0x475]
  call hex8
  call nl
  mov esi, 0x9fc00 + 0x3d
  mov ecx, 32
  call dump
  mov esi, cmos_bytes
  mov ecx, cmos_end - cmos_bytes
.cmos:
  lodsb
  out 0x70, al
  in al, 0x71
  call hex8
  loop .cmos
  call nl

  set_gate 0x20, irq0
  set_gate 0x2e, irq14
  set_gate 0x2f, irq15
  remap_pics 0xfb                  ; cascade only; the slave 8259 gets IRQ 14 and 15 below
  mov al, 0x3f
  out 0xa1, al
  channel 0
  outp 0x206, 0                    ; nIEN clear on both channels
  channel 1
  outp 0x206, 0
  sti

%assign n 0
%rep 4
  title {'drive', '0' + n}
  channel n / 2
  mov byte [dev], 0xe0 | ((n % 2) << 4)
  call commands
%assign n n + 1
%endrep

  title 'irq 15 through the 8259'
  mov al, 0xfa                     ; and IRQ 0, to give up on an interrupt that does not come
  out 0x21, al
%assign n 0
%rep 2
  channel 1
  mov byte [dev], 0xe0 | (n << 4)
  mov dword [count15], 0
  task 1, 7, 0x20
  call wait_irq15
  mov ecx, 1
  mov esi, 1
  call pio_in
%assign n n + 1
%endrep

  title 'irq 15 through the i/o apic'
  cli
  mov al, 0xff                     ; the 8259s masked; pins 2 (IRQ 0), 14 and 15 to vectors
  out 0x21, al
  out 0xa1, al
  ioapic_set 0x14, 0x20
  ioapic_set 0x15, 0
  ioapic_set 0x2c, 0x2e
  ioapic_set 0x2d, 0
  ioapic_set 0x2e, 0x2f
  ioapic_set 0x2f, 0
  sti
%assign n 0
%rep 2
  channel 1
  mov byte [dev], 0xe0 | (n << 4)
  mov dword [count15], 0
  task 1, 9, 0x20
  call wait_irq15
  mov ecx, 1
  mov esi, 1
  call pio_in
%assign n n + 1
%endrep
  cli
  jmp exit
`);

interface Config {
  name: string;
  /** Drive indexes with a disk. */
  drives: number[];
  /** QEMU without its default devices (see the header). */
  nodefaults?: boolean;
}

const CONFIGS: Config[] = [
  { name: 'all four drives', drives: [0, 1, 2, 3] },
  { name: 'primary slave and secondary master: each channel with one device absent', drives: [1, 2] },
  { name: 'secondary master alone: an empty primary channel', drives: [2] },
  { name: 'primary master and slave: an empty secondary channel', drives: [0, 1], nodefaults: true },
];

/** The probe's output on vtscope's machine with the disks; the images are changed in place. */
function runOnMachine(probe: Uint8Array, disks: Map<number, DiskBacking>): { serial: string; disks: Map<number, Disk> } {
  const m = new Machine();
  const attached = new Map<number, Disk>();
  for (const [index, backing] of disks) {
    const disk = new Disk(backing);
    m.attachDisk(disk, index);
    attached.set(index, disk);
  }
  let serial = '';
  m.onSerialOutput = (b) => { serial += String.fromCharCode(b); };
  m.load(probe);
  const r = m.run({ maxInstructions: 500_000_000 });
  if (r.haltReason !== 'exit') throw new Error(`${r.message}\n${serial}`);
  return { serial, disks: attached };
}

async function runOnQemu(probe: Uint8Array, paths: Map<number, string>, nodefaults = false): Promise<string> {
  const args = nodefaults ? ['-nodefaults'] : [];
  for (const [index, path] of paths) args.push('-drive', `file=${path},format=raw,if=ide,index=${index}`);
  const r = await runQemuProbe(probe, { args, timeoutMs: 60_000 });
  if (r.status !== 1) throw new Error(`QEMU ended with status ${r.status}:\n${r.serial}`);
  return r.serial;
}

describe('IDE drives 0-3 on both channels', () => {
  for (const config of CONFIGS) {
    it.skipIf(!qemuAvailable())(`${config.name}: prints what QEMU prints and leaves the images QEMU leaves`, async () => {
      const paths = new Map<number, string>();
      const backings = new Map<number, DiskBacking>();
      const originals = new Map<number, Uint8Array>();
      for (const n of config.drives) {
        const original = image(n);
        const path = join(dir, `${config.drives.join('')}-${n}.img`);
        writeFileSync(path, original);
        paths.set(n, path);
        originals.set(n, original);
        backings.set(n, memoryBacking(original.slice()));
      }
      const qemu = await runOnQemu(PROBE, paths, config.nodefaults);
      const ours = runOnMachine(PROBE, backings);
      expect(ours.serial).toBe(qemu);

      const s = sections(qemu);
      for (const n of [0, 1, 2, 3]) {
        const identify = s.get(`drive${n}`)!.split('\n')[1];
        if (config.drives.includes(n)) expect(identify).toContain(`QM0000${n + 1}`);
        else expect(identify).not.toContain('QM0000');
      }
      for (const [n, disk] of ours.disks) {
        const after = originals.get(n)!.slice();
        for (const [lba, sector] of disk.changedSectors()) after.set(sector, lba * SECTOR_SIZE);
        expect([...disk.changedSectors().keys()].sort((a, b) => a - b)).toEqual([20, 21]);
        expect(Buffer.compare(after, readFileSync(paths.get(n)!))).toBe(0);
      }
    });
  }
});

describe('what the firmware records of the disks', () => {
  const FIRMWARE = probeImage(`
main:
  mov al, [0x475]
  call hex8
  call nl
  mov esi, 0x9fc00 + 0x3d
  mov ecx, 32
  call dump
  mov al, 0x39
  out 0x70, al
  in al, 0x71
  call hex8
  call nl
  jmp exit
`);

  it.skipIf(!qemuAvailable())('translated geometries give Phoenix tables with the physical geometry, as under QEMU', async () => {
    // 1 GiB (LBA translation, 32 heads), 200 GiB (LBA, 255 heads), 10 MiB (none).
    const sizes = new Map([[0, 2097152], [1, 419430400], [3, 20480]]);
    const paths = new Map<number, string>();
    const backings = new Map<number, DiskBacking>();
    for (const [n, sectors] of sizes) {
      const path = join(dir, `sparse-${n}.img`);
      writeFileSync(path, '');
      truncateSync(path, sectors * SECTOR_SIZE);
      paths.set(n, path);
      backings.set(n, { sectorCount: sectors, read: (_lba, into) => into.fill(0) });
    }
    const qemu = await runOnQemu(FIRMWARE, paths);
    expect(runOnMachine(FIRMWARE, backings).serial).toBe(qemu);
    // SeaBIOS's LBA translation of 2097152 sectors: 33288 tracks of 63, 32 heads, 1040 cylinders
    // clipped to 1024; the table's first word is those 1024 cylinders, then 32 heads and 0xA0.
    expect(qemu.split('\n')[1].startsWith('000420A0')).toBe(true);
  });

  it('CMOS: types and geometry of drives 0 and 1, translations of all four (QEMU pc_cmos_init_late)', () => {
    const g = (cylinders: number, translation: 'none' | 'lba' | 'large') => ({ cylinders, heads: 16, sectors: 63, translation });
    const bytes = new Map(cmosHardDiskBytes([undefined, g(4, 'none'), g(2080, 'lba'), g(203, 'large')]));
    expect(bytes.get(0x12)).toBe(0x0f);             // the primary slave only
    expect(bytes.has(0x19)).toBe(false);
    expect([0x1a, 0x24, 0x25, 0x26, 0x29, 0x2c].map((k) => bytes.get(k))).toEqual([47, 4, 0, 16, 0xc8, 63]);
    expect(bytes.get(0x39)).toBe((1 << 4) | (2 << 6)); // drive 2 lba, drive 3 large
  });

  it('the MP table routes ISA IRQ 15 to I/O APIC pin 15 (MP specification 1.4, 4.3.4)', () => {
    const { configTable } = buildMpTables({ processors: [{ signature: 0x633, features: 0 }], localApicVersion: 0x14, localApicAddress: 0xfee00000, ioApicAddress: 0xfec00000 });
    const entries: number[][] = [];
    for (let at = 44 + 20 + 8 + 8 + 8; at < configTable.length; at += 8) entries.push([...configTable.subarray(at, at + 8)]);
    // type 3 (I/O interrupt), INT, flags 0 (conforming), bus 1 (ISA), IRQ 15, APIC 0, INTIN 15
    expect(entries).toContainEqual([3, 0, 0, 0, 1, 15, 0, 15]);
  });
});
