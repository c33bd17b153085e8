/** Exit statuses of the tool itself (sysexits.h); a guest run exits with the Machine's status. */
export const EX_USAGE = 64;
export const EX_DATAERR = 65;
export const EX_SOFTWARE = 70;

/** Wrong command line: the message names the problem; the tool exits with EX_USAGE. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const USAGE = `Usage: vtscope run IMAGE [--mem MIB] [--cpus N] [--max-instructions N] [--json FILE] [--cmdline STR]
                   [--mode MODE] [--mem-virt ept|shadow] [--cost-model NAME] [--stats]
                   [--screen] [--keys TEXT] [--disk FILE] [--drive index=N,file=FILE]... [--disk-write]
       vtscope compare IMAGE [--json FILE] [--cost-model NAME] [--mem MIB] [--cpus N] [--max-instructions N]
       vtscope asm IN.asm -o OUT.bin [--listing OUT.lst] [--map OUT.json] [-D NAME[=VALUE]] [-I DIR]
       vtscope dap [--port N]
       vtscope --help | --version

vtscope run loads a Multiboot kernel (a flat binary whose Multiboot header has the address
fields, an ELF32 executable, or a NASM source, assembled first) into the emulated PC, runs
it and copies what it sends to COM1 to stdout. With --mode it runs the kernel under a VMM:
native (none, the default), trap (trap-and-emulate in ring 1, shadow page tables), bt
(as trap, with each kernel block translated so that privileged and sensitive instructions
call the VMM), pv (paravirtualized: the kernel calls the VMM with int 0x82, see
samples/pv-hello.asm) or hw (VMX non-root operation of the emulated VT-x, memory through EPT
or shadow page tables).

vtscope compare runs IMAGE in every mode that applies (native, trap, bt, and hw with shadow
page tables and with EPT; pv alone for a kernel marked XEN_VER=xen-3.0) and prints, for each,
whether the output matched native's, the guest instructions, the VMM's events, the emulated
cycles and the overhead. A NASM source that tests PARAVIRT (%ifdef PARAVIRT) is assembled a
second time with PARAVIRT defined, and that build runs under pv. --cpus N runs N processors
in every mode but pv (which runs one).

vtscope asm assembles a NASM source into a flat binary exactly as nasm -f bin does, with a
listing like nasm -l and a JSON map of symbols and instruction addresses. Errors go to
stderr as FILE:LINE:COLUMN: error: MESSAGE, and exit with status 65.

vtscope dap serves the Debug Adapter Protocol on stdin/stdout (the way VS Code starts it),
or with --port N on 127.0.0.1 port N (0 picks a free port and prints it on stderr).

Options of run:
  --mem MIB               RAM in MiB, 2 to 3583 (default 64)
  --cpus N                processors, 1 to 8 (default 1; every mode but pv), as QEMU's -smp N:
                          the others wait for INIT and STARTUP IPIs; they run in turn, 1000
                          instructions each, and the clock counts all their instructions
  --max-instructions N    stop after N guest instructions (of all processors together)
  --mode MODE             native (default), trap, bt, pv or hw
  --mem-virt ept|shadow   how hw virtualizes memory: EPT or shadow page tables (default: EPT
                          if the cost model's processor has it, as nehalem-ept does)
  --cost-model NAME       cycles per event: p4-2006 (default), core-2006, nehalem-ept
  --stats                 print the VMM's events per reason to stderr (count, cycles, mean)
  --json FILE             write { exitCode, haltReason, instructions, eip, mode, costModel,
                          cycles, exits, hypercalls, holes } to FILE
  --cmdline STR           Multiboot command line, after the image name as QEMU passes it
  -D NAME[=VALUE]         for a .asm IMAGE (and asm): %define NAME VALUE before the first line
  -I DIR                  for a .asm IMAGE (and asm): search DIR for %include and incbin files
  --screen                after the run, print the 80x25 text screen (0xB8000) on stdout after
                          COM1's output and a line '--- screen ---', trailing blanks trimmed
  --keys TEXT             type TEXT on the PS/2 keyboard (scan code set 2, set 1 through the
                          8042's translation): US layout, Shift for capitals and symbols, newline
                          for Enter; the first key goes down 1 ms into the run, then one key
                          press or release every 100 us
  --disk FILE             a raw disk image (whole 512-byte sectors) as the IDE primary master;
                          the guest's writes are kept in memory and FILE is not changed
  --drive index=N,file=FILE
                          a raw disk image at IDE drive N as QEMU's -drive numbers them: 0
                          primary master (as --disk), 1 primary slave, 2 secondary master, 3
                          secondary slave (0x170/0x376, IRQ 15); repeat for more drives;
                          format=raw, if=ide and media=disk are accepted as in QEMU
  --disk-write            write the guest's changes back to the disk files when the run ends

Exit status of run:
  (v << 1) | 1   the guest wrote v to the isa-debug-exit port 0xF4
  2              HLT with interrupts disabled
  4              triple fault
  6              the instruction budget ran out
  8              the guest reset the machine
  10             the VMM stopped the guest (e.g. a privileged instruction under pv)
  64             usage error
  65             the image cannot be loaded, or the source has errors
`;
