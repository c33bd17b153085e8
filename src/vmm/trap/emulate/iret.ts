/**
 * IRET to the guest's ring 0. Frames the VMM builds (reflect.ts) and frames ring 0 builds
 * itself carry a CS with RPL 0, so in ring 1 the return faults (#GP: a return to an inner
 * ring) and the VMM performs it as ring 0 would (SDM Vol. 2, IRET): every EFLAGS bit of the
 * image is restored, IF included (the processor's IF carries the guest's) and IOPL into the
 * guest's copy. IRETs that do not fault (to user code, or to ring 1 through a frame holding
 * the real CS) are the hardware's, with the silent drops holes.ts reports.
 */
import { GP } from '../../../cpu/exceptions';
import {
  CS, ESP, FLAG_AC, FLAG_AF, FLAG_CF, FLAG_DF, FLAG_ID, FLAG_IF, FLAG_IOPL, FLAG_NT, FLAG_OF, FLAG_PF, FLAG_RF,
  FLAG_SF, FLAG_TF, FLAG_VIF, FLAG_VIP, FLAG_VM, FLAG_ZF, FLAGS_FIXED_ONE, FLAGS_WRITABLE, SS,
} from '../../../cpu/registers';
import { nullInaccessibleSegments } from '../../../cpu/segmentation';
import { GuestFault, VmmStop } from '../../guestMemory';
import { guestEflags } from '../reflect';
import { loadCompressed, type Descriptor } from '../shadowGdt';
import type { TrapMonitor } from '../trapMonitor';
import { hex, ring0, type Emulator } from './emulator';
import { checkReturnCode, checkStackSegment } from './guestSegments';

/** EFLAGS bits a ring-0 IRET restores from the image (with a 32-bit operand). */
const RING0_IRET16 = FLAG_CF | FLAG_PF | FLAG_AF | FLAG_ZF | FLAG_SF | FLAG_TF | FLAG_DF | FLAG_OF | FLAG_NT | FLAG_IF | FLAG_IOPL;
const RING0_IRET32 = RING0_IRET16 | FLAG_RF | FLAG_AC | FLAG_ID | FLAG_VIF | FLAG_VIP;

const code: Descriptor = { lo: 0, hi: 0 };
const stack: Descriptor = { lo: 0, hi: 0 };

/** Sets EFLAGS to the guest image `image`: IOPL goes to the guest's copy, the processor keeps IOPL 0. */
export function setGuestEflags(t: TrapMonitor, image: number): void {
  t.vcpu.iopl = (image >> 12) & 3;
  t.cpu.flags = (image & FLAGS_WRITABLE & ~FLAG_IOPL) | FLAGS_FIXED_ONE;
  t.cpu.lzMask = 0;
}

export const IRET: Emulator = {
  name: () => 'IRET',
  allowed: ring0,
  run(t, insn, q) {
    const cpu = t.cpu, mem = t.mem, size = insn.o32 ? 4 : 2;
    if ((cpu.flags & FLAG_NT) !== 0) throw new GuestFault(GP, 0, true);
    const top = cpu.stack32 ? cpu.regs[ESP] : cpu.regs[ESP] & 0xffff;
    const pop = (k: number): number => {
      const lin = mem.linear(SS, cpu.stack32 ? (top + k * size) | 0 : (top + k * size) & 0xffff, size, false);
      return size === 4 ? mem.read32(lin) : mem.read16(lin);
    };
    const eip = pop(0), cs = pop(1) & 0xffff, image = pop(2);
    if (insn.o32 && (image & FLAG_VM) !== 0) throw new GuestFault(GP, 0, true);
    const rpl = cs & 3;
    if (rpl === 1 || rpl === 2) throw new VmmStop(`IRET to ring ${rpl} (CS ${hex(cs)}): the guest's rings 1 and 2 cannot be told from ring 0 under ring compression`);
    const limit = checkReturnCode(t, cs, 0, code);
    const mask = insn.o32 ? RING0_IRET32 : RING0_IRET16;
    const eflags = (guestEflags(t) & ~mask) | (image & mask);
    if (rpl === 0) {
      if ((eip >>> 0) > limit) throw new GuestFault(GP, 0, true);
      loadCompressed(cpu, CS, (cs & ~3) | 1, code);
      const next = top + 3 * size;
      cpu.regs[ESP] = cpu.stack32 ? next | 0 : (cpu.regs[ESP] & ~0xffff) | (next & 0xffff);
    } else {
      const esp = pop(3), ss = pop(4) & 0xffff;
      checkStackSegment(t, ss, 3, stack);
      if ((eip >>> 0) > limit) throw new GuestFault(GP, 0, true);
      loadCompressed(cpu, CS, cs, code);
      cpu.setCpl(3);
      loadCompressed(cpu, SS, ss, stack);
      cpu.regs[ESP] = cpu.stack32 ? esp : (cpu.regs[ESP] & ~0xffff) | (esp & 0xffff);
      nullInaccessibleSegments(cpu);
    }
    setGuestEflags(t, eflags);
    cpu.eip = eip;
    cpu.leaveBlock = true;
    q[0] = cs; q[1] = eip >>> 0; q[2] = eflags >>> 0;
    return true;
  },
  qualify: (cs, eip, eflags) => `IRET to ${hex(cs)}:${hex(eip)} with EFLAGS ${hex(eflags)} (IF ${(eflags >> 9) & 1})`,
};

