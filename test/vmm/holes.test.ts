// samples/holes.asm under trap: the sensitive but unprivileged instructions of fact sheet
// section 5 run in ring 1 without trapping, give the guest the wrong answer, and are found,
// each at the address nasm's listing gives.
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { CR0_ET, CR0_PE, CR0_PG, CR0_WP } from '../../src/cpu/registers';
import { VMM_LINEAR_BASE } from '../../src/vmm/vmmMemory';
import { addressOf, assembleFile, run, type Assembled, type Run } from './support';

const SOURCE = fileURLToPath(new URL('../../samples/holes.asm', import.meta.url));
let holes: Assembled;
let trap: Run;
let native: Run;
let gdt: number;

beforeAll(() => {
  holes = assembleFile(SOURCE);
  trap = run('trap', holes.image);
  native = run('native', holes.image);
  gdt = addressOf(holes.listing, /^gdt:/);
});

const hex8 = (v: number) => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
/** As the kernel prints: upper-case digits. */
const HEX8 = (v: number) => `0x${(v >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;

describe('holes.asm under trap (Robin and Irvine 2000; Popek and Goldberg theorem 1 fails on IA-32)', () => {
  it('runs to the end with native\'s exit status but sees the VMM in all four checks', () => {
    expect(trap.result.exitCode).toBe(native.result.exitCode);
    expect(native.serial).toContain('holes: 0 of 4 checks see a VMM\n');
    expect(trap.serial).toContain('POPF of an image with IF = 1, then IF = 0\n');
    expect(trap.serial).toContain(`SGDT: GDTR base ${HEX8(VMM_LINEAR_BASE + 0x1000)} limit 0xFFFF (we loaded ${HEX8(gdt)})\n`);
    // SMSW into a 32-bit register stores all of CR0 on P6 and later: the VMM's PG and WP show.
    expect(trap.serial).toContain(`SMSW: ${HEX8(CR0_PG | CR0_WP | CR0_ET | CR0_PE)}, MOV from CR0: 0x00000011\n`);
    expect(trap.serial).toContain('PUSH CS: 0x0009 (RPL 1)\n');
    expect(trap.serial).toContain('holes: 4 of 4 checks see a VMM\n');
  });

  it('records exactly the four holes, at the EIPs of the listing, once each', () => {
    expect(trap.vmm.holes.list().map(({ eip, instruction, count }) => ({ eip, instruction, count }))).toEqual([
      { eip: addressOf(holes.listing, /^popfd/), instruction: 'popf', count: 1 },
      { eip: addressOf(holes.listing, /^sgdt \[gdtr_seen\]/), instruction: expect.stringMatching(/^sgdt \[/), count: 1 },
      { eip: addressOf(holes.listing, /^smsw eax/), instruction: 'smsw eax', count: 1 },
      { eip: addressOf(holes.listing, /^push cs/), instruction: 'push cs', count: 1 },
    ]);
  });

  it('POPF at CPL 1 > IOPL 0 drops the change of IF silently (SDM Vol. 2, POPF)', () => {
    expect(trap.vmm.holes.list()[0].effect).toBe('POPF at CPL 1 dropped a change of IF from 0 to 1');
  });

  it('SGDT reveals the VMM\'s GDTR instead of the one the guest loaded', () => {
    expect(trap.vmm.holes.list()[1].effect).toBe(
      `SGDT revealed the VMM's GDTR base ${hex8(VMM_LINEAR_BASE + 0x1000)} limit 0xffff instead of the guest's base ${hex8(gdt)} limit 0x17`);
  });

  it('SMSW reveals the real CR0 while MOV from CR0, privileged, is answered with the guest\'s', () => {
    expect(trap.vmm.holes.list()[2].effect).toBe('SMSW revealed the real CR0 0x80010011 instead of the guest\'s 0x00000011');
  });

  it('PUSH CS pushes the selector with RPL = the real CPL 1', () => {
    expect(trap.vmm.holes.list()[3].effect).toBe('PUSH CS pushed RPL 1: selector 0x0009 instead of the guest\'s 0x0008');
  });

  it('the privileged instructions around them trapped and were emulated instead (LGDT, MOV from CR0, CLI)', () => {
    const reasons = new Set(trap.vmm.log.counters().map((r) => r.name));
    for (const r of ['#GP emulate LGDT', '#GP emulate MOV from CR0', '#GP emulate CLI']) expect(reasons).toContain(r);
  });
});
