/**
 * The INIT and STARTUP interprocessor interrupts as an application processor takes them (SDM
 * Vol. 3A, 9.1.1 table 9-1 and 8.4.4, the MP initialization protocol): INIT puts the processor
 * in its reset state, where it waits for a STARTUP IPI; a STARTUP IPI with vector v then starts
 * it in real mode at CS = v << 8 (base v << 12), IP = 0. The x87 and MSR state stay as they
 * were, as table 9-1 says of INIT.
 */
import { AR_P, AR_S, AR_TYPE_ACCESSED, type Cpu } from './cpu';
import { CR0_CD, CR0_ET, CR0_NW, CS, DS, EDX, ES, FLAGS_FIXED_ONE, FS, GS, SS } from './registers';

/** Present, read/write (code: execute/read), accessed: the real-mode descriptor caches after reset. */
const REAL_DATA_AR = AR_P | AR_S | 0x2 | AR_TYPE_ACCESSED;
const REAL_CODE_AR = AR_P | AR_S | 0xa | AR_TYPE_ACCESSED;

/** The processor after INIT (table 9-1): real mode at F000:FFF0, waiting for a STARTUP IPI. */
export function initProcessor(cpu: Cpu): void {
  cpu.cr0 = CR0_CD | CR0_NW | CR0_ET;
  cpu.cr2 = 0; cpu.cr3 = 0; cpu.cr4 = 0;
  cpu.flags = FLAGS_FIXED_ONE;
  cpu.lzMask = 0;
  cpu.setCpl(0);
  cpu.regs.fill(0);
  // EDX holds the processor signature after reset.
  cpu.regs[EDX] = cpu.model.signature;
  cpu.setSegmentCache(CS, 0xf000, 0xffff0000, 0xffff, REAL_CODE_AR);
  for (const s of [ES, SS, DS, FS, GS]) cpu.setSegmentCache(s, 0, 0, 0xffff, REAL_DATA_AR);
  cpu.eip = 0xfff0;
  cpu.gdtrBase = 0; cpu.gdtrLimit = 0xffff;
  cpu.idtrBase = 0; cpu.idtrLimit = 0xffff;
  cpu.ldtrSel = 0; cpu.ldtrBase = 0; cpu.ldtrLimit = 0xffff; cpu.ldtrAR = 0x82;
  cpu.trSel = 0; cpu.trBase = 0; cpu.trLimit = 0xffff; cpu.trAR = 0x8b;
  cpu.dr.fill(0);
  cpu.dr[6] = 0xffff0ff0;
  cpu.dr[7] = 0x400;
  cpu.tlb.flush(false);
  cpu.halted = false;
  cpu.inhibitUntil = -1;
  cpu.movSsShadowUntil = -1;
  cpu.delivering = -1;
  cpu.vmx.reset();
  cpu.vmxNonRoot = false;
}

/** A STARTUP IPI with `vector` reaches a processor waiting for one: it runs from vector << 12. */
export function startupProcessor(cpu: Cpu, vector: number): void {
  const v = vector & 0xff;
  cpu.setSegmentCache(CS, v << 8, v << 12, 0xffff, REAL_CODE_AR);
  cpu.eip = 0;
}
