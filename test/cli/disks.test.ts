/**
 * `vtscope run --disk FILE --drive index=N,file=FILE... [--disk-write]` as a user runs it
 * (node dist/cli.js): each image lands at the IDE position QEMU's -drive index names, the
 * guest's writes stay in memory unless --disk-write is given, with it every file afterwards is
 * the one QEMU leaves after running the same kernel on copies, and bad --drive arguments are
 * usage errors that name the argument. The debug adapter's launch attribute `disk` gives the
 * same drives (its old form, one path, is the primary master).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLaunchConfig } from '../../src/debug/launchConfig';
import { attachDiskFiles } from '../../src/machine/diskFile';
import { Machine } from '../../src/machine/machine';
import { Workdir } from '../loader/toolchain';
import { QEMU, qemuArgs, qemuAvailable } from '../support/qemu';
import { PUTC } from '../support/guestSerial';
import { cliIn, requireBuiltCli, type CliResult } from '../support/cli';

const work = new Workdir();
afterAll(() => work.remove());

beforeAll(() => {
  requireBuiltCli();
});

function vtscope(...args: string[]): CliResult { return cliIn(work.path)(...args); }

/**
 * For each drive 0-3 (primary master, slave, secondary master, slave): READ SECTORS of LBA 0
 * and its first 8 bytes, or '-' when no data comes; then WRITE SECTORS of LBA 1 filled with
 * "drive N!", FLUSH CACHE, and the status register as a letter (0x50 + 0x20 = 'p'; an absent
 * device 1 reads 0, '@' + 0x20 = ' '). Polling PIO with LBA28.
 */
const KERNEL = work.nasm('drives', `
bits 32
org 0x100000
header:
  dd 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000)
  dd header, header, image_end, image_end, start
start:
  mov esp, 0x90000
  mov ebx, drives
.drive:
  mov bp, [ebx]                 ; command block
  mov si, [ebx + 2]             ; alternate status
  lea dx, [bp + 6]
  mov al, [ebx + 4]             ; device register: LBA, DEV
  out dx, al
  mov ah, 1
  xor cl, cl
  mov al, 0x20
  call command
  mov al, '-'
  jz .noread
  mov dx, bp
  mov edi, 0x80000
  mov ecx, 256
  rep insw
  push esi
  mov esi, 0x80000
  mov ecx, 8
.print:
  lodsb
  call putc
  loop .print
  pop esi
  jmp .write
.noread:
  call putc
.write:
  mov al, ' '
  call putc
  mov ah, 1
  mov cl, 1
  mov al, 0x30
  call command
  jz .flush
  mov dx, bp
  mov ecx, 64
.fill:
  push ecx
  push esi
  lea esi, [ebx + 5]            ; "drive N!"
  mov ecx, 4
  rep outsw
  pop esi
  pop ecx
  loop .fill
.flush:
  call ready
  mov ah, 0
  mov al, 0xe7
  call command
  lea dx, [bp + 7]
  in al, dx
  add al, 0x20
  call putc
  mov al, 10
  call putc
  add ebx, 13
  cmp ebx, drives_end
  jb .drive
  mov al, 0
  out 0xf4, al

; command AL with count AH and LBA CL on the drive [ebx]; ZF clear when DRQ is set after
command:
  push eax
  lea dx, [bp + 2]
  mov al, ah
  out dx, al
  inc dx
  mov al, cl
  out dx, al
  inc dx
  xor al, al
  out dx, al
  inc dx
  out dx, al
  add dx, 2
  pop eax
  out dx, al
ready:                          ; waits for BSY to clear; ZF clear when DRQ is set
  mov dx, si
.wait:
  in al, dx
  test al, 0x80
  jnz .wait
  test al, 0x08
  ret
${PUTC}
drives:
  dw 0x1f0, 0x3f6
  db 0xe0, 'drive 0!'
  dw 0x1f0, 0x3f6
  db 0xf0, 'drive 1!'
  dw 0x170, 0x376
  db 0xe0, 'drive 2!'
  dw 0x170, 0x376
  db 0xf0, 'drive 3!'
drives_end:
image_end:
`, 'bin');

/** 16 sectors: sector 0 starts "DISK n  ", the rest is a byte pattern. */
function image(n: number): Uint8Array {
  const bytes = Uint8Array.from({ length: 16 * 512 }, (_, k) => (k * 31 + n) & 0xff);
  bytes.set(Buffer.from(`DISK ${n}  `), 0);
  return bytes;
}

/** `image(n)` with sector 1 as the kernel writes it on drive `drive`. */
function written(n: number, drive: number): Uint8Array {
  const bytes = image(n);
  bytes.set(Buffer.from(`drive ${drive}!`.repeat(64)), 512);
  return bytes;
}

const ALL_FOUR = 'DISK 0   p\nDISK 1   p\nDISK 2   p\nDISK 3   p\n';

describe('vtscope run with disks on both IDE channels', () => {
  it('--disk is drive 0 and --drive index=N places the others; the files stay as they were', () => {
    const paths = [0, 1, 2, 3].map((n) => work.write(`cow${n}.img`, image(n)));
    const r = vtscope('run', KERNEL, '--disk', paths[0], '--drive', `index=2,file=${paths[2]}`,
      '--drive', `file=${paths[3]},format=raw,if=ide,index=3`, '--drive', `index=1,file=${paths[1]}`);
    expect(r).toEqual({ status: 1, stdout: ALL_FOUR, stderr: '' });
    paths.forEach((path, n) => expect(Buffer.compare(readFileSync(path), image(n))).toBe(0));
  });

  it('a drive alone on the secondary slave: the others are absent', () => {
    const path = work.write('alone.img', image(7));
    const r = vtscope('run', KERNEL, '--drive', `index=3,file=${path}`);
    // The empty primary channel reads 0 everywhere (status 0: ' '); device 0 beside a disk on
    // the secondary aborts READ and WRITE (no data) but completes FLUSH (0x50: 'p').
    expect(r).toEqual({ status: 1, stdout: '- \x20\n- \x20\n- p\nDISK 7   p\n', stderr: '' });
  });

  it('--disk-write writes each drive\'s sectors back to its own file', () => {
    const paths = [0, 1, 2, 3].map((n) => work.write(`rw${n}.img`, image(n)));
    const r = vtscope('run', KERNEL, ...paths.flatMap((p, n) => ['--drive', `index=${n},file=${p}`]), '--disk-write');
    expect(r.stdout).toBe(ALL_FOUR);
    paths.forEach((path, n) => expect(Buffer.compare(readFileSync(path), written(n, n))).toBe(0));
  });

  it.skipIf(!qemuAvailable())('--disk-write leaves the files QEMU leaves with the same -drive arguments', () => {
    const ours = [0, 1, 2, 3].map((n) => work.write(`ours${n}.img`, image(n)));
    const theirs = [0, 1, 2, 3].map((n) => work.write(`qemu${n}.img`, image(n)));
    // The kernel's images in a different order than the drives: each file follows its index.
    const order = [2, 0, 3, 1];
    const drives = (paths: string[]) => order.map((k, n) => `file=${paths[k]},format=raw,if=ide,index=${n}`);
    const r = vtscope('run', KERNEL, ...drives(ours).flatMap((d) => ['--drive', d]), '--disk-write');
    const q = spawnSync(QEMU, [...qemuArgs(KERNEL, 64), ...drives(theirs).flatMap((d) => ['-drive', d])],
      { encoding: 'latin1', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
    expect(q.stdout).toBe('DISK 2   p\nDISK 0   p\nDISK 3   p\nDISK 1   p\n');
    expect(r.stdout).toBe(q.stdout);
    ours.forEach((path, k) => expect(Buffer.compare(readFileSync(path), readFileSync(theirs[k]))).toBe(0));
    expect(Buffer.compare(readFileSync(ours[2]), written(2, 0))).toBe(0);
  });

  it('exits 64 naming the --drive argument that is wrong', () => {
    const a = work.write('a.img', image(0));
    const cases: [string[], string][] = [
      [['--drive', `index=4,file=${a}`], `--drive index=4,file=${a}: index=4 is not a drive: IDE drives are 0 to 3`],
      [['--drive', `file=${a}`], `--drive file=${a}: index=N is missing`],
      [['--drive', 'index=1'], '--drive index=1: file=FILE is missing'],
      [['--drive', `index=1,file=${a},format=qcow2`], 'format=qcow2 is not supported (vtscope has raw IDE hard disks only: format=raw)'],
      [['--drive', `index=1,file=${a},cache=none`], "unknown key 'cache'"],
      [['--drive', `index=1,file=${a},if=virtio`], 'if=virtio is not supported'],
      [['--disk', a, '--drive', `index=0,file=${a}`], `drive index 0 is given twice: --disk ${a} and --drive index=0,file=${a}`],
      [['--drive', 'index=2,file=missing.img'], 'cannot open --drive index=2,file=missing.img: ENOENT'],
      [['--disk', a, '--drive', `index=3,file=${a}`], `--drive index=3,file=${a}: the same file as --disk ${a}`],
      [['--disk-write'], '--disk-write needs --disk FILE or --drive index=N,file=FILE'],
    ];
    for (const [args, message] of cases) {
      const r = vtscope('run', KERNEL, ...args);
      expect(r.status, args.join(' ')).toBe(64);
      expect(r.stderr).toContain(message);
    }
  });

  it('takes ",," as a comma in a file name, as QEMU does', () => {
    const path = work.write('a,b.img', image(5));
    const r = vtscope('run', KERNEL, '--drive', `index=0,file=${path.replaceAll(',', ',,')}`);
    expect(r.stdout.split('\n')[0]).toBe('DISK 5   p');
  });
});

describe("the launch attribute 'disk'", () => {
  const program = 'kernel.asm';

  it('is one path for the primary master, or a path or null per drive index, with diskWrite', () => {
    expect(parseLaunchConfig({ program })).toMatchObject({ disks: [], diskWrite: false });
    expect(parseLaunchConfig({ program, disk: 'a.img' }).disks).toEqual([{ index: 0, path: 'a.img', name: "'disk' a.img" }]);
    const c = parseLaunchConfig({ program, disk: [null, 'b.img', null, 'd.img'], diskWrite: true });
    expect(c.disks.map((d) => [d.index, d.path])).toEqual([[1, 'b.img'], [3, 'd.img']]);
    expect(c.diskWrite).toBe(true);
  });

  it('is refused, naming what it must be, when it is not that', () => {
    expect(() => parseLaunchConfig({ program, disk: ['a', 'b', 'c', 'd', 'e'] })).toThrow(/'disk' must be the path of a raw image \(the primary master\), or an array of up to 4/);
    expect(() => parseLaunchConfig({ program, disk: [3] })).toThrow(/'disk' must be .* not \[3\]/);
    expect(() => parseLaunchConfig({ program, disk: '' })).toThrow(/'disk' must be/);
    expect(() => parseLaunchConfig({ program, diskWrite: true })).toThrow("launch: 'diskWrite' needs 'disk'");
  });

  it('attaches its drives where the command line would: drive 3 is the secondary slave', () => {
    const path = work.write('launch.img', image(9));
    const m = new Machine();
    const disks = attachDiskFiles(m, parseLaunchConfig({ program, disk: [null, null, null, path] }).disks, false);
    try {
      expect(m.ideSecondary.diskAt(1)?.sectorCount).toBe(16);
      expect([m.ide.diskAt(0), m.ide.diskAt(1), m.ideSecondary.diskAt(0)]).toEqual([undefined, undefined, undefined]);
      expect(m.ram[0x475]).toBe(1);                 // SeaBIOS's count of hard disks in the BDA
    } finally {
      disks.close();
    }
    expect(() => attachDiskFiles(new Machine(), parseLaunchConfig({ program, disk: [null, 'missing.img'] }).disks, false))
      .toThrow("cannot open 'disk'[1] missing.img");
  });
});
