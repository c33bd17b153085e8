/**
 * Multiboot v1 loading (Multiboot Specification 0.6.96), leaving RAM the way
 * `qemu-system-i386 -kernel` (QEMU 7.2 hw/i386/multiboot.c with its option ROM
 * pc-bios/optionrom/multiboot.S under SeaBIOS) leaves it, so that a kernel printing its
 * Multiboot information prints the same thing under both:
 *
 * - the information structure (MBI) at 0x9500, the memory map at 0x9000;
 * - the command line ("FILE ARGS", as QEMU writes it) and the boot loader name "qemu" right
 *   after the kernel, at its lowest load address plus its extent rounded up to 4 KiB, which is
 *   also where `mods_addr` points (no modules);
 * - flags 0x24F: mem_*, boot_device 0x8000FFFF, cmdline, mods (0), mmap, boot_loader_name;
 * - mem_lower 639 (SeaBIOS's INT 12h with its 1 KiB EBDA), mem_upper = KiB from 1 MiB to the
 *   128 KiB SeaBIOS keeps at the top of RAM, and SeaBIOS's six-entry E820 map.
 */
import { Elf32File, EM_386, ET_EXEC, PF_X, PT_LOAD, isElf, machineName, typeName } from './elf';
import { LoadError, hex32, rangeText } from './loadError';

export { LoadError } from './loadError';

export const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
/** EAX holds this when the kernel is entered. */
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;

export const MBI_ADDRESS = 0x9500;
export const MMAP_ADDRESS = 0x9000;
const MBI_SIZE = 88;

/** RAM sizes whose layout QEMU's pc machine describes as above: from 2 MiB up to just below
 *  0xE0000000, where QEMU starts splitting RAM around the PCI hole. */
export const MIN_RAM_MIB = 2;
export const MAX_RAM_MIB = 3583;

const HEADER_SEARCH_LIMIT = 8192;
const FLAG_MEMORY_INFO = 1 << 1;
const FLAG_PAGE_ALIGN = 1 << 0;
/** Video mode request: QEMU warns "multiboot knows VBE. we don't" and boots anyway; so do we. */
const FLAG_VIDEO_MODE = 1 << 2;
const FLAG_ADDRESS_FIELDS = 1 << 16;
const SUPPORTED_REQUIRED_FLAGS = FLAG_PAGE_ALIGN | FLAG_MEMORY_INFO | FLAG_VIDEO_MODE;

const LEGACY_HOLE_START = 0xa0000;
const LEGACY_HOLE_END = 0x100000;
const MBI_AREA_END = MBI_ADDRESS + MBI_SIZE;
const PAGE_SIZE = 4096;
const KiB = 1024;

/** SeaBIOS: INT 12h reports 639 KiB because its extended BIOS data area takes 0x9FC00-0x9FFFF. */
const EBDA_START = 0x9fc00;
/** SeaBIOS reserves the top 128 KiB of RAM below 4 GiB for its tables. */
const BIOS_HIGH_TABLES = 0x20000;

const MBI_INFO_FLAGS = 0x24f; // bits 0 mem, 1 boot_device, 2 cmdline, 3 mods, 6 mmap, 9 boot_loader_name
const BOOT_DEVICE = 0x8000ffff;
const BOOT_LOADER_NAME = 'qemu';

export interface MemoryMapEntry {
  base: number;
  length: number;
  /** 1 = available RAM, 2 = reserved. */
  type: 1 | 2;
}

/** The E820 map SeaBIOS gives a QEMU pc machine of `ramBytes` of RAM (checked with QEMU 7.2). */
export function multibootMemoryMap(ramBytes: number): MemoryMapEntry[] {
  return [
    { base: 0, length: EBDA_START, type: 1 },
    { base: EBDA_START, length: LEGACY_HOLE_START - EBDA_START, type: 2 },
    { base: 0xf0000, length: 0x10000, type: 2 },
    { base: LEGACY_HOLE_END, length: ramBytes - LEGACY_HOLE_END - BIOS_HIGH_TABLES, type: 1 },
    { base: ramBytes - BIOS_HIGH_TABLES, length: BIOS_HIGH_TABLES, type: 2 },
    { base: 0xfffc0000, length: 0x40000, type: 2 }, // the BIOS ROM's alias below 4 GiB
  ];
}

interface MultibootHeader {
  offset: number;
  flags: number;
  headerAddr: number;
  loadAddr: number;
  loadEndAddr: number;
  bssEndAddr: number;
  entryAddr: number;
}

/** A piece of the image to copy into RAM: `fileSize` bytes from `fileOffset`, then zeros up to `memSize`. */
interface Segment {
  what: string;
  address: number;
  fileOffset: number;
  fileSize: number;
  memSize: number;
}

export interface LoadOptions {
  cmdline?: string;
  /** Names the image in error messages and, as with QEMU, starts the Multiboot command line. */
  fileName?: string;
}

export function loadMultiboot(image: Uint8Array, ram: Uint8Array, opts: LoadOptions): { entry: number; mbiAddress: number } {
  const name = opts.fileName ?? 'image';
  const fail = (problem: string): never => {
    throw new LoadError(`${name}: ${problem}`);
  };
  const ramMiB = ram.length / (KiB * KiB);
  if (!Number.isInteger(ramMiB) || ramMiB < MIN_RAM_MIB || ramMiB > MAX_RAM_MIB) {
    fail(`cannot describe ${ram.length} bytes of RAM to the kernel: RAM must be a whole number of MiB from ${MIN_RAM_MIB} to ${MAX_RAM_MIB}`);
  }

  const header = findHeader(image, fail);
  const { segments, entry } = header.flags & FLAG_ADDRESS_FIELDS
    ? planByAddressFields(image, header, fail)
    : planElf(image, name, fail);

  for (const s of segments) checkPlacement(s.what, s.address, s.address + s.memSize, ram.length, fail);
  if (!segments.some((s) => entry >= s.address && entry < s.address + s.memSize)) {
    fail(`entry point ${hex32(entry)} is outside the loaded image (${segments.map((s) => rangeText(s.address, s.address + s.memSize)).join(', ')})`);
  }

  // QEMU places its strings after the kernel's extent, rounded up to a page.
  const low = Math.min(...segments.map((s) => s.address));
  const high = Math.max(...segments.map((s) => s.address + s.memSize));
  const cmdlineAddress = low + alignUp(high - low, PAGE_SIZE);
  const cmdline = nulTerminated(opts.fileName !== undefined ? `${opts.fileName} ${opts.cmdline ?? ''}` : opts.cmdline ?? '');
  const loaderName = nulTerminated(BOOT_LOADER_NAME);
  const loaderNameAddress = cmdlineAddress + cmdline.length;
  checkPlacement('the command line and boot loader name', cmdlineAddress, loaderNameAddress + loaderName.length, ram.length, fail);

  for (const s of segments) {
    ram.set(image.subarray(s.fileOffset, s.fileOffset + s.fileSize), s.address);
    ram.fill(0, s.address + s.fileSize, s.address + s.memSize);
  }
  ram.set(cmdline, cmdlineAddress);
  ram.set(loaderName, loaderNameAddress);
  writeInformation(ram, { cmdlineAddress, loaderNameAddress, modsAddress: cmdlineAddress });
  return { entry, mbiAddress: MBI_ADDRESS };
}

function findHeader(image: Uint8Array, fail: (problem: string) => never): MultibootHeader {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const limit = Math.min(image.length, HEADER_SEARCH_LIMIT);
  let badChecksum: string | undefined;
  for (let offset = 0; offset + 12 <= limit; offset += 4) {
    if (view.getUint32(offset, true) !== MULTIBOOT_HEADER_MAGIC) continue;
    const flags = view.getUint32(offset + 4, true);
    const sum = (MULTIBOOT_HEADER_MAGIC + flags + view.getUint32(offset + 8, true)) >>> 0;
    if (sum !== 0) {
      badChecksum ??= `Multiboot header at file offset ${hex32(offset)} has a bad checksum: magic + flags + checksum = ${hex32(sum)}, must be 0`;
      continue;
    }
    const unsupported = flags & 0xffff & ~SUPPORTED_REQUIRED_FLAGS;
    if (unsupported) {
      fail(`Multiboot header flags ${hex32(flags)} require features this loader does not provide (bits ${hex32(unsupported)})`);
    }
    const size = flags & FLAG_VIDEO_MODE ? 48 : flags & FLAG_ADDRESS_FIELDS ? 32 : 12;
    if (offset + size > image.length) fail(`truncated: the Multiboot header at file offset ${hex32(offset)} needs ${size} bytes, the file has ${image.length}`);
    if (offset + size > HEADER_SEARCH_LIMIT) fail(`the ${size}-byte Multiboot header at file offset ${hex32(offset)} does not fit in the first ${HEADER_SEARCH_LIMIT} bytes`);
    const field = (n: number) => (flags & FLAG_ADDRESS_FIELDS ? view.getUint32(offset + n, true) : 0);
    return {
      offset,
      flags,
      headerAddr: field(12),
      loadAddr: field(16),
      loadEndAddr: field(20),
      bssEndAddr: field(24),
      entryAddr: field(28),
    };
  }
  return fail(badChecksum ?? `not a Multiboot image: no Multiboot header (magic ${hex32(MULTIBOOT_HEADER_MAGIC)}, 4-byte aligned) in the first ${HEADER_SEARCH_LIMIT} bytes`);
}

/** Flag bit 16: one piece of the file, located by the header's own address (spec section 3.1.3). */
function planByAddressFields(image: Uint8Array, h: MultibootHeader, fail: (problem: string) => never) {
  if (h.loadAddr > h.headerAddr) fail(`Multiboot load_addr ${hex32(h.loadAddr)} is above header_addr ${hex32(h.headerAddr)}`);
  if (h.headerAddr - h.loadAddr > h.offset) {
    fail(`Multiboot header_addr ${hex32(h.headerAddr)} - load_addr ${hex32(h.loadAddr)} is more than the header's file offset ${hex32(h.offset)}`);
  }
  const fileOffset = h.offset - (h.headerAddr - h.loadAddr);
  let fileSize = image.length - fileOffset;
  if (h.loadEndAddr !== 0) {
    if (h.loadEndAddr < h.loadAddr) fail(`Multiboot load_end_addr ${hex32(h.loadEndAddr)} is below load_addr ${hex32(h.loadAddr)}`);
    fileSize = h.loadEndAddr - h.loadAddr;
    if (fileOffset + fileSize > image.length) {
      fail(`truncated: load_addr-load_end_addr ${rangeText(h.loadAddr, h.loadEndAddr)} needs file bytes ` +
        `${hex32(fileOffset)}-${hex32(fileOffset + fileSize - 1)}, the file has ${hex32(image.length)} bytes`);
    }
  }
  let memSize = fileSize;
  if (h.bssEndAddr !== 0) {
    if (h.bssEndAddr < h.loadAddr + fileSize) {
      fail(`Multiboot bss_end_addr ${hex32(h.bssEndAddr)} is below the end of the loaded data ${hex32(h.loadAddr + fileSize)}`);
    }
    memSize = h.bssEndAddr - h.loadAddr;
  }
  const what = `the kernel (load_addr ${hex32(h.loadAddr)}, file offset ${hex32(fileOffset)})`;
  return { segments: [{ what, address: h.loadAddr, fileOffset, fileSize, memSize }], entry: h.entryAddr };
}

/** No address fields: the image is an ELF32 executable, loaded at the physical addresses of its PT_LOAD segments. */
function planElf(image: Uint8Array, name: string, fail: (problem: string) => never) {
  if (!isElf(image)) fail('the Multiboot header has no address fields (flag bit 16) and the file is not ELF');
  const elf = new Elf32File(image, name);
  if (elf.header.machine !== EM_386) fail(`is an ELF for ${machineName(elf.header.machine)}, not i386 (e_machine ${elf.header.machine})`);
  if (elf.header.type !== ET_EXEC) fail(`is an ELF of e_type ${typeName(elf.header.type)}, not an executable (ET_EXEC)`);
  const loads = elf.programHeaders.filter((p) => p.type === PT_LOAD && p.memsz > 0);
  if (loads.length === 0) fail('the ELF has no PT_LOAD program header to load');
  const segments: Segment[] = loads.map((p) => ({
    what: `ELF program header ${p.index}`,
    address: p.paddr,
    fileOffset: p.offset,
    fileSize: p.filesz,
    memSize: p.memsz,
  }));
  // e_entry is virtual: QEMU moves it to the physical address when an executable segment is
  // linked with p_vaddr != p_paddr (higher-half kernels).
  let entry = elf.header.entry;
  for (const p of loads) {
    if (p.vaddr !== p.paddr && p.flags & PF_X && elf.header.entry >= p.vaddr && elf.header.entry < p.vaddr + p.filesz) {
      entry = elf.header.entry - p.vaddr + p.paddr;
    }
  }
  return { segments, entry };
}

function checkPlacement(what: string, start: number, end: number, ramBytes: number, fail: (problem: string) => never): void {
  const range = rangeText(start, end);
  if (end > ramBytes) fail(`${what} at ${range} is beyond the end of RAM (${ramBytes / (KiB * KiB)} MiB, ending at ${hex32(ramBytes - 1)})`);
  if (start < LEGACY_HOLE_END && end > LEGACY_HOLE_START) {
    fail(`${what} at ${range} overlaps the legacy hole ${rangeText(LEGACY_HOLE_START, LEGACY_HOLE_END)} (VGA memory and BIOS ROM)`);
  }
  if (start < MBI_AREA_END && end > MMAP_ADDRESS) {
    fail(`${what} at ${range} overlaps the Multiboot information the loader writes at ${rangeText(MMAP_ADDRESS, MBI_AREA_END)}`);
  }
}

function writeInformation(ram: Uint8Array, at: { cmdlineAddress: number; loaderNameAddress: number; modsAddress: number }): void {
  const view = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
  const map = multibootMemoryMap(ram.length);
  // Each entry is preceded by its size (20), which the map's address includes (spec section 3.3).
  map.forEach((e, i) => {
    const p = MMAP_ADDRESS + i * 24;
    view.setUint32(p, 20, true);
    view.setBigUint64(p + 4, BigInt(e.base), true);
    view.setBigUint64(p + 12, BigInt(e.length), true);
    view.setUint32(p + 20, e.type, true);
  });
  ram.fill(0, MBI_ADDRESS, MBI_AREA_END);
  const mbi = (offset: number, value: number) => view.setUint32(MBI_ADDRESS + offset, value, true);
  mbi(0, MBI_INFO_FLAGS);
  mbi(4, EBDA_START / KiB);
  mbi(8, (ram.length - LEGACY_HOLE_END - BIOS_HIGH_TABLES) / KiB);
  mbi(12, BOOT_DEVICE);
  mbi(16, at.cmdlineAddress);
  mbi(20, 0); // mods_count
  mbi(24, at.modsAddress);
  mbi(44, map.length * 24); // mmap_length
  mbi(48, MMAP_ADDRESS);
  mbi(64, at.loaderNameAddress);
}

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

function nulTerminated(text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}
