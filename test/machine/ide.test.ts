/**
 * The IDE channel against QEMU 7.2 with the same raw disk image (`-drive ...,if=ide,index=0`,
 * i.e. -hda): a PIO driver kernel IDENTIFYs the disk, reads with LBA28, LBA48 and CHS
 * addresses, with 16- and 32-bit data transfers, single sectors and READ MULTIPLE blocks,
 * writes with WRITE SECTORS / MULTIPLE / EXT, waits for IRQ 14, and pokes at errors, device
 * control and the absent device 1. Everything it prints (task file registers after each
 * step, checksums of the data) must be the same under both, and so must the disk image after.
 */
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { identifyDevice } from '../../src/machine/ataIdentify';
import { Disk, guessGeometry, memoryBacking, SECTOR_SIZE, type DiskBacking } from '../../src/machine/disk';
import { ABRT, BLOCK_LATENCY_NS, BSY, DRDY, DRQ, DSC, ERR, IdeChannel } from '../../src/machine/ide';
import { Machine } from '../../src/machine/machine';
import { qemuAvailable } from '../support/qemu';
import { runQemuProbe } from '../support/qemuDevices';
import { probeImage } from './probeKernel';

const dir = mkdtempSync(join(tmpdir(), 'vtscope-ide-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** 1 MiB: 2048 sectors, geometry 2/16/63; byte k of sector s is (7s + k) mod 256. */
function diskImage(): Uint8Array {
  const bytes = new Uint8Array(2048 * SECTOR_SIZE);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (7 * Math.floor(i / SECTOR_SIZE) + (i % SECTOR_SIZE)) & 0xff;
  return bytes;
}

const HELPERS = `
%macro outb 2
  mov dx, %1
  mov al, %2
  out dx, al
%endmacro
; device, sector count, sector, cylinder low, cylinder high, command
%macro task 6
  outb 0x1f6, %1
  outb 0x1f2, %2
  outb 0x1f3, %3
  outb 0x1f4, %4
  outb 0x1f5, %5
  outb 0x1f7, %6
%endmacro
; the previous values of count, LBA 24-31, 32-39, 40-47 for a 48-bit command
%macro hob 4
  outb 0x1f2, %1
  outb 0x1f3, %2
  outb 0x1f4, %3
  outb 0x1f5, %4
%endmacro

wait_bsy:
  push eax
  push edx
  mov dx, 0x3f6
.w:
  in al, dx
  test al, 0x80
  jnz .w
  pop edx
  pop eax
  ret

regs:                      ; 0x1F1-0x1F7, then the alternate status
  push eax
  push ecx
  push edx
  mov dx, 0x1f1
  mov ecx, 7
.r:
  in al, dx
  call hex8
  inc dx
  loop .r
  mov dx, 0x3f6
  in al, dx
  call hex8
  call space
  pop edx
  pop ecx
  pop eax
  ret

; PIO in: ECX sectors in blocks of ESI sectors, EBP = 2 (insw) or 4 (insd); prints the
; registers before each block and after the last, then a checksum of the words read.
pio_in:
  pushad
  xor ebx, ebx
.block:
  call wait_bsy
  call regs
  mov dx, 0x3f6
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
  shl eax, 9
  mov ecx, eax
  mov edi, buffer
  mov dx, 0x1f0
  cmp ebp, 4
  je .dwords
  shr ecx, 1
  rep insw
  jmp .sum
.dwords:
  shr ecx, 2
  rep insd
.sum:
  mov ecx, eax
  shr ecx, 1
  mov edi, buffer
.word:
  movzx eax, word [edi]
  add ebx, eax
  rol ebx, 5
  add edi, 2
  loop .word
  pop ecx
  test ecx, ecx
  jnz .block
  call wait_bsy
  call regs
.done:
  mov eax, ebx
  call hex32
  call nl
  popad
  ret

; PIO out: ECX sectors in blocks of ESI sectors; word i of the command is (EBP + i) * 0x9E37.
pio_out:
  pushad
  xor edi, edi
.block:
  call wait_bsy
  call regs
  mov dx, 0x3f6
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
  mov dx, 0x1f0
.word:
  lea eax, [ebp + edi]
  imul eax, eax, 0x9e37
  out dx, ax
  inc edi
  loop .word
  pop ecx
  test ecx, ecx
  jnz .block
  call wait_bsy
  call regs
.done:
  call nl
  popad
  ret

irq14:
  push eax
  push edx
  mov dx, 0x1f7
  in al, dx
  inc dword [irqs]
  mov al, 0x20
  out 0xa0, al
  out 0x20, al
  pop edx
  pop eax
  iret
irqs: dd 0
section .bss
buffer: resb 16 * 512
section .text
`;

const DRIVER = probeImage(`${HELPERS}
main:
  title 'entry'              ; SeaBIOS leaves device 1 selected
  call regs
  call nl
  outb 0x1f6, 0xa0
  call wait_bsy
  call regs
  call nl

  title 'identify'
  outb 0x1f7, 0xec
  mov ecx, 1
  mov esi, 1
  mov ebp, 2
  call pio_in
  outb 0x1f7, 0xec
  call wait_bsy
  mov dx, 0x1f0
  mov ecx, 27
.skip:
  in ax, dx
  loop .skip
  mov ecx, 20                ; the model number, two characters a word, first in the high byte
.model:
  in ax, dx
  xchg al, ah
  call putc
  mov al, ah
  call putc
  loop .model
  mov ecx, 256 - 47
.rest:
  in ax, dx
  loop .rest
  call regs
  call nl

  title 'read'
  task 0xe0, 2, 0, 0, 0, 0x20            ; LBA 0, 2 sectors
  mov ecx, 2
  mov esi, 1
  mov ebp, 2
  call pio_in
  task 0xe0, 0, 0xf0, 0x03, 0, 0x20      ; count 0 = 256 sectors from LBA 1008, 32-bit transfers
  mov ecx, 256
  mov ebp, 4
  call pio_in
  task 0xa2, 3, 5, 1, 0, 0x20            ; CHS 1/2/5 = LBA 1138
  mov ecx, 3
  mov ebp, 2
  call pio_in
  hob 0, 0, 0, 0
  task 0x40, 2, 0x34, 0x02, 0, 0x24      ; READ SECTORS EXT, LBA 0x234
  mov ecx, 2
  call pio_in
  task 0xe0, 1, 0, 8, 0, 0x20            ; LBA 2048: past the end
  mov ecx, 1
  call pio_in
  task 0xe0, 2, 0xff, 7, 0, 0x20         ; LBA 2047 and 2048: one sector, then the error
  mov ecx, 2
  call pio_in

  title 'multiple'
  outb 0x1f2, 4
  outb 0x1f7, 0xc6
  call wait_bsy
  call regs
  outb 0x1f2, 3
  outb 0x1f7, 0xc6
  call wait_bsy
  call regs
  call nl
  task 0xe0, 10, 8, 0, 0, 0xc4           ; READ MULTIPLE: blocks of 4, 4, 2
  mov ecx, 10
  mov esi, 4
  call pio_in

  title 'write'
  task 0xe0, 2, 100, 0, 0, 0x30          ; LBA 100-101
  mov ecx, 2
  mov esi, 1
  mov ebp, 0x1234
  call pio_out
  task 0xe0, 5, 200, 0, 0, 0xc5          ; WRITE MULTIPLE at 200: blocks of 4 and 1
  mov ecx, 5
  mov esi, 4
  mov ebp, 0x777
  call pio_out
  hob 0, 0, 0, 0
  task 0x40, 1, 0x10, 0x03, 0, 0x34      ; WRITE SECTORS EXT, LBA 0x310
  mov ecx, 1
  mov esi, 1
  mov ebp, 0xbeef
  call pio_out
  task 0xa0, 1, 1, 0, 0, 0x30            ; CHS 0/0/1 = LBA 0
  mov ecx, 1
  mov ebp, 0x55
  call pio_out
  task 0xe0, 1, 0, 8, 0, 0x30            ; past the end: aborts after the data
  mov ecx, 1
  mov ebp, 0x99
  call pio_out
  outb 0x1f7, 0xe7
  call wait_bsy
  call regs
  call nl
  task 0xe0, 5, 99, 0, 0, 0x20           ; read back 99-103 and 200-204
  mov ecx, 5
  mov ebp, 2
  call pio_in
  task 0xe0, 5, 200, 0, 0, 0x20
  mov ecx, 5
  call pio_in

  title 'interrupt'
  set_gate 0x2e, irq14
  outb 0x20, 0x11
  outb 0xa0, 0x11
  outb 0x21, 0x20
  outb 0xa1, 0x28
  outb 0x21, 4
  outb 0xa1, 2
  outb 0x21, 1
  outb 0xa1, 1
  outb 0x21, 0xfb
  outb 0xa1, 0xbf
  outb 0x3f6, 0
  task 0xe0, 1, 7, 0, 0, 0x20
  sti
.sleep:
  hlt
  cmp dword [irqs], 1
  jb .sleep
  cli
  mov ecx, 1
  mov ebp, 2
  call pio_in
  outb 0x3f6, 2                          ; nIEN: no interrupt
  task 0xe0, 1, 7, 0, 0, 0x20
  mov ecx, 1
  call pio_in
  outb 0x3f6, 0
  sti
  mov eax, [irqs]
  call hex32
  call nl
  cli

  title 'other commands'
  outb 0x1f1, 0x03                       ; SET FEATURES transfer mode: PIO 4
  outb 0x1f2, 0x0c
  outb 0x1f7, 0xef
  call wait_bsy
  call regs
  outb 0x1f1, 0x99                       ; unknown feature
  outb 0x1f7, 0xef
  call wait_bsy
  call regs
  outb 0x1f7, 0x55                       ; unknown command
  call wait_bsy
  call regs
  outb 0x1f7, 0xe5                       ; CHECK POWER MODE
  call wait_bsy
  call regs
  outb 0x1f7, 0xf8                       ; READ NATIVE MAX ADDRESS
  call wait_bsy
  call regs
  outb 0x1f7, 0x90                       ; EXECUTE DEVICE DIAGNOSTIC
  call wait_bsy
  call regs
  call nl
  outb 0x1f7, 0xec                       ; byte reads of the data port take a word each
  call wait_bsy
  mov dx, 0x1f0
  in al, dx
  call hex8
  in al, dx
  call hex8
  in ax, dx
  call hex8
  mov ecx, 253
.drain:
  in ax, dx
  loop .drain
  call regs
  call nl
  outb 0x3f6, 0x04                       ; software reset
  outb 0x3f6, 0x00
  call wait_bsy
  call regs
  outb 0x1f6, 0xb0                       ; device 1: absent
  call regs
  outb 0x1f7, 0xec
  call regs
  outb 0x1f6, 0xa0
  call regs
  call nl
  jmp exit
`);

/** Runs `image` with `disk` attached; returns the serial output. */
function runOnMachine(image: Uint8Array, disk: Disk | undefined): string {
  const m = new Machine();
  if (disk !== undefined) m.attachDisk(disk);
  let serial = '';
  m.onSerialOutput = (b) => { serial += String.fromCharCode(b); };
  m.load(image);
  const r = m.run({ maxInstructions: 100_000_000 });
  if (r.haltReason !== 'exit') throw new Error(`${r.message}\n${serial}`);
  return serial;
}

async function runOnQemuWithDisk(image: Uint8Array, diskPath: string | undefined): Promise<string> {
  const args = diskPath === undefined ? [] : ['-drive', `file=${diskPath},format=raw,if=ide,index=0`];
  const r = await runQemuProbe(image, { args });
  if (r.status !== 1) throw new Error(`QEMU ended with status ${r.status}:\n${r.serial}`);
  return r.serial;
}

/** A disk of `sectors` zero sectors but for sector 0 (no memory spent on the rest). */
function zeroDisk(sectors: number, sector0: Uint8Array = new Uint8Array(SECTOR_SIZE)): DiskBacking {
  return { sectorCount: sectors, read: (lba, into) => { into.fill(0); if (lba === 0) into.set(sector0.subarray(0, into.length)); } };
}

describe('IDE PIO driver kernel', () => {
  it.skipIf(!qemuAvailable())('prints the same as under QEMU, and leaves the same disk image', async () => {
    const original = diskImage();
    const qemuDisk = join(dir, 'driver.img');
    writeFileSync(qemuDisk, original);
    const qemu = await runOnQemuWithDisk(DRIVER, qemuDisk);
    const disk = new Disk(memoryBacking(original.slice()));
    const ours = runOnMachine(DRIVER, disk);
    expect(ours).toBe(qemu);
    expect(qemu).toContain('QEMU HARDDISK');

    const after = original.slice();
    for (const [lba, sector] of disk.changedSectors()) after.set(sector, lba * SECTOR_SIZE);
    expect([...disk.changedSectors().keys()].sort((a, b) => a - b)).toEqual([0, 100, 101, 200, 201, 202, 203, 204, 0x310]);
    expect(Buffer.compare(after, readFileSync(qemuDisk))).toBe(0);
  });

  it.skipIf(!qemuAvailable())('without a disk every register reads 0, as under QEMU', async () => {
    const probe = probeImage(`${HELPERS}
main:
  call regs
  outb 0x1f6, 0xa0
  call regs
  outb 0x1f7, 0xec
  call regs
  mov dx, 0x1f0
  in ax, dx
  call hex8
  in al, dx
  call hex8
  call nl
  jmp exit
`);
    expect(runOnMachine(probe, undefined)).toBe(await runOnQemuWithDisk(probe, undefined));
  });
});

describe('disk geometry, IDENTIFY words and CMOS bytes', () => {
  /** MBR with one partition ending at head `endHead`, sector `endSector`. */
  function mbr(endHead: number, endSector: number): Uint8Array {
    const s = new Uint8Array(SECTOR_SIZE);
    s.set([0x00, 1, 1, 0, 0x83, endHead, endSector, 0xff, 63, 0, 0, 0, 0x00, 0x10, 0, 0], 0x1be);
    s[510] = 0x55;
    s[511] = 0xaa;
    return s;
  }
  const cases: { name: string; sectors: number; sector0?: Uint8Array }[] = [
    { name: '1 MiB', sectors: 2048 },
    { name: '100 MiB', sectors: 204800 },
    { name: '1 GiB (more than 1024 cylinders: LBA translation)', sectors: 2097152 },
    { name: '10 MiB partitioned with 4 heads of 32 sectors', sectors: 20480, sector0: mbr(3, 32) },
    { name: '100 MiB partitioned with 255 heads (large translation)', sectors: 204800, sector0: mbr(254, 63) },
    { name: '200 GiB (LBA28 capacity capped, 16383 cylinders)', sectors: 419430400 },
  ];
  const probe = probeImage(`${HELPERS}
main:
  outb 0x1f6, 0xa0
  outb 0x1f7, 0xec
  call wait_bsy
  mov dx, 0x1f0
  mov ecx, 256
  mov edi, buffer
  rep insw
  mov esi, buffer
  mov ecx, 512
  call dump
  mov ecx, 0
.cmos:
  mov al, [cmos_bytes + ecx]
  out 0x70, al
  in al, 0x71
  call hex8
  inc ecx
  cmp ecx, cmos_end - cmos_bytes
  jb .cmos
  call nl
  jmp exit
cmos_bytes: db 0x12, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x39
cmos_end:
`);

  for (const c of cases) {
    it.skipIf(!qemuAvailable())(`${c.name}: as QEMU gives them`, async () => {
      const path = join(dir, `geometry-${c.sectors}-${c.sector0 === undefined ? 'raw' : 'mbr'}.img`);
      writeFileSync(path, c.sector0 ?? new Uint8Array(SECTOR_SIZE));
      truncateSync(path, c.sectors * SECTOR_SIZE);
      const qemu = await runOnQemuWithDisk(probe, path);
      expect(runOnMachine(probe, new Disk(zeroDisk(c.sectors, c.sector0)))).toBe(qemu);
    });
  }

  it('follows QEMU hd-geometry.c by hand for the cases above', () => {
    expect(guessGeometry(new Uint8Array(512), 2048)).toEqual({ cylinders: 2, heads: 16, sectors: 63, translation: 'none' });
    expect(guessGeometry(new Uint8Array(512), 2097152)).toEqual({ cylinders: 2080, heads: 16, sectors: 63, translation: 'lba' });
    expect(guessGeometry(mbr(3, 32), 20480)).toEqual({ cylinders: 160, heads: 4, sectors: 32, translation: 'none' });
    expect(guessGeometry(mbr(254, 63), 204800)).toEqual({ cylinders: 203, heads: 16, sectors: 63, translation: 'large' });
  });
});

describe('IDE channel details', () => {
  function channel(): { ide: IdeChannel; irq: boolean[]; port: (p: number) => { read: () => number; write: (v: number) => void } } {
    const irq: boolean[] = [];
    const ide = new IdeChannel((level) => irq.push(level));
    ide.attach(new Disk(memoryBacking(diskImage())));
    const port = (p: number) => {
      const range = ide.ports.find((r) => p >= r.first && p < r.first + r.count)!;
      return { read: () => range.handler.read(p, p === 0x1f0 ? 2 : 1), write: (v: number) => range.handler.write(p, 1, v) };
    };
    port(0x1f6).write(0xe0);
    return { ide, irq, port };
  }

  it('a read block is ready BLOCK_LATENCY_NS after the command, BSY meanwhile, then DRQ and INTRQ', () => {
    const { ide, irq, port } = channel();
    port(0x1f2).write(1);
    port(0x1f7).write(0x20);
    expect(port(0x3f6).read()).toBe(BSY | DRDY | DSC);
    expect(ide.nextEventNs()).toBe(BLOCK_LATENCY_NS);
    ide.advanceTo(BLOCK_LATENCY_NS - 1);
    expect(port(0x3f6).read()).toBe(BSY | DRDY | DSC);
    ide.advanceTo(BLOCK_LATENCY_NS);
    expect(port(0x3f6).read()).toBe(DRDY | DSC | DRQ);
    expect(irq).toEqual([true]);
    expect(port(0x1f0).read()).toBe(0x0100);   // sector 0 starts 00 01
    expect(port(0x1f7).read()).toBe(DRDY | DSC | DRQ);
    expect(irq).toEqual([true, false]);         // reading the status register clears INTRQ
  });

  it('aborts a read past the capacity with ERR and ABRT', () => {
    const { ide, port } = channel();
    port(0x1f2).write(1);
    port(0x1f4).write(0x08);                    // LBA 2048 on a disk of 2048 sectors
    port(0x1f7).write(0x20);
    ide.advanceTo(BLOCK_LATENCY_NS);
    expect(port(0x1f7).read()).toBe(DRDY | ERR);
    expect(port(0x1f1).read()).toBe(ABRT);
  });

  it('holds BSY while SRST is set and shows the signature after (ATA-6 9.2)', () => {
    const { port } = channel();
    port(0x3f6).write(0x04);
    expect(port(0x3f6).read() & BSY).toBe(BSY);
    port(0x1f7).write(0xec);                     // ignored while busy
    port(0x3f6).write(0x00);
    expect([0x1f1, 0x1f2, 0x1f3, 0x1f4, 0x1f5, 0x1f6, 0x1f7].map((p) => port(p).read())).toEqual([0x01, 1, 1, 0, 0, 0xa0, DRDY | DSC]);
  });

  it('IDENTIFY words 59 follow SET MULTIPLE MODE (ATA-6; QEMU keeps the first value)', () => {
    const g = guessGeometry(new Uint8Array(512), 2048);
    expect(identifyDevice(g, 2048, 16)[59]).toBe(0x110);
    const { ide, port } = channel();
    port(0x1f2).write(8);
    port(0x1f7).write(0xc6);
    expect(port(0x1f7).read()).toBe(DRDY | DSC);
    port(0x1f7).write(0xec);
    const words = Array.from({ length: 256 }, () => port(0x1f0).read());
    expect(words[59]).toBe(0x108);
    expect(ide.registers().status).toBe(DRDY | DSC);
  });

  it('a snapshot taken before a write restores the sector and the task file', () => {
    const m = new Machine();
    const disk = new Disk(memoryBacking(diskImage()));
    m.attachDisk(disk);
    const before = m.saveState();
    disk.write(5, new Uint8Array(SECTOR_SIZE).fill(0xaa));
    m.io.write(0x1f6, 1, 0xe0);
    m.loadState(before);
    const sector = new Uint8Array(SECTOR_SIZE);
    disk.read(5, sector);
    expect(sector[0]).toBe(35);                 // 7 * 5
    expect(disk.changedSectors().size).toBe(0);
    expect(m.ide.registers().device).toBe(0xb0);
  });
});
