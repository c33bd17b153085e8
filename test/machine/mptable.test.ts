/**
 * What the firmware leaves in memory: the BIOS data area, the EBDA, the MP floating pointer
 * (found by the MP specification's search) and configuration table, and the read-only BIOS
 * area, dumped by one probe kernel under qemu-system-i386 7.2 (SeaBIOS 1.16) and under
 * vtscope. Two things differ by design and are checked apart: the timer tick count at 0x46C
 * (SeaBIOS takes it from the host's clock), and the processor entry's feature flags, which
 * SeaBIOS copies from CPUID.01H:EDX (vtscope's CPU model reports fewer features than QEMU's
 * qemu32) and with them the table's checksum.
 */
import { describe, expect, it } from 'vitest';
import { buildMpTables } from '../../src/machine/firmware/mpTable';
import { qemuAvailable } from '../support/qemu';
import { hexBytes, probeImage, runOnMachine, runOnQemu, sections } from './probeKernel';

const PROBE = probeImage(`
main:
  title 'cpuid edx'
  mov eax, 1
  cpuid
  mov eax, edx
  call hex32
  call nl
  title 'bda'
  mov esi, 0x400
  mov ecx, 256
  call dump
  title 'ebda'
  movzx esi, word [0x40e]
  shl esi, 4
  mov ecx, 1024
  call dump
  ; MP specification 1.4, section 4: the first KiB of the EBDA, the last KiB of base memory,
  ; then the BIOS ROM from 0xF0000.
  title 'floating pointer'
  movzx esi, word [0x40e]
  shl esi, 4
  mov ecx, 1024
  call find_mp
  jnc .found
  movzx esi, word [0x413]
  dec esi
  shl esi, 10
  mov ecx, 1024
  call find_mp
  jnc .found
  mov esi, 0xf0000
  mov ecx, 0x10000
  call find_mp
  jc .rom
.found:
  mov eax, esi
  call hex32
  call nl
  push esi
  mov ecx, 16
  call dump
  pop esi
  title 'config table'
  mov esi, [esi + 4]
  mov eax, esi
  call hex32
  call nl
  movzx ecx, word [esi + 4]
  call dump
.rom:
  title 'rom writes'
  mov dword [0xf5ba0], 0x12345678
  mov eax, [0xf5ba0]
  call hex32
  mov byte [0xe0000], 0x5a
  mov al, [0xe0000]
  call hex8
  call nl
  jmp exit

; CF clear and ESI at a "_MP_" structure with a valid checksum within ECX bytes from ESI.
find_mp:
  cmp dword [esi], '_MP_'
  jne .skip
  push ecx
  push esi
  xor eax, eax
  mov ecx, 16
.sum:
  add al, [esi]
  inc esi
  loop .sum
  pop esi
  pop ecx
  test al, al
  jz .hit
.skip:
  add esi, 16
  sub ecx, 16
  jnz find_mp
  stc
  ret
.hit:
  clc
  ret
`);

const TICKS = 0x6c;
const FEATURES = 44 + 8;   // in the first processor entry, after the 44-byte header

function sum(bytes: Uint8Array): number { return bytes.reduce((s, b) => (s + b) & 0xff, 0); }

/** The dump with what differs by design checked and cut out. */
function normalized(output: string) {
  const s = sections(output);
  const bda = hexBytes(s.get('bda')!);
  bda.fill(0, TICKS, TICKS + 4);
  const [address, ...rest] = s.get('config table')!.trim().split('\n');
  const config = hexBytes(rest.join('\n'));
  const cpuidEdx = parseInt(s.get('cpuid edx')!, 16);
  // The entry carries the CPU's own features, and the checksum covers the whole table.
  expect(new DataView(config.buffer).getUint32(FEATURES, true)).toBe(cpuidEdx);
  expect(sum(config)).toBe(0);
  config.fill(0, FEATURES, FEATURES + 4);
  config[7] = 0;
  return {
    bda: [...bda], ebda: s.get('ebda'), floatingPointer: s.get('floating pointer'),
    configAddress: address, config: [...config], romWrites: s.get('rom writes'),
  };
}

describe('MP tables as SeaBIOS builds them', () => {
  it('have a floating pointer and a configuration table whose bytes sum to 0', () => {
    const { floatingPointer, configTable } = buildMpTables({
      processors: [{ signature: 0x663, features: 0x0781abfd }], localApicVersion: 0x14,
      localApicAddress: 0xfee00000, ioApicAddress: 0xfec00000,
    });
    expect(floatingPointer.length).toBe(16);
    expect(sum(floatingPointer)).toBe(0);
    // Header 44 bytes + processor 20 + two buses, the I/O APIC, 12 interrupt and 2 local entries of 8.
    expect(configTable.length).toBe(200);
    expect(sum(configTable)).toBe(0);
  });

  it('list one processor entry per CPU, only the first one the BSP', () => {
    const cpu = { signature: 0x663, features: 0x0781abfd };
    const { configTable } = buildMpTables({
      processors: [cpu, cpu], localApicVersion: 0x14, localApicAddress: 0xfee00000, ioApicAddress: 0xfec00000,
    });
    // Entry count (offset 34) is 19, processor entries at 44 and 64: type 0, APIC ID, flags.
    expect(configTable[34]).toBe(19);
    expect([configTable[44], configTable[45], configTable[47]]).toEqual([0, 0, 3]);
    expect([configTable[64], configTable[65], configTable[67]]).toEqual([0, 1, 1]);
    expect(sum(configTable)).toBe(0);
  });
});

describe.skipIf(!qemuAvailable())('firmware tables against qemu-system-i386 7.2', () => {
  it('the BDA, EBDA, MP structures and read-only BIOS area are the same', async () => {
    const ours = runOnMachine(PROBE);
    const qemu = await runOnQemu(PROBE);
    const o = normalized(ours), q = normalized(qemu);
    expect(o).toEqual(q);
    // The search found the floating pointer in the BIOS ROM, where SeaBIOS puts it.
    expect(o.floatingPointer?.split('\n')[0]).toBe('000F5BA0');
    // Writes to the BIOS area change nothing: "_MP_" and 0 read back.
    expect(o.romWrites?.trim()).toBe('5F504D5F00');
  });
});
