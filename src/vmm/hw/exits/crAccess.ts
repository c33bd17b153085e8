/**
 * Control-register accesses (exit 28), from the qualification (fact sheet, section 3: CR
 * number 3:0, access type 5:4, LMSW operand type 6, register 11:8, LMSW source data 31:16).
 *
 * A write to CR0 or CR4 exits when it would change a bit the VMM owns (the guest/host masks);
 * the VMM checks the value as the processor would, keeps the guest's value in the read shadow
 * and gives the processor the value the memory virtualization needs. CR3 loads and stores
 * exit only under shadow paging (CR3-load and CR3-store exiting).
 */
import { GP } from '../../../cpu/exceptions';
import { cr4Writable } from '../../../cpu/ops/controlRegs';
import {
  CR0_AM, CR0_CD, CR0_EM, CR0_ET, CR0_MP, CR0_NE, CR0_NW, CR0_PE, CR0_PG, CR0_TS, CR0_WP, REG32_NAMES,
} from '../../../cpu/registers';
import { VMCS } from '../../../cpu/vmx/index';
import { hex } from '../../exitLog';
import { VmmStop } from '../../guestMemory';
import type { ExitHandler } from '../exitHandler';
import { GUEST_MODEL } from '../guestModel';
import type { HwMonitor } from '../hwMonitor';
import type { ShadowPaging } from '../shadowPaging';

/** Access types; 3 is LMSW. */
const MOV_TO = 0, MOV_FROM = 1, CLTS = 2;
/** CR0 bits a P6 implements; writes to the others are ignored and ET reads 1 (SDM Vol. 3A, 2.5). */
const CR0_DEFINED = CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_NE | CR0_WP | CR0_AM | CR0_NW | CR0_CD | CR0_PG;
/** The CR0 bits LMSW loads (PE can be set, not cleared). */
const LMSW_BITS = CR0_PE | CR0_MP | CR0_EM | CR0_TS;

/** CR0 as the guest sees it: its own bits, and the read shadow's where the VMM owns them. */
function guestCr0(hw: HwMonitor): number {
  const v = hw.vcpu, mask = v.read(VMCS.CR0_GUEST_HOST_MASK);
  return (v.read(VMCS.GUEST_CR0) & ~mask) | (v.read(VMCS.CR0_READ_SHADOW) & mask);
}

function guestCr4(hw: HwMonitor): number {
  const v = hw.vcpu, mask = v.read(VMCS.CR4_GUEST_HOST_MASK);
  return (v.read(VMCS.GUEST_CR4) & ~mask) | (v.read(VMCS.CR4_READ_SHADOW) & mask);
}

/** MOV to CR0, CLTS or LMSW: false if the value makes the processor raise #GP(0) (now injected). */
function loadCr0(hw: HwMonitor, value: number): boolean {
  const v = (value & CR0_DEFINED) | CR0_ET;
  if (((v & CR0_PG) !== 0 && (v & CR0_PE) === 0) || ((v & CR0_NW) !== 0 && (v & CR0_CD) === 0)) {
    hw.vcpu.injectException(GP, 0);
    return false;
  }
  const controls = hw.paging.controls;
  hw.vcpu.write(VMCS.CR0_READ_SHADOW, v);
  hw.vcpu.write(VMCS.GUEST_CR0, controls.realCr0(v));
  hw.paging.controlRegistersChanged(hw.vcpu, v, guestCr4(hw));
  return true;
}

function loadCr4(hw: HwMonitor, value: number): boolean {
  if ((value & ~cr4Writable(GUEST_MODEL)) !== 0) {
    hw.vcpu.injectException(GP, 0);
    return false;
  }
  hw.vcpu.write(VMCS.CR4_READ_SHADOW, value);
  hw.vcpu.write(VMCS.GUEST_CR4, hw.paging.controls.realCr4(value));
  hw.paging.controlRegistersChanged(hw.vcpu, guestCr0(hw), value);
  return true;
}

/** The shadow page tables, which the CR3 exits exist for. */
function shadowOf(hw: HwMonitor): ShadowPaging {
  const shadow = hw.paging.shadow;
  if (shadow === undefined) throw new VmmStop('a CR3 access exited, but the VMM asked for CR3 exits only with shadow paging');
  return shadow;
}

export const crAccess: ExitHandler = {
  handle(hw, q) {
    const vcpu = hw.vcpu;
    const qual = vcpu.read(VMCS.EXIT_QUALIFICATION);
    const cr = qual & 0xf, type = (qual >>> 4) & 3, gpr = (qual >>> 8) & 0xf;
    let value: number;
    let done: boolean;
    switch (type) {
      case MOV_TO:
        value = vcpu.gpr(gpr);
        if (cr === 0) done = loadCr0(hw, value);
        else if (cr === 4) done = loadCr4(hw, value);
        else { shadowOf(hw).loadCr3(value); done = true; }
        break;
      case MOV_FROM:
        value = shadowOf(hw).guestCr3;
        vcpu.setGpr(gpr, value);
        done = true;
        break;
      case CLTS:
        value = guestCr0(hw) & ~CR0_TS;
        done = loadCr0(hw, value);
        break;
      default: {   // LMSW
        const cr0 = guestCr0(hw), source = qual >>> 16;
        value = (cr0 & ~LMSW_BITS) | (source & LMSW_BITS) | (cr0 & CR0_PE);
        done = loadCr0(hw, value);
      }
    }
    if (done) vcpu.skipInstruction();
    q[0] = qual >>> 0;
    q[1] = value >>> 0;
    q[2] = done ? 0 : 1;
  },
  work: (costs) => costs.emulateInstruction.cycles,
  qualify(qual, value, faulted) {
    const cr = qual & 0xf, type = (qual >>> 4) & 3, reg = REG32_NAMES[(qual >>> 8) & 7].toUpperCase();
    const outcome = faulted !== 0 ? ': #GP(0) injected' : '';
    switch (type) {
      case MOV_TO: return `MOV to CR${cr} from ${reg} = ${hex(value)}${outcome}`;
      case MOV_FROM: return `MOV from CR${cr} to ${reg} = ${hex(value)}`;
      case CLTS: return `CLTS: CR0 = ${hex(value)}${outcome}`;
      default: return `LMSW ${hex(qual >>> 16)}: CR0 = ${hex(value)}${outcome}`;
    }
  },
};
