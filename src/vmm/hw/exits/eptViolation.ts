/**
 * EPT violation (exit 48): the guest reached a guest-physical address the identity EPT leaves
 * out, which is device memory (or no memory at all). The VMM decodes the instruction and
 * performs its access on the machine's MMIO bus (mmio.ts), then skips it. Qualification (fact
 * sheet, section 3): 0 read, 1 write, 2 fetch, 3-5 what the address allowed, 7 guest-linear
 * address valid, 8 access to the translated address.
 */
import { EPT_QUAL_TRANSLATED, INTR_VALID, VMCS } from '../../../cpu/vmx/index';
import { hex, hex8 } from '../../exitLog';
import { VmmStop } from '../../guestMemory';
import type { ExitHandler } from '../exitHandler';
import { emulateMmio } from '../mmio';

const QUAL_READ = 1, QUAL_WRITE = 2, QUAL_FETCH = 4;

function accessName(qual: number): string {
  return (qual & QUAL_FETCH) !== 0 ? 'fetch' : (qual & QUAL_WRITE) !== 0 ? 'write' : (qual & QUAL_READ) !== 0 ? 'read' : 'access';
}

export const eptViolation: ExitHandler = {
  handle(hw, q) {
    const vcpu = hw.vcpu;
    const qual = vcpu.read(VMCS.EXIT_QUALIFICATION), gpa = vcpu.read(VMCS.GUEST_PHYSICAL_ADDR);
    q[0] = qual >>> 0;
    q[1] = gpa >>> 0;
    const where = `guest-physical ${hex8(gpa)} (EIP ${hex8(vcpu.rip)})`;
    if ((qual & QUAL_FETCH) !== 0) throw new VmmStop(`the guest fetched an instruction from ${where}, which is not RAM`);
    if ((qual & EPT_QUAL_TRANSLATED) === 0) throw new VmmStop(`the guest's page tables reach ${where}, which is not RAM`);
    if ((vcpu.read(VMCS.IDT_VECTORING_INFO) & INTR_VALID) !== 0) {
      throw new VmmStop(`delivering an event, the guest reached ${where}, which is not RAM`);
    }
    const i = hw.decodeGuest();
    const a = emulateMmio(hw, i, gpa);
    if (a === undefined) {
      throw new VmmStop(`MMIO ${accessName(qual)} at ${where} by '${hw.disassembleGuest()}': the hw VMM emulates only MOV, MOVZX and MOVSX on device memory`);
    }
    q[2] = a.value;
    q[3] = a.size;
    vcpu.skipInstruction(i.len);
  },
  work: (costs) => costs.emulateInstruction.cycles,
  qualify: (qual, gpa, value, size) =>
    `EPT violation ${accessName(qual)} GPA ${hex(gpa)}` +
    (size === 0 ? '' : `: MMIO ${(qual & QUAL_WRITE) !== 0 ? 'write' : 'read'} of ${size} byte${size === 1 ? '' : 's'} ${hex(value)}`),
};
