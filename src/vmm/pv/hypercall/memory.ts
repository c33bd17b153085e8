/**
 * mmu_update, update_va_mapping and mmuext_op: the PV kernel's page tables are the ones the
 * processor walks (direct paging, no shadow), and it changes them through the VMM, which
 * checks each new entry: the frame must be the guest's own RAM (or the legacy device window,
 * or the start_info and shared_info pages the VMM lends it), and page-directory entry 1023,
 * which maps the VMM, is the VMM's. A new page directory gets that entry when the guest
 * switches to it. Guest-physical addresses are machine addresses here: the guest's RAM is at
 * the bottom of the machine's.
 */
import { invalidatePage } from '../../../cpu/ops/controlRegs';
import { VMM_LINEAR_BASE, VMM_PDE_INDEX } from '../../vmmMemory';
import {
  EINVAL, ENOSYS, EPERM, MMU_NORMAL_PT_UPDATE, MMU_UPDATE_SIZE, MMUEXT_INVLPG_LOCAL, MMUEXT_NEW_BASEPTR,
  MMUEXT_OP_SIZE, MMUEXT_TLB_FLUSH_LOCAL, UVMF_INVLPG, UVMF_TLB_FLUSH,
} from '../xenAbi';
import type { PvMonitor } from '../pvMonitor';

const PTE_P = 1, PDE_PS = 0x80;

/** May a page-table entry hold `value`? 0 if so, else the negative errno. */
function checkEntry(pv: PvMonitor, value: number): number {
  if ((value & PTE_P) === 0) return 0;
  const frame = (value & ~0xfff) >>> 0;
  return pv.mayMap(frame) ? 0 : -EPERM;
}

/** Writes an entry at machine address `at` after the checks. */
function writeEntry(pv: PvMonitor, at: number, value: number): number {
  if (!pv.isGuestRam(at)) return -EPERM;
  if (((at >>> 2) & 0x3ff) === VMM_PDE_INDEX && (at & ~0xfff) === (pv.cpu.cr3 & ~0xfff)) return -EPERM;
  const err = checkEntry(pv, value);
  if (err !== 0) return err;
  pv.cpu.writePhys32(at, value);
  return 0;
}

/** mmu_update(reqs, count, done, domid): requests { uint64 ptr; uint64 val; }, ptr bits 1:0 the command. */
export function mmuUpdate(pv: PvMonitor, a: Int32Array): number {
  const reqs = a[0], count = a[1], donePtr = a[2];
  let done = 0, result = 0;
  for (; done < count; done++) {
    const at = (reqs + done * MMU_UPDATE_SIZE) | 0;
    const ptr = pv.mem.read32(at), val = pv.mem.read32((at + 8) | 0);
    if ((ptr & 3) !== MMU_NORMAL_PT_UPDATE) { result = -ENOSYS; break; }
    result = writeEntry(pv, ptr & ~3, val);
    if (result !== 0) break;
  }
  if (donePtr !== 0) pv.mem.write32(donePtr, done);
  return result;
}

/** update_va_mapping(va, pte, 0, flags): the entry that maps `va` in the current page tables. */
export function updateVaMapping(pv: PvMonitor, a: Int32Array): number {
  const cpu = pv.cpu;
  const va = a[0], pte = a[1], flags = a[3];
  if ((va >>> 0) >= VMM_LINEAR_BASE) return -EINVAL;
  const pde = cpu.readPhys32((cpu.cr3 & ~0xfff) | ((va >>> 22) << 2));
  if ((pde & PTE_P) === 0 || (pde & PDE_PS) !== 0) return -EINVAL;
  const at = ((pde & ~0xfff) | (((va >>> 12) & 0x3ff) << 2)) >>> 0;
  const err = checkEntry(pv, pte);
  if (err !== 0) return err;
  cpu.writePhys32(at, pte);
  if ((flags & 3) === UVMF_TLB_FLUSH) cpu.tlb.flush(false);
  else if ((flags & 3) === UVMF_INVLPG) invalidatePage(cpu, va);
  return 0;
}

/** mmuext_op(ops, count, done, domid): operations { uint32 cmd; uint32 arg1; uint32 arg2; }. */
export function mmuextOp(pv: PvMonitor, a: Int32Array): number {
  const cpu = pv.cpu;
  const ops = a[0], count = a[1], donePtr = a[2];
  let done = 0, result = 0;
  for (; done < count && result === 0; done++) {
    const at = (ops + done * MMUEXT_OP_SIZE) | 0;
    const cmd = pv.mem.read32(at), arg1 = pv.mem.read32((at + 4) | 0);
    switch (cmd) {
      case MMUEXT_NEW_BASEPTR: {
        const directory = (arg1 << 12) >>> 0;
        if (!pv.isGuestRam(directory)) { result = -EINVAL; break; }
        cpu.writePhys32(directory + VMM_PDE_INDEX * 4, pv.memory.regionPde);
        cpu.cr3 = directory;
        cpu.tlb.flush(false);
        cpu.leaveBlock = true;
        break;
      }
      case MMUEXT_TLB_FLUSH_LOCAL: cpu.tlb.flush(false); break;
      case MMUEXT_INVLPG_LOCAL: invalidatePage(cpu, arg1); break;
      default: result = -ENOSYS;
    }
    if (result !== 0) break;
  }
  if (donePtr !== 0) pv.mem.write32(donePtr, done);
  return result;
}
