/**
 * QEMU's fw_cfg interface against qemu-system-i386 7.2 itself: one probe kernel reads the
 * items vtscope provides through the data port, looks its files up by name in the file
 * directory, pokes the ports the odd ways QEMU treats specially, and runs DMA transfers; the
 * output must be the same. (QEMU's directory lists more files than vtscope's, so the probe
 * prints what it finds for the two names vtscope has, not the directory itself.)
 */
import { describe, expect, it } from 'vitest';
import { qemuAvailable } from '../support/qemu';
import { probeImage, runOnMachine, runOnQemu, sections } from './probeKernel';

const KEYS = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0c, 0x0d, 0x0e, 0x0f, 0x8002,
  0x4005,   // the write-channel bit: the same item as 0x05
  0x003f];  // a key nobody set: reads 0

const PROBE = probeImage(`
%macro select 1
  mov dx, 0x510
  mov ax, %1
  out dx, ax
%endmacro

; prints ECX data bytes of the selected item
%macro data_bytes 1
  mov dx, 0x511
  mov ecx, %1
%%next:
  in al, dx
  call hex8
  loop %%next
  call nl
%endmacro

; runs the FWCfgDmaAccess at %1 (its address written big endian, high half first)
%macro dma 1
  mov dx, 0x514
  xor eax, eax
  out dx, eax
  mov dx, 0x518
  mov eax, %1
  bswap eax
  out dx, eax
%endmacro

main:
  title 'keys'
${KEYS.map((k) => `  select ${k}\n  data_bytes 16\n`).join('')}
  title 'ports'
  select 0
  mov dx, 0x510
  in al, dx              ; the data byte, through the selector port
  call hex8
  xor eax, eax
  mov dx, 0x511
  in ax, dx              ; word reads are refused: 0, no advance
  call hex32
  mov dx, 0x510
  in eax, dx
  call hex32
  mov dx, 0x511
  mov ax, 1
  out dx, ax             ; a word write at 0x511 does not select
  mov dx, 0x510
  mov al, 5
  out dx, al             ; nor does a byte write at 0x510
  mov dx, 0x511
  in al, dx
  call hex8
  mov dx, 0x514
  in eax, dx             ; the DMA registers read as "QEMU CFG"
  call hex32
  mov dx, 0x518
  in eax, dx
  call hex32
  xor eax, eax
  mov dx, 0x516
  in ax, dx
  call hex32
  mov dx, 0x51b
  in al, dx
  call hex8
  call nl

  title 'files'
  select 0x19
  mov dx, 0x511
  mov edi, directory
  mov ecx, 4 + 64 * 16
  rep insb
  mov esi, name_e820
  call find_file
  mov esi, name_fail_wait
  call find_file

  title 'dma'
  ; the signature, selected by the transfer itself
  mov dword [access], 0x0a000000 | (0 << 16)    ; big endian: select key 0, read
  mov dword [access + 4], 0x04000000            ; 4 bytes
  mov dword [access + 8], 0
  mov eax, buffer
  bswap eax
  mov [access + 12], eax
  dma access
  mov esi, access
  mov ecx, 4
  call dump
  mov esi, buffer
  mov ecx, 4
  call dump
  ; etc/e820 (20 bytes) read as 24 bytes: 4 zeros past its end, the byte after untouched
  mov edi, buffer
  mov ecx, 32
  mov al, 0xaa
  rep stosb
  select 0x25
  mov dword [access], 0x02000000                ; read, no select
  mov dword [access + 4], 0x18000000
  dma access
  mov esi, access
  mov ecx, 4
  call dump
  mov esi, buffer
  mov ecx, 28
  call dump
  ; skip 2 bytes of the signature, then the data port goes on from there
  mov dword [access], 0x0c000000                ; select key 0, skip
  mov dword [access + 4], 0x02000000
  dma access
  mov dx, 0x511
  in al, dx
  call hex8
  ; a write: no item is writable, the error bit comes back
  mov dword [access], 0x10000000
  mov dword [access + 4], 0x01000000
  dma access
  mov eax, [access]
  call hex32
  call nl
  jmp exit

; prints the size and selector of the directory entry named [ESI], then the item's bytes
find_file:
  mov ebx, directory + 4
  mov edx, [directory]
  bswap edx
.entry:
  test edx, edx
  jz .missing
  push esi
  lea edi, [ebx + 8]
  mov ecx, 56
  repe cmpsb
  pop esi
  je .found
  add ebx, 64
  dec edx
  jmp .entry
.found:
  mov eax, [ebx]
  bswap eax
  call hex32
  call space
  movzx eax, word [ebx + 4]
  xchg al, ah
  call hex32
  call nl
  mov ecx, [ebx]
  bswap ecx
  mov ax, [ebx + 4]
  xchg al, ah
  mov dx, 0x510
  out dx, ax
  mov dx, 0x511
.byte:
  in al, dx
  call hex8
  loop .byte
  call nl
  ret
.missing:
  mov al, '-'
  call putc
  call nl
  ret

name_e820: db 'etc/e820'
  times 56 - ($ - name_e820) db 0
name_fail_wait: db 'etc/boot-fail-wait'
  times 56 - ($ - name_fail_wait) db 0
align 16
access: times 16 db 0
buffer: times 32 db 0
directory: times 4 + 64 * 16 db 0
`);

describe('fw_cfg', () => {
  it('gives a 64 MiB, one-CPU machine its signature, ID, RAM size and CPU count', () => {
    const s = sections(runOnMachine(PROBE)).get('keys')!.trim().split('\n');
    expect(s[0]).toBe('51454D55000000000000000000000000');   // "QEMU"
    expect(s[1]).toBe('03000000000000000000000000000000');   // traditional and DMA interfaces
    expect(s[3]).toBe('00000004000000000000000000000000');   // 0x04000000 bytes, 64-bit little endian
    expect(s[5]).toBe('01000000000000000000000000000000');   // FW_CFG_NB_CPUS
    expect(s[12]).toBe(s[5]);
  });
});

describe.skipIf(!qemuAvailable())('fw_cfg against qemu-system-i386 7.2', () => {
  it('answers the probe as QEMU does', async () => {
    const ours = runOnMachine(PROBE);
    const qemu = await runOnQemu(PROBE);
    expect(ours).toBe(qemu);
  });
});
