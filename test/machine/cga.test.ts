/**
 * The CGA text screen against QEMU 7.2's VGA in mode 3: one probe kernel reads the CRT
 * controller and the text memory as SeaBIOS leaves them, writes through the ports and the
 * memory in every way a kernel does (byte, word and dword stores, REP STOSW, REP MOVSW between
 * two places of the screen, `out dx, ax` to the index/data pair) and dumps the result; QEMU and
 * vtscope must print the same. The rendering (`screenLines`) is then checked against the text
 * memory QEMU dumped, and against what the kernel meant to write.
 */
import { describe, expect, it } from 'vitest';
import { CGA_SIZE, CgaText, cp437 } from '../../src/machine/cgaText';
import { restoreSnapshot, takeSnapshot } from '../../src/machine/snapshot';
import { Machine } from '../../src/machine/machine';
import { qemuAvailable } from '../support/qemu';
import { runQemuProbe } from '../support/qemuDevices';
import { probeImage, sections } from './probeKernel';

const PROBE = probeImage(`
crtc_dump:                 ; CRTC registers 0x00-0x18, then the index register
  push ecx
  push edx
  xor ecx, ecx
.reg:
  mov dx, 0x3d4
  mov al, cl
  out dx, al
  inc dx
  in al, dx
  call hex8
  inc ecx
  cmp ecx, 0x19
  jb .reg
  call space
  mov dx, 0x3d4
  in al, dx
  call hex8
  call nl
  pop edx
  pop ecx
  ret

crtc_write:                ; register AL := AH
  push edx
  mov dx, 0x3d4
  out dx, al
  inc dx
  xchg al, ah
  out dx, al
  xchg al, ah
  pop edx
  ret

cells:                     ; the ECX cells from ESI that are not blank (0x0720): "index:cell" in hex
  push eax
  push ebx
  xor ebx, ebx
.cell:
  mov ax, [esi + ebx * 2]
  cmp ax, 0x0720
  je .next
  push eax
  mov eax, ebx
  call hex32
  mov al, ':'
  call putc
  pop eax
  movzx eax, ax
  call hex32
  call space
.next:
  inc ebx
  cmp ebx, ecx
  jb .cell
  call nl
  pop ebx
  pop eax
  ret

main:
  title 'entry'
  call crtc_dump
  mov dx, 0x3da
  mov ecx, 4
.status:
  in al, dx
  call hex8
  loop .status
  call nl
  mov esi, 0xb8000
  mov ecx, 80 * 25
  call cells
  add esi, 80 * 25 * 2
  xor eax, eax             ; sum of the rest of the 32 KiB
  xor edx, edx
.rest:
  movzx ebx, byte [esi]
  add edx, ebx
  inc esi
  cmp esi, 0xc0000
  jb .rest
  mov eax, edx
  call hex32
  call nl

  title 'registers'
  mov ax, 0x1200           ; CR00 is write-protected by CR11 bit 7 ...
  call crtc_write
  mov ax, 0x0007           ; ... and of CR07 only bit 4 can change
  call crtc_write
  mov ax, 0x0e11           ; protection off
  call crtc_write
  mov ax, 0x1200
  call crtc_write
  mov ax, 0x8e11
  call crtc_write
  mov ax, 0x3f40           ; a register past 0x18 is plain storage
  call crtc_write
  mov dx, 0x3d4
  mov ax, 0x010e           ; cursor at 0x0123 with word writes to the index/data pair
  out dx, ax
  mov ax, 0x230f
  out dx, ax
  mov ax, 0x000c           ; start address 0x0050: the screen starts one line down
  out dx, ax
  mov ax, 0x500d
  out dx, ax
  call crtc_dump
  mov al, 0x40
  out dx, al
  inc dx
  in al, dx
  call hex8
  call nl

  title 'memory'
  mov edi, 0xb8000 + (6 * 80 + 2) * 2
  mov esi, hello
.char:
  lodsb
  test al, al
  jz .written
  mov ah, 0x1f
  mov [edi], ax
  add edi, 2
  jmp .char
.written:
  mov dword [0xb8000 + (7 * 80) * 2], 0x2e422e41   ; 'A', 0x2E, 'B', 0x2E
  mov byte [0xb8000 + (7 * 80 + 2) * 2], 0xc9       ; a box corner
  mov byte [0xb8000 + (7 * 80 + 3) * 2], 0xcd
  mov edi, 0xb8000 + (11 * 80) * 2
  mov ax, 0x4e3d           ; '=' yellow on red, a whole line
  mov ecx, 80
  rep stosw
  mov esi, 0xb8000 + (6 * 80) * 2
  mov edi, 0xb8000 + (12 * 80) * 2
  mov ecx, 80
  rep movsw                ; screen to screen
  mov al, [0xb8000 + (6 * 80 + 2) * 2]
  call hex8
  mov ax, [0xb8000 + (7 * 80) * 2 + 1]
  call hex8
  mov al, ah
  call hex8
  mov eax, [0xb8000 + (11 * 80 + 79) * 2]
  call hex32
  call nl
  mov esi, 0xb8000 + 0x50 * 2
  mov ecx, 80 * 25
  call cells
  jmp exit

hello: db 'Hello, CGA', 0
`);

function runProbe(): { out: string; machine: Machine } {
  const machine = new Machine();
  let out = '';
  machine.onSerialOutput = (b) => { out += String.fromCharCode(b); };
  machine.load(PROBE);
  const r = machine.run({ maxInstructions: 50_000_000 });
  if (r.haltReason !== 'exit') throw new Error(`probe did not exit: ${r.message}\n${out}`);
  return { out, machine };
}

/** The screen a `cells` line describes (cells not listed are blanks) as 25 trimmed lines of code page 437. */
function render(cellsLine: string): string[] {
  const chars = new Uint8Array(80 * 25).fill(0x20);
  for (const [, index, cell] of cellsLine.matchAll(/([0-9A-F]{8}):([0-9A-F]{8})/g)) {
    chars[parseInt(index, 16)] = parseInt(cell, 16) & 0xff;
  }
  return Array.from({ length: 25 }, (_, row) =>
    Array.from({ length: 80 }, (_, col) => cp437(chars[row * 80 + col])).join('').trimEnd());
}

/** QEMU's output, run once for the two tests that need it. */
let qemuOutput: Promise<string> | undefined;
const qemuProbe = (): Promise<string> => (qemuOutput ??= runQemuProbe(PROBE).then((r) => {
  if (r.status !== 1) throw new Error(`QEMU ended with status ${r.status}:\n${r.serial}`);
  return r.serial;
}));

describe('CGA text mode', () => {
  it.skipIf(!qemuAvailable())('the probe kernel reads the same registers and text memory as under QEMU', async () => {
    const qemu = await qemuProbe();
    expect(runProbe().out).toBe(qemu);
  });

  it.skipIf(!qemuAvailable())('screenLines renders the text memory QEMU shows, from the start address', async () => {
    const qemu = sections(await qemuProbe());
    const { machine } = runProbe();
    const screen = render(qemu.get('memory')!.split('\n')[1]);
    expect(screen[10]).toBe('='.repeat(80));
    expect(machine.cga.screenLines()).toEqual(screen);
  });

  it('shows what the kernel wrote where it wrote it, and the cursor it set', () => {
    const { machine } = runProbe();
    const lines = machine.cga.screenLines();
    // The start address moved the screen down one line: row N of memory is line N - 1.
    expect(lines[0]).toBe('Booting from ROM...');
    expect(lines[5]).toBe('  Hello, CGA');
    expect(lines[6]).toBe('AB╔═');
    expect(lines[10]).toBe('='.repeat(80));
    expect(lines[11]).toBe('  Hello, CGA');
    expect(lines.filter((l) => l !== '').length).toBe(5);
    expect(machine.cga.cell(5, 2)).toEqual({ char: 'H'.charCodeAt(0), attribute: 0x1f });
    expect(machine.cga.cell(10, 0)).toEqual({ char: 0x3d, attribute: 0x4e });
    // Cursor 0x0123 minus start 0x0050 = 211 = line 2, column 51.
    expect(machine.cga.cursor()).toEqual({ row: 2, column: 51, visible: true });
  });
});

describe('the screen a kernel starts with', () => {
  it('is SeaBIOS banner on blanks of attribute 7, the cursor below it', () => {
    const cga = new CgaText(new Uint8Array(CGA_SIZE));
    expect(cga.screenLines().slice(0, 3)).toEqual(['SeaBIOS (version 1.16.2-debian-1.16.2-1)', 'Booting from ROM...', '']);
    expect(cga.cell(24, 79)).toEqual({ char: 0x20, attribute: 0x07 });
    expect(cga.cursor()).toEqual({ row: 2, column: 0, visible: true });
  });

  it('hides the cursor when cursor start bit 5 is set', () => {
    const m = new Machine();
    m.io.write(0x3d4, 1, 0x0a);
    m.io.write(0x3d5, 1, 0x20);
    expect(m.cga.cursor().visible).toBe(false);
  });
});

describe('code page 437', () => {
  it('maps the PC character set to Unicode (IBM code page 437 chart)', () => {
    const chart: [number, string][] = [[0x00, ' '], [0x01, '☺'], [0x03, '♥'], [0x41, 'A'], [0x7f, '⌂'], [0x80, 'Ç'],
      [0xb0, '░'], [0xb3, '│'], [0xbb, '╗'], [0xc9, '╔'], [0xcd, '═'], [0xdb, '█'], [0xe1, 'ß'], [0xe6, 'µ'],
      [0xfb, '√'], [0xfe, '■'], [0xff, '\u00a0']];
    for (const [byte, ch] of chart) expect(cp437(byte), `0x${byte.toString(16)}`).toBe(ch);
    expect(new Set(Array.from({ length: 256 }, (_, k) => cp437(k))).size).toBe(255); // only NUL and space coincide
  });
});

describe('snapshots', () => {
  it('restore the text memory (RAM) and registers written after them', () => {
    const m = new Machine();
    const before = takeSnapshot(m);
    m.cpu.writePhys8(0xb8000, 0x41);
    m.io.write(0x3d4, 2, 0x050e);
    expect(m.cga.screenLines()[0]).toBe('AeaBIOS (version 1.16.2-debian-1.16.2-1)');
    restoreSnapshot(m, before);
    expect(m.cga.screenLines()[0]).toBe('SeaBIOS (version 1.16.2-debian-1.16.2-1)');
    expect(m.cga.register(0x0e)).toBe(0x00);
    expect(m.cga.cursor()).toEqual({ row: 2, column: 0, visible: true });
  });
});
